//! Questions: rows answering a text, best first; the sentence that answers; whether the
//! corpus answers at all.

use std::collections::HashMap;

use super::{candidates, dense, question_breadth, Mode, Params, Ranking, Standard, Weights};
use crate::index::{langspace, Hit, Index};
use crate::text::sentence_units;

/// Per target language, the map of a question's dense scores onto the scale of its own
/// language's. `None` for a one-language corpus.
type QuestionNorm<'a> = Option<HashMap<&'a str, Affine>>;

/// `s ↦ offset + slope·s`.
#[derive(Debug, Clone, Copy)]
struct Affine {
    offset: f32,
    slope: f32,
}

impl Affine {
    /// [`Standard::map`] from distribution `from` onto `to`, as an affine map.
    fn between(from: Standard, to: Standard) -> Self {
        let offset = from.map(0.0, &to);
        Self {
            offset,
            slope: from.map(1.0, &to) - offset,
        }
    }

    /// `(1 − w)·self + w·other`.
    fn blend(self, other: Self, w: f32) -> Self {
        Self {
            offset: (1.0 - w) * self.offset + w * other.offset,
            slope: (1.0 - w) * self.slope + w * other.slope,
        }
    }

    fn apply(&self, s: f32) -> f32 {
        self.offset + self.slope * s
    }
}

/// Rows answering a question, best first, ranked by `ranking` (its steps as
/// [`Components`](super::Components) name them) and its parameters ([`Params`]), by mode:
/// `Dense` ([`dense::score`] of the dense candidates, with [`Params::question`]), `Lexical`
/// (BM25, scores normalised to the best hit), or `Hybrid`: the union of both candidate lists
/// re-scored as `(1 − w)·dense + w·bm25/bm25_ideal` with `w` = `params.question.lexical`,
/// where `bm25_ideal` is what a
/// paragraph matching every query term once would score (so a lone common term — a year,
/// a number — adds little). In a multilingual corpus, answers in another language are
/// scored on centred vectors and mapped onto the scale of the question's language; their
/// lexical score is what they share with the question across scripts (identifiers and
/// numbers), and a passage's translations join it as one answer later
/// ([`crate::searcher`]).
pub fn answer(
    index: &Index,
    vector: &[f32],
    text: &str,
    k: usize,
    ranking: &Ranking,
    allow: Option<&dyn Fn(usize) -> bool>,
) -> Vec<Hit> {
    let n = question_breadth(k);
    let on = ranking.components;
    let params = &ranking.params;
    let weights = Weights {
        lexical: params.question.lexical,
        sentence: if on.sentences {
            params.question.sentence
        } else {
            0.0
        },
    };
    let mut hits: Vec<Hit> = match ranking.mode {
        Mode::Lexical => {
            let hits = index.lexical().search(text, k, allow);
            let max = hits.first().map_or(1.0, |h| h.1.max(f32::MIN_POSITIVE));
            return hits
                .into_iter()
                .map(|(row, s)| Hit {
                    row,
                    score: s / max,
                })
                .collect();
        }
        Mode::Dense | Mode::Hybrid => {
            let lang = index.text_lang(text, vector);
            let norm = if on.language_map {
                question_norm(index, vector, lang, on.background.then_some(params))
            } else {
                None
            };
            // Hybrid: BM25 over all terms in the question's script; across languages only
            // identifiers and numbers can be shared.
            let lex = (ranking.mode == Mode::Hybrid).then(|| candidates::lexical(index, text));
            let across = (lex.is_some() && index.is_multilingual() && on.lexical_across)
                .then(|| candidates::lexical_across(index, text));
            let mut rows = match &lex {
                Some(same) => candidates::hybrid(index, vector, same, n, on.sentences, allow),
                None => candidates::dense(index, vector, n, on.sentences, allow),
            };
            if on.across {
                rows.extend(candidates::across_languages(index, vector, lang, n, allow));
            }
            rows.sort_unstable();
            rows.dedup();
            rows.into_iter()
                .map(|row| {
                    let dense = question_dense(index, vector, lang, row, &norm, weights);
                    let score = match &lex {
                        None => dense,
                        // In another language: the identifiers and numbers it shares with
                        // the question.
                        Some(_) if index.is_multilingual() && index.lang(row) != lang => {
                            let shared = across.as_ref().map_or(0.0, |a| a.get(row));
                            weights.fuse(dense, shared)
                        }
                        Some(same) => weights.fuse(dense, same.get(row)),
                    };
                    Hit { row, score }
                })
                .collect()
        }
    };
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
    if !on.prose_first {
        hits.truncate(k);
        return hits;
    }
    // Tables and code answer, but do not crowd out the prose that explains: the best prose
    // candidate comes first, and tables and code that made the top k follow its prose.
    let apart = |h: &Hit| index.paragraphs().kind(h.row).is_apart();
    if let Some(p) = hits.iter().position(|h| !apart(h)) {
        hits[..=p].rotate_right(1);
    }
    hits.truncate(k);
    hits.sort_by_key(apart);
    hits
}

/// Per target language, the map of a question's scores onto its own language's scale:
/// the mean and sd of the question's paragraph scores in that language (plain within its
/// language, centred across) mapped onto those in the question's own language (else the
/// largest language's), blended (given `background`'s parameters) by
/// [`Params::background_weight`] with the same map for the corpus's background cosines from
/// a paragraph in the question's language. `None` for a one-language corpus. Makes an answer
/// in another language rank with, not below, one in the question's language (see
/// `link::LinkState` for the same idea on links).
///
/// Mapped by its own scores alone, a question's score in a language whose part of the
/// corpus is all near its subject stands out little: Chinese questions about 8 English
/// manual pages, in a library that also held Chinese kernel documentation, found their
/// answer in the first five for 1 of 16 (the pages' paragraphs are all about files and
/// commands, so the answer's z-score is modest, while the kernel docs' tail is long).
/// Mapped by the background alone ([`LangSpace::background`]), cross-language scores rose
/// over everything (English questions about those pages fell from 10 of 16 to 1); the
/// blend's weight and what it was chosen on: [`Params::background_weight`].
///
/// [`LangSpace::background`]: crate::index::langspace::LangSpace::background
fn question_norm<'a>(
    index: &'a Index,
    vector: &[f32],
    lang: &str,
    background: Option<&Params>,
) -> QuestionNorm<'a> {
    let space = index.space()?;
    let centred = langspace::centre(vector, space.centroid(lang).0);
    let mut by_lang: HashMap<&str, Vec<f32>> = HashMap::new();
    for r in 0..index.len() {
        let s = if index.lang(r) == lang {
            index.rows().dot(r, vector)
        } else {
            space.rows().dot(r, &centred)
        };
        by_lang.entry(index.lang(r)).or_default().push(s);
    }
    let stats: HashMap<&str, Standard> = by_lang
        .iter()
        .filter_map(|(&l, scores)| Some((l, Standard::of(scores.iter().copied())?)))
        .collect();
    let reference = stats.get(lang).copied().or_else(|| {
        by_lang
            .iter()
            .max_by_key(|(l, scores)| (scores.len(), **l))
            .map(|(l, _)| stats[l])
    })?;
    let standard = |(mean, sd)| Standard { mean, sd };
    let own = space.background(lang, lang).map(standard);
    Some(
        stats
            .iter()
            .map(|(&l, &st)| {
                let mine = Affine::between(st, reference);
                let map = match (space.background(lang, l).map(standard), own, background) {
                    (Some(b), Some(own), Some(params)) => {
                        mine.blend(Affine::between(b, own), params.background_weight)
                    }
                    _ => mine,
                };
                (l, map)
            })
            .collect(),
    )
}

/// A question's dense score for `row`: [`dense::score`] in its own language,
/// [`dense::score_across`] in another, mapped by `norm` (see [`question_norm`]).
fn question_dense(
    index: &Index,
    vector: &[f32],
    lang: &str,
    row: usize,
    norm: &QuestionNorm,
    weights: Weights,
) -> f32 {
    let s = dense::score_in(index, vector, lang, row, weights);
    match norm.as_ref().and_then(|maps| maps.get(index.lang(row))) {
        Some(map) => map.apply(s),
        None => s,
    }
}

/// The sentence of paragraph `row` closest to `query`, when the paragraph has sentence
/// vectors (the sentence that most likely answers a question).
pub fn best_sentence<'a>(index: &'a Index, query: &[f32], row: usize) -> Option<&'a str> {
    if index.sentence_range(row).is_empty() {
        return None;
    }
    let scores: Vec<f32> = index.unit_scores(query, row).collect();
    let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]))?;
    let units = sentence_units(index.paragraphs().text(row));
    // The same split that produced the vectors (the format version pins it).
    (units.len() == scores.len()).then(|| units[best])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::store::synthetic_index;
    use crate::rank::Components;

    const DIM: usize = 16;

    /// A unit vector: axis 0 the language (+ Chinese, − English), axis 1 the subject of
    /// the library's Chinese part, axes 2.. the meaning.
    fn vector(lang: f32, subject: f32, meaning: &[f32]) -> Vec<f32> {
        let mut v = vec![0.0; DIM];
        (v[0], v[1]) = (lang, subject);
        v[2..].copy_from_slice(meaning);
        crate::embed::normalize(&mut v);
        v
    }

    /// A library whose languages cover different subjects: 120 Chinese paragraphs on one
    /// subject, 120 English ones on others, the last of them the answer. Returns the index,
    /// the answer's row and a Chinese question about it (its vector: the Chinese offset, the
    /// answer's meaning).
    fn library(root: &std::path::Path) -> (Index, usize, Vec<f32>) {
        let mut u = crate::index::ann::random_uniform(11);
        let mut meaning = || -> Vec<f32> { (2..DIM).map(|_| 0.6 * u()).collect() };
        let mut rows = Vec::new();
        for i in 0..120 {
            let text = format!("第{i}段讨论了数据和结果。");
            rows.push((format!("zh{}", i / 4), text, vector(0.7, 0.5, &meaning())));
        }
        for i in 0..120 {
            let text = format!("Paragraph {i} explains how the files are copied.");
            rows.push((format!("en{}", i / 4), text, vector(-0.7, 0.0, &meaning())));
        }
        let answer = rows.len() - 1;
        let question = vector(0.7, 0.5, &rows[answer].2[2..]);
        (synthetic_index(root, &rows), answer, question)
    }

    /// The answer in the other language is found first, though every Chinese paragraph is
    /// nearer the question's plain vector: the other language's nearest rows on centred
    /// vectors are candidates, and its centred score wins.
    #[test]
    fn a_question_finds_its_answer_in_the_other_language() {
        let root = tempfile::tempdir().unwrap();
        let (index, right, q) = library(root.path());
        assert!(index.is_multilingual());
        let text = "文件是怎样复制的？";
        assert_eq!(index.text_lang(text, &q), "zh");
        let plain = index.search_exact(&q, 10, None);
        assert!(plain.iter().all(|h| index.lang(h.row) == "zh"), "{plain:?}");
        for mode in [Mode::Dense, Mode::Hybrid] {
            let ranking = Ranking {
                mode,
                ..Ranking::default()
            };
            let hits = answer(&index, &q, text, 5, &ranking, None);
            assert_eq!(hits[0].row, right, "{mode:?}: {hits:?}");
            // Without the other language's candidates, the plain nearest rows (all Chinese)
            // are all that is scored.
            let own_only = Ranking {
                components: Components::ALL.without("across").unwrap(),
                ..ranking
            };
            let hits = answer(&index, &q, text, 5, &own_only, None);
            assert!(hits.iter().all(|h| h.row != right), "{mode:?}: {hits:?}");
        }
        // A filter keeps the answer out.
        let not_it = |r: usize| r != right;
        let hits = answer(&index, &q, text, 5, &Ranking::default(), Some(&not_it));
        assert!(hits.iter().all(|h| h.row != right));
    }

    /// Lexical: BM25 alone ranks by shared terms and scales the best to 1; hybrid adds the
    /// lexical weight to a row that shares the question's words.
    #[test]
    fn lexical_scores_are_relative_to_the_best_and_fuse_by_weight() {
        let root = tempfile::tempdir().unwrap();
        let (index, _, q) = library(root.path());
        let text = "Paragraph 7 explains";
        let lexical = Ranking {
            mode: Mode::Lexical,
            ..Ranking::default()
        };
        let hits = answer(&index, &q, text, 3, &lexical, None);
        assert_eq!(
            index.paragraphs().text(hits[0].row),
            "Paragraph 7 explains how the files are copied."
        );
        assert_eq!(hits[0].score, 1.0);
        assert!(hits[1].score < 1.0);
        // The same question vector, hybrid with and without lexical weight: the row sharing
        // "7" gains, by at most the weight.
        let row = hits[0].row;
        let score_of = |weight: f32| {
            let mut r = Ranking::default();
            r.params.question.lexical = weight;
            let r = Ranking {
                components: Components::ALL.without("across").unwrap(),
                ..r
            };
            let hits = answer(&index, &q, text, index.len(), &r, Some(&|x| x == row));
            assert_eq!(hits.len(), 1, "{hits:?}");
            hits[0].score
        };
        let (with, without) = (score_of(0.5), score_of(0.0));
        assert!(with > 0.5 * without, "{with} vs {without}");
        assert!(with <= 0.5 * without + 0.5 + 1e-6, "{with} vs {without}");
    }

    #[test]
    fn affine_maps_one_distribution_onto_another() {
        let from = Standard { mean: 0.5, sd: 0.1 };
        let to = Standard {
            mean: 0.8,
            sd: 0.05,
        };
        let a = Affine::between(from, to);
        assert!((a.apply(0.5) - 0.8).abs() < 1e-6);
        assert!((a.apply(0.6) - 0.85).abs() < 1e-6);
        let id = Affine::between(to, to);
        let half = a.blend(id, 0.5);
        assert!((half.apply(0.6) - 0.5 * (0.85 + 0.6)).abs() < 1e-6);
    }
}
