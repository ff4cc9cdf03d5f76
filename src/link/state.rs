//! What linking learns about one index, measured once and shared by every linker of that
//! index (a `crossref`'s threads, a server's requests): per-language-pair background
//! statistics sampled when the linker is made, and per-row properties measured the first
//! time a link needs them — a row's hubness across languages and whether it is repeated
//! text.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::index::Index;
use crate::rank::Params;

/// What linking knows about an index beyond its rows: [`Linker::new`] samples it, a
/// server keeps it per index generation ([`Linker::with_state`]). Clones share the per-row
/// values measured so far.
///
/// *Scores made comparable across language pairs.* Even on centred vectors
/// ([`crate::index::langspace`]) the scores of pairs in different languages spread less
/// than those of same-language pairs, and the lexical channel adds less across scripts, so
/// one threshold and one ranking would still favour the source's own language. Each
/// (source language, target language) pair's background distribution — the scores of
/// cross-document pairs sampled from the corpus — is mapped onto the distribution of the
/// corpus's largest same-language pair by two anchors, its median `m` and its
/// [`Params::map_quantile`] quantile `h` ([`Anchors`]): `s' = m_ref + (h_ref − m_ref)·(s − m)/(h − m)`
/// ([`LinkState::map`]). A one-language corpus needs none (scores stay as they are).
///
/// *Per row*, measured when first needed: its hubness across languages (see
/// [`Params::hub_weight`]) and whether it is repeated text ([`Params::repeated_in`]).
///
/// [`Linker::new`]: super::Linker::new
/// [`Linker::with_state`]: super::Linker::with_state
#[derive(Debug, Clone, Default)]
pub struct LinkState {
    /// (source language, target language) → background scores.
    pub(super) stats: HashMap<(String, String), Anchors>,
    pub(super) reference: Anchors,
    /// Per row, the mean centred cosine of its [`Params::hub_neighbours`] nearest rows in other
    /// languages (a multilingual corpus; else none).
    pub(super) hubs: Hubs,
    /// (source language, target language), two languages → the median plain cosine of
    /// their background pairs (see [`LinkState::typical`]).
    pub(super) typical: HashMap<(String, String), f32>,
    /// Per row, whether it is repeated text ([`Params::repeated_in`]).
    pub(super) repeated: Repeated,
}

/// A language pair's background scores as the map takes them: their median and a high
/// quantile ([`Params::map_quantile`]).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Anchors {
    pub median: f32,
    pub high: f32,
}

impl Anchors {
    /// The anchors of `scores` (reordered), the median and the `high` quantile; `None` for
    /// fewer than two.
    pub fn of(scores: &mut [f32], high: f64) -> Option<Self> {
        if scores.len() < 2 {
            return None;
        }
        Some(Self {
            median: super::quantile(scores, 0.5),
            high: super::quantile(scores, high),
        })
    }

    /// `score` moved from this pair's scale onto `reference`'s (unchanged where this
    /// pair's anchors coincide).
    pub fn map(&self, score: f32, reference: &Anchors) -> f32 {
        let spread = self.high - self.median;
        if spread > 1e-6 {
            reference.median + (reference.high - reference.median) * (score - self.median) / spread
        } else {
            score
        }
    }
}

/// Which rows are repeated text ([`Params::repeated_in`]): near-copies, measured row by row the
/// first time a link needs it (one search), and verbatim copies, counted for all rows at
/// once when first needed; shared like [`Hubs`].
#[derive(Debug, Clone, Default)]
pub(super) struct Repeated {
    near: Arc<Vec<OnceLock<bool>>>,
    verbatim: Arc<OnceLock<Vec<bool>>>,
}

impl Repeated {
    pub(super) fn new(rows: usize) -> Self {
        Self {
            near: unmeasured(rows),
            verbatim: Default::default(),
        }
    }

    /// Whether row `row` has near-copies (cosine ≥ [`Params::quote_score`]) in at least
    /// [`Params::repeated_in`] other documents (`params`: the same for every call).
    pub(super) fn near(&self, index: &Index, row: usize, params: &Params) -> bool {
        let Some(cell) = self.near.get(row) else {
            return false;
        };
        let (score, documents) = (params.quote_score, params.repeated_in);
        *cell.get_or_init(|| index.copy_documents(row, score, documents) >= documents)
    }

    /// How many rows were found to be repeated so far ([`super::Linker::crossref`] looks at every
    /// row that has a near-copy among its candidates).
    pub(super) fn found(&self) -> usize {
        self.near
            .iter()
            .filter(|c| c.get().copied().unwrap_or(false))
            .count()
    }

    /// Whether row `row`'s very text (spacing aside) is in at least
    /// [`Params::repeated_in`] other documents: a link to it could as well go to any of
    /// them (`params`: the same for every call).
    pub(super) fn verbatim(&self, index: &Index, row: usize, params: &Params) -> bool {
        let all = self.verbatim.get_or_init(|| {
            use std::hash::{Hash, Hasher};
            let hashes: Vec<u64> = (0..index.len())
                .map(|r| {
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    for word in index.paragraphs().text(r).split_whitespace() {
                        word.hash(&mut h);
                    }
                    h.finish()
                })
                .collect();
            let mut pairs: Vec<(u64, usize)> = hashes
                .iter()
                .enumerate()
                .map(|(r, &h)| (h, index.doc_index(r)))
                .collect();
            pairs.sort_unstable();
            pairs.dedup();
            let mut docs: HashMap<u64, usize> = HashMap::new();
            for (h, _) in pairs {
                *docs.entry(h).or_default() += 1;
            }
            hashes
                .iter()
                .map(|h| docs[h] > params.repeated_in)
                .collect()
        });
        all.get(row).copied().unwrap_or(false)
    }
}

/// One value per row, none measured yet, shared by clones.
fn unmeasured<T>(rows: usize) -> Arc<Vec<OnceLock<T>>> {
    std::sync::Arc::new((0..rows).map(|_| OnceLock::new()).collect())
}

/// Each row's hubness (see [`Params::hub_weight`]), measured the first time a score needs it: a
/// `crossref` measures every row's, `xref related` only those of one paragraph's
/// candidates. Shared by the clones of a [`LinkState`] (a server's requests).
#[derive(Debug, Clone, Default)]
pub(super) struct Hubs(Arc<Vec<OnceLock<f32>>>);

impl Hubs {
    pub(super) fn new(rows: usize) -> Self {
        Self(unmeasured(rows))
    }

    /// Whether there is a hubness to take (a multilingual corpus).
    pub(super) fn active(&self) -> bool {
        !self.0.is_empty()
    }

    /// Row `row`'s hubness over its `neighbours` nearest rows in other languages
    /// ([`Params::hub_neighbours`]: the same for every call).
    pub(super) fn of(&self, index: &Index, row: usize, neighbours: usize) -> f32 {
        *self.0[row].get_or_init(|| hub_of(index, &index.vector(row), index.lang(row), neighbours))
    }
}

/// What a [`LinkState`] sampled — each language pair's background and typical cosine —
/// without the per-row values, as [`super::cache`] keeps it between runs.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Sampled {
    stats: Vec<(String, String, Anchors)>,
    reference: Anchors,
    typical: Vec<(String, String, f32)>,
}

impl Sampled {
    /// The languages whose pairs were sampled (none for a one-language corpus).
    pub fn languages(&self) -> std::collections::BTreeSet<&str> {
        self.stats
            .iter()
            .flat_map(|(a, b, _)| [a.as_str(), b.as_str()])
            .collect()
    }
}

impl LinkState {
    /// What this state sampled ([`Sampled`]), in a fixed order.
    pub fn sampled(&self) -> Sampled {
        fn entries<T: Copy>(map: &HashMap<(String, String), T>) -> Vec<(String, String, T)> {
            let mut all: Vec<_> = map
                .iter()
                .map(|((a, b), x)| (a.clone(), b.clone(), *x))
                .collect();
            all.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
            all
        }
        Sampled {
            stats: entries(&self.stats),
            reference: self.reference,
            typical: entries(&self.typical),
        }
    }

    /// A state with what `sampled` holds, its per-row values `hubs` and `repeated`
    /// unmeasured.
    pub(super) fn of_sampled(sampled: Sampled, hubs: Hubs, repeated: Repeated) -> Self {
        Self {
            stats: sampled
                .stats
                .into_iter()
                .map(|(a, b, x)| ((a, b), x))
                .collect(),
            reference: sampled.reference,
            hubs,
            typical: sampled
                .typical
                .into_iter()
                .map(|(a, b, x)| ((a, b), x))
                .collect(),
            repeated,
        }
    }

    /// The median plain (uncentred) cosine of the background pairs from `from` to `to`,
    /// two languages: a cross-language link must be at least as close as a typical pair
    /// in the model's own space, not only after centring. `f32::MIN` when not measured.
    ///
    /// Centring takes each language's mean; where a language's part covers two subjects
    /// (the seed's policy paragraphs beside 99 Chinese manual pages, with the English
    /// originals), its mean is the larger subject's, and the smaller one's paragraphs share
    /// an "atypical" direction with English lines such as "-c, --total produce a grand
    /// total": the first link of 100 of the 275 seed paragraphs was such a line (plain
    /// cosine 0.75–0.83; a zh→en pair there typically 0.824, translations 0.86–0.95). With
    /// this floor, 7; the seed's gold link recall@5 there 0.678 → 0.722. No parameter to
    /// choose; translation corpora lose at most 0.006 (docs/quality.md, "Libraries of two languages").
    pub fn typical(&self, from: &str, to: &str) -> f32 {
        self.typical
            .get(&(from.to_string(), to.to_string()))
            .copied()
            .unwrap_or(f32::MIN)
    }

    /// `score` of a pair from a `from`-language text to a `to`-language paragraph, on the
    /// reference scale.
    pub fn map(&self, from: &str, to: &str, score: f32) -> f32 {
        if self.stats.is_empty() {
            return score;
        }
        match self.stats.get(&(from.to_string(), to.to_string())) {
            Some(anchors) => anchors.map(score, &self.reference),
            None => score,
        }
    }
}

/// The hubness of a paragraph vector `vector` in `lang` (see [`Params::hub_weight`]): the
/// mean centred cosine of its `neighbours` nearest rows in other languages.
pub(super) fn hub_of(index: &Index, vector: &[f32], lang: &str, neighbours: usize) -> f32 {
    let Some(space) = index.space() else {
        return 0.0;
    };
    let query = crate::index::langspace::centre(vector, space.centroid(lang).0);
    let hits = space.nearest_not_in(lang, &query, neighbours, None);
    hits.iter().map(|h| h.score).sum::<f32>() / hits.len().max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_map_median_to_median_and_top_to_top() {
        // A narrow pair (0.40–0.50) onto a wide reference (0–1): its median and its 99.5th
        // percentile land on the reference's, and scores between them in proportion.
        let mut narrow: Vec<f32> = (0..=1000).map(|i| 0.40 + 0.1 * i as f32 / 1000.0).collect();
        let mut wide: Vec<f32> = (0..=1000).map(|i| i as f32 / 1000.0).collect();
        let (a, r) = (
            Anchors::of(&mut narrow, 0.995).unwrap(),
            Anchors::of(&mut wide, 0.995).unwrap(),
        );
        assert!(
            (a.median - 0.45).abs() < 1e-4 && (a.high - 0.4995).abs() < 1e-4,
            "{a:?}"
        );
        assert!((a.map(a.median, &r) - r.median).abs() < 1e-5);
        assert!((a.map(a.high, &r) - r.high).abs() < 1e-5);
        let mid = a.map((a.median + a.high) / 2.0, &r);
        assert!((mid - (r.median + r.high) / 2.0).abs() < 1e-4, "{mid}");
        // No spread: scores pass unchanged; too few scores: no anchors.
        let flat = Anchors::of(&mut [0.3, 0.3, 0.3], 0.995).unwrap();
        assert_eq!(flat.map(0.7, &r), 0.7);
        assert!(Anchors::of(&mut [0.3], 0.995).is_none());
    }
}
