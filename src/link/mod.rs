//! Links: nearest neighbours in *other* documents, thresholded by a score calibrated on the
//! corpus itself, with near-identical passages marked as quotations.
//!
//! e5 scores are compressed (unrelated passages score about 0.75), so no fixed threshold
//! means the same thing on every corpus. [`Linker::calibrate`] looks at the scores of
//! paragraph pairs from different documents — all pairs for corpora up to a few thousand
//! paragraphs, a fixed sample beyond — and puts the default threshold at a high quantile of
//! that background distribution: a link must beat all but the top `1 - q` of pairings. Where
//! near-copies (boilerplate repeated in every document) make up more than `1 - q` of the
//! pairings, that quantile is a near-copy's score; the threshold is then capped at what the
//! body of the distribution predicts for it ([`TAIL_LENGTH`]).

pub mod cache;
mod quote;
mod sample;
mod state;
pub mod terms;

pub use quote::shares_run;
pub use state::{Anchors, LinkState, Sampled, MAP_QUANTILE};

use std::collections::HashMap;

use quote::Runs;
use state::{hub_of, Hubs, Repeated};

use serde::Serialize;

use crate::index::Index;
use crate::rank::{candidates, dense, link_breadth, Weights};

/// Default quantile of cross-document pair scores used as the link threshold.
pub const DEFAULT_QUANTILE: f64 = 0.995;
/// Score at or above which a pair counts as a quotation even without a long shared run.
pub const QUOTE_SCORE: f32 = 0.97;
/// Characters of identical running text that make a quotation.
pub const QUOTE_RUN: usize = 30;
/// Other documents that must hold a near-copy of a paragraph (cosine ≥ [`QUOTE_SCORE`]) for
/// it to be *repeated text*: a licence footer, "--help display this help and exit", a
/// translator's credit, a page installed under several names. A link between near-copies
/// where either is repeated text is left out — the same text again is no cross-reference —
/// and so is one between a paragraph whose very text is found in more than that many other
/// documents and a paragraph whose text is found so too ("--help display this help and
/// exit" and its translation in every page: any one of the copies would do) or that quotes
/// it (a shared run of [`QUOTE_RUN`] characters: "GNU coreutils online help: https://…" and
/// its translations, worded a little differently page by page). A passage quoted in two or three documents stays a
/// quotation; a translation of repeated text whose wording names its page ("Full
/// documentation <https://…/ls>") stays a link (docs/quality.md, "Repeated text").
pub const REPEATED_IN: usize = 3;

/// One link from a paragraph to another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub row: usize,
    pub score: f32,
    pub quote: bool,
    /// Key terms the two texts share (empty across languages).
    pub terms: Vec<String>,
}

/// How far the background's `DEFAULT_QUANTILE` may lie above its median, in units of the
/// distance from its median to its 90th percentile; a quantile further out is taken to be a
/// near-copy's score, and the threshold is capped there ([`Linker::calibrate`]). Other
/// quantiles scale it as an exponential tail would: by `ln(0.5 / (1 − q)) / ln 100`.
///
/// 4: the seed's own tail is 3.50 long, and a corpus without boilerplate should keep its
/// plain quantile. Reported on other corpora (docs/tuning.md, "Links"): the Kazakh and kernel documentation (3.42, 2.90) keep theirs; manual
/// pages, where "Full documentation …", "Written by …" and the copyright notice recur in
/// every page, ran to 4.5–8.9, their plain quantile a near-copy's score.
pub const TAIL_LENGTH: f32 = 4.0;

/// The background score distribution of a corpus and the threshold drawn from it.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub pairs: usize,
    pub mean: f32,
    pub std: f32,
    pub quantile: f64,
    /// The plain `quantile` of the pair scores.
    pub percentile: f32,
    /// The link threshold: `percentile`, or less where [`TAIL_LENGTH`] caps it.
    pub threshold: f32,
}

impl Calibration {
    /// Whether near-copies capped the threshold below the plain percentile.
    pub fn capped(&self) -> bool {
        self.threshold < self.percentile
    }

    /// How the threshold was found, as the outputs tell it.
    pub fn note(&self) -> String {
        format!(
            "calibrated: the {:.1}th percentile of {} cross-document pair scores{}, mean {:.3}, sd {:.3}",
            self.quantile * 100.0,
            self.pairs,
            if self.capped() {
                format!(
                    " as the body of their distribution predicts it (the plain one, {:.3}, lies among near-copies)",
                    self.percentile
                )
            } else {
                String::new()
            },
            self.mean,
            self.std
        )
    }
}

/// How link candidates are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LinkScoring {
    /// Plain cosine similarity of the paragraph vectors.
    Cosine,
    /// Cross-domain similarity local scaling: `2·cos(a,b) − r(a) − r(b)`, where `r(x)` is the
    /// mean cosine of `x` to its 10 nearest neighbours; demotes "hub" paragraphs close to
    /// everything. Measured with `xref eval`: no better than cosine on the seed.
    Csls,
    /// `(1 − w)·dense + w·lex` with [`Weights::LINK`]. `dense` is the pair's sentence-aware
    /// score ([`dense::pair`]: the paragraphs' cosine blended with their best-matching
    /// sentences'; for an outside text, [`dense::score_in`]); `lex` is the BM25 score of the source paragraph's text
    /// against the target over its ideal score (capped at 1). Scored on the union of the
    /// dense and lexical candidates. The default (link recall in docs/quality.md). Pairs in
    /// different languages share no terms and are ranked by `(1 − w)·dense` alone.
    Hybrid,
}

const CSLS_NEIGHBOURS: usize = 10;
/// Sources drawn when calibrating a corpus of more than 3,000 paragraphs (see
/// [`Linker::calibrate`]).
const CALIBRATION_SOURCES: usize = 600;
/// Most targets per source when calibrating.
/// 5,000: the threshold's precision comes from the number of sources, not from more
/// targets each; 20,000 before (3.7 s of `crossref` at 100k).
const CALIBRATION_TARGETS: usize = 5_000;

/// How much of a cross-language pair's hubness — the mean of its two paragraphs'
/// [`HUB_NEIGHBOURS`] nearest centred cosines in other languages — its dense score loses
/// (CSLS, Conneau et al. 2018, `2·cos − r(a) − r(b)`, at a quarter of its strength):
/// a paragraph close to many of the other language's paragraphs (a near-copy repeated in
/// many pages, a generic sentence) stops outranking the one translation. Chosen on the
/// Chinese–English manual pages (`xref eval --pairs`, recall@1 en→zh / zh→en: 0 →
/// 0.819 / 0.860; 0.125 → 0.822 / 0.873; **0.25** → 0.823 / 0.873 with the best @5 and @10;
/// 0.375 → 0.821 / 0.873; 0.5 → 0.816 / 0.868; 1, full CSLS → 0.711 / 0.786) and reported on
/// the others (docs/tuning.md, "Links").
pub const HUB_WEIGHT: f32 = 0.25;
/// The least dense score (centred vectors) a pair in two languages needs to be linked at
/// all. Translations score far above it (their first links on the Chinese–English manual
/// pages: 5th percentile 0.41, median 0.64; the kernel docs' 0.46 and 0.65); paragraphs
/// that are merely atypical of their language's centroid share that "atypical" direction
/// after centring and, mapped per language pair ([`LinkState`]), outranked real
/// same-language links in a library whose languages cover different subjects (the seed's
/// policy paragraphs in Chinese with English manual pages: their first cross-language
/// links, all to lines such as "With no FILE, or when FILE is -, read standard input.",
/// scored 0.11–0.20; with the Chinese–English page pairs, to "Mandatory arguments to long
/// options are mandatory for short options too.", 0.20–0.28). Chosen on the seed with the
/// 8 English pages of `tests/parallel/en` (gold link recall@5 0.578 without, 0.733 at 0.2,
/// **0.744 at 0.25** — the seed's own figure — and at 0.3), reported on the rest (docs/tuning.md,
/// "Links in a library"). Specific to multilingual-e5-small's centred cosines.
pub const ACROSS_FLOOR: f32 = 0.25;
/// Neighbours whose mean cosine measures a paragraph's hubness (CSLS's usual 10).
pub const HUB_NEIGHBOURS: usize = 10;

/// Background pairs sampled per language pair for [`LinkState`]: each of up to
/// [`NORM_ROWS`] paragraphs of the first language (drawn by a hash of their ids, see
/// [`sample`]) paired with an equal share of up to [`NORM_ROWS`] of the second.
///
/// Measured when the map's scale was each pair's standard deviation (until session 20;
/// now its 99.5th percentile, [`MAP_QUANTILE`]): the links it ranks lay 8 or more
/// deviations out, so a 5 % error in a deviation moves a mapped link by ~0.013 — enough to
/// reorder a translation and a same-language neighbour. The deviation is dominated by a few
/// rows (in manual pages, boilerplate lines repeated in many pages, whose pairs score ~0.9
/// against a background mean of ~0.44), so it depends on which rows are drawn more than on
/// how many pairs: 150 sources × 600 targets (90,000 pairs) gave the German pages'
/// recall@1 0.56–0.71 across draws, 1,000 × 1,000 still 0.60–0.69; 100,000 pairs over
/// 2,000 rows a language hold the Chinese pages' to ±0.004, the kernel docs' to ±0.006 and
/// the German pages' to ±0.02 (docs/quality.md, "Translation links"); with the percentile
/// map, salts 2–4 give the Chinese pages 0.921–0.924 / 0.870–0.880, the kernel docs
/// 0.864–0.876 / 0.897–0.907, the German pages 0.811–0.834 / 0.812–0.837.
const NORM_PAIRS: usize = 100_000;
/// Most paragraphs per language drawn for [`LinkState`]. Each drawn paragraph's hubness
/// is measured (one search): 2,000 rather than 3,000 kept `xref related` on the German
/// pages (30,000 paragraphs) at 4.8 s instead of 5.7 s in session 19 (3.1 s with 150 × 600),
/// equally steady; timed again in session 20 on a fresh machine, 0.64 s.
const NORM_ROWS: usize = 2_000;
/// The salt of every draw ([`sample::key`]); sources and targets of a calibration are
/// drawn with it and its successor.
const SALT: u64 = 1;

/// Finds links in an index.
pub struct Linker<'a> {
    index: &'a Index,
    /// Most links per paragraph.
    pub k: usize,
    /// Links below this score are dropped.
    pub min_score: f32,
    scoring: LinkScoring,
    /// Per-row neighbourhood density, for CSLS.
    density: Vec<f32>,
    state: LinkState,
}

impl<'a> Linker<'a> {
    /// A linker with the default (hybrid) scoring.
    pub fn new(index: &'a Index, k: usize, min_score: f32) -> Self {
        let mut linker = Self {
            index,
            k,
            min_score,
            scoring: LinkScoring::Hybrid,
            density: Vec::new(),
            state: LinkState::default(),
        };
        linker.state = linker.measure_state();
        linker
    }

    /// A linker reusing what another linker measured about the same index ([`LinkState`]:
    /// a server keeps it per index generation instead of sampling per request).
    pub fn with_state(index: &'a Index, k: usize, min_score: f32, state: LinkState) -> Self {
        Self {
            index,
            k,
            min_score,
            scoring: LinkScoring::Hybrid,
            density: Vec::new(),
            state,
        }
    }

    /// A linker (hybrid scoring) with what an earlier linker of an earlier version of the
    /// same corpus sampled ([`LinkState::sampled`]; [`cache`]), its per-row values measured
    /// anew on this index.
    pub fn with_sampled(index: &'a Index, k: usize, min_score: f32, sampled: Sampled) -> Self {
        let mut linker = Self::with_state(index, k, min_score, LinkState::default());
        linker.state = LinkState::of_sampled(sampled, linker.hubs(), Repeated::new(index.len()));
        linker
    }

    /// What this linker measured about its index (to hand to [`Linker::with_state`]).
    pub fn state(&self) -> &LinkState {
        &self.state
    }

    /// Sample the background statistics per language pair (none for a one-language
    /// corpus); the per-row values start unmeasured (see [`LinkState`]).
    fn measure_state(&self) -> LinkState {
        use rayon::prelude::*;
        let idx = self.index;
        if !idx.is_multilingual() {
            return LinkState {
                repeated: Repeated::new(idx.len()),
                ..LinkState::default()
            };
        }
        let mut by_lang: HashMap<&str, Vec<usize>> = HashMap::new();
        for r in 0..idx.len() {
            by_lang.entry(idx.lang(r)).or_default().push(r);
        }
        let hubs = self.hubs();
        // One draw per language serves as the sources from it and the targets in it: the
        // pairs' rows are the ones whose hubness is measured (a search each).
        let drawn: HashMap<&str, Vec<(u64, usize)>> = by_lang
            .iter()
            .map(|(&l, rows)| {
                (
                    l,
                    sample::lowest(idx, rows.iter().copied(), NORM_ROWS, SALT),
                )
            })
            .collect();
        let mut stats = HashMap::new();
        let mut typical = HashMap::new();
        let mut reference = (
            Anchors {
                median: 0.0,
                high: 1.0,
            },
            0usize,
        );
        for (&from, rows) in &by_lang {
            let sources = &drawn[from];
            let per = NORM_PAIRS.div_ceil(sources.len().max(1));
            for &to in by_lang.keys() {
                let targets = &drawn[to];
                // Each background pair's score and its plain cosine.
                let (mut scores, mut plain): (Vec<f32>, Vec<f32>) = sources
                    .par_iter()
                    .flat_map_iter(|&(key, i)| {
                        let lex = self.lexical_for(idx.paragraphs.text(i), false);
                        let doc = idx.doc_index(i);
                        sample::window(targets, key, per)
                            .filter(|&j| idx.doc_index(j) != doc)
                            .map(|j| {
                                let score = self.raw_score_in(&hubs, i, j, from, &lex);
                                (score, idx.rows().pair(i, idx.rows(), j))
                            })
                            .collect::<Vec<_>>()
                    })
                    .unzip();
                if from != to && !plain.is_empty() {
                    let median = quantile(&mut plain, 0.5);
                    typical.insert((from.to_string(), to.to_string()), median);
                }
                let Some(anchors) = Anchors::of(&mut scores) else {
                    continue;
                };
                stats.insert((from.to_string(), to.to_string()), anchors);
                if from == to && rows.len() > reference.1 {
                    reference = (anchors, rows.len());
                }
            }
        }
        LinkState {
            stats,
            reference: reference.0,
            hubs,
            typical,
            repeated: Repeated::new(idx.len()),
        }
    }

    /// Each row's hubness across languages (see [`HUB_WEIGHT`]), measured on first use:
    /// one search of the other languages per row (their graphs where they pay). None
    /// unless hybrid scoring of a multilingual corpus.
    fn hubs(&self) -> Hubs {
        let idx = self.index;
        if self.scoring != LinkScoring::Hybrid || !idx.is_multilingual() {
            return Hubs::default();
        }
        Hubs::new(idx.len())
    }

    /// The lexical scores of a source text: against same-script paragraphs (all terms)
    /// and against others (shareable terms only); see [`candidates::lexical_across`].
    /// `every_row` computes them for all rows at once (for scoring many pairs of one
    /// source), else row by row on demand.
    fn lexical_for(&self, text: &str, every_row: bool) -> Lexical2<'a> {
        if self.scoring != LinkScoring::Hybrid {
            return Lexical2::default();
        }
        let idx = self.index;
        let scores = |scorer: crate::index::lexical::Scorer<'a>| {
            if every_row {
                LexScores::All(scorer, std::cell::OnceCell::new())
            } else {
                LexScores::Rows(scorer)
            }
        };
        Lexical2 {
            same: scores(candidates::lexical(idx, text)),
            across: if idx.is_multilingual() {
                scores(candidates::lexical_across(idx, text))
            } else {
                LexScores::None
            },
        }
    }

    /// The score of pair (source `i`, target `j`) before [`LinkState::map`], the source in `lang`,
    /// with each row's hubness `hubs` (see [`HUB_WEIGHT`]).
    fn raw_score_in(&self, hubs: &Hubs, i: usize, j: usize, lang: &str, lex: &Lexical2) -> f32 {
        self.raw_score_with(hubs, i, j, lex.get(Shared::of(lang, self.index.lang(j)), j))
    }

    /// [`Linker::raw_score_in`] given the pair's lexical score `lex` (hybrid scoring only).
    fn raw_score_with(&self, hubs: &Hubs, i: usize, j: usize, lex: f32) -> f32 {
        self.raw_score_parts(hubs, i, j, lex).0
    }

    /// [`Linker::raw_score_with`] and the pair's dense score (its cosine for the other
    /// scorings).
    fn raw_score_parts(&self, hubs: &Hubs, i: usize, j: usize, lex: f32) -> (f32, f32) {
        let idx = self.index;
        let cos = || idx.rows().pair(i, idx.rows(), j);
        match self.scoring {
            LinkScoring::Cosine => {
                let cos = cos();
                (cos, cos)
            }
            LinkScoring::Csls => {
                let cos = cos();
                (2.0 * cos - self.density[i] - self.density[j], cos)
            }
            LinkScoring::Hybrid => {
                let dense = dense::pair(idx, i, j, Weights::LINK);
                let across = hubs.active() && idx.lang(i) != idx.lang(j);
                let hub = if across {
                    hubs.of(idx, i) + hubs.of(idx, j)
                } else {
                    0.0
                };
                (
                    Weights::LINK.fuse(dense - HUB_WEIGHT * 0.5 * hub, lex),
                    dense,
                )
            }
        }
    }

    pub fn with_scoring(mut self, scoring: LinkScoring) -> Self {
        use rayon::prelude::*;
        if scoring == self.scoring {
            return self;
        }
        self.scoring = scoring;
        if scoring == LinkScoring::Csls && self.density.is_empty() {
            let idx = self.index;
            self.density = (0..idx.len())
                .into_par_iter()
                .map(|r| {
                    let hits = idx.search(&idx.vector(r), CSLS_NEIGHBOURS + 1, Some(&|x| x != r));
                    hits.iter().map(|h| h.score).sum::<f32>() / hits.len().max(1) as f32
                })
                .collect();
        }
        self.state = self.measure_state();
        self
    }

    /// How many paragraphs this linker has found to be repeated text: after
    /// [`Linker::crossref`], all of them.
    pub fn repeated_found(&self) -> usize {
        self.state.repeated.found()
    }

    /// Links from row `row`: other documents only unless `same_doc`; never itself.
    pub fn from_row(&self, row: usize, same_doc: bool) -> Vec<Link> {
        let idx = self.index;
        let doc = idx.doc_index(row);
        // Prose links to prose: tables and code do not take its links.
        let prose = !idx.paragraphs.kind(row).is_apart();
        let allow = |r: usize| {
            r != row
                && (same_doc || idx.doc_index(r) != doc)
                && !(prose && idx.paragraphs.kind(r).is_apart())
        };
        self.rank(
            &idx.vector(row),
            idx.paragraphs.text(row),
            Some(row),
            &allow,
        )
    }

    /// Links from an outside text and its vector, to any document.
    pub fn from_text(&self, vector: &[f32], text: &str) -> Vec<Link> {
        self.rank(vector, text, None, &|_| true)
    }

    /// Score candidates (dense neighbours, plus lexical ones for hybrid scoring, plus the
    /// nearest paragraphs in other languages on centred vectors), keep the best `k` at or
    /// above `min_score`.
    fn rank(
        &self,
        vector: &[f32],
        text: &str,
        source: Option<usize>,
        allow: &dyn Fn(usize) -> bool,
    ) -> Vec<Link> {
        let idx = self.index;
        let lang = source.map_or_else(|| idx.text_lang(text, vector), |s| idx.lang(s));
        let wide = if self.scoring == LinkScoring::Cosine {
            self.k
        } else {
            link_breadth(self.k)
        };
        let lex = self.lexical_for(text, false);
        let mut rows = self.candidates(vector, lang, &lex, wide, allow);
        // No links between near-copies where either is repeated text ([`REPEATED_IN`]); nor
        // between a text found verbatim in that many other documents and a paragraph that
        // quotes it (a shared run of [`QUOTE_RUN`] characters) or is itself found so.
        if let Some(s) = source {
            let repeated = &self.state.repeated;
            let verbatim = repeated.verbatim(idx, s);
            // Measured only where a near-copy or a verbatim copy is among the candidates.
            let mut near = None;
            let mut runs = None;
            rows.retain(|&r| {
                if idx.rows().dot(r, vector) >= QUOTE_SCORE {
                    return !(*near.get_or_insert_with(|| repeated.near(idx, s))
                        || repeated.near(idx, r));
                }
                let other = repeated.verbatim(idx, r);
                if verbatim && other {
                    return false;
                }
                !((verbatim || other)
                    && runs
                        .get_or_insert_with(|| Runs::of(text, QUOTE_RUN))
                        .in_text(idx.paragraphs.text(r)))
            });
        }
        let lexical = lex.of_rows(&rows, |r| Shared::of(lang, idx.lang(r)));
        let hubs = &self.state.hubs;
        // An outside text's own hubness, measured as a row's is.
        let text_hub = if source.is_none() && hubs.active() {
            hub_of(idx, vector, lang)
        } else {
            0.0
        };
        // Cross-language pairs below [`ACROSS_FLOOR`], or less close in the model's own
        // space than a typical pair of their languages ([`LinkState::typical`]), are no links
        // (hybrid scoring).
        let floor = self.scoring == LinkScoring::Hybrid && idx.is_multilingual();
        let mut links: Vec<Link> = rows
            .into_iter()
            .zip(lexical)
            .filter_map(|(r, lexical)| {
                let (raw, dense) = match (source, self.scoring) {
                    (Some(s), _) => self.raw_score_parts(hubs, s, r, lexical),
                    (None, LinkScoring::Hybrid) => {
                        // The question's blend: an outside text is matched like one.
                        let dense = dense::score_in(idx, vector, lang, r, Weights::QUESTION);
                        let across = hubs.active() && idx.lang(r) != lang;
                        let hub = if across {
                            text_hub + hubs.of(idx, r)
                        } else {
                            0.0
                        };
                        (
                            Weights::LINK.fuse(dense - HUB_WEIGHT * 0.5 * hub, lexical),
                            dense,
                        )
                    }
                    (None, _) => {
                        let cos = idx.rows().dot(r, vector);
                        (cos, cos)
                    }
                };
                if floor
                    && idx.lang(r) != lang
                    && (dense < ACROSS_FLOOR
                        || idx.rows().dot(r, vector) < self.state.typical(lang, idx.lang(r)))
                {
                    return None;
                }
                Some(Link {
                    row: r,
                    score: self.state.map(lang, idx.lang(r), raw),
                    quote: false,
                    terms: Vec::new(),
                })
            })
            .filter(|l| l.score >= self.min_score)
            .collect();
        links.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
        links.truncate(self.k);
        if links.is_empty() {
            return links;
        }
        let (runs, vocabulary) = (Runs::of(text, QUOTE_RUN), terms::Vocabulary::of(text));
        for l in &mut links {
            let target = idx.paragraphs.text(l.row);
            l.quote = idx.rows().dot(l.row, vector) >= QUOTE_SCORE || runs.in_text(target);
            l.terms = vocabulary.shared_with(target);
        }
        links
    }

    /// The rows [`Linker::rank`] scores for a text in `lang` with vector `vector` and lexical
    /// scores `lex`: its `wide` nearest paragraphs, plus for hybrid scoring its `wide` best
    /// BM25 rows (in its script and across), plus its `wide` nearest in other languages on
    /// centred vectors; sorted, each once.
    fn candidates(
        &self,
        vector: &[f32],
        lang: &str,
        lex: &Lexical2,
        wide: usize,
        allow: &dyn Fn(usize) -> bool,
    ) -> Vec<usize> {
        let idx = self.index;
        // Hybrid scoring has lexical scores (row by row), the others none.
        let mut rows: Vec<usize> = if let LexScores::Rows(same) = &lex.same {
            // Paragraph candidates only: a sentence scan per paragraph would make `crossref`
            // quadratic, and on the gold set it finds no link the paragraph candidates miss.
            let mut rows = candidates::hybrid(idx, vector, same, wide, false, Some(allow));
            if let LexScores::Rows(across) = &lex.across {
                rows.extend(across.candidates(wide, Some(allow)));
            }
            rows
        } else {
            idx.search(vector, wide, Some(allow))
                .iter()
                .map(|h| h.row)
                .collect()
        };
        rows.extend(candidates::across_languages(
            idx,
            vector,
            lang,
            wide,
            Some(allow),
        ));
        rows.sort_unstable();
        rows.dedup();
        rows
    }

    /// The score this linker gives the pair (`i`, `j`), with `lex` the lexical scores of
    /// `i`'s text (hybrid scoring only).
    fn pair_score(&self, i: usize, j: usize, lex: &Lexical2) -> f32 {
        let (from, to) = (self.index.lang(i), self.index.lang(j));
        let raw = self.raw_score_in(&self.state.hubs, i, j, from, lex);
        self.state.map(from, to, raw)
    }

    /// Calibrate a threshold on this linker's scores of cross-document pairs: every pair
    /// for up to 3,000 paragraphs; beyond, 600 sources paired with up to 5,000 targets,
    /// both drawn by a hash of their ids (the same rows whatever else the index holds). The
    /// threshold is their `quantile`, capped where near-copies fill the top ([`TAIL_LENGTH`]).
    pub fn calibrate(&self, quantile: f64) -> Calibration {
        use rayon::prelude::*;
        let idx = self.index;
        let n = idx.len();
        let (sources, targets): (Vec<usize>, Vec<usize>) = if n <= 3000 {
            ((0..n).collect(), (0..n).collect())
        } else {
            let rows = |m, salt| {
                let mut rows: Vec<usize> = sample::lowest(idx, 0..n, m, salt)
                    .into_iter()
                    .map(|(_, r)| r)
                    .collect();
                rows.sort_unstable();
                rows
            };
            (
                rows(CALIBRATION_SOURCES, SALT),
                rows(CALIBRATION_TARGETS, SALT + 1),
            )
        };
        let mut scores: Vec<f32> = sources
            .par_iter()
            .flat_map_iter(|&i| {
                let lex = self.lexical_for(idx.paragraphs.text(i), true);
                let doc = idx.doc_index(i);
                targets
                    .iter()
                    .filter(move |&&j| (n > 3000 || j > i) && idx.doc_index(j) != doc)
                    .map(|&j| self.pair_score(i, j, &lex))
                    .collect::<Vec<f32>>()
            })
            .collect();
        if scores.is_empty() {
            return Calibration {
                pairs: 0,
                mean: 0.0,
                std: 0.0,
                quantile,
                percentile: 0.0,
                threshold: 0.0,
            };
        }
        let mean = scores.iter().sum::<f32>() / scores.len() as f32;
        let std =
            (scores.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / scores.len() as f32).sqrt();
        let quantile = quantile.clamp(0.0, 1.0);
        let (percentile, threshold) = capped_quantile(&mut scores, quantile);
        Calibration {
            pairs: scores.len(),
            mean,
            std,
            quantile,
            percentile,
            threshold,
        }
    }

    /// Links for every paragraph, in index order.
    pub fn crossref(&self) -> Vec<Vec<Link>> {
        use rayon::prelude::*;
        (0..self.index.len())
            .into_par_iter()
            .map(|row| self.crossref_row(row))
            .collect()
    }

    /// A paragraph's links in the crossref: none from tables and code (searchable and
    /// related to other passages, but not what a cross-reference list is of).
    fn crossref_row(&self, row: usize) -> Vec<Link> {
        if self.index.paragraphs.kind(row).is_apart() {
            return Vec::new();
        }
        self.from_row(row, false)
    }

    /// Links for every paragraph, in index order, reusing links found earlier where nothing
    /// that changed can reach them ([`cache`]): `kept[row]` holds row `row`'s earlier
    /// links (rows renumbered to this index; found under this linker's [`LinkState`] and
    /// threshold), or `None` where the paragraph is new or one of its targets is gone;
    /// `new` lists the rows the earlier links never saw. Linked anew: every `None` row, and
    /// every kept row that a new row could now enter — among the new row's candidates seen
    /// from its side ([`REACH`] times the usual breadth) and scoring, from the kept row's
    /// side, at least its `k`th link or, below `k` links, the threshold (less [`DRIFT`]).
    /// Returns the links and how many rows were linked anew.
    ///
    /// What it does not follow: scores that move for every pair when the corpus changes —
    /// BM25's term weights, each language's centroid, a row's hubness, which texts are
    /// repeated in enough documents ([`REPEATED_IN`]). A caller bounds that drift by
    /// starting afresh once enough has changed ([`cache::RECALIBRATE_AFTER`]).
    pub fn relink(
        &self,
        mut kept: Vec<Option<Vec<Link>>>,
        new: &[usize],
    ) -> (Vec<Vec<Link>>, usize) {
        use rayon::prelude::*;
        let idx = self.index;
        let wide = REACH * link_breadth(self.k);
        // Who links to each row now.
        let mut linked_from: Vec<Vec<u32>> = vec![Vec::new(); idx.len()];
        for (s, list) in kept.iter().enumerate() {
            for l in list.iter().flatten() {
                linked_from[l.row].push(s as u32);
            }
        }
        // Each new row's candidate sources, seen from its side.
        let mut pairs: Vec<(usize, usize)> = new
            .par_iter()
            .flat_map_iter(|&c| {
                let doc = idx.doc_index(c);
                let kept = &kept;
                let allow = move |r: usize| kept[r].is_some() && idx.doc_index(r) != doc;
                let text = idx.paragraphs.text(c);
                let vector = idx.vector(c);
                let mut rows = self.candidates(
                    &vector,
                    idx.lang(c),
                    &self.lexical_for(text, false),
                    wide,
                    &allow,
                );
                // And whoever links to one of its nearest paragraphs (a copy of it among
                // them: whoever links to the copy may link to it as well).
                for h in idx.search(&vector, NEIGHBOURS_OF_NEW, None) {
                    rows.extend(linked_from[h.row].iter().map(|&s| s as usize));
                }
                rows.sort_unstable();
                rows.dedup();
                rows.into_iter()
                    .filter(move |&s| allow(s))
                    .map(move |s| (s, c))
            })
            .collect();
        pairs.sort_unstable();
        // A source is reached if one of its new candidates scores, from its side, into
        // its links (its lexical scores computed once for all of them).
        let reached: Vec<usize> = pairs
            .chunk_by(|a, b| a.0 == b.0)
            .collect::<Vec<_>>()
            .into_par_iter()
            .filter_map(|group| {
                let s = group[0].0;
                let list = kept[s].as_ref()?;
                let bar = match list.get(self.k.saturating_sub(1)) {
                    Some(last) if list.len() >= self.k => last.score.max(self.min_score),
                    _ => self.min_score,
                };
                let lex = self.lexical_for(idx.paragraphs.text(s), false);
                group
                    .iter()
                    .any(|&(_, c)| self.pair_score(s, c, &lex) >= bar - DRIFT)
                    .then_some(s)
            })
            .collect();
        for s in reached {
            kept[s] = None;
        }
        let todo: Vec<usize> = (0..idx.len()).filter(|&r| kept[r].is_none()).collect();
        let fresh: Vec<(usize, Vec<Link>)> = todo
            .par_iter()
            .map(|&r| (r, self.crossref_row(r)))
            .collect();
        let relinked = fresh.len();
        for (r, links) in fresh {
            kept[r] = Some(links);
        }
        (
            kept.into_iter().map(Option::unwrap_or_default).collect(),
            relinked,
        )
    }
}

/// How much wider than a link's own candidates [`Linker::relink`] looks around a new
/// paragraph for the paragraphs it could enter the links of (a candidate relation seen
/// from the other side: a row whose nearest neighbours are all closer to each other than
/// to it is far down their lists).
pub const REACH: usize = 2;
/// How many of a new paragraph's nearest paragraphs [`Linker::relink`] looks at the links
/// to: the paragraphs linked to them are asked whether the new one would enter their links.
pub const NEIGHBOURS_OF_NEW: usize = 10;
/// How far below a kept row's last link a new paragraph may score and still have the row
/// linked anew ([`Linker::relink`]): room for the drift of the scores it does not follow.
pub const DRIFT: f32 = 0.01;

/// The plain `quantile` of `scores` and the threshold: that quantile, capped at
/// [`TAIL_LENGTH`] (scaled to `quantile`) times the distance from the median to the 90th
/// percentile above the median. Reorders `scores`.
fn capped_quantile(scores: &mut [f32], q: f64) -> (f32, f32) {
    let plain = quantile(scores, q);
    let (median, p90) = (quantile(scores, 0.5), quantile(scores, 0.9));
    let tail = if q >= 1.0 {
        f32::INFINITY
    } else {
        TAIL_LENGTH * ((0.5 / (1.0 - q)).ln() / 100f64.ln()) as f32
    };
    let cap = median + tail * (p90 - median);
    (plain, plain.min(cap))
}

/// The `q` quantile (nearest rank) of `scores`, non-empty; reorders them.
fn quantile(scores: &mut [f32], q: f64) -> f32 {
    let pos = ((scores.len() - 1) as f64 * q).round() as usize;
    *scores.select_nth_unstable_by(pos, |a, b| a.total_cmp(b)).1
}

/// What terms a pair of paragraphs in languages `from` and `to` can share: all of them (one
/// language), those a text in another script can contain ([`candidates::lexical_across`]:
/// Latin words, identifiers, numbers; a Chinese paragraph and an English one), or none that
/// count as evidence (two Latin-script languages).
///
/// Between two Latin-script languages every shared word and identifier would count, and
/// on corpora that repeat option names and settings across pages those matches are the
/// top of the cross-language background: on the German manual pages (100 of 121 systemd's)
/// that top lay 0.48 above its median, 0.20 without them, and with the map anchored on it
/// ([`state::MAP_QUANTILE`]) German recall@1 was 0.46 / 0.47 with them and 0.81 / 0.81
/// without (identifiers and numbers alone: 0.41). French and Spanish lose 0.01–0.04 without
/// them, Chinese–English pairs are unaffected (docs/quality.md, "Known weak spots").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shared {
    All,
    Across,
    None,
}

impl Shared {
    fn of(from: &str, to: &str) -> Self {
        use crate::text::lang::is_latin;
        if from == to {
            Self::All
        } else if is_latin(from) && is_latin(to) {
            Self::None
        } else {
            Self::Across
        }
    }
}

/// A source text's normalised lexical scores against same-language paragraphs and against
/// paragraphs in other languages.
#[derive(Default)]
struct Lexical2<'a> {
    same: LexScores<'a>,
    across: LexScores<'a>,
}

/// Lexical scores of one source text: none (not hybrid scoring, or no other language),
/// row by row on demand, or all rows at once when first asked for (a source whose pairs
/// never use a channel — two Latin-script languages, see [`Shared`] — never computes it).
#[derive(Default)]
enum LexScores<'a> {
    #[default]
    None,
    Rows(crate::index::lexical::Scorer<'a>),
    All(
        crate::index::lexical::Scorer<'a>,
        std::cell::OnceCell<Vec<f32>>,
    ),
}

impl LexScores<'_> {
    fn get(&self, row: usize) -> f32 {
        match self {
            Self::None => 0.0,
            Self::Rows(s) => s.get(row),
            Self::All(s, all) => all.get_or_init(|| s.dense())[row],
        }
    }
}

impl Lexical2<'_> {
    fn get(&self, shared: Shared, row: usize) -> f32 {
        match shared {
            Shared::All => self.same.get(row),
            Shared::Across => self.across.get(row),
            Shared::None => 0.0,
        }
    }

    /// [`Lexical2::get`] of each of `rows` (ascending), `shared(row)` telling what terms
    /// the source can share with it; scored on demand, the rows are looked up together
    /// ([`Scorer::get_sorted`]).
    ///
    /// [`Scorer::get_sorted`]: crate::index::lexical::Scorer::get_sorted
    fn of_rows(&self, rows: &[usize], shared: impl Fn(usize) -> Shared) -> Vec<f32> {
        let kinds: Vec<Shared> = rows.iter().map(|&r| shared(r)).collect();
        let (mut same_rows, mut other_rows) = (Vec::new(), Vec::new());
        for (&r, kind) in rows.iter().zip(&kinds) {
            match kind {
                Shared::All => same_rows.push(r),
                Shared::Across => other_rows.push(r),
                Shared::None => {}
            }
        }
        let scores = |lex: &LexScores, rows: &[usize]| match lex {
            LexScores::Rows(scorer) => scorer.get_sorted(rows),
            _ => rows.iter().map(|&r| lex.get(r)).collect(),
        };
        let (mut a, mut b) = (
            scores(&self.same, &same_rows).into_iter(),
            scores(&self.across, &other_rows).into_iter(),
        );
        kinds
            .iter()
            .map(|kind| match kind {
                Shared::All => a.next().unwrap_or(0.0),
                Shared::Across => b.next().unwrap_or(0.0),
                Shared::None => 0.0,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_evidence_between_two_latin_script_languages_does_not_count() {
        assert_eq!(Shared::of("en", "en"), Shared::All);
        assert_eq!(Shared::of("zh", "zh"), Shared::All);
        assert_eq!(Shared::of("zh", "en"), Shared::Across);
        assert_eq!(Shared::of("en", "zh"), Shared::Across);
        assert_eq!(Shared::of("und", "en"), Shared::Across);
        assert_eq!(Shared::of("de", "en"), Shared::None);
        assert_eq!(Shared::of("fr", "es"), Shared::None);
    }

    /// A library whose Chinese part covers two subjects — 40 paragraphs on A, translated in
    /// the English part, and 6 on B — and one English paragraph between A and B: after
    /// centring (the Chinese mean is mostly A's) it points where the B paragraphs do, and
    /// clears [`ACROSS_FLOOR`], but in the model's own space it is further from them than a
    /// typical Chinese–English pair, so [`LinkState::typical`] keeps it out of their links;
    /// translations stay linked.
    #[test]
    fn a_cross_language_link_must_beat_a_typical_pair_uncentred() {
        use crate::index::store::synthetic_index;
        let dim = 16;
        let mut u = crate::index::ann::random_uniform(7);
        // Axis 0: the language; axis 1: subject A; axis 2: subject B; 3..: the meaning.
        let make = |lang: f32, a: f32, b: f32, meaning: &[f32]| {
            let mut v = vec![0.0; dim];
            (v[0], v[1], v[2]) = (lang, a, b);
            v[3..].copy_from_slice(meaning);
            crate::embed::normalize(&mut v);
            v
        };
        let mut meaning = || -> Vec<f32> { (3..dim).map(|_| 0.25 * (u() - 0.5)).collect() };
        let mut rows = Vec::new();
        let a: Vec<Vec<f32>> = (0..40).map(|_| meaning()).collect();
        for (i, m) in a.iter().enumerate() {
            let text = format!("第{i}段讨论了数据和结果。");
            rows.push((format!("za{}", i / 5), text, make(0.6, 1.0, 0.0, m)));
        }
        for i in 0..6 {
            let text = format!("第{i}段讨论了政策和发展。");
            rows.push((
                format!("zb{}", i / 3),
                text,
                make(0.6, 0.0, 1.0, &meaning()),
            ));
        }
        for (i, m) in a.iter().enumerate() {
            let text = format!("Paragraph {i} discusses the data and the results.");
            rows.push((format!("ea{}", i / 5), text, make(-0.6, 1.0, 0.0, m)));
        }
        let odd = rows.len();
        let text = "Paragraph 99 reports the grand total.".to_string();
        rows.push(("eodd".into(), text, make(-0.6, 0.5, 0.5, &meaning())));

        let root = tempfile::tempdir().unwrap();
        let index = synthetic_index(root.path(), &rows);
        assert!(index.is_multilingual());
        let linker = Linker::new(&index, 5, f32::MIN);
        let typical = linker.state().typical("zh", "en");
        assert!(typical > 0.0 && typical < 1.0, "{typical}");
        for b in 40..46 {
            assert_eq!(index.lang(b), "zh");
            // Centred, the odd paragraph clears the first floor; uncentred it is not close.
            let dense = dense::pair(&index, b, odd, Weights::LINK);
            assert!(dense >= ACROSS_FLOOR, "centred {dense}");
            let plain = index.rows().pair(b, index.rows(), odd);
            assert!(plain < typical, "plain {plain} vs typical {typical}");
            let links = linker.from_row(b, false);
            assert!(links.iter().all(|l| l.row != odd), "{links:?}");
        }
        // A Chinese A paragraph's first link is its translation.
        for i in (0..40).step_by(7) {
            let links = linker.from_row(i, false);
            assert_eq!(links[0].row, 46 + i, "{links:?}");
        }
    }

    /// A background without near-copies keeps its plain quantile; 3 % of near-copies (the
    /// plain 99.5th percentile is then a copy's 1.0) cap it near the body's prediction.
    #[test]
    fn near_copies_cap_the_threshold() {
        // A two-sided exponential around 0.45 (scale 0.01): its 99.5th percentile lies
        // ln 100 / ln 5 = 2.86 body-widths out, inside the 4 allowed.
        let n = 10_000;
        let mut clean: Vec<f32> = (0..n)
            .map(|i| {
                let p = (i as f64 + 0.5) / n as f64;
                let x = if p < 0.5 {
                    (2.0 * p).ln()
                } else {
                    -(2.0 * (1.0 - p)).ln()
                };
                0.45 + 0.01 * x as f32
            })
            .collect();
        let mut copies = clean.clone();
        let (plain, threshold) = capped_quantile(&mut clean, 0.995);
        assert_eq!(plain, threshold);
        assert!(
            (plain - (0.45 + 0.01 * 100f32.ln())).abs() < 2e-3,
            "{plain}"
        );

        copies.extend(std::iter::repeat_n(1.0, n * 3 / 100));
        let (plain, threshold) = capped_quantile(&mut copies, 0.995);
        assert_eq!(plain, 1.0);
        // The copies shift the body a little: its quantile q is the clean one's 1.03·q.
        let clean_at = |q: f32| 0.45 - 0.01 * (2.0 * (1.0 - 1.03 * q)).ln();
        let body = clean_at(0.5) + 4.0 * (clean_at(0.9) - clean_at(0.5));
        assert!((threshold - body).abs() < 2e-3, "{threshold} vs {body}");
        // No cap at all for the 100th percentile; a lower quantile gets a shorter tail.
        assert_eq!(capped_quantile(&mut copies, 1.0), (1.0, 1.0));
        let (_, at_99) = capped_quantile(&mut copies, 0.99);
        assert!(at_99 < threshold);
    }
}
