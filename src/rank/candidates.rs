//! Candidates: the few rows worth scoring for a text — its nearest paragraphs and
//! sentences, its best BM25 rows, and its nearest paragraphs in other languages on centred
//! vectors (which plain cosine would rank below every same-language neighbour).

use crate::index::lexical::{Lexical, Scorer};
use crate::index::{ann, langspace, Hit, Index};

/// Rows worth scoring for `query`: the `n` nearest paragraphs and, `with_sentences`, the
/// paragraphs of the `n` nearest sentences (an exact scan: for one question it costs less
/// than embedding the question), sorted by row.
pub fn dense(
    index: &Index,
    query: &[f32],
    n: usize,
    with_sentences: bool,
    allow: Option<&dyn Fn(usize) -> bool>,
) -> Vec<usize> {
    let owner_allowed = |s: usize| allow.is_none_or(|f| f(index.sentence_owner(s)));
    let by_sentence = if with_sentences {
        // Roughly (the query quantised as the rows are: byte products), twice as many as
        // wanted, then the best of those exactly.
        let sentences = index.sentence_rows();
        let rough = ann::top_of_scores(&sentences.scan_rough(query), 2 * n, Some(&owner_allowed));
        let exact = rough.into_iter().map(|h| Hit {
            row: h.row,
            score: sentences.dot(h.row, query),
        });
        ann::top_hits(exact.collect(), n)
    } else {
        Vec::new()
    };
    let mut rows: Vec<usize> = index
        .search(query, n, allow)
        .iter()
        .map(|h| h.row)
        .chain(by_sentence.iter().map(|h| index.sentence_owner(h.row)))
        .collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// The nearest rows in *other* languages than `lang` to paragraph vector `vector`
/// compared on centred vectors (each language's graph where it has one, else an exact
/// scan; empty for a one-language corpus).
pub fn across_languages(
    index: &Index,
    vector: &[f32],
    lang: &str,
    n: usize,
    allow: Option<&dyn Fn(usize) -> bool>,
) -> Vec<usize> {
    let Some(space) = index.space() else {
        return Vec::new();
    };
    let query = langspace::centre(vector, space.centroid(lang).0);
    // Only the other languages' rows: in a corpus that is mostly one language, the few
    // paragraphs in others are all a source in the main language needs to scan.
    space
        .nearest_not_in(lang, &query, n, allow)
        .into_iter()
        .map(|h| h.row)
        .collect()
}

/// For each of `vectors` (paragraph vectors in `lang`), its nearest row in another
/// language, as [`across_languages`] finds it with `n` = 1 (ties: the lower row): through
/// the languages' graphs where they pay, and the other rows in one pass on every core;
/// `None` each in a one-language corpus.
pub fn nearest_across_languages(
    index: &Index,
    vectors: &[Vec<f32>],
    lang: &str,
    allow: Option<&dyn Fn(usize) -> bool>,
) -> Vec<Option<usize>> {
    use rayon::prelude::*;
    let Some(space) = index.space() else {
        return vec![None; vectors.len()];
    };
    let centroid = space.centroid(lang).0;
    let queries: Vec<Vec<f32>> = vectors
        .iter()
        .map(|v| langspace::centre(v, centroid))
        .collect();
    let (graphs, scanned) = space.others(lang, 1);
    let rows: Vec<usize> = scanned
        .into_iter()
        .filter(|&r| allow.is_none_or(|f| f(r)))
        .collect();
    let none = || vec![None; queries.len()];
    let nearer = |a: Option<Hit>, b: Option<Hit>| match (a, b) {
        (Some(x), Some(y)) if y.score > x.score || (y.score == x.score && y.row < x.row) => Some(y),
        (Some(x), _) => Some(x),
        (None, y) => y,
    };
    let by_graph: Vec<Option<Hit>> = queries
        .iter()
        .map(|q| {
            let hits = graphs.iter().flat_map(|g| g.search(q, 1, allow));
            hits.fold(None, |best, h| nearer(best, Some(h)))
        })
        .collect();
    rows.par_chunks(2048)
        .map(|chunk| {
            let mut best = none();
            for &row in chunk {
                for (b, q) in best.iter_mut().zip(&queries) {
                    let score = space.rows().dot(row, q);
                    *b = nearer(*b, Some(Hit { row, score }));
                }
            }
            best
        })
        .reduce(none, |a, b| {
            a.into_iter().zip(b).map(|(x, y)| nearer(x, y)).collect()
        })
        .into_iter()
        .zip(by_graph)
        .map(|(h, g)| nearer(h, g).map(|h| h.row))
        .collect()
}

/// The nearest of `rows` in language `to` to `vector` (a paragraph vector in `lang`) on
/// centred vectors, as [`nearest_across_languages`] scores them but exactly, over only those
/// rows (ties: the lower row); `None` for none or a one-language corpus.
pub fn nearest_among(
    index: &Index,
    vector: &[f32],
    lang: &str,
    to: &str,
    rows: &[usize],
) -> Option<usize> {
    let space = index.space()?;
    let q = langspace::centre(vector, space.centroid(lang).0);
    rows.iter()
        .filter(|&&r| index.lang(r) == to)
        .map(|&row| Hit {
            row,
            score: space.rows().dot(row, &q),
        })
        .fold(None, |best: Option<Hit>, h| match best {
            Some(b) if b.score > h.score || (b.score == h.score && b.row < h.row) => Some(b),
            _ => Some(h),
        })
        .map(|h| h.row)
}

/// Candidates for hybrid ranking (questions and links alike): the dense candidates
/// ([`dense`]) and the `n` best rows by `lex` that `allow` admits, sorted by row.
pub fn hybrid(
    index: &Index,
    vector: &[f32],
    lex: &Scorer<'_>,
    n: usize,
    with_sentences: bool,
    allow: Option<&dyn Fn(usize) -> bool>,
) -> Vec<usize> {
    let mut rows = dense(index, vector, n, with_sentences, allow);
    rows.extend(lex.candidates(n, allow));
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// Lexical scores of `text` against every paragraph: BM25 over the ideal score of its
/// terms, capped at 1 (see [`Scorer`]).
pub fn lexical<'a>(index: &'a Index, text: &str) -> Scorer<'a> {
    let terms = Lexical::terms(text, false);
    index
        .lexical()
        .scorer(&terms, index.lexical().ideal_of(&terms))
}

/// [`lexical`] over the terms that text in another script can share: Latin words,
/// identifiers and numbers (option names and figures survive translation; CJK bigrams
/// never match English text); it scores nothing when `text` has none.
///
/// Scores are divided by the ideal score of *all* of the text's terms, so an identifier
/// that a Chinese paragraph shares with an English one counts for its share of the
/// paragraph, not as a full match.
pub fn lexical_across<'a>(index: &'a Index, text: &str) -> Scorer<'a> {
    let ideal = index.lexical().ideal_of(&Lexical::terms(text, false));
    index.lexical().scorer(&Lexical::terms(text, true), ideal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::store::synthetic_index;

    /// Dense candidates are the nearest rows the filter admits; hybrid adds the rows that
    /// share the question's terms; both sorted, each once.
    #[test]
    fn candidates_are_the_nearest_rows_and_the_lexical_ones() {
        let root = tempfile::tempdir().unwrap();
        let rows: Vec<(String, String, Vec<f32>)> = (0..60)
            .map(|i| {
                let a = i as f32 * 0.05;
                let text = format!("paragraph number {i} about item{i}");
                (
                    format!("d{}", i / 6),
                    text,
                    vec![a.cos(), a.sin(), 0.0, 0.0],
                )
            })
            .collect();
        let index = synthetic_index(root.path(), &rows);
        let q = [1.0, 0.0, 0.0, 0.0];
        assert_eq!(dense(&index, &q, 5, true, None), [0, 1, 2, 3, 4]);
        let odd = |r: usize| r % 2 == 1;
        assert_eq!(dense(&index, &q, 3, false, Some(&odd)), [1, 3, 5]);
        let lex = lexical(&index, "item42");
        let rows = hybrid(&index, &q, &lex, 3, false, None);
        assert_eq!(rows, [0, 1, 2, 42]);
        // One language: nothing across.
        assert!(across_languages(&index, &q, "en", 5, None).is_empty());
        assert_eq!(
            nearest_across_languages(&index, &[q.to_vec()], "en", None),
            [None]
        );
    }
}
