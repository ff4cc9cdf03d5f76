//! The HNSW graph as the index stores and searches it: neighbour lists of row numbers,
//! level by level, in flat arrays (a graph segment's file, `segment-N.graph`); and which
//! rows are its points (`Twins`).
//!
//! hnsw_rs builds the graph ([`super::ann::Ann::build_with`]); its structure is then copied
//! out into [`Graph`] and searched here. Measured on the Python and PostgreSQL manuals
//! (`cargo bench --bench scale`): hnsw_rs's dump took ~600 bytes a point (17 per neighbour
//! link) where this file takes ~200 (4 per link), and its search, which allocates a
//! reference-counted point and a hashed `visited` entry for every point it looks at, spent
//! as much time in that bookkeeping as in distances. The search below is the same
//! algorithm (Malkov & Yashunin, 2018: greedy descent through the upper levels, then a
//! best-first search of breadth `ef` on level 0) over arrays and a reusable `visited` mark.
//!
//! File layout, all `u32` little-endian: `XRG1`, rows, entry point, levels; level 0:
//! `rows + 1` offsets, then the links; each upper level: its point count `m`, its `m`
//! points (ascending rows), `m + 1` offsets, the links. Every number is checked on reading:
//! a damaged file is an error, never a panic or a wrong answer.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use anyhow::{bail, Result};

use super::Score as D;

const MAGIC: &[u8; 4] = b"XRG1";

/// One level above the base: its points (ascending rows) and their neighbour lists.
#[derive(Debug, Clone, PartialEq, Default)]
struct Level {
    points: Vec<u32>,
    offsets: Vec<u32>,
    links: Vec<u32>,
}

impl Level {
    fn neighbours(&self, row: u32) -> &[u32] {
        match self.points.binary_search(&row) {
            Ok(i) => &self.links[self.offsets[i] as usize..self.offsets[i + 1] as usize],
            Err(_) => &[],
        }
    }
}

/// An HNSW graph over rows `0..rows` (rows absent from it have no links).
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    rows: usize,
    entry: u32,
    /// Level 0, indexed by row.
    offsets: Vec<u32>,
    links: Vec<u32>,
    /// Levels 1, 2, … (the last one holds the entry point).
    upper: Vec<Level>,
}

thread_local! {
    /// Per thread: a mark per row and the current search's mark, so that "visited" is reset
    /// by incrementing a number, not by clearing `rows` entries.
    static VISITED: RefCell<(Vec<u32>, u32)> = const { RefCell::new((Vec::new(), 0)) };
}

impl Graph {
    /// The graph hnsw_rs built over `rows` rows (its points' ids are row numbers).
    pub fn from_hnsw<T, D2>(hnsw: &hnsw_rs::hnsw::Hnsw<'_, T, D2>, rows: usize) -> Self
    where
        T: Clone + Send + Sync + std::fmt::Debug,
        D2: hnsw_rs::prelude::Distance<T> + Send + Sync,
    {
        let indexation = hnsw.get_point_indexation();
        // Per level: (row, neighbour rows), in any order.
        let mut levels: Vec<Vec<(u32, Vec<u32>)>> = Vec::new();
        let mut entry = (0u8, 0u32);
        for point in indexation {
            let row = point.get_origin_id() as u32;
            let level = point.get_point_id().0;
            if levels.is_empty() || level > entry.0 {
                entry = (level, row);
            }
            for (l, list) in point.get_neighborhood_id().into_iter().enumerate() {
                if l > level as usize {
                    break;
                }
                if levels.len() <= l {
                    levels.resize_with(l + 1, Vec::new);
                }
                levels[l].push((row, list.iter().map(|n| n.d_id as u32).collect()));
            }
        }
        Self::from_levels(rows, entry.1, levels)
    }

    /// A graph over `rows` rows from its levels' neighbour lists — `(row, neighbours)` in
    /// any order, level 0 first — and its entry point; level 0 made connected from the
    /// entry point and free of dead ends.
    fn from_levels(rows: usize, entry: u32, levels: Vec<Vec<(u32, Vec<u32>)>>) -> Self {
        let mut graph = Graph {
            rows,
            entry,
            offsets: vec![0; rows + 1],
            links: Vec::new(),
            upper: Vec::new(),
        };
        let mut levels = levels.into_iter();
        if let Some(mut base) = levels.next() {
            base.sort_unstable_by_key(|p| p.0);
            connect(&mut base, entry);
            no_dead_ends(&mut base, entry);
            let mut next = base.iter().peekable();
            for r in 0..rows {
                if let Some((_, list)) = next.next_if(|p| p.0 as usize == r) {
                    graph.links.extend(list);
                }
                graph.offsets[r + 1] = graph.links.len() as u32;
            }
        }
        for mut points in levels {
            points.sort_unstable_by_key(|p| p.0);
            let mut level = Level {
                offsets: vec![0],
                ..Level::default()
            };
            for (row, list) in points {
                level.points.push(row);
                level.links.extend(list);
                level.offsets.push(level.links.len() as u32);
            }
            graph.upper.push(level);
        }
        // Levels above the entry point's hold only it, with no links: nothing to keep.
        while graph.upper.last().is_some_and(|l| l.links.is_empty()) {
            graph.upper.pop();
        }
        graph
    }

    /// This graph over the rows of a later generation: `map[r]` is old row `r`'s row there
    /// (`None`: gone), of `rows` rows. A gone point's neighbours take its place in the lists
    /// of the points that linked to it (each list keeps its length at most), so that paths
    /// through it survive; the entry point, if gone, is another point of the highest level
    /// left. `None` when no point is left. (Deleting points this way suits a small share of
    /// them; the index rebuilds a segment that loses more, see [`super::ann::segments`].)
    pub fn remap(&self, map: &[Option<u32>], rows: usize) -> Option<Self> {
        let kept = |r: u32| map.get(r as usize).copied().flatten();
        /// `own`'s list `list` renumbered, gone rows' neighbours (`of`) in their place.
        fn patched<'a>(
            own: u32,
            list: &[u32],
            of: impl Fn(u32) -> &'a [u32],
            kept: impl Fn(u32) -> Option<u32>,
        ) -> Vec<u32> {
            let mut out: Vec<u32> = Vec::with_capacity(list.len());
            for &n in list {
                if let Some(m) = kept(n) {
                    if !out.contains(&m) {
                        out.push(m);
                    }
                }
            }
            for &gone in list.iter().filter(|&&n| kept(n).is_none()) {
                for &n in of(gone) {
                    if out.len() >= list.len() {
                        return out;
                    }
                    match kept(n) {
                        Some(m) if n != own && !out.contains(&m) => out.push(m),
                        _ => {}
                    }
                }
            }
            out
        }
        let mut levels: Vec<Vec<(u32, Vec<u32>)>> = Vec::new();
        let base: Vec<(u32, Vec<u32>)> = self
            .linked_rows()
            .filter_map(|r| {
                let r = r as u32;
                let m = kept(r)?;
                Some((m, patched(r, self.base(r), |n| self.base(n), kept)))
            })
            .collect();
        if base.is_empty() {
            return None;
        }
        levels.push(base);
        for level in &self.upper {
            let points: Vec<(u32, Vec<u32>)> = level
                .points
                .iter()
                .filter_map(|&p| {
                    let m = kept(p)?;
                    Some((
                        m,
                        patched(p, level.neighbours(p), |n| level.neighbours(n), kept),
                    ))
                })
                .collect();
            if points.is_empty() {
                break;
            }
            levels.push(points);
        }
        let entry = match kept(self.entry) {
            Some(e) => e,
            // The first point of the highest level left (every level's points are level 0's).
            None => levels.last()?.iter().map(|p| p.0).min()?,
        };
        Some(Self::from_levels(rows, entry, levels))
    }

    /// Rows the graph spans.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Rows with a place in the graph as the file tells them: rows with links, and the
    /// entry point. (A point hnsw_rs left without links of its own is not among them in a
    /// graph written before session 21, which gave every point links of its own; nothing
    /// else is.)
    pub fn linked_rows(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.rows).filter(|&r| self.offsets[r + 1] > self.offsets[r] || r as u32 == self.entry)
    }

    /// How many [`Graph::linked_rows`] there are.
    pub fn points(&self) -> usize {
        self.linked_rows().count()
    }

    fn base(&self, row: u32) -> &[u32] {
        &self.links[self.offsets[row as usize] as usize..self.offsets[row as usize + 1] as usize]
    }

    /// The `ef` rows nearest by `distance` (smaller is nearer) found from the entry point,
    /// nearest first, with their distances. `touch` is called for the rows of a neighbour
    /// list before their distances are taken (a caller prefetches their vectors: the search
    /// waits on memory more than it computes).
    pub fn search(
        &self,
        ef: usize,
        distance: impl Fn(u32) -> f32,
        touch: impl Fn(u32),
    ) -> Vec<(u32, f32)> {
        if self.rows == 0 || ef == 0 {
            return Vec::new();
        }
        let (mut ep, mut d_ep) = (self.entry, distance(self.entry));
        for level in self.upper.iter().rev() {
            loop {
                let before = ep;
                for &n in level.neighbours(ep) {
                    let d = distance(n);
                    if d < d_ep {
                        (ep, d_ep) = (n, d);
                    }
                }
                if ep == before {
                    break;
                }
            }
        }
        VISITED.with(|cell| {
            let (marks, mark) = &mut *cell.borrow_mut();
            if marks.len() < self.rows || *mark == u32::MAX {
                marks.clear();
                marks.resize(self.rows.max(marks.len()), 0);
                *mark = 0;
            }
            *mark += 1;
            let mark = *mark;
            let mut candidates = BinaryHeap::with_capacity(ef * 2);
            let mut best: BinaryHeap<(D, u32)> = BinaryHeap::with_capacity(ef + 1);
            marks[ep as usize] = mark;
            candidates.push(Reverse((D(d_ep), ep)));
            best.push((D(d_ep), ep));
            while let Some(Reverse((D(d), c))) = candidates.pop() {
                if best.len() >= ef && d > best.peek().map_or(f32::INFINITY, |w| w.0 .0) {
                    break;
                }
                let list = self.base(c);
                for &n in list {
                    if marks[n as usize] != mark {
                        touch(n);
                    }
                }
                for &n in list {
                    let seen = &mut marks[n as usize];
                    if *seen == mark {
                        continue;
                    }
                    *seen = mark;
                    let dn = distance(n);
                    let worst = best.peek().map_or(f32::INFINITY, |w| w.0 .0);
                    if best.len() < ef || dn < worst {
                        candidates.push(Reverse((D(dn), n)));
                        best.push((D(dn), n));
                        if best.len() > ef {
                            best.pop();
                        }
                    }
                }
            }
            best.into_sorted_vec()
                .into_iter()
                .map(|(D(d), r)| (r, d))
                .collect()
        })
    }

    /// The file's bytes (see the module's documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut words: Vec<u32> = vec![
            u32::from_le_bytes(*MAGIC),
            self.rows as u32,
            self.entry,
            1 + self.upper.len() as u32,
        ];
        words.extend(&self.offsets);
        words.extend(&self.links);
        for level in &self.upper {
            words.push(level.points.len() as u32);
            words.extend(&level.points);
            words.extend(&level.offsets);
            words.extend(&level.links);
        }
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// A graph read back from [`Graph::to_bytes`], checked for `rows` rows.
    pub fn from_bytes(bytes: &[u8], rows: usize) -> Result<Self> {
        if !bytes.len().is_multiple_of(4) || bytes.len() < 16 || &bytes[..4] != MAGIC {
            bail!("not an xref graph file");
        }
        let words: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut at: usize = 1;
        let mut take = |n: usize| -> Result<&[u32]> {
            let Some(slice) = words.get(at..at.saturating_add(n)) else {
                bail!("the graph file is truncated");
            };
            at += n;
            Ok(slice)
        };
        let head = take(3)?;
        let (stored_rows, entry, levels) = (head[0] as usize, head[1], head[2] as usize);
        if stored_rows != rows {
            bail!("the graph spans {stored_rows} rows, the store {rows}");
        }
        if (entry as usize) >= rows.max(1) || levels == 0 || levels > 64 {
            bail!("the graph file's header is damaged");
        }
        let lists = |offsets: &[u32], links: &[u32]| -> Result<()> {
            let monotone = offsets.windows(2).all(|w| w[0] <= w[1]);
            if offsets.first() != Some(&0)
                || !monotone
                || offsets.last().map(|&l| l as usize) != Some(links.len())
                || links.iter().any(|&l| l as usize >= rows)
            {
                bail!("the graph file's neighbour lists are damaged");
            }
            Ok(())
        };
        let offsets = take(rows + 1)?.to_vec();
        let links = take(*offsets.last().unwrap_or(&0) as usize)?.to_vec();
        lists(&offsets, &links)?;
        let mut upper = Vec::new();
        for _ in 1..levels {
            let m = take(1)?[0] as usize;
            let points = take(m)?.to_vec();
            let offsets = take(m + 1)?.to_vec();
            let links = take(*offsets.last().unwrap_or(&0) as usize)?.to_vec();
            lists(&offsets, &links)?;
            if !points.windows(2).all(|w| w[0] < w[1]) || points.iter().any(|&p| p as usize >= rows)
            {
                bail!("the graph file's levels are damaged");
            }
            upper.push(Level {
                points,
                offsets,
                links,
            });
        }
        if at != words.len() {
            bail!("the graph file has trailing data");
        }
        Ok(Self {
            rows,
            entry,
            offsets,
            links,
            upper,
        })
    }
}

/// Groups of rows whose vectors are identical (a paragraph repeated verbatim: a page footer,
/// "New in version 3.2."). HNSW degrades on exact duplicates: hundreds of points at
/// distance 0 fill each other's neighbour lists and wall themselves off from the graph
/// (calibrated breadth 1,093 instead of 96 on the Python and PostgreSQL manuals, where
/// 18 % of paragraphs repeat another). So only one row of each group is a point, and a
/// search expands it to the group.
#[derive(Default)]
pub(super) struct Twins {
    /// Each row's group leader (itself for a row with no twin). Empty: no twins at all.
    leader: Vec<u32>,
    /// Leader → every row of its group, ascending (groups of two or more only).
    groups: std::collections::HashMap<u32, Vec<u32>>,
}

impl Twins {
    /// The groups among `points` (ascending rows of `rows`; other rows are their own
    /// leaders).
    pub(super) fn of(rows: &super::codec::Rows, points: impl Iterator<Item = usize>) -> Self {
        use std::collections::HashMap;
        let n = rows.len();
        // A stored row's bytes are its vector (their largest magnitude is always 127, so
        // no two byte rows stand for the same unit vector).
        let row = |r: usize| rows.codes(r);
        let mut first: HashMap<&[i8], u32> = HashMap::with_capacity(n);
        let mut leader: Vec<u32> = (0..n as u32).collect();
        let mut groups: HashMap<u32, Vec<u32>> = HashMap::new();
        for r in points {
            let l = *first.entry(row(r)).or_insert(r as u32);
            leader[r] = l;
            if l != r as u32 {
                groups.entry(l).or_insert_with(|| vec![l]).push(r as u32);
            }
        }
        if groups.is_empty() {
            leader.clear();
        }
        Self { leader, groups }
    }

    pub(super) fn is_leader(&self, r: usize) -> bool {
        self.leader.get(r).is_none_or(|&l| l as usize == r)
    }

    /// The rows of `leader`'s group (just itself when it has no twin).
    pub(super) fn members(&self, leader: usize) -> Vec<usize> {
        match self.groups.get(&(leader as u32)) {
            Some(g) => g.iter().map(|&r| r as usize).collect(),
            None => vec![leader],
        }
    }
}

/// Give every point of level 0 (`base`: (row, neighbours), sorted by row) a path from the
/// entry point. hnsw_rs prunes neighbour lists as it inserts, so a point can lose every link
/// that led to it, and a search then never finds it — not even with its own vector (one
/// point of 92,053 in a graph of the 100k scale corpus; the build is parallel, so which
/// and how many varies). Each point
/// no path reaches is linked from the first reached point among its own neighbours (its
/// nearest), else from the entry point. Returns the links added.
fn connect(base: &mut [(u32, Vec<u32>)], entry: u32) -> usize {
    let at = |base: &[(u32, Vec<u32>)], row: u32| base.binary_search_by_key(&row, |p| p.0).ok();
    let mut reached = vec![false; base.len()];
    let mut stack = Vec::new();
    let walk =
        |base: &[(u32, Vec<u32>)], from: usize, reached: &mut [bool], stack: &mut Vec<usize>| {
            reached[from] = true;
            stack.push(from);
            while let Some(i) = stack.pop() {
                for &n in &base[i].1 {
                    if let Some(j) = at(base, n) {
                        if !reached[j] {
                            reached[j] = true;
                            stack.push(j);
                        }
                    }
                }
            }
        };
    let Some(start) = at(base, entry) else {
        return 0;
    };
    walk(base, start, &mut reached, &mut stack);
    let mut added = 0;
    for i in 0..base.len() {
        if reached[i] {
            continue;
        }
        let from = base[i]
            .1
            .iter()
            .filter_map(|&n| at(base, n))
            .find(|&j| reached[j])
            .unwrap_or(start);
        let row = base[i].0;
        base[from].1.push(row);
        added += 1;
        walk(base, i, &mut reached, &mut stack);
    }
    added
}

/// Give every point of level 0 (`base`, sorted by row) a link of its own: hnsw_rs can leave
/// a point with an empty neighbour list (pruned away, or inserted alongside its
/// neighbours), which a search reaching it cannot leave and which the file, where a row's
/// place in the graph is its links, does not show as a point at all — the index was then
/// refused as corrupt when opened ("the HNSW graph holds 104399 points, the store 104400",
/// after an update of the 100k scale corpus). Such a point links back to the first point
/// that links to it, else to the entry point. Returns the links added.
fn no_dead_ends(base: &mut [(u32, Vec<u32>)], entry: u32) -> usize {
    let dead: Vec<usize> = (0..base.len())
        .filter(|&i| base[i].1.is_empty() && base[i].0 != entry)
        .collect();
    if dead.is_empty() {
        return 0;
    }
    let rows: std::collections::HashSet<u32> = dead.iter().map(|&i| base[i].0).collect();
    // Each dead end's first in-linker.
    let mut back = std::collections::HashMap::new();
    for (row, list) in base.iter() {
        for n in list.iter().filter(|n| rows.contains(n)) {
            back.entry(*n).or_insert(*row);
        }
    }
    for &i in &dead {
        let to = back.get(&base[i].0).copied().unwrap_or(entry);
        base[i].1.push(to);
    }
    dead.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_has_links_of_its_own() {
        // 2 is linked from 1 but links nowhere; 3 is linked from nothing and links nowhere
        // (connect links it from the entry); the entry point 0 may have none.
        let mut base: Vec<(u32, Vec<u32>)> =
            vec![(0, vec![1]), (1, vec![2]), (2, vec![]), (3, vec![])];
        assert_eq!(connect(&mut base, 0), 1);
        assert_eq!(no_dead_ends(&mut base, 0), 2);
        assert_eq!(base[2].1, vec![1], "back to the point that links to it");
        assert_eq!(
            base[3].1,
            vec![0],
            "back to the entry point, which links to it"
        );
        assert_eq!(no_dead_ends(&mut base, 0), 0);
        let mut lone = vec![(5, vec![])];
        assert_eq!(no_dead_ends(&mut lone, 5), 0, "the entry alone");
    }

    #[test]
    fn every_point_is_reachable_after_connect() {
        // 0 → 1 → 0 is the entry's component; 2 links only to 1 and nothing links to 2;
        // 3 and 4 link only to each other; 5 links nowhere.
        let mut base: Vec<(u32, Vec<u32>)> = vec![
            (0, vec![1]),
            (1, vec![0]),
            (2, vec![1]),
            (3, vec![4]),
            (4, vec![3]),
            (5, vec![]),
        ];
        assert_eq!(connect(&mut base, 0), 3);
        assert_eq!(
            base[1].1,
            vec![0, 2],
            "2 is linked from its nearest reached neighbour"
        );
        assert_eq!(
            base[0].1,
            vec![1, 3, 5],
            "3 and 5 from the entry point; 4 through 3"
        );
        assert_eq!(connect(&mut base, 0), 0, "nothing left to connect");
    }

    #[test]
    fn damaged_files_are_errors() {
        let graph = Graph {
            rows: 3,
            entry: 1,
            offsets: vec![0, 1, 3, 4],
            links: vec![1, 0, 2, 1],
            upper: vec![Level {
                points: vec![1],
                offsets: vec![0, 0],
                links: vec![],
            }],
        };
        let bytes = graph.to_bytes();
        assert_eq!(Graph::from_bytes(&bytes, 3).unwrap(), graph);
        assert!(Graph::from_bytes(&bytes, 4).is_err(), "row count differs");
        assert!(Graph::from_bytes(&bytes[..bytes.len() - 4], 3).is_err());
        for i in 4..bytes.len() / 4 {
            let mut bad = bytes.clone();
            bad[i * 4..i * 4 + 4].copy_from_slice(&u32::MAX.to_le_bytes());
            assert!(Graph::from_bytes(&bad, 3).is_err(), "word {i} damaged");
        }
        // Searching a tiny graph from its entry finds the nearest row.
        let near = |r: u32| (r as f32 - 2.0).abs();
        assert_eq!(graph.search(2, near, |_| ())[0], (2, 0.0));
    }
}
