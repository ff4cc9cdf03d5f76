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
pub use super::topk::{exact_search, exact_search_rows, found_of, top_hits, top_of_scores, Hit};

pub mod segments;

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

    /// The rows this graph is over (its points and their twins), ascending.
    pub fn member_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.points()
    }

    /// This graph over the rows of a later generation ([`Graph::remap`]): its row `r` is
    /// row `map[r]` there, `members` (ascending) are its rows that are left, renumbered,
    /// and `rows` the new generation's. A group of identical rows whose point is gone
    /// leaves with it (the caller scans such rows exactly). `None` when no point is left.
    pub fn remapped(
        &self,
        map: &[Option<u32>],
        rows: Arc<Rows>,
        members: Vec<usize>,
    ) -> Option<Self> {
        let graph = self.graph.as_ref()?.remap(map, rows.len())?;
        let twins = Twins::of(&rows, members.iter().copied());
        let linked: std::collections::HashSet<usize> = graph.linked_rows().collect();
        // Leaders that are points; the others' groups leave.
        let keep: std::collections::HashSet<usize> = members
            .iter()
            .copied()
            .filter(|&r| twins.is_leader(r) && linked.contains(&r))
            .flat_map(|r| twins.members(r))
            .collect();
        let members: Vec<usize> = members.into_iter().filter(|r| keep.contains(r)).collect();
        if members.is_empty() {
            return None;
        }
        let twins = Twins::of(&rows, members.iter().copied());
        Some(Self {
            graph: Some(graph),
            members,
            ef: self.ef,
            twins,
            rows,
        })
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
mod tests;
