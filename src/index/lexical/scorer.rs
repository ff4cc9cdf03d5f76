//! Scoring a text against the postings: BM25 row by row on demand, the best rows by
//! accumulating postings, or every row at once ([`Scorer`]).

use super::{Lexical, Posting, K1};

impl Lexical {
    /// Scores of `terms` (distinct, in [`Lexical::terms`] order), divided by `ideal` and
    /// capped at 1, row by row on demand: see [`Scorer`].
    pub fn scorer<'a>(&'a self, terms: &[String], ideal: f32) -> Scorer<'a> {
        Scorer {
            lexical: self,
            terms: terms
                .iter()
                .filter_map(|t| self.postings(t))
                .map(|list| (list, self.idf(list.len())))
                .collect(),
            ideal: ideal.max(f32::MIN_POSITIVE),
        }
    }

    /// The BM25 score a row would get for matching each of `terms` (distinct) once at
    /// average length: the scale that makes scores comparable across queries.
    pub fn ideal_of(&self, terms: &[String]) -> f32 {
        terms
            .iter()
            .map(|t| self.idf(self.postings(t).map_or(0, <[Posting]>::len)))
            .sum()
    }

    /// The `k` best rows by BM25, best first.
    pub fn search(
        &self,
        query: &str,
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<(usize, f32)> {
        self.scorer(&Self::terms(query, false), f32::INFINITY)
            .top_raw(k, allow)
    }
}

thread_local! {
    /// Per thread: a BM25 sum per row (all zero between searches) and the rows touched.
    static ACCUMULATOR: std::cell::RefCell<(Vec<f32>, Vec<u32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// A query term's postings (row, term frequency) and idf.
type Term<'a> = (&'a [Posting], f32);

/// A text's BM25 scores against the postings, without visiting every row that shares a
/// common word with it (in English, "the" is in nearly every paragraph, which made each
/// query, and `crossref` as a whole, quadratic):
///
/// * [`Scorer::get`]: one row's score, by binary search in each term's postings (sorted by
///   row); summed in term order, so exactly what accumulating all postings gives.
/// * [`Scorer::top`]: the `n` best rows, by accumulating the postings term after term.
///   Exact, except that terms in more rows than [`walk_limit`] are never walked (large
///   corpora only): they add to the scores of the rows found, but find none.
/// * [`Scorer::dense`]: every row's score at once (for scoring many pairs of one source).
pub struct Scorer<'a> {
    lexical: &'a Lexical,
    /// Postings and idf of each query term found in the index, in query-term order.
    terms: Vec<Term<'a>>,
    ideal: f32,
}

impl Scorer<'_> {
    fn raw(&self, row: usize) -> f32 {
        let row = row as u32;
        let mut s = 0.0;
        for (list, idf) in &self.terms {
            if let Ok(i) = list.binary_search_by_key(&row, |p| p[0]) {
                s += self.lexical.weight(*idf, list[i][1], row);
            }
        }
        s
    }

    /// `row`'s score over the ideal, capped at 1 (0 when it shares no term).
    pub fn get(&self, row: usize) -> f32 {
        (self.raw(row) / self.ideal).min(1.0)
    }

    /// [`Scorer::get`] of each of `rows` (ascending): each term's postings merged with the
    /// rows (galloping from the previous match) instead of searched row by row; the same
    /// sums, term by term in query order.
    pub fn get_sorted(&self, rows: &[usize]) -> Vec<f32> {
        let mut raw = vec![0f32; rows.len()];
        self.add_weights(self.terms.iter(), rows, &mut raw);
        raw.iter().map(|&s| (s / self.ideal).min(1.0)).collect()
    }

    /// Adds to `sums[k]` the weight of each of `terms` in row `rows[k]` (rows ascending),
    /// term after term, each term's postings merged with the rows ([`for_each_match`]).
    fn add_weights<'t>(
        &self,
        terms: impl Iterator<Item = &'t Term<'t>>,
        rows: &[usize],
        sums: &mut [f32],
    ) {
        for (list, idf) in terms {
            for_each_match(list, rows, |k, tf| {
                sums[k] += self.lexical.weight(*idf, tf, rows[k] as u32)
            });
        }
    }

    /// Every row's [`Scorer::get`].
    pub fn dense(&self) -> Vec<f32> {
        let mut acc = vec![0f32; self.lexical.len()];
        for (list, idf) in &self.terms {
            for &[row, tf] in *list {
                acc[row as usize] += self.lexical.weight(*idf, tf, row);
            }
        }
        acc.iter_mut().for_each(|s| *s = (*s / self.ideal).min(1.0));
        acc
    }

    /// The `n` best rows that `allow` admits by [`Scorer::get`], best first (ties: lower
    /// row first); rows sharing no term are never returned.
    pub fn top(&self, n: usize, allow: Option<&dyn Fn(usize) -> bool>) -> Vec<(usize, f32)> {
        self.best(n, allow, true)
    }

    /// Rows worth scoring for a long text: [`Scorer::top`] by its [`CANDIDATE_TERMS`]
    /// rarest terms (among those in two rows or more; terms in one row only cost nothing
    /// and are all kept). A paragraph used as a query has a hundred terms or more, and a
    /// MaxScore walk over all of them was 40 % of `crossref`'s time on 30,000 paragraphs
    /// of the Python and PostgreSQL manuals; its common terms rarely decide which rows are
    /// among the best. The rows' scores are then taken with [`Scorer::get`], over all terms.
    pub fn candidates(&self, n: usize, allow: Option<&dyn Fn(usize) -> bool>) -> Vec<usize> {
        let rows = |s: &Scorer| s.top(n, allow).into_iter().map(|x| x.0).collect();
        if self.terms.len() <= CANDIDATE_TERMS {
            return rows(self);
        }
        let (single, mut shared): (Vec<Term>, Vec<Term>) =
            self.terms.iter().partition(|(list, _)| list.len() <= 1);
        shared.sort_by(|a, b| b.1.total_cmp(&a.1));
        shared.truncate(CANDIDATE_TERMS);
        rows(&Scorer {
            lexical: self.lexical,
            terms: single.into_iter().chain(shared).collect(),
            ideal: self.ideal,
        })
    }

    /// [`Scorer::top`] by raw BM25 (no ideal, no cap).
    fn top_raw(&self, n: usize, allow: Option<&dyn Fn(usize) -> bool>) -> Vec<(usize, f32)> {
        self.best(n, allow, false)
    }

    /// The `n` best rows (ties: lower row first) among the rows that hold at least one
    /// term in at most [`walk_limit`] rows (a term in more, in English "the", adds its
    /// weight to every row scored but does not make a row a candidate).
    ///
    /// Term at a time: every posting of the walked terms is added into a per-thread
    /// accumulator, and the rows touched are selected. Without unwalked terms a row's sum
    /// is exactly [`Scorer::raw`]'s (its weights added in query-term order). With them,
    /// the unwalked terms' weights are added by probing their postings: for the best `2n`
    /// rows by walked weight, then for the others that the unwalked terms' largest weights,
    /// `idf · (k1 + 1)` each, could lift to the `n`-th best score (these sums add the
    /// weights in another order than [`Scorer::raw`], so they may differ from it in the
    /// last bit). This replaced a MaxScore walk (Turtle & Flood, 1995; row at a
    /// time, taking the next row over every term's cursor), which was 30 % of `crossref`'s
    /// time at 100,000 paragraphs: the few short postings that [`Scorer::candidates`] keeps
    /// cost a few nanoseconds each here.
    fn best(
        &self,
        n: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
        normalised: bool,
    ) -> Vec<(usize, f32)> {
        if n == 0 || self.terms.is_empty() {
            return Vec::new();
        }
        let limit = walk_limit(self.lexical.len());
        let unwalked: Vec<&Term> = self
            .terms
            .iter()
            .filter(|(list, _)| list.len() > limit)
            .collect();
        let bound: f32 = unwalked.iter().map(|(_, idf)| idf * (K1 + 1.0)).sum();
        let finish = |raw: f32| {
            if normalised {
                (raw / self.ideal).min(1.0)
            } else {
                raw
            }
        };
        let order = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        let best_n = |mut scored: Vec<(usize, f32)>| {
            if scored.len() > n {
                scored.select_nth_unstable_by(n - 1, order);
                scored.truncate(n);
            }
            scored.sort_by(order);
            scored
        };
        // (row, walked weight) of every admitted row touched.
        let mut walked: Vec<(usize, f32)> = ACCUMULATOR.with(|cell| {
            let (acc, touched) = &mut *cell.borrow_mut();
            if acc.len() < self.lexical.len() {
                acc.resize(self.lexical.len(), 0.0);
            }
            touched.clear();
            for (list, idf) in self.terms.iter().filter(|(list, _)| list.len() <= limit) {
                for &[row, tf] in *list {
                    let a = &mut acc[row as usize];
                    // Every weight is positive (idf > 0, tf ≥ 1): 0 means untouched.
                    if *a == 0.0 {
                        touched.push(row);
                    }
                    *a += self.lexical.weight(*idf, tf, row);
                }
            }
            touched
                .iter()
                .map(|&row| (row as usize, std::mem::take(&mut acc[row as usize])))
                .filter(|&(row, _)| allow.is_none_or(|f| f(row)))
                .collect()
        });
        if unwalked.is_empty() {
            return best_n(walked.into_iter().map(|(r, w)| (r, finish(w))).collect());
        }
        // Rows with their walked weight plus the unwalked terms' weights, finished.
        let exact = |mut rows: Vec<(usize, f32)>| {
            rows.sort_unstable_by_key(|r| r.0);
            let (ids, mut sums): (Vec<usize>, Vec<f32>) = rows.into_iter().unzip();
            self.add_weights(unwalked.iter().copied(), &ids, &mut sums);
            ids.into_iter()
                .zip(sums)
                .map(|(row, sum)| (row, finish(sum)))
                .collect::<Vec<_>>()
        };
        let by_weight = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1);
        let first = (2 * n).min(walked.len());
        if walked.len() > first {
            walked.select_nth_unstable_by(first - 1, by_weight);
        }
        let (head, rest) = walked.split_at(first);
        let mut scored = best_n(exact(head.to_vec()));
        if scored.len() == n {
            let threshold = scored[n - 1].1;
            // Rounding slack: never skip a row that could tie the n-th best.
            let slack = 1e-4 * (1.0 + bound + head.iter().fold(0f32, |m, x| m.max(x.1)));
            let lifted: Vec<(usize, f32)> = rest
                .iter()
                .filter(|&&(_, w)| finish(w + bound + slack) >= threshold)
                .copied()
                .collect();
            scored.extend(exact(lifted));
            scored = best_n(scored);
        }
        scored
    }
}

/// Postings longer than this are not walked to find a text's best rows: at most
/// `max(2,000, rows / 50)`. A term in more rows than that (in English "the", "of", "is";
/// in Chinese, bigrams such as 发展 in a large corpus) still adds its weight to every row
/// scored, but rows that share only such terms with the text are not candidates. Corpora
/// of up to 2,000 paragraphs (the seed, the gold sets) are scored exhaustively as before;
/// at 100,000 paragraphs walking them made each `crossref` source visit most of the
/// corpus (`cargo bench --bench scale`).
pub fn walk_limit(rows: usize) -> usize {
    (rows / 50).max(2000)
}

/// Calls `f(k, tf)` for each `rows[k]` (ascending) found in `list` (postings, ascending
/// rows), galloping through `list` from the previous match: a few comparisons per row
/// where the list is long, near each other in memory, instead of a binary search over the
/// whole list per row.
fn for_each_match(list: &[Posting], rows: &[usize], mut f: impl FnMut(usize, u32)) {
    let mut at = 0;
    for (k, &row) in rows.iter().enumerate() {
        let rest = &list[at..];
        if rest.is_empty() {
            return;
        }
        let key = row as u32;
        // Double `hi` until rest[hi - 1] ≥ key (or the end): everything before hi / 2 is
        // below the key.
        let mut hi = 1;
        while hi < rest.len() && rest[hi - 1][0] < key {
            hi *= 2;
        }
        let (lo, hi) = (hi / 2, hi.min(rest.len()));
        let i = lo + rest[lo..hi].partition_point(|p| p[0] < key);
        if rest.get(i).is_some_and(|p| p[0] == key) {
            f(k, rest[i][1]);
            at += i + 1;
        } else {
            at += i;
        }
    }
}

/// Most terms of a text that [`Scorer::candidates`] walks. On 30,086 paragraphs of the
/// Python and PostgreSQL manuals, 16 against all terms: 99.9 % of `crossref`'s links and of
/// its first links the same, BM25 candidates 4.5× faster (32: 1.7×); the seed's gold set
/// and the man-page pairs identical from 12 terms up.
pub const CANDIDATE_TERMS: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// MaxScore's top rows and on-demand scores equal scoring every posting, on texts
    /// with very common and rare words alike, with and without a filter.
    #[test]
    fn scorer_matches_exhaustive_scoring() {
        let words = [
            "the",
            "of",
            "a",
            "table",
            "index",
            "query",
            "lock",
            "vacuum",
            "python",
            "list",
            "tuple",
            "row",
            "column",
            "json",
            "trigger",
            "replication",
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move |m: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % m as u64) as usize
        };
        let texts: Vec<String> = (0..600)
            .map(|_| {
                let len = 3 + next(12);
                // Zipf-like: low word numbers are far more common.
                (0..len)
                    .map(|_| {
                        let bound = 1 + next(words.len());
                        words[next(bound)]
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let lx = Lexical::build(&texts);
        for q in [
            "the table of the index",
            "vacuum lock",
            "json trigger row the",
            "nothing",
        ] {
            let terms = Lexical::terms(q, false);
            let ideal = lx.ideal_of(&terms);
            let scorer = lx.scorer(&terms, ideal);
            // The oracle: every posting of every term accumulated, in term order.
            let mut exhaustive: HashMap<usize, f32> = HashMap::new();
            for t in &terms {
                for &[row, tf] in lx.postings(t).unwrap_or_default() {
                    let idf = lx.idf(lx.postings(t).unwrap().len());
                    *exhaustive.entry(row as usize).or_default() += lx.weight(idf, tf, row);
                }
            }
            let every: Vec<usize> = (0..lx.len()).collect();
            let odd: Vec<usize> = (0..lx.len()).filter(|r| r % 3 == 1).collect();
            let (all, some) = (scorer.get_sorted(&every), scorer.get_sorted(&odd));
            for (k, &row) in odd.iter().enumerate() {
                assert_eq!(some[k], all[row]);
            }
            let dense = scorer.dense();
            for (row, &d) in dense.iter().enumerate() {
                let want = exhaustive.get(&row).map_or(0.0, |s| (s / ideal).min(1.0));
                assert_eq!(scorer.get(row), want);
                assert_eq!(all[row], want);
                assert_eq!(d, want);
            }
            for (n, odd) in [(1, false), (10, false), (50, true), (700, false)] {
                let allow = |r: usize| !odd || r % 2 == 1;
                let mut want: Vec<(usize, f32)> = exhaustive
                    .iter()
                    .filter(|(r, _)| allow(**r))
                    .map(|(r, s)| (*r, (s / ideal).min(1.0)))
                    .collect();
                want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                want.truncate(n);
                assert_eq!(scorer.top(n, Some(&allow)), want, "{q:?}, n {n}");
            }
            let mut raw: Vec<(usize, f32)> = exhaustive.into_iter().collect();
            raw.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            raw.truncate(5);
            assert_eq!(lx.search(q, 5, None), raw);
        }
    }

    /// Beyond [`walk_limit`] rows a term adds its weight but finds no rows: the best rows
    /// are those of the exhaustive scores among rows holding another of the query's terms,
    /// however many share only the common one.
    #[test]
    fn terms_in_too_many_rows_score_but_do_not_find() {
        let words = ["index", "lock", "vacuum", "json", "trigger", "row"];
        let texts: Vec<String> = (0..2600)
            .map(|i| {
                let mut t = vec!["the"; 1 + i % 3];
                for (w, word) in words.iter().enumerate() {
                    if (i * (w + 3) + w) % (7 + 5 * w) == 0 {
                        t.extend(std::iter::repeat_n(*word, 1 + (i + w) % 2));
                    }
                }
                t.join(" ")
            })
            .collect();
        let lx = Lexical::build(&texts);
        assert!(lx.postings("the").unwrap().len() > walk_limit(lx.len()));
        for q in [
            "the index",
            "the the vacuum json",
            "the trigger lock row",
            "the",
        ] {
            let terms = Lexical::terms(q, false);
            let ideal = lx.ideal_of(&terms);
            let scorer = lx.scorer(&terms, ideal);
            let findable = |row: usize| {
                terms.iter().filter(|t| t.as_str() != "the").any(|t| {
                    lx.postings(t)
                        .is_some_and(|p| p.iter().any(|x| x[0] as usize == row))
                })
            };
            for (n, odd) in [(1, false), (7, true), (60, false), (3000, false)] {
                let allow = |r: usize| !odd || r % 2 == 1;
                let mut want: Vec<(usize, f32)> = (0..lx.len())
                    .filter(|&r| findable(r) && allow(r))
                    .map(|r| (r, scorer.get(r)))
                    .collect();
                want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                want.truncate(n);
                assert_eq!(scorer.top(n, Some(&allow)), want, "{q:?}, n {n}");
            }
        }
    }
}
