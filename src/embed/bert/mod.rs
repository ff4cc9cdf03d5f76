//! xref's own BERT / XLM-RoBERTa encoder for the CPU: the same arithmetic as candle's
//! `BertModel`, arranged for speed, and run inside candle.
//!
//! * The hidden states of a batch are one candle [`Tensor`](candle_core::Tensor); the
//!   embedding lookup and each transformer layer are candle in-place custom ops
//!   ([`InplaceOp1`](candle_core::InplaceOp1)) over it, built from xref's kernels
//!   ([`super::kernels`]); pooling reads the tensor's storage, sequences over the
//!   threads. Weights are read with candle's memory-mapped safetensors loader (any float
//!   dtype).
//! * Sequences are packed one after another (no padding): the linear layers see one
//!   `[tokens × hidden]` matrix per batch, attention runs per sequence and head on its exact
//!   length, so no work is spent on padding and no mask is needed.
//! * Q, K and V are one product against a fused `[3·hidden × hidden]` weight; biases are
//!   added inside the products, the residual inside the layer norm.
//! * Products run through candle's `gemm` kernel in f32 ([`Precision::F32`], the exact
//!   path), through xref's AVX-512 BF16 kernel with f32 accumulation ([`Precision::Bf16`],
//!   weights rounded to bf16 once at load, activations at each product), or through its
//!   AVX-512 VNNI kernel in 8 bits with exact integer sums ([`Precision::Int8`], weights
//!   quantised per output column at load, activations per row at each product). A fast
//!   encoder keeps the f32 weights too, so each call can choose (queries run exact; see
//!   `Embedder`).
//! * Element-wise work (GELU, softmax, layer norm) is vectorised and spread over all cores.
//! * The word-embedding table, the bulk of the file, stays memory-mapped: only the rows of
//!   the tokens seen are read.
//! * The hidden-state tensor and the layer buffers live in a workspace reused across
//!   layers and batches.
//!
//! This file holds the public types; `weights` the layers' weights and how they are loaded
//! ([`Bert::load`]); `forward` the forward pass ([`Bert::encode`]) and its candle ops.

mod forward;
mod weights;

use super::kernels;
use forward::Workspace;
use weights::{Layer, LayerNorm, Table};

/// How the linear layers multiply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// f32 throughout: matches the reference to cosine ≥ 0.9999.
    F32,
    /// bf16 products with f32 accumulation (needs AVX-512 BF16; else runs as f32).
    Bf16,
    /// 8-bit products with exact integer sums: weights with a scale per output column,
    /// activations with a scale and zero point per row (needs AVX-512 VNNI; else runs as
    /// f32). Lowest cosine to f32 0.9996 on the seed's paragraphs (`cargo bench --bench
    /// embed`), checked ≥ 0.999 by the tests.
    Int8,
}

impl Precision {
    /// The fastest precision this CPU runs well: int8 with AVX-512 VNNI, else bf16 with
    /// AVX-512 BF16, else f32.
    pub fn best_available() -> Self {
        [Precision::Int8, Precision::Bf16]
            .into_iter()
            .find(|&p| p.runnable() == p)
            .unwrap_or(Precision::F32)
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
        }
    }

    /// This precision if the CPU runs it, else f32.
    pub fn runnable(self) -> Self {
        let cpu = kernels::cpu();
        match self {
            Precision::Bf16 if !cpu.avx512_bf16 => Precision::F32,
            Precision::Int8 if !cpu.avx512_vnni => Precision::F32,
            p => p,
        }
    }
}

/// A precision as users name it: `auto`, `f32`, `bf16` or `int8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrecisionChoice(Option<Precision>);

impl PrecisionChoice {
    /// The precision to load: the named one, or the best this CPU runs.
    pub fn resolve(self) -> Precision {
        self.0.unwrap_or_else(Precision::best_available)
    }
}

impl std::str::FromStr for PrecisionChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "exact" => Ok(Self(Some(Precision::F32))),
            "bf16" | "fast" => Ok(Self(Some(Precision::Bf16))),
            "int8" | "i8" => Ok(Self(Some(Precision::Int8))),
            "auto" | "" => Ok(Self(None)),
            _ => Err(format!(
                "unknown precision {s:?} (expected auto, f32, bf16 or int8)"
            )),
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(s.parse::<PrecisionChoice>()?.resolve())
    }
}

/// The model configuration fields xref reads (`config.json`), parsed once for every
/// architecture: the shape the embedder batches by, and what the native encoder needs.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Config {
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub intermediate_size: usize,
    /// Position embeddings: the longest input (XLM-RoBERTa's start after the padding
    /// index, so it takes 2 fewer tokens).
    pub max_position_embeddings: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: Option<usize>,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

impl Config {
    /// Parse a model's `config.json`; the error names the missing or malformed field.
    pub fn parse(config: &str) -> std::result::Result<Self, String> {
        serde_json::from_str(config).map_err(|e| format!("config.json: {e}"))
    }

    /// Parse a model config, if the native encoder implements it; the error says why not
    /// (the caller then uses candle's model): an unparsable config, another activation than
    /// GELU (erf), or relative position embeddings.
    pub fn native(config: &str) -> std::result::Result<Self, String> {
        let cfg = Self::parse(config)?;
        if cfg.hidden_act != "gelu" {
            return Err(format!("activation {:?}", cfg.hidden_act));
        }
        if cfg
            .position_embedding_type
            .as_deref()
            .is_some_and(|t| t != "absolute")
        {
            return Err(format!(
                "position embeddings {:?}",
                cfg.position_embedding_type
            ));
        }
        Ok(cfg)
    }
}

fn default_act() -> String {
    "gelu".into()
}
fn default_eps() -> f64 {
    1e-12
}

pub struct Bert {
    hidden: usize,
    heads: usize,
    ffn: usize,
    eps: f32,
    /// First position id (XLM-RoBERTa counts from the padding index + 1).
    position_offset: usize,
    words: Table,
    positions: Vec<f32>,
    max_positions: usize,
    token_type: Vec<f32>,
    ln_embed: LayerNorm,
    layers: Vec<Layer>,
    precision: Precision,
    workspace: std::sync::Mutex<Workspace>,
}

impl Bert {
    /// The fastest precision loaded (bf16 when the fast path is available).
    pub fn precision(&self) -> Precision {
        self.precision
    }

    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// The longest sequence the position table allows.
    pub fn max_len(&self) -> usize {
        self.max_positions.saturating_sub(self.position_offset)
    }
}
