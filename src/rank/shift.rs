//! An English question asked of a Chinese corpus, or a Chinese question of an English one.
//!
//! In a corpus of one language there are no language centroids to centre on
//! ([`crate::index::langspace`] needs paragraphs in two languages), and a question in the
//! other language sits at the offset multilingual-e5 puts between the two languages: its
//! cosines with every paragraph run low, and they rank the right paragraph worse (the seed's
//! English questions on its Chinese text: hybrid hit@1 0.529, against 0.897 for its Chinese
//! questions). The reference questions ([`super::reference`]) are the same 16 questions in
//! both languages, so the difference of their means is that offset as the model sees
//! questions; [`QueryShift::apply`] adds [`Params::shift`] times it to the question's
//! vector, towards the corpus's language, and renormalises.
//!
//! The factor was chosen on two sets of Chinese questions about English manual pages, by
//! their mean MRR@10: 16 paraphrased questions (`tests/gold/manpages-en.json`) and 87
//! NAME-line translations (`benches/parallel/name_questions.py` on the English pages
//! alone). They pull apart — paraphrases gain from a long move, translations, already close
//! to their original, lose their first place (hit@1 0.701 unmoved, 0.575 at 0.75, 0.402 at
//! 1.25) — and the mean peaks at 0.5 (0: 0.609, 0.25: 0.623, **0.5: 0.642**, 0.75: 0.624,
//! 1.0: 0.593). Reported on the seed's 34 English questions (docs/quality.md). Only
//! questions the two reference languages cover are moved: English on a Chinese corpus,
//! Chinese on an English one; the question's out-of-corpus confidence is taken on its own
//! vector.

use std::borrow::Cow;

use super::reference::{REFERENCE_EN, REFERENCE_ZH};
use super::Params;
use crate::index::{langspace, Index};
use crate::text::lang;

/// For one corpus: which questions are moved, and by how much (see the module's
/// documentation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryShift {
    /// The language of the questions that are moved (`en` on a Chinese corpus, `zh` on an
    /// English one).
    from: &'static str,
    /// [`Params::shift`] times the offset from that language's reference questions to the
    /// corpus's; empty: no question is moved.
    offset: Vec<f32>,
}

impl QueryShift {
    /// For `index`, from the reference questions' vectors ([`super::reference::embed`], or
    /// the tail of a batch), by [`Params::shift`] of `params`: no shift for a corpus of
    /// several languages (left to the cross-language scoring on centred vectors) or of a
    /// language other than English and Chinese.
    pub fn from_references(index: &Index, vectors: &[Vec<f32>], params: &Params) -> Self {
        let (n_en, n_zh) = (REFERENCE_EN.len(), REFERENCE_ZH.len());
        if vectors.len() != n_en + n_zh || index.is_multilingual() {
            return Self::default();
        }
        let corpus = (0..index.len())
            .map(|r| index.lang(r))
            .find(|&l| l != "und");
        let (from, sign) = match corpus {
            Some("en") => ("zh", params.shift),
            Some("zh") => ("en", -params.shift),
            _ => return Self::default(),
        };
        let dim = vectors[0].len();
        let mean = |range: std::ops::Range<usize>| {
            langspace::mean(vectors[range].iter().cloned(), dim).unwrap_or_default()
        };
        let (en, zh) = (mean(0..n_en), mean(n_en..n_en + n_zh));
        Self {
            from,
            offset: en.iter().zip(&zh).map(|(e, z)| sign * (e - z)).collect(),
        }
    }

    /// The vector to rank `question` with: moved towards the corpus's language when the
    /// question is in the other one of English and Chinese, else `vector` itself.
    pub fn apply<'a>(&self, question: &str, vector: &'a [f32]) -> Cow<'a, [f32]> {
        if self.offset.len() != vector.len() || lang::detect(question) != self.from {
            return Cow::Borrowed(vector);
        }
        let mut moved: Vec<f32> = vector
            .iter()
            .zip(&self.offset)
            .map(|(v, d)| v + d)
            .collect();
        crate::embed::normalize(&mut moved);
        Cow::Owned(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::store::synthetic_index;

    fn unit(v: [f32; 4]) -> Vec<f32> {
        let mut v = v.to_vec();
        crate::embed::normalize(&mut v);
        v
    }

    /// The reference questions: the English ones along axis 0, the Chinese ones along axis 1.
    fn references() -> Vec<Vec<f32>> {
        let en = (0..REFERENCE_EN.len()).map(|_| unit([1.0, 0.0, 0.2, 0.0]));
        let zh = (0..REFERENCE_ZH.len()).map(|_| unit([0.0, 1.0, 0.2, 0.0]));
        en.chain(zh).collect()
    }

    fn corpus(root: &std::path::Path, texts: &[&str]) -> Index {
        let rows: Vec<(String, String, Vec<f32>)> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    format!("d{i}"),
                    t.to_string(),
                    unit([1.0, 0.0, 0.0, i as f32]),
                )
            })
            .collect();
        synthetic_index(root, &rows)
    }

    /// On an English corpus a Chinese question moves by the shift × (English − Chinese) and is
    /// renormalised; an English question stays as it is.
    #[test]
    fn a_question_in_the_other_language_moves_towards_the_corpus() {
        let root = tempfile::tempdir().unwrap();
        let index = corpus(
            root.path(),
            &[
                "The files are copied to the target folder.",
                "Each line is printed.",
            ],
        );
        let p = Params::default();
        let shift = QueryShift::from_references(&index, &references(), &p);
        let q = unit([0.0, 1.0, 0.0, 1.0]);
        let moved = shift.apply("文件是怎样复制的？", &q);
        let en = unit([1.0, 0.0, 0.2, 0.0]);
        let zh = unit([0.0, 1.0, 0.2, 0.0]);
        let mut want: Vec<f32> = (0..4).map(|i| q[i] + p.shift * (en[i] - zh[i])).collect();
        crate::embed::normalize(&mut want);
        for (a, b) in moved.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{moved:?} vs {want:?}");
        }
        assert!(matches!(
            shift.apply("How are files copied?", &q),
            Cow::Borrowed(_)
        ));
    }

    /// No shift for a multilingual corpus, nor without the reference questions.
    #[test]
    fn no_shift_where_the_corpus_has_both_languages() {
        let root = tempfile::tempdir().unwrap();
        let mut texts = vec!["The files are copied to the target folder."; 12];
        texts.extend(vec!["文件被复制到目标文件夹。"; 12]);
        let index = corpus(root.path(), &texts);
        assert!(index.is_multilingual());
        assert_eq!(
            QueryShift::from_references(&index, &references(), &Params::default()),
            QueryShift::default()
        );
        let root = tempfile::tempdir().unwrap();
        let index = corpus(root.path(), &["The files are copied."]);
        assert_eq!(
            QueryShift::from_references(&index, &[], &Params::default()),
            QueryShift::default()
        );
    }
}
