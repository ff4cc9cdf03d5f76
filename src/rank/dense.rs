//! Dense scores: a text's unit vector against a paragraph, and a pair of paragraphs, each
//! blended from the whole paragraphs' cosine and the best sentence's ([`Weights::dense`]).
//! Pairs in different languages are compared on centred vectors
//! ([`crate::index::langspace`]), which takes each language's offset out of the cosine.

use super::Weights;
use crate::embed::dot;
use crate::index::{langspace, Index};

/// A paragraph's dense score for a question (or any outside text) with unit vector
/// `query`: `(1 − s)·cos(query, paragraph) + s·max cos(query, sentence)`; the plain cosine
/// for a one-sentence paragraph.
pub fn score(index: &Index, query: &[f32], row: usize, weights: Weights) -> f32 {
    let whole = dot(query, index.vector(row));
    let best = (!index.sentence_range(row).is_empty()).then(|| {
        index
            .units(row)
            .map(|u| dot(query, u))
            .fold(f32::MIN, f32::max)
    });
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
    let whole = dot(&q, space.vector(row));
    let r = index.sentence_range(row);
    let best = (!r.is_empty()).then(|| {
        r.map(|s| dot(&qs, space.sentence(s)))
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
/// sentence of b)` (each side's units as in [`Index::units`]), on centred vectors when
/// the two are in different languages.
pub fn pair(index: &Index, a: usize, b: usize, weights: Weights) -> f32 {
    let space = index.space().filter(|_| index.lang(a) != index.lang(b));
    let vector = |row: usize| space.map_or_else(|| index.vector(row), |sp| sp.vector(row));
    let sentence = |s: usize| space.map_or_else(|| index.sentence(s), |sp| sp.sentence(s));
    let whole = dot(vector(a), vector(b));
    if index.sentence_range(a).is_empty() && index.sentence_range(b).is_empty() {
        return whole;
    }
    let units = |row: usize| -> Vec<&[f32]> {
        let r = index.sentence_range(row);
        if r.is_empty() {
            vec![vector(row)]
        } else {
            r.map(sentence).collect()
        }
    };
    let (ua, ub) = (units(a), units(b));
    let best = ua
        .iter()
        .flat_map(|u| ub.iter().map(move |v| dot(u, v)))
        .fold(f32::MIN, f32::max);
    weights.dense(whole, Some(best))
}
