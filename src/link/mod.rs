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
//! body of the distribution predicts for it ([`Params::tail_length`]). The weights, the
//! quantiles, the floors and the counts a [`Linker`] works with are the parameters of the
//! index's model ([`Params`]).

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
pub use state::{Anchors, LinkState, Sampled};

use crate::rank::{quantile, Params};

use quote::Runs;
use state::Repeated;

use serde::Serialize;

use crate::index::Index;

/// One link from a paragraph to another.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Link {
    pub row: usize,
    pub score: f32,
    pub quote: bool,
    /// Key terms the two texts share (empty across languages).
    pub terms: Vec<String>,
}

/// The background score distribution of a corpus and the threshold drawn from it.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub pairs: usize,
    pub mean: f32,
    pub std: f32,
    pub quantile: f64,
    /// The plain `quantile` of the pair scores.
    pub percentile: f32,
    /// The link threshold: `percentile`, or less where [`Params::tail_length`] caps it.
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

// The sample sizes below are statistical budgets, not parameters of the model
// ([`Params`]): they set how precisely and at what cost a statistic is estimated, not what
// it estimates.

/// Paragraphs up to which [`Linker::calibrate`] scores every cross-document pair.
const ALL_PAIRS_UP_TO: usize = 3000;
/// Sources drawn when calibrating a corpus of more than [`ALL_PAIRS_UP_TO`] paragraphs (see
/// [`Linker::calibrate`]).
const CALIBRATION_SOURCES: usize = 600;
/// Most targets per source when calibrating.
/// 5,000: the threshold's precision comes from the number of sources, not from more
/// targets each; 20,000 before (3.7 s of `crossref` at 100k).
const CALIBRATION_TARGETS: usize = 5_000;

/// Background pairs sampled per language pair for [`LinkState`]: each of up to
/// [`NORM_ROWS`] paragraphs of the first language (drawn by a hash of their ids, see
/// [`sample`]) paired with an equal share of up to [`NORM_ROWS`] of the second.
///
/// Measured when the map's scale was each pair's standard deviation (until session 20;
/// now its 99.5th percentile, [`Params::map_quantile`]): the links it ranks lay 8 or more
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

/// Finds links in an index, with the parameters of the model it was built with
/// ([`Params::of`]). A pair's score is `(1 − w)·dense + w·lex` with [`Params::link`]'s
/// weights: `dense` is the pair's sentence-aware score
/// ([`dense::pair`](crate::rank::dense::pair): the paragraphs' cosine blended with their
/// best-matching sentences'; for an outside text,
/// [`dense::score_in`](crate::rank::dense::score_in)), `lex` the BM25 score of the source's
/// text against the target over its ideal score (capped at 1), scored on the union of the
/// dense and lexical candidates; across languages the hubness correction
/// ([`Params::hub_weight`]) and the per-language-pair map ([`LinkState`]) apply. The
/// baselines it is measured against (plain cosine, CSLS) are `xref eval`'s.
pub struct Linker<'a> {
    index: &'a Index,
    /// Most links per paragraph.
    pub k: usize,
    /// Links below this score are dropped.
    pub min_score: f32,
    /// The parameters of the index's model ([`Params::of`]).
    params: Params,
    state: LinkState,
}

impl<'a> Linker<'a> {
    /// A linker that measures what it needs about `index` ([`LinkState`]).
    pub fn new(index: &'a Index, k: usize, min_score: f32) -> Self {
        let mut linker = Self::with_state(index, k, min_score, LinkState::default());
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
            params: Params::of(index),
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

    /// The parameters this linker scores and calibrates with (the default quantile of
    /// [`Linker::calibrate`] among them).
    pub fn params(&self) -> &Params {
        &self.params
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
        let prose = !idx.paragraphs().kind(row).is_apart();
        let allow = |r: usize| {
            r != row
                && (same_doc || idx.doc_index(r) != doc)
                && !(prose && idx.paragraphs().kind(r).is_apart())
        };
        self.rank(
            &idx.vector(row),
            idx.paragraphs().text(row),
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
        self.crossref_rows(0..self.index.len())
    }

    /// Links for the paragraphs of `rows`, in order (one part of a crossref).
    pub fn crossref_rows(&self, rows: std::ops::Range<usize>) -> Vec<Vec<Link>> {
        use rayon::prelude::*;
        rows.into_par_iter()
            .map(|row| self.crossref_row(row))
            .collect()
    }

    /// A paragraph's links in the crossref: none from tables and code (searchable and
    /// related to other passages, but not what a cross-reference list is of).
    fn crossref_row(&self, row: usize) -> Vec<Link> {
        if self.index.paragraphs().kind(row).is_apart() {
            return Vec::new();
        }
        self.from_row(row, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::dense;

    /// A library whose Chinese part covers two subjects — 40 paragraphs on A, translated in
    /// the English part, and 6 on B — and one English paragraph between A and B: after
    /// centring (the Chinese mean is mostly A's) it points where the B paragraphs do, and
    /// clears [`Params::across_floor`], but in the model's own space it is further from them than a
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
            let dense = dense::pair(&index, b, odd, linker.params().link);
            assert!(dense >= linker.params().across_floor, "centred {dense}");
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
