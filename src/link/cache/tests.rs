use super::*;
use crate::index::store::synthetic_index;

/// 60 paragraphs in 4 documents, each with a vector of its own but the last two (the
/// same text and vector in document d3).
fn rows(skip: Option<usize>, extra: Option<&str>) -> Vec<(String, String, Vec<f32>)> {
    let mut u = crate::index::ann::random_uniform(3);
    let mut rows: Vec<_> = (0..60)
        .map(|i| {
            let mut v: Vec<f32> = (0..8).map(|_| u() - 0.5).collect();
            crate::embed::normalize(&mut v);
            let text = format!("Paragraph {i} says something of its own.");
            (format!("d{}", i / 15), text, v)
        })
        .collect();
    rows[58].1 = "The same closing line.".into();
    rows[59] = rows[58].clone();
    if let Some(i) = skip {
        rows.remove(i);
    }
    if let Some(text) = extra {
        let mut v: Vec<f32> = (0..8).map(|_| u() - 0.5).collect();
        crate::embed::normalize(&mut v);
        rows.insert(3, ("d0".into(), text.into(), v));
    }
    rows
}

fn settings(k: usize) -> Settings {
    Settings {
        k,
        quantile: 0.995,
        min_score: None,
        model: "m".into(),
        build: build_stamp(),
        params: Params::default().fingerprint(),
    }
}

#[test]
fn kept_links_are_matched_to_the_paragraphs_of_a_later_index() {
    let dir = tempfile::tempdir().unwrap();
    let before = synthetic_index(&dir.path().join("a"), &rows(None, None));
    let keys_before = keys(&before);
    assert_eq!(keys_before.len(), 60);
    assert_eq!(keys_before[59], format!("{}#1", keys_before[58]));
    // Row r links to rows r + 15 and r + 30 (other documents), modulo 60.
    let links: Vec<Vec<Link>> = (0..60)
        .map(|r| {
            [15, 30]
                .iter()
                .map(|d| Link {
                    row: (r + d) % 60,
                    score: 0.6,
                    quote: false,
                    terms: vec!["paragraph".into()],
                })
                .collect()
        })
        .collect();
    let path = dir.path().join(FILE);
    let kept = Kept::new(
        settings(5),
        0.55,
        "note".into(),
        Sampled::default(),
        60,
        0,
        keys_before,
        &links,
    );
    kept.save(&path).unwrap();

    let plan = |k: usize, index: &Index| {
        Kept::load(&path)
            .unwrap()
            .unwrap()
            .plan(&settings(k), index, &keys(index))
    };
    let reused = |plan: Plan| match plan {
        Plan::Relink(reuse) => reuse,
        Plan::Fresh(why) => panic!("not reused: {why:?}"),
    };

    // The same index: everything kept as it was.
    let same = reused(plan(5, &before));
    assert!(same.new.is_empty() && same.removed == 0);
    let kept_links: Vec<Vec<Link>> = same.kept.into_iter().map(Option::unwrap).collect();
    assert_eq!(kept_links, links);
    assert_eq!((same.threshold, same.note.as_str()), (0.55, "note"));

    // Row 20 gone, a paragraph added at row 3: rows renumbered, the new one and those
    // that linked to row 20 (5 and 50) have nothing kept.
    let after = synthetic_index(
        &dir.path().join("b"),
        &rows(Some(20), Some("A new paragraph.")),
    );
    let reuse = reused(plan(5, &after));
    assert_eq!(
        (reuse.new.as_slice(), reuse.removed, reuse.changed_since),
        (&[3][..], 1, 2)
    );
    let now = |old: usize| {
        if old < 3 {
            old
        } else if old < 20 {
            old + 1
        } else {
            old
        }
    };
    for old in 0..60 {
        if old == 20 {
            continue;
        }
        let got = &reuse.kept[now(old)];
        if [5, 50].contains(&old) {
            assert!(got.is_none(), "row {old}");
        } else {
            let rows: Vec<usize> = got.as_ref().unwrap().iter().map(|l| l.row).collect();
            assert_eq!(
                rows,
                [now((old + 15) % 60), now((old + 30) % 60)],
                "row {old}"
            );
        }
    }

    // Other settings, too much changed, a damaged file: none of it is used.
    let other = plan(3, &before);
    assert!(matches!(other, Plan::Fresh(Some(why)) if why.contains("other settings")));
    let mut much = Kept::load(&path).unwrap().unwrap();
    much.changed_since = 2;
    assert!(matches!(
        much.plan(&settings(5), &after, &keys(&after)),
        Plan::Fresh(Some(_))
    ));
    std::fs::write(&path, b"not gzip").unwrap();
    assert!(Kept::load(&path).is_err());
    assert!(Kept::load(&dir.path().join("absent")).unwrap().is_none());
}

/// Links kept under one set of parameters are stale under any other: a crossref with the
/// model's parameters changed links every paragraph afresh, and says why; so does a file
/// kept before parameters were recorded.
#[test]
fn kept_links_are_stale_when_the_parameters_change() {
    let dir = tempfile::tempdir().unwrap();
    let index = synthetic_index(&dir.path().join("a"), &rows(None, None));
    let path = dir.path().join(FILE);
    // A crossref of the index, kept as `crossref_kept` keeps it.
    let settings = Settings::of(&index, 5, None, None);
    assert_eq!(settings.params, Params::of(&index).fingerprint());
    assert_eq!(settings.quantile, Params::of(&index).quantile);
    let run = crossref(&index, &settings, settings.quantile, Plan::Fresh(None));
    assert_eq!(run.linker.params(), &Params::of(&index));
    run.keep(settings.clone(), keys(&index))
        .save(&path)
        .unwrap();
    let load = || Kept::load(&path).unwrap().unwrap();
    assert_eq!(load().settings, settings);
    // The same parameters: re-used.
    assert!(matches!(
        load().plan(&settings, &index, &keys(&index)),
        Plan::Relink(_)
    ));
    // Any parameter changed: linked afresh.
    let p = Params::of(&index);
    for changed in [
        Params {
            hub_weight: p.hub_weight + 0.125,
            ..p
        },
        Params {
            quote_run: p.quote_run + 1,
            ..p
        },
        Params::neutral(),
    ] {
        let now = Settings {
            params: changed.fingerprint(),
            ..settings.clone()
        };
        match load().plan(&now, &index, &keys(&index)) {
            Plan::Fresh(Some(why)) => assert!(why.contains("parameters"), "{why}"),
            _ => panic!("links kept under other parameters were reused: {changed:?}"),
        }
    }
    // A file from before parameters were recorded (no `params` in its settings) loads, and
    // is stale.
    let mut json: serde_json::Value = serde_json::to_value(load()).unwrap();
    json["settings"].as_object_mut().unwrap().remove("params");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, json.to_string().as_bytes()).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let old = load();
    assert_eq!(old.settings.params, "");
    assert!(matches!(
        old.plan(&settings, &index, &keys(&index)),
        Plan::Fresh(Some(why)) if why.contains("parameters")
    ));
}

/// A crossref linked in parts under one calibration, put together, is the crossref of one
/// process: the same links, threshold and note, row for row.
#[test]
fn a_crossref_in_parts_is_the_whole_crossref() {
    let dir = tempfile::tempdir().unwrap();
    let index = synthetic_index(&dir.path().join("a"), &rows(None, None));
    let whole = crossref(
        &index,
        &Settings::of(&index, 3, None, None),
        0.9,
        Plan::Fresh(None),
    );
    let calibrated = Calibrated::of(&index, 3, Some(0.9), None);
    // Through JSON, as the parts travel between processes.
    let calibrated: Calibrated =
        serde_json::from_str(&serde_json::to_string(&calibrated).unwrap()).unwrap();
    let mut links = Vec::new();
    for rows in [0..7, 7..31, 31..31, 31..60] {
        let part = calibrated.link_rows(&index, rows).unwrap();
        let part: Vec<Vec<Link>> =
            serde_json::from_slice(&serde_json::to_vec(&part).unwrap()).unwrap();
        links.extend(part);
    }
    assert!(links.iter().any(|l| !l.is_empty()));
    let parts = calibrated.clone().assemble(&index, links).unwrap();
    assert_eq!(parts.links, whole.links);
    assert_eq!(
        (parts.threshold, &parts.note),
        (whole.threshold, &whole.note)
    );
    // Parts of another index, or that miss rows, are refused.
    assert!(calibrated.link_rows(&index, 50..61).is_err());
    assert!(calibrated
        .clone()
        .assemble(&index, vec![Vec::new(); 59])
        .is_err());
    let other = synthetic_index(&dir.path().join("b"), &rows(Some(3), None));
    assert!(calibrated.link_rows(&other, 0..10).is_err());
}
