//! Approximate nearest neighbours: an `hnsw_rs` graph over the index's own stored vectors,
//! with the guards its known pitfalls call for.
//!
//! * No second copy of the vectors: the graph's points are row numbers (`[u32; 1]`), and
//!   [`RowDistance`] looks the rows up in the index's vectors (shared, `Arc`); a query is
//!   passed as its `f32` components' bits, told apart by its length. The dump's data file
//!   thus holds 20 bytes a point instead of the 1.5 KB of an f32 copy.
//! * Distance: `1 - dot`, clamped at 0. `hnsw_rs`'s own `DistDot` asserts `1 - dot >= 0`,
//!   which rounding breaks for a vector and itself (a panic on `related` of an indexed text).
//! * Only where it pays: below [`MIN_GRAPH_POINTS`] an exact scan is faster than a graph
//!   search at the smallest breadth, so no graph is built or stored (empty graphs, which
//!   hnsw_rs cannot reload (#15), are never dumped either).
//! * `HnswIo` keeps a borrow on the loaded graph (#19): the loader is moved onto the heap
//!   and leaked, a few hundred bytes per opened index in a short-lived process.
//! * Loading asserts rather than errors on malformed files, so callers verify checksums
//!   first and the load runs under `catch_unwind` as a second line of defence.
//! * Points unreachable after parallel insertion (#32, #37): the graph is built with
//!   `ef_construction` 200 and `M` 24 and the tests check that every point finds itself.
//! * Recall: the search breadth is calibrated per graph at build time against exact search
//!   on a sample of its points ([`Ann::calibrate`]) and stored in the manifest.

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use hnsw_rs::prelude::*;

/// HNSW parameters.
pub const MAX_CONNECTIONS: usize = 24;
pub const EF_CONSTRUCTION: usize = 200;
/// The smallest search breadth; searches use at least `4 * k` too.
pub const EF_SEARCH: usize = 96;
/// Recall@10 the calibrated breadth must reach on the build's own sample (a margin above
/// the 0.99 promised for unseen queries).
pub const RECALL_TARGET: f64 = 0.998;
/// Points sampled to calibrate the breadth.
const CALIBRATION_SAMPLE: usize = 200;
/// A graph search costs about this many exact dot products per unit of search breadth, on
/// real text (`cargo bench --bench scale`, the Python and PostgreSQL manuals on this
/// project's 2 cores: at 10,574 paragraphs the graph at ef 96 and the exact scan both
/// answer ~2,400 queries/s; at 30,086, ef 144, the graph 851 and the scan 382, which no
/// longer fits the caches). Structure-free random vectors cost more per unit (~460 at
/// 100,000: the graph wanders), but their calibrated breadth is larger too. Below
/// `ef · GRAPH_COST_PER_EF` points an exact scan is faster and exact.
pub const GRAPH_COST_PER_EF: usize = 100;
/// Fewer points than this are always scanned exactly, so [`Ann::build`] builds no graph:
/// the searches behind questions and links ask for 50 candidates (breadth 200).
pub const MIN_GRAPH_POINTS: usize = 200 * GRAPH_COST_PER_EF;
const CALIBRATION_K: usize = 10;
const BASENAME: &str = "graph";

/// Cosine distance between stored rows (points are `[row]`) and queries (points are the
/// `dim` components' bits), safe against rounding.
#[derive(Clone)]
pub struct RowDistance {
    rows: Arc<Vec<f32>>,
    dim: usize,
}

impl RowDistance {
    fn resolve<'a>(&'a self, point: &'a [u32]) -> &'a [f32] {
        match point {
            [row] => {
                let r = *row as usize * self.dim;
                &self.rows[r..r + self.dim]
            }
            query => bytemuck::cast_slice(query),
        }
    }
}

impl Distance<u32> for RowDistance {
    fn eval(&self, a: &[u32], b: &[u32]) -> f32 {
        (1.0 - crate::embed::dot(self.resolve(a), self.resolve(b))).max(0.0)
    }
}

/// A neighbour: row number in the store and cosine similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub row: usize,
    pub score: f32,
}

pub struct Ann {
    graph: Option<Hnsw<'static, u32, RowDistance>>,
    /// Search breadth calibrated at build time (see [`Ann::calibrate`]).
    ef: usize,
    /// Rows with identical vectors: only the first of each group is in the graph.
    twins: Twins,
    /// Rows covered (graph points plus their twins).
    rows: usize,
}

/// Groups of rows whose vectors are identical (a paragraph repeated verbatim: a page footer,
/// "New in version 3.2."). HNSW degrades on exact duplicates: hundreds of points at
/// distance 0 fill each other's neighbour lists and wall themselves off from the graph
/// (calibrated breadth 1,093 instead of 96 on the Python and PostgreSQL manuals, where
/// 18 % of paragraphs repeat another). So only one row of each group is a point, and a
/// search expands it to the group.
#[derive(Default)]
struct Twins {
    /// Each row's group leader (itself for a row with no twin). Empty: no twins at all.
    leader: Vec<u32>,
    /// Leader → every row of its group, ascending (groups of two or more only).
    groups: std::collections::HashMap<u32, Vec<u32>>,
}

impl Twins {
    fn of(rows: &[f32], dim: usize) -> Self {
        use std::collections::HashMap;
        let n = rows.len() / dim;
        let row = |r: usize| -> &[u32] { bytemuck::cast_slice(&rows[r * dim..(r + 1) * dim]) };
        let mut first: HashMap<&[u32], u32> = HashMap::with_capacity(n);
        let mut leader = Vec::with_capacity(n);
        let mut groups: HashMap<u32, Vec<u32>> = HashMap::new();
        for r in 0..n {
            let l = *first.entry(row(r)).or_insert(r as u32);
            leader.push(l);
            if l != r as u32 {
                groups.entry(l).or_insert_with(|| vec![l]).push(r as u32);
            }
        }
        if groups.is_empty() {
            leader.clear();
        }
        Self { leader, groups }
    }

    fn is_leader(&self, r: usize) -> bool {
        self.leader.get(r).is_none_or(|&l| l as usize == r)
    }

    /// The rows of `leader`'s group (just itself when it has no twin).
    fn members(&self, leader: usize) -> Vec<usize> {
        match self.groups.get(&(leader as u32)) {
            Some(g) => g.iter().map(|&r| r as usize).collect(),
            None => vec![leader],
        }
    }
}

/// Rows of `dim` components as slices.
fn row_slices(rows: &[f32], dim: usize) -> Vec<&[f32]> {
    rows.chunks_exact(dim).collect()
}

impl Ann {
    /// The graph over `rows` (unit vectors of `dim` components; row `i` gets id `i`) where
    /// it pays ([`MIN_GRAPH_POINTS`]), else none (searches scan exactly).
    pub fn build(rows: Arc<Vec<f32>>, dim: usize) -> Self {
        if rows.len() / dim.max(1) < MIN_GRAPH_POINTS {
            return Self::none();
        }
        Self::build_with(rows, dim, MAX_CONNECTIONS, EF_CONSTRUCTION, false)
    }

    /// A graph over `rows` whatever their number, with explicit parameters (for tests,
    /// benchmarks and experiments).
    pub fn build_with(
        rows: Arc<Vec<f32>>,
        dim: usize,
        m: usize,
        ef_construction: usize,
        keep_pruned: bool,
    ) -> Self {
        assert!(dim >= 2, "a row id and a query must differ in length");
        let n = rows.len() / dim;
        if n == 0 {
            return Self::none();
        }
        let twins = Twins::of(&rows, dim);
        let distance = RowDistance {
            rows: rows.clone(),
            dim,
        };
        let ids: Vec<[u32; 1]> = (0..n as u32)
            .filter(|&i| twins.is_leader(i as usize))
            .map(|i| [i])
            .collect();
        // hnsw_rs only dumps graphs created with the maximum number of layers (16).
        let mut graph = Hnsw::new(m, ids.len(), 16, ef_construction, distance);
        graph.set_keeping_pruned(keep_pruned);
        let data: Vec<(&[u32], usize)> = ids.iter().map(|v| (&v[..], v[0] as usize)).collect();
        graph.parallel_insert_slice(&data);
        let mut ann = Self {
            graph: Some(graph),
            ef: EF_SEARCH,
            twins,
            rows: n,
        };
        ann.ef = ann.calibrate(&row_slices(&rows, dim));
        ann
    }

    /// The smallest breadth (from [`EF_SEARCH`], growing by half each step) at which the
    /// graph finds [`RECALL_TARGET`] of the exact 10 nearest neighbours of a sample of its
    /// own points (each point itself excluded). Real embeddings, which cluster, need little;
    /// uniform random vectors, which do not, need thousands at 100,000 points. Either way the
    /// graph keeps its recall promise and is no slower than it must be.
    pub fn calibrate(&self, vectors: &[&[f32]]) -> usize {
        use rayon::prelude::*;
        let n = vectors.len();
        if n <= EF_SEARCH {
            return EF_SEARCH;
        }
        let s = CALIBRATION_SAMPLE.min(n);
        let sample: Vec<usize> = (0..s).map(|i| i * n / s).collect();
        let neighbours = |hits: Vec<Hit>, own: usize| -> Vec<Hit> {
            hits.into_iter()
                .filter(|h| h.row != own)
                .take(CALIBRATION_K)
                .collect()
        };
        let truth: Vec<Vec<Hit>> = sample
            .par_iter()
            .map(|&r| {
                neighbours(
                    exact_search(vectors, vectors[r], CALIBRATION_K + 1, None),
                    r,
                )
            })
            .collect();
        let wanted: usize = truth.iter().map(Vec::len).sum();
        let mut ef = EF_SEARCH;
        loop {
            let found: usize = sample
                .par_iter()
                .zip(&truth)
                .map(|(&r, t)| {
                    let approx =
                        neighbours(self.search_ef(vectors[r], CALIBRATION_K + 1, ef, None), r);
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
            ef: EF_SEARCH,
            twins: Twins::default(),
            rows: 0,
        }
    }

    /// Whether there is a graph and a search for `k` neighbours at its breadth (the
    /// calibrated one, at least `4 · k`) is cheaper than an exact scan (see
    /// [`GRAPH_COST_PER_EF`]).
    pub fn graph_pays(&self, k: usize) -> bool {
        self.graph.is_some() && self.ef.max(4 * k).saturating_mul(GRAPH_COST_PER_EF) < self.rows
    }

    /// Whether a graph was built (see [`MIN_GRAPH_POINTS`]).
    pub fn has_graph(&self) -> bool {
        self.graph.is_some()
    }

    /// Rows the graph covers (its points and their twins).
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Write the graph into `dir` (nothing for an empty graph). Returns the files written.
    pub fn dump(&self, dir: &Path) -> Result<Vec<String>> {
        let Some(g) = &self.graph else {
            return Ok(vec![]);
        };
        let name = g
            .file_dump(dir, BASENAME)
            .map_err(|e| anyhow!("writing the HNSW graph: {e}"))?;
        Ok(vec![
            format!("{name}.hnsw.graph"),
            format!("{name}.hnsw.data"),
        ])
    }

    /// Load a graph dumped by [`Ann::dump`] over `rows` (`dim` components each); `None` for
    /// a generation stored without one; `ef` is the breadth calibrated when it was built.
    pub fn load(dir: &Path, rows: Arc<Vec<f32>>, dim: usize, ef: Option<usize>) -> Result<Self> {
        let n = rows.len() / dim.max(1);
        let Some(ef) = ef.filter(|_| n > 0) else {
            return Ok(Self::none());
        };
        let twins = Twins::of(&rows, dim);
        let expected = (0..n).filter(|&r| twins.is_leader(r)).count();
        let dir = dir.to_path_buf();
        let distance = RowDistance { rows, dim };
        let loaded = std::panic::catch_unwind(move || {
            let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&dir, BASENAME)));
            io.load_hnsw_with_dist::<u32, RowDistance>(distance)
        });
        let graph = match loaded {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => return Err(anyhow!("the HNSW graph is unreadable: {e}")),
            Err(_) => return Err(anyhow!("the HNSW graph is corrupt")),
        };
        if graph.get_nb_point() != expected
            || graph.get_point_indexation().get_data_dimension() != 1
        {
            return Err(anyhow!(
                "the HNSW graph holds {} points, the store {expected}",
                graph.get_nb_point()
            ));
        }
        Ok(Self {
            graph: Some(graph),
            ef: ef.max(1),
            twins,
            rows: n,
        })
    }

    /// The `k` nearest rows to `query`, best first, at the calibrated breadth (and at least
    /// `4 * k`); `allow` restricts the rows considered.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        self.search_ef(query, k, self.ef.max(4 * k), allow)
    }

    /// [`Ann::search`] with an explicit search breadth `ef` (at least `k`).
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
        let ef = ef.max(k);
        let query: &[u32] = bytemuck::cast_slice(query);
        let twins = &self.twins;
        let admitted = |r: usize| allow.is_none_or(|f| f(r));
        // A group's leader stands for every row of it: admitted if any of them is.
        let found = match allow {
            Some(f) => {
                let filter = |id: &usize| match twins.groups.get(&(*id as u32)) {
                    Some(group) => group.iter().any(|&r| f(r as usize)),
                    None => f(*id),
                };
                g.search_filter(query, k, ef, Some(&filter))
            }
            None => g.search(query, k, ef),
        };
        let mut hits: Vec<Hit> = found
            .into_iter()
            .flat_map(|n| {
                let score = 1.0 - n.distance;
                twins
                    .members(n.d_id)
                    .into_iter()
                    .filter(|&r| admitted(r))
                    .map(move |row| Hit { row, score })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
        hits.truncate(k);
        hits
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

/// Exact search by brute force: the reference for recall, and the fallback for tiny sets.
pub fn exact_search(
    vectors: &[&[f32]],
    query: &[f32],
    k: usize,
    allow: Option<&dyn Fn(usize) -> bool>,
) -> Vec<Hit> {
    let rows = (0..vectors.len()).filter(|&i| allow.is_none_or(|f| f(i)));
    exact_search_rows(rows, |i| vectors[i], query, k)
}

/// [`exact_search`] over the given `rows`, each row's vector from `vector`.
pub fn exact_search_rows<'v>(
    rows: impl Iterator<Item = usize>,
    vector: impl Fn(usize) -> &'v [f32],
    query: &[f32],
    k: usize,
) -> Vec<Hit> {
    let hits: Vec<Hit> = rows
        .map(|row| Hit {
            row,
            score: crate::embed::dot(vector(row), query),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn random_unit(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut state = seed;
        let mut u = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
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
            Arc::new(data.concat()),
            64,
            MAX_CONNECTIONS,
            EF_CONSTRUCTION,
            false,
        );
        assert_eq!(ann.graph.as_ref().unwrap().get_nb_point(), 3000 - 290);
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

    /// The calibrated breadth keeps recall@10 ≥ 0.99 for queries the calibration never saw,
    /// on structure-free data (the hardest case), and is larger than the minimum there.
    #[test]
    fn calibrated_breadth_keeps_recall_on_unseen_queries() {
        let data = random_unit(6000, 384, 0x9E37_79B9_7F4A_7C15);
        let rows: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let flat = Arc::new(data.concat());
        assert!(
            Ann::build(flat.clone(), 384).graph.is_none(),
            "too few points for a graph"
        );
        let ann = Ann::build_with(flat, 384, MAX_CONNECTIONS, EF_CONSTRUCTION, false);
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
