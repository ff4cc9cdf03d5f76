//! The transformer encoders xref runs: candle's `BertModel` and `XLMRobertaModel` behind one
//! type, loaded from a memory-mapped safetensors file.

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{bert, xlm_roberta};

use crate::model::{Architecture, ModelDir};

pub enum Encoder {
    Bert(bert::BertModel),
    XlmRoberta(xlm_roberta::XLMRobertaModel),
}

impl Encoder {
    pub fn load(model: &ModelDir, device: &Device) -> Result<(Self, usize)> {
        let config = std::fs::read_to_string(&model.config)?;
        // SAFETY: the weights file is memory-mapped read-only; xref never writes to a model
        // file while it is loaded (fetches build a new directory and rename it into place).
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&model.weights], DType::F32, device) }
            .with_context(|| format!("{} is not a readable safetensors file; fetch the model again", model.weights.display()))?;
        let bad_weights = || {
            format!(
                "the weights in {} do not fit {} (corrupt or foreign file?); fetch the model again",
                model.weights.display(),
                model.config.display()
            )
        };
        Ok(match model.architecture {
            Architecture::Bert => {
                let cfg: bert::Config = serde_json::from_str(&config)
                    .with_context(|| format!("{} is not a BERT config", model.config.display()))?;
                let dim = cfg.hidden_size;
                (Encoder::Bert(bert::BertModel::load(vb, &cfg).with_context(bad_weights)?), dim)
            }
            Architecture::XlmRoberta => {
                let cfg: xlm_roberta::Config = serde_json::from_str(&config)
                    .with_context(|| format!("{} is not an XLM-RoBERTa config", model.config.display()))?;
                let dim = cfg.hidden_size;
                let vb = if vb.contains_tensor("roberta.embeddings.word_embeddings.weight") { vb.pp("roberta") } else { vb };
                (Encoder::XlmRoberta(xlm_roberta::XLMRobertaModel::new(&cfg, vb).with_context(bad_weights)?), dim)
            }
        })
    }

    /// Token states `[batch, len, hidden]` for padded `ids` and `mask` (both `[batch, len]`, u32).
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let types = ids.zeros_like()?;
        Ok(match self {
            Encoder::Bert(m) => m.forward(ids, &types, Some(mask))?,
            Encoder::XlmRoberta(m) => m.forward(ids, mask, &types, None, None, None)?,
        })
    }
}
