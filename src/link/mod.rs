//! Links: nearest neighbours in *other* documents, thresholded by a score calibrated on the
//! corpus itself, with near-identical passages marked as quotations.
//!
//! e5 scores are compressed (unrelated passages score about 0.75), so no fixed threshold
//! means the same thing on every corpus. [`Calibration`] looks at the scores of paragraph
//! pairs from different documents — all pairs for corpora up to a few thousand paragraphs, a
//! fixed random sample beyond — and puts the default threshold at a high quantile of that
//! background distribution: a link must beat all but the top `1 - q` of random pairings.

use std::collections::HashSet;

use serde::Serialize;

use crate::index::Index;

/// Default quantile of cross-document pair scores used as the link threshold.
pub const DEFAULT_QUANTILE: f64 = 0.995;
/// Score at or above which a pair counts as a quotation even without a long shared run.
pub const QUOTE_SCORE: f32 = 0.97;
/// Characters of identical running text that make a quotation.
pub const QUOTE_RUN: usize = 30;

/// One link from a paragraph to another.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Link {
    pub row: usize,
    pub score: f32,
    pub quote: bool,
}

/// The background score distribution of a corpus and the threshold drawn from it.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub pairs: usize,
    pub mean: f32,
    pub std: f32,
    pub quantile: f64,
    pub threshold: f32,
}

impl Calibration {
    /// Calibrate on the cross-document pairs of `index`.
    pub fn of(index: &Index, quantile: f64) -> Self {
        let n = index.len();
        let docs: Vec<&str> = index.paragraphs.iter().map(|p| p.doc_id.as_str()).collect();
        let mut scores = Vec::new();
        const EXHAUSTIVE: usize = 3000;
        if n <= EXHAUSTIVE {
            for i in 0..n {
                for j in i + 1..n {
                    if docs[i] != docs[j] {
                        scores.push(dot(index.vector(i), index.vector(j)));
                    }
                }
            }
        } else {
            // A deterministic sample of 2M pairs (xorshift), so runs are repeatable.
            let mut state = 0x9E37_79B9_7F4A_7C15u64;
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % n as u64) as usize
            };
            while scores.len() < 2_000_000 {
                let (i, j) = (next(), next());
                if docs[i] != docs[j] {
                    scores.push(dot(index.vector(i), index.vector(j)));
                }
            }
        }
        if scores.is_empty() {
            return Self { pairs: 0, mean: 0.0, std: 0.0, quantile, threshold: 0.0 };
        }
        let mean = scores.iter().sum::<f32>() / scores.len() as f32;
        let std = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / scores.len() as f32).sqrt();
        let pos = ((scores.len() - 1) as f64 * quantile.clamp(0.0, 1.0)).round() as usize;
        let (_, &mut threshold, _) = scores.select_nth_unstable_by(pos, |a, b| a.total_cmp(b));
        Self { pairs: scores.len(), mean, std, quantile, threshold }
    }
}

/// Finds links in an index.
pub struct Linker<'a> {
    index: &'a Index,
    /// Most links per paragraph.
    pub k: usize,
    /// Links below this score are dropped.
    pub min_score: f32,
}

impl<'a> Linker<'a> {
    pub fn new(index: &'a Index, k: usize, min_score: f32) -> Self {
        Self { index, k, min_score }
    }

    /// Links from row `row`: other documents only unless `same_doc`; never itself.
    pub fn from_row(&self, row: usize, same_doc: bool) -> Vec<Link> {
        let doc = self.index.paragraphs[row].doc_id.as_str();
        let allow = |r: usize| r != row && (same_doc || self.index.paragraphs[r].doc_id != doc);
        self.collect(self.index.vector(row), Some(&self.index.paragraphs[row].text), &allow)
    }

    /// Links from an outside text's vector, to any document.
    pub fn from_vector(&self, vector: &[f32], text: &str) -> Vec<Link> {
        self.collect(vector, Some(text), &|_| true)
    }

    fn collect(&self, vector: &[f32], text: Option<&str>, allow: &dyn Fn(usize) -> bool) -> Vec<Link> {
        self.index
            .search(vector, self.k, Some(allow))
            .into_iter()
            .filter(|h| h.score >= self.min_score)
            .map(|h| Link {
                row: h.row,
                score: h.score,
                quote: h.score >= QUOTE_SCORE || text.is_some_and(|t| shares_run(t, &self.index.paragraphs[h.row].text, QUOTE_RUN)),
            })
            .collect()
    }

    /// Links for every paragraph, in index order.
    pub fn crossref(&self) -> Vec<Vec<Link>> {
        use rayon::prelude::*;
        (0..self.index.len()).into_par_iter().map(|row| self.from_row(row, false)).collect()
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Whether `a` and `b` share a run of at least `run` identical non-space characters.
pub fn shares_run(a: &str, b: &str, run: usize) -> bool {
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<Vec<char>>();
    let (a, b) = (squash(a), squash(b));
    if a.len() < run || b.len() < run {
        return false;
    }
    let grams: HashSet<&[char]> = a.windows(run).collect();
    b.windows(run).any(|w| grams.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_runs() {
        let quote = "必须牢记高质量发展是新时代的硬道理，全面贯彻新发展理念";
        assert!(shares_run(&format!("他说：{quote}。"), &format!("会议强调，{quote}，推动经济发展"), 20));
        assert!(!shares_run("高质量发展是新时代的硬道理", "新质生产力是创新起主导作用的先进生产力", 20));
        assert!(!shares_run("short", "short", 20));
    }
}
