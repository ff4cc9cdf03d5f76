//! Embedding throughput on the seed corpus: every paragraph, as `xref index` embeds them,
//! for each encoder path in interleaved rounds.
//!
//!     cargo bench --bench embed
//!     XREF_BENCH_ROUNDS=5 XREF_BENCH_CANDLE=0 cargo bench --bench embed
//!
//! Prints per path: model load time, median time over the rounds, tokens/s, GFLOP/s,
//! single short-query latency, the lowest cosine to the exact (f32) path over all
//! paragraphs, and peak memory. `candle` is candle's own `BertModel` (the plain path).

#[path = "common.rs"]
mod common;

use std::time::Instant;

use xref::embed::{Embedder, Precision, Prefix};

struct Path {
    name: &'static str,
    embedder: Embedder,
    load: f64,
    times: Vec<f64>,
    vectors: Vec<Vec<f32>>,
    latency: Vec<f64>,
}

fn main() -> anyhow::Result<()> {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let rounds = env("XREF_BENCH_ROUNDS", 3).max(1);
    let (model, corpus) = common::model_and_seed()?;
    let texts = common::paragraph_texts(&corpus);

    let mut paths = Vec::new();
    let mut precisions = vec![("f32", Precision::F32)];
    if Precision::Bf16.runnable() == Precision::Bf16 {
        precisions.push(("bf16", Precision::Bf16));
    }
    if Precision::Int8.runnable() == Precision::Int8 {
        precisions.push(("int8", Precision::Int8));
    }
    for (name, p) in precisions {
        let t = Instant::now();
        let embedder = Embedder::load_with(&model, p)?;
        paths.push(Path {
            name,
            embedder,
            load: t.elapsed().as_secs_f64(),
            times: vec![],
            vectors: vec![],
            latency: vec![],
        });
    }
    if env("XREF_BENCH_CANDLE", 1) == 1 {
        let t = Instant::now();
        let embedder = Embedder::load_candle(&model, candle_core::Device::Cpu)?;
        paths.push(Path {
            name: "candle",
            embedder,
            load: t.elapsed().as_secs_f64(),
            times: vec![],
            vectors: vec![],
            latency: vec![],
        });
    }
    for p in &mut paths {
        p.embedder.progress = false;
        p.embedder.embed(&texts[..8], Prefix::Passage)?; // warm-up
    }
    let lens: Vec<usize> = texts
        .iter()
        .map(|t| {
            paths[0]
                .embedder
                .tokenize(t, Prefix::Passage)
                .map(|v| v.len())
        })
        .collect::<anyhow::Result<_>>()?;
    let tokens: usize = lens.iter().sum();
    let flops = common::encoder_flops(&lens, 384, 1536, 12);

    // Interleaved rounds: A B C A B C …, so drift in machine speed hits every path alike.
    for round in 0..rounds {
        for p in &mut paths {
            if p.name == "candle" && round > 0 {
                continue; // the plain path is slow and only a reference: one round
            }
            let t = Instant::now();
            let out = p.embedder.embed(&texts, Prefix::Passage)?;
            p.times.push(t.elapsed().as_secs_f64());
            p.vectors = out.into_iter().map(|e| e.vector).collect();
        }
    }
    for p in &mut paths {
        for q in [
            "金融监管要加强",
            "What drives new quality productive forces?",
            "党史学习教育的主要任务",
        ]
        .iter()
        .cycle()
        .take(30)
        {
            let t = Instant::now();
            p.embedder.embed_one(q, Prefix::Query)?;
            p.latency.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }

    println!(
        "embed benchmark — seed corpus: {} paragraphs, {tokens} tokens, {:.0} GFLOP; model {}; {} threads; {rounds} rounds",
        texts.len(),
        flops / 1e9,
        paths[0].embedder.info().id,
        rayon::current_num_threads()
    );
    println!(
        "  {:<7} {:>8} {:>9} {:>9} {:>9} {:>13} {:>13}",
        "path", "load s", "median s", "tokens/s", "GFLOP/s", "query p50 ms", "min cos f32"
    );
    let exact = paths[0].vectors.clone();
    for p in &mut paths {
        let med = common::percentile(&mut p.times, 50.0);
        let min_cos = p
            .vectors
            .iter()
            .zip(&exact)
            .map(|(a, b)| common::cosine(a, b))
            .fold(1.0f64, f64::min);
        println!(
            "  {:<7} {:>8.2} {:>9.2} {:>9.0} {:>9.1} {:>13.1} {:>13.6}",
            p.name,
            p.load,
            med,
            tokens as f64 / med,
            flops / med / 1e9,
            common::percentile(&mut p.latency, 50.0),
            min_cos
        );
        println!("          ({})", p.embedder.describe());
    }
    println!(
        "  peak memory (RSS, all paths loaded)  {:.0} MiB",
        common::peak_rss_mib()
    );
    Ok(())
}
