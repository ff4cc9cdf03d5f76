//! The paragraphs' nearest-neighbour search over segments, as Lucene and tantivy search an
//! index of segments: HNSW graphs, each over the rows of the files indexed together (a
//! segment), and the rows in no graph yet (the tail), scanned exactly. A search takes each
//! segment's top k (its graph where it pays, else a scan of its rows) and the tail's, and
//! merges them.
//!
//! An update keeps the segments of the files it keeps: their graphs are renumbered to the
//! new generation's rows ([`super::Graph::remap`]), the rows of changed or removed files leave
//! them, and new rows join the tail — no graph is built again. The merge policy, applied as
//! a generation is written (so a kill during a merge leaves the previous generation, as
//! any kill does):
//!
//! * a tail of [`MIN_GRAPH_POINTS`] rows or more becomes a segment of its own (a graph over
//!   it; below that an exact scan of it costs less than a graph search);
//! * a segment that has lost more than [`MAX_GONE`] of the points it was built with is
//!   dissolved into the tail (deleting points from a graph suits a small share of them);
//! * more than [`MAX_SEGMENTS`] segments: the smallest are merged into one graph until
//!   there are [`MAX_SEGMENTS`] (each search visits every segment).
//!
//! ```text
//! segment-N.rows    the segment's rows, u32 little-endian, ascending
//! segment-N.graph   its graph over the generation's rows (graph.rs's layout)
//! manifest.json     "segments": [{"rows", "graph", "ef", "built_points"}…]
//! ```

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

pub use super::MIN_GRAPH_POINTS;
use super::{exact_search_rows, Ann, Hit, Rows, EF_CONSTRUCTION, MAX_CONNECTIONS};

/// Most segments a generation keeps (see the module's documentation): every search visits
/// each one, and a crossref of the 100k scale corpus over 4 took twice as long as over one
/// graph (`cargo bench --bench segments`); `xref index --merge` makes them one again.
pub const MAX_SEGMENTS: usize = 4;
/// The share of its points a segment may lose before it is dissolved into the tail.
pub const MAX_GONE: f64 = 0.2;

/// The merge policy's bounds (see the module's documentation); the index uses the
/// [`Default`] ones.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// A tail this long becomes a segment.
    pub min_points: usize,
    /// Most segments.
    pub max_segments: usize,
    /// The share of its points a segment may lose.
    pub max_gone: f64,
    /// Every row in one segment (a graph over all of them, where they are enough for one),
    /// whatever the previous generation's segments (`xref index --merge`).
    pub merge_all: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_points: MIN_GRAPH_POINTS,
            max_segments: MAX_SEGMENTS,
            max_gone: MAX_GONE,
            merge_all: false,
        }
    }
}

/// A segment as the manifest describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// The file of its rows.
    pub rows: String,
    /// The file of its graph.
    pub graph: String,
    /// The graph's calibrated search breadth.
    pub ef: usize,
    /// The rows it held when its graph was built (to tell how many it has lost since).
    pub built_points: usize,
}

/// One segment: its rows and the graph over them.
struct Segment {
    ann: Ann,
    built_points: usize,
}

/// The segments and the tail over one generation's rows.
pub struct Segments {
    parts: Vec<Segment>,
    tail: Vec<usize>,
    rows: Arc<Rows>,
}

impl Segments {
    /// No segments: every row in the tail (an index too small for a graph).
    pub fn none(rows: Arc<Rows>) -> Self {
        let tail = (0..rows.len()).collect();
        Self {
            parts: Vec::new(),
            tail,
            rows,
        }
    }

    /// The segments of a new generation over `rows`: those of the previous generation
    /// (`previous`, renumbered through `map`: its row `r` is row `map[r]` here, `None` when
    /// gone), every other row in the tail, then the merge `policy` (see the module's
    /// documentation). Without a previous generation, one segment over all rows where they
    /// are enough for a graph.
    pub fn update(
        rows: Arc<Rows>,
        previous: Option<(&Segments, &[Option<u32>])>,
        policy: &Policy,
    ) -> Self {
        let n = rows.len();
        let mut parts: Vec<Segment> = Vec::new();
        let mut in_part = vec![false; n];
        let previous = previous.filter(|_| !policy.merge_all);
        if let Some((old, map)) = previous {
            for part in &old.parts {
                let members: Vec<usize> = part
                    .ann
                    .member_rows()
                    .filter_map(|r| map.get(r).copied().flatten().map(|m| m as usize))
                    .collect();
                let gone = part.built_points - members.len().min(part.built_points);
                if members.is_empty() || gone as f64 > policy.max_gone * part.built_points as f64 {
                    continue;
                }
                let Some(ann) = part.ann.remapped(map, rows.clone(), members) else {
                    continue;
                };
                for r in ann.member_rows() {
                    in_part[r] = true;
                }
                parts.push(Segment {
                    ann,
                    built_points: part.built_points,
                });
            }
        }
        let mut tail: Vec<usize> = (0..n).filter(|&r| !in_part[r]).collect();
        if tail.len() >= policy.min_points {
            parts.push(Segment::build(rows.clone(), std::mem::take(&mut tail)));
        }
        while parts.len() > policy.max_segments.max(1) {
            // The two smallest, merged into one graph.
            parts.sort_by_key(|p| std::cmp::Reverse(p.ann.len()));
            let a = parts.pop().expect("more than MAX_SEGMENTS");
            let b = parts.pop().expect("more than MAX_SEGMENTS");
            let mut members: Vec<usize> = a.ann.member_rows().chain(b.ann.member_rows()).collect();
            members.sort_unstable();
            parts.push(Segment::build(rows.clone(), members));
        }
        parts.sort_by_key(|p| p.ann.member_rows().next());
        Self { parts, tail, rows }
    }

    /// How many segments have a graph.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The rows in no segment (scanned exactly).
    pub fn tail(&self) -> &[usize] {
        &self.tail
    }

    /// Write each segment's rows and graph into `dir`: the manifest's entries and the
    /// files written.
    pub fn dump(&self, dir: &Path) -> Result<(Vec<SegmentEntry>, Vec<String>)> {
        let mut entries = Vec::new();
        let mut files = Vec::new();
        for (i, part) in self.parts.iter().enumerate() {
            let rows = format!("segment-{i}.rows");
            let graph = format!("segment-{i}.graph");
            let bytes: Vec<u8> = part
                .ann
                .member_rows()
                .flat_map(|r| (r as u32).to_le_bytes())
                .collect();
            std::fs::write(dir.join(&rows), bytes)?;
            part.ann.dump_as(dir, &graph)?;
            entries.push(SegmentEntry {
                rows: rows.clone(),
                graph: graph.clone(),
                ef: part.ann.ef(),
                built_points: part.built_points,
            });
            files.extend([rows, graph]);
        }
        Ok((entries, files))
    }

    /// The segments `entries` describes in `dir`, over `rows`; every row in no segment is
    /// in the tail. A segment's rows must be ascending, within `rows` and in no other
    /// segment.
    pub fn load(dir: &Path, rows: Arc<Rows>, entries: &[SegmentEntry]) -> Result<Self> {
        let n = rows.len();
        let mut in_part = vec![false; n];
        let mut parts = Vec::new();
        for e in entries {
            let bytes = std::fs::read(dir.join(&e.rows))
                .with_context(|| format!("reading the segment's rows {}", e.rows))?;
            if !bytes.len().is_multiple_of(4) {
                bail!("the segment's rows {} are damaged", e.rows);
            }
            let members: Vec<usize> = bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
                .collect();
            let ascending = members.windows(2).all(|w| w[0] < w[1]);
            if members.is_empty() || !ascending || members.iter().any(|&r| r >= n || in_part[r]) {
                bail!("the segment's rows {} are damaged", e.rows);
            }
            for &r in &members {
                in_part[r] = true;
            }
            let ann = Ann::load_over(&dir.join(&e.graph), rows.clone(), members, Some(e.ef))?;
            parts.push(Segment {
                ann,
                built_points: e.built_points,
            });
        }
        let tail = (0..n).filter(|&r| !in_part[r]).collect();
        Ok(Self { parts, tail, rows })
    }

    /// A generation of format 7 or older: one graph over all rows (`graph.u32`) where it
    /// has one.
    pub fn load_single(dir: &Path, rows: Arc<Rows>, ef: Option<usize>) -> Result<Self> {
        let ann = Ann::load(dir, rows.clone(), ef)?;
        if !ann.has_graph() {
            return Ok(Self::none(rows));
        }
        let built_points = ann.len();
        Ok(Self {
            parts: vec![Segment { ann, built_points }],
            tail: Vec::new(),
            rows,
        })
    }

    /// Whether some segment's graph pays for a search of `k` (see [`Ann::graph_pays`]);
    /// otherwise one exact scan of every row is the fastest search.
    pub fn graph_pays(&self, k: usize) -> bool {
        self.parts.iter().any(|p| p.ann.graph_pays(k))
    }

    /// The largest calibrated breadth of the segments' graphs.
    pub fn ef(&self) -> usize {
        self.parts
            .iter()
            .map(|p| p.ann.ef())
            .max()
            .unwrap_or(super::EF_SEARCH)
    }

    /// The `k` nearest rows to `query`, best first: each segment's top `k` (through its
    /// graph where it pays, else by a scan of its rows) and the tail's, merged.
    /// `allow` restricts the rows considered.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        self.merged(query, k, allow, false)
    }

    /// Through every segment's graph, whatever it costs (for recall measurements).
    pub fn search_graphs(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        self.merged(query, k, allow, true)
    }

    /// Each segment's top `k` (through its graph if `graphs` or where it pays, else by a
    /// scan of its rows) and the tail's, merged.
    fn merged(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
        graphs: bool,
    ) -> Vec<Hit> {
        let rows = &*self.rows;
        let admitted = |r: &usize| allow.is_none_or(|f| f(*r));
        let mut hits: Vec<Hit> = Vec::new();
        for part in &self.parts {
            if graphs || part.ann.graph_pays(k) {
                hits.extend(part.ann.search(query, k, allow));
            } else {
                let members = part.ann.member_rows().filter(admitted);
                hits.extend(exact_search_rows(members, |r| rows.dot(r, query), k));
            }
        }
        let tail = self.tail.iter().copied().filter(admitted);
        hits.extend(exact_search_rows(tail, |r| rows.dot(r, query), k));
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
        hits.truncate(k);
        hits
    }
}

impl Segment {
    /// A graph over `members` (ascending rows).
    fn build(rows: Arc<Rows>, members: Vec<usize>) -> Self {
        let built_points = members.len();
        let ann = Ann::build_over(rows, members, MAX_CONNECTIONS, EF_CONSTRUCTION, false);
        Self { ann, built_points }
    }
}

#[cfg(test)]
mod tests;
