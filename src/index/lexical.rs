//! The lexical channel: BM25 over CJK character bigrams and Latin words.
//!
//! Chinese has no spaces; instead of a segmentation dictionary, runs of CJK characters are
//! indexed as overlapping character bigrams (a lone character as itself) — the classic CJK
//! analyser of search engines, robust to words missing from any dictionary (names of
//! meetings, new policy terms). Latin text is lower-cased words; numbers keep their decimal
//! point and percent sign (`5.3%`), so short exact questions about figures match.
//! The postings are persisted in the index generation as `lexical.json.gz`.

use super::Score;
use crate::text::{is_han, tokens};
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

const K1: f32 = 1.2;
const B: f32 = 0.75;

/// BM25 postings over a list of texts (rows).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Lexical {
    doc_len: Vec<u32>,
    avgdl: f32,
    /// term → (row, term frequency), rows ascending.
    postings: HashMap<String, Vec<(u32, u32)>>,
}

impl Lexical {
    pub fn build<S: AsRef<str>>(texts: &[S]) -> Self {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut doc_len = Vec::with_capacity(texts.len());
        for (row, t) in texts.iter().enumerate() {
            let toks = tokens(t.as_ref());
            doc_len.push(toks.len() as u32);
            let mut tf: HashMap<String, u32> = HashMap::new();
            for tok in toks {
                *tf.entry(tok).or_default() += 1;
            }
            for (term, n) in tf {
                postings.entry(term).or_default().push((row as u32, n));
            }
        }
        let avgdl = doc_len.iter().map(|&l| l as f32).sum::<f32>() / doc_len.len().max(1) as f32;
        Self {
            doc_len,
            avgdl,
            postings,
        }
    }

    pub fn len(&self) -> usize {
        self.doc_len.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc_len.is_empty()
    }

    /// The distinct terms of `text`; `shareable_only` keeps those that a text in another
    /// script can contain too (Latin words, identifiers and numbers: no CJK bigrams).
    pub fn terms(text: &str, shareable_only: bool) -> Vec<String> {
        let mut terms = tokens(text);
        if shareable_only {
            terms.retain(|t| !t.chars().next().is_some_and(is_han));
        }
        terms.sort();
        terms.dedup();
        terms
    }

    /// BM25's inverse document frequency of a term in `df` rows.
    fn idf(&self, df: usize) -> f32 {
        let (n, df) = (self.len() as f32, df as f32);
        ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
    }

    /// The BM25 weight of a term with inverse document frequency `idf` occurring `tf` times
    /// in `row`.
    fn weight(&self, idf: f32, tf: u32, row: u32) -> f32 {
        let tf = tf as f32;
        let dl = self.doc_len[row as usize] as f32;
        idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * dl / self.avgdl.max(1.0)))
    }

    /// Scores of `terms` (distinct, in [`Lexical::terms`] order), divided by `ideal` and
    /// capped at 1, row by row on demand: see [`Scorer`].
    pub fn scorer<'a>(&'a self, terms: &[String], ideal: f32) -> Scorer<'a> {
        Scorer {
            lexical: self,
            terms: terms
                .iter()
                .filter_map(|t| self.postings.get(t))
                .map(|list| (list.as_slice(), self.idf(list.len())))
                .collect(),
            ideal: ideal.max(f32::MIN_POSITIVE),
        }
    }

    /// The BM25 score a row would get for matching each of `terms` (distinct) once at
    /// average length: the scale that makes scores comparable across queries.
    pub fn ideal_of(&self, terms: &[String]) -> f32 {
        terms
            .iter()
            .map(|t| self.idf(self.postings.get(t).map_or(0, Vec::len)))
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

/// A query term's postings (row, term frequency) and idf.
type Term<'a> = (&'a [(u32, u32)], f32);

/// A text's BM25 scores against the postings, without visiting every row that shares a
/// common word with it (in English, "the" is in nearly every paragraph, which made each
/// query, and `crossref` as a whole, quadratic):
///
/// * [`Scorer::get`]: one row's score, by binary search in each term's postings (sorted by
///   row); summed in term order, so exactly what accumulating all postings gives.
/// * [`Scorer::top`]: the `n` best rows by the MaxScore algorithm (Turtle & Flood, 1995):
///   terms ordered by their largest possible weight, `idf · (k1 + 1)`; once the `n`-th best
///   score exceeds the sum of the smallest terms' bounds, rows holding only those terms
///   cannot enter and their postings are only probed, not walked. Exact, except that terms
///   in more rows than [`walk_limit`] are never walked (large corpora only).
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
            if let Ok(i) = list.binary_search_by_key(&row, |p| p.0) {
                s += self.lexical.weight(*idf, list[i].1, row);
            }
        }
        s
    }

    /// `row`'s score over the ideal, capped at 1 (0 when it shares no term).
    pub fn get(&self, row: usize) -> f32 {
        (self.raw(row) / self.ideal).min(1.0)
    }

    /// Every row's [`Scorer::get`].
    pub fn dense(&self) -> Vec<f32> {
        let mut acc = vec![0f32; self.lexical.len()];
        for (list, idf) in &self.terms {
            for &(row, tf) in *list {
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

    fn best(
        &self,
        n: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
        normalised: bool,
    ) -> Vec<(usize, f32)> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        if n == 0 || self.terms.is_empty() {
            return Vec::new();
        }
        let score = |raw: f32| {
            if normalised {
                (raw / self.ideal).min(1.0)
            } else {
                raw
            }
        };
        // Terms by ascending bound; bound[i] = sum of the bounds of the i smallest.
        let mut order: Vec<usize> = (0..self.terms.len()).collect();
        let ub = |t: usize| self.terms[t].1 * (K1 + 1.0);
        order.sort_by(|&a, &b| ub(a).total_cmp(&ub(b)));
        let mut below = vec![0f32; order.len() + 1];
        for (i, &t) in order.iter().enumerate() {
            below[i + 1] = below[i] + ub(t);
        }
        let mut cursor = vec![0usize; self.terms.len()];
        let mut contrib = vec![0f32; self.terms.len()];
        // The worst of the best n on top: lowest score, then highest row.
        let mut heap: BinaryHeap<Reverse<(Score, Reverse<usize>)>> = BinaryHeap::new();
        let mut threshold = f32::NEG_INFINITY;
        // Rounding slack: pruning never drops a row that could tie or beat the threshold.
        let slack = 1e-4 * below[order.len()].max(1.0);
        // Terms in more rows than the walk limit are probed, never walked (see
        // [`walk_limit`]); they are the commonest, hence the first in bound order.
        let limit = walk_limit(self.lexical.len());
        let mut essential = order
            .iter()
            .take_while(|&&t| self.terms[t].0.len() > limit)
            .count();
        loop {
            if heap.len() == n {
                if normalised && threshold >= 1.0 {
                    break; // nothing scores above 1, and ties go to lower rows, seen first
                }
                while essential < order.len() && score(below[essential + 1]) < threshold - slack {
                    essential += 1;
                }
            }
            let Some(row) = order[essential..]
                .iter()
                .filter_map(|&t| self.terms[t].0.get(cursor[t]).map(|p| p.0))
                .min()
            else {
                break;
            };
            // Each term's weight in this row, summed in query-term order at the end so the
            // score is exactly [`Scorer::raw`]'s.
            contrib.iter_mut().for_each(|c| *c = 0.0);
            let mut partial = 0.0;
            for &t in &order[essential..] {
                let (list, idf) = self.terms[t];
                if let Some(&(r, tf)) = list.get(cursor[t]) {
                    if r == row {
                        contrib[t] = self.lexical.weight(idf, tf, r);
                        partial += contrib[t];
                        cursor[t] += 1;
                    }
                }
            }
            if score(partial + below[essential]) < threshold - slack
                || !allow.is_none_or(|f| f(row as usize))
            {
                continue;
            }
            for &t in &order[..essential] {
                let (list, idf) = self.terms[t];
                if let Ok(i) = list.binary_search_by_key(&row, |p| p.0) {
                    contrib[t] = self.lexical.weight(idf, list[i].1, row);
                }
            }
            let row = row as usize;
            let s = score(contrib.iter().fold(0.0, |a, c| a + c));
            if heap.len() < n {
                heap.push(Reverse((Score(s), Reverse(row))));
            } else if s > threshold {
                heap.pop();
                heap.push(Reverse((Score(s), Reverse(row))));
            } else {
                continue;
            }
            if heap.len() == n {
                threshold = heap.peek().map_or(f32::NEG_INFINITY, |w| w.0 .0 .0);
            }
        }
        let mut out: Vec<(usize, f32)> = heap
            .into_iter()
            .map(|Reverse((Score(s), Reverse(r)))| (r, s))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
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

/// Most terms of a text that [`Scorer::candidates`] walks. On 30,086 paragraphs of the
/// Python and PostgreSQL manuals, 16 against all terms: 99.9 % of `crossref`'s links and of
/// its first links the same, BM25 candidates 4.5× faster (32: 1.7×); the seed's gold set
/// and the man-page pairs identical from 12 terms up.
pub const CANDIDATE_TERMS: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenises_cjk_bigrams_words_and_numbers() {
        assert_eq!(tokens("金融监管"), ["金融", "融监", "监管"]);
        assert_eq!(tokens("龙"), ["龙"]);
        assert_eq!(
            tokens("GDP增长5.3%，Green Finance"),
            ["gdp", "增长", "5.3%", "green", "finance"]
        );
        assert_eq!(tokens("1,200名代表"), ["1200", "名代", "代表"]);
    }

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
                for &(row, tf) in lx.postings.get(t).map_or(&[][..], Vec::as_slice) {
                    let idf = lx.idf(lx.postings[t].len());
                    *exhaustive.entry(row as usize).or_default() += lx.weight(idf, tf, row);
                }
            }
            let dense = scorer.dense();
            for (row, &d) in dense.iter().enumerate() {
                let want = exhaustive.get(&row).map_or(0.0, |s| (s / ideal).min(1.0));
                assert_eq!(scorer.get(row), want);
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

    #[test]
    fn bm25_prefers_the_matching_row() {
        let lx = Lexical::build(&[
            "必须加强金融监管",
            "绿色发展是高质量发展的底色",
            "金融服务实体经济",
        ]);
        let hits = lx.search("金融监管要加强", 3, None);
        assert_eq!(hits[0].0, 0);
        assert!(hits.iter().all(|h| h.0 != 1));
        let only2 = |r: usize| r == 2;
        assert_eq!(
            lx.search("金融监管", 3, Some(&only2))
                .iter()
                .map(|h| h.0)
                .collect::<Vec<_>>(),
            [2]
        );
    }
}
