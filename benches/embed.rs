//! Embedding throughput on the seed corpus: every paragraph, as `xref index` embeds them.
//!
//!     cargo bench --bench embed
//!
//! Prints model load time, tokens/s, texts/s, single-query latency and peak memory.

#[path = "common.rs"]
mod common;

use std::time::Instant;

use xref::embed::{Embedder, Prefix};
use xref::ingest::{ingest_paths, IngestOptions};
use xref::model::{resolve, DEFAULT_MODEL};

fn main() -> anyhow::Result<()> {
    let model = resolve(DEFAULT_MODEL, &common::models_dir(), true)?;
    let t = Instant::now();
    let mut embedder = Embedder::load(&model)?;
    let load = t.elapsed().as_secs_f64();
    embedder.progress = false;
    let corpus = ingest_paths(&[common::seed_dir()], &IngestOptions::default())?;
    let texts: Vec<&str> = corpus.documents.iter().flat_map(|d| d.paragraphs.iter().map(|p| p.text.as_str())).collect();

    // One warm-up pass on a few texts, then the timed pass over all of them.
    embedder.embed(&texts[..8], Prefix::Passage)?;
    let t = Instant::now();
    let out = embedder.embed(&texts, Prefix::Passage)?;
    let secs = t.elapsed().as_secs_f64();
    let tokens: usize = out.iter().map(|e| e.tokens).sum();

    let mut lat = Vec::new();
    for q in ["金融监管要加强", "What drives new quality productive forces?", "党史学习教育的主要任务"].iter().cycle().take(30) {
        let t = Instant::now();
        embedder.embed_one(q, Prefix::Query)?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }

    println!("embed benchmark — seed corpus, model {} ({} threads)", embedder.info().id, rayon::current_num_threads());
    println!("  model load            {load:.2} s");
    println!("  paragraphs            {}", texts.len());
    println!("  tokens                {tokens}");
    println!("  time                  {secs:.2} s");
    println!("  throughput            {:.0} tokens/s, {:.1} texts/s", tokens as f64 / secs, texts.len() as f64 / secs);
    println!("  short query latency   p50 {:.1} ms, p95 {:.1} ms", common::percentile(&mut lat.clone(), 50.0), common::percentile(&mut lat, 95.0));
    println!("  peak memory (RSS)     {:.0} MiB", common::peak_rss_mib());
    Ok(())
}
