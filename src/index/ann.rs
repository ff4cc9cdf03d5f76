//! Approximate nearest neighbours: an HNSW graph over the index's own stored vectors.
//!
//! * Built by `hnsw_rs`, stored and searched as [`Graph`] (flat neighbour lists of row
//!   numbers, `graph.u32`): no second copy of the vectors, 4 bytes a link, nothing to parse.
//!   During the build the points are row numbers (`[u32; 1]`) and [`RowDistance`] looks the
//!   rows up in the index's stored rows ([`Rows`], shared, `Arc`).
//! * Distance: `1 - dot`, clamped at 0. `hnsw_rs`'s own `DistDot` asserts `1 - dot >= 0`,
//!   which rounding breaks for a vector and itself.
//! * Only where it pays: below [`MIN_GRAPH_POINTS`] no graph is built, and a search takes
//!   the graph only where it costs less than an exact scan ([`Ann::graph_pays`]).
//! * Points unreachable after parallel insertion (hnsw_rs #32, #37): the graph is built
//!   with `ef_construction` 200 and `M` 24 and the tests check that every point finds itself.
//! * Recall: the search breadth is calibrated per graph at build time against exact search
//!   on a sample of its points ([`Ann::calibrate`]) and stored in the manifest.
//! * Repeated vectors are one point (`Twins`); filters are applied after the search
//!   ([`Ann::search_ef`]).

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use hnsw_rs::prelude::*;

pub use super::codec::Rows;
pub use super::graph::Graph;
use super::graph::Twins;

/// HNSW parameters.
pub const MAX_CONNECTIONS: usize = 24;
pub const EF_CONSTRUCTION: usize = 200;
/// The smallest search breadth; searches use at least `BREADTH_PER_K * k` too.
pub const EF_SEARCH: usize = 96;
/// A search for `k` rows looks at least this many times `k` candidates. 4 before: at 2 the
/// links of 30,086 paragraphs of the Python and PostgreSQL manuals (50 candidates each,
/// breadth 100 instead of 200) were identical, and the graph searches took 36 % less time.
pub const BREADTH_PER_K: usize = 2;
/// Recall@10 the calibrated breadth must reach on the build's own sample (a margin above
/// the 0.99 promised for unseen queries).
pub const RECALL_TARGET: f64 = 0.998;
/// Points sampled to calibrate the breadth. 200 before: 4 misses in 2,000 neighbours
/// decided the breadth, and three builds of the same 100,327 paragraphs (hnsw_rs inserts
/// in parallel, so every build's graph differs) calibrated to 144, 216 and 324, which moved
/// `crossref` between 49 and 74 s. 500 points (10 misses in 5,000) cost ~1 s more at
/// 100,000. (A target of 0.995 on them gave unseen random queries recall 0.98: the
/// sample's own points are easier queries than fresh ones, so the margin stays.)
const CALIBRATION_SAMPLE: usize = 500;
/// A graph search costs about this many exact dot products per unit of search breadth, on
/// real text. Measured on this project's 2-core machines, one thread, 300 paragraphs as
/// queries for 50 neighbours in other documents: 29,957 German and English manual-page
/// paragraphs (AVX2, no AVX-512) ~18 at breadth 486 on the plain vectors and ~20 at 96–144
/// on one language's centred vectors; the Python and PostgreSQL manuals (AVX-512,
/// `cargo bench --bench scale`) ~28 at 30,000 paragraphs and ~55 at 100,000, where the
/// rows no longer fit the caches. (It was 100 before the graph was searched by xref on
/// 8-bit rows: then at 30,000 paragraphs, breadth 486, the scan was taken though the graph
/// answered 3.4× faster.) Structure-free random vectors cost more per unit (~460 at
/// 100,000: the graph wanders), but their calibrated breadth is larger too. Below
/// `ef · GRAPH_COST_PER_EF` points an exact scan is faster and exact.
pub const GRAPH_COST_PER_EF: usize = 40;
/// Fewer points than this are always scanned exactly, so [`Ann::build`] builds no graph:
/// below it the build costs more than the searches of a `crossref` save.
pub const MIN_GRAPH_POINTS: usize = 20_000;
const CALIBRATION_K: usize = 10;
/// The graph's file in a generation.
pub const GRAPH_FILE: &str = "graph.u32";

/// Cosine distance between stored rows (points are `[row]`), safe against rounding: the
/// distance hnsw_rs builds the graph with.
#[derive(Clone)]
pub struct RowDistance {
    rows: Arc<Rows>,
}

impl Distance<u32> for RowDistance {
    fn eval(&self, a: &[u32], b: &[u32]) -> f32 {
        let (a, b) = (a[0] as usize, b[0] as usize);
        (1.0 - self.rows.pair(a, &self.rows, b)).max(0.0)
    }
}

/// A neighbour: row number in the store and cosine similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub row: usize,
    pub score: f32,
}

pub struct Ann {
    graph: Option<Graph>,
    /// The rows this graph is over, ascending; empty: all of `rows` (a language's graph
    /// over centred vectors holds only that language's rows, see
    /// [`super::langspace::LangSpace`]).
    members: Vec<usize>,
    /// Search breadth calibrated at build time (see [`Ann::calibrate`]).
    ef: usize,
    /// Rows with identical vectors: only the first of each group is in the graph.
    twins: Twins,
    /// The stored rows, shared with the index: what the graph search compares (roughly,
    /// byte by byte), rescores and scans exactly when a restrictive filter falls back.
    rows: Arc<Rows>,
}

impl Ann {
    /// The graph over `rows` (row `i` gets id `i`) where it pays ([`MIN_GRAPH_POINTS`]),
    /// else none (searches scan exactly).
    pub fn build(rows: Arc<Rows>) -> Self {
        if rows.len() < MIN_GRAPH_POINTS {
            return Self::none();
        }
        Self::build_with(rows, MAX_CONNECTIONS, EF_CONSTRUCTION, false)
    }

    /// A graph over `rows` whatever their number, with explicit parameters (for tests,
    /// benchmarks and experiments).
    pub fn build_with(
        rows: Arc<Rows>,
        m: usize,
        ef_construction: usize,
        keep_pruned: bool,
    ) -> Self {
        Self::build_over(rows, Vec::new(), m, ef_construction, keep_pruned)
    }

    /// A graph over `members` of `rows` only (ascending row numbers; empty: all rows), with
    /// explicit parameters: searches return member rows, numbered as in `rows`.
    pub fn build_over(
        rows: Arc<Rows>,
        members: Vec<usize>,
        m: usize,
        ef_construction: usize,
        keep_pruned: bool,
    ) -> Self {
        let n = rows.len();
        let mut ann = Self {
            graph: None,
            members,
            ef: EF_SEARCH,
            twins: Twins::default(),
            rows,
        };
        if ann.is_empty() {
            return Self::none();
        }
        let rows = ann.rows.clone();
        ann.twins = Twins::of(&rows, ann.points());
        let twins = &ann.twins;
        let distance = RowDistance { rows: rows.clone() };
        let ids: Vec<[u32; 1]> = ann
            .points()
            .filter(|&i| twins.is_leader(i))
            .map(|i| [i as u32])
            .collect();
        let mut hnsw = Hnsw::new(m, ids.len(), 16, ef_construction, distance);
        hnsw.set_keeping_pruned(keep_pruned);
        let data: Vec<(&[u32], usize)> = ids.iter().map(|v| (&v[..], v[0] as usize)).collect();
        hnsw.parallel_insert_slice(&data);
        let graph = Graph::from_hnsw(&hnsw, n);
        drop(hnsw);
        ann.graph = Some(graph);
        ann.ef = ann.calibrate();
        ann
    }

    /// The rows this graph is over, ascending.
    fn points(&self) -> Box<dyn Iterator<Item = usize> + '_> {
        if self.members.is_empty() {
            Box::new(0..self.rows.len())
        } else {
            Box::new(self.members.iter().copied())
        }
    }

    /// The `i`-th of [`Ann::points`].
    fn point(&self, i: usize) -> usize {
        if self.members.is_empty() {
            i
        } else {
            self.members[i]
        }
    }

    /// The smallest breadth (from [`EF_SEARCH`], growing by half each step) at which the
    /// graph finds [`RECALL_TARGET`] of the exact 10 nearest neighbours of a sample of its
    /// own points (each point itself excluded). Real embeddings, which cluster, need little;
    /// uniform random vectors, which do not, need thousands at 100,000 points. Either way the
    /// graph keeps its recall promise and is no slower than it must be.
    pub fn calibrate(&self) -> usize {
        use rayon::prelude::*;
        let rows = &*self.rows;
        let n = self.len();
        if n <= EF_SEARCH {
            return EF_SEARCH;
        }
        let s = CALIBRATION_SAMPLE.min(n);
        let sample: Vec<usize> = (0..s).map(|i| self.point(i * n / s)).collect();
        let neighbours = |hits: Vec<Hit>, own: usize| -> Vec<Hit> {
            hits.into_iter()
                .filter(|h| h.row != own)
                .take(CALIBRATION_K)
                .collect()
        };
        // The sampled points as queries, decoded once for every breadth tried.
        let queries: Vec<Vec<f32>> = sample.iter().map(|&r| rows.decode(r)).collect();
        let truth: Vec<Vec<Hit>> = sample
            .par_iter()
            .zip(&queries)
            .map(|(&r, q)| neighbours(nearest(rows, self.points(), q, CALIBRATION_K + 1), r))
            .collect();
        let wanted: usize = truth.iter().map(Vec::len).sum();
        let mut ef = EF_SEARCH;
        loop {
            let found: usize = sample
                .par_iter()
                .zip(&queries)
                .zip(&truth)
                .map(|((&r, q), t)| {
                    let approx = neighbours(self.search_ef(q, CALIBRATION_K + 1, ef, None), r);
                    found_of(&approx, t)
                })
                .sum();
            if found as f64 >= RECALL_TARGET * wanted as f64 || ef >= n {
                return ef;
            }
            ef += ef / 2;
        }
    }

    /// The calibrated search breadth.
    pub fn ef(&self) -> usize {
        self.ef
    }

    /// No graph: every search scans exactly.
    pub fn none() -> Self {
        Self {
            graph: None,
            members: Vec::new(),
            ef: EF_SEARCH,
            twins: Twins::default(),
            rows: Arc::default(),
        }
    }

    /// Whether there is a graph and a search for `k` neighbours at its breadth (the
    /// calibrated one, at least `BREADTH_PER_K · k`) is cheaper than an exact scan (see
    /// [`GRAPH_COST_PER_EF`]).
    pub fn graph_pays(&self, k: usize) -> bool {
        self.graph.is_some()
            && self
                .ef
                .max(BREADTH_PER_K * k)
                .saturating_mul(GRAPH_COST_PER_EF)
                < self.len()
    }

    /// Whether a graph was built (see [`MIN_GRAPH_POINTS`]).
    pub fn has_graph(&self) -> bool {
        self.graph.is_some()
    }

    /// Rows the graph covers (its points and their twins).
    pub fn len(&self) -> usize {
        if self.members.is_empty() {
            self.rows.len()
        } else {
            self.members.len()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Write the graph into `dir` (nothing without a graph). Returns the files written.
    pub fn dump(&self, dir: &Path) -> Result<Vec<String>> {
        self.dump_as(dir, GRAPH_FILE)
    }

    /// [`Ann::dump`] into file `name`.
    pub fn dump_as(&self, dir: &Path, name: &str) -> Result<Vec<String>> {
        let Some(g) = &self.graph else {
            return Ok(vec![]);
        };
        std::fs::write(dir.join(name), g.to_bytes())?;
        Ok(vec![name.to_string()])
    }

    /// Load a graph written by [`Ann::dump`] over `rows`; no graph for a generation stored
    /// without one (`ef` `None`); `ef` is the breadth calibrated when it was built.
    pub fn load(dir: &Path, rows: Arc<Rows>, ef: Option<usize>) -> Result<Self> {
        Self::load_over(&dir.join(GRAPH_FILE), rows, Vec::new(), ef)
    }

    /// [`Ann::load`] of a graph over `members` of `rows` ([`Ann::build_over`]) from `path`.
    pub fn load_over(
        path: &Path,
        rows: Arc<Rows>,
        members: Vec<usize>,
        ef: Option<usize>,
    ) -> Result<Self> {
        let n = rows.len();
        let Some(ef) = ef.filter(|_| n > 0) else {
            return Ok(Self::none());
        };
        let mut ann = Self {
            graph: None,
            members,
            ef: ef.max(1),
            twins: Twins::default(),
            rows,
        };
        ann.twins = Twins::of(&ann.rows, ann.points());
        let mut point = vec![false; n];
        for r in ann.points().filter(|&r| ann.twins.is_leader(r)) {
            point[r] = true;
        }
        let expected = point.iter().filter(|&&p| p).count();
        let bytes = std::fs::read(path).context("reading the HNSW graph")?;
        let graph = Graph::from_bytes(&bytes, n).context("the HNSW graph is unreadable")?;
        // Every row with links must be one of the points; a point may lack links of its own
        // in a graph written before `graph::no_dead_ends`.
        if let Some(r) = graph.linked_rows().find(|&r| !point[r]) {
            return Err(anyhow!(
                "the HNSW graph links row {r}, which is not one of its {expected} points"
            ));
        }
        ann.graph = Some(graph);
        Ok(ann)
    }

    /// The `k` nearest rows to `query`, best first, at the calibrated breadth (and at least
    /// `BREADTH_PER_K * k`); `allow` restricts the rows considered.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        self.search_ef(query, k, self.ef.max(BREADTH_PER_K * k), allow)
    }

    /// [`Ann::search`] with an explicit search breadth `ef` (at least `k`).
    ///
    /// A restricted search (`allow`) searches the whole graph and drops what `allow`
    /// refuses, widening the breadth until `k` rows pass, and scans exactly once a wider
    /// search would cost more than the scan (a filter admitting few rows). hnsw_rs's own
    /// filtered search is not used: it keeps walking the graph until no candidate is left,
    /// and on the Python and PostgreSQL manuals, where a paragraph's nearest neighbours are
    /// mostly in its own document, that made `crossref` (other documents only) cost ~60,000
    /// distances per paragraph at 30,000 paragraphs, 70 % of its time.
    pub fn search_ef(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        let Some(g) = &self.graph else { return vec![] };
        if k == 0 {
            return vec![];
        }
        let admitted = |r: usize| allow.is_none_or(|f| f(r));
        let rows = &*self.rows;
        let q = Rows::rough_query(query);
        let distance = |r: u32| -rows.rough(&q, r as usize);
        let exact = |r: usize| rows.dot(r, query);
        let mut ef = ef.max(k);
        loop {
            // The breadth's whole candidate list comes back at no extra cost: with a filter
            // it is the margin for rows the filter drops; without, twice `k` are scored
            // exactly, a margin for the order of 8-bit distances.
            let want = if allow.is_some() { ef } else { (2 * k).min(ef) };
            let touch = |r: u32| rows.prefetch(r as usize);
            let mut found = g.search(ef, distance, touch);
            let complete = found.len() < ef;
            found.truncate(want);
            let mut hits: Vec<Hit> = found
                .into_iter()
                .flat_map(|(row, _)| {
                    let score = exact(row as usize);
                    self.twins
                        .members(row as usize)
                        .into_iter()
                        .filter(|&r| admitted(r))
                        .map(move |row| Hit { row, score })
                })
                .collect();
            if hits.len() >= k || complete {
                hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
                hits.truncate(k);
                return hits;
            }
            ef *= 2;
            if ef.saturating_mul(GRAPH_COST_PER_EF) >= self.len() {
                let admitted_rows = self.points().filter(|&r| admitted(r));
                return exact_search_rows(admitted_rows, |r| rows.dot(r, query), k);
            }
        }
    }
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

/// The `k` rows nearest to `query` by exact cosine, best first, kept in a heap of `k`
/// while scanning (ties in any order): [`exact_search`] collects every row's score first,
/// and calibration's 500 scans, two at a time, of those buffers (1.6 MB each at 100,000
/// rows) raised the indexer's peak memory: at 30,000 rows 626 MB with 200 scans, 768–919 MB
/// with 500, 564 MB with this heap; at 100,000, 2.0 GB against 1.45 GB with the heap.
fn nearest(rows: &Rows, points: impl Iterator<Item = usize>, query: &[f32], k: usize) -> Vec<Hit> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut heap: BinaryHeap<Reverse<(super::Score, usize)>> = BinaryHeap::with_capacity(k + 1);
    for row in points {
        let score = rows.dot(row, query);
        if heap.len() < k {
            heap.push(Reverse((super::Score(score), row)));
        } else if heap.peek().is_some_and(|w| score > w.0 .0 .0) {
            heap.pop();
            heap.push(Reverse((super::Score(score), row)));
        }
    }
    heap.into_sorted_vec()
        .into_iter()
        .map(|Reverse((super::Score(score), row))| Hit { row, score })
        .collect()
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

/// Test data: uniform numbers in [-0.5, 0.5) from `seed` (xorshift; `seed` non-zero).
#[cfg(test)]
pub(crate) fn random_uniform(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_unit(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut u = random_uniform(seed);
        (0..n)
            .map(|_| {
                let mut v: Vec<f32> = (0..dim).map(|_| u()).collect();
                crate::embed::normalize(&mut v);
                v
            })
            .collect()
    }

    /// Repeated vectors are one graph point; a search finds the whole group, and a filter
    /// that excludes the group's leader still admits its other rows.
    #[test]
    fn repeated_vectors_are_one_point_found_as_a_group() {
        let mut data = random_unit(3000, 64, 11);
        let dup = data[5].clone();
        for i in (100..3000).step_by(10) {
            data[i] = dup.clone();
        }
        let ann = Ann::build_with(
            Arc::new(Rows::encode(&data, 64)),
            MAX_CONNECTIONS,
            EF_CONSTRUCTION,
            false,
        );
        assert_eq!(ann.graph.as_ref().unwrap().points(), 3000 - 290);
        assert_eq!(ann.len(), 3000);
        let hits = ann.search(&dup, 10, None);
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| h.score > 0.9999), "{hits:?}");
        assert_eq!(hits[0].row, 5, "ties go to the lower row");
        let some = |r: usize| r != 5 && r.is_multiple_of(20);
        let hits = ann.search(&dup, 5, Some(&some));
        assert_eq!(
            hits.iter().map(|h| h.row).collect::<Vec<_>>(),
            [100, 120, 140, 160, 180]
        );
        // A point that is not repeated is still its own nearest neighbour.
        assert_eq!(ann.search(&data[7], 1, None)[0].row, 7);
    }

    /// A dumped graph loads back and answers exactly as the built one; a damaged file or a
    /// store of another size is an error.
    #[test]
    fn a_dumped_graph_loads_back_the_same() {
        let data = random_unit(2000, 32, 5);
        let flat = Arc::new(Rows::encode(&data, 32));
        let ann = Ann::build_with(flat.clone(), MAX_CONNECTIONS, EF_CONSTRUCTION, false);
        let dir = std::env::temp_dir().join(format!("xref-ann-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(ann.dump(&dir).unwrap(), [GRAPH_FILE]);
        let back = Ann::load(&dir, flat.clone(), Some(ann.ef())).unwrap();
        for q in data.iter().step_by(97) {
            let odd = |r: usize| r % 2 == 1;
            assert_eq!(back.search(q, 10, None), ann.search(q, 10, None));
            assert_eq!(
                back.search(q, 10, Some(&odd)),
                ann.search(q, 10, Some(&odd))
            );
        }
        let fewer = Arc::new(Rows::encode(&data[..1999], 32));
        assert!(Ann::load(&dir, fewer, Some(96)).is_err());
        // A store whose row 1 became a copy of row 0 (one point for both): the graph links
        // row 1, which is no point of it.
        let mut twinned = data.clone();
        twinned[1] = twinned[0].clone();
        let twinned = Arc::new(Rows::encode(&twinned, 32));
        let err = Ann::load(&dir, twinned, Some(96)).err().unwrap();
        assert!(err.to_string().contains("not one of its"), "{err}");
        let path = dir.join(GRAPH_FILE);
        // A point left without links of its own (as hnsw_rs could leave one before
        // `graph::no_dead_ends`) still loads, and is still found through its in-links.
        let words: Vec<u32> = std::fs::read(&path)
            .unwrap()
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let (rows, entry) = (words[1] as usize, words[2] as usize);
        let offsets = &words[4..4 + rows + 1];
        let r = (0..rows).find(|&r| r != entry).unwrap();
        let (a, b) = (offsets[r] as usize, offsets[r + 1] as usize);
        let links = 4 + rows + 1;
        let mut cut: Vec<u32> = words[..4].to_vec();
        cut.extend(
            offsets
                .iter()
                .enumerate()
                .map(|(i, &o)| if i > r { o - (b - a) as u32 } else { o }),
        );
        cut.extend(&words[links..links + a]);
        cut.extend(&words[links + b..]);
        let cut: Vec<u8> = cut.iter().flat_map(|w| w.to_le_bytes()).collect();
        std::fs::write(&path, &cut).unwrap();
        let lost = Ann::load(&dir, flat.clone(), Some(ann.ef())).unwrap();
        assert_eq!(lost.search(&data[r], 1, None)[0].row, r);
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.len() / 2;
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        assert!(Ann::load(&dir, flat.clone(), Some(96)).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A graph over some of the rows (a language's) finds only those rows, as an exact
    /// scan of them would; repeated vectors inside it are one point, outside it no concern;
    /// it loads back from its file only over the same rows.
    #[test]
    fn a_graph_over_some_rows_searches_only_those() {
        let mut data = random_unit(3000, 32, 3);
        let dup = data[10].clone();
        for i in [12, 14, 15] {
            data[i] = dup.clone(); // two more members (even rows) and a non-member
        }
        let flat = Arc::new(Rows::encode(&data, 32));
        let members: Vec<usize> = (0..3000).filter(|r| r % 2 == 0).collect();
        let ann = Ann::build_over(flat.clone(), members.clone(), 16, 100, false);
        assert_eq!(ann.len(), 1500);
        assert_eq!(ann.graph.as_ref().unwrap().points(), 1498);
        let (mut found, mut total) = (0, 0);
        for q in data.iter().step_by(31) {
            let exact = exact_search_rows(members.iter().copied(), |r| flat.dot(r, q), 10);
            let hits = ann.search_ef(q, 10, 400, None);
            assert!(hits.iter().all(|h| h.row % 2 == 0), "{hits:?}");
            found += found_of(&hits, &exact);
            total += exact.len();
        }
        assert!(found as f64 >= 0.99 * total as f64, "{found} of {total}");
        let twins: Vec<usize> = ann.search(&dup, 3, None).iter().map(|h| h.row).collect();
        assert_eq!(twins, [10, 12, 14]);
        let dir = std::env::temp_dir().join(format!("xref-ann-over-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(ann.dump_as(&dir, "graph-x.u32").unwrap(), ["graph-x.u32"]);
        let path = dir.join("graph-x.u32");
        let back = Ann::load_over(&path, flat.clone(), members.clone(), Some(ann.ef())).unwrap();
        assert_eq!(
            back.search(&data[7], 10, None),
            ann.search(&data[7], 10, None)
        );
        let odd: Vec<usize> = (0..3000).filter(|r| r % 2 == 1).collect();
        assert!(Ann::load_over(&path, flat, odd, Some(96)).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The calibrated breadth keeps recall@10 ≥ 0.99 for queries the calibration never saw,
    /// on structure-free data (the hardest case), and is larger than the minimum there.
    #[test]
    fn calibrated_breadth_keeps_recall_on_unseen_queries() {
        let data = random_unit(6000, 384, 0x9E37_79B9_7F4A_7C15);
        let flat = Arc::new(Rows::encode(&data, 384));
        // The reference: exact search over the rows as stored.
        let stored: Vec<Vec<f32>> = (0..flat.len()).map(|r| flat.decode(r)).collect();
        let rows: Vec<&[f32]> = stored.iter().map(Vec::as_slice).collect();
        assert!(
            Ann::build(flat.clone()).graph.is_none(),
            "too few points for a graph"
        );
        let ann = Ann::build_with(flat, MAX_CONNECTIONS, EF_CONSTRUCTION, false);
        assert!(
            ann.ef() > EF_SEARCH,
            "random data needs more than the minimum breadth"
        );
        assert!(
            !ann.graph_pays(10),
            "6,000 points scan faster than a graph search"
        );
        let queries = random_unit(200, 384, 7);
        let (mut found, mut total) = (0, 0);
        for q in &queries {
            let exact = exact_search(&rows, q, 10, None);
            let approx: Vec<usize> = ann.search(q, 10, None).iter().map(|h| h.row).collect();
            total += exact.len();
            found += exact.iter().filter(|h| approx.contains(&h.row)).count();
        }
        let recall = found as f64 / total as f64;
        assert!(
            recall >= 0.99,
            "recall@10 {recall} at calibrated ef {}",
            ann.ef()
        );
    }
}
