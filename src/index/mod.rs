//! The index: paragraphs, their vectors and an HNSW graph in one directory (`.xref/` by
//! default), written atomically as generations (see [`store`]).
//!
//! [`Index::update`] brings it in line with a corpus: paragraphs whose text is unchanged
//! keep their stored vectors (nothing is re-embedded), new text is embedded, files that
//! were removed are dropped, and the graph is rebuilt from the stored vectors (hnsw_rs
//! cannot delete points; rebuilding is cheap next to embedding). [`Index::open`] checks the
//! format, the checksums of every file and the model before anything is searched.

pub mod ann;
pub mod langspace;
pub mod lexical;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::embed::{dot, Embedder, Prefix};
use crate::error::bad_input;
use crate::ingest::{Corpus, Document, Paragraph};
use crate::model::ModelInfo;
use ann::Ann;
pub use ann::Hit;
use langspace::LangSpace;
use lexical::Lexical;
use store::{sha256_bytes, sha256_file, NewGeneration, WriteLock};

/// How questions are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Dense,
    Lexical,
    Hybrid,
}

/// Weight of the lexical channel in hybrid mode (tuned with `xref eval`).
pub const HYBRID_WEIGHT: f32 = 0.1;

/// Best-hit cosine below which a question in the corpus's own language is probably not
/// answered by it (see [`Index::confidence`]).
pub const SAME_LANGUAGE_MIN: f32 = 0.85;
/// The same for a question in another language (cross-lingual scores run lower).
pub const CROSS_LANGUAGE_MIN: f32 = 0.755;

/// The share of CJK characters among the letters of `text`.
pub fn cjk_ratio(text: &str) -> f32 {
    let (mut cjk, mut letters) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if lexical::is_cjk(c) {
            cjk += 1;
        }
    }
    cjk as f32 / letters.max(1) as f32
}

/// Weight of a paragraph's best-matching sentence in its dense score for a question; the
/// rest is the whole paragraph's cosine (see [`Index::dense_score`]; tuned with `xref eval`).
pub const SENTENCE_WEIGHT: f32 = 0.7;
/// Sentences shorter than this many characters get no vector of their own.
pub const MIN_SENTENCE_CHARS: usize = 8;

/// The sentences of a paragraph that the index embeds on their own: none unless it has two
/// or more of at least [`MIN_SENTENCE_CHARS`] characters (a one-sentence paragraph is its
/// own sentence).
pub fn sentence_units(text: &str) -> Vec<&str> {
    let s: Vec<&str> = crate::ingest::split::sentences(text)
        .into_iter()
        .filter(|s| s.chars().count() >= MIN_SENTENCE_CHARS)
        .collect();
    if s.len() >= 2 {
        s
    } else {
        Vec::new()
    }
}

pub const FORMAT: &str = "xref-index";
/// Version 2 added sentence vectors, version 3 each paragraph's language; an update over an
/// older index re-embeds everything.
pub const VERSION: u32 = 3;

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
    /// HNSW search breadth calibrated for this graph (absent in older indexes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ef_search: Option<usize>,
}

/// How a question's dense scores are mapped per target language: `(mean, sd)` of its
/// scores against each language, and the reference `(mean, sd)` they are mapped onto
/// (`None` for a one-language corpus).
pub type QuestionNorm<'a> = Option<(HashMap<&'a str, (f32, f32)>, (f32, f32))>;

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
    vectors: Vec<f32>,
    /// Sentence vectors of multi-sentence paragraphs (see [`sentence_units`]), in paragraph
    /// order; `sentence_ranges[row]` locates a paragraph's, `sentence_owner[s]` the reverse.
    sentences: Vec<f32>,
    sentence_ranges: Vec<std::ops::Range<usize>>,
    sentence_owner: Vec<usize>,
    ann: Ann,
    lexical: Lexical,
    /// Each paragraph's language ([`crate::lang::detect`], stored in `languages.json`).
    langs: Vec<String>,
    /// Centred vectors for comparing paragraphs across languages (multilingual corpora only).
    space: Option<LangSpace>,
    cjk_ratio: f32,
    by_id: HashMap<String, usize>,
    doc_rows: HashMap<String, usize>,
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
        if version != VERSION as u64 {
            return Err(bad_input(format!(
                "index {} has format version {version}; this xref reads version {VERSION}: rebuild it with `xref index --rebuild PATH…`",
                dir.display()
            )));
        }
        let manifest: Manifest =
            serde_json::from_value(head).map_err(|e| corrupt(format!("manifest.json: {e}")))?;
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
            read_jsonl(&dir.join("paragraphs.jsonl")).map_err(|e| corrupt(format!("{e:#}")))?;
        let raw = std::fs::read(dir.join("vectors.f32"))
            .map_err(|e| corrupt(format!("vectors.f32: {e}")))?;
        let dim = manifest.model.dim;
        if paragraphs.len() != manifest.paragraphs
            || documents.len() != manifest.documents
            || raw.len() != paragraphs.len() * dim * 4
        {
            return Err(corrupt(
                "its files disagree on the number of paragraphs".into(),
            ));
        }
        let vectors: Vec<f32> = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let counts = std::fs::read(dir.join("sentences.u32"))
            .map_err(|e| corrupt(format!("sentences.u32: {e}")))?;
        let sraw = std::fs::read(dir.join("sentences.f32"))
            .map_err(|e| corrupt(format!("sentences.f32: {e}")))?;
        let counts: Vec<usize> = counts
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
            .collect();
        let total: usize = counts.iter().sum();
        if counts.len() != paragraphs.len() || sraw.len() != total * dim * 4 {
            return Err(corrupt(
                "its sentence files disagree with the paragraphs".into(),
            ));
        }
        let sentences: Vec<f32> = sraw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let (sentence_ranges, sentence_owner) = sentence_layout(&counts);
        let lexical: Lexical = serde_json::from_slice(
            &std::fs::read(dir.join("lexical.json"))
                .map_err(|e| corrupt(format!("lexical.json: {e}")))?,
        )
        .map_err(|e| corrupt(format!("lexical.json: {e}")))?;
        if lexical.len() != paragraphs.len() {
            return Err(corrupt(
                "lexical.json disagrees on the number of paragraphs".into(),
            ));
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
        let ef = manifest.ef_search.unwrap_or(ann::EF_SEARCH);
        let ann = Ann::load(dir, paragraphs.len(), ef).map_err(|e| corrupt(format!("{e:#}")))?;
        let by_id = paragraphs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let doc_rows = documents
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.clone(), i))
            .collect();
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
            sentences,
            sentence_ranges,
            sentence_owner,
            ann,
            lexical,
            langs,
            space,
            cjk_ratio,
            by_id,
            doc_rows,
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

    pub fn vectors(&self) -> Vec<&[f32]> {
        (0..self.len()).map(|i| self.vector(i)).collect()
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

    /// A paragraph's dense score for a question (or any outside text) with unit vector
    /// `query`: `(1 − s)·cos(query, paragraph) + s·max cos(query, sentence)` with
    /// `s` = [`SENTENCE_WEIGHT`]; the plain cosine for a one-sentence paragraph. A question
    /// usually asks about one sentence of a paragraph, which the whole paragraph's vector
    /// dilutes.
    pub fn dense_score(&self, query: &[f32], row: usize) -> f32 {
        let whole = dot(query, self.vector(row));
        if self.sentence_ranges[row].is_empty() {
            return whole;
        }
        let best = self
            .units(row)
            .map(|u| dot(query, u))
            .fold(f32::MIN, f32::max);
        (1.0 - SENTENCE_WEIGHT) * whole + SENTENCE_WEIGHT * best
    }

    /// [`Index::dense_score`] of a `lang` text's unit vector `query` against paragraph `row`
    /// in another language, on centred vectors (see [`langspace`]); the plain score in a
    /// one-language corpus.
    pub fn dense_score_across(&self, query: &[f32], lang: &str, row: usize) -> f32 {
        let Some(space) = &self.space else {
            return self.dense_score(query, row);
        };
        let (pc, sc) = space.centroid(lang);
        let (q, qs) = (langspace::centre(query, pc), langspace::centre(query, sc));
        let whole = dot(&q, space.vector(row));
        let r = self.sentence_ranges[row].clone();
        if r.is_empty() {
            return whole;
        }
        let best = r
            .map(|s| dot(&qs, space.sentence(s)))
            .fold(f32::MIN, f32::max);
        (1.0 - SENTENCE_WEIGHT) * whole + SENTENCE_WEIGHT * best
    }

    /// The sentence of paragraph `row` closest to `query`, when the paragraph has sentence
    /// vectors (the sentence that most likely answers a question).
    pub fn best_sentence(&self, query: &[f32], row: usize) -> Option<&str> {
        if self.sentence_ranges[row].is_empty() {
            return None;
        }
        let scores: Vec<f32> = self.units(row).map(|u| dot(query, u)).collect();
        let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]))?;
        let units = sentence_units(&self.paragraphs[row].text);
        // The same split that produced the vectors (the format version pins it).
        (units.len() == scores.len()).then(|| units[best])
    }

    /// A pair of paragraphs' dense score: `(1 − s)·cos(a, b) + s·max cos(sentence of a,
    /// sentence of b)`, with `s` = `sentence_weight` (each side's units as in [`Index::units`]).
    ///
    /// Paragraphs in different languages are compared on their centred vectors
    /// ([`langspace`]), which takes each language's offset out of the cosine.
    pub fn pair_dense_score(&self, a: usize, b: usize, sentence_weight: f32) -> f32 {
        let d = self.dim();
        let space = self
            .space
            .as_ref()
            .filter(|_| self.langs[a] != self.langs[b]);
        let vector = |row: usize| space.map_or_else(|| self.vector(row), |sp| sp.vector(row));
        let sentence = |s: usize| {
            space.map_or_else(|| &self.sentences[s * d..(s + 1) * d], |sp| sp.sentence(s))
        };
        let whole = dot(vector(a), vector(b));
        if self.sentence_ranges[a].is_empty() && self.sentence_ranges[b].is_empty() {
            return whole;
        }
        let units = |row: usize| -> Vec<&[f32]> {
            let r = self.sentence_ranges[row].clone();
            if r.is_empty() {
                vec![vector(row)]
            } else {
                r.map(sentence).collect()
            }
        };
        let (ua, ub) = (units(a), units(b));
        let best = ua
            .iter()
            .flat_map(|u| ub.iter().map(move |v| dot(u, v)))
            .fold(f32::MIN, f32::max);
        (1.0 - sentence_weight) * whole + sentence_weight * best
    }

    /// The language of paragraph `row` (see [`crate::lang::detect`]).
    pub fn lang(&self, row: usize) -> &str {
        &self.langs[row]
    }

    /// Whether the paragraphs are in more than one language (then pairs across languages
    /// are scored on centred vectors).
    pub fn is_multilingual(&self) -> bool {
        self.space.is_some()
    }

    /// The nearest rows in *other* languages than `lang` to paragraph vector `vector`
    /// compared on centred vectors (an exact scan; empty for a one-language corpus): the
    /// candidates that plain cosine would rank below every same-language neighbour.
    pub fn cross_language_candidates(
        &self,
        vector: &[f32],
        lang: &str,
        n: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<usize> {
        let Some(space) = &self.space else {
            return Vec::new();
        };
        let query = langspace::centre(vector, space.centroid(lang).0);
        let other = |r: usize| self.langs[r] != lang && allow.is_none_or(|f| f(r));
        ann::exact_search(&space.rows(), &query, n, Some(&other))
            .into_iter()
            .map(|h| h.row)
            .collect()
    }

    /// Rows worth scoring for `query`: the `n` nearest paragraphs and, `with_sentences`, the
    /// paragraphs of the `n` nearest sentences (an exact scan: for one question it costs
    /// less than embedding the question), sorted by row.
    pub fn dense_candidates(
        &self,
        query: &[f32],
        n: usize,
        with_sentences: bool,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<usize> {
        let d = self.dim();
        let sentences: Vec<&[f32]> = self.sentences.chunks_exact(d).collect();
        let owner_allowed = |s: usize| allow.is_none_or(|f| f(self.sentence_owner[s]));
        let by_sentence = if with_sentences {
            ann::exact_search(&sentences, query, n, Some(&owner_allowed))
        } else {
            Vec::new()
        };
        let mut rows: Vec<usize> = self
            .search(query, n, allow)
            .iter()
            .map(|h| h.row)
            .chain(by_sentence.iter().map(|h| self.sentence_owner[h.row]))
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows
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
            .filter(|r| r.title.contains(needle) || r.id.contains(needle))
            .map(|r| r.id.clone())
            .collect()
    }

    pub fn doc_of(&self, row: usize) -> &DocRecord {
        &self.documents[self.doc_rows[&self.paragraphs[row].doc_id]]
    }

    /// Nearest rows, best first, optionally restricted: through the HNSW graph where it is
    /// cheaper than an exact scan at its calibrated breadth, else by the exact scan.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        if self.ann.graph_pays() {
            self.ann.search(query, k, allow)
        } else {
            self.search_exact(query, k, allow)
        }
    }

    /// Nearest rows through the HNSW graph, whatever it costs (for recall measurements).
    pub fn search_graph(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        self.ann.search(query, k, allow)
    }

    /// The HNSW graph's calibrated search breadth and whether searches use it.
    pub fn graph_use(&self) -> (usize, bool) {
        (self.ann.ef(), self.ann.graph_pays())
    }

    /// Rows answering a question, best first, by `mode`: `Dense` ([`Index::dense_score`] of
    /// the dense candidates), `Lexical` (BM25, scores normalised to the best hit), or
    /// `Hybrid`: the union of both candidate lists re-scored as
    /// `(1 - w)·dense + w·bm25/bm25_ideal` with `w` = `weight`,
    /// where `bm25_ideal` is what a paragraph matching every query term once would score
    /// (so a lone common term — a year, a number — adds little).
    pub fn query(
        &self,
        vector: &[f32],
        text: &str,
        k: usize,
        mode: Mode,
        weight: f32,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        match mode {
            Mode::Dense => {
                let lang = crate::lang::detect(text);
                let norm = self.question_norm(vector, lang);
                let mut rows = self.dense_candidates(vector, (4 * k).max(50), true, allow);
                rows.extend(self.cross_language_candidates(vector, lang, (4 * k).max(50), allow));
                rows.sort_unstable();
                rows.dedup();
                let mut hits: Vec<Hit> = rows
                    .into_iter()
                    .map(|row| Hit {
                        row,
                        score: self.question_dense(vector, lang, row, &norm),
                    })
                    .collect();
                hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
                hits.truncate(k);
                hits
            }
            Mode::Lexical => {
                let hits = self.lexical.search(text, k, allow);
                let max = hits.first().map_or(1.0, |h| h.1.max(f32::MIN_POSITIVE));
                hits.into_iter()
                    .map(|(row, s)| Hit {
                        row,
                        score: s / max,
                    })
                    .collect()
            }
            Mode::Hybrid => {
                let lang = crate::lang::detect(text);
                let norm = self.question_norm(vector, lang);
                let (mut rows, lex) =
                    self.hybrid_candidates(vector, text, (4 * k).max(50), true, allow);
                let across = if self.is_multilingual() {
                    self.lexical_scores_across(text)
                } else {
                    HashMap::new()
                };
                rows.extend(self.cross_language_candidates(vector, lang, (4 * k).max(50), allow));
                rows.sort_unstable();
                rows.dedup();
                let mut hits: Vec<Hit> = rows
                    .into_iter()
                    .map(|row| {
                        // Across languages only identifiers and numbers can be shared.
                        let map = if self.langs[row] == lang || !self.is_multilingual() {
                            &lex
                        } else {
                            &across
                        };
                        let l = map.get(&row).copied().unwrap_or(0.0);
                        Hit {
                            row,
                            score: (1.0 - weight) * self.question_dense(vector, lang, row, &norm)
                                + weight * l,
                        }
                    })
                    .collect();
                hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
                hits.truncate(k);
                hits
            }
        }
    }

    /// Per target language, the mean and sd of a question's paragraph scores (plain within
    /// its language, centred across), and the reference they are mapped onto: the
    /// question's own language's, else the largest language's. `None` for a one-language
    /// corpus. Makes an answer in another language rank with, not below, one in the
    /// question's language (see `link::PairNorm` for the same idea on links).
    fn question_norm(&self, vector: &[f32], lang: &str) -> QuestionNorm<'_> {
        let space = self.space.as_ref()?;
        let centred = langspace::centre(vector, space.centroid(lang).0);
        let mut acc: HashMap<&str, (f64, f64, usize)> = HashMap::new();
        for r in 0..self.len() {
            let s = if self.langs[r] == lang {
                dot(vector, self.vector(r))
            } else {
                dot(&centred, space.vector(r))
            } as f64;
            let e = acc.entry(self.langs[r].as_str()).or_default();
            e.0 += s;
            e.1 += s * s;
            e.2 += 1;
        }
        let stats: HashMap<&str, (f32, f32)> = acc
            .iter()
            .map(|(l, &(s, ss, n))| {
                let mean = s / n as f64;
                (
                    *l,
                    (
                        mean as f32,
                        (ss / n as f64 - mean * mean).max(0.0).sqrt() as f32,
                    ),
                )
            })
            .collect();
        let reference = stats.get(lang).copied().or_else(|| {
            acc.iter()
                .max_by_key(|(l, e)| (e.2, **l))
                .map(|(l, _)| stats[l])
        })?;
        Some((stats, reference))
    }

    /// A question's dense score for `row`: [`Index::dense_score`] in its own language,
    /// [`Index::dense_score_across`] in another, mapped by `norm` (see
    /// [`Index::question_norm`]).
    fn question_dense(&self, vector: &[f32], lang: &str, row: usize, norm: &QuestionNorm) -> f32 {
        let Some((stats, reference)) = norm else {
            return self.dense_score(vector, row);
        };
        let target = self.langs[row].as_str();
        let s = if target == lang {
            self.dense_score(vector, row)
        } else {
            self.dense_score_across(vector, lang, row)
        };
        match stats.get(target) {
            Some(&(mean, sd)) if sd > 1e-6 => reference.0 + reference.1 * (s - mean) / sd,
            _ => s,
        }
    }

    /// BM25 scores of the rows sharing terms with `text`, divided by the ideal score of
    /// `text` (see [`Index::query`]) and capped at 1.
    pub fn lexical_scores(&self, text: &str) -> HashMap<usize, f32> {
        let terms = Lexical::terms(text, false);
        self.normalised_scores(&terms, self.lexical.ideal_of(&terms))
    }

    /// [`Index::lexical_scores`] over the terms that text in another script can share:
    /// Latin words, identifiers and numbers (option names and figures survive translation;
    /// CJK bigrams never match English text). Empty when `text` has none.
    ///
    /// Scores are divided by the ideal score of *all* of the text's terms, so an identifier
    /// that a Chinese paragraph shares with an English one counts for its share of the
    /// paragraph, not as a full match.
    pub fn lexical_scores_across(&self, text: &str) -> HashMap<usize, f32> {
        let ideal = self.lexical.ideal_of(&Lexical::terms(text, false));
        self.normalised_scores(&Lexical::terms(text, true), ideal)
    }

    fn normalised_scores(&self, terms: &[String], ideal: f32) -> HashMap<usize, f32> {
        let ideal = ideal.max(f32::MIN_POSITIVE);
        self.lexical
            .scores_of(terms)
            .into_iter()
            .map(|(r, s)| (r, (s / ideal).min(1.0)))
            .collect()
    }

    /// Candidates for hybrid ranking (questions and links alike): the dense candidates
    /// ([`Index::dense_candidates`]) and the `n` best lexical rows that `allow` admits, sorted by row, with the
    /// normalised lexical scores of every row sharing a term with `text`.
    pub fn hybrid_candidates(
        &self,
        vector: &[f32],
        text: &str,
        n: usize,
        with_sentences: bool,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> (Vec<usize>, HashMap<usize, f32>) {
        let lex = self.lexical_scores(text);
        let mut lex_rows: Vec<(usize, f32)> = lex
            .iter()
            .filter(|(r, _)| allow.is_none_or(|f| f(**r)))
            .map(|(r, s)| (*r, *s))
            .collect();
        lex_rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut rows = self.dense_candidates(vector, n, with_sentences, allow);
        rows.extend(lex_rows.iter().take(n).map(|x| x.0));
        rows.sort_unstable();
        rows.dedup();
        (rows, lex)
    }

    /// Whether a question is likely answered by this corpus, as a margin: the best cosine
    /// minus the threshold for the question's language relation to the corpus (positive:
    /// in corpus). Cross-lingual scores run about 0.1 lower than same-language ones with e5,
    /// so a question written mostly in the corpus's script (CJK or not) is held to
    /// [`SAME_LANGUAGE_MIN`], any other to [`CROSS_LANGUAGE_MIN`]. Both were calibrated with
    /// `xref eval` on the seed's gold set, where they separate every out-of-corpus question.
    pub fn confidence(&self, vector: &[f32], question: &str) -> f32 {
        let top = (0..self.len())
            .map(|r| dot(vector, self.vector(r)))
            .fold(f32::MIN, f32::max);
        let same = (cjk_ratio(question) >= 0.5) == (self.cjk_ratio >= 0.5);
        top - if same {
            SAME_LANGUAGE_MIN
        } else {
            CROSS_LANGUAGE_MIN
        }
    }

    /// Exact nearest rows (brute force): the reference for recall.
    pub fn search_exact(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        ann::exact_search(&self.vectors(), query, k, allow)
    }

    /// Bring the index under `root` in line with `corpus` (ingested from `given` paths).
    pub fn update(
        root: &Path,
        corpus: &Corpus,
        given: &[PathBuf],
        embedder: &Embedder,
        rebuild: bool,
    ) -> Result<UpdateReport> {
        let lock = WriteLock::acquire(root)?;
        // An index of another format version is rebuilt (its vectors cannot be reused).
        let outdated = store::current_generation(root)?
            .and_then(|(dir, _)| stored_version(&dir))
            .filter(|&v| v != VERSION as u64);
        let old = if rebuild || outdated.is_some() {
            None
        } else {
            Self::open_if_exists(root)?
        };
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
        if let Some(old) = &old {
            for f in &old.manifest.files {
                if sources.iter().any(|(s, _)| s.canonical == f.canonical) {
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

        // Assemble documents, paragraphs and vectors; embed only text not seen before.
        let old_vectors: HashMap<&str, usize> = old
            .iter()
            .flat_map(|o| {
                o.paragraphs
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p.text.as_str(), i))
            })
            .collect();
        let mut documents = Vec::new();
        let mut paragraphs: Vec<Paragraph> = Vec::new();
        let mut files = Vec::new();
        if let Some(old) = &old {
            for f in &kept_old_files {
                for d in old.documents.iter().filter(|d| d.source == f.path) {
                    documents.push(d.clone());
                    paragraphs.extend(old.paragraphs.iter().filter(|p| p.doc_id == d.id).cloned());
                }
                files.push(f.clone());
            }
        }
        for (entry, docs) in sources {
            for d in docs {
                documents.push(DocRecord {
                    id: d.id.clone(),
                    title: d.title.clone(),
                    source: d.source.clone(),
                    line_start: d.line_start,
                    line_end: d.line_end,
                    paragraphs: d.paragraphs.len(),
                });
                paragraphs.extend(d.paragraphs.iter().cloned());
            }
            files.push(entry);
        }
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
                    vectors[i * dim..(i + 1) * dim].copy_from_slice(o.vector(j));
                    let r = &o.sentence_ranges[j];
                    sentences[i] = o.sentences[r.start * dim..r.end * dim].to_vec();
                    report.reused += 1;
                }
                _ => todo.push(i),
            }
        }
        report.embedded = todo.len();
        report.documents = documents.len();
        report.paragraphs = paragraphs.len();
        let nothing_changed = old.as_ref().is_some_and(|o| {
            todo.is_empty()
                && report.files_removed == 0
                && o.manifest.files == files
                && o.paragraphs == paragraphs
        });
        if nothing_changed {
            return Ok(report);
        }
        if !todo.is_empty() {
            // Each new paragraph, then its sentences, in one run of the encoder.
            let mut texts: Vec<&str> = Vec::new();
            let mut spans = Vec::with_capacity(todo.len());
            for &i in &todo {
                let start = texts.len();
                texts.push(paragraphs[i].text.as_str());
                texts.extend(sentence_units(&paragraphs[i].text));
                spans.push(start..texts.len());
            }
            let embedded = embedder.embed(&texts, Prefix::Passage)?;
            for (&i, span) in todo.iter().zip(spans) {
                vectors[i * dim..(i + 1) * dim].copy_from_slice(&embedded[span.start].vector);
                sentences[i] = embedded[span.start + 1..span.end]
                    .iter()
                    .flat_map(|e| e.vector.iter().copied())
                    .collect();
            }
        }
        drop(old);

        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            model: stamp,
            files,
            documents: documents.len(),
            paragraphs: paragraphs.len(),
            checksums: BTreeMap::new(),
            ef_search: None,
        };
        write_generation(
            root,
            &lock,
            manifest,
            &documents,
            &paragraphs,
            &vectors,
            &sentences,
        )?;
        report.written = true;
        Ok(report)
    }
}

fn write_generation(
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
    write_jsonl(&dir.join("paragraphs.jsonl"), paragraphs)?;
    let bytes: Vec<u8> = vectors.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.join("vectors.f32"), &bytes)?;
    let rows: Vec<&[f32]> = vectors.chunks_exact(manifest.model.dim).collect();
    let ann = Ann::build(&rows);
    let texts: Vec<&str> = paragraphs.iter().map(|p| p.text.as_str()).collect();
    std::fs::write(
        dir.join("lexical.json"),
        serde_json::to_vec(&Lexical::build(&texts))?,
    )?;
    let langs: Vec<&str> = texts.iter().map(|t| crate::lang::detect(t)).collect();
    std::fs::write(dir.join("languages.json"), serde_json::to_vec(&langs)?)?;
    let mut names = vec![
        "documents.jsonl".to_string(),
        "paragraphs.jsonl".into(),
        "lexical.json".into(),
        "languages.json".into(),
    ];
    manifest
        .checksums
        .insert("vectors.f32".into(), sha256_bytes(&bytes));
    let dim = manifest.model.dim;
    let counts: Vec<u8> = sentences
        .iter()
        .flat_map(|s| ((s.len() / dim) as u32).to_le_bytes())
        .collect();
    let sbytes: Vec<u8> = sentences
        .iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    std::fs::write(dir.join("sentences.u32"), &counts)?;
    std::fs::write(dir.join("sentences.f32"), &sbytes)?;
    manifest
        .checksums
        .insert("sentences.u32".into(), sha256_bytes(&counts));
    manifest
        .checksums
        .insert("sentences.f32".into(), sha256_bytes(&sbytes));
    names.extend(ann.dump(&dir)?);
    manifest.ef_search = Some(ann.ef());
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

/// The format version in a generation's manifest, if it is an xref manifest at all.
fn stored_version(dir: &Path) -> Option<u64> {
    let head: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).ok()?).ok()?;
    (head.get("format")?.as_str()? == FORMAT).then(|| head.get("version")?.as_u64())?
}

fn write_jsonl<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut w = BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for r in rows {
        serde_json::to_writer(&mut w, r)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let f = std::fs::File::open(path).with_context(|| format!("opening {name}"))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("reading {name}"))?;
        out.push(serde_json::from_str(&line).with_context(|| format!("{name} line {}", i + 1))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentence_units_need_two_real_sentences() {
        assert_eq!(
            sentence_units("要坚持把金融服务实体经济作为根本宗旨。深化金融供给侧结构性改革！好。"),
            vec![
                "要坚持把金融服务实体经济作为根本宗旨。",
                "深化金融供给侧结构性改革！"
            ]
        );
        assert_eq!(
            sentence_units("GDP grew 5.3% last year. Exports rose by 7.1% as well."),
            vec!["GDP grew 5.3% last year.", "Exports rose by 7.1% as well."]
        );
        // One sentence (plus a fragment too short to stand alone) gets no sentence vectors.
        assert!(sentence_units("会议还研究了其他事项。好。").is_empty());
        assert!(sentence_units("A single sentence without a full stop").is_empty());
    }

    #[test]
    fn sentence_layout_maps_both_ways() {
        let (ranges, owner) = sentence_layout(&[0, 2, 0, 3]);
        assert_eq!(ranges, vec![0..0, 0..2, 2..2, 2..5]);
        assert_eq!(owner, vec![1, 1, 3, 3, 3]);
    }
}
