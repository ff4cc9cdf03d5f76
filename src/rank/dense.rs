//! Dense scores: a text's unit vector against a paragraph, and a pair of paragraphs, each
//! blended from the whole paragraphs' cosine and the best sentence's ([`Weights::dense`]).
//! Pairs in different languages are compared on centred vectors
//! ([`crate::index::langspace`]), which takes each language's offset out of the cosine.

use super::Weights;
use crate::index::{langspace, Index};

/// A paragraph's dense score for a question (or any outside text) with unit vector
/// `query`: `(1 − s)·cos(query, paragraph) + s·max cos(query, sentence)`; the plain cosine
/// for a one-sentence paragraph.
pub fn score(index: &Index, query: &[f32], row: usize, weights: Weights) -> f32 {
    let whole = index.rows().dot(row, query);
    let best = (!index.sentence_range(row).is_empty())
        .then(|| index.unit_scores(query, row).fold(f32::MIN, f32::max));
    weights.dense(whole, best)
}

/// [`score`] of a `lang` text's unit vector `query` against paragraph `row` in another
/// language, on centred vectors; the plain score in a one-language corpus.
pub fn score_across(index: &Index, query: &[f32], lang: &str, row: usize, weights: Weights) -> f32 {
    let Some(space) = index.space() else {
        return score(index, query, row, weights);
    };
    let (pc, sc) = space.centroid(lang);
    let (q, qs) = (langspace::centre(query, pc), langspace::centre(query, sc));
    let whole = space.rows().dot(row, &q);
    let r = index.sentence_range(row);
    let best = (!r.is_empty()).then(|| {
        r.map(|s| space.sentence_rows().dot(s, &qs))
            .fold(f32::MIN, f32::max)
    });
    weights.dense(whole, best)
}

/// [`score`] in the text's own language, [`score_across`] in another.
pub fn score_in(index: &Index, query: &[f32], lang: &str, row: usize, weights: Weights) -> f32 {
    if index.lang(row) == lang {
        score(index, query, row, weights)
    } else {
        score_across(index, query, lang, row, weights)
    }
}

/// A pair of paragraphs' dense score: `(1 − s)·cos(a, b) + s·max cos(sentence of a,
/// sentence of b)` (each side's units as in [`Index::unit_scores`]), on centred vectors when
/// the two are in different languages.
pub fn pair(index: &Index, a: usize, b: usize, weights: Weights) -> f32 {
    let space = index.space().filter(|_| index.lang(a) != index.lang(b));
    // Same language: the stored rows; across languages: the centred ones; either way
    // compared byte by byte (exact integer products).
    let cosine = |x: Unit, y: Unit| -> f32 {
        let (rx, ix) = rows_of(index, space, x);
        let (ry, iy) = rows_of(index, space, y);
        rx.pair(ix, ry, iy)
    };
    let whole = cosine(Unit::Whole(a), Unit::Whole(b));
    if index.sentence_range(a).is_empty() && index.sentence_range(b).is_empty() {
        return whole;
    }
    let units = |row: usize| -> Vec<Unit> {
        let r = index.sentence_range(row);
        if r.is_empty() {
            vec![Unit::Whole(row)]
        } else {
            r.map(Unit::Sentence).collect()
        }
    };
    let (ua, ub) = (units(a), units(b));
    let best = ua
        .iter()
        .flat_map(|&u| ub.iter().map(move |&v| cosine(u, v)))
        .fold(f32::MIN, f32::max);
    weights.dense(whole, Some(best))
}

/// What a pair's cosine compares on each side: a whole paragraph (standing for its one
/// sentence) or one sentence.
#[derive(Clone, Copy)]
enum Unit {
    Whole(usize),
    Sentence(usize),
}

/// The rows a unit is compared on (the centred ones when `space` is given) and its row.
fn rows_of<'a>(
    index: &'a Index,
    space: Option<&'a langspace::LangSpace>,
    u: Unit,
) -> (&'a crate::index::ann::Rows, usize) {
    match (u, space) {
        (Unit::Whole(r), None) => (index.rows(), r),
        (Unit::Sentence(s), None) => (index.sentence_rows(), s),
        (Unit::Whole(r), Some(sp)) => (sp.rows(), r),
        (Unit::Sentence(s), Some(sp)) => (sp.sentence_rows(), s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::store::synthetic_index;

    /// Without sentence vectors a paragraph's dense score is its cosine; across languages
    /// pairs and questions are scored on centred vectors, where a translation (same
    /// meaning, other language offset) scores 1.
    #[test]
    fn dense_scores_within_and_across_languages() {
        let v = |lang: f32, m: f32| {
            let mut v = vec![lang, m.cos(), m.sin(), 0.0];
            crate::embed::normalize(&mut v);
            v
        };
        let mut rows = Vec::new();
        for i in 0..12 {
            let m = i as f32 * 0.5;
            rows.push((format!("z{i}"), format!("第{i}段讨论了政策。"), v(0.8, m)));
            rows.push((
                format!("e{i}"),
                format!("Paragraph {i} discusses the policy."),
                v(-0.8, m),
            ));
        }
        let root = tempfile::tempdir().unwrap();
        let index = synthetic_index(root.path(), &rows);
        assert!(index.is_multilingual());
        let w = crate::rank::Params::default().question;
        let q = v(0.8, 0.0);
        let plain = index.rows().dot(2, &q);
        assert!((score(&index, &q, 2, w) - plain).abs() < 1e-6);
        assert_eq!(score_in(&index, &q, "zh", 2, w), score(&index, &q, 2, w));
        // Row 1 is row 0's translation: far apart plainly, one meaning once centred.
        assert!(index.rows().pair(0, index.rows(), 1) < 0.5);
        assert!(pair(&index, 0, 1, w) > 0.95, "{}", pair(&index, 0, 1, w));
        assert!(score_in(&index, &q, "zh", 1, w) > 0.95);
        assert!(pair(&index, 0, 3, w) < pair(&index, 0, 1, w));
    }
}
