//! The x86-64 intrinsics behind the products: AVX-512 and AVX2 dot products, the
//! AVX-512 BF16 micro-kernel of [`super::linear_bf16`] and the AVX-512 VNNI one of
//! [`super::linear_i8`]. Each function is compiled for the
//! features it names and must only run on a CPU that has them ([`super::cpu`]).

use std::arch::x86_64::*;

use super::{PackedBf16, PackedI8};

/// `out[r] = x · w[r·k..(r+1)·k]` for the four rows of `w` (`k = x.len()`).
///
/// # Safety
/// The CPU must have AVX-512F, and `w.len() >= 4 * x.len()`. (`out` needs four values, or
/// the function panics.)
#[target_feature(enable = "avx512f")]
pub unsafe fn dots4_avx512(x: &[f32], w: &[f32], out: &mut [f32]) {
    let k = x.len();
    let (px, pw) = (x.as_ptr(), w.as_ptr());
    let mut acc = [_mm512_setzero_ps(); 4];
    let mut i = 0;
    while i + 16 <= k {
        let xv = _mm512_loadu_ps(px.add(i));
        for (r, a) in acc.iter_mut().enumerate() {
            // The weight streams from memory once: fetch the next four rows early.
            _mm_prefetch::<_MM_HINT_T0>(pw.wrapping_add(8 * k + r * k + i) as *const i8);
            *a = _mm512_fmadd_ps(xv, _mm512_loadu_ps(pw.add(r * k + i)), *a);
        }
        i += 16;
    }
    if i < k {
        let m: __mmask16 = ((1u32 << (k - i)) - 1) as u16;
        let xv = _mm512_maskz_loadu_ps(m, px.add(i));
        for (r, a) in acc.iter_mut().enumerate() {
            *a = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, pw.add(r * k + i)), *a);
        }
    }
    for r in 0..4 {
        out[r] = _mm512_reduce_add_ps(acc[r]);
    }
}

/// `out[4·i + r] = x_i · w_r` for the four rows of `x` and of `w` (`k = x.len() / 4`).
///
/// # Safety
/// The CPU must have AVX-512F, and `w.len() >= 4 * (x.len() / 4)`.
#[target_feature(enable = "avx512f")]
pub unsafe fn dots4x4_avx512(x: &[f32], w: &[f32], out: &mut [f32; 16]) {
    let k = x.len() / 4;
    let (px, pw) = (x.as_ptr(), w.as_ptr());
    let mut acc = [[_mm512_setzero_ps(); 4]; 4];
    let mut i = 0;
    let full = k / 16 * 16;
    while i < k {
        let m: __mmask16 = if i < full {
            0xffff
        } else {
            ((1u32 << (k - i)) - 1) as u16
        };
        let wv = [0, 1, 2, 3].map(|r| {
            // The weight streams from memory once: fetch two groups ahead.
            _mm_prefetch::<_MM_HINT_T0>(pw.wrapping_add(8 * k + r * k + i) as *const i8);
            _mm512_maskz_loadu_ps(m, pw.add(r * k + i))
        });
        for (ii, row) in acc.iter_mut().enumerate() {
            let xv = _mm512_maskz_loadu_ps(m, px.add(ii * k + i));
            for (a, wr) in row.iter_mut().zip(&wv) {
                *a = _mm512_fmadd_ps(xv, *wr, *a);
            }
        }
        i += 16;
    }
    for (ii, row) in acc.iter().enumerate() {
        for (r, a) in row.iter().enumerate() {
            out[ii * 4 + r] = _mm512_reduce_add_ps(*a);
        }
    }
}

/// `$micro::<MR, NT>(args…)` for `rows` in 1..=8 and `nt` in 1..=3, known only at run time
/// (the micro-kernels take both as constants, so their accumulators stay in registers).
macro_rules! tiles {
    ($micro:ident, $rows:expr, $nt:expr, $args:tt) => {
        match $rows {
            8 => tiles!(@nt $micro, 8, $nt, $args),
            7 => tiles!(@nt $micro, 7, $nt, $args),
            6 => tiles!(@nt $micro, 6, $nt, $args),
            5 => tiles!(@nt $micro, 5, $nt, $args),
            4 => tiles!(@nt $micro, 4, $nt, $args),
            3 => tiles!(@nt $micro, 3, $nt, $args),
            2 => tiles!(@nt $micro, 2, $nt, $args),
            _ => tiles!(@nt $micro, 1, $nt, $args),
        }
    };
    (@nt $micro:ident, $mr:literal, $nt:expr, ($($arg:expr),*)) => {
        match $nt {
            3 => $micro::<$mr, 3>($($arg),*),
            2 => $micro::<$mr, 2>($($arg),*),
            _ => $micro::<$mr, 1>($($arg),*),
        }
    };
}

/// One block of C: rows `r0..r1`, columns `c0..c1` (at most three 16-column tiles).
///
/// # Safety
/// * The CPU must have AVX-512F, AVX-512BW and AVX-512 BF16.
/// * `kp == w.kp`, and `a` holds at least `r1 * kp` values (rows of A in bf16 pairs).
/// * `c0` is a multiple of 16, `c0 < c1 <= w.n`, `c1 - c0 <= 48`, `bias.len() >= c1`.
/// * `c` is valid for writes at `r * ldc + j` for every `r` in `r0..r1`, `j` in `c0..c1`,
///   and no other thread accesses those elements meanwhile.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn bf16_block(
    a: &[u32],
    kp: usize,
    w: &PackedBf16,
    bias: &[f32],
    c: *mut f32,
    ldc: usize,
    r0: usize,
    r1: usize,
    c0: usize,
    c1: usize,
) {
    let t0 = c0 / 16;
    let nt = (c1 - c0).div_ceil(16);
    let mut r = r0;
    while r < r1 {
        let rows = (r1 - r).min(8);
        let (ar, cr) = (a.as_ptr().add(r * kp), c.add(r * ldc));
        tiles!(micro, rows, nt, (ar, kp, w, t0, bias, cr, ldc, c0, c1));
        r += rows;
    }
}

/// `MR` rows × `NT` 16-column tiles of C, accumulated over all of K in registers.
///
/// # Safety
/// * The CPU must have AVX-512F, AVX-512BW and AVX-512 BF16.
/// * `a` is valid for reads of `MR * kp` values.
/// * `kp == w.kp` and `t0 + NT <= w.n.div_ceil(16)` (the tiles read exist).
/// * `c0 + 16 * (NT - 1) < c1 <= bias.len()`.
/// * `c` is valid for writes at `r * ldc + j` for every `r < MR` and `j` in `c0..c1`, and no
///   other thread accesses those elements meanwhile.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
#[inline]
unsafe fn micro<const MR: usize, const NT: usize>(
    a: *const u32,
    kp: usize,
    w: &PackedBf16,
    t0: usize,
    bias: &[f32],
    c: *mut f32,
    ldc: usize,
    c0: usize,
    c1: usize,
) {
    let b = w.data.as_ptr().add(t0 * kp * 16);
    let tile_stride = kp * 16;
    let mut acc = [[_mm512_setzero_ps(); NT]; MR];
    for p in 0..kp {
        let mut bv = [_mm512_setzero_si512(); NT];
        for t in 0..NT {
            bv[t] = _mm512_loadu_si512(b.add(t * tile_stride + p * 16) as *const _);
        }
        for r in 0..MR {
            let av = _mm512_set1_epi32(*a.add(r * kp + p) as i32);
            for t in 0..NT {
                acc[r][t] = _mm512_dpbf16_ps(
                    acc[r][t],
                    std::mem::transmute::<__m512i, __m512bh>(av),
                    std::mem::transmute::<__m512i, __m512bh>(bv[t]),
                );
            }
        }
    }
    for t in 0..NT {
        let col = c0 + 16 * t;
        let valid = (c1 - col).min(16);
        let mask: __mmask16 = if valid == 16 {
            0xffff
        } else {
            ((1u32 << valid) - 1) as u16
        };
        let bias_v = _mm512_maskz_loadu_ps(mask, bias.as_ptr().add(col));
        for r in 0..MR {
            _mm512_mask_storeu_ps(c.add(r * ldc + col), mask, _mm512_add_ps(acc[r][t], bias_v));
        }
    }
}

/// Rows `r0..r1` × columns `c0..c1` of `C = A·Wᵀ + bias` from 8-bit codes (see
/// [`linear_i8`](super::linear_i8)), in micro-tiles of up to 8 rows × three 16-column tiles.
///
/// # Safety
/// * The CPU must have AVX-512F, AVX-512BW and AVX-512 VNNI.
/// * `a` holds at least `r1` rows of `w.kq + 2` words (scale bits, zero point, codes).
/// * `c0` is a multiple of 16, `c0 < c1 <= w.n == bias.len()`, `c1 - c0 <= 48`.
/// * `c` is valid for writes at `r * ldc + j` for every `r` in `r0..r1` and `j` in `c0..c1`,
///   and no other thread accesses those elements meanwhile.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn i8_block(
    a: &[u32],
    w: &PackedI8,
    bias: &[f32],
    c: *mut f32,
    ldc: usize,
    r0: usize,
    r1: usize,
    c0: usize,
    c1: usize,
) {
    let stride = w.kq + 2;
    let t0 = c0 / 16;
    let nt = (c1 - c0).div_ceil(16);
    let mut r = r0;
    while r < r1 {
        let rows = (r1 - r).min(8);
        let (ar, cr) = (a.as_ptr().add(r * stride), c.add(r * ldc));
        tiles!(micro_i8, rows, nt, (ar, w, t0, bias, cr, ldc, c0, c1));
        r += rows;
    }
}

/// `MR` rows × `NT` 16-column tiles of C from 8-bit codes, summed over all of K in 32-bit
/// integer registers, then scaled: `(Σ u·q − zero · Σ q) · row scale · column scale + bias`.
///
/// # Safety
/// * The CPU must have AVX-512F, AVX-512BW and AVX-512 VNNI.
/// * `a` is valid for reads of `MR * (w.kq + 2)` words.
/// * `t0 + NT <= w.n.div_ceil(16)` (the tiles read exist).
/// * `c0 + 16 * (NT - 1) < c1 <= bias.len()`.
/// * `c` is valid for writes at `r * ldc + j` for every `r < MR` and `j` in `c0..c1`, and no
///   other thread accesses those elements meanwhile.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
#[inline]
unsafe fn micro_i8<const MR: usize, const NT: usize>(
    a: *const u32,
    w: &PackedI8,
    t0: usize,
    bias: &[f32],
    c: *mut f32,
    ldc: usize,
    c0: usize,
    c1: usize,
) {
    let kq = w.kq;
    let stride = kq + 2;
    let b = w.data.as_ptr().add(t0 * kq * 16);
    let tile_stride = kq * 16;
    let mut acc = [[_mm512_setzero_si512(); NT]; MR];
    for g in 0..kq {
        let mut bv = [_mm512_setzero_si512(); NT];
        for t in 0..NT {
            bv[t] = _mm512_loadu_si512(b.add(t * tile_stride + g * 16) as *const _);
        }
        for r in 0..MR {
            let av = _mm512_set1_epi32(*a.add(r * stride + 2 + g) as i32);
            for t in 0..NT {
                acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], av, bv[t]);
            }
        }
    }
    for t in 0..NT {
        let col = c0 + 16 * t;
        let valid = (c1 - col).min(16);
        let mask: __mmask16 = if valid == 16 {
            0xffff
        } else {
            ((1u32 << valid) - 1) as u16
        };
        let bias_v = _mm512_maskz_loadu_ps(mask, bias.as_ptr().add(col));
        let scale_v = _mm512_loadu_ps(w.scales.as_ptr().add(col));
        let sums_v = _mm512_loadu_si512(w.sums.as_ptr().add(col) as *const _);
        for r in 0..MR {
            let row_scale = _mm512_set1_ps(f32::from_bits(*a.add(r * stride)));
            let offset_v =
                _mm512_mullo_epi32(sums_v, _mm512_set1_epi32(*a.add(r * stride + 1) as i32));
            let sum = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][t], offset_v));
            let v = _mm512_fmadd_ps(sum, _mm512_mul_ps(scale_v, row_scale), bias_v);
            _mm512_mask_storeu_ps(c.add(r * ldc + col), mask, v);
        }
    }
}

/// `out[i] = clamp(round_ties_even(x[i] · inv + zero), 0, 255)` for `i < x.len()`, the rest
/// of `out` set to `zero` (the activations of [`super::linear_i8`]).
///
/// # Safety
/// The CPU must have AVX-512F, and `out.len() >= x.len()`.
#[target_feature(enable = "avx512f")]
pub unsafe fn quantize_u8(x: &[f32], inv: f32, zero: f32, out: &mut [u8]) {
    let n = x.len();
    let (inv_v, zero_v) = (_mm512_set1_ps(inv), _mm512_set1_ps(zero));
    let (lo, hi) = (_mm512_setzero_ps(), _mm512_set1_ps(255.0));
    let mut i = 0;
    while i < n {
        let mask: __mmask16 = if n - i >= 16 {
            0xffff
        } else {
            ((1u32 << (n - i)) - 1) as u16
        };
        let v = _mm512_fmadd_ps(
            _mm512_maskz_loadu_ps(mask, x.as_ptr().add(i)),
            inv_v,
            zero_v,
        );
        let v = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
        // max/min return their second operand for a NaN, so a NaN becomes 0.
        let v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        _mm512_mask_cvtepi32_storeu_epi8(
            out.as_mut_ptr().add(i) as *mut _,
            mask,
            _mm512_cvtps_epi32(v),
        );
        i += 16;
    }
    out[n..].fill(zero as u8);
}

/// `a · b` of an f32 vector and a byte vector, over `a.len()` values: bytes widened to
/// f32 16 at a time (`vpmovsxbd`, `vcvtdq2ps`) into four independent FMA sums.
///
/// # Safety
/// The CPU must have AVX-512F, and `b.len() >= a.len()`.
#[target_feature(enable = "avx512f")]
pub unsafe fn dot_f32_i8_avx512(a: &[f32], b: &[i8]) -> f32 {
    let n = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let widen = |at: usize| {
        _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(
            pb.add(at) as *const __m128i
        )))
    };
    let mut s = [_mm512_setzero_ps(); 4];
    let mut i = 0;
    while i + 64 <= n {
        for (k, acc) in s.iter_mut().enumerate() {
            let at = i + 16 * k;
            *acc = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(at)), widen(at), *acc);
        }
        i += 64;
    }
    while i + 16 <= n {
        s[0] = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), widen(i), s[0]);
        i += 16;
    }
    let mut total = _mm512_reduce_add_ps(_mm512_add_ps(
        _mm512_add_ps(s[0], s[1]),
        _mm512_add_ps(s[2], s[3]),
    ));
    while i < n {
        total += *pa.add(i) * *pb.add(i) as f32;
        i += 1;
    }
    total
}

/// `a · b` over `a.len()` values.
///
/// # Safety
/// The CPU must have AVX-512F, and `b.len() >= a.len()`.
#[target_feature(enable = "avx512f")]
pub unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut s0 = _mm512_setzero_ps();
    let mut s1 = _mm512_setzero_ps();
    let mut i = 0;
    while i + 32 <= n {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), s0);
        s1 = _mm512_fmadd_ps(
            _mm512_loadu_ps(pa.add(i + 16)),
            _mm512_loadu_ps(pb.add(i + 16)),
            s1,
        );
        i += 32;
    }
    if i + 16 <= n {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), s0);
        i += 16;
    }
    if i < n {
        let m: __mmask16 = (1u32 << (n - i)) as u16 - 1;
        s1 = _mm512_fmadd_ps(
            _mm512_maskz_loadu_ps(m, pa.add(i)),
            _mm512_maskz_loadu_ps(m, pb.add(i)),
            s1,
        );
    }
    _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
}

/// `a · b` over `a.len()` values.
///
/// # Safety
/// The CPU must have AVX2 and FMA, and `b.len() >= a.len()`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut s0 = _mm256_setzero_ps();
    let mut s1 = _mm256_setzero_ps();
    let mut i = 0;
    while i + 16 <= n {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), s0);
        s1 = _mm256_fmadd_ps(
            _mm256_loadu_ps(pa.add(i + 8)),
            _mm256_loadu_ps(pb.add(i + 8)),
            s1,
        );
        i += 16;
    }
    let s = _mm256_add_ps(s0, s1);
    let mut lanes = [0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), s);
    let mut total: f32 = lanes.iter().sum();
    while i < n {
        total += a[i] * b[i];
        i += 1;
    }
    total
}

/// `out[4·i + r] = x_i · w_r` for the `R` rows of `x` and the four rows of `w`
/// (`k = x.len() / R` values a row): each load of a weight row feeds `R` multiply-adds.
/// `R` is 1 or 2 (4 × `R` accumulators and 4 + `R` loaded values stay in AVX2's 16
/// registers).
///
/// # Safety
/// The CPU must have AVX2 and FMA; `x.len()` must be a multiple of `R`, and
/// `w.len() >= 4 * x.len() / R`. (`out` needs `4·R` values, or the function panics.)
#[target_feature(enable = "avx2,fma")]
pub unsafe fn dots_rx4_avx2<const R: usize>(x: &[f32], w: &[f32], out: &mut [f32]) {
    let k = x.len() / R;
    let (px, pw) = (x.as_ptr(), w.as_ptr());
    let mut acc = [[_mm256_setzero_ps(); 4]; R];
    let full = k / 8 * 8;
    let mut i = 0;
    while i < full {
        let wv = [0, 1, 2, 3].map(|r| _mm256_loadu_ps(pw.add(r * k + i)));
        for (ii, row) in acc.iter_mut().enumerate() {
            let xv = _mm256_loadu_ps(px.add(ii * k + i));
            for (a, wr) in row.iter_mut().zip(&wv) {
                *a = _mm256_fmadd_ps(xv, *wr, *a);
            }
        }
        i += 8;
    }
    for (ii, row) in acc.iter().enumerate() {
        for (r, a) in row.iter().enumerate() {
            let mut lanes = [0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), *a);
            let tail: f32 = (full..k).map(|j| x[ii * k + j] * w[r * k + j]).sum();
            out[ii * 4 + r] = lanes.iter().sum::<f32>() + tail;
        }
    }
}
