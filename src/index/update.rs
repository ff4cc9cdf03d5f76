//! [`Index::update`]: bring an index in line with a corpus, reusing stored vectors for
//! unchanged text, and commit the result as a new generation.

use super::journal::{self, Journal};
use super::store::{stored_version, write_generation};
use super::*;

impl Index {
    /// The texts of `corpus`'s paragraphs that an update of the index under `root` would
    /// embed, each once: neither stored in its current generation (for the model `stamp`
    /// names) nor journalled by an earlier run — the work a distributed build hands out
    /// before its update ([`journal::Journal::add`], [`embed_paragraphs`]).
    pub fn pending(root: &Path, corpus: &Corpus, stamp: &ModelStamp) -> Result<Vec<String>> {
        let old = Self::open_if_exists(root)
            .ok()
            .flatten()
            .filter(|o| o.manifest.model == *stamp);
        let stored: std::collections::HashSet<&str> = old
            .iter()
            .flat_map(|o| o.paragraphs.iter().map(|p| p.text))
            .collect();
        let journalled = Journal::for_model(root, stamp).load();
        let mut seen = std::collections::HashSet::new();
        Ok(corpus
            .documents
            .iter()
            .flat_map(|d| &d.paragraphs)
            .map(|p| p.text.as_str())
            .filter(|t| !stored.contains(t) && !journalled.contains_key(&journal::text_key(t)))
            .filter(|t| seen.insert(*t))
            .map(str::to_string)
            .collect())
    }

    /// Add chunks of vectors embedded elsewhere ([`journal::Journal::encode`] of
    /// [`embed_paragraphs`], for the model `stamp` names) to the journal of the index under
    /// `root` (created if need be, under its write lock), where the next
    /// [`Index::update`] takes them instead of embedding. Returns the paragraphs added.
    pub fn add_embedded(root: &Path, stamp: &ModelStamp, chunks: &[&[u8]]) -> Result<usize> {
        let _lock = WriteLock::acquire(root)?;
        let mut journal = Journal::for_model(root, stamp);
        let mut added = 0;
        for chunk in chunks {
            added += journal.add(chunk)?;
        }
        Ok(added)
    }

    /// Bring the index under `root` in line with `corpus` (ingested from `given` paths);
    /// `rebuild`: from scratch.
    pub fn update(
        root: &Path,
        corpus: &Corpus,
        given: &[PathBuf],
        embedder: &Embedder,
        rebuild: bool,
    ) -> Result<UpdateReport> {
        let options = UpdateOptions {
            rebuild,
            ..UpdateOptions::default()
        };
        Self::update_with(root, corpus, given, embedder, options)
    }

    /// [`Index::update`] with `options`.
    pub fn update_with(
        root: &Path,
        corpus: &Corpus,
        given: &[PathBuf],
        embedder: &Embedder,
        options: UpdateOptions,
    ) -> Result<UpdateReport> {
        let rebuild = options.rebuild;
        let mut phases = Phases::start();
        let lock = WriteLock::acquire(root)?;
        // An index of another format version is rewritten; below [`OLDEST_READABLE`] its
        // vectors cannot be reused.
        let outdated = store::current_generation(root)?
            .and_then(|(dir, _)| stored_version(&dir))
            .filter(|&v| v != VERSION as u64);
        let unreadable = outdated.is_some_and(|v| v < OLDEST_READABLE as u64);
        let old = if rebuild || unreadable {
            None
        } else {
            Self::open_if_exists(root)?
        };
        phases.done("open the previous generation");
        let stamp = ModelStamp::of(embedder.info(), embedder.dim());
        if let Some(old) = &old {
            old.check_model(embedder)?;
        }
        let mut report = UpdateReport {
            upgraded_from: outdated,
            ..UpdateReport::default()
        };

        // Files of the new index: every ingested file, plus previously indexed files that lie
        // outside the given paths and still exist.
        let given_abs: Vec<PathBuf> = given
            .iter()
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .collect();
        let mut sources: Vec<(FileEntry, Vec<&Document>)> = Vec::new();
        let mut by_source: BTreeMap<&str, Vec<&Document>> = BTreeMap::new();
        for d in &corpus.documents {
            by_source.entry(d.source.as_str()).or_default().push(d);
        }
        let old_files: HashMap<&str, &FileEntry> = old
            .iter()
            .flat_map(|o| o.manifest.files.iter())
            .map(|f| (f.canonical.as_str(), f))
            .collect();
        for (source, docs) in by_source {
            let canonical = std::fs::canonicalize(source)
                .with_context(|| format!("resolving {source}"))?
                .to_string_lossy()
                .into_owned();
            let sha256 = sha256_file(Path::new(source))?;
            match old_files.get(canonical.as_str()) {
                None => report.files_added += 1,
                Some(f) if f.sha256 == sha256 => report.files_unchanged += 1,
                Some(_) => report.files_changed += 1,
            }
            let paragraphs = docs.iter().map(|d| d.paragraphs.len()).sum();
            sources.push((
                FileEntry {
                    path: source.to_string(),
                    canonical,
                    sha256,
                    documents: docs.len(),
                    paragraphs,
                },
                docs,
            ));
        }
        let mut kept_old_files: Vec<FileEntry> = Vec::new();
        // Files the corpus did not read because this index holds them as they are (read
        // by the same xref with the same options): kept with their documents. Each must be
        // one the index holds, read as the corpus was.
        let unchanged: std::collections::HashSet<&str> =
            corpus.unchanged.iter().map(String::as_str).collect();
        let held: std::collections::HashSet<&str> = old
            .iter()
            .filter(|o| !o.manifest.read_by.is_empty() && o.manifest.read_by == corpus.read_by)
            .flat_map(|o| o.manifest.files.iter().map(|f| f.canonical.as_str()))
            .collect();
        if !unchanged.is_subset(&held) {
            anyhow::bail!(
                "the index changed while the files were read (another xref wrote it?): run again"
            );
        }
        if let Some(old) = &old {
            for f in &old.manifest.files {
                if sources.iter().any(|(s, _)| s.canonical == f.canonical) {
                    continue;
                }
                if unchanged.contains(f.canonical.as_str()) {
                    report.files_unchanged += 1;
                    kept_old_files.push(f.clone());
                    continue;
                }
                let under_given = given_abs
                    .iter()
                    .any(|g| Path::new(&f.canonical).starts_with(g));
                if under_given || !Path::new(&f.canonical).exists() {
                    report.files_removed += 1;
                } else {
                    kept_old_files.push(f.clone());
                }
            }
        }

        phases.done("files hashed");
        // Assemble documents, paragraphs and vectors; embed only text not seen before.
        let old_vectors: HashMap<&str, usize> = old
            .iter()
            .flat_map(|o| o.paragraphs.iter().enumerate().map(|(i, p)| (p.text, i)))
            .collect();
        let mut documents = Vec::new();
        let mut paragraphs: Vec<Paragraph> = Vec::new();
        let mut files = Vec::new();
        if let Some(old) = &old {
            // Rows of each old document (rows are grouped by document, in order).
            let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); old.documents.len()];
            for row in 0..old.len() {
                rows_of[old.doc_index(row)].push(row);
            }
            for f in &kept_old_files {
                for (d, doc) in old.documents.iter().enumerate() {
                    if doc.source == f.path {
                        documents.push(doc.clone());
                        paragraphs.extend(
                            rows_of[d]
                                .iter()
                                .map(|&r| old.paragraphs.get(r).to_paragraph()),
                        );
                    }
                }
                files.push(f.clone());
            }
        }
        for (entry, docs) in sources {
            for d in docs {
                documents.push(DocRecord::of(d));
                paragraphs.extend(d.paragraphs.iter().cloned());
            }
            files.push(entry);
        }
        // One row order for one set of files, whatever paths were given, in what order, and
        // what the index held: files by absolute path, each file's documents in order.
        // (Calibration samples rows by position: the same corpus gets the same links.)
        let (documents, paragraphs) = in_file_order(&files, documents, paragraphs);
        files.sort_by(|a, b| a.canonical.cmp(&b.canonical));
        let mut seen = std::collections::HashSet::new();
        for p in &paragraphs {
            if !seen.insert(p.id.as_str()) {
                return Err(bad_input(format!(
                    "two paragraphs share the id {} (the same file given twice?)",
                    p.id
                )));
            }
        }
        let dim = stamp.dim;
        let mut vectors = vec![0f32; paragraphs.len() * dim];
        // Each paragraph's sentence vectors (empty for a one-sentence paragraph).
        let mut sentences: Vec<Vec<f32>> = vec![Vec::new(); paragraphs.len()];
        let mut todo: Vec<usize> = Vec::new();
        for (i, p) in paragraphs.iter().enumerate() {
            match (&old, old_vectors.get(p.text.as_str())) {
                (Some(o), Some(&j)) => {
                    o.vectors
                        .decode_into(j, &mut vectors[i * dim..(i + 1) * dim]);
                    sentences[i] = o.sentence_ranges[j]
                        .clone()
                        .flat_map(|s| o.sentences.decode(s))
                        .collect();
                    report.reused += 1;
                }
                _ => todo.push(i),
            }
        }
        phases.done("stored vectors reused");
        report.embedded = todo.len();
        report.documents = documents.len();
        report.paragraphs = paragraphs.len();
        let nothing_changed = old.as_ref().is_some_and(|o| {
            outdated.is_none()
                && todo.is_empty()
                && report.files_removed == 0
                && o.manifest.files == files
                && o.paragraphs.len() == paragraphs.len()
                && paragraphs
                    .iter()
                    .enumerate()
                    .all(|(r, p)| o.paragraphs.get(r).same_as(p))
                // Merging has work to do where there is more than one segment, or a segment
                // and a tail.
                && !(options.merge && o.segments.len() + usize::from(!o.segments.tail().is_empty()) > 1)
        });
        if nothing_changed {
            return Ok(report);
        }
        // Vectors embedded by an earlier run that was killed or failed before its commit.
        let mut journal = Journal::for_model(root, &stamp);
        if !todo.is_empty() {
            let resumed = journal.load();
            todo.retain(
                |&i| match resumed.get(&journal::text_key(&paragraphs[i].text)) {
                    Some((v, s)) => {
                        vectors[i * dim..(i + 1) * dim].copy_from_slice(v);
                        sentences[i] = s.clone();
                        false
                    }
                    None => true,
                },
            );
            report.resumed = report.embedded - todo.len();
            report.embedded = todo.len();
        }
        // Each new paragraph, then its sentences, chunk by chunk; every chunk is checkpointed
        // in the journal as soon as it is embedded.
        let bar = embedder.items_bar(todo.len(), "paragraphs");
        let late = late_chunking();
        for chunk in todo.chunks(journal::CHUNK) {
            // Late chunking: a paragraph's sentence vectors from its own forward pass.
            let mut separate: Vec<usize> = Vec::new();
            if late {
                let whole: Vec<&str> = chunk.iter().map(|&i| paragraphs[i].text.as_str()).collect();
                let parts: Vec<Vec<std::ops::Range<usize>>> =
                    whole.iter().map(|t| sentence_spans(t)).collect();
                let got = embedder.embed_with_parts(&whole, &parts, Prefix::Passage)?;
                for (&i, got) in chunk.iter().zip(got) {
                    match got {
                        Some((v, s)) => {
                            vectors[i * dim..(i + 1) * dim].copy_from_slice(&v);
                            sentences[i] = s.concat();
                        }
                        None => separate.push(i),
                    }
                }
            } else {
                separate.extend(chunk);
            }
            let texts: Vec<&str> = separate
                .iter()
                .map(|&i| paragraphs[i].text.as_str())
                .collect();
            for (&i, (v, s)) in separate.iter().zip(embed_paragraphs(embedder, &texts)?.0) {
                vectors[i * dim..(i + 1) * dim].copy_from_slice(&v);
                sentences[i] = s;
            }
            journal.append(chunk.iter().map(|&i| {
                (
                    paragraphs[i].text.as_str(),
                    &vectors[i * dim..(i + 1) * dim],
                    sentences[i].as_slice(),
                )
            }))?;
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        phases.done("embedded");
        // The old generation's graph segments, and where each of its rows is now: a row
        // stays where the same paragraph (id and text, so its vector) is here.
        let previous = old.map(|o| {
            let here: HashMap<&str, usize> = paragraphs
                .iter()
                .enumerate()
                .map(|(i, p)| (p.id.as_str(), i))
                .collect();
            let map: Vec<Option<u32>> = (0..o.len())
                .map(|j| {
                    let p = o.paragraphs.get(j);
                    here.get(p.id)
                        .filter(|&&i| paragraphs[i].text == p.text)
                        .map(|&i| i as u32)
                })
                .collect();
            // What detection found for the same text there.
            let mut detected: Vec<Option<Detected>> = vec![None; paragraphs.len()];
            if o.detected.len() == o.len() {
                for (j, i) in map.iter().enumerate() {
                    if let Some(i) = i {
                        detected[*i as usize] = Some(o.detected[j]);
                    }
                }
            }
            (o.segments, map, detected)
        });

        write_generation(
            root,
            &lock,
            stamp,
            files,
            &documents,
            &paragraphs,
            &vectors,
            &sentences,
            previous.as_ref().map(|(s, m, _)| (s, m.as_slice())),
            previous.as_ref().map_or(&[][..], |(_, _, d)| d.as_slice()),
            &corpus.read_by,
            &Policy {
                merge_all: options.merge,
                ..Policy::default()
            },
        )?;
        journal.clear();
        report.written = true;
        Ok(report)
    }
}

/// Each paragraph's vector and its sentences' vectors (flattened; none for a paragraph of
/// one sentence), as an update stores them — what one unit of a distributed build embeds —
/// and the tokens the encoder ran.
pub fn embed_paragraphs(
    embedder: &Embedder,
    paragraphs: &[&str],
) -> Result<(Vec<journal::Vectors>, usize)> {
    let mut texts: Vec<&str> = Vec::new();
    let mut spans = Vec::with_capacity(paragraphs.len());
    for p in paragraphs {
        let start = texts.len();
        texts.push(p);
        texts.extend(sentence_units(p));
        spans.push(start..texts.len());
    }
    let embedded = embedder.embed_part(&texts, Prefix::Passage)?;
    let tokens = embedded.iter().map(|e| e.tokens).sum();
    let vectors = spans
        .into_iter()
        .map(|span| {
            let own = embedded[span.start].vector.clone();
            let sentences = embedded[span.start + 1..span.end]
                .iter()
                .flat_map(|e| e.vector.iter().copied())
                .collect();
            (own, sentences)
        })
        .collect();
    Ok((vectors, tokens))
}

/// `documents` (each followed by its paragraphs in `paragraphs`) ordered by their files'
/// absolute paths, each file's documents kept in their order.
fn in_file_order(
    files: &[FileEntry],
    documents: Vec<DocRecord>,
    paragraphs: Vec<Paragraph>,
) -> (Vec<DocRecord>, Vec<Paragraph>) {
    let canonical: HashMap<&str, &str> = files
        .iter()
        .map(|f| (f.path.as_str(), f.canonical.as_str()))
        .collect();
    let mut rest = paragraphs.into_iter();
    let mut by_doc: Vec<(DocRecord, Vec<Paragraph>)> = documents
        .into_iter()
        .map(|d| {
            let own = rest.by_ref().take(d.paragraphs).collect();
            (d, own)
        })
        .collect();
    // Stable: each file's documents keep their order.
    by_doc.sort_by_key(|(d, _)| canonical.get(d.source.as_str()).copied());
    let mut paragraphs = Vec::new();
    let documents = by_doc
        .into_iter()
        .map(|(d, own)| {
            paragraphs.extend(own);
            d
        })
        .collect();
    (documents, paragraphs)
}

/// Whether sentence vectors come from their paragraph's forward pass (late chunking; see
/// [`crate::embed::Embedder::embed_with_parts`]) rather than passes of their own:
/// `XREF_LATE_CHUNKING=1`.
fn late_chunking() -> bool {
    std::env::var("XREF_LATE_CHUNKING").is_ok_and(|v| v == "1")
}
