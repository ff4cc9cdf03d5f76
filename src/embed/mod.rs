//! Embedding: texts in, L2-normalised vectors out.
//!
//! [`Embedder`] owns a tokenizer and an [`encoder::Encoder`]. For each text it adds the
//! model's prefix (`query: ` / `passage: ` for e5), tokenises, and — when the text is longer
//! than the model's 512 positions — cuts it into overlapping windows, each with the prefix
//! and special tokens. Windows from all texts are sorted by length and run in batches —
//! packed without padding up to 4,096 tokens on the native encoder ([`bert`]), padded and
//! capped by activation size on candle's — pooled (mean or CLS, as the model's pooling
//! config says), combined per text weighted by window length, and L2-normalised.
//! Passages run at the loaded precision; questions always on the exact f32 path.

pub mod bert;
mod device;
pub mod encoder;
pub mod kernels;
pub mod profile;
pub mod unigram;

use std::io::IsTerminal;

use anyhow::{anyhow, ensure, Context, Result};
use candle_core::Device;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use tokenizers::Tokenizer;

use crate::model::{Architecture, ModelDir, ModelInfo};
pub use bert::{Precision, PrecisionChoice};
pub use device::DeviceChoice;
use device::{GPU_BATCH, GPU_MAX_ACTIVATION_BYTES};
use encoder::Encoder;
use profile::Phase;

/// Which model prefix a text gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// A question (`query: ` for e5).
    Query,
    /// An indexed passage (`passage: ` for e5).
    Passage,
    /// The text exactly as given.
    None,
}

/// One embedded text.
#[derive(Debug, Clone)]
pub struct Embedded {
    pub vector: Vec<f32>,
    /// Tokens in the text as the model sees it (prefix and special tokens included).
    pub tokens: usize,
}

/// Batches are cut so no single activation tensor exceeds this (glibc serves larger
/// allocations with fresh `mmap`s, whose page faults cost a third of the run time).
const MAX_ACTIVATION_BYTES: usize = 32 << 20;

/// Tokens per batch for the native encoder (sequences are packed, not padded).
const PACKED_BATCH_TOKENS: usize = 4096;

/// Windows overlap by this fraction of their content length.
const WINDOW_OVERLAP: usize = 4; // 1/4

/// A text's vector and its parts' (see [`Embedder::embed_with_parts`]).
pub type WithParts = (Vec<f32>, Vec<Vec<f32>>);

/// A text's token ids and token ranges: all of them, then each part's (see
/// [`Embedder::place_parts`]).
pub type Placed = (Vec<u32>, Vec<std::ops::Range<usize>>);

pub struct Embedder {
    encoder: Encoder,
    tokenizer: Tok,
    info: ModelInfo,
    dim: usize,
    max_len: usize,
    heads: usize,
    ffn: usize,
    cls_id: u32,
    sep_id: u32,
    pad_id: u32,
    /// Windows per forward pass on candle's encoder (the native one packs by tokens).
    pub batch_size: usize,
    /// The largest activation tensor a padded batch may make (see [`Embedder::batches`]).
    max_activation: usize,
    /// Show a progress bar (on a terminal only) when embedding many texts.
    pub progress: bool,
}

/// The tokenizer: xref's fast-loading Unigram for the XLM-R layout, `tokenizers` otherwise.
enum Tok {
    Unigram(unigram::Unigram),
    Hf(Box<Tokenizer>),
}

impl Tok {
    fn load(path: &std::path::Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        if let Ok(u) = unigram::Unigram::from_json(&text) {
            return Ok(Tok::Unigram(u));
        }
        let mut t: Tokenizer = text
            .parse()
            .map_err(|e| anyhow!("{} is not a usable tokenizer: {e}", path.display()))?;
        t.with_padding(None);
        t.with_truncation(None)
            .map_err(|e| anyhow!("configuring the tokenizer: {e}"))?;
        Ok(Tok::Hf(Box::new(t)))
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        match self {
            Tok::Unigram(u) => u.token_to_id(token),
            Tok::Hf(t) => t.token_to_id(token),
        }
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match self {
            Tok::Unigram(u) => Ok(u.encode(text)),
            Tok::Hf(t) => Ok(t
                .encode(text, true)
                .map_err(|e| anyhow!("tokenizing: {e}"))?
                .get_ids()
                .to_vec()),
        }
    }
}

/// One model input: a window of one text.
struct Window {
    text: usize,
    ids: Vec<u32>,
}

impl Embedder {
    /// Load the model on the best device available (CUDA with the `cuda` feature, else CPU)
    /// at the precision `XREF_PRECISION` names (`auto`, `f32`, `bf16`, `int8`; default
    /// `auto`).
    pub fn load(model: &ModelDir) -> Result<Self> {
        let choice: PrecisionChoice = std::env::var("XREF_PRECISION")
            .unwrap_or_default()
            .parse()
            .map_err(|e: String| anyhow!("XREF_PRECISION: {e}"))?;
        Self::load_with(model, choice.resolve())
    }

    /// Load at an explicit precision (bf16 and int8 run as f32 on CPUs without AVX-512 BF16
    /// or VNNI), on the best device available.
    pub fn load_with(model: &ModelDir, precision: Precision) -> Result<Self> {
        Self::load_on(model, precision, DeviceChoice::Auto)
    }

    /// Load at an explicit precision on the chosen device. On a GPU (the `cuda` feature)
    /// candle's model runs in bf16 (f32 when `precision` is f32; int8 runs as bf16) with
    /// batches of 256.
    pub fn load_on(model: &ModelDir, precision: Precision, device: DeviceChoice) -> Result<Self> {
        let device = device.device()?;
        let gpu = !device.is_cpu();
        let mut embedder = Self::with_encoder(model, || Encoder::load(model, &device, precision))?;
        if gpu {
            embedder.batch_size = GPU_BATCH;
            embedder.max_activation = GPU_MAX_ACTIVATION_BYTES;
        }
        Ok(embedder)
    }

    /// Load candle's own model: the plain path the native encoder is tested against.
    pub fn load_candle(model: &ModelDir, device: Device) -> Result<Self> {
        Self::with_encoder(model, || Encoder::load_candle(model, &device))
    }

    /// Which encoder runs, at which precision.
    pub fn describe(&self) -> String {
        self.encoder.describe()
    }

    /// Parse the tokenizer (a large JSON file) on one thread while `encoder` loads the
    /// weights on the others.
    fn with_encoder(
        model: &ModelDir,
        encoder: impl FnOnce() -> Result<(Encoder, usize)>,
    ) -> Result<Self> {
        tune_allocator();
        let (tokenizer, encoder) = std::thread::scope(|s| {
            let tokenizer = s.spawn(|| Tok::load(&model.tokenizer));
            let encoder = encoder();
            (tokenizer.join(), encoder)
        });
        let (encoder, dim) = encoder?;
        let tokenizer = tokenizer.map_err(|_| anyhow!("the tokenizer loader panicked"))??;
        let config = std::fs::read_to_string(&model.config)
            .with_context(|| format!("reading {}", model.config.display()))?;
        let cfg =
            bert::Config::parse(&config).map_err(|e| anyhow!("{}: {e}", model.dir.display()))?;
        let positions = cfg.max_position_embeddings;
        // XLM-RoBERTa positions start after the padding index (offset 2).
        let max_len = match model.architecture {
            Architecture::Bert => positions.min(512),
            Architecture::XlmRoberta => positions.saturating_sub(2).min(8192),
        };
        let special = |names: &[&str]| names.iter().find_map(|n| tokenizer.token_to_id(n));
        let cls_id = special(&["<s>", "[CLS]"]).context("tokenizer has no <s>/[CLS] token")?;
        let sep_id = special(&["</s>", "[SEP]"]).context("tokenizer has no </s>/[SEP] token")?;
        let pad_id = special(&["<pad>", "[PAD]"]).unwrap_or(0);
        Ok(Self {
            encoder,
            tokenizer,
            info: model.info.clone(),
            dim,
            max_len,
            heads: cfg.num_attention_heads,
            ffn: cfg.intermediate_size,
            cls_id,
            sep_id,
            pad_id,
            batch_size: 16,
            max_activation: MAX_ACTIVATION_BYTES,
            progress: true,
        })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The longest input the model takes, in tokens.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    fn prefix_str(&self, prefix: Prefix) -> &str {
        match prefix {
            Prefix::Query => &self.info.query_prefix,
            Prefix::Passage => &self.info.passage_prefix,
            Prefix::None => "",
        }
    }

    /// Token ids of `text` with its prefix and special tokens, without truncation.
    pub fn tokenize(&self, text: &str, prefix: Prefix) -> Result<Vec<u32>> {
        let full = format!("{}{}", self.prefix_str(prefix), text);
        self.tokenizer.encode(&full)
    }

    /// Embed one text.
    pub fn embed_one(&self, text: &str, prefix: Prefix) -> Result<Vec<f32>> {
        let mut v = self.embed(&[text], prefix)?;
        Ok(v.pop().expect("one text in, one vector out").vector)
    }

    /// Embed many texts; the output is in input order.
    pub fn embed<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        prefix: Prefix,
    ) -> Result<Vec<Embedded>> {
        self.embed_inner(texts, prefix, true)
    }

    /// [`Embedder::embed`] without a progress bar of its own: one part of a larger job that
    /// shows its progress with [`Embedder::items_bar`].
    pub fn embed_part<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        prefix: Prefix,
    ) -> Result<Vec<Embedded>> {
        self.embed_inner(texts, prefix, false)
    }

    fn embed_inner<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        prefix: Prefix,
        bar: bool,
    ) -> Result<Vec<Embedded>> {
        let prefix_len = if self.prefix_str(prefix).is_empty() {
            0
        } else {
            self.tokenize("", prefix)?.len().saturating_sub(2)
        };
        let encoded: Vec<Vec<u32>> = profile::time(Phase::Tokenize, || {
            texts
                .par_iter()
                .map(|t| self.tokenize(t.as_ref(), prefix))
                .collect::<Result<_>>()
        })?;
        let windows = profile::time(Phase::Batching, || {
            let mut windows = Vec::new();
            for (i, ids) in encoded.iter().enumerate() {
                self.windows(i, ids, prefix_len, &mut windows);
            }
            windows.sort_by_key(|w| w.ids.len());
            windows
        });

        let total_tokens: usize = windows.iter().map(|w| w.ids.len()).sum();
        let bar = if bar {
            self.progress_bar(texts.len(), total_tokens)
        } else {
            ProgressBar::hidden()
        };
        // Per text: weighted sum of pooled window vectors, and the weight.
        let mut sums = vec![vec![0f32; self.dim]; texts.len()];
        let mut weights = vec![0f32; texts.len()];
        // Queries run on the exact path: they are short (a few milliseconds either way), and
        // bf16's ~1e-4 score noise reorders near-ties in rankings (measured on the gold set).
        let exact = prefix == Prefix::Query;
        for batch in self.batches(&windows) {
            let pooled = self.run_batch(batch, exact)?;
            profile::time(Phase::Batching, || {
                for (w, v) in batch.iter().zip(pooled) {
                    let weight = w.ids.len() as f32;
                    for (s, x) in sums[w.text].iter_mut().zip(v) {
                        *s += weight * x;
                    }
                    weights[w.text] += weight;
                }
            });
            bar.inc(batch.iter().map(|w| w.ids.len() as u64).sum());
        }
        bar.finish_and_clear();
        Ok(profile::time(Phase::Batching, || {
            sums.into_iter()
                .zip(encoded)
                .map(|(mut v, ids)| {
                    normalize(&mut v);
                    Embedded {
                        vector: v,
                        tokens: ids.len(),
                    }
                })
                .collect()
        }))
    }

    /// Each text embedded whole and, from the same forward pass, each of its `parts` (byte
    /// ranges of the text, in order, e.g. its sentences): "late chunking" — a part's vector
    /// is the mean of the paragraph's final hidden states over the part's tokens, so a
    /// sentence keeps its paragraph's context and costs no forward pass of its own. The
    /// whole text's vector is [`Embedder::embed`]'s. Measured against separate sentence
    /// passes (`XREF_LATE_CHUNKING=1 xref eval …`): indexing the seed takes half the time
    /// (10.2 → 5.2 s), but English questions' hit@1 falls from 0.529 to 0.324 (Chinese
    /// unchanged), link recall@5 from 0.744 to 0.711, man-page translation recall@1 by
    /// 0.005 / 0.011; adding the prefix and special tokens to each part's mean did not help.
    /// So it is opt-in (`xref index` with `XREF_LATE_CHUNKING=1`). `None` for a text that does not
    /// fit one model window, or whose parts cannot be placed on its tokens (the caller
    /// embeds those separately). Mean-pooling models only (else every text is `None`).
    pub fn embed_with_parts(
        &self,
        texts: &[&str],
        parts: &[Vec<std::ops::Range<usize>>],
        prefix: Prefix,
    ) -> Result<Vec<Option<WithParts>>> {
        ensure!(texts.len() == parts.len(), "one list of parts per text");
        let mut out = vec![None; texts.len()];
        if self.info.pooling != crate::model::Pooling::Mean {
            return Ok(out);
        }
        let placed: Vec<Option<Placed>> = texts
            .par_iter()
            .zip(parts)
            .map(|(text, parts)| self.place_parts(text, parts, prefix))
            .collect::<Result<_>>()?;
        let mut spans_of = vec![None; texts.len()];
        let mut windows = Vec::new();
        for (text, p) in placed.into_iter().enumerate() {
            if let Some((ids, spans)) = p {
                windows.push(Window { text, ids });
                spans_of[text] = Some(spans);
            }
        }
        windows.sort_by_key(|w| w.ids.len());
        for batch in self.batches(&windows) {
            let seqs: Vec<&[u32]> = batch.iter().map(|w| w.ids.as_slice()).collect();
            let spans: Vec<Vec<std::ops::Range<usize>>> = batch
                .iter()
                .map(|w| spans_of[w.text].clone().expect("placed"))
                .collect();
            let pooled = self
                .encoder
                .encode_spans(&seqs, &spans, self.pad_id, false)?;
            for (w, mut vectors) in batch.iter().zip(pooled) {
                for v in &mut vectors {
                    ensure!(
                        v.iter().all(|x| x.is_finite()),
                        "the model produced non-finite values"
                    );
                    normalize(v);
                }
                let whole = vectors.remove(0);
                out[w.text] = Some((whole, vectors));
            }
        }
        Ok(out)
    }

    /// The token ids of `text` (with `prefix`) and, first, the range of all of them, then
    /// each part's range of tokens: the first starts after the opening token and the
    /// prefix's tokens; a part ends where the tokens of the text up to its end end (less
    /// the closing special token); the last part ends before that token. `None`
    /// when the text does not fit one window or a part gets no token.
    pub fn place_parts(
        &self,
        text: &str,
        parts: &[std::ops::Range<usize>],
        prefix: Prefix,
    ) -> Result<Option<Placed>> {
        let ids = self.tokenize(text, prefix)?;
        if ids.len() > self.max_len {
            return Ok(None);
        }
        let mut spans = Vec::with_capacity(parts.len() + 1);
        spans.push(0..ids.len());
        // The text's tokens start after the opening token and the prefix's.
        let mut start = 1 + ids
            .len()
            .saturating_sub(self.tokenize(text, Prefix::None)?.len());
        for (i, p) in parts.iter().enumerate() {
            let end = if i + 1 == parts.len() {
                ids.len() - 1
            } else {
                let Some(head) = text.get(..p.end) else {
                    return Ok(None);
                };
                (self.tokenize(head, prefix)?.len() - 1).min(ids.len() - 1)
            };
            if end <= start {
                return Ok(None);
            }
            spans.push(start..end);
            start = end;
        }
        Ok(Some((ids, spans)))
    }

    /// Split length-sorted windows into batches of at most `batch_size` windows whose
    /// largest activation (attention scores or the FFN's hidden layer) stays below
    /// [`MAX_ACTIVATION_BYTES`], so the allocator can recycle buffers instead of mapping
    /// fresh pages for every tensor.
    fn batches<'w>(&self, windows: &'w [Window]) -> Vec<&'w [Window]> {
        let mut out = Vec::new();
        let mut start = 0;
        if self.encoder.packs() {
            // Packed sequences: cut by total tokens; attention scores are per sequence.
            while start < windows.len() {
                let mut end = start + 1;
                let mut tokens = windows[start].ids.len();
                while end < windows.len() && tokens + windows[end].ids.len() <= PACKED_BATCH_TOKENS
                {
                    tokens += windows[end].ids.len();
                    end += 1;
                }
                out.push(&windows[start..end]);
                start = end;
            }
            return out;
        }
        while start < windows.len() {
            let mut end = start + 1;
            while end < windows.len() && end - start < self.batch_size.max(1) {
                let len = windows[end].ids.len();
                let per_row = len * (len * self.heads).max(self.ffn) * 4;
                if (end - start + 1) * per_row > self.max_activation {
                    break;
                }
                end += 1;
            }
            out.push(&windows[start..end]);
            start = end;
        }
        out
    }

    /// Cut one encoded text into model-sized windows that overlap, each with the special
    /// tokens and the prefix.
    fn windows(&self, text: usize, ids: &[u32], prefix_len: usize, out: &mut Vec<Window>) {
        if ids.len() <= self.max_len {
            out.push(Window {
                text,
                ids: ids.to_vec(),
            });
            return;
        }
        let body = &ids[1..ids.len() - 1];
        let (prefix, content) = body.split_at(prefix_len.min(body.len()));
        let size = self.max_len - 2 - prefix.len();
        let stride = size - size / WINDOW_OVERLAP;
        let mut start = 0;
        loop {
            let end = (start + size).min(content.len());
            let mut w = Vec::with_capacity(end - start + prefix.len() + 2);
            w.push(self.cls_id);
            w.extend_from_slice(prefix);
            w.extend_from_slice(&content[start..end]);
            w.push(self.sep_id);
            out.push(Window { text, ids: w });
            if end == content.len() {
                break;
            }
            start += stride;
        }
    }

    /// Run one batch and pool each window.
    fn run_batch(&self, batch: &[Window], exact: bool) -> Result<Vec<Vec<f32>>> {
        let seqs: Vec<&[u32]> = batch.iter().map(|w| w.ids.as_slice()).collect();
        let rows = self
            .encoder
            .encode(&seqs, self.info.pooling, self.pad_id, exact)?;
        ensure!(
            rows.iter().all(|r| r.iter().all(|x| x.is_finite())),
            "the model produced non-finite values"
        );
        Ok(rows)
    }

    /// A progress bar over `n` items called `what` (on a terminal only, and only when this
    /// embedder shows progress).
    pub fn items_bar(&self, n: usize, what: &str) -> ProgressBar {
        if !self.progress || n < 16 || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(n as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "embedding {{bar:30}} {{pos}}/{{len}} {what}  {{per_sec}}  eta {{eta}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    }

    fn progress_bar(&self, texts: usize, tokens: usize) -> ProgressBar {
        if !self.progress || texts < 16 || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(tokens as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "embedding {bar:30} {pos}/{len} tokens  {per_sec}  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    }
}

/// Let glibc keep freed buffers of up to [`MAX_ACTIVATION_BYTES`] in the heap rather than
/// unmapping them (its dynamic threshold starts far lower).
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: `mallopt` takes two integers (no pointers, nothing to keep valid), only
        // changes glibc's thresholds for mapping large blocks and trimming the heap, and takes
        // the arena lock itself, so it may run while other threads allocate; `ONCE` runs it
        // once.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MAX_ACTIVATION_BYTES as i32);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        });
    }
}

/// Scale `v` to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// Dot product; the cosine of two normalised vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    kernels::dot(a, b)
}
