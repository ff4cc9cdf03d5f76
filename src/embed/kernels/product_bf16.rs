//! bf16 products: a linear layer's weight packed in bf16 ([`PackedBf16`]) and the product
//! with f32 accumulation on AVX-512 BF16 ([`linear_bf16`]).

#[cfg(test)]
use super::bf16_to_f32;
use super::elementwise::to_bf16_impl;
#[cfg(target_arch = "x86_64")]
use super::x86;
use super::{cpu, in_blocks, rows_into, to_bf16, SendPtr};

/// A linear layer's weight in bf16, packed for the AVX-512 BF16 kernel: for each block of 16
/// output columns, for each pair of input positions, 16 lanes of (`w[2p]`, `w[2p+1]`).
pub struct PackedBf16 {
    pub n: usize,
    pub k: usize,
    /// Pairs of input positions (`k` rounded up to even, halved).
    pub(super) kp: usize,
    pub(super) data: Vec<u32>,
}

impl PackedBf16 {
    pub fn pack(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k);
        let kp = k.div_ceil(2);
        let tiles = n.div_ceil(16);
        let mut data = vec![0u32; tiles * kp * 16];
        let mut b = [0u16; 2];
        for j in 0..n {
            let (t, lane) = (j / 16, j % 16);
            let row = &w[j * k..(j + 1) * k];
            for p in 0..kp {
                let hi = if 2 * p + 1 < k { row[2 * p + 1] } else { 0.0 };
                to_bf16_impl(&[row[2 * p], hi], &mut b);
                data[(t * kp + p) * 16 + lane] = b[0] as u32 | (b[1] as u32) << 16;
            }
        }
        Self { n, k, kp, data }
    }

    /// The weight as f32 after bf16 rounding, `[n×k]`.
    #[cfg(test)]
    pub(super) fn unpack(&self) -> Vec<f32> {
        let mut w = vec![0f32; self.n * self.k];
        for j in 0..self.n {
            let (t, lane) = (j / 16, j % 16);
            for kk in 0..self.k {
                let v = self.data[(t * self.kp + kk / 2) * 16 + lane];
                w[j * self.k + kk] = bf16_to_f32(if kk % 2 == 0 {
                    v as u16
                } else {
                    (v >> 16) as u16
                });
            }
        }
        w
    }
}

/// bf16 product with f32 accumulation (AVX-512 BF16 only: check
/// [`Cpu::avx512_bf16`](super::Cpu::avx512_bf16)).
/// `scratch` holds A in bf16 and is grown as needed.
pub fn linear_bf16(
    a: &[f32],
    m: usize,
    k: usize,
    w: &PackedBf16,
    bias: &[f32],
    c: &mut [f32],
    scratch: &mut Vec<u32>,
) {
    assert!(cpu().avx512_bf16, "linear_bf16 needs AVX-512 BF16");
    let n = w.n;
    assert!(w.k == k && a.len() >= m * k && bias.len() == n && c.len() >= m * n);
    if m == 0 {
        return;
    }
    let kp = w.kp;
    rows_into(scratch, kp, a, m, k, |s, d| {
        // SAFETY: `d` is `kp` u32s, the same bytes as `2 * kp` u16s; u16 needs no more
        // alignment than u32 and every bit pattern is a valid u16; `d` is a unique borrow,
        // unused while `d16` (made from it) lives.
        let d16 = unsafe { std::slice::from_raw_parts_mut(d.as_mut_ptr() as *mut u16, 2 * kp) };
        to_bf16(s, &mut d16[..k]);
        if k % 2 == 1 {
            d16[k] = 0;
        }
    });
    let cp = SendPtr(c.as_mut_ptr());
    let ap = &scratch[..];
    in_blocks(m, n, k, |r0, r1, c0, c1| {
        // SAFETY: `cpu()` detected AVX-512 BF16 (asserted above; it implies AVX-512F and BW).
        // `ap` holds m ≥ r1 rows of `kp == w.kp` pairs; `in_blocks` gives `c0` a multiple of
        // 16 and `c0 < c1 <= n == w.n == bias.len()`, at most three tiles; C holds m×n
        // values (asserted), row stride n, so rows r0..r1 × columns c0..c1 are in bounds.
        // Each block is its own, so threads write disjoint parts of C, which is borrowed
        // mutably for the whole call.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            x86::bf16_block(ap, kp, w, bias, cp.get(), n, r0, r1, c0, c1)
        };
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("{:?} {kp} {r0} {r1} {c0} {c1}", cp.get());
    });
}
