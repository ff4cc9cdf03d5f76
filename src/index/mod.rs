//! The index: paragraphs, their vectors and an HNSW graph in one directory (`.xref/` by
//! default), written atomically as generations (see [`store`]).
//!
//! [`Index::update`] brings it in line with a corpus: paragraphs whose text is unchanged
//! keep their stored vectors (nothing is re-embedded), new text is embedded, files that
//! were removed are dropped, and the graph is rebuilt from the stored vectors (hnsw_rs
//! cannot delete points; rebuilding is cheap next to embedding). [`Index::open`] checks the
//! format, the checksums of every file and the model before anything is searched.

pub mod ann;
pub mod codec;
pub mod graph;
pub mod journal;
pub mod langspace;
pub mod lexical;
mod search;
pub use search::doc_matches;
pub mod store;
mod update;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::embed::{Embedder, Prefix};
use crate::error::bad_input;
use crate::ingest::{Corpus, Document, Paragraph};
use crate::model::ModelInfo;
use crate::text::{cjk_ratio, sentence_spans, sentence_units};
use ann::Ann;
pub use ann::Hit;
use langspace::LangSpace;
use lexical::Lexical;
use store::{sha256_bytes, sha256_file, NewGeneration, WriteLock};

/// An `f32` ordered by `total_cmp`, for heaps of scores or distances.
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct Score(pub f32);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

pub const FORMAT: &str = "xref-index";
/// Version 2 added sentence vectors, version 3 each paragraph's language, version 4 stored
/// vectors as 8-bit rows ([`codec`]), a graph without a copy of them and compressed
/// paragraphs and postings, version 5 the graph as flat neighbour lists ([`graph`]).
/// Versions from [`OLDEST_READABLE`] are read (a version 4 graph is ignored: searches scan
/// exactly) and an update rewrites them with their vectors reused; an update over an older
/// index re-embeds everything (its journal of an interrupted run is still reused).
pub const VERSION: u32 = 5;
/// The oldest format version whose vectors this xref reads.
pub const OLDEST_READABLE: u32 = 4;

/// The paragraphs, one JSON record a line, gzip-compressed.
pub const PARAGRAPHS: &str = "paragraphs.jsonl.gz";
/// The BM25 postings ([`Lexical`]) as JSON, gzip-compressed.
pub const LEXICAL: &str = "lexical.json.gz";
/// Paragraph vectors, row `i` = paragraph `i` ([`codec`] rows).
pub const VECTORS: &str = "vectors.i8";
/// Sentence vectors of multi-sentence paragraphs, paragraph by paragraph ([`codec`] rows);
/// `sentences.u32` holds how many each paragraph has.
pub const SENTENCES: &str = "sentences.i8";

/// Where the index lives unless `--index` or `XREF_INDEX` say otherwise.
pub const DEFAULT_DIR: &str = ".xref";

/// The model an index was built with; queries must use the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelStamp {
    pub id: String,
    pub checksum: String,
    pub dim: usize,
    pub query_prefix: String,
    pub passage_prefix: String,
}

impl ModelStamp {
    pub fn of(info: &ModelInfo, dim: usize) -> Self {
        Self {
            id: info.id.clone(),
            checksum: info.checksum.clone(),
            dim,
            query_prefix: info.query_prefix.clone(),
            passage_prefix: info.passage_prefix.clone(),
        }
    }
}

/// One indexed source file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The path as the user gave it (what output shows).
    pub path: String,
    /// Absolute path: the file's identity across runs.
    pub canonical: String,
    pub sha256: String,
    pub documents: usize,
    pub paragraphs: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub model: ModelStamp,
    pub files: Vec<FileEntry>,
    pub documents: usize,
    pub paragraphs: usize,
    /// sha256 of every other file in the generation.
    pub checksums: BTreeMap<String, String>,
    /// HNSW search breadth calibrated for the graph; absent when the generation has no graph
    /// (fewer paragraphs than [`ann::MIN_GRAPH_POINTS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ef_search: Option<usize>,
}

/// A document as the index keeps it (its paragraphs live in `paragraphs.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocRecord {
    pub id: String,
    pub title: String,
    pub source: String,
    pub line_start: usize,
    pub line_end: usize,
    pub paragraphs: usize,
}

/// What an update did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct UpdateReport {
    pub files_added: usize,
    pub files_changed: usize,
    pub files_unchanged: usize,
    pub files_removed: usize,
    pub documents: usize,
    pub paragraphs: usize,
    /// Paragraphs embedded by this run.
    pub embedded: usize,
    /// Paragraphs whose stored vector was reused.
    pub reused: usize,
    /// Paragraphs whose vectors an interrupted earlier run had embedded (see [`journal`]).
    pub resumed: usize,
    /// Whether a new generation was written.
    pub written: bool,
    /// The format version of an index that was rebuilt because it was older.
    pub upgraded_from: Option<u64>,
}

/// An opened index.
pub struct Index {
    pub manifest: Manifest,
    pub documents: Vec<DocRecord>,
    pub paragraphs: Vec<Paragraph>,
    /// Unit vectors, row by row (shared with the HNSW graph, whose points refer to them).
    vectors: std::sync::Arc<Vec<f32>>,
    /// Sentence vectors of multi-sentence paragraphs (see [`sentence_units`]), in paragraph
    /// order; `sentence_ranges[row]` locates a paragraph's, `sentence_owner[s]` the reverse.
    sentences: Vec<f32>,
    /// The sentence vectors as bytes: what a question's scan over them compares.
    sentence_codes: ann::Codes,
    sentence_ranges: Vec<std::ops::Range<usize>>,
    sentence_owner: Vec<usize>,
    ann: Ann,
    lexical: Lexical,
    /// Each paragraph's language ([`crate::text::lang::detect`], stored in `languages.json`).
    langs: Vec<String>,
    /// Centred vectors for comparing paragraphs across languages (multilingual corpora only).
    space: Option<LangSpace>,
    cjk_ratio: f32,
    by_id: HashMap<String, usize>,
    /// Each paragraph's document, as an index into `documents`.
    doc_of: Vec<u32>,
}

impl Index {
    /// Open the live generation under `root`; `None` if there is no index yet.
    pub fn open_if_exists(root: &Path) -> Result<Option<Self>> {
        let Some((dir, manifest_sum)) = store::current_generation(root)? else {
            return Ok(None);
        };
        Self::open_generation(&dir, &manifest_sum).map(Some)
    }

    /// Open the index under `root`, with a clear error if there is none.
    pub fn open(root: &Path) -> Result<Self> {
        Self::open_if_exists(root)?.ok_or_else(|| {
            bad_input(format!(
                "no index in {}; build one with `xref index PATH…` or `xref crossref PATH…`",
                root.display()
            ))
        })
    }

    fn open_generation(dir: &Path, manifest_sum: &str) -> Result<Self> {
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
        for (name, sum) in &manifest.checksums {
            let path = dir.join(name);
            let got = sha256_file(&path).map_err(|e| corrupt(format!("{name}: {e:#}")))?;
            if &got != sum {
                return Err(corrupt(format!("{name} does not match its checksum")));
            }
        }
        let documents: Vec<DocRecord> =
            read_jsonl(&dir.join("documents.jsonl")).map_err(|e| corrupt(format!("{e:#}")))?;
        let paragraphs: Vec<Paragraph> =
            read_jsonl(&dir.join(PARAGRAPHS)).map_err(|e| corrupt(format!("{e:#}")))?;
        let dim = manifest.model.dim;
        let (vectors, codes) = codec::decode_with_codes(
            &std::fs::read(dir.join(VECTORS)).map_err(|e| corrupt(format!("{VECTORS}: {e}")))?,
            dim,
        )
        .ok_or_else(|| corrupt(format!("{VECTORS} is malformed")))?;
        if paragraphs.len() != manifest.paragraphs
            || documents.len() != manifest.documents
            || vectors.len() != paragraphs.len() * dim
        {
            return Err(corrupt(
                "its files disagree on the number of paragraphs".into(),
            ));
        }
        let counts = std::fs::read(dir.join("sentences.u32"))
            .map_err(|e| corrupt(format!("sentences.u32: {e}")))?;
        let (sentences, sentence_codes) = codec::decode_with_codes(
            &std::fs::read(dir.join(SENTENCES))
                .map_err(|e| corrupt(format!("{SENTENCES}: {e}")))?,
            dim,
        )
        .ok_or_else(|| corrupt(format!("{SENTENCES} is malformed")))?;
        let counts: Vec<usize> = counts
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
            .collect();
        let total: usize = counts.iter().sum();
        if counts.len() != paragraphs.len() || sentences.len() != total * dim {
            return Err(corrupt(
                "its sentence files disagree with the paragraphs".into(),
            ));
        }
        let (sentence_ranges, sentence_owner) = sentence_layout(&counts);
        let lexical: Lexical = serde_json::from_slice(
            &read_maybe_gz(&dir.join(LEXICAL)).map_err(|e| corrupt(format!("{LEXICAL}: {e}")))?,
        )
        .map_err(|e| corrupt(format!("{LEXICAL}: {e}")))?;
        if lexical.len() != paragraphs.len() {
            return Err(corrupt(format!(
                "{LEXICAL} disagrees on the number of paragraphs"
            )));
        }
        let langs: Vec<String> = serde_json::from_slice(
            &std::fs::read(dir.join("languages.json"))
                .map_err(|e| corrupt(format!("languages.json: {e}")))?,
        )
        .map_err(|e| corrupt(format!("languages.json: {e}")))?;
        if langs.len() != paragraphs.len() {
            return Err(corrupt(
                "languages.json disagrees on the number of paragraphs".into(),
            ));
        }
        let space = LangSpace::build(&langs, &vectors, &sentences, &sentence_owner, dim);
        let vectors = std::sync::Arc::new(vectors);
        let ann = Ann::load(dir, vectors.clone(), codes, dim, manifest.ef_search)
            .map_err(|e| corrupt(format!("{e:#}")))?;
        let by_id = paragraphs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let doc_rows: HashMap<String, usize> = documents
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.clone(), i))
            .collect();
        let doc_of = paragraphs
            .iter()
            .map(|p| doc_rows.get(&p.doc_id).map(|&d| d as u32))
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| corrupt("a paragraph names a document it does not hold".into()))?;
        let sample: String = paragraphs
            .iter()
            .take(200)
            .map(|p| p.text.as_str())
            .collect();
        let cjk_ratio = cjk_ratio(&sample);
        Ok(Self {
            manifest,
            documents,
            paragraphs,
            vectors,
            sentence_codes,
            sentences,
            sentence_ranges,
            sentence_owner,
            ann,
            lexical,
            langs,
            space,
            cjk_ratio,
            by_id,
            doc_of,
        })
    }

    /// Fail unless `embedder` is the model this index was built with.
    pub fn check_model(&self, embedder: &Embedder) -> Result<()> {
        let want = &self.manifest.model;
        let have = ModelStamp::of(embedder.info(), embedder.dim());
        if want.id != have.id || want.checksum != have.checksum || want.dim != have.dim {
            return Err(bad_input(format!(
                "the index was built with model {} ({}), not {} ({}); pass --model {} or rebuild the index with `xref index --rebuild`",
                want.id, want.checksum, have.id, have.checksum, want.id
            )));
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.paragraphs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paragraphs.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.manifest.model.dim
    }

    /// The stored unit vector of row `i`.
    pub fn vector(&self, i: usize) -> &[f32] {
        let d = self.dim();
        &self.vectors[i * d..(i + 1) * d]
    }

    /// Every stored unit vector, row after row.
    pub fn vectors(&self) -> &[f32] {
        &self.vectors
    }

    /// The range of paragraph `row`'s sentences among the sentence vectors (empty for a
    /// one-sentence paragraph).
    pub fn sentence_range(&self, row: usize) -> std::ops::Range<usize> {
        self.sentence_ranges[row].clone()
    }

    /// Sentence vector `s` (see [`Index::sentence_range`]).
    pub fn sentence(&self, s: usize) -> &[f32] {
        let d = self.dim();
        &self.sentences[s * d..(s + 1) * d]
    }

    /// The paragraph that sentence `s` belongs to.
    pub fn sentence_owner(&self, s: usize) -> usize {
        self.sentence_owner[s]
    }

    /// The sentence vectors as 8-bit rows (for rough scans before exact scores).
    pub fn sentence_codes(&self) -> &ann::Codes {
        &self.sentence_codes
    }

    /// Centred vectors for comparing paragraphs across languages; `None` in a
    /// one-language corpus.
    pub fn space(&self) -> Option<&LangSpace> {
        self.space.as_ref()
    }

    /// The BM25 postings.
    pub fn lexical(&self) -> &Lexical {
        &self.lexical
    }

    /// The share of Han characters among the letters of a sample of the corpus.
    pub fn cjk_ratio(&self) -> f32 {
        self.cjk_ratio
    }

    /// The vectors a paragraph is matched by, sentence by sentence: its sentences' if it has
    /// several, else its own.
    pub fn units(&self, row: usize) -> impl Iterator<Item = &[f32]> + '_ {
        let d = self.dim();
        let r = &self.sentence_ranges[row];
        let own = r.is_empty().then(|| self.vector(row));
        own.into_iter()
            .chain(r.clone().map(move |s| &self.sentences[s * d..(s + 1) * d]))
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

/// Write `bytes` to `path`, gzip-compressed when its name ends in `.gz`.
fn write_maybe_gz(path: &Path, bytes: &[u8]) -> Result<()> {
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
