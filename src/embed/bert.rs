//! xref's own BERT / XLM-RoBERTa encoder for the CPU: the same arithmetic as candle's
//! `BertModel`, arranged for speed, and run inside candle.
//!
//! * The hidden states of a batch are one candle [`Tensor`]; the embedding lookup and each
//!   transformer layer are candle in-place custom ops ([`InplaceOp1`]) over it, built from
//!   xref's kernels ([`super::kernels`]); pooling is plain candle tensor ops. Weights are
//!   read with candle's memory-mapped safetensors loader (any float dtype).
//! * Sequences are packed one after another (no padding): the linear layers see one
//!   `[tokens × hidden]` matrix per batch, attention runs per sequence and head on its exact
//!   length, so no work is spent on padding and no mask is needed.
//! * Q, K and V are one product against a fused `[3·hidden × hidden]` weight; biases are
//!   added inside the products, the residual inside the layer norm.
//! * Products run through candle's `gemm` kernel in f32 ([`Precision::F32`], the exact
//!   path), or through xref's AVX-512 BF16 kernel with f32 accumulation ([`Precision::Bf16`],
//!   weights rounded to bf16 once at load, activations at each product). A bf16 encoder
//!   keeps the f32 weights too, so each call can choose (queries run exact; see `Embedder`).
//! * Element-wise work (GELU, softmax, layer norm) is vectorised and spread over all cores.
//! * The word-embedding table, the bulk of the file, stays memory-mapped: only the rows of
//!   the tokens seen are read.
//! * The hidden-state tensor and the layer buffers live in a workspace reused across
//!   layers and batches.

use std::cell::RefCell;
use std::path::Path;

use anyhow::{anyhow, bail, ensure, Context, Result};
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{CpuStorage, DType, Device, InplaceOp1, Layout, Tensor};
use rayon::prelude::*;

use super::kernels::{self, PackedBf16, SendPtr};
use crate::model::{Architecture, Pooling};

/// How the linear layers multiply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// f32 throughout: matches the reference to cosine ≥ 0.9999.
    F32,
    /// bf16 products with f32 accumulation (needs AVX-512 BF16; else runs as f32).
    Bf16,
}

impl Precision {
    /// The fastest precision this CPU runs well.
    pub fn best_available() -> Self {
        if kernels::cpu().avx512_bf16 {
            Precision::Bf16
        } else {
            Precision::F32
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }
}

/// A precision as users name it: `auto`, `f32` or `bf16`.
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
            "auto" | "" => Ok(Self(None)),
            _ => Err(format!(
                "unknown precision {s:?} (expected auto, f32 or bf16)"
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

/// The model configuration fields the encoder reads.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Config {
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub intermediate_size: usize,
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
    /// Parse a model config, if the native encoder implements it; the error says why not
    /// (the caller then uses candle's model): an unparsable config, another activation than
    /// GELU (erf), or relative position embeddings.
    pub fn native(config: &str) -> std::result::Result<Self, String> {
        let cfg: Config = serde_json::from_str(config).map_err(|e| format!("config: {e}"))?;
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

/// A linear layer: the f32 weight always (the exact path), and its bf16 packing when the
/// fast path is enabled.
struct Linear {
    weight: Vec<f32>,
    packed: Option<PackedBf16>,
    bias: Vec<f32>,
    n: usize,
    k: usize,
}

impl Linear {
    fn new(weight: Vec<f32>, bias: Vec<f32>, n: usize, k: usize, precision: Precision) -> Self {
        let packed = (precision == Precision::Bf16).then(|| PackedBf16::pack(&weight, n, k));
        Self {
            weight,
            packed,
            bias,
            n,
            k,
        }
    }

    /// `out[m×n] = x[m×k] · Wᵀ + b`.
    fn forward(
        &self,
        x: &[f32],
        m: usize,
        out: &mut [f32],
        scratch: &mut Vec<u32>,
        precision: Precision,
    ) {
        match (&self.packed, precision) {
            (Some(w), Precision::Bf16) => {
                kernels::linear_bf16(x, m, self.k, w, &self.bias, out, scratch)
            }
            _ => kernels::linear_f32(x, m, self.k, &self.weight, self.n, &self.bias, out),
        }
    }
}

struct LayerNorm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    qkv: Linear,
    out: Linear,
    ln_attn: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    ln_ffn: LayerNorm,
}

/// Word-embedding rows: an f32 table is read straight from the memory-mapped file.
enum Table {
    /// The file mapped on its own, so that only the table's pages stay mapped (and counted
    /// in the resident set) once the layer weights have been copied out.
    Mapped {
        map: memmap2::Mmap,
        offset: usize,
        rows: usize,
    },
    Owned {
        data: Vec<f32>,
        rows: usize,
    },
}

/// A table's rows, ready to read: little-endian f32 bytes, or values.
enum Rows<'a> {
    Bytes(&'a [u8]),
    Values(&'a [f32]),
}

impl Table {
    /// Map `name`'s rows from the safetensors file `path`.
    fn map(path: &Path, name: &str, rows: usize, dim: usize) -> Result<Self> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: read-only map of a file xref never modifies in place (fetches build a new
        // directory and rename it).
        let map = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("mapping {}", path.display()))?;
        let (header, meta) = safetensors::SafeTensors::read_metadata(&map[..])?;
        let info = meta
            .info(name)
            .ok_or_else(|| anyhow!("tensor {name} is missing"))?;
        let (start, end) = info.data_offsets;
        ensure!(
            end - start == rows * dim * 4,
            "tensor {name} holds {} bytes, not {rows}×{dim} f32",
            end - start
        );
        let offset = 8 + header + start;
        ensure!(
            offset + rows * dim * 4 <= map.len(),
            "{} is truncated",
            path.display()
        );
        Ok(Table::Mapped { offset, map, rows })
    }

    fn rows(&self) -> usize {
        match self {
            Table::Mapped { rows, .. } | Table::Owned { rows, .. } => *rows,
        }
    }

    fn view(&self) -> Rows<'_> {
        match self {
            Table::Mapped { map, offset, .. } => Rows::Bytes(&map[*offset..]),
            Table::Owned { data, .. } => Rows::Values(data),
        }
    }
}

impl Rows<'_> {
    fn row_into(&self, r: usize, dim: usize, out: &mut [f32]) {
        match self {
            Rows::Bytes(bytes) => {
                for (o, b) in out
                    .iter_mut()
                    .zip(bytes[r * dim * 4..(r + 1) * dim * 4].chunks_exact(4))
                {
                    *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
            Rows::Values(data) => out.copy_from_slice(&data[r * dim..(r + 1) * dim]),
        }
    }
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

/// Buffers grown to the largest batch seen and reused: the hidden-state tensor, and the
/// layer op's intermediate activations.
#[derive(Default)]
struct Workspace {
    hidden: Option<Tensor>,
    buffers: Buffers,
}

#[derive(Default)]
struct Buffers {
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    tmp: Vec<f32>,
    ffn: Vec<f32>,
    scratch: Vec<u32>,
}

impl Workspace {
    /// A `[rows × dim]` view of the hidden-state tensor, grown if needed.
    fn hidden(&mut self, rows: usize, dim: usize) -> Result<Tensor> {
        let have = self.hidden.as_ref().map_or(0, |t| t.dims()[0]);
        if have < rows {
            self.hidden = None; // free the old one first
            self.hidden = Some(Tensor::zeros((rows, dim), DType::F32, &Device::Cpu)?);
        }
        let t = self.hidden.as_ref().expect("allocated above");
        Ok(t.narrow(0, 0, rows)?)
    }
}

fn grow(v: &mut Vec<f32>, len: usize) {
    if v.len() < len {
        v.resize(len, 0.0);
    }
}

/// Rows per parallel chunk in element-wise passes.
const ROWS_PER_TASK: usize = 16;

thread_local! {
    /// Attention scores of one (sequence, head), per worker thread.
    static SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl Bert {
    /// Load from a safetensors file, for a config [`Config::native`] accepted. Errors, never
    /// panics, on missing or misshapen tensors.
    pub fn load(
        weights: &Path,
        cfg: &Config,
        architecture: Architecture,
        precision: Precision,
    ) -> Result<Self> {
        let (hidden, heads, ffn) = (
            cfg.hidden_size,
            cfg.num_attention_heads,
            cfg.intermediate_size,
        );
        ensure!(
            heads > 0 && hidden % heads == 0,
            "hidden size {hidden} is not divisible by {heads} heads"
        );
        let precision = if precision == Precision::Bf16 && !kernels::cpu().avx512_bf16 {
            Precision::F32
        } else {
            precision
        };

        // SAFETY: the weights file is mapped read-only; xref never writes to a model file in
        // place (fetches build a new directory and rename it).
        let st = unsafe { MmapedSafetensors::new(weights) }.map_err(|e| {
            anyhow!(
                "{} is not a readable safetensors file: {e}",
                weights.display()
            )
        })?;
        let prefix = ["", "bert.", "roberta.", "model."]
            .into_iter()
            .find(|p| {
                st.get(&format!("{p}embeddings.word_embeddings.weight"))
                    .is_ok()
            })
            .ok_or_else(|| {
                anyhow!(
                    "no embeddings.word_embeddings.weight in {}",
                    weights.display()
                )
            })?;

        let dims = |name: &str| -> Option<Vec<usize>> {
            st.get(&format!("{prefix}{name}"))
                .ok()
                .map(|t| t.shape().to_vec())
        };
        let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
            let full = format!("{prefix}{name}");
            let have = dims(name).ok_or_else(|| anyhow!("tensor {full} is missing"))?;
            ensure!(
                have == shape,
                "tensor {full} has shape {have:?}, expected {shape:?}"
            );
            let view = st.get(&full)?;
            if view.dtype() == safetensors::Dtype::F32 {
                // Straight from the mapped bytes: one copy, not two (candle's `load` + `to_vec1`).
                return Ok(view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect());
            }
            let t = st
                .load(&full, &Device::Cpu)
                .with_context(|| format!("tensor {full}"))?;
            ensure!(
                t.dtype().is_float(),
                "tensor {full} has type {:?}, not a float type",
                t.dtype()
            );
            Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
        };
        let get_ln = |name: &str| -> Result<LayerNorm> {
            let w = get(&format!("{name}.weight"), &[hidden])
                .or_else(|_| get(&format!("{name}.gamma"), &[hidden]))?;
            let b = get(&format!("{name}.bias"), &[hidden])
                .or_else(|_| get(&format!("{name}.beta"), &[hidden]))?;
            Ok(LayerNorm { gamma: w, beta: b })
        };

        let word_name = format!("{prefix}embeddings.word_embeddings.weight");
        let word_dims = dims("embeddings.word_embeddings.weight").unwrap_or_default();
        ensure!(
            word_dims.len() == 2 && word_dims[1] == hidden,
            "tensor {word_name} has shape {word_dims:?}"
        );
        let vocab = word_dims[0];
        let word_mapped = st.get(&word_name)?.dtype() == safetensors::Dtype::F32;
        let word_values = if word_mapped {
            None
        } else {
            Some(get("embeddings.word_embeddings.weight", &word_dims)?)
        };
        let max_positions = dims("embeddings.position_embeddings.weight")
            .ok_or_else(|| anyhow!("position embeddings are missing"))?
            .first()
            .copied()
            .unwrap_or(0);
        let positions = get(
            "embeddings.position_embeddings.weight",
            &[max_positions, hidden],
        )?;
        let types = dims("embeddings.token_type_embeddings.weight")
            .and_then(|d| d.first().copied())
            .unwrap_or(0);
        let token_type = if types > 0 {
            get("embeddings.token_type_embeddings.weight", &[types, hidden])?[..hidden].to_vec()
        } else {
            vec![0.0; hidden]
        };
        let ln_embed = get_ln("embeddings.LayerNorm")?;

        let layers = (0..cfg.num_hidden_layers)
            .into_par_iter()
            .map(|i| -> Result<Layer> {
                let l = format!("encoder.layer.{i}");
                let mut qkv_w = Vec::with_capacity(3 * hidden * hidden);
                let mut qkv_b = Vec::with_capacity(3 * hidden);
                for part in ["query", "key", "value"] {
                    qkv_w.extend(get(
                        &format!("{l}.attention.self.{part}.weight"),
                        &[hidden, hidden],
                    )?);
                    qkv_b.extend(get(&format!("{l}.attention.self.{part}.bias"), &[hidden])?);
                }
                let linear = |name: &str, n: usize, k: usize| -> Result<Linear> {
                    let w = get(&format!("{l}.{name}.weight"), &[n, k])?;
                    Ok(Linear::new(
                        w,
                        get(&format!("{l}.{name}.bias"), &[n])?,
                        n,
                        k,
                        precision,
                    ))
                };
                Ok(Layer {
                    qkv: Linear::new(qkv_w, qkv_b, 3 * hidden, hidden, precision),
                    out: linear("attention.output.dense", hidden, hidden)?,
                    ln_attn: get_ln(&format!("{l}.attention.output.LayerNorm"))?,
                    ffn_in: linear("intermediate.dense", ffn, hidden)?,
                    ffn_out: linear("output.dense", hidden, ffn)?,
                    ln_ffn: get_ln(&format!("{l}.output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let words = match word_values {
            Some(data) => Table::Owned { data, rows: vocab },
            None => Table::map(weights, &word_name, vocab, hidden)?,
        };
        let position_offset = match architecture {
            Architecture::Bert => 0,
            Architecture::XlmRoberta => cfg.pad_token_id.unwrap_or(1) + 1,
        };
        Ok(Self {
            hidden,
            heads,
            ffn,
            eps: cfg.layer_norm_eps as f32,
            position_offset,
            words,
            positions,
            max_positions,
            token_type,
            ln_embed,
            layers,
            precision,
            workspace: std::sync::Mutex::new(Workspace::default()),
        })
    }

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

    /// Encode sequences (token ids, special tokens included) and pool each one, at
    /// `precision` (bf16 runs as f32 unless the encoder was loaded for bf16).
    pub fn encode(
        &self,
        seqs: &[&[u32]],
        pooling: Pooling,
        precision: Precision,
    ) -> Result<Vec<Vec<f32>>> {
        let total: usize = seqs.iter().map(|s| s.len()).sum();
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        for s in seqs {
            ensure!(!s.is_empty(), "an empty sequence");
            ensure!(
                s.len() <= self.max_len(),
                "a sequence of {} tokens exceeds the model's {}",
                s.len(),
                self.max_len()
            );
            if let Some(bad) = s.iter().find(|&&t| t as usize >= self.words.rows()) {
                bail!(
                    "token id {bad} is outside the vocabulary ({})",
                    self.words.rows()
                );
            }
        }
        let starts: Vec<usize> = seqs
            .iter()
            .scan(0, |acc, s| {
                let start = *acc;
                *acc += s.len();
                Some(start)
            })
            .collect();
        let batch = Batch {
            seqs,
            starts: &starts,
        };

        let mut guard = self.workspace.lock().unwrap_or_else(|e| e.into_inner());
        let ws = &mut *guard;
        let x = ws.hidden(total, self.hidden)?;
        x.inplace_op1(&EmbedOp { bert: self, batch })?;
        let buffers = RefCell::new(&mut ws.buffers);
        for layer in &self.layers {
            x.inplace_op1(&LayerOp {
                bert: self,
                layer,
                batch,
                precision,
                buffers: &buffers,
            })?;
        }

        let pooled = seqs
            .iter()
            .zip(&starts)
            .map(|(s, &start)| match pooling {
                Pooling::Cls => x.get(start),
                Pooling::Mean => x.narrow(0, start, s.len())?.mean(0),
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Tensor::stack(&pooled, 0)?.to_vec2::<f32>()?)
    }

    /// Word + position + token-type embeddings, then layer norm.
    fn embed_tokens(&self, b: Batch, x: &mut [f32]) {
        let h = self.hidden;
        let words = self.words.view();
        let xp = SendPtr(x.as_mut_ptr());
        b.seqs.par_iter().zip(b.starts).for_each(|(s, &start)| {
            // SAFETY: each sequence writes its own rows `start..start + len`.
            let rows =
                unsafe { std::slice::from_raw_parts_mut(xp.get().add(start * h), s.len() * h) };
            for (i, (row, &tok)) in rows.chunks_exact_mut(h).zip(s.iter()).enumerate() {
                words.row_into(tok as usize, h, row);
                let pos = &self.positions
                    [(self.position_offset + i) * h..(self.position_offset + i + 1) * h];
                for ((a, p), t) in row.iter_mut().zip(pos).zip(&self.token_type) {
                    *a += p + t;
                }
            }
            let zeros = vec![0f32; h];
            for row in rows.chunks_exact_mut(h) {
                kernels::add_layernorm(
                    row,
                    &zeros,
                    &self.ln_embed.gamma,
                    &self.ln_embed.beta,
                    self.eps,
                );
            }
        });
    }

    /// One transformer layer over the packed hidden states `x` (`total × hidden`), in place.
    fn layer(&self, l: &Layer, b: Batch, x: &mut [f32], ws: &mut Buffers, p: Precision) {
        let (h, f) = (self.hidden, self.ffn);
        let total = x.len() / h;
        grow(&mut ws.qkv, total * 3 * h);
        grow(&mut ws.ctx, total * h);
        grow(&mut ws.tmp, total * h);
        grow(&mut ws.ffn, total * f);
        // Attention.
        l.qkv
            .forward(x, total, &mut ws.qkv[..total * 3 * h], &mut ws.scratch, p);
        self.attention(b, &ws.qkv[..total * 3 * h], &mut ws.ctx[..total * h]);
        l.out.forward(
            &ws.ctx[..total * h],
            total,
            &mut ws.tmp[..total * h],
            &mut ws.scratch,
            p,
        );
        self.add_norm(x, &ws.tmp[..total * h], &l.ln_attn);
        // Feed-forward.
        l.ffn_in
            .forward(x, total, &mut ws.ffn[..total * f], &mut ws.scratch, p);
        ws.ffn[..total * f]
            .par_chunks_mut(ROWS_PER_TASK * f)
            .for_each(kernels::gelu);
        l.ffn_out.forward(
            &ws.ffn[..total * f],
            total,
            &mut ws.tmp[..total * h],
            &mut ws.scratch,
            p,
        );
        self.add_norm(x, &ws.tmp[..total * h], &l.ln_ffn);
    }

    /// `x = LayerNorm(x + y)`, rows spread over threads.
    fn add_norm(&self, x: &mut [f32], y: &[f32], ln: &LayerNorm) {
        let chunk = ROWS_PER_TASK * self.hidden;
        x.par_chunks_mut(chunk)
            .zip(y.par_chunks(chunk))
            .for_each(|(x, y)| kernels::add_layernorm(x, y, &ln.gamma, &ln.beta, self.eps));
    }

    /// Scaled dot-product attention per (sequence, head), each on its own length.
    fn attention(&self, b: Batch, qkv: &[f32], ctx: &mut [f32]) {
        let (seqs, starts) = (b.seqs, b.starts);
        let (h, heads) = (self.hidden, self.heads);
        let dh = h / heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let cp = SendPtr(ctx.as_mut_ptr());
        let ctx_len = ctx.len();
        let tasks: Vec<(usize, usize)> = (0..seqs.len())
            .flat_map(|s| (0..heads).map(move |hd| (s, hd)))
            .collect();
        tasks.par_iter().for_each(|&(s, hd)| {
            let (len, start) = (seqs[s].len(), starts[s]);
            let rows = &qkv[start * 3 * h..(start + len) * 3 * h];
            let (q, k, v) = (
                &rows[hd * dh..],
                &rows[h + hd * dh..],
                &rows[2 * h + hd * dh..],
            );
            SCORES.with(|cell| {
                let mut scores = cell.borrow_mut();
                if scores.len() < len * len {
                    scores.resize(len * len, 0.0);
                }
                let sc = &mut scores[..len * len];
                // scores = Q · Kᵀ (scaled in the softmax).
                // SAFETY: `sc` holds len×len values; Q and K rows lie within `rows`.
                unsafe {
                    kernels::matmul_strided(
                        len,
                        len,
                        dh,
                        sc.as_mut_ptr(),
                        len,
                        q,
                        3 * h,
                        1,
                        k,
                        1,
                        3 * h,
                    )
                };
                kernels::softmax(sc, len, scale);
                let first = start * h + hd * dh;
                assert!(first + (len - 1) * h + dh <= ctx_len);
                // SAFETY: in bounds (asserted); this task alone writes columns hd*dh..(hd+1)*dh
                // of its sequence's rows.
                unsafe {
                    kernels::matmul_strided(
                        len,
                        dh,
                        len,
                        cp.get().add(first),
                        h,
                        sc,
                        len,
                        1,
                        v,
                        3 * h,
                        1,
                    )
                };
            });
        });
    }
}

/// The sequences of a batch and where each starts in the packed rows.
#[derive(Clone, Copy)]
struct Batch<'a> {
    seqs: &'a [&'a [u32]],
    starts: &'a [usize],
}

/// The contiguous f32 values a custom op works on.
fn values<'a>(storage: &'a mut CpuStorage, layout: &Layout) -> candle_core::Result<&'a mut [f32]> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("the hidden states must be contiguous".into()))?;
    match storage {
        CpuStorage::F32(v) => Ok(&mut v[start..end]),
        _ => candle_core::bail!("the hidden states must be f32"),
    }
}

/// The embedding layer as a candle op: fills the hidden states from the batch's tokens.
struct EmbedOp<'a> {
    bert: &'a Bert,
    batch: Batch<'a>,
}

impl InplaceOp1 for EmbedOp<'_> {
    fn name(&self) -> &'static str {
        "xref-bert-embeddings"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        self.bert.embed_tokens(self.batch, values(storage, layout)?);
        Ok(())
    }
}

/// One transformer layer as a candle op over the packed hidden states.
struct LayerOp<'a> {
    bert: &'a Bert,
    layer: &'a Layer,
    batch: Batch<'a>,
    precision: Precision,
    buffers: &'a RefCell<&'a mut Buffers>,
}

impl InplaceOp1 for LayerOp<'_> {
    fn name(&self) -> &'static str {
        "xref-bert-layer"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let x = values(storage, layout)?;
        let mut buffers = self.buffers.borrow_mut();
        self.bert
            .layer(self.layer, self.batch, x, &mut buffers, self.precision);
        Ok(())
    }
}
