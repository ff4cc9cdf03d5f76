//! The transformer encoders xref runs, behind one type:
//!
//! * [`Encoder::Native`]: xref's own BERT / XLM-RoBERTa encoder ([`super::bert`]), the
//!   default on CPU;
//! * [`Encoder::Candle`]: candle's `BertModel` / `XLMRobertaModel` — the plain path, used on
//!   GPUs, for configurations the native encoder does not implement, and as the reference
//!   the native one is tested against.

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{bert, xlm_roberta};

use super::bert::{self as native, Bert, Precision};
use crate::model::{Architecture, ModelDir, Pooling};

pub enum Encoder {
    Native(Bert),
    Candle { model: CandleModel, device: Device },
}

pub enum CandleModel {
    Bert(bert::BertModel),
    XlmRoberta(xlm_roberta::XLMRobertaModel),
}

impl Encoder {
    /// The native encoder on CPU when it implements the model, else candle's.
    pub fn load(model: &ModelDir, device: &Device, precision: Precision) -> Result<(Self, usize)> {
        let config = std::fs::read_to_string(&model.config)?;
        if !device.is_cpu() {
            // A GPU runs candle's model, in bf16 unless f32 is asked for.
            let dtype = if precision == Precision::F32 {
                DType::F32
            } else {
                DType::BF16
            };
            return Self::load_candle_as(model, device, dtype);
        }
        if let (true, Ok(cfg)) = (device.is_cpu(), native::Config::native(&config)) {
            let b = Bert::load(&model.weights, &cfg, model.architecture, precision).with_context(|| {
                format!(
                    "the weights in {} do not fit {} (corrupt or foreign file?); fetch the model again",
                    model.weights.display(),
                    model.config.display()
                )
            })?;
            let dim = b.hidden();
            return Ok((Encoder::Native(b), dim));
        }
        Self::load_candle(model, device)
    }

    /// candle's own model (the plain path).
    pub fn load_candle(model: &ModelDir, device: &Device) -> Result<(Self, usize)> {
        Self::load_candle_as(model, device, DType::F32)
    }

    /// candle's own model with its weights in `dtype`.
    fn load_candle_as(model: &ModelDir, device: &Device, dtype: DType) -> Result<(Self, usize)> {
        let config = std::fs::read_to_string(&model.config)?;
        // SAFETY: the weights file is memory-mapped read-only, and xref never writes to a
        // model file in place (fetches build a new directory and rename it into place), so
        // the mapped bytes do not change for as long as candle holds the map.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&model.weights], dtype, device) }
            .with_context(|| {
            format!(
                "{} is not a readable safetensors file; fetch the model again",
                model.weights.display()
            )
        })?;
        let bad_weights = || {
            format!(
                "the weights in {} do not fit {} (corrupt or foreign file?); fetch the model again",
                model.weights.display(),
                model.config.display()
            )
        };
        let (m, dim) = match model.architecture {
            Architecture::Bert => {
                let cfg: bert::Config = serde_json::from_str(&config)
                    .with_context(|| format!("{} is not a BERT config", model.config.display()))?;
                let dim = cfg.hidden_size;
                (
                    CandleModel::Bert(bert::BertModel::load(vb, &cfg).with_context(bad_weights)?),
                    dim,
                )
            }
            Architecture::XlmRoberta => {
                let cfg: xlm_roberta::Config =
                    serde_json::from_str(&config).with_context(|| {
                        format!("{} is not an XLM-RoBERTa config", model.config.display())
                    })?;
                let dim = cfg.hidden_size;
                let vb = if vb.contains_tensor("roberta.embeddings.word_embeddings.weight") {
                    vb.pp("roberta")
                } else {
                    vb
                };
                (
                    CandleModel::XlmRoberta(
                        xlm_roberta::XLMRobertaModel::new(&cfg, vb).with_context(bad_weights)?,
                    ),
                    dim,
                )
            }
        };
        Ok((
            Encoder::Candle {
                model: m,
                device: device.clone(),
            },
            dim,
        ))
    }

    /// A short description: which encoder, at which precision.
    pub fn describe(&self) -> String {
        match self {
            Encoder::Native(b) => format!("native {}", b.precision().name()),
            Encoder::Candle { device, .. } => format!("candle f32 on {device:?}"),
        }
    }

    /// Whether batches are packed (no padding) rather than padded to their longest sequence.
    pub fn packs(&self) -> bool {
        matches!(self, Encoder::Native(_))
    }

    /// Encode token sequences and mean-pool each of `spans[i]` (token ranges of sequence
    /// `i`), several vectors from one forward pass; `exact` as in [`Encoder::encode`].
    pub fn encode_spans(
        &self,
        seqs: &[&[u32]],
        spans: &[Vec<std::ops::Range<usize>>],
        pad_id: u32,
        exact: bool,
    ) -> Result<Vec<Vec<Vec<f32>>>> {
        match self {
            Encoder::Native(b) => b.encode_spans(seqs, spans, native_precision(b, exact)),
            Encoder::Candle { .. } => {
                anyhow::ensure!(spans.len() == seqs.len(), "one list of spans per sequence");
                let states = self.states(seqs, pad_id)?;
                spans
                    .iter()
                    .enumerate()
                    .map(|(i, list)| {
                        let seq = states.get(i)?;
                        list.iter()
                            .map(|r| {
                                anyhow::ensure!(
                                    r.start < r.end && r.end <= seqs[i].len(),
                                    "a span outside its sequence"
                                );
                                Ok(seq
                                    .narrow(0, r.start, r.len())?
                                    .mean(0)?
                                    .to_dtype(DType::F32)?
                                    .to_vec1()?)
                            })
                            .collect()
                    })
                    .collect()
            }
        }
    }

    /// Encode token sequences (special tokens included) and pool each one; `exact` asks
    /// the native encoder for its f32 path even when bf16 is loaded.
    pub fn encode(
        &self,
        seqs: &[&[u32]],
        pooling: Pooling,
        pad_id: u32,
        exact: bool,
    ) -> Result<Vec<Vec<f32>>> {
        match self {
            Encoder::Native(b) => b.encode(seqs, pooling, native_precision(b, exact)),
            Encoder::Candle { .. } => {
                let states = self.states(seqs, pad_id)?;
                let mask = Self::mask(seqs, states.device())?;
                let pooled = match pooling {
                    Pooling::Cls => states.narrow(1, 0, 1)?.squeeze(1)?,
                    Pooling::Mean => {
                        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                        let summed = states.broadcast_mul(&m)?.sum(1)?;
                        summed.broadcast_div(&m.sum(1)?)?
                    }
                };
                Ok(pooled.to_dtype(DType::F32)?.to_vec2::<f32>()?)
            }
        }
    }

    /// candle's last hidden states for `seqs` padded to the longest: `[seqs, len, hidden]`.
    fn states(&self, seqs: &[&[u32]], pad_id: u32) -> Result<Tensor> {
        let Encoder::Candle { model, device } = self else {
            anyhow::bail!("hidden states come from candle's model only");
        };
        let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(seqs.len() * len);
        for s in seqs {
            ids.extend_from_slice(s);
            ids.extend(std::iter::repeat_n(pad_id, len - s.len()));
        }
        let ids = Tensor::from_vec(ids, (seqs.len(), len), device)?;
        let mask = Self::mask(seqs, device)?;
        let types = ids.zeros_like()?;
        let states = match model {
            CandleModel::Bert(m) => m.forward(&ids, &types, Some(&mask))?,
            CandleModel::XlmRoberta(m) => m.forward(&ids, &mask, &types, None, None, None)?,
        };
        // Pooled in f32 whatever the model ran in.
        Ok(states.to_dtype(DType::F32)?)
    }

    /// The attention mask of `seqs` padded to the longest: `[seqs, len]`, 1 for tokens.
    fn mask(seqs: &[&[u32]], device: &Device) -> Result<Tensor> {
        let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut mask = Vec::with_capacity(seqs.len() * len);
        for s in seqs {
            mask.extend(std::iter::repeat_n(1u32, s.len()));
            mask.extend(std::iter::repeat_n(0u32, len - s.len()));
        }
        Ok(Tensor::from_vec(mask, (seqs.len(), len), device)?)
    }
}

/// The native encoder's precision for a call: exact (f32) when asked, else its loaded one.
fn native_precision(b: &Bert, exact: bool) -> Precision {
    if exact {
        Precision::F32
    } else {
        b.precision()
    }
}
