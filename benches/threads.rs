//! Thread scaling of the encoder (#16): the seed's paragraphs embedded as `xref index`
//! embeds them, by every encoder path this CPU runs (int8 with AVX-512 VNNI, bf16 with
//! AVX-512 BF16, the exact f32 path), on 1, 2, 4, … threads up to the machine's cores.
//!
//!     cargo bench --bench threads
//!     XREF_THREADS=1,8,16 XREF_BENCH_ROUNDS=5 cargo bench --bench threads
//!
//! Prints per path and thread count: median time over the rounds, tokens/s, the speedup
//! over the first thread count (one by default), and the lowest cosine to that run's
//! vectors of the same path (the result must not depend on the thread count); then, per
//! path, where the time goes at each thread count (`xref::embed::profile`) and how well
//! each phase scales. Peers (ONNX Runtime, PyTorch) on the same
//! paragraphs: `cargo bench --bench peer`.

#[path = "common.rs"]
mod common;

use std::time::Instant;

use xref::embed::{profile, Embedder, Precision, Prefix};

fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::var("XREF_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: Vec<usize> = match std::env::var("XREF_THREADS") {
        Ok(list) => list
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        Err(_) => {
            let mut t: Vec<usize> = std::iter::successors(Some(1), |&t| Some(t * 2))
                .take_while(|&t| t <= cores)
                .collect();
            if t.last() != Some(&cores) {
                t.push(cores);
            }
            t
        }
    };
    let (model, corpus) = common::model_and_seed()?;
    let texts = common::paragraph_texts(&corpus);
    let paths: Vec<(&str, Precision)> = [Precision::Int8, Precision::Bf16, Precision::F32]
        .into_iter()
        .filter(|p| p.runnable() == *p)
        .map(|p| (p.name(), p))
        .collect();
    println!(
        "thread scaling — {} seed paragraphs, {cores} cores, median of {rounds} rounds",
        texts.len()
    );
    println!(
        "{:>6} {:>8} {:>9} {:>11} {:>8} {:>10}",
        "path", "threads", "median s", "tokens/s", "speedup", "min cos"
    );
    for (name, precision) in paths {
        let mut embedder = Embedder::load_with(&model, precision)?;
        embedder.progress = false;
        let tokens: usize = embedder
            .embed(&texts, Prefix::Passage)?
            .iter()
            .map(|e| e.tokens)
            .sum();
        let mut base: Option<(f64, Vec<Vec<f32>>)> = None;
        let mut phases = Vec::new();
        for &t in &threads {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build()?;
            let mut times = Vec::new();
            let mut vectors = Vec::new();
            profile::enable(true);
            profile::take();
            for _ in 0..rounds {
                let start = Instant::now();
                let out = pool.install(|| embedder.embed(&texts, Prefix::Passage))?;
                times.push(start.elapsed().as_secs_f64());
                vectors = out.into_iter().map(|e| e.vector).collect();
            }
            profile::enable(false);
            phases.push(profile::take());
            let median = common::percentile(&mut times, 50.0);
            let (one, reference) = base.get_or_insert_with(|| (median, vectors.clone()));
            let min_cos = reference
                .iter()
                .zip(&vectors)
                .map(|(a, b)| xref::embed::dot(a, b))
                .fold(f32::INFINITY, f32::min);
            println!(
                "{name:>6} {t:>8} {median:>9.2} {:>11.0} {:>7.2}× {min_cos:>10.6}",
                tokens as f64 / median,
                *one / median
            );
        }
        print_phases(name, &threads, &phases, rounds);
    }
    Ok(())
}

/// Seconds per embedding call in each phase at each thread count, its speedup over the
/// first count, and its share of the time at the last: a phase whose speedup lags is what
/// stops the whole from scaling (Amdahl).
fn print_phases(
    name: &str,
    threads: &[usize],
    phases: &[Vec<(profile::Phase, f64)>],
    rounds: usize,
) {
    let (Some(first), Some(last)) = (phases.first(), phases.last()) else {
        return;
    };
    let total_last: f64 = last.iter().map(|(_, s)| s).sum();
    print!("  {name} phases (s per call) ");
    for t in threads {
        print!("{:>9}", format!("{t} thr"));
    }
    println!(" {:>9} {:>7}", "speedup", "share");
    for (i, (phase, s0)) in first.iter().enumerate() {
        print!("  {:<26}", phase.name());
        for p in phases {
            print!("{:>9.3}", p[i].1 / rounds as f64);
        }
        let sl = last[i].1;
        println!(
            " {:>8.2}× {:>6.1}%",
            if sl > 0.0 { s0 / sl } else { f64::NAN },
            100.0 * sl / total_last
        );
    }
}
