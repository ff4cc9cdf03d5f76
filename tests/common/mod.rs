//! Shared test fixtures: the real model (fetched once into `models/` if absent) and the seed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use xref::embed::Embedder;
use xref::model::{self, DEFAULT_MODEL};

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn models_dir() -> PathBuf {
    root().join("models")
}

pub fn seed() -> PathBuf {
    root().join("seeds/000_d3df9fe06eabeaf7.txt")
}

/// The default model, loaded once per test binary.
pub fn embedder() -> &'static Embedder {
    static E: OnceLock<Embedder> = OnceLock::new();
    E.get_or_init(|| load(Embedder::load))
}

/// The default model loaded by `how`, with the progress bar off.
fn load(how: impl FnOnce(&model::ModelDir) -> anyhow::Result<Embedder>) -> Embedder {
    let m = model::resolve(DEFAULT_MODEL, &models_dir(), true).expect("default model");
    let mut e = how(&m).expect("load model");
    e.progress = false;
    e
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// The default model at an explicit precision (or candle's plain path), loaded once each.
pub fn embedder_with(path: &str) -> &'static Embedder {
    use xref::embed::Precision;
    static F32: OnceLock<Embedder> = OnceLock::new();
    static BF16: OnceLock<Embedder> = OnceLock::new();
    static CANDLE: OnceLock<Embedder> = OnceLock::new();
    let cell = match path {
        "f32" => &F32,
        "bf16" => &BF16,
        _ => &CANDLE,
    };
    cell.get_or_init(|| {
        load(|m| match path {
            "f32" => Embedder::load_with(m, Precision::F32),
            "bf16" => Embedder::load_with(m, Precision::Bf16),
            _ => Embedder::load_candle(m, candle_core::Device::Cpu),
        })
    })
}

/// Every paragraph of the seed corpus.
pub fn seed_paragraphs() -> Vec<String> {
    let corpus = xref::ingest::ingest_paths(&[seed()], &xref::ingest::IngestOptions::default())
        .expect("ingest seed");
    corpus
        .documents
        .into_iter()
        .flat_map(|d| d.paragraphs.into_iter().map(|p| p.text))
        .collect()
}
