//! f32 products: dot products, and matrix products for linear layers — `C[m×n] = A[m×k] ·
//! Wᵀ + bias`, `W` as a linear layer stores it (`[n×k]`, row-major) — and for attention.

#[cfg(target_arch = "x86_64")]
use super::x86;
use super::{cpu, SendPtr};

/// Dot product of two equally long slices.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot of slices of different lengths");
    #[cfg(target_arch = "x86_64")]
    {
        let c = cpu();
        if c.avx512 {
            // SAFETY: `cpu()` detected AVX-512F at run time; `a` and `b` are equally long
            // (asserted above), so `dot_avx512` reads both within bounds.
            return unsafe { x86::dot_avx512(a, b) };
        }
        if c.avx2_fma {
            // SAFETY: `cpu()` detected AVX2 and FMA at run time; `a` and `b` are equally
            // long (asserted above), so `dot_avx2` reads both within bounds.
            return unsafe { x86::dot_avx2(a, b) };
        }
    }
    dot_portable(a, b)
}

/// Portable dot product: eight independent accumulators, so the compiler can vectorise it.
pub fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// Threads to use for a product of this many multiply-adds.
fn gemm_parallelism(work: usize) -> gemm::Parallelism {
    let threads = rayon::current_num_threads();
    if threads > 1 && work >= 1 << 18 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    }
}

/// Up to this many rows, [`linear_f32`] streams the weight once through dot products
/// (a short query) instead of packing it for a blocked product — four rows share each
/// pass over the weight ([`dots4x4`], AVX-512 or AVX2). Without either, from 4 rows the
/// blocked product is faster (the portable loop is SSE2 without FMA: a 15-token question
/// 148 ms through it, 21.5 ms through `gemm`, on an AVX2 EPYC).
const SMALL_M: usize = 32;

#[inline(always)]
fn dots4_impl(x: &[f32], w: &[f32], out: &mut [f32]) {
    // out[r] = x · w[r·k..(r+1)·k] for four rows of w: x is read once for all four.
    let k = x.len();
    let (w0, rest) = w.split_at(k);
    let (w1, rest) = rest.split_at(k);
    let (w2, w3) = rest.split_at(k);
    let mut acc = [[0f32; 16]; 4];
    let full = k / 16 * 16;
    for c in (0..full).step_by(16) {
        let xs = &x[c..c + 16];
        for (a, wr) in acc.iter_mut().zip([
            &w0[c..c + 16],
            &w1[c..c + 16],
            &w2[c..c + 16],
            &w3[c..c + 16],
        ]) {
            for i in 0..16 {
                a[i] += xs[i] * wr[i];
            }
        }
    }
    for (r, (a, wr)) in acc.iter().zip([w0, w1, w2, w3]).enumerate() {
        let tail: f32 = x[full..].iter().zip(&wr[full..]).map(|(p, q)| p * q).sum();
        out[r] = a.iter().sum::<f32>() + tail;
    }
}

/// Four dot products of `x` with consecutive rows of `w` (`w.len() == 4 * x.len()`).
pub fn dots4(x: &[f32], w: &[f32], out: &mut [f32]) {
    assert!(w.len() == 4 * x.len() && out.len() >= 4);
    #[cfg(target_arch = "x86_64")]
    {
        let c = cpu();
        if c.avx512 {
            // SAFETY: `cpu()` detected AVX-512F at run time; `w` holds four rows of
            // `x.len()` values (asserted above), so `dots4_avx512` reads within bounds.
            return unsafe { x86::dots4_avx512(x, w, out) };
        }
        if c.avx2_fma {
            // SAFETY: `cpu()` detected AVX2 and FMA at run time; `x` is one row and `w`
            // holds four rows of `x.len()` values (asserted above), the reads
            // `dots_rx4_avx2::<1>` makes; `out` has the four values it writes.
            return unsafe { x86::dots_rx4_avx2::<1>(x, w, out) };
        }
    }
    dots4_impl(x, w, out)
}

fn dots4x4_available() -> bool {
    cfg!(target_arch = "x86_64") && (cpu().avx512 || cpu().avx2_fma)
}

/// `out[4·i + r] = x_i · w_r` for four rows of `x` and four of `w` (AVX-512, or AVX2 and
/// FMA, only: check [`dots4x4_available`]).
fn dots4x4(x: &[f32], w: &[f32], out: &mut [f32; 16]) {
    assert!(x.len() == w.len() && x.len().is_multiple_of(4) && dots4x4_available());
    #[cfg(target_arch = "x86_64")]
    {
        if cpu().avx512 {
            // SAFETY: `cpu()` detected AVX-512F at run time; `x` and `w` hold four rows of
            // `x.len() / 4` values each (asserted), the reads that `dots4x4_avx512` makes.
            unsafe { x86::dots4x4_avx512(x, w, out) }
        } else {
            // Two rows of `x` at a time: four by four accumulators would not fit in
            // AVX2's sixteen registers.
            let half = x.len() / 2;
            let (lo, hi) = out.split_at_mut(8);
            // SAFETY: `dots4x4_available` (asserted) without AVX-512 means `cpu()`
            // detected AVX2 and FMA; each half of `x` is two rows of `k = x.len() / 4`
            // values and `w` four rows of `k` (asserted), the reads `dots_rx4_avx2::<2>`
            // makes; each half of `out` has the eight values it writes.
            unsafe {
                x86::dots_rx4_avx2::<2>(&x[..half], w, lo);
                x86::dots_rx4_avx2::<2>(&x[half..], w, hi);
            }
        }
    }
}

/// `C = A · Wᵀ + b` for few rows: each output is a dot product of contiguous rows; four
/// weight rows at a time share each load of A; column blocks are split over threads.
fn linear_small(a: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: &[f32], c: &mut [f32]) {
    use rayon::prelude::*;
    const COLS: usize = 32;
    let cp = SendPtr(c.as_mut_ptr());
    let block = |jb: usize| {
        let (j0, j1) = (jb * COLS, ((jb + 1) * COLS).min(n));
        let mut j = j0;
        let mut sixteen = [0f32; 16];
        while j < j1 {
            let step = if j + 4 <= j1 { 4 } else { 1 };
            let mut i = 0;
            while i < m {
                // Four rows of A against four rows of W where both are there (each load
                // feeds four multiply-adds), else one row of A.
                let rows = if step == 4 && i + 4 <= m && dots4x4_available() {
                    4
                } else {
                    1
                };
                if rows == 4 {
                    dots4x4(&a[i * k..(i + 4) * k], &w[j * k..(j + 4) * k], &mut sixteen);
                } else if step == 4 {
                    dots4(
                        &a[i * k..(i + 1) * k],
                        &w[j * k..(j + 4) * k],
                        &mut sixteen[..4],
                    );
                } else {
                    sixteen[0] = dot(&a[i * k..(i + 1) * k], &w[j * k..(j + 1) * k]);
                }
                for ii in 0..rows {
                    for r in 0..step {
                        // SAFETY: `i + ii < m` and `j + r < j1 <= n`, and `c` holds at least
                        // m×n values (asserted by `linear_f32`, the only caller), so the write
                        // is in bounds; each task writes only its own columns `j0..j1`, so no
                        // two threads touch one element, and `c` is borrowed mutably for the
                        // whole call, so nothing else accesses it meanwhile.
                        unsafe {
                            *cp.get().add((i + ii) * n + j + r) = sixteen[ii * 4 + r] + bias[j + r]
                        };
                    }
                }
                i += rows;
            }
            j += step;
        }
    };
    let blocks = n.div_ceil(COLS);
    if m * n * k >= 1 << 18 && rayon::current_num_threads() > 1 {
        (0..blocks).into_par_iter().for_each(block);
    } else {
        (0..blocks).for_each(block);
    }
}

/// f32 product through the `gemm` crate (candle's CPU matmul kernel).
pub fn linear_f32(a: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: &[f32], c: &mut [f32]) {
    assert!(a.len() >= m * k && w.len() == n * k && bias.len() == n && c.len() >= m * n);
    if m == 0 {
        return;
    }
    if m <= SMALL_M && (m < 4 || dots4x4_available()) {
        return linear_small(a, m, k, w, n, bias, c);
    }
    for row in c[..m * n].chunks_exact_mut(n) {
        row.copy_from_slice(bias);
    }
    // SAFETY: by the asserts above, `a` holds the m×k values read (row stride k), `w` the
    // n×k values read as Wᵀ (column stride k) and `c` the m×n values written (row stride n),
    // so every access `gemm` makes is in bounds; `c` is a unique borrow, so it overlaps
    // neither input, and `gemm`'s own threads split C between them.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            true,
            a.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            k as isize,
            1,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm_parallelism(m * n * k),
        );
    }
}

/// A general strided f32 product on one thread: `C = A·B` (C overwritten). Strides are
/// (row, column) in elements; C's columns are contiguous.
///
/// # Safety
/// `c` must be valid for writes at every `(i, j)` with `i < m`, `j < n`, at `i * c_rs + j`;
/// those elements must not overlap `a` or `b`, and no other thread may access them
/// meanwhile.
#[allow(clippy::too_many_arguments)]
pub unsafe fn matmul_strided(
    m: usize,
    n: usize,
    k: usize,
    c: *mut f32,
    c_rs: usize,
    a: &[f32],
    a_rs: usize,
    a_cs: usize,
    b: &[f32],
    b_rs: usize,
    b_cs: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rs: usize, cs: usize, rows: usize, cols: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(k == 0 || (a.len() > last(a_rs, a_cs, m, k) && b.len() > last(b_rs, b_cs, k, n)));
    // SAFETY: the assert puts the last element of A (m×k) and of B (k×n) at their strides
    // inside `a` and `b` (nothing is read when k = 0); the caller guarantees that C is
    // writable at its m×n offsets, unaliased (see `# Safety`); one thread, no parallelism.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c,
            1,
            c_rs as isize,
            false,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
