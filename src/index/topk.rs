//! Hits and the top-k helpers every search ends with: the `k` best of scored rows, exact
//! search by brute force (the reference for recall), and recall against it.

/// A neighbour: row number in the store and cosine similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub row: usize,
    pub score: f32,
}

/// How many of `approx` are true nearest neighbours, given the `exact` ones: a hit counts
/// when it scores at least the last exact neighbour's score (less rounding), as
/// ann-benchmarks counts recall, so that among equal scores (repeated texts are common in
/// real corpora: "New in version 3.2.") any one is right.
pub fn found_of(approx: &[Hit], exact: &[Hit]) -> usize {
    let Some(last) = exact.last() else {
        return 0;
    };
    approx
        .iter()
        .take(exact.len())
        .filter(|h| h.score >= last.score - 1e-5)
        .count()
}
/// Exact search by brute force: the reference for recall, and the fallback for tiny sets.
pub fn exact_search(
    vectors: &[&[f32]],
    query: &[f32],
    k: usize,
    allow: Option<&dyn Fn(usize) -> bool>,
) -> Vec<Hit> {
    let rows = (0..vectors.len()).filter(|&i| allow.is_none_or(|f| f(i)));
    exact_search_rows(rows, |i| crate::embed::dot(vectors[i], query), k)
}

/// The `k` best of the given `rows` by `score`, best first (ties: lower row first).
pub fn exact_search_rows(
    rows: impl Iterator<Item = usize>,
    score: impl Fn(usize) -> f32,
    k: usize,
) -> Vec<Hit> {
    let hits: Vec<Hit> = rows
        .map(|row| Hit {
            row,
            score: score(row),
        })
        .collect();
    top_hits(hits, k)
}

/// The `k` best rows by `scores` among those `allow` admits, best first (ties: lower row
/// first).
pub fn top_of_scores(scores: &[f32], k: usize, allow: Option<&dyn Fn(usize) -> bool>) -> Vec<Hit> {
    let hits = scores
        .iter()
        .enumerate()
        .filter(|&(row, _)| allow.is_none_or(|f| f(row)))
        .map(|(row, &score)| Hit { row, score })
        .collect();
    top_hits(hits, k)
}

/// The `k` best of `hits`, best first (ties: lower row first).
pub fn top_hits(mut hits: Vec<Hit>, k: usize) -> Vec<Hit> {
    let k = k.min(hits.len());
    if k == 0 {
        return vec![];
    }
    hits.select_nth_unstable_by(k - 1, |a, b| b.score.total_cmp(&a.score));
    hits.truncate(k);
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
    hits
}
