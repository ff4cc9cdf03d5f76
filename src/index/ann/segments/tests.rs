use super::*;
use crate::index::ann::random_uniform;

const DIM: usize = 16;

/// `n` unit vectors in 20 clusters (real embeddings cluster; the graph is built for them).
fn vectors(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut u = random_uniform(seed);
    let centres: Vec<Vec<f32>> = (0..20).map(|_| (0..DIM).map(|_| u()).collect()).collect();
    (0..n)
        .map(|i| {
            let mut v: Vec<f32> = centres[i % 20].iter().map(|c| c + 0.4 * u()).collect();
            crate::embed::normalize(&mut v);
            v
        })
        .collect()
}

fn rows_of(vectors: &[Vec<f32>]) -> Arc<Rows> {
    Arc::new(Rows::encode(vectors.iter().map(|v| v.as_slice()), DIM))
}

const SMALL: Policy = Policy {
    min_points: 300,
    max_segments: 3,
    max_gone: 0.2,
    merge_all: false,
};

/// Of `queries`' exact top 10 (restricted by `allow`), the share the segments find.
fn recall(s: &Segments, rows: &Rows, queries: &[Vec<f32>], allow: &dyn Fn(usize) -> bool) -> f64 {
    let (mut found, mut total) = (0, 0);
    for q in queries {
        let exact = exact_search_rows(
            (0..rows.len()).filter(|&r| allow(r)),
            |r| rows.dot(r, q),
            10,
        );
        let got = s.search_graphs(q, 10, Some(allow));
        assert!(got.iter().all(|h| allow(h.row)), "a refused row came back");
        found += super::super::found_of(&got, &exact);
        total += exact.len();
    }
    found as f64 / total as f64
}

/// An update keeps the graphs of what it keeps: rows of a removed file leave their
/// segment and never come back from a search, new rows wait in the tail until there are
/// enough for a graph of their own, and searches over segments and tail find what an
/// exact search finds.
#[test]
fn an_update_renumbers_kept_graphs_and_searches_merge_segments() {
    let all = vectors(1200, 7);
    // Generation 1: rows 0..800, one segment.
    let first = rows_of(&all[..800]);
    let one = Segments::update(first.clone(), None, &SMALL);
    assert_eq!((one.len(), one.tail().len()), (1, 0));
    // Generation 2: rows 100..200 removed (a file), 200 new rows at the end: the old
    // segment renumbered (row r ≥ 200 is now r − 100), the new rows in the tail.
    let kept: Vec<Vec<f32>> = all[..100].iter().chain(&all[200..800]).cloned().collect();
    let second_vectors: Vec<Vec<f32>> = kept.iter().chain(&all[800..1000]).cloned().collect();
    let second = rows_of(&second_vectors);
    let map: Vec<Option<u32>> = (0..800u32)
        .map(|r| match r {
            0..100 => Some(r),
            100..200 => None,
            _ => Some(r - 100),
        })
        .collect();
    let two = Segments::update(second.clone(), Some((&one, &map)), &SMALL);
    assert_eq!(two.len(), 1, "the old graph is kept, not rebuilt");
    assert_eq!(two.tail(), (700..900).collect::<Vec<_>>());
    let queries = vectors(60, 99);
    let r = recall(&two, &second, &queries, &|_| true);
    assert!(r >= 0.97, "recall {r}");
    // Every kept row finds itself through its renumbered graph.
    for row in (0..700).step_by(7) {
        let v = second.decode(row);
        assert_eq!(two.search_graphs(&v, 1, None)[0].row, row);
    }
    // A filter applies to segments and tail alike.
    let odd = |r: usize| r % 2 == 1;
    assert!(recall(&two, &second, &queries, &odd) >= 0.95);

    // Generation 3: 200 more rows make a tail of 400 ≥ 300: a segment of its own.
    let third = rows_of(
        &second_vectors
            .iter()
            .chain(&all[1000..1200])
            .cloned()
            .collect::<Vec<_>>(),
    );
    let same: Vec<Option<u32>> = (0..900u32).map(Some).collect();
    let three = Segments::update(third.clone(), Some((&two, &same)), &SMALL);
    assert_eq!((three.len(), three.tail().len()), (2, 0));
    assert!(recall(&three, &third, &queries, &|_| true) >= 0.97);

    // Stored and read back: the same answers.
    let dir = tempfile::tempdir().unwrap();
    let (entries, files) = three.dump(dir.path()).unwrap();
    assert_eq!(files.len(), 4);
    let back = Segments::load(dir.path(), third.clone(), &entries).unwrap();
    for q in &queries[..10] {
        assert_eq!(back.search(q, 5, None), three.search(q, 5, None));
    }
    // Damaged or overlapping rows are errors, not wrong answers.
    let mut twice = entries.clone();
    twice[1].rows = entries[0].rows.clone();
    assert!(Segments::load(dir.path(), third.clone(), &twice).is_err());
    std::fs::write(dir.path().join(&entries[0].rows), [1u8, 2, 3]).unwrap();
    assert!(Segments::load(dir.path(), third, &entries).is_err());
}

/// A segment that lost more than `max_gone` of its points is dissolved into the tail;
/// past `max_segments`, the smallest segments merge into one graph.
#[test]
fn the_merge_policy_dissolves_and_merges_segments() {
    let all = vectors(1600, 11);
    let rows = rows_of(&all[..400]);
    let one = Segments::update(rows.clone(), None, &SMALL);
    // Half the rows gone: the segment goes, its rows left wait in the tail.
    let half = rows_of(&all[..200]);
    let map: Vec<Option<u32>> = (0..400u32).map(|r| (r < 200).then_some(r)).collect();
    let dissolved = Segments::update(half.clone(), Some((&one, &map)), &SMALL);
    assert_eq!((dissolved.len(), dissolved.tail().len()), (0, 200));
    // Four generations of 400 new rows each: four segments, merged down to three.
    let mut segments = Segments::update(rows_of(&all[..400]), None, &SMALL);
    for n in [800, 1200, 1600] {
        let rows = rows_of(&all[..n]);
        let same: Vec<Option<u32>> = (0..(n - 400) as u32).map(Some).collect();
        segments = Segments::update(rows, Some((&segments, &same)), &SMALL);
    }
    assert_eq!(segments.len(), 3);
    let sizes: Vec<usize> = segments.parts.iter().map(|p| p.ann.len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 1600);
    assert!(sizes.contains(&800), "the two smallest merged: {sizes:?}");
    let queries = vectors(40, 5);
    assert!(recall(&segments, &rows_of(&all), &queries, &|_| true) >= 0.97);
    // Merging all: one graph over every row.
    let rows = rows_of(&all);
    let same: Vec<Option<u32>> = (0..1600u32).map(Some).collect();
    let all_in_one = Policy {
        merge_all: true,
        ..SMALL
    };
    let merged = Segments::update(rows.clone(), Some((&segments, &same)), &all_in_one);
    assert_eq!((merged.len(), merged.tail().len()), (1, 0));
    assert!(recall(&merged, &rows, &queries, &|_| true) >= 0.97);
}
