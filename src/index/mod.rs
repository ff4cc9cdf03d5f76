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
pub mod paragraphs;
pub mod store;
mod topk;
mod update;
pub use update::embed_paragraphs;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::embed::{Embedder, Prefix};
use crate::error::bad_input;
use crate::ingest::{Corpus, Document, Paragraph};
use crate::model::ModelInfo;
use crate::text::lang::Detected;
use crate::text::{sentence_spans, sentence_units};
use ann::segments::{Policy, Segments};
pub use ann::Hit;
use langspace::LangSpace;
use lexical::Lexical;
use store::{sha256_bytes, sha256_file, NewGeneration, WriteLock};

/// Where an update's time goes, phase by phase, on standard error with `XREF_PROFILE=1`.
pub(crate) struct Phases {
    on: bool,
    at: std::time::Instant,
}

impl Phases {
    pub(crate) fn start() -> Self {
        Self {
            on: std::env::var_os("XREF_PROFILE").is_some_and(|v| v != "0"),
            at: std::time::Instant::now(),
        }
    }

    /// The phase that just ended.
    pub(crate) fn done(&mut self, what: &str) {
        if self.on {
            eprintln!(
                "xref: index: {what} {:.3}s",
                self.at.elapsed().as_secs_f64()
            );
        }
        self.at = std::time::Instant::now();
    }
}

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
/// paragraphs and postings, version 5 the graph as flat neighbour lists ([`graph`]),
/// version 6 the postings in a binary layout read in place ([`lexical::Lexical`]; the
/// postings of an older generation are rebuilt from its paragraphs when it is opened) and
/// the paragraphs in one ([`paragraphs::Paragraphs`]), version 7 tells Latin-script
/// languages apart in `languages.json` (older generations say `en` for all of them; the
/// files are otherwise those of version 6), version 8 the paragraphs' graphs as segments
/// ([`ann::segments`]: an update renumbers the graphs of the files it keeps instead of
/// building one graph again).
/// Versions from [`OLDEST_READABLE`] are read (a version 4 graph is ignored: searches scan
/// exactly) and an update rewrites them with their vectors reused; an update over an older
/// index re-embeds everything (its journal of an interrupted run is still reused).
pub const VERSION: u32 = 8;
/// The oldest format version whose vectors this xref reads.
pub const OLDEST_READABLE: u32 = 4;

/// The paragraphs ([`paragraphs::Paragraphs`]), binary, gzip-compressed.
pub const PARAGRAPHS: &str = "paragraphs.bin.gz";
/// Format 5's paragraphs: one JSON record a line, gzip-compressed.
pub const PARAGRAPHS_V5: &str = "paragraphs.jsonl.gz";
/// The BM25 postings ([`Lexical`]), binary, read in place.
pub const LEXICAL: &str = "lexical.bin";
/// Paragraph vectors, row `i` = paragraph `i` ([`codec`] rows).
pub const VECTORS: &str = "vectors.i8";
/// Sentence vectors of multi-sentence paragraphs, paragraph by paragraph ([`codec`] rows);
/// `sentences.u32` holds how many each paragraph has.
pub const SENTENCES: &str = "sentences.i8";

/// Each paragraph's [`Detected`] language, JSON (an update reuses them for unchanged text).
pub const DETECTED: &str = "detected.json";

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
    /// What read the documents ([`crate::ingest::fingerprint`]: the ingest options and
    /// xref's sources); an update reads again only the files that changed when it is the
    /// same.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub read_by: String,
    /// The graph segments (version 8; see [`ann::segments`]): each one's rows, graph and
    /// breadth. Empty: every row is scanned exactly, or (version 7 and older) one graph over
    /// all rows, `graph.u32`, whose breadth is `ef_search`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<ann::segments::SegmentEntry>,
    /// Per language with a graph over its centred vectors (`graph-LANG.u32`, see
    /// [`langspace::LangSpace`]), that graph's calibrated breadth; absent in a one-language
    /// corpus or one whose languages are all smaller than [`langspace::GRAPH_POINTS`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub language_graphs: BTreeMap<String, usize>,
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

impl DocRecord {
    /// The record of an ingested document.
    pub fn of(d: &Document) -> Self {
        Self {
            id: d.id.clone(),
            title: d.title.clone(),
            source: d.source.clone(),
            line_start: d.line_start,
            line_end: d.line_end,
            paragraphs: d.paragraphs.len(),
        }
    }
}

/// How an update treats what the index holds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UpdateOptions {
    /// Start from scratch: nothing reused (after changing the model, say).
    pub rebuild: bool,
    /// Merge every graph segment into one graph ([`ann::segments`]): searches and the
    /// crossref visit one graph again, for the price of building it.
    pub merge: bool,
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

/// An opened index. Its parts are read through accessors ([`Index::manifest`],
/// [`Index::documents`], [`Index::paragraphs`] and the lookups below); its fields are the
/// index module's own.
pub struct Index {
    manifest: Manifest,
    documents: Vec<DocRecord>,
    paragraphs: paragraphs::Paragraphs,
    /// The paragraph vectors as stored (8-bit rows, memory-mapped; shared with the HNSW
    /// graph, whose points refer to them).
    vectors: std::sync::Arc<ann::Rows>,
    /// Sentence vectors of multi-sentence paragraphs (see [`sentence_units`]), in paragraph
    /// order, as stored; `sentence_ranges[row]` locates a paragraph's, `sentence_owner[s]`
    /// the reverse.
    sentences: ann::Rows,
    sentence_ranges: Vec<std::ops::Range<usize>>,
    sentence_owner: Vec<usize>,
    /// The paragraphs' graphs, by segment ([`ann::segments`]).
    segments: Segments,
    lexical: Lexical,
    /// Each paragraph's language ([`crate::text::lang::detect`], stored in `languages.json`).
    langs: Vec<String>,
    /// What detection found for each paragraph's text before its document settled it
    /// ([`DETECTED`]; empty for a generation older than version 8).
    detected: Vec<Detected>,
    /// Centred vectors for comparing paragraphs across languages (multilingual corpora only).
    space: Option<LangSpace>,
    cjk_ratio: f32,
    by_id: HashMap<String, usize>,
    /// Each paragraph's document, as an index into `documents`.
    doc_of: Vec<u32>,
}

impl Index {
    /// What the generation's manifest records: format, model, files, checksums.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The documents, in index order.
    pub fn documents(&self) -> &[DocRecord] {
        &self.documents
    }

    /// The paragraphs' text and metadata, read in place.
    pub fn paragraphs(&self) -> &paragraphs::Paragraphs {
        &self.paragraphs
    }

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

    /// The stored unit vector of row `i`, decoded (scores need not decode: see
    /// [`Index::rows`]).
    pub fn vector(&self, i: usize) -> Vec<f32> {
        self.vectors.decode(i)
    }

    /// The paragraph vectors as stored: row `i` is paragraph `i`'s (shared: a graph can be
    /// built over them).
    pub fn rows(&self) -> &std::sync::Arc<ann::Rows> {
        &self.vectors
    }

    /// The sentence vectors as stored (see [`Index::sentence_range`]).
    pub fn sentence_rows(&self) -> &ann::Rows {
        &self.sentences
    }

    /// The range of paragraph `row`'s sentences among the sentence vectors (empty for a
    /// one-sentence paragraph).
    pub fn sentence_range(&self, row: usize) -> std::ops::Range<usize> {
        self.sentence_ranges[row].clone()
    }

    /// The paragraph that sentence `s` belongs to.
    pub fn sentence_owner(&self, s: usize) -> usize {
        self.sentence_owner[s]
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

    /// The share of the paragraphs with letters that are in a CJK language (`zh`, `ja`,
    /// `ko`): whether the corpus is mostly in CJK script.
    pub fn cjk_ratio(&self) -> f32 {
        self.cjk_ratio
    }

    /// The cosines of `query` with the vectors a paragraph is matched by, sentence by
    /// sentence: its sentences' if it has several, else its own.
    pub fn unit_scores<'a>(
        &'a self,
        query: &'a [f32],
        row: usize,
    ) -> impl Iterator<Item = f32> + 'a {
        let r = &self.sentence_ranges[row];
        let own = r.is_empty().then(|| self.vectors.dot(row, query));
        own.into_iter()
            .chain(r.clone().map(move |s| self.sentences.dot(s, query)))
    }

    // Lookups and nearest-neighbour search: rows by id, documents, the HNSW graph or the
    // exact scan (scores and rankings built on them are in `crate::rank`).

    /// The language of paragraph `row` (see [`crate::text::lang::detect`]).
    pub fn lang(&self, row: usize) -> &str {
        &self.langs[row]
    }

    /// The language of an outside text (a question) with embedding `vector`, as
    /// [`crate::text::lang::detect`] tells it; Latin-script text too short to tell takes,
    /// in a multilingual corpus, its Latin-script language whose centroid is nearest.
    pub fn text_lang(&self, text: &str, vector: &[f32]) -> &str {
        use crate::text::lang::{detect_detail, Detected};
        match detect_detail(text) {
            Detected::Known(code) => code,
            Detected::Latin => self
                .space
                .as_ref()
                .and_then(|s| s.nearest_latin(vector))
                .unwrap_or("en"),
        }
    }

    /// Whether the paragraphs are in more than one language (then pairs across languages
    /// are scored on centred vectors).
    pub fn is_multilingual(&self) -> bool {
        self.space.is_some()
    }

    /// Row of the paragraph with this id.
    pub fn row(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The document record of a paragraph row.
    /// Ids of the documents whose title or id contains `needle` (the `--doc` filter).
    pub fn documents_matching(&self, needle: &str) -> Vec<String> {
        self.documents
            .iter()
            .filter(|r| doc_matches(&r.title, &r.id, needle))
            .map(|r| r.id.clone())
            .collect()
    }

    pub fn doc_of(&self, row: usize) -> &DocRecord {
        &self.documents[self.doc_of[row] as usize]
    }

    /// Nearest rows, best first, optionally restricted: through the HNSW graph where it is
    /// cheaper than an exact scan at its calibrated breadth, else by the exact scan.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        if self.segments.graph_pays(k) {
            self.segments.search(query, k, allow)
        } else {
            self.search_exact(query, k, allow)
        }
    }

    /// How many other documents than row `row`'s hold a paragraph at cosine ≥ `min` to it,
    /// counted up to `enough`: through the graph (its `4·enough` nearest rows) where it
    /// pays, else by a scan of the 8-bit rows on the calling thread (rough products, within
    /// ~0.01, then confirmed exactly). For a value measured inside other parallel work.
    pub fn copy_documents(&self, row: usize, min: f32, enough: usize) -> usize {
        let doc = self.doc_index(row);
        let query = self.vector(row);
        let mut docs: Vec<usize> = if self.segments.graph_pays(4 * enough) {
            self.segments
                .search(
                    &query,
                    4 * enough,
                    Some(&|r: usize| self.doc_index(r) != doc),
                )
                .iter()
                .filter(|h| h.score >= min)
                .map(|h| self.doc_index(h.row))
                .collect()
        } else {
            let rough = ann::Rows::rough_query(&query);
            (0..self.len())
                .filter(|&r| {
                    self.vectors.rough(&rough, r) >= min - 0.02
                        && self.doc_index(r) != doc
                        && self.vectors.dot(r, &query) >= min
                })
                .map(|r| self.doc_index(r))
                .collect()
        };
        docs.sort_unstable();
        docs.dedup();
        docs.len().min(enough)
    }

    /// Nearest rows through the HNSW graphs, whatever they cost (for recall measurements).
    pub fn search_graph(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        self.segments.search_graphs(query, k, allow)
    }

    /// The document of paragraph `row`, as an index into [`Index::documents`].
    pub fn doc_index(&self, row: usize) -> usize {
        self.doc_of[row] as usize
    }

    /// Whether this generation stores an HNSW graph (see [`ann::MIN_GRAPH_POINTS`]).
    pub fn has_graph(&self) -> bool {
        !self.segments.is_empty()
    }

    /// How many graph segments this generation has, and how many rows are in none.
    pub fn segment_counts(&self) -> (usize, usize) {
        (self.segments.len(), self.segments.tail().len())
    }

    /// The HNSW graphs' largest calibrated search breadth and whether searches for 10
    /// neighbours use them.
    pub fn graph_use(&self) -> (usize, bool) {
        (self.segments.ef(), self.segments.graph_pays(10))
    }

    /// Exact nearest rows (brute force): the reference for recall.
    pub fn search_exact(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        ann::top_of_scores(&self.vectors.scan(query), k, allow)
    }
}

/// Whether a document with this title and id passes the `--doc` filter `needle` (its title
/// or id contains it).
pub fn doc_matches(title: &str, id: &str, needle: &str) -> bool {
    title.contains(needle) || id.contains(needle)
}
