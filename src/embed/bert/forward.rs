//! The forward pass: [`Bert::encode`] runs the embeddings and each transformer layer as
//! candle in-place ops over the packed hidden states, then pools.

use std::cell::RefCell;

use anyhow::{bail, ensure, Result};
use candle_core::{CpuStorage, DType, Device, InplaceOp1, Layout, Storage, Tensor};
use rayon::prelude::*;

use super::kernels::{self, SendPtr};
use super::weights::{Layer, LayerNorm};
use super::{Bert, Precision};
use crate::embed::profile::{self, Phase};
use crate::model::Pooling;

/// Buffers grown to the largest batch seen and reused: the hidden-state tensor, and the
/// layer op's intermediate activations.
#[derive(Default)]
pub(super) struct Workspace {
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
    /// Encode sequences (token ids, special tokens included) and pool each one, at
    /// `precision` (bf16 runs as f32 unless the encoder was loaded for bf16).
    pub fn encode(
        &self,
        seqs: &[&[u32]],
        pooling: Pooling,
        precision: Precision,
    ) -> Result<Vec<Vec<f32>>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let h = self.hidden;
        self.run(seqs, precision, |x, starts| {
            // Pooled straight from the hidden states' storage, sequences spread over the
            // threads (as candle tensor ops this was the one serial phase left).
            let (storage, layout) = x.storage_and_layout();
            let (Storage::Cpu(CpuStorage::F32(data)), Some((from, to))) =
                (&*storage, layout.contiguous_offsets())
            else {
                bail!("the hidden states must be contiguous f32 on the CPU");
            };
            let states = &data[from..to];
            Ok(seqs
                .par_iter()
                .zip(starts)
                .map(|(s, &start)| {
                    let rows = &states[start * h..(start + s.len()) * h];
                    match pooling {
                        Pooling::Cls => rows[..h].to_vec(),
                        Pooling::Mean => {
                            let mut sum = vec![0f32; h];
                            for row in rows.chunks_exact(h) {
                                for (a, b) in sum.iter_mut().zip(row) {
                                    *a += b;
                                }
                            }
                            let n = s.len() as f32;
                            sum.iter_mut().for_each(|v| *v /= n);
                            sum
                        }
                    }
                })
                .collect())
        })
    }

    /// Encode sequences and mean-pool each of `spans[i]` (token ranges of sequence `i`):
    /// several vectors from one forward pass ("late chunking").
    pub fn encode_spans(
        &self,
        seqs: &[&[u32]],
        spans: &[Vec<std::ops::Range<usize>>],
        precision: Precision,
    ) -> Result<Vec<Vec<Vec<f32>>>> {
        ensure!(spans.len() == seqs.len(), "one list of spans per sequence");
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        for (s, list) in seqs.iter().zip(spans) {
            ensure!(
                list.iter().all(|r| r.start < r.end && r.end <= s.len()),
                "a span outside its sequence"
            );
        }
        self.run(seqs, precision, |x, starts| {
            spans
                .iter()
                .zip(starts)
                .map(|(list, &start)| {
                    list.iter()
                        .map(|r| Ok(x.narrow(0, start + r.start, r.len())?.mean(0)?.to_vec1()?))
                        .collect()
                })
                .collect()
        })
    }

    /// Run the encoder over `seqs` (packed) and hand the hidden states, with each
    /// sequence's first row, to `pool`.
    fn run<R>(
        &self,
        seqs: &[&[u32]],
        precision: Precision,
        pool: impl FnOnce(&Tensor, &[usize]) -> Result<R>,
    ) -> Result<R> {
        let total: usize = seqs.iter().map(|s| s.len()).sum();
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
        profile::time(Phase::Embeddings, || {
            x.inplace_op1(&EmbedOp { bert: self, batch })
        })?;
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

        profile::time(Phase::Pooling, || pool(&x, &starts))
    }

    /// Word + position + token-type embeddings, then layer norm.
    fn embed_tokens(&self, b: Batch, x: &mut [f32]) {
        let h = self.hidden;
        let words = self.words.view();
        let x_len = x.len();
        let xp = SendPtr(x.as_mut_ptr());
        b.seqs.par_iter().zip(b.starts).for_each(|(s, &start)| {
            assert!((start + s.len()) * h <= x_len);
            // SAFETY: the rows `start..start + len` lie within `x` (asserted) and belong to
            // this sequence alone (see `Batch`), so tasks get disjoint parts of `x`, which is
            // borrowed mutably for the whole call and not used otherwise meanwhile.
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
        let (qkv, ctx, tmp) = (
            &mut ws.qkv[..total * 3 * h],
            &mut ws.ctx[..total * h],
            &mut ws.tmp[..total * h],
        );
        let scratch = &mut ws.scratch;
        profile::time(Phase::Qkv, || l.qkv.forward(x, total, qkv, scratch, p));
        profile::time(Phase::Attention, || self.attention(b, qkv, ctx));
        profile::time(Phase::AttentionOut, || {
            l.out.forward(ctx, total, tmp, scratch, p)
        });
        profile::time(Phase::AddNorm, || self.add_norm(x, tmp, &l.ln_attn));
        // Feed-forward.
        let ffn = &mut ws.ffn[..total * f];
        profile::time(Phase::FeedForward, || {
            l.ffn_in.forward(x, total, ffn, scratch, p)
        });
        profile::time(Phase::Gelu, || {
            ffn.par_chunks_mut(ROWS_PER_TASK * f)
                .for_each(kernels::gelu)
        });
        profile::time(Phase::FeedForward, || {
            l.ffn_out.forward(ffn, total, tmp, scratch, p)
        });
        profile::time(Phase::AddNorm, || self.add_norm(x, tmp, &l.ln_ffn));
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
                // SAFETY: C is `sc`, len×len values (row stride len), in this thread's own
                // score buffer, so it overlaps neither Q nor K (in `qkv`) and no other thread
                // touches it. (`matmul_strided` checks the reads of Q and K itself.)
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
                // SAFETY: C is len rows × dh columns at `first` with row stride h: in
                // bounds of `ctx` (asserted). This task alone writes columns
                // hd*dh..(hd+1)*dh of its sequence's rows, which no other sequence shares
                // (see `Batch`); `ctx` is borrowed mutably for the whole call and is neither
                // `sc` (thread-local) nor `qkv`, where V lies.
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

/// The sequences of a batch and where each starts in the packed rows: `starts[i]` is the
/// sum of the lengths before sequence `i` (so no two sequences share a row).
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
