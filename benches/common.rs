//! Shared by the benchmarks: peak memory and percentiles.
#![allow(dead_code)]

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The `p`-th percentile (0–100) of `xs`.
pub fn percentile(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let i = ((xs.len() - 1) as f64 * p / 100.0).round() as usize;
    xs[i]
}

/// The models folder `xref` uses from the project root (benches run there), made absolute.
pub fn models_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(xref::model::models_root(None))
}

pub fn seed_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

/// The default model (fetched if absent) and the seed corpus, ingested as `xref` does.
pub fn model_and_seed() -> anyhow::Result<(xref::model::ModelDir, xref::ingest::Corpus)> {
    let model = xref::model::resolve(xref::model::DEFAULT_MODEL, &models_dir(), true)?;
    let corpus = xref::ingest::ingest_paths(&[seed_dir()], &Default::default())?;
    Ok((model, corpus))
}

/// Every paragraph's text, in corpus order.
pub fn paragraph_texts(corpus: &xref::ingest::Corpus) -> Vec<&str> {
    corpus
        .documents
        .iter()
        .flat_map(|d| d.paragraphs.iter().map(|p| p.text.as_str()))
        .collect()
}

/// Useful floating-point work of a BERT encoder (multiply-adds × 2) on sequences of these
/// lengths: the linear layers plus attention's two products; e5-small's shape by default.
pub fn encoder_flops(lens: &[usize], hidden: usize, ffn: usize, layers: usize) -> f64 {
    let (h, f) = (hidden as f64, ffn as f64);
    lens.iter()
        .map(|&l| {
            let l = l as f64;
            layers as f64 * (2.0 * l * (4.0 * h * h + 2.0 * h * f) + 4.0 * l * l * h)
        })
        .sum()
}

pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut d, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        d += *x as f64 * *y as f64;
        na += *x as f64 * *x as f64;
        nb += *y as f64 * *y as f64;
    }
    d / (na.sqrt() * nb.sqrt())
}
