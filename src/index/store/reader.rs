//! Reading a generation: every file checked against the manifest's checksums, then
//! parsed and cross-checked (row counts, dimensions, languages, the graph) into an
//! [`Index`]; any mismatch is a clear "corrupt" error, never a panic.

use super::super::paragraphs::Paragraphs;
use super::super::*;

impl Index {
    /// The id slug of each file in the live generation under `root`, by the file's absolute
    /// path (empty when there is no readable index): an update gives a file the slug it had
    /// ([`crate::ingest::ingest_paths_keeping`]), so ids do not depend on which paths an
    /// update is given or in what order. Reads only the manifest and the document list.
    pub fn file_slugs(root: &Path) -> HashMap<String, String> {
        let read = || -> Result<HashMap<String, String>> {
            let Some((dir, head)) = live_manifest(root)? else {
                return Ok(HashMap::new());
            };
            let files: Vec<FileEntry> = serde_json::from_value(head["files"].clone())?;
            let canonical: HashMap<&str, &str> = files
                .iter()
                .map(|f| (f.path.as_str(), f.canonical.as_str()))
                .collect();
            let documents: Vec<DocRecord> = read_jsonl(&dir.join("documents.jsonl"))?;
            Ok(documents
                .iter()
                .filter_map(|d| {
                    let (slug, _ordinal) = d.id.rsplit_once('-')?;
                    let file = canonical.get(d.source.as_str())?;
                    Some((file.to_string(), slug.to_string()))
                })
                .collect())
        };
        read().unwrap_or_default()
    }

    /// The sha256 of each file in the live generation under `root`, by the file's absolute
    /// path, where what read them is `read_by` ([`Manifest::read_by`]) and the format
    /// version is this xref's; empty otherwise or when there is no readable index. Reads only the manifest: an update does not read
    /// again the files whose bytes it holds ([`crate::ingest::ingest_paths_unless`]).
    pub fn held_files(root: &Path, read_by: &str) -> HashMap<String, String> {
        let read = || -> Result<HashMap<String, String>> {
            let Some((_, head)) = live_manifest(root)? else {
                return Ok(HashMap::new());
            };
            // An index of another format version is rewritten, its files read again.
            let current = head["version"].as_u64() == Some(VERSION as u64);
            if !current || head["read_by"].as_str() != Some(read_by) {
                return Ok(HashMap::new());
            }
            let files: Vec<FileEntry> = serde_json::from_value(head["files"].clone())?;
            Ok(files.into_iter().map(|f| (f.canonical, f.sha256)).collect())
        };
        read().unwrap_or_default()
    }

    pub(in crate::index) fn open_generation(dir: &Path, manifest_sum: &str) -> Result<Self> {
        let corrupt = |what: String| {
            bad_input(format!(
                "index {} is corrupt: {what}; rebuild it with `xref index --rebuild PATH…`",
                dir.display()
            ))
        };
        let manifest_bytes = std::fs::read(dir.join("manifest.json"))
            .map_err(|e| corrupt(format!("manifest.json: {e}")))?;
        if sha256_bytes(&manifest_bytes) != manifest_sum {
            return Err(corrupt("manifest.json does not match its checksum".into()));
        }
        let head: serde_json::Value = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| corrupt(format!("manifest.json is not JSON ({e})")))?;
        if head.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
            return Err(bad_input(format!(
                "{} is not an xref index (foreign manifest)",
                dir.display()
            )));
        }
        let version = head.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if !(OLDEST_READABLE as u64..=VERSION as u64).contains(&version) {
            return Err(bad_input(format!(
                "index {} has format version {version}; this xref reads version {VERSION}: rebuild it with `xref index --rebuild PATH…`",
                dir.display()
            )));
        }
        let mut manifest: Manifest =
            serde_json::from_value(head).map_err(|e| corrupt(format!("manifest.json: {e}")))?;
        if version < 5 {
            manifest.ef_search = None; // an hnsw_rs dump: not read any more
        }
        // Every file against its checksum, files in parallel (at 100,000 paragraphs 110 MB:
        // ~0.1 s on one core), each through a map that the parsers below then read (no
        // copy into this process, no second read).
        use rayon::prelude::*;
        let map = |name: &str| {
            codec::Bytes::map(&dir.join(name)).map_err(|e| corrupt(format!("{name}: {e}")))
        };
        let checked: Vec<Result<(String, codec::Bytes)>> = manifest
            .checksums
            .par_iter()
            .map(|(name, sum)| {
                let bytes = map(name)?;
                if &sha256_bytes(&bytes) != sum {
                    return Err(corrupt(format!("{name} does not match its checksum")));
                }
                Ok((name.clone(), bytes))
            })
            .collect();
        let mut files = checked.into_iter().collect::<Result<HashMap<_, _>>>()?;
        let mut file = |name: &str| files.remove(name).map_or_else(|| map(name), Ok);
        let documents: Vec<DocRecord> =
            read_jsonl(&dir.join("documents.jsonl")).map_err(|e| corrupt(format!("{e:#}")))?;
        let paragraphs = if version >= 6 {
            Paragraphs::decode(&file(PARAGRAPHS)?)
                .map_err(|e| corrupt(format!("{PARAGRAPHS}: {e}")))?
        } else {
            let old: Vec<Paragraph> =
                read_jsonl(&dir.join(PARAGRAPHS_V5)).map_err(|e| corrupt(format!("{e:#}")))?;
            Paragraphs::of(&old)
        };
        let dim = manifest.model.dim;
        // Format 6 stores scales and bytes apart (`codec::encode_split`), 4 and 5 each
        // row's scale before its bytes.
        let rows = |bytes| {
            if version >= 6 {
                codec::Rows::parse_split(bytes, dim)
            } else {
                codec::Rows::parse(bytes, dim)
            }
        };
        let vectors =
            rows(file(VECTORS)?).ok_or_else(|| corrupt(format!("{VECTORS} is malformed")))?;
        if paragraphs.len() != manifest.paragraphs
            || documents.len() != manifest.documents
            || vectors.len() != paragraphs.len()
        {
            return Err(corrupt(
                "its files disagree on the number of paragraphs".into(),
            ));
        }
        let counts = file("sentences.u32")?;
        let sentences =
            rows(file(SENTENCES)?).ok_or_else(|| corrupt(format!("{SENTENCES} is malformed")))?;
        let counts: Vec<usize> = counts
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
            .collect();
        let total: usize = counts.iter().sum();
        if counts.len() != paragraphs.len() || sentences.len() != total {
            return Err(corrupt(
                "its sentence files disagree with the paragraphs".into(),
            ));
        }
        let (sentence_ranges, sentence_owner) = sentence_layout(&counts);
        let lexical = if version >= 6 {
            Lexical::parse(file(LEXICAL)?).map_err(|e| corrupt(format!("{LEXICAL}: {e}")))?
        } else {
            // Format 4 and 5 stored the postings as gzip JSON; they are rebuilt from the
            // paragraphs (the same postings) until an update rewrites the generation.
            let texts: Vec<&str> = paragraphs.iter().map(|p| p.text).collect();
            Lexical::build(&texts)
        };
        if lexical.len() != paragraphs.len() {
            return Err(corrupt(format!(
                "{LEXICAL} disagrees on the number of paragraphs"
            )));
        }
        let langs: Vec<String> = serde_json::from_slice(&file("languages.json")?)
            .map_err(|e| corrupt(format!("languages.json: {e}")))?;
        if langs.len() != paragraphs.len() {
            return Err(corrupt(
                "languages.json disagrees on the number of paragraphs".into(),
            ));
        }
        // What detection found for each text before it was settled by its document (version
        // 8): an update reuses it for unchanged text.
        let detected: Vec<Detected> = if manifest.checksums.contains_key(DETECTED) {
            let stored: Vec<String> = serde_json::from_slice(&file(DETECTED)?)
                .map_err(|e| corrupt(format!("{DETECTED}: {e}")))?;
            let detected: Option<Vec<Detected>> =
                stored.iter().map(|s| Detected::from_stored(s)).collect();
            match detected {
                Some(d) if d.len() == paragraphs.len() => d,
                _ => return Err(corrupt(format!("{DETECTED} is damaged"))),
            }
        } else {
            Vec::new()
        };
        let vectors = std::sync::Arc::new(vectors);
        let mut space = LangSpace::build(&langs, &vectors, &sentences, &sentence_owner);
        if let Some(space) = &mut space {
            space
                .load_graphs(dir, &manifest.language_graphs)
                .map_err(|e| corrupt(format!("{e:#}")))?;
        } else if !manifest.language_graphs.is_empty() {
            return Err(corrupt("graphs of languages the corpus is not in".into()));
        }
        let segments = if manifest.segments.is_empty() {
            Segments::load_single(dir, vectors.clone(), manifest.ef_search)
        } else {
            Segments::load(dir, vectors.clone(), &manifest.segments)
        }
        .map_err(|e| corrupt(format!("{e:#}")))?;
        let by_id = (0..paragraphs.len())
            .map(|i| (paragraphs.id(i).to_string(), i))
            .collect();
        let doc_rows: HashMap<String, usize> = documents
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.clone(), i))
            .collect();
        let doc_of = paragraphs
            .iter()
            .map(|p| doc_rows.get(p.doc_id).map(|&d| d as u32))
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| corrupt("a paragraph names a document it does not hold".into()))?;
        // The share of paragraphs with letters that are in a CJK language: the corpus's
        // main script, whatever order its files come in (it was the first 200
        // paragraphs' text, so a Chinese–English corpus's script followed its file names).
        let lettered = langs.iter().filter(|l| l.as_str() != "und").count();
        let cjk = langs
            .iter()
            .filter(|l| crate::text::lang::is_cjk(l))
            .count();
        let cjk_ratio = cjk as f32 / lettered.max(1) as f32;
        Ok(Self {
            manifest,
            documents,
            paragraphs,
            vectors,
            sentences,
            sentence_ranges,
            sentence_owner,
            segments,
            lexical,
            langs,
            detected,
            space,
            cjk_ratio,
            by_id,
            doc_of,
        })
    }
}

/// Per-paragraph ranges into the sentence vectors, and each sentence's paragraph.
fn sentence_layout(counts: &[usize]) -> (Vec<std::ops::Range<usize>>, Vec<usize>) {
    let mut ranges = Vec::with_capacity(counts.len());
    let mut owner = Vec::new();
    for (row, &c) in counts.iter().enumerate() {
        ranges.push(owner.len()..owner.len() + c);
        owner.extend(std::iter::repeat_n(row, c));
    }
    (ranges, owner)
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = read_maybe_gz(path).with_context(|| format!("reading {name}"))?;
    let mut out = Vec::new();
    for (i, line) in bytes.lines().enumerate() {
        let line = line.with_context(|| format!("reading {name}"))?;
        out.push(serde_json::from_str(&line).with_context(|| format!("{name} line {}", i + 1))?);
    }
    Ok(out)
}

/// A file's bytes, gunzipped when its name ends in `.gz`.
fn read_maybe_gz(path: &Path) -> std::io::Result<Vec<u8>> {
    let raw = std::fs::read(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::with_capacity(raw.len() * 4);
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut out)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// The format version in a generation's manifest, if it is an xref manifest at all.
pub(in crate::index) fn stored_version(dir: &Path) -> Option<u64> {
    let head: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).ok()?).ok()?;
    (head.get("format")?.as_str()? == FORMAT).then(|| head.get("version")?.as_u64())?
}

/// The live generation's folder under `root` and its manifest, checked against `CURRENT`'s
/// checksum and parsed as JSON only (`None` without an index).
fn live_manifest(root: &Path) -> Result<Option<(PathBuf, serde_json::Value)>> {
    let Some((dir, manifest_sum)) = store::current_generation(root)? else {
        return Ok(None);
    };
    let bytes = std::fs::read(dir.join("manifest.json"))?;
    anyhow::ensure!(sha256_bytes(&bytes) == manifest_sum, "manifest checksum");
    Ok(Some((dir, serde_json::from_slice(&bytes)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentence_layout_maps_both_ways() {
        let (ranges, owner) = sentence_layout(&[0, 2, 0, 3]);
        assert_eq!(ranges, vec![0..0, 0..2, 2..2, 2..5]);
        assert_eq!(owner, vec![1, 1, 3, 3, 3]);
    }
}
