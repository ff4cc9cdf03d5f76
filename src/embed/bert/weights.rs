//! The encoder's weights — linear layers (f32, and packed bf16 or 8-bit for the fast
//! paths), layer norms, the memory-mapped word-embedding table — and [`Bert::load`], which
//! reads them from a safetensors file.

use std::path::Path;

use anyhow::{anyhow, ensure, Context, Result};
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device};
use rayon::prelude::*;

use super::forward::Workspace;
use super::kernels::{self, PackedBf16, PackedI8};
use super::{Bert, Config, Precision};
use crate::model::Architecture;

/// A linear layer: the f32 weight always (the exact path), and its bf16 or 8-bit packing
/// when a fast path is enabled.
pub(super) struct Linear {
    weight: Vec<f32>,
    packed: Option<Packed>,
    bias: Vec<f32>,
    n: usize,
    k: usize,
}

enum Packed {
    Bf16(PackedBf16),
    Int8(PackedI8),
}

impl Linear {
    fn new(weight: Vec<f32>, bias: Vec<f32>, n: usize, k: usize, precision: Precision) -> Self {
        let packed = match precision {
            Precision::F32 => None,
            Precision::Bf16 => Some(Packed::Bf16(PackedBf16::pack(&weight, n, k))),
            Precision::Int8 => Some(Packed::Int8(PackedI8::pack(&weight, n, k))),
        };
        Self {
            weight,
            packed,
            bias,
            n,
            k,
        }
    }

    /// `out[m×n] = x[m×k] · Wᵀ + b`.
    pub(super) fn forward(
        &self,
        x: &[f32],
        m: usize,
        out: &mut [f32],
        scratch: &mut Vec<u32>,
        precision: Precision,
    ) {
        match (&self.packed, precision) {
            (Some(Packed::Bf16(w)), Precision::Bf16) => {
                kernels::linear_bf16(x, m, self.k, w, &self.bias, out, scratch)
            }
            (Some(Packed::Int8(w)), Precision::Int8) => {
                kernels::linear_i8(x, m, self.k, w, &self.bias, out, scratch)
            }
            _ => kernels::linear_f32(x, m, self.k, &self.weight, self.n, &self.bias, out),
        }
    }
}

pub(super) struct LayerNorm {
    pub(super) gamma: Vec<f32>,
    pub(super) beta: Vec<f32>,
}

pub(super) struct Layer {
    pub(super) qkv: Linear,
    pub(super) out: Linear,
    pub(super) ln_attn: LayerNorm,
    pub(super) ffn_in: Linear,
    pub(super) ffn_out: Linear,
    pub(super) ln_ffn: LayerNorm,
}

/// Word-embedding rows: an f32 table is read straight from the memory-mapped file.
pub(super) enum Table {
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
pub(super) enum Rows<'a> {
    Bytes(&'a [u8]),
    Values(&'a [f32]),
}

impl Table {
    /// Map `name`'s rows from the safetensors file `path`.
    fn map(path: &Path, name: &str, rows: usize, dim: usize) -> Result<Self> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: a map is sound while the file is not modified or truncated; this one is
        // read-only and lives in the `Table`, and xref never writes a model file in place
        // (fetches build a new directory beside it and rename it into place, so a mapped file
        // keeps its bytes). Only another program writing the file could break that.
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

    pub(super) fn rows(&self) -> usize {
        match self {
            Table::Mapped { rows, .. } | Table::Owned { rows, .. } => *rows,
        }
    }

    pub(super) fn view(&self) -> Rows<'_> {
        match self {
            Table::Mapped { map, offset, .. } => Rows::Bytes(&map[*offset..]),
            Table::Owned { data, .. } => Rows::Values(data),
        }
    }
}

impl Rows<'_> {
    pub(super) fn row_into(&self, r: usize, dim: usize, out: &mut [f32]) {
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
        let precision = precision.runnable();

        // SAFETY: as for `Table::map`: a read-only map, alive only during `load`, of a file
        // xref never writes in place (fetches build a new directory and rename it into place).
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
}
