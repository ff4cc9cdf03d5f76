//! Approximate nearest neighbours: an `hnsw_rs` graph over unit vectors, with the guards its
//! known pitfalls call for.
//!
//! * Distance: `1 - dot`, clamped at 0. `hnsw_rs`'s own `DistDot` asserts `1 - dot >= 0`,
//!   which rounding breaks for a vector and itself (a panic on `related` of an indexed text).
//! * Empty graphs are never dumped or loaded (loading an empty dump panics upstream, #15).
//! * `HnswIo` keeps a borrow on the loaded graph (#19): the loader is moved onto the heap
//!   and leaked, a few hundred bytes per opened index in a short-lived process.
//! * Loading asserts rather than errors on malformed files, so callers verify checksums
//!   first and the load runs under `catch_unwind` as a second line of defence.
//! * Points unreachable after parallel insertion (#32, #37): the graph is built with
//!   `ef_construction` 200 and `M` 24 and the tests check that every point finds itself.

use std::path::Path;

use anyhow::{anyhow, Result};
use hnsw_rs::prelude::*;

/// HNSW parameters.
pub const MAX_CONNECTIONS: usize = 24;
pub const EF_CONSTRUCTION: usize = 200;
/// Search breadth: at least this, and at least `4 * k`.
pub const EF_SEARCH: usize = 96;
const BASENAME: &str = "graph";

/// Cosine distance on unit vectors, safe against rounding.
#[derive(Default, Clone, Copy)]
pub struct CosineDistance;

impl Distance<f32> for CosineDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        (1.0 - dot).max(0.0)
    }
}

/// A neighbour: row number in the store and cosine similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub row: usize,
    pub score: f32,
}

pub struct Ann {
    graph: Option<Hnsw<'static, f32, CosineDistance>>,
}

impl Ann {
    /// Build a graph over `vectors` (row `i` gets id `i`).
    pub fn build(vectors: &[&[f32]]) -> Self {
        if vectors.is_empty() {
            return Self { graph: None };
        }
        let n = vectors.len();
        // hnsw_rs only dumps graphs created with the maximum number of layers (16).
        let graph = Hnsw::new(MAX_CONNECTIONS, n, 16, EF_CONSTRUCTION, CosineDistance);
        let data: Vec<(&[f32], usize)> = vectors.iter().enumerate().map(|(i, v)| (*v, i)).collect();
        graph.parallel_insert_slice(&data);
        Self { graph: Some(graph) }
    }

    pub fn len(&self) -> usize {
        self.graph.as_ref().map_or(0, |g| g.get_nb_point())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Write the graph into `dir` (nothing for an empty graph). Returns the files written.
    pub fn dump(&self, dir: &Path) -> Result<Vec<String>> {
        let Some(g) = &self.graph else { return Ok(vec![]) };
        let name = g.file_dump(dir, BASENAME).map_err(|e| anyhow!("writing the HNSW graph: {e}"))?;
        Ok(vec![format!("{name}.hnsw.graph"), format!("{name}.hnsw.data")])
    }

    /// Load a graph dumped by [`Ann::dump`]; `expected` is the number of points it must hold.
    pub fn load(dir: &Path, expected: usize) -> Result<Self> {
        if expected == 0 {
            return Ok(Self { graph: None });
        }
        let dir = dir.to_path_buf();
        let loaded = std::panic::catch_unwind(move || {
            let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&dir, BASENAME)));
            io.load_hnsw::<f32, CosineDistance>()
        });
        let graph = match loaded {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => return Err(anyhow!("the HNSW graph is unreadable: {e}")),
            Err(_) => return Err(anyhow!("the HNSW graph is corrupt")),
        };
        if graph.get_nb_point() != expected {
            return Err(anyhow!("the HNSW graph holds {} points, the store {expected}", graph.get_nb_point()));
        }
        Ok(Self { graph: Some(graph) })
    }

    /// The `k` nearest rows to `query`, best first; `allow` restricts the rows considered.
    pub fn search(&self, query: &[f32], k: usize, allow: Option<&dyn Fn(usize) -> bool>) -> Vec<Hit> {
        self.search_ef(query, k, EF_SEARCH.max(4 * k), allow)
    }

    /// [`Ann::search`] with an explicit search breadth `ef` (at least `k`).
    pub fn search_ef(&self, query: &[f32], k: usize, ef: usize, allow: Option<&dyn Fn(usize) -> bool>) -> Vec<Hit> {
        let Some(g) = &self.graph else { return vec![] };
        if k == 0 {
            return vec![];
        }
        let ef = ef.max(k);
        let found = match allow {
            Some(f) => {
                let filter = |id: &usize| f(*id);
                g.search_filter(query, k, ef, Some(&filter))
            }
            None => g.search(query, k, ef),
        };
        let mut hits: Vec<Hit> =
            found.into_iter().map(|n| Hit { row: n.d_id, score: 1.0 - n.distance }).collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
        hits.truncate(k);
        hits
    }
}

/// Exact search by brute force: the reference for recall, and the fallback for tiny sets.
pub fn exact_search(vectors: &[&[f32]], query: &[f32], k: usize, allow: Option<&dyn Fn(usize) -> bool>) -> Vec<Hit> {
    let mut hits: Vec<Hit> = vectors
        .iter()
        .enumerate()
        .filter(|(i, _)| allow.is_none_or(|f| f(*i)))
        .map(|(i, v)| Hit { row: i, score: crate::embed::dot(v, query) })
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
