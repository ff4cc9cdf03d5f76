//! The default threshold: a high quantile of the scores of cross-document pairs, capped
//! where near-copies fill the top ([`Params::tail_length`]).

use super::*;
use crate::rank::{quantile, Standard};

impl Linker<'_> {
    /// Calibrate a threshold on this linker's scores of cross-document pairs: every pair
    /// for up to 3,000 paragraphs; beyond, 600 sources paired with up to 5,000 targets,
    /// both drawn by a hash of their ids (the same rows whatever else the index holds). The
    /// threshold is their `quantile` (by default [`Params::quantile`]), capped where
    /// near-copies fill the top ([`Params::tail_length`]).
    pub fn calibrate(&self, quantile: f64) -> Calibration {
        use rayon::prelude::*;
        let idx = self.index;
        let n = idx.len();
        let (sources, targets): (Vec<usize>, Vec<usize>) = if n <= ALL_PAIRS_UP_TO {
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
                let lex = self.lexical_for(idx.paragraphs().text(i), true);
                let doc = idx.doc_index(i);
                targets
                    .iter()
                    .filter(move |&&j| (n > ALL_PAIRS_UP_TO || j > i) && idx.doc_index(j) != doc)
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
        let Standard { mean, sd: std } = Standard::of(scores.iter().copied()).unwrap_or_default();
        let quantile = quantile.clamp(0.0, 1.0);
        let (percentile, threshold) =
            capped_quantile(&mut scores, quantile, self.params.tail_length);
        Calibration {
            pairs: scores.len(),
            mean,
            std,
            quantile,
            percentile,
            threshold,
        }
    }
}

/// The plain `quantile` of `scores` and the threshold: that quantile, capped at
/// `tail_length` ([`Params::tail_length`], scaled to `quantile`) times the distance from the
/// median to the 90th percentile above the median. Reorders `scores`.
pub(super) fn capped_quantile(scores: &mut [f32], q: f64, tail_length: f32) -> (f32, f32) {
    let plain = quantile(scores, q);
    let (median, p90) = (quantile(scores, 0.5), quantile(scores, 0.9));
    let tail = if q >= 1.0 {
        f32::INFINITY
    } else {
        tail_length * ((0.5 / (1.0 - q)).ln() / 100f64.ln()) as f32
    };
    let cap = median + tail * (p90 - median);
    (plain, plain.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (plain, threshold) = capped_quantile(&mut clean, 0.995, 4.0);
        assert_eq!(plain, threshold);
        assert!(
            (plain - (0.45 + 0.01 * 100f32.ln())).abs() < 2e-3,
            "{plain}"
        );

        copies.extend(std::iter::repeat_n(1.0, n * 3 / 100));
        let (plain, threshold) = capped_quantile(&mut copies, 0.995, 4.0);
        assert_eq!(plain, 1.0);
        // The copies shift the body a little: its quantile q is the clean one's 1.03·q.
        let clean_at = |q: f32| 0.45 - 0.01 * (2.0 * (1.0 - 1.03 * q)).ln();
        let body = clean_at(0.5) + 4.0 * (clean_at(0.9) - clean_at(0.5));
        assert!((threshold - body).abs() < 2e-3, "{threshold} vs {body}");
        // No cap at all for the 100th percentile; a lower quantile gets a shorter tail.
        assert_eq!(capped_quantile(&mut copies, 1.0, 4.0), (1.0, 1.0));
        let (_, at_99) = capped_quantile(&mut copies, 0.99, 4.0);
        assert!(at_99 < threshold);
    }
}
