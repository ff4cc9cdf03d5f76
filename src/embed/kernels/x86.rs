//! The x86-64 intrinsics behind the products: AVX-512 and AVX2 dot products, and the
//! AVX-512 BF16 micro-kernel of [`super::linear_bf16`]. Each function is compiled for the
//! features it names and must only run on a CPU that has them ([`super::cpu`]).

use std::arch::x86_64::*;

use super::PackedBf16;

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
        macro_rules! go {
            ($mr:literal) => {
                match nt {
                    3 => micro::<$mr, 3>(
                        a.as_ptr().add(r * kp),
                        kp,
                        w,
                        t0,
                        bias,
                        c.add(r * ldc),
                        ldc,
                        c0,
                        c1,
                    ),
                    2 => micro::<$mr, 2>(
                        a.as_ptr().add(r * kp),
                        kp,
                        w,
                        t0,
                        bias,
                        c.add(r * ldc),
                        ldc,
                        c0,
                        c1,
                    ),
                    _ => micro::<$mr, 1>(
                        a.as_ptr().add(r * kp),
                        kp,
                        w,
                        t0,
                        bias,
                        c.add(r * ldc),
                        ldc,
                        c0,
                        c1,
                    ),
                }
            };
        }
        match rows {
            8 => go!(8),
            7 => go!(7),
            6 => go!(6),
            5 => go!(5),
            4 => go!(4),
            3 => go!(3),
            2 => go!(2),
            _ => go!(1),
        }
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
