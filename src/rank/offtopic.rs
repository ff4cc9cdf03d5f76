//! Whether a question is answered by the corpus at all.
//!
//! e5's cosines are compressed (unrelated texts score about 0.75), and their level depends
//! on the scripts of the two texts and on the corpus: a Chinese question scores higher
//! against English text than an English one against Chinese text, and higher against
//! technical Chinese (manual pages, kernel documentation) than against the seed's policy
//! speeches. So a question is held, paragraph by paragraph, to a bar for its script and the
//! paragraph's ([`OffTopic::confidence`]), and each bar is the larger of
//!
//! * a fixed floor ([`OffTopic::floors`]): [`Params::same_language_min`] within a script,
//!   [`Params::from_cjk_min`] for a CJK question on other text, and for another question on
//!   CJK text [`Params::cross_language_min`] in a mostly-CJK corpus, else
//!   [`Params::same_language_min`];
//! * what off-topic reference questions reach in *this* corpus
//!   ([`OffTopic::from_references`]): the median, over [`super::reference::REFERENCE_EN`]
//!   or [`super::reference::REFERENCE_ZH`] (everyday topics that documents are rarely
//!   about), of each one's best cosine among the paragraphs of that script, plus
//!   [`Params::off_topic_margin`]. The median leaves a corpus that is about one or two of
//!   them unmoved.
//!
//! The floors and the margin, and what they were chosen on, are the model's parameters
//! ([`Params`]); for a model they were not measured on there are no floors and no margin
//! ([`Params::neutral`]): the reference questions alone set the bars.

use super::reference::REFERENCE_EN;
use super::Params;
use crate::index::Index;
use crate::text::cjk_ratio;
use crate::text::lang::is_cjk;

/// Nearest paragraphs [`OffTopic::confidence`] looks at (not a parameter of the model: on
/// an exact search the confidence is the same as over every paragraph).
const CONFIDENCE_NEIGHBOURS: usize = 10;

/// The bars of one corpus, by (question script, paragraph script).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OffTopic {
    /// `bars[question is CJK][paragraph is CJK]`.
    bars: [[f32; 2]; 2],
}

impl OffTopic {
    /// The fixed floors of `params` alone, for `index` (whether it is mostly in CJK script
    /// decides the bar of a non-CJK question on CJK text).
    pub fn floors(index: &Index, params: &Params) -> Self {
        let same = params.same_language_min;
        let to_cjk = if index.cjk_ratio() >= 0.5 {
            params.cross_language_min
        } else {
            same
        };
        Self {
            bars: [[same, to_cjk], [params.from_cjk_min, same]],
        }
    }

    /// The floors, raised to where the reference questions reach in `index` (plus the
    /// margin of `params`); `vectors` are the reference questions' vectors
    /// ([`super::reference::embed`] or the tail of a batch). Each question is scanned
    /// against every paragraph.
    pub fn from_references(index: &Index, vectors: &[Vec<f32>], params: &Params) -> Self {
        let mut off = Self::floors(index, params);
        if index.is_empty() {
            return off;
        }
        let cjk_rows: Vec<bool> = (0..index.len()).map(|r| is_cjk(index.lang(r))).collect();
        // tops[question is CJK][paragraph is CJK]: each reference question's best cosine
        // among those paragraphs.
        let mut tops: [[Vec<f32>; 2]; 2] = Default::default();
        for (i, v) in vectors.iter().enumerate() {
            let q = (i >= REFERENCE_EN.len()) as usize;
            let mut best = [f32::MIN; 2];
            for (r, s) in index.rows().scan(v).into_iter().enumerate() {
                let b = &mut best[cjk_rows[r] as usize];
                *b = b.max(s);
            }
            for p in 0..2 {
                if best[p] > f32::MIN {
                    tops[q][p].push(best[p]);
                }
            }
        }
        for (q, row) in tops.iter_mut().enumerate() {
            for (p, t) in row.iter_mut().enumerate() {
                if let Some(m) = median(t) {
                    off.bars[q][p] = off.bars[q][p].max(m + params.off_topic_margin);
                }
            }
        }
        off
    }

    /// The bar a paragraph must clear for a question (CJK or not) to count as answered.
    pub fn bar(&self, question_cjk: bool, paragraph_cjk: bool) -> f32 {
        self.bars[question_cjk as usize][paragraph_cjk as usize]
    }

    /// Whether a question is likely answered by the corpus, as a margin: the best of each
    /// paragraph's cosine minus its bar (positive: in corpus).
    ///
    /// Taken on the question's 10 nearest paragraphs (the graph's, where the index searches
    /// one), not on every paragraph: a script none of them is in has no paragraph above the
    /// lowest one's cosine, so it is scanned only when its bar is low enough for such a
    /// paragraph to do better. On an exact search the same margin as
    /// a scan of every paragraph, which took 5–8 ms of each question at 100,000 paragraphs.
    pub fn confidence(&self, index: &Index, vector: &[f32], question: &str) -> f32 {
        let q = cjk_ratio(question) >= 0.5;
        let script = |r: usize| is_cjk(index.lang(r));
        let hits = index.search(vector, CONFIDENCE_NEIGHBOURS, None);
        let mut best = hits
            .iter()
            .map(|h| h.score - self.bar(q, script(h.row)))
            .fold(f32::MIN, f32::max);
        if hits.len() >= index.len() {
            // Every paragraph was among the hits.
            return best;
        }
        // No paragraph outside the hits scores above the lowest hit (on an exact search;
        // no hits at all: scan each script).
        let floor = hits.iter().map(|h| h.score).fold(f32::MAX, f32::min);
        for p in [false, true] {
            if hits.iter().any(|h| script(h.row) == p) || floor - self.bar(q, p) <= best {
                continue;
            }
            let top = index.search_exact(vector, 1, Some(&|r| script(r) == p));
            if let Some(h) = top.first() {
                best = best.max(h.score - self.bar(q, p));
            }
        }
        best
    }
}

/// The median of `values` (the upper one of an even count); `None` when empty.
fn median(values: &mut [f32]) -> Option<f32> {
    (!values.is_empty()).then(|| super::quantile(values, 0.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The floors by script pair, then each raised to the median best cosine of the
    /// reference questions plus the margin; a question is judged against the bar of the
    /// script of each of its nearest paragraphs. Without floors (another model's
    /// parameters), the reference questions alone set the bars.
    #[test]
    fn bars_start_at_the_floors_and_rise_to_the_references() {
        use super::super::reference::REFERENCE_ZH;
        use crate::index::store::synthetic_index;
        let unit = |a: f32| vec![a.cos(), a.sin(), 0.0];
        let root = tempfile::tempdir().unwrap();
        let rows: Vec<(String, String, Vec<f32>)> = (0..20)
            .map(|i| {
                (
                    format!("d{i}"),
                    format!("第{i}段讨论了政策。"),
                    unit(i as f32 * 0.01),
                )
            })
            .collect();
        let index = synthetic_index(root.path(), &rows);
        let p = Params::default();
        let floors = OffTopic::floors(&index, &p);
        assert_eq!(floors.bar(false, true), p.cross_language_min);
        assert_eq!(floors.bar(true, true), p.same_language_min);
        assert_eq!(floors.bar(true, false), p.from_cjk_min);
        // English references at cosine cos(0.1) ≈ 0.995 from the corpus: the bar for
        // English questions on Chinese text rises above it; the Chinese ones stay at the floor.
        let mut refs = vec![unit(-0.1); REFERENCE_EN.len()];
        refs.extend(vec![vec![0.0, 0.0, 1.0]; REFERENCE_ZH.len()]);
        let off = OffTopic::from_references(&index, &refs, &p);
        assert!((off.bar(false, true) - (0.1f32.cos() + p.off_topic_margin)).abs() < 1e-3);
        assert_eq!(off.bar(true, true), p.same_language_min);
        // A question right on a paragraph clears the bar; one orthogonal to all does not.
        assert!(off.confidence(&index, &unit(0.05), "政策是什么？") > 0.0);
        assert!(off.confidence(&index, &[0.0, 0.0, 1.0], "政策是什么？") < 0.0);
        // Neutral parameters: the references' median itself (the Chinese ones, orthogonal to
        // every paragraph, set the Chinese questions' bar at 0), no floor under it.
        let n = Params::neutral();
        assert_eq!(OffTopic::floors(&index, &n).bar(true, true), -1.0);
        let off = OffTopic::from_references(&index, &refs, &n);
        assert!((off.bar(false, true) - 0.1f32.cos()).abs() < 1e-3);
        assert!(off.bar(true, true).abs() < 1e-3, "{}", off.bar(true, true));
        assert!(off.confidence(&index, &unit(0.05), "政策是什么？") > 0.0);
        assert!(off.confidence(&index, &[-0.6, -0.2, 0.77], "政策是什么？") < 0.0);
    }

    #[test]
    fn median_of_scores() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [0.8]), Some(0.8));
        assert_eq!(median(&mut [0.9, 0.7, 0.8]), Some(0.8));
        assert_eq!(median(&mut [0.9, 0.7, 0.8, 0.6]), Some(0.8));
    }
}
