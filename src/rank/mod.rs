//! Ranking: every score xref orders paragraphs by, in one place — the dense score of a
//! question or a pair of paragraphs ([`dense`]), the candidates worth scoring
//! ([`candidates`]), hybrid questions ([`question`]), whether the corpus answers a question
//! at all ([`offtopic`]), a question moved towards the corpus's language ([`shift`]), both
//! from reference questions ([`reference`](mod@reference)), and the weights and thresholds
//! behind them, the model's parameters ([`Params`], in [`params`]). The index stores vectors
//! and postings and answers nearest-neighbour searches; links ([`crate::link`]), search and
//! `xref eval` rank through this module.
//!
//! Two blends make every score:
//! - dense: `(1 − s)·cos(whole) + s·max cos(sentence)` ([`Weights::dense`]): a question
//!   usually asks about one sentence of a paragraph, which the whole paragraph's vector
//!   dilutes; two related paragraphs often share one sentence's content;
//! - hybrid: `(1 − w)·dense + w·lexical` ([`Weights::fuse`]), `lexical` being BM25 over the
//!   ideal score of the source's terms (capped at 1).

pub mod candidates;
pub mod dense;
pub mod offtopic;
pub mod params;
pub mod question;
pub mod reference;
pub mod shift;

use serde::{Deserialize, Serialize};

pub use offtopic::OffTopic;
pub use params::Params;
pub use question::{answer, best_sentence};
pub use shift::QueryShift;

/// How questions are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Dense scores of the dense candidates.
    Dense,
    /// BM25 alone, scores relative to the best hit.
    Lexical,
    /// Dense and lexical fused over both channels' candidates (the default).
    Hybrid,
}

/// The weights of one kind of ranking (questions' and links' are [`Params::question`] and
/// [`Params::link`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Weights {
    /// Weight `w` of the lexical channel in [`Weights::fuse`].
    pub lexical: f32,
    /// Weight `s` of the best sentence in [`Weights::dense`].
    pub sentence: f32,
}

impl Weights {
    /// `(1 − s)·whole + s·best`, or `whole` alone when there is no sentence score.
    pub fn dense(&self, whole: f32, best_sentence: Option<f32>) -> f32 {
        match best_sentence {
            Some(best) => (1.0 - self.sentence) * whole + self.sentence * best,
            None => whole,
        }
    }

    /// `(1 − w)·dense + w·lexical`.
    pub fn fuse(&self, dense: f32, lexical: f32) -> f32 {
        (1.0 - self.lexical) * dense + self.lexical * lexical
    }
}

/// The steps of question ranking that can be switched off one at a time, to measure what
/// each buys (`xref eval --ablate`). [`Components::ALL`] is what every front end uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Components {
    /// Sentence vectors: the best sentence in the dense score ([`Weights::dense`]) and
    /// sentences as dense candidates.
    pub sentences: bool,
    /// Candidates from the other languages of a multilingual corpus (centred vectors).
    pub across: bool,
    /// A question's dense scores per target language mapped onto its own language's
    /// scale (`question_norm`).
    pub language_map: bool,
    /// The corpus's background cosines blended into that map
    /// ([`Params::background_weight`]).
    pub background: bool,
    /// BM25 over the identifiers and numbers a question shares with rows in another
    /// language.
    pub lexical_across: bool,
    /// The best prose candidate first; tables and code after the prose of the top k.
    pub prose_first: bool,
    /// A question moved towards a one-language corpus's language ([`shift`]).
    pub shift: bool,
    /// A passage and its translations as one answer ([`crate::searcher`]).
    pub grouping: bool,
}

impl Components {
    /// Every step on: the ranking xref ships.
    pub const ALL: Components = Components {
        sentences: true,
        across: true,
        language_map: true,
        background: true,
        lexical_across: true,
        prose_first: true,
        shift: true,
        grouping: true,
    };

    /// The names `without` takes, in the order an ablation reports them.
    pub const NAMES: [&'static str; 8] = [
        "sentences",
        "across",
        "language-map",
        "background",
        "lexical-across",
        "prose-first",
        "shift",
        "grouping",
    ];

    /// These components with `name` switched off; `None` for an unknown name.
    pub fn without(mut self, name: &str) -> Option<Self> {
        let flag = match name {
            "sentences" => &mut self.sentences,
            "across" => &mut self.across,
            "language-map" => &mut self.language_map,
            "background" => &mut self.background,
            "lexical-across" => &mut self.lexical_across,
            "prose-first" => &mut self.prose_first,
            "shift" => &mut self.shift,
            "grouping" => &mut self.grouping,
            _ => return None,
        };
        *flag = false;
        Some(self)
    }
}

impl Default for Components {
    fn default() -> Self {
        Self::ALL
    }
}

/// How a question is ranked: the mode, the steps on, and the parameters (among them the
/// lexical weight of hybrid mode, `params.question.lexical`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranking {
    pub mode: Mode,
    pub components: Components,
    /// The model's parameters ([`Params::of`] the index).
    pub params: Params,
}

impl Default for Ranking {
    /// Hybrid, every step on, the default model's parameters.
    fn default() -> Self {
        Ranking {
            mode: Mode::Hybrid,
            components: Components::ALL,
            params: Params::default(),
        }
    }
}

/// Candidates a question gathers per channel for `k` answers.
pub fn question_breadth(k: usize) -> usize {
    (4 * k).max(50)
}

/// Candidates a link search gathers per channel for `k` links.
pub fn link_breadth(k: usize) -> usize {
    (5 * k).max(50)
}

/// A score distribution's mean and standard deviation: maps scores of one population
/// (a language pair) onto another's scale, `s' = μ_ref + σ_ref·(s − μ)/σ`, so that one
/// ranking and one threshold treat both alike.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Standard {
    pub mean: f32,
    pub sd: f32,
}

impl Standard {
    /// Mean and (population) standard deviation of `scores`, summed in `f64`; `None` when
    /// there are none. The one mean and deviation of the ranking (questions' per-language
    /// maps, the link threshold's report).
    pub fn of(scores: impl IntoIterator<Item = f32>) -> Option<Self> {
        let (mut sum, mut squares, mut n) = (0f64, 0f64, 0usize);
        for s in scores {
            let s = s as f64;
            (sum, squares, n) = (sum + s, squares + s * s, n + 1);
        }
        if n == 0 {
            return None;
        }
        let mean = sum / n as f64;
        let sd = (squares / n as f64 - mean * mean).max(0.0).sqrt();
        Some(Self {
            mean: mean as f32,
            sd: sd as f32,
        })
    }

    /// `score` moved from this distribution onto `reference`'s (unchanged when this one
    /// has no spread).
    pub fn map(&self, score: f32, reference: &Standard) -> f32 {
        if self.sd > 1e-6 {
            reference.mean + reference.sd * (score - self.mean) / self.sd
        } else {
            score
        }
    }
}

/// The `q` quantile (nearest rank) of `scores`, non-empty; reorders them. The one quantile
/// of the ranking (the link threshold, the per-language link map, the out-of-corpus bars).
pub fn quantile(scores: &mut [f32], q: f64) -> f32 {
    let pos = ((scores.len() - 1) as f64 * q).round() as usize;
    *scores.select_nth_unstable_by(pos, |a, b| a.total_cmp(b)).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blends() {
        let w = Weights {
            lexical: 0.25,
            sentence: 0.5,
        };
        assert_eq!(w.dense(0.8, None), 0.8);
        assert!((w.dense(0.8, Some(0.6)) - 0.7).abs() < 1e-6);
        assert!((w.fuse(0.8, 0.4) - 0.7).abs() < 1e-6);
    }

    #[test]
    fn every_component_can_be_switched_off_by_name() {
        let mut seen = Vec::new();
        for name in Components::NAMES {
            let c = Components::ALL.without(name).unwrap();
            assert_ne!(c, Components::ALL, "{name}");
            assert!(!seen.contains(&c), "{name} switches what another name does");
            seen.push(c);
        }
        assert!(Components::ALL.without("everything").is_none());
        assert_eq!(Ranking::default().components, Components::ALL);
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let mut s = [0.9, 0.1, 0.5, 0.3, 0.7];
        assert_eq!(quantile(&mut s, 0.5), 0.5);
        assert_eq!(quantile(&mut s, 0.0), 0.1);
        assert_eq!(quantile(&mut s, 1.0), 0.9);
        assert_eq!(quantile(&mut s, 0.9), 0.9);
        assert_eq!(quantile(&mut s, 0.6), 0.5);
        // An even count: the upper of the two middle scores.
        assert_eq!(quantile(&mut [0.9, 0.7, 0.8, 0.6], 0.5), 0.8);
    }

    #[test]
    fn standard_maps_onto_the_reference() {
        let a = Standard::of([0.6, 0.7, 0.8]).unwrap();
        assert!((a.mean - 0.7).abs() < 1e-6 && (a.sd - (0.02f32 / 3.0).sqrt()).abs() < 1e-6);
        let r = Standard { mean: 0.8, sd: 0.2 };
        assert!((a.map(0.7, &r) - 0.8).abs() < 1e-6);
        assert!(a.map(0.8, &r) > 0.8);
        assert!(Standard::of([]).is_none());
        assert_eq!(Standard::of([0.5]).unwrap().sd, 0.0);
        let flat = Standard::of([0.5, 0.5]).unwrap();
        assert_eq!(flat.map(0.9, &r), 0.9);
    }
}
