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
/// A graph search costs about this many exact dot products per unit of search breadth
/// (hnsw_rs on this project's machine, `cargo bench --bench index`: at 100,000 random
/// vectors an exact scan answers 141 queries/s, the graph 317 at ef 96 and 27 at ef 1,600).
/// Below `ef · GRAPH_COST_PER_EF` points an exact scan is faster and exact.
pub const GRAPH_COST_PER_EF: usize = 350;
/// Fewer points than this are always scanned exactly, so [`Ann::build`] builds no graph.
pub const MIN_GRAPH_POINTS: usize = EF_SEARCH * GRAPH_COST_PER_EF;
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
            return Self {
                graph: None,
                ef: EF_SEARCH,
            };
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
            return Self {
                graph: None,
                ef: EF_SEARCH,
            };
        }
        let distance = RowDistance {
            rows: rows.clone(),
            dim,
        };
        // hnsw_rs only dumps graphs created with the maximum number of layers (16).
        let mut graph = Hnsw::new(m, n, 16, ef_construction, distance);
        graph.set_keeping_pruned(keep_pruned);
        let ids: Vec<[u32; 1]> = (0..n as u32).map(|i| [i]).collect();
        let data: Vec<(&[u32], usize)> = ids.iter().enumerate().map(|(i, v)| (&v[..], i)).collect();
        graph.parallel_insert_slice(&data);
        let mut ann = Self {
            graph: Some(graph),
            ef: EF_SEARCH,
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
        let neighbours = |hits: Vec<Hit>, own: usize| -> Vec<usize> {
            hits.into_iter()
                .map(|h| h.row)
                .filter(|&r| r != own)
                .take(CALIBRATION_K)
                .collect()
        };
        let truth: Vec<Vec<usize>> = sample
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
                    neighbours(self.search_ef(vectors[r], CALIBRATION_K + 1, ef, None), r)
                        .iter()
                        .filter(|x| t.contains(x))
                        .count()
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

    /// Whether there is a graph and a search at its calibrated breadth is cheaper than an
    /// exact scan (see [`GRAPH_COST_PER_EF`]).
    pub fn graph_pays(&self) -> bool {
        self.graph.is_some() && self.ef.saturating_mul(GRAPH_COST_PER_EF) < self.len()
    }

    /// Whether a graph was built (see [`MIN_GRAPH_POINTS`]).
    pub fn has_graph(&self) -> bool {
        self.graph.is_some()
    }

    pub fn len(&self) -> usize {
        self.graph.as_ref().map_or(0, |g| g.get_nb_point())
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
        let expected = rows.len() / dim.max(1);
        let Some(ef) = ef.filter(|_| expected > 0) else {
            return Ok(Self {
                graph: None,
                ef: EF_SEARCH,
            });
        };
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
        let found = match allow {
            Some(f) => {
                let filter = |id: &usize| f(*id);
                g.search_filter(query, k, ef, Some(&filter))
            }
            None => g.search(query, k, ef),
        };
        let mut hits: Vec<Hit> = found
            .into_iter()
            .map(|n| Hit {
                row: n.d_id,
                score: 1.0 - n.distance,
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
        hits.truncate(k);
        hits
    }
}

/// Exact search by brute force: the reference for recall, and the fallback for tiny sets.
pub fn exact_search(
    vectors: &[&[f32]],
    query: &[f32],
    k: usize,
    allow: Option<&dyn Fn(usize) -> bool>,
) -> Vec<Hit> {
    let mut hits: Vec<Hit> = vectors
        .iter()
        .enumerate()
        .filter(|(i, _)| allow.is_none_or(|f| f(*i)))
        .map(|(i, v)| Hit {
            row: i,
            score: crate::embed::dot(v, query),
        })
        .collect();
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
            !ann.graph_pays(),
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
