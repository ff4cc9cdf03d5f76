//! Writing a generation: documents, paragraphs, vectors (8-bit rows), sentence vectors,
//! postings, languages and the graph into a new generation directory, each file's sha256
//! in the manifest, committed atomically ([`NewGeneration`]).

use super::super::*;

pub(in crate::index) fn write_generation(
    root: &Path,
    lock: &WriteLock,
    mut manifest: Manifest,
    documents: &[DocRecord],
    paragraphs: &[Paragraph],
    vectors: &[f32],
    sentences: &[Vec<f32>],
) -> Result<()> {
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
    let dim = manifest.model.dim;
    // The graph is built over the rows as readers will see them (stored).
    let rows = codec::Rows::encode(vectors.chunks_exact(dim), dim);
    put(VECTORS, rows.stored())?;
    let texts: Vec<&str> = paragraphs.iter().map(|p| p.text.as_str()).collect();
    put(LEXICAL, Lexical::build(&texts).stored())?;
    let by_document: Vec<(&str, &str)> = paragraphs
        .iter()
        .map(|p| (p.doc_id.as_str(), p.text.as_str()))
        .collect();
    let langs = crate::text::lang::detect_in_documents(&by_document);
    put("languages.json", &serde_json::to_vec(&langs)?)?;
    let counts: Vec<u8> = sentences
        .iter()
        .flat_map(|s| ((s.len() / dim) as u32).to_le_bytes())
        .collect();
    put("sentences.u32", &counts)?;
    put(
        SENTENCES,
        &codec::encode_split(sentences.iter().flat_map(|s| s.chunks_exact(dim)), dim),
    )?;
    let ann = if paragraphs.len() >= ann::MIN_GRAPH_POINTS {
        Ann::build(std::sync::Arc::new(rows))
    } else {
        Ann::none()
    };
    let mut names = vec!["documents.jsonl".to_string()];
    names.extend(ann.dump(&dir)?);
    manifest.ef_search = ann.has_graph().then(|| ann.ef());
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
