//! Dense scores that are comparable across languages.
//!
//! A multilingual encoder puts every text of one language near a common offset: plain
//! cosine prefers a same-language neighbour to the translation of the same passage
//! (measured on a bilingual manual-page corpus, `xref eval --pairs`: a Chinese paragraph's
//! own English original ranked first for 5 % of paragraphs). Removing each language's mean
//! vector (its centroid in this corpus) and renormalising takes that offset out, so
//! pairs in *different* languages are compared on centred vectors (ranked first: 5 % →
//! 69 % on that corpus; with the link score's per-language-pair calibration, see
//! `link::LinkState`, 93 %). Pairs in the *same* language keep the plain vectors: centring a
//! one-language corpus by its own mean measured worse on the seed's gold links (recall@5
//! 0.77 → 0.67), since it also removes the corpus's shared topic.
//!
//! Built when an index is opened, from the stored vectors and languages; nothing extra is
//! stored. The centred vectors are kept as 8-bit rows like the stored ones ([`Rows`]): as
//! f32 they were 1.5 KB a paragraph and sentence (320 MB at 100,000 paragraphs); as bytes,
//! translation-link recall on the man pages and the kernel docs moved by at most 0.001
//! (one paragraph in a thousand either way) and the kernel docs' `crossref` peak memory
//! fell 76 → 57 MB. Languages with fewer than [`MIN_GROUP`] paragraphs are centred by the mean of
//! the whole corpus (their own mean would be noise). A corpus counts as multilingual when
//! it has two or more languages other than `und` (no letters).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::Result;

use super::ann::{self, Ann, Hit};
use super::codec::Rows;
use crate::embed::dot;

/// Paragraphs a language needs for its own centroid.
pub const MIN_GROUP: usize = 10;

/// Paragraphs a language needs for a graph of its own over its centred vectors: below, a
/// search for its rows nearest a paragraph of another language scans them.
pub const GRAPH_POINTS: usize = 10_000;

/// Centred copies of an index's vectors, present only in a corpus of two or more languages.
pub struct LangSpace {
    /// Language code → (paragraph centroid, sentence centroid).
    centroids: Vec<(String, Vec<f32>, Vec<f32>)>,
    fallback: (Vec<f32>, Vec<f32>),
    /// The centred paragraph and sentence vectors, as 8-bit rows ([`Rows`]) like the
    /// stored ones.
    vectors: Arc<Rows>,
    sentences: Rows,
    /// Per language with [`GRAPH_POINTS`] paragraphs or more, an HNSW graph over its
    /// centred paragraph vectors (see [`LangSpace::nearest_not_in`]).
    graphs: Vec<(String, Ann)>,
    /// The rows of each language, ascending.
    members: Vec<(String, Vec<usize>)>,
    /// The stored (plain) paragraph vectors, for [`LangSpace::background`].
    plain: Arc<Rows>,
    /// Per source language (with [`MIN_GROUP`] paragraphs or more), the mean and standard
    /// deviation of its paragraphs' cosines with each language's, sampled on first use
    /// (questions need it; links and updates do not).
    background: OnceLock<Vec<(String, Background)>>,
}

/// Per target language, the (mean, standard deviation) of cosines from one source language.
type Background = Vec<(String, f32, f32)>;

/// Paragraphs of each language sampled as sources for [`LangSpace::background`], and
/// paragraphs of the whole corpus as their targets (evenly spaced, every language in its
/// share).
const BACKGROUND_SOURCES: usize = 100;
const BACKGROUND_TARGETS: usize = 2000;

/// The mean of `rows` (accumulated in f64), not normalised; `None` for no rows.
pub fn mean(rows: impl Iterator<Item = Vec<f32>>, dim: usize) -> Option<Vec<f32>> {
    let mut acc = vec![0f64; dim];
    let mut n = 0usize;
    for r in rows {
        for (a, x) in acc.iter_mut().zip(r) {
            *a += x as f64;
        }
        n += 1;
    }
    (n > 0).then(|| acc.iter().map(|a| (*a / n as f64) as f32).collect())
}

/// Each of `rows` centred on `centroid(row)`, as 8-bit rows: no f32 copy of either.
fn centred<'c>(rows: &Rows, centroid: impl Fn(usize) -> &'c [f32]) -> Rows {
    let centred = (0..rows.len()).map(|r| centre(&rows.decode(r), centroid(r)));
    Rows::encode(centred, rows.dim())
}

/// `v − c`, normalised to unit length (left as is when it would vanish).
pub fn centre(v: &[f32], c: &[f32]) -> Vec<f32> {
    let mut out: Vec<f32> = v.iter().zip(c).map(|(a, b)| a - b).collect();
    let norm = dot(&out, &out).sqrt();
    if norm > 1e-6 {
        out.iter_mut().for_each(|x| *x /= norm);
        out
    } else {
        v.to_vec()
    }
}

impl LangSpace {
    /// `None` unless the paragraphs are in two or more languages.
    pub fn build(
        langs: &[String],
        vectors: &Arc<Rows>,
        sentences: &Rows,
        sentence_owner: &[usize],
    ) -> Option<Self> {
        let mut codes: Vec<&str> = langs.iter().map(|s| s.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        // Paragraphs without letters ("und": figures, code, tables of numbers) do not make a
        // corpus multilingual: 49 of the 100,000 paragraphs of the Python and PostgreSQL
        // manuals turned on all of this (centred copies, pair sampling, cross-language scans)
        // for an English corpus.
        // Nor do fewer than MIN_GROUP paragraphs of a language (a quotation, a misdetected
        // line): two of 3,534 Debian package descriptions detected as Spanish made every
        // question on that English corpus cross-lingual (MRR@10 of 100 questions in four
        // languages 0.439; 0.510 without, benches/questions).
        let groups = codes
            .iter()
            .filter(|&&c| {
                c != "und" && langs.iter().filter(|l| l.as_str() == c).count() >= MIN_GROUP
            })
            .count();
        if groups < 2 {
            return None;
        }
        let dim = vectors.dim();
        // Rows are decoded as they are needed: no f32 copy of the stored vectors.
        let paragraphs = || (0..vectors.len()).map(|r| (r, vectors.decode(r)));
        let sentence_rows = || (0..sentences.len()).map(|s| (s, sentences.decode(s)));
        let fallback = (
            mean(paragraphs().map(|(_, v)| v), dim)?,
            mean(sentence_rows().map(|(_, v)| v), dim).unwrap_or_else(|| vec![0.0; dim]),
        );
        let centroids: Vec<(String, Vec<f32>, Vec<f32>)> = codes
            .iter()
            .map(|&code| {
                let members = langs.iter().filter(|l| l.as_str() == code).count();
                if members < MIN_GROUP {
                    return (code.to_string(), fallback.0.clone(), fallback.1.clone());
                }
                let p = mean(
                    (0..vectors.len())
                        .filter(|&r| langs[r] == code)
                        .map(|r| vectors.decode(r)),
                    dim,
                )
                .unwrap();
                let s = mean(
                    (0..sentences.len())
                        .filter(|&s| langs[sentence_owner[s]] == code)
                        .map(|s| sentences.decode(s)),
                    dim,
                )
                .unwrap_or_else(|| fallback.1.clone());
                (code.to_string(), p, s)
            })
            .collect();
        let mut space = Self {
            centroids,
            fallback,
            vectors: Arc::default(),
            sentences: Rows::default(),
            graphs: Vec::new(),
            members: codes
                .iter()
                .map(|&code| {
                    let rows = (0..langs.len()).filter(|&r| langs[r] == code).collect();
                    (code.to_string(), rows)
                })
                .collect(),
            plain: vectors.clone(),
            background: OnceLock::new(),
        };
        let paragraphs = centred(vectors, |r| space.centroid(&langs[r]).0);
        let sentences = centred(sentences, |s| space.centroid(&langs[sentence_owner[s]]).1);
        (space.vectors, space.sentences) = (Arc::new(paragraphs), sentences);
        Some(space)
    }

    /// Build the graph of every language with `min_points` paragraphs or more (at least
    /// [`MIN_GROUP`]; [`GRAPH_POINTS`] when an index is written).
    pub fn build_graphs(&mut self, min_points: usize) {
        self.graphs = self
            .members
            .iter()
            .filter(|(code, rows)| rows.len() >= min_points.max(MIN_GROUP) && file_safe(code))
            .map(|(code, rows)| {
                let ann = Ann::build_over(
                    self.vectors.clone(),
                    rows.clone(),
                    ann::MAX_CONNECTIONS,
                    ann::EF_CONSTRUCTION,
                    false,
                );
                (code.clone(), ann)
            })
            .collect();
    }

    /// Write the languages' graphs into `dir`: the files written, and each language's
    /// calibrated breadth (for the manifest).
    pub fn dump_graphs(&self, dir: &Path) -> Result<(Vec<String>, BTreeMap<String, usize>)> {
        let mut files = Vec::new();
        let mut breadths = BTreeMap::new();
        for (code, ann) in &self.graphs {
            files.extend(ann.dump_as(dir, &graph_file(code))?);
            breadths.insert(code.clone(), ann.ef());
        }
        Ok((files, breadths))
    }

    /// Load the graphs [`LangSpace::dump_graphs`] wrote (`breadths`: language → breadth).
    pub fn load_graphs(&mut self, dir: &Path, breadths: &BTreeMap<String, usize>) -> Result<()> {
        for (code, &ef) in breadths {
            let Some((_, rows)) = self.members.iter().find(|(c, _)| c == code) else {
                anyhow::bail!("a graph for language {code:?}, which no paragraph is in");
            };
            if !file_safe(code) {
                anyhow::bail!("a graph for language {code:?}");
            }
            let path = dir.join(graph_file(code));
            let ann = Ann::load_over(&path, self.vectors.clone(), rows.clone(), Some(ef))?;
            self.graphs.push((code.clone(), ann));
        }
        Ok(())
    }

    /// The `n` rows nearest centred vector `query` among the paragraphs of every language
    /// but `lang` that `allow` admits, best first (ties: lower row first): through each
    /// language's graph where it has one and it pays (see [`Ann::graph_pays`]), else by an
    /// exact scan.
    pub fn nearest_not_in(
        &self,
        lang: &str,
        query: &[f32],
        n: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        let (graphs, scanned) = self.others(lang, n);
        let mut hits: Vec<Hit> = graphs
            .into_iter()
            .flat_map(|graph| graph.search(query, n, allow))
            .collect();
        let rows = scanned.into_iter().filter(|&r| allow.is_none_or(|f| f(r)));
        hits.extend(ann::exact_search_rows(
            rows,
            |r| self.vectors.dot(r, query),
            n,
        ));
        ann::top_hits(hits, n)
    }

    /// The languages other than `lang`, as a search for `n` of their rows takes them: the
    /// graphs that pay at that breadth, and the rows of the other languages, to scan.
    pub fn others<'a>(&'a self, lang: &str, n: usize) -> (Vec<&'a Ann>, Vec<usize>) {
        let (mut graphs, mut scanned) = (Vec::new(), Vec::new());
        for (code, rows) in self.members.iter().filter(|(code, _)| code != lang) {
            match self.graphs.iter().find(|(c, _)| c == code) {
                Some((_, graph)) if graph.graph_pays(n) => graphs.push(graph),
                _ => scanned.extend_from_slice(rows),
            }
        }
        (graphs, scanned)
    }

    /// See [`LangSpace::background`]: sampled once, on first use (at most
    /// [`BACKGROUND_SOURCES`] × [`BACKGROUND_TARGETS`] byte products per language).
    fn sample_background(&self) -> Vec<(String, Background)> {
        use rayon::prelude::*;
        let plain = &*self.plain;
        let step = (plain.len() / BACKGROUND_TARGETS).max(1);
        let targets: Vec<(&str, Vec<usize>)> = self
            .members
            .iter()
            .map(|(code, rows)| (code.as_str(), rows.iter().step_by(step).copied().collect()))
            .collect();
        self.members
            .par_iter()
            .filter(|(_, rows)| rows.len() >= MIN_GROUP)
            .map(|(from, rows)| {
                let sources: Vec<usize> = rows
                    .iter()
                    .step_by((rows.len() / BACKGROUND_SOURCES).max(1))
                    .copied()
                    .collect();
                let stats = targets
                    .iter()
                    .filter(|(_, t)| !t.is_empty())
                    .map(|(to, t)| {
                        let (mut sum, mut squares, mut n) = (0f64, 0f64, 0usize);
                        for &a in &sources {
                            for &b in t.iter().filter(|&&b| b != a) {
                                let s = if to == from {
                                    plain.pair(a, plain, b)
                                } else {
                                    self.vectors.pair(a, &self.vectors, b)
                                } as f64;
                                (sum, squares, n) = (sum + s, squares + s * s, n + 1);
                            }
                        }
                        let mean = sum / n.max(1) as f64;
                        let sd = (squares / n.max(1) as f64 - mean * mean).max(0.0).sqrt();
                        (to.to_string(), mean as f32, sd as f32)
                    })
                    .collect();
                (from.clone(), stats)
            })
            .collect()
    }

    /// How the cosines from a paragraph in `from` to the corpus's paragraphs of `to` are
    /// distributed — plain vectors within a language, centred ones across — as (mean,
    /// standard deviation), sampled from the corpus; `None` when `from` has fewer than
    /// [`MIN_GROUP`] paragraphs or `to` none.
    pub fn background(&self, from: &str, to: &str) -> Option<(f32, f32)> {
        let background = self.background.get_or_init(|| self.sample_background());
        let (_, stats) = background.iter().find(|(code, _)| code == from)?;
        stats
            .iter()
            .find(|(code, ..)| code == to)
            .map(|&(_, mean, sd)| (mean, sd))
    }

    /// The (paragraph, sentence) centroids of a language; the corpus mean for a language
    /// this corpus lacks.
    pub fn centroid(&self, lang: &str) -> (&[f32], &[f32]) {
        match self.centroids.iter().find(|c| c.0 == lang) {
            Some(c) => (&c.1, &c.2),
            None => (&self.fallback.0, &self.fallback.1),
        }
    }

    /// Of this corpus's Latin-script languages with a centroid of their own, the one whose
    /// paragraph centroid is nearest `vector`: what a text too short for its words to tell
    /// ([`crate::text::lang::Detected::Latin`]) is taken to be in.
    pub fn nearest_latin(&self, vector: &[f32]) -> Option<&str> {
        self.centroids
            .iter()
            .filter(|c| crate::text::lang::is_latin(&c.0))
            .filter(|c| {
                self.members
                    .iter()
                    .any(|m| m.0 == c.0 && m.1.len() >= MIN_GROUP)
            })
            .map(|c| (c.0.as_str(), dot(vector, &c.1)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|c| c.0)
    }

    /// The centred paragraph vectors, row by row.
    pub fn rows(&self) -> &Rows {
        &self.vectors
    }

    /// The centred sentence vectors (numbered as the index's).
    pub fn sentence_rows(&self) -> &Rows {
        &self.sentences
    }

    /// The languages with at least [`MIN_GROUP`] paragraphs (not "und"), in code order:
    /// those a passage can have a translation in.
    pub fn languages(&self) -> impl Iterator<Item = &str> + '_ {
        self.members
            .iter()
            .filter(|(code, rows)| code != "und" && rows.len() >= MIN_GROUP)
            .map(|(code, _)| code.as_str())
    }

    /// The rows of every language but `lang`, ascending within each language.
    pub fn rows_not_in<'a>(&'a self, lang: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.members
            .iter()
            .filter(move |(code, _)| code != lang)
            .flat_map(|(_, rows)| rows.iter().copied())
    }
}

/// A language's graph file in a generation.
fn graph_file(code: &str) -> String {
    format!("graph-{code}.u32")
}

/// Whether language code `code` can name a file (ASCII letters, digits, `-`, `_`).
fn file_safe(code: &str) -> bool {
    !code.is_empty()
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_language_needs_no_space() {
        let langs = vec!["zh".to_string(); 3];
        let vectors = Arc::new(Rows::encode([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], 2));
        let none = Rows::encode(Vec::<Vec<f32>>::new(), 2);
        assert!(LangSpace::build(&langs, &vectors, &none, &[]).is_none());
        // Paragraphs without letters do not make a second language.
        let langs = ["en", "und", "en"].map(String::from);
        assert!(LangSpace::build(&langs, &vectors, &none, &[]).is_none());
        // Nor do a few paragraphs detected as another language (a quotation, a name, a
        // misdetected line): a language needs a group of its own.
        let lang_rows =
            |langs: &[&str]| -> Vec<String> { langs.iter().map(|l| l.to_string()).collect() };
        let mixed = |en: usize, zh: usize| {
            let mut langs = vec!["en"; en];
            langs.extend(vec!["zh"; zh]);
            langs.push("und");
            let langs = lang_rows(&langs);
            let vectors = Arc::new(Rows::encode(
                (0..langs.len()).map(|i| [(i as f32).cos(), (i as f32).sin()]),
                2,
            ));
            LangSpace::build(&langs, &vectors, &none, &[])
        };
        assert!(mixed(3 * MIN_GROUP, MIN_GROUP - 1).is_none());
        let space = mixed(MIN_GROUP, MIN_GROUP).unwrap();
        let mut others: Vec<usize> = space.rows_not_in("en").collect();
        others.sort_unstable();
        assert_eq!(others, (MIN_GROUP..=2 * MIN_GROUP).collect::<Vec<_>>());
        assert_eq!(space.languages().collect::<Vec<_>>(), ["en", "zh"]);
    }

    #[test]
    fn centring_removes_the_language_offset() {
        // Two languages, each with its own offset along the second axis; the first axis is
        // the meaning. Centred, a translation pair becomes identical.
        let dim = 2;
        let mut langs = Vec::new();
        let mut vectors = Vec::new();
        for (lang, offset) in [("zh", 0.9f32), ("en", -0.9)] {
            for i in 0..MIN_GROUP {
                let meaning = if i % 2 == 0 { 0.4 } else { -0.4 };
                let n = (meaning * meaning + offset * offset).sqrt();
                vectors.extend([meaning / n, offset / n]);
                langs.push(lang.to_string());
            }
        }
        let vectors = Arc::new(Rows::encode(vectors.chunks_exact(dim), dim));
        let none = Rows::encode(Vec::<Vec<f32>>::new(), dim);
        let space = LangSpace::build(&langs, &vectors, &none, &[]).unwrap();
        let (zh0, en0, en1) = (
            space.rows().decode(0),
            space.rows().decode(MIN_GROUP),
            space.rows().decode(MIN_GROUP + 1),
        );
        assert!(
            dot(&zh0, &en0) > 0.999,
            "translation pair: {}",
            dot(&zh0, &en0)
        );
        assert!(dot(&zh0, &en1) < -0.999);
        // Plain vectors: the zh paragraph is closer to the other zh meaning than to its translation.
        assert!(vectors.pair(0, &vectors, 1) > vectors.pair(0, &vectors, MIN_GROUP));
        // The background: plain cosines within zh are all high (the offset is shared),
        // centred ones across are +1 for a meaning and −1 for the other, 0 on average.
        let (within, _) = space.background("zh", "zh").unwrap();
        let (across, spread) = space.background("zh", "en").unwrap();
        assert!(within > 0.7, "{within}");
        assert!(across.abs() < 0.05 && spread > 0.95, "{across} {spread}");
        assert!(space.background("fr", "en").is_none());
    }

    /// Each language's graph over its centred vectors answers a search for the rows
    /// nearest a paragraph of another language as the exact scan does, returns only
    /// other-language rows, and loads back from the files it was dumped to; a graph for a
    /// language the corpus lacks is an error.
    #[test]
    fn language_graphs_find_what_the_scan_finds() {
        let (dim, per) = (24, 1200);
        let mut u = ann::random_uniform(0x2545_F491_4F6C_DD1D);
        let (mut langs, mut vectors) = (Vec::new(), Vec::new());
        for (lang, offset) in [("zh", 0.8f32), ("en", -0.8)] {
            for _ in 0..per {
                let mut v: Vec<f32> = (0..dim).map(|_| u()).collect();
                v[0] += offset;
                crate::embed::normalize(&mut v);
                vectors.push(v);
                langs.push(lang.to_string());
            }
        }
        let rows = Arc::new(Rows::encode(&vectors, dim));
        let none = Rows::encode(Vec::<Vec<f32>>::new(), dim);
        let mut space = LangSpace::build(&langs, &rows, &none, &[]).unwrap();
        space.build_graphs(1000);
        let dir = std::env::temp_dir().join(format!("xref-langgraphs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (files, breadths) = space.dump_graphs(&dir).unwrap();
        assert_eq!(files, ["graph-en.u32", "graph-zh.u32"]);
        let mut loaded = LangSpace::build(&langs, &rows, &none, &[]).unwrap();
        loaded.load_graphs(&dir, &breadths).unwrap();
        let (mut found, mut total) = (0, 0);
        for r in (0..2 * per).step_by(37) {
            let lang = langs[r].as_str();
            let q = centre(&vectors[r], space.centroid(lang).0);
            let odd = |x: usize| x % 2 == 1;
            let rows = space.rows_not_in(lang).filter(|&x| odd(x));
            let exact = ann::exact_search_rows(rows, |x| space.rows().dot(x, &q), 5);
            // Searched through the graph whatever it costs, as a larger corpus would.
            let (_, graph) = space.graphs.iter().find(|(c, _)| c != lang).unwrap();
            let hits = graph.search_ef(&q, 5, 300, Some(&odd));
            assert!(hits.iter().all(|h| langs[h.row] != lang && odd(h.row)));
            found += ann::found_of(&hits, &exact);
            total += exact.len();
            // At this size the scan is cheaper and taken: exact answers.
            assert_eq!(space.nearest_not_in(lang, &q, 5, Some(&odd)), exact);
            assert_eq!(loaded.nearest_not_in(lang, &q, 5, Some(&odd)), exact);
        }
        assert!(found as f64 >= 0.98 * total as f64, "{found} of {total}");
        let mut foreign = breadths.clone();
        foreign.insert("fr".into(), 96);
        let mut other = LangSpace::build(&langs, &rows, &none, &[]).unwrap();
        assert!(other.load_graphs(&dir, &foreign).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
