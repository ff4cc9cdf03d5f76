//! Where embedding time goes (#16): wall time per phase of [`Embedder::embed`](super::Embedder::embed),
//! summed over calls. Every phase is run from the calling thread (the parallel ones spread
//! their work over rayon's threads and wait for it), so the phases' times add up to the
//! call's, and a phase that does not speed up with more threads is a serial one.
//!
//! Off unless [`enable`] is called (`cargo bench --bench threads` does); off, a probe is one
//! relaxed atomic load.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// A phase of embedding.
#[derive(Debug, Clone, Copy)]
pub enum Phase {
    /// Tokenising the texts (parallel over texts).
    Tokenize,
    /// Windowing and sorting by length, combining and normalising vectors (serial).
    Batching,
    /// Word + position embeddings and their layer norm (parallel over sequences).
    Embeddings,
    /// The fused Q/K/V product.
    Qkv,
    /// Scores, softmax and context per (sequence, head).
    Attention,
    /// The attention output product.
    AttentionOut,
    /// Residual + layer norm, twice per layer.
    AddNorm,
    /// The feed-forward products.
    FeedForward,
    /// GELU.
    Gelu,
    /// Pooling each sequence's rows (candle tensor ops).
    Pooling,
}

const PHASES: [Phase; 10] = [
    Phase::Tokenize,
    Phase::Batching,
    Phase::Embeddings,
    Phase::Qkv,
    Phase::Attention,
    Phase::AttentionOut,
    Phase::AddNorm,
    Phase::FeedForward,
    Phase::Gelu,
    Phase::Pooling,
];

static ON: AtomicBool = AtomicBool::new(false);
static NANOS: [AtomicU64; PHASES.len()] = [const { AtomicU64::new(0) }; PHASES.len()];

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Tokenize => "tokenize",
            Phase::Batching => "batching",
            Phase::Embeddings => "embeddings",
            Phase::Qkv => "qkv",
            Phase::Attention => "attention",
            Phase::AttentionOut => "attn out",
            Phase::AddNorm => "add+norm",
            Phase::FeedForward => "ffn",
            Phase::Gelu => "gelu",
            Phase::Pooling => "pooling",
        }
    }
}

/// Start (or stop) accumulating phase times.
pub fn enable(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// Run `f`, adding its wall time to `phase` when profiling is on.
#[inline]
pub fn time<R>(phase: Phase, f: impl FnOnce() -> R) -> R {
    if !ON.load(Ordering::Relaxed) {
        return f();
    }
    let t = Instant::now();
    let r = f();
    NANOS[phase as usize].fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
    r
}

/// The seconds accumulated per phase since the last call, in pipeline order; resets them.
pub fn take() -> Vec<(Phase, f64)> {
    PHASES
        .iter()
        .map(|&p| (p, NANOS[p as usize].swap(0, Ordering::Relaxed) as f64 / 1e9))
        .collect()
}
