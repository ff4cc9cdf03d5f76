//! Writing a generation: documents, paragraphs, vectors (8-bit rows), sentence vectors,
//! postings, languages and the graph into a new generation directory, each file's sha256
//! in the manifest, committed atomically ([`NewGeneration`]).

use super::super::*;

/// Write `documents` and `paragraphs` (from `files`, embedded by model `model`: `vectors`
/// row by row, `sentences` per paragraph) as a new generation, and commit it. `previous`:
/// the graph segments of the generation it replaces and where each of its rows is here
/// (`None`: gone), whose graphs are kept ([`Segments::update`]); `detected`: each row's
/// language as detection found it where the previous generation knew it (the same text);
/// `read_by`: what read the documents ([`crate::ingest::fingerprint`]); `policy`: the
/// segments' merge policy.
#[allow(clippy::too_many_arguments)]
pub(in crate::index) fn write_generation(
    root: &Path,
    lock: &WriteLock,
    model: ModelStamp,
    files: Vec<FileEntry>,
    documents: &[DocRecord],
    paragraphs: &[Paragraph],
    vectors: &[f32],
    sentences: &[Vec<f32>],
    previous: Option<(&Segments, &[Option<u32>])>,
    detected: &[Option<Detected>],
    read_by: &str,
    policy: &Policy,
) -> Result<()> {
    let mut manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        model,
        files,
        documents: documents.len(),
        paragraphs: paragraphs.len(),
        checksums: BTreeMap::new(),
        ef_search: None,
        read_by: read_by.to_string(),
        segments: Vec::new(),
        language_graphs: BTreeMap::new(),
    };
    let mut phases = Phases::start();
    let generation = NewGeneration::create(root, lock)?;
    let dir = generation.dir.clone();
    write_jsonl(&dir.join("documents.jsonl"), documents)?;
    // Each file built in memory is written and its checksum taken from the same bytes.
    let mut put = |name: &str, bytes: &[u8]| -> Result<()> {
        std::fs::write(dir.join(name), bytes)?;
        manifest.checksums.insert(name.into(), sha256_bytes(bytes));
        Ok(())
    };
    put(PARAGRAPHS, &paragraphs::Paragraphs::encode(paragraphs)?)?;
    phases.done("paragraphs written");
    let dim = manifest.model.dim;
    // The graph is built over the rows as readers will see them (stored).
    let rows = codec::Rows::encode(vectors.chunks_exact(dim), dim);
    put(VECTORS, rows.stored())?;
    phases.done("vectors written");
    let texts: Vec<&str> = paragraphs.iter().map(|p| p.text.as_str()).collect();
    put(LEXICAL, Lexical::build(&texts).stored())?;
    phases.done("postings");
    let by_document: Vec<(&str, &str)> = paragraphs
        .iter()
        .map(|p| (p.doc_id.as_str(), p.text.as_str()))
        .collect();
    let found = crate::text::lang::detect_details(&by_document, detected);
    let langs = crate::text::lang::settle_in_documents(&by_document, &found);
    put("languages.json", &serde_json::to_vec(&langs)?)?;
    let stored: Vec<&str> = found.iter().map(|d| d.stored()).collect();
    put(DETECTED, &serde_json::to_vec(&stored)?)?;
    phases.done("languages");
    let counts: Vec<u8> = sentences
        .iter()
        .flat_map(|s| ((s.len() / dim) as u32).to_le_bytes())
        .collect();
    put("sentences.u32", &counts)?;
    put(
        SENTENCES,
        &codec::encode_split(sentences.iter().flat_map(|s| s.chunks_exact(dim)), dim),
    )?;
    phases.done("sentences written");
    let rows = std::sync::Arc::new(rows);
    let segments = Segments::update(rows.clone(), previous, policy);
    let mut names = vec!["documents.jsonl".to_string()];
    let (entries, files) = segments.dump(&dir)?;
    names.extend(files);
    manifest.segments = entries;
    drop(segments);
    phases.done("graph segments");
    // Each large language's graph over its centred vectors, built from the rows as readers
    // will centre them (sentences play no part in the paragraph centroids).
    let no_sentences = codec::Rows::encode(std::iter::empty::<&[f32]>(), dim);
    let langs: Vec<String> = langs.iter().map(|l| l.to_string()).collect();
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for l in &langs {
        *sizes.entry(l).or_default() += 1;
    }
    // Only a corpus with a language that large centres its rows here.
    let space = sizes
        .values()
        .any(|&n| n >= langspace::GRAPH_POINTS)
        .then(|| LangSpace::build(&langs, &rows, &no_sentences, &[]))
        .flatten();
    if let Some(mut space) = space {
        space.build_graphs(langspace::GRAPH_POINTS);
        let (files, breadths) = space.dump_graphs(&dir)?;
        names.extend(files);
        manifest.language_graphs = breadths;
    }
    phases.done("language graphs");
    for name in names {
        manifest
            .checksums
            .insert(name.clone(), sha256_file(&dir.join(&name))?);
    }
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    generation.commit(lock)?;
    phases.done("checksums and commit");
    Ok(())
}

fn write_jsonl<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut bytes = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut bytes, r)?;
        bytes.push(b'\n');
    }
    write_maybe_gz(path, &bytes)
}

/// Write `bytes` to `path`, gzip-compressed when its name ends in `.gz`.
pub(in crate::index) fn write_maybe_gz(path: &Path, bytes: &[u8]) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::new(file);
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(&mut w, flate2::Compression::new(4));
        gz.write_all(bytes)?;
        gz.finish()?;
    } else {
        w.write_all(bytes)?;
    }
    w.flush()?;
    Ok(())
}

/// A committed index in `root` of the given paragraphs — (document, text, vector) — with
/// no sentence vectors, for tests that need vectors of their own making.
#[cfg(test)]
pub(crate) fn synthetic_index(root: &Path, rows: &[(String, String, Vec<f32>)]) -> Index {
    let dim = rows[0].2.len();
    let mut documents: Vec<DocRecord> = Vec::new();
    let mut paragraphs = Vec::new();
    for (i, (doc, text, _)) in rows.iter().enumerate() {
        if documents.last().is_none_or(|d| &d.id != doc) {
            documents.push(DocRecord {
                id: doc.clone(),
                title: doc.clone(),
                source: format!("{doc}.txt"),
                line_start: i + 1,
                line_end: i + 1,
                paragraphs: 0,
            });
        }
        let d = documents.last_mut().unwrap();
        d.line_end = i + 1;
        paragraphs.push(Paragraph {
            id: format!("{doc}.{}", d.paragraphs),
            doc_id: doc.clone(),
            ordinal: d.paragraphs,
            section: None,
            text: text.clone(),
            source: format!("{doc}.txt"),
            line_start: i + 1,
            line_end: i + 1,
            page: None,
            kind: Default::default(),
        });
        d.paragraphs += 1;
    }
    let vectors: Vec<f32> = rows.iter().flat_map(|r| r.2.iter().copied()).collect();
    let lock = WriteLock::acquire(root).unwrap();
    // The default model's id: the ranking and linking of these vectors use its parameters
    // (`rank::Params::of`), the ones the tests were written for.
    let model = ModelStamp {
        id: crate::model::DEFAULT_MODEL.into(),
        checksum: "0".into(),
        dim,
        query_prefix: String::new(),
        passage_prefix: String::new(),
    };
    let sentences = vec![Vec::new(); rows.len()];
    write_generation(
        root,
        &lock,
        model,
        Vec::new(),
        &documents,
        &paragraphs,
        &vectors,
        &sentences,
        None,
        &[],
        "",
        &Policy::default(),
    )
    .unwrap();
    drop(lock);
    Index::open(root).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generation with two languages of `langspace::GRAPH_POINTS` paragraphs each stores
    /// a graph per language over its centred vectors, and the index opened from it finds
    /// a paragraph's counterpart in the other language through them; a damaged graph file
    /// makes the index corrupt, not wrong.
    #[test]
    fn large_languages_get_graphs_of_their_own() {
        let root = tempfile::tempdir().unwrap();
        let (dim, per) = (16, langspace::GRAPH_POINTS);
        let mut u = ann::random_uniform(0x9E37_79B9_7F4A_7C15);
        // Paragraph i of each language means the same (the same direction) behind a
        // language offset on the first axis.
        let meanings: Vec<Vec<f32>> = (0..per).map(|_| (0..dim).map(|_| u()).collect()).collect();
        let mut rows = Vec::new();
        for (doc, (text, offset)) in [
            ("第{}段讨论了数据和结果。", 0.6f32),
            ("Paragraph {} discusses the data and the results.", -0.6),
        ]
        .into_iter()
        .enumerate()
        {
            for (i, m) in meanings.iter().enumerate() {
                let mut v = m.clone();
                v[0] += offset;
                crate::embed::normalize(&mut v);
                rows.push((format!("d{doc}"), text.replace("{}", &i.to_string()), v));
            }
        }
        let index = synthetic_index(root.path(), &rows);
        let graphs: Vec<&String> = index.manifest.language_graphs.keys().collect();
        assert_eq!(graphs, ["en", "zh"]);
        let space = index.space().unwrap();
        let (mut found, mut counterpart, mut total) = (0, 0, 0);
        for i in (0..per).step_by(97) {
            for (row, lang, other) in [(i, "zh", per + i), (per + i, "en", i)] {
                assert_eq!(index.lang(row), lang);
                let q = langspace::centre(&index.vector(row), space.centroid(lang).0);
                let hits = space.nearest_not_in(lang, &q, 5, None);
                assert!(hits.iter().all(|h| index.lang(h.row) != lang));
                let rows = space.rows_not_in(lang);
                let exact = ann::exact_search_rows(rows, |r| space.rows().dot(r, &q), 5);
                found += ann::found_of(&hits, &exact);
                counterpart += usize::from(hits.iter().any(|h| h.row == other));
                total += 5;
            }
        }
        assert!(found as f64 >= 0.98 * total as f64, "{found} of {total}");
        assert!(
            counterpart as f64 >= 0.9 * (total / 5) as f64,
            "{counterpart}"
        );
        let (dir, _) = store::current_generation(root.path()).unwrap().unwrap();
        let path = dir.join("graph-en.u32");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[100] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let err = Index::open(root.path()).err().unwrap();
        assert!(format!("{err:#}").contains("corrupt"), "{err:#}");
    }
}
