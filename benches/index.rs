//! Index, query, HNSW and crossref benchmarks.
//!
//!     cargo bench --bench index            # everything, including 100k random vectors
//!     XREF_BENCH_N=20000 cargo bench --bench index   # a smaller synthetic set
//!     XREF_BENCH_SEED_ONLY=1 cargo bench --bench index  # the seed corpus only
//!     XREF_BENCH_SYNTHETIC_ONLY=1 XREF_BENCH_M=32 XREF_BENCH_EFC=400 cargo bench --bench index
//!     XREF_BENCH_INDEX=target/parallel-de/.xref cargo bench --bench index  # an index built before
//!
//! Prints: cold index time of the seed (with and without the model load), query latency
//! p50/p95 and queries/s, HNSW build and search on N random 384-d unit vectors with
//! recall@10 against exact search, recall@10 on the seed, crossref time, peak memory.
//! With `XREF_BENCH_INDEX`: on that index only, the candidate searches of a link (50 rows in
//! other documents; and in other languages, on centred vectors, in a multilingual corpus)
//! through the graphs and by exact scan, one thread, queries/s and recall; then crossref.

#[path = "common.rs"]
mod common;

use std::time::Instant;

use xref::embed::{Embedder, Prefix};
use xref::index::ann::{self, exact_search, Ann};
use xref::index::Index;
use xref::ingest::{ingest_paths, IngestOptions};
use xref::link::Linker;
use xref::model::{resolve, DEFAULT_MODEL};
use xref::rank::{self, Ranking};

const QUESTIONS: &[&str] = &[
    "发展新质生产力的核心要素是什么？",
    "What is the core element in developing new quality productive forces?",
    "如何加强金融监管？",
    "How should universities strengthen teachers' professional ethics?",
    "党史学习教育的主要任务",
    "辽宁去年地区生产总值增长多少？",
    "What are the goals of the anti-corruption campaign?",
    "人民代表大会制度的作用",
    "How will Liaoning improve its business environment?",
    "铸牢中华民族共同体意识",
];

fn recall(approx: &[usize], exact: &[usize]) -> f64 {
    exact.iter().filter(|r| approx.contains(r)).count() as f64 / exact.len().max(1) as f64
}

fn main() -> anyhow::Result<()> {
    if let Some(dir) = std::env::var_os("XREF_BENCH_INDEX") {
        return built_index(std::path::Path::new(&dir));
    }
    if std::env::var_os("XREF_BENCH_SYNTHETIC_ONLY").is_none() {
        seed_corpus()?;
    }
    if std::env::var_os("XREF_BENCH_SEED_ONLY").is_some() {
        return Ok(());
    }
    synthetic()
}

/// Link candidates on an index built before: 300 of its paragraphs (evenly spread) as
/// sources, 50 rows in other documents each, through the graph and by exact scan on one
/// thread (`crossref` runs one source per core); in a multilingual corpus also the 50
/// nearest rows in other languages on centred vectors (each language's graph where it has
/// one). Recall counts a hit scoring at least the exact 50th (ann-benchmarks' rule).
fn built_index(dir: &std::path::Path) -> anyhow::Result<()> {
    use xref::index::langspace::centre;
    const K: usize = 50;
    let t = Instant::now();
    let idx = Index::open(dir)?;
    let open = t.elapsed().as_secs_f64();
    let n = idx.len();
    println!(
        "index benchmark — {} ({n} paragraphs, opened in {open:.2} s)",
        dir.display()
    );
    let sources: Vec<usize> = (0..300.min(n)).map(|i| i * n / 300.min(n)).collect();
    let found = |approx: &[ann::Hit], exact: &[ann::Hit]| ann::found_of(approx, exact);
    // (exact q/s, graph q/s, recall) of `search(source, exact?)`.
    let measure = |search: &dyn Fn(usize, bool) -> Vec<ann::Hit>| {
        let t = Instant::now();
        let exact: Vec<Vec<ann::Hit>> = sources.iter().map(|&r| search(r, true)).collect();
        let exact_qps = sources.len() as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        let approx: Vec<Vec<ann::Hit>> = sources.iter().map(|&r| search(r, false)).collect();
        let qps = sources.len() as f64 / t.elapsed().as_secs_f64();
        let (hit, total) = approx
            .iter()
            .zip(&exact)
            .fold((0, 0), |(h, t), (a, e)| (h + found(a, e), t + e.len()));
        (exact_qps, qps, hit as f64 / total.max(1) as f64)
    };
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    one.install(|| {
        let (ef, used) = idx.graph_use();
        let (exact, graph, recall) = measure(&|r, exact| {
            let doc = idx.doc_index(r);
            let allow = |x: usize| idx.doc_index(x) != doc;
            if exact {
                idx.search_exact(&idx.vector(r), K, Some(&allow))
            } else if idx.has_graph() {
                idx.search_graph(&idx.vector(r), K, Some(&allow))
            } else {
                idx.search(&idx.vector(r), K, Some(&allow))
            }
        });
        println!(
            "  nearest 50 in other documents    exact {exact:.0} q/s, graph {graph:.0} q/s (breadth {ef}, {}), recall {recall:.4}",
            if used { "used" } else { "not used: a scan is cheaper" }
        );
        if let Some(space) = idx.space() {
            let (exact, graph, recall) = measure(&|r, exact| {
                let doc = idx.doc_index(r);
                let allow = |x: usize| idx.doc_index(x) != doc;
                let lang = idx.lang(r);
                let q = centre(&idx.vector(r), space.centroid(lang).0);
                if exact {
                    let rows = space.rows_not_in(lang).filter(|&x| allow(x));
                    ann::exact_search_rows(rows, |x| space.rows().dot(x, &q), K)
                } else {
                    space.nearest_not_in(lang, &q, K, Some(&allow))
                }
            });
            println!(
                "  nearest 50 in other languages    exact {exact:.0} q/s, the languages' graphs {graph:.0} q/s ({:?}), recall {recall:.4}",
                idx.manifest().language_graphs
            );
        }
    });
    let t = Instant::now();
    let mut linker = Linker::new(&idx, 5, f32::MIN);
    let cal = linker.calibrate(linker.params().quantile);
    linker.min_score = cal.threshold;
    let links = linker.crossref();
    println!(
        "  crossref (calibrate + link)      {:.1} s, {} links",
        t.elapsed().as_secs_f64(),
        links.iter().map(Vec::len).sum::<usize>()
    );
    println!(
        "  peak RSS                         {:.0} MiB",
        common::peak_rss_mib()
    );
    Ok(())
}

/// Seed corpus: index, query, recall and crossref with the real model.
fn seed_corpus() -> anyhow::Result<()> {
    let tmp = std::env::temp_dir().join(format!("xref-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);

    // Cold index of the seed: model load + ingest + embed + graph + write.
    let t = Instant::now();
    let model = resolve(DEFAULT_MODEL, &common::models_dir(), true)?;
    let mut embedder = Embedder::load(&model)?;
    embedder.progress = false;
    let load = t.elapsed().as_secs_f64();
    let seeds = vec![common::seed_dir()];
    let t2 = Instant::now();
    let corpus = ingest_paths(&seeds, &IngestOptions::default())?;
    let report = Index::update(&tmp, &corpus, &seeds, &embedder, true)?;
    let index_secs = t2.elapsed().as_secs_f64();
    let t3 = Instant::now();
    Index::update(&tmp, &corpus, &seeds, &embedder, false)?;
    let noop = t3.elapsed().as_secs_f64();
    println!(
        "index benchmark — seed corpus ({} documents, {} paragraphs)",
        report.documents, report.paragraphs
    );
    println!(
        "  cold index, with model load      {:.2} s (model load {load:.2} s)",
        load + index_secs
    );
    println!("  cold index, without model load   {index_secs:.2} s");
    println!("  re-index, nothing changed        {:.3} s", noop);

    // Query latency: embed + rank as `xref search` does (hybrid), one question at a time.
    let t = Instant::now();
    let idx = Index::open(&tmp)?;
    let open = t.elapsed().as_secs_f64();
    let mut lat = Vec::new();
    let ranking = Ranking {
        params: rank::Params::of(&idx),
        ..Ranking::default()
    };
    let t = Instant::now();
    for q in QUESTIONS.iter().cycle().take(50) {
        let t = Instant::now();
        let v = embedder.embed_one(q, Prefix::Query)?;
        let _ = rank::answer(&idx, &v, q, 10, &ranking, None);
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let qps = 50.0 / t.elapsed().as_secs_f64();
    println!("  index open                       {:.1} ms", open * 1000.0);
    println!(
        "  question (embed + hybrid, k=10)  p50 {:.1} ms, p95 {:.1} ms, {qps:.1} queries/s",
        common::percentile(&mut lat.clone(), 50.0),
        common::percentile(&mut lat, 95.0)
    );
    let (ef, used) = idx.graph_use();
    println!(
        "  seed searches                    {}",
        if used {
            format!("use the graph (calibrated ef {ef})")
        } else {
            format!(
                "scan exactly: no graph below {} paragraphs (cheaper; `cargo bench --bench scale` measures the graph on real text)",
                ann::MIN_GRAPH_POINTS
            )
        }
    );

    let t = Instant::now();
    let mut linker = Linker::new(&idx, 5, f32::MIN);
    let cal = linker.calibrate(linker.params().quantile);
    linker.min_score = cal.threshold;
    let links = linker.crossref();
    let n: usize = links.iter().map(|l| l.len()).sum();
    println!(
        "  crossref (calibrate + link)      {:.1} ms, {n} links, threshold {:.3}",
        t.elapsed().as_secs_f64() * 1000.0,
        cal.threshold
    );
    let _ = std::fs::remove_dir_all(&tmp);

    Ok(())
}

/// Synthetic vectors: HNSW build, search and recall against exact search.
fn synthetic() -> anyhow::Result<()> {
    // Synthetic: N random unit vectors in 384 dimensions (the hardest case for HNSW: no
    // cluster structure), 1000 queries drawn the same way.
    let n: usize = std::env::var("XREF_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let dim = 384;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut gauss = move || {
        // Box–Muller on xorshift uniforms.
        let mut u = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (a, b) = (u(), u());
        ((-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()) as f32
    };
    let mut unit = |_| {
        let mut v: Vec<f32> = (0..dim).map(|_| gauss()).collect();
        xref::embed::normalize(&mut v);
        v
    };
    let data: Vec<Vec<f32>> = (0..n).map(&mut unit).collect();
    let queries: Vec<Vec<f32>> = (0..200).map(&mut unit).collect();
    // The graph compares the rows as an index stores them (8-bit); the exact reference
    // searches the same rows.
    let stored = std::sync::Arc::new(ann::Rows::encode(&data, dim));
    let decoded: Vec<Vec<f32>> = (0..n).map(|r| stored.decode(r)).collect();
    let rows: Vec<&[f32]> = decoded.iter().map(|v| v.as_slice()).collect();
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let (m, efc) = (
        env("XREF_BENCH_M", ann::MAX_CONNECTIONS),
        env("XREF_BENCH_EFC", ann::EF_CONSTRUCTION),
    );
    let keep = env("XREF_BENCH_KEEP_PRUNED", 0) == 1;
    let t = Instant::now();
    let ann = Ann::build_with(stored.clone(), m, efc, keep);
    let build = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let exact: Vec<Vec<usize>> = queries
        .iter()
        .map(|q| {
            exact_search(&rows, q, 10, None)
                .iter()
                .map(|h| h.row)
                .collect()
        })
        .collect();
    let brute = t.elapsed().as_secs_f64();
    println!(
        "synthetic — {n} random 384-d unit vectors, {} queries, k=10",
        queries.len()
    );
    println!(
        "  HNSW build (M={m}, ef_c={efc}{}) {build:.1} s ({:.0} points/s), calibrated ef {}",
        if keep { ", keep pruned" } else { "" },
        n as f64 / build,
        ann.ef()
    );
    println!(
        "  index searches at this size      {}",
        if ann.graph_pays(10) {
            "use the graph"
        } else {
            "scan exactly (cheaper than the graph at its calibrated ef)"
        }
    );
    println!(
        "  exact search                     {:.0} queries/s",
        queries.len() as f64 / brute
    );
    // The default breadth, then wider ones: the recall/speed trade-off on the hardest data.
    let default = ann.ef();
    let mut sweep = vec![ann::EF_SEARCH, 400, 800, 1600, 3200, default];
    sweep.sort();
    sweep.dedup();
    for ef in sweep {
        let t = Instant::now();
        let approx: Vec<Vec<usize>> = queries
            .iter()
            .map(|q| {
                ann.search_ef(q, 10, ef, None)
                    .iter()
                    .map(|h| h.row)
                    .collect()
            })
            .collect();
        let search = t.elapsed().as_secs_f64();
        let rec = approx
            .iter()
            .zip(&exact)
            .map(|(a, e)| recall(a, e))
            .sum::<f64>()
            / queries.len() as f64;
        let tag = if ef == default {
            "  (calibrated at build: the default)"
        } else {
            ""
        };
        println!(
            "  HNSW ef={ef:<5} recall@10 {rec:.4}  {:.0} queries/s{tag}",
            queries.len() as f64 / search
        );
    }
    println!(
        "peak memory (RSS)                  {:.0} MiB",
        common::peak_rss_mib()
    );
    Ok(())
}
