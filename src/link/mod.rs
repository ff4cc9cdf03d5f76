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
mod calibrate;
mod measure;
mod quote;
mod relink;
mod sample;
mod score;
mod state;
pub mod terms;

pub use quote::shares_run;
pub use state::{Anchors, LinkState, Sampled, MAP_QUANTILE};

use crate::rank::quantile;

use quote::Runs;
use state::Repeated;

use serde::Serialize;

use crate::index::Index;

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

/// Finds links in an index. A pair's score is `(1 − w)·dense + w·lex` with
/// [`Weights::LINK`](crate::rank::Weights::LINK): `dense` is the pair's sentence-aware score
/// ([`dense::pair`](crate::rank::dense::pair): the paragraphs' cosine blended with their
/// best-matching sentences'; for an outside text,
/// [`dense::score_in`](crate::rank::dense::score_in)), `lex` the BM25 score of the source's
/// text against the target over its ideal score (capped at 1), scored on the union of the
/// dense and lexical candidates; across languages the hubness correction
/// ([`HUB_WEIGHT`]) and the per-language-pair map ([`LinkState`]) apply. The baselines it
/// is measured against (plain cosine, CSLS) are `xref eval`'s.
pub struct Linker<'a> {
    index: &'a Index,
    /// Most links per paragraph.
    pub k: usize,
    /// Links below this score are dropped.
    pub min_score: f32,
    state: LinkState,
}

impl<'a> Linker<'a> {
    /// A linker that measures what it needs about `index` ([`LinkState`]).
    pub fn new(index: &'a Index, k: usize, min_score: f32) -> Self {
        let mut linker = Self {
            index,
            k,
            min_score,
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
            state,
        }
    }

    /// A linker with what an earlier linker of an earlier version of the
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::{dense, Weights};

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
}
