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
