//! 8-bit products:
//!
//! * vectors: quantisation and the integer dot product the HNSW graph search runs on (a
//!   384-dimension row is 384 bytes instead of 1,536, and a graph search waits on memory
//!   more than it computes);
//! * linear layers ([`PackedI8`], [`linear_i8`]): weights in signed bytes with one scale per
//!   output column, activations quantised per row at each product to unsigned bytes over
//!   the row's own range (a scale and a zero point per row), products on AVX-512 VNNI
//!   (`vpdpbusd`: four byte products summed into each 32-bit lane) with exact 32-bit
//!   integer sums, then scaled back to f32.

#[cfg(target_arch = "x86_64")]
use super::x86;
use super::{cpu, in_blocks, rows_into, SendPtr};

/// `x` as signed bytes with one scale, `x ≈ q · scale` (`scale = max |x| / 127`; 1 for a
/// zero vector).
pub fn quantize_i8(x: &[f32], out: &mut Vec<i8>) -> f32 {
    let max = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    out.extend(
        x.iter()
            .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8),
    );
    scale
}

#[inline(always)]
fn dot_i8_impl(a: &[i8], b: &[i8]) -> i32 {
    // Integer sums may be reordered, so this vectorises (sign extension, multiply-add of
    // pairs) without intrinsics; |a·b| ≤ 127² · len fits an i32 for any real dimension.
    a.iter().zip(b).map(|(&x, &y)| x as i32 * y as i32).sum()
}

multiversion! {
    /// `Σ a_i · b_i` of two byte vectors of equal length.
    pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 => dot_i8_impl
}

#[inline(always)]
fn dot_f32_i8_impl(a: &[f32], b: &[i8]) -> f32 {
    // Four independent sums of eight lanes each, so the loop vectorises and the additions'
    // latency overlaps; the remainder (dimensions not a multiple of 32) is summed plainly.
    let mut acc = [0f32; 32];
    let (ca, cb) = (a.chunks_exact(32), b.chunks_exact(32));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..32 {
            acc[i] += x[i] * y[i] as f32;
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(&x, &y)| x * y as f32).sum();
    acc.iter().sum::<f32>() + tail
}

multiversion! {
    /// [`dot_f32_i8`] as the compiler vectorises it (AVX2 + FMA, or portable).
    pub fn dot_f32_i8_auto(a: &[f32], b: &[i8]) -> f32 => dot_f32_i8_impl
}

/// `Σ a_i · b_i` of an f32 vector and a byte vector of equal length (a query against a
/// stored 8-bit row, exactly: no quantisation of the query). With AVX-512 an explicit
/// kernel: 1.8× the compiler's vectorisation of the same loop on 10,000 rows of 384
/// (171 against 310 µs on one core of this project's AMD EPYC), which had made the exact
/// scan of cache-resident rows slower than f32's.
pub fn dot_f32_i8(a: &[f32], b: &[i8]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot of slices of different lengths");
    #[cfg(target_arch = "x86_64")]
    if cpu().avx512 {
        // SAFETY: `cpu()` detected AVX-512F at run time; `a` and `b` are equally long
        // (asserted above), so the kernel reads both within bounds.
        return unsafe { x86::dot_f32_i8_avx512(a, b) };
    }
    dot_f32_i8_auto(a, b)
}

/// A linear layer's weight in 8 bits, packed for the AVX-512 VNNI kernel: for each block of
/// 16 output columns, for each group of four input positions, 16 lanes of four signed bytes
/// (`w[4g..4g + 4]` of that column, zero past `k`); with each column's scale (`w ≈ code ·
/// scale`, `scale = max |w| / 127`) and the sum of its codes (to undo the activations'
/// zero points).
pub struct PackedI8 {
    pub n: usize,
    pub k: usize,
    /// Groups of four input positions (`k` rounded up to a multiple of 4, quartered).
    pub(super) kq: usize,
    pub(super) data: Vec<u32>,
    /// Per output column, padded with zeros to a multiple of 16.
    pub(super) scales: Vec<f32>,
    pub(super) sums: Vec<i32>,
}

impl PackedI8 {
    pub fn pack(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k);
        let kq = k.div_ceil(4);
        let tiles = n.div_ceil(16);
        let mut data = vec![0u32; tiles * kq * 16];
        let mut scales = vec![0f32; tiles * 16];
        let mut sums = vec![0i32; tiles * 16];
        let mut codes = Vec::with_capacity(4 * kq);
        for j in 0..n {
            let (t, lane) = (j / 16, j % 16);
            codes.clear();
            scales[j] = quantize_i8(&w[j * k..(j + 1) * k], &mut codes);
            sums[j] = codes.iter().map(|&q| q as i32).sum();
            codes.resize(4 * kq, 0);
            for (g, quad) in codes.chunks_exact(4).enumerate() {
                let bytes = [quad[0] as u8, quad[1] as u8, quad[2] as u8, quad[3] as u8];
                data[(t * kq + g) * 16 + lane] = u32::from_le_bytes(bytes);
            }
        }
        Self {
            n,
            k,
            kq,
            data,
            scales,
            sums,
        }
    }

    /// The weight as f32 after 8-bit rounding, `[n×k]`.
    #[cfg(test)]
    pub(super) fn unpack(&self) -> Vec<f32> {
        let mut w = vec![0f32; self.n * self.k];
        for j in 0..self.n {
            let (t, lane) = (j / 16, j % 16);
            for kk in 0..self.k {
                let v = self.data[(t * self.kq + kk / 4) * 16 + lane].to_le_bytes()[kk % 4];
                w[j * self.k + kk] = v as i8 as f32 * self.scales[j];
            }
        }
        w
    }
}

/// The scale and zero point that map a row's range (0 included) onto 0..=255:
/// `x ≈ scale · (u − zero)`. A row whose range is below 1e-30 (zeros, or values whose
/// reciprocal scale would overflow) gets scale 1: every value becomes the zero point.
#[inline(always)]
fn row_range_impl(x: &[f32]) -> (f32, f32) {
    let (lo, hi) = x
        .iter()
        .fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let scale = if hi - lo > 1e-30 {
        (hi - lo) / 255.0
    } else {
        1.0
    };
    (scale, (-lo / scale).round().clamp(0.0, 255.0))
}

multiversion! {
    /// A row's 8-bit scale and zero point.
    pub fn row_range(x: &[f32]) -> (f32, f32) => row_range_impl
}

/// Quantise one row of activations to unsigned bytes over its own range (see
/// [`row_range`]); `out` is `k` rounded up to a multiple of 4, padded with the zero point.
/// Plain code: what the AVX-512 version in `x86` must match.
#[cfg(test)]
pub(super) fn quantize_row_portable(x: &[f32], out: &mut [u8]) -> (f32, u32) {
    let (scale, zero) = row_range_impl(x);
    let inv = 1.0 / scale;
    for (o, v) in out.iter_mut().zip(x) {
        *o = v.mul_add(inv, zero).round_ties_even().clamp(0.0, 255.0) as u8;
    }
    out[x.len()..].fill(zero as u8);
    (scale, zero as u32)
}

/// `C[m×n] = A[m×k] · Wᵀ + bias` in 8 bits (AVX-512 VNNI only: check
/// [`Cpu::avx512_vnni`](super::Cpu::avx512_vnni)). Each row of A gets its own scale, each
/// column of W its own; the integer sums are exact, so the only error is the two roundings
/// to 8 bits. `scratch` holds A's codes, one row as its scale (f32 bits), its zero point,
/// then `k / 4` groups of four bytes, and is grown as needed.
pub fn linear_i8(
    a: &[f32],
    m: usize,
    k: usize,
    w: &PackedI8,
    bias: &[f32],
    c: &mut [f32],
    scratch: &mut Vec<u32>,
) {
    assert!(cpu().avx512_vnni, "linear_i8 needs AVX-512 VNNI");
    let n = w.n;
    assert!(w.k == k && a.len() >= m * k && bias.len() == n && c.len() >= m * n);
    if m == 0 {
        return;
    }
    rows_into(scratch, w.kq + 2, a, m, k, |s, d| {
        let (head, codes) = d.split_at_mut(2);
        // SAFETY: `codes` is `kq` u32s, the same bytes as `4 * kq` u8s; u8 needs no
        // alignment and every bit pattern is a valid u8; `codes` is a unique borrow, unused
        // while `bytes` (made from it) lives.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(codes.as_mut_ptr() as *mut u8, 4 * codes.len())
        };
        let (scale, zero) = row_range(s);
        // SAFETY: `cpu()` detected AVX-512 VNNI (asserted above), which implies AVX-512F and
        // BW; `bytes` holds `4 * kq >= k == s.len()` values.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            x86::quantize_u8(s, 1.0 / scale, zero, bytes)
        };
        head[0] = scale.to_bits();
        head[1] = zero as u32;
    });
    let cp = SendPtr(c.as_mut_ptr());
    let ap = &scratch[..];
    in_blocks(m, n, k, |r0, r1, c0, c1| {
        // SAFETY: `cpu()` detected AVX-512 VNNI (asserted above; it implies AVX-512F and BW).
        // `ap` holds m ≥ r1 rows of `w.kq + 2` words; `in_blocks` gives `c0` a multiple of
        // 16 and `c0 < c1 <= n == w.n == bias.len()`, at most three tiles; C holds m×n
        // values (asserted), row stride n, so rows r0..r1 × columns c0..c1 are in bounds.
        // Each block is its own, so threads write disjoint parts of C, which is borrowed
        // mutably for the whole call.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            x86::i8_block(ap, w, bias, cp.get(), n, r0, r1, c0, c1)
        };
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("{:?} {r0} {r1} {c0} {c1}", cp.get());
    });
}

/// What [`linear_i8`] computes, in plain Rust from the same codes (for tests).
#[cfg(test)]
pub(super) fn linear_i8_reference(
    a: &[f32],
    m: usize,
    k: usize,
    w: &PackedI8,
    bias: &[f32],
) -> Vec<f32> {
    let kq = w.kq;
    let wt = w.unpack();
    let mut c = vec![0f32; m * w.n];
    let mut row = vec![0u8; 4 * kq];
    for r in 0..m {
        let (sa, zero) = quantize_row_portable(&a[r * k..(r + 1) * k], &mut row);
        for j in 0..w.n {
            let mut acc = 0i64;
            for kk in 0..k {
                let code = (wt[j * k + kk] / w.scales[j]).round() as i64;
                acc += (row[kk] as i64 - zero as i64) * code;
            }
            c[r * w.n + j] = acc as f32 * sa * w.scales[j] + bias[j];
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_plain_sum_and_quantisation_is_close() {
        let a: Vec<i8> = (0..384).map(|i| ((i * 37) % 255 - 127) as i8).collect();
        let b: Vec<i8> = (0..384).map(|i| ((i * 91 + 5) % 255 - 127) as i8).collect();
        let want: i32 = a.iter().zip(&b).map(|(&x, &y)| x as i32 * y as i32).sum();
        assert_eq!(dot_i8(&a, &b), want);
        assert_eq!(dot_i8(&a[..7], &b[..7]), dot_i8_impl(&a[..7], &b[..7]));
        let x: Vec<f32> = (0..384).map(|i| ((i as f32) * 0.37).sin()).collect();
        let mut q = Vec::new();
        let scale = quantize_i8(&x, &mut q);
        for (v, c) in x.iter().zip(&q) {
            assert!((v - *c as f32 * scale).abs() <= scale / 2.0 + 1e-6);
        }
        let mut zero = Vec::new();
        assert_eq!(quantize_i8(&[0.0; 4], &mut zero), 1.0);
        assert_eq!(zero, [0; 4]);
    }
}
