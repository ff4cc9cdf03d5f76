//! The native encoder against candle's models on small random BERT and XLM-RoBERTa
//! checkpoints of odd shapes (head size 16, FFN width 80: partial tiles everywhere), written
//! here, so both architectures and both poolings are tested without a model download.

mod common;

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use xref::embed::encoder::Encoder;
use xref::embed::Precision;
use xref::model::{Architecture, ModelDir, ModelInfo, Pooling};

const HIDDEN: usize = 48;
const HEADS: usize = 3;
const FFN: usize = 80;
const LAYERS: usize = 2;
const VOCAB: usize = 120;
const POSITIONS: usize = 64;

/// Normal deviates from a fixed seed (xorshift64* and Box–Muller): every run writes the
/// same checkpoints, so a failure reproduces.
struct Normal(u64);

impl Normal {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        // 53 random bits in (0, 1].
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn tensor(&mut self, shape: &[usize], sd: f64, mean: f64, dev: &Device) -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| {
                let (u1, u2) = (self.uniform(), self.uniform());
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                (mean + sd * z) as f32
            })
            .collect();
        Tensor::from_vec(v, shape, dev).unwrap()
    }
}

fn write_model(dir: &Path, arch: Architecture) -> ModelDir {
    write_model_as(dir, arch, DType::F32, "")
}

/// A random checkpoint stored as `dtype`, its tensor names prefixed with `prefix` (hub
/// checkpoints often hold f16 weights under `bert.`).
fn write_model_as(dir: &Path, arch: Architecture, dtype: DType, prefix: &str) -> ModelDir {
    let dev = Device::Cpu;
    // Random values: both encoders read the same file, so only their agreement matters.
    let rng = std::cell::RefCell::new(Normal(0x9E37_79B9_7F4A_7C15));
    let t = |shape: &[usize], scale: f64, offset: f64| {
        rng.borrow_mut().tensor(shape, scale, offset, &dev)
    };
    let mut w: HashMap<String, Tensor> = HashMap::new();
    let types = if arch == Architecture::Bert { 2 } else { 1 };
    w.insert(
        "embeddings.word_embeddings.weight".into(),
        t(&[VOCAB, HIDDEN], 0.5, 0.0),
    );
    w.insert(
        "embeddings.position_embeddings.weight".into(),
        t(&[POSITIONS, HIDDEN], 0.5, 0.0),
    );
    w.insert(
        "embeddings.token_type_embeddings.weight".into(),
        t(&[types, HIDDEN], 0.5, 0.0),
    );
    let ln = |w: &mut HashMap<String, Tensor>, name: String| {
        w.insert(format!("{name}.weight"), t(&[HIDDEN], 0.1, 1.0));
        w.insert(format!("{name}.bias"), t(&[HIDDEN], 0.1, 0.0));
    };
    ln(&mut w, "embeddings.LayerNorm".into());
    for l in 0..LAYERS {
        ln(
            &mut w,
            format!("encoder.layer.{l}.attention.output.LayerNorm"),
        );
        ln(&mut w, format!("encoder.layer.{l}.output.LayerNorm"));
    }
    let t2 = |shape: &[usize]| rng.borrow_mut().tensor(shape, 0.15, 0.0, &dev);
    for l in 0..LAYERS {
        let p = format!("encoder.layer.{l}");
        for part in ["query", "key", "value"] {
            w.insert(
                format!("{p}.attention.self.{part}.weight"),
                t2(&[HIDDEN, HIDDEN]),
            );
            w.insert(format!("{p}.attention.self.{part}.bias"), t2(&[HIDDEN]));
        }
        w.insert(
            format!("{p}.attention.output.dense.weight"),
            t2(&[HIDDEN, HIDDEN]),
        );
        w.insert(format!("{p}.attention.output.dense.bias"), t2(&[HIDDEN]));
        w.insert(format!("{p}.intermediate.dense.weight"), t2(&[FFN, HIDDEN]));
        w.insert(format!("{p}.intermediate.dense.bias"), t2(&[FFN]));
        w.insert(format!("{p}.output.dense.weight"), t2(&[HIDDEN, FFN]));
        w.insert(format!("{p}.output.dense.bias"), t2(&[HIDDEN]));
    }
    let w: HashMap<String, Tensor> = w
        .into_iter()
        .map(|(k, v)| (format!("{prefix}{k}"), v.to_dtype(dtype).unwrap()))
        .collect();
    let weights = dir.join("model.safetensors");
    candle_core::safetensors::save(&w, &weights).unwrap();
    let model_type = if arch == Architecture::Bert {
        "bert"
    } else {
        "xlm-roberta"
    };
    let config = serde_json::json!({
        "model_type": model_type, "hidden_size": HIDDEN, "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS, "intermediate_size": FFN, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": POSITIONS, "type_vocab_size": types, "vocab_size": VOCAB,
        "layer_norm_eps": 1e-5, "pad_token_id": 1, "position_embedding_type": "absolute",
        "initializer_range": 0.02
    });
    let config_path = dir.join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    ModelDir {
        dir: dir.to_path_buf(),
        config: config_path,
        tokenizer: dir.join("tokenizer.json"),
        weights,
        architecture: arch,
        info: ModelInfo {
            id: format!("random-{model_type}"),
            source: "test".into(),
            checksum: "none".into(),
            pooling: Pooling::Mean,
            query_prefix: String::new(),
            passage_prefix: String::new(),
        },
    }
}

fn check(arch: Architecture) {
    let tmp = tempfile::tempdir().unwrap();
    check_model(&write_model(tmp.path(), arch), arch);
}

fn check_model(model: &ModelDir, arch: Architecture) {
    let max = if arch == Architecture::Bert {
        POSITIONS
    } else {
        POSITIONS - 2
    };
    // Token ids avoid the padding id (1), as real text does.
    let seqs: Vec<Vec<u32>> = [1usize, 2, 5, 17, 33, max]
        .iter()
        .enumerate()
        .map(|(s, &len)| {
            (0..len)
                .map(|i| (4 + (i * 37 + s * 11) % (VOCAB - 4)) as u32)
                .collect()
        })
        .collect();
    let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
    let (plain, _) = Encoder::load_candle(model, &Device::Cpu).unwrap();
    for pooling in [Pooling::Mean, Pooling::Cls] {
        let want = plain.encode(&refs, pooling, 1, true).unwrap();
        for (precision, min) in [
            (Precision::F32, 0.99999),
            (Precision::Bf16, 0.999),
            (Precision::Int8, 0.999),
        ] {
            let (native, dim) = Encoder::load(model, &Device::Cpu, precision).unwrap();
            assert_eq!(dim, HIDDEN);
            assert!(
                native.describe().starts_with("native"),
                "{}",
                native.describe()
            );
            // Packed together, and one at a time.
            let together = native.encode(&refs, pooling, 1, false).unwrap();
            for (i, (a, b)) in together.iter().zip(&want).enumerate() {
                let alone = native.encode(&refs[i..i + 1], pooling, 1, false).unwrap();
                for (how, v) in [("packed", a), ("alone", &alone[0])] {
                    let c = common::cosine(v, b);
                    assert!(c >= min, "{arch:?} {pooling:?} {precision:?} {how}: sequence of {} tokens, cosine {c}", refs[i].len());
                }
            }
        }
    }
    // Too long a sequence is an error, not a panic.
    let (native, _) = Encoder::load(model, &Device::Cpu, Precision::F32).unwrap();
    let long = vec![5u32; max + 1];
    assert!(native.encode(&[&long], Pooling::Mean, 1, false).is_err());
}

#[test]
fn native_bert_matches_candle_on_a_random_checkpoint() {
    check(Architecture::Bert);
}

#[test]
fn native_xlm_roberta_matches_candle_on_a_random_checkpoint() {
    check(Architecture::XlmRoberta);
}

/// Half-precision weights under a `bert.` prefix, as many hub checkpoints ship: both
/// encoders widen them to f32 and still agree.
#[test]
fn native_reads_f16_weights_under_a_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let model = write_model_as(tmp.path(), Architecture::Bert, DType::F16, "bert.");
    check_model(&model, Architecture::Bert);
}

/// A configuration the native encoder does not implement runs on candle's model instead.
#[test]
fn unsupported_activation_falls_back_to_candle() {
    let tmp = tempfile::tempdir().unwrap();
    let model = write_model(tmp.path(), Architecture::Bert);
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model.config).unwrap()).unwrap();
    config["hidden_act"] = "relu".into();
    std::fs::write(&model.config, config.to_string()).unwrap();
    let (encoder, _) = Encoder::load(&model, &Device::Cpu, Precision::Bf16).unwrap();
    assert!(
        encoder.describe().starts_with("candle"),
        "{}",
        encoder.describe()
    );
    let out = encoder
        .encode(&[&[5, 6, 7]], Pooling::Mean, 1, false)
        .unwrap();
    assert_eq!(out[0].len(), HIDDEN);
}
