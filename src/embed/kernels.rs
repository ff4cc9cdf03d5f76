//! CPU kernels with runtime feature detection: AVX-512 (with BF16 where the CPU has it),
//! AVX2 + FMA, and a portable fallback that every accelerated kernel is tested against.

/// What this CPU can run, detected once.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    pub avx2_fma: bool,
    pub avx512: bool,
    pub avx512_bf16: bool,
}

/// The CPU's features (cached after the first call).
pub fn cpu() -> Cpu {
    use std::sync::OnceLock;
    static CPU: OnceLock<Cpu> = OnceLock::new();
    *CPU.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2_fma = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            let avx512 = avx2_fma
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw");
            let avx512_bf16 = avx512 && is_x86_feature_detected!("avx512bf16");
            Cpu {
                avx2_fma,
                avx512,
                avx512_bf16,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Cpu {
                avx2_fma: false,
                avx512: false,
                avx512_bf16: false,
            }
        }
    })
}

/// Dot product of two equally long slices.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot of slices of different lengths");
    #[cfg(target_arch = "x86_64")]
    {
        let c = cpu();
        if c.avx512 {
            // SAFETY: the CPU has AVX-512F (checked above); lengths are equal.
            return unsafe { x86::dot_avx512(a, b) };
        }
        if c.avx2_fma {
            // SAFETY: the CPU has AVX2 and FMA (checked above); lengths are equal.
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

// ---------------------------------------------------------------------------------------
// Element-wise kernels. Each is written once as plain Rust (`*_impl`, `#[inline(always)]`)
// and compiled three times: for AVX-512, for AVX2 + FMA and portable; `multiversion!`
// picks one at run time. The plain code is branch-free so the compiler vectorises it.

macro_rules! multiversion {
    ($(#[$m:meta])* pub fn $name:ident($($arg:ident: $ty:ty),*) => $imp:ident) => {
        $(#[$m])*
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) { $imp($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) { $imp($($arg),*) }
                let c = cpu();
                // SAFETY: each variant runs only on a CPU with the features it was built for.
                if c.avx512 {
                    return unsafe { avx512($($arg),*) };
                }
                if c.avx2_fma {
                    return unsafe { avx2($($arg),*) };
                }
            }
            $imp($($arg),*)
        }
    };
}

/// `erf` to within 1e-6 everywhere (a rational approximation on [-4, 4], as in Eigen/XLA).
#[inline(always)]
#[allow(clippy::excessive_precision)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_600e-3;
    p = x2 * p + -1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329e-3;
    q = x2 * q + -1.426_474e-2;
    x * p / q
}

/// `exp` to within 2 ulp for arguments in [-87, 88] (Cephes' polynomial; inputs below the
/// range give 0-ish, as softmax wants).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let fx = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - fx * 0.693_359_4 - fx * -2.121_944_4e-4;
    let mut y = r * 1.987_569_1e-4 + 1.398_199_9e-3;
    y = y * r + 8.333_452e-3;
    y = y * r + 4.166_579_6e-2;
    y = y * r + 0.166_666_65;
    y = y * r + 0.5;
    y = y * r * r + r + 1.0;
    // 2^fx without a float → int conversion (Rust's saturating `as` does not vectorise):
    // fx + 127 is an integer in [1, 254]; adding 2^23 puts it in the low mantissa bits.
    y * f32::from_bits((fx + 8_388_735.0).to_bits() << 23)
}

#[inline(always)]
fn gelu_impl(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

multiversion! {
    /// GELU (the exact, erf form), in place.
    pub fn gelu(x: &mut [f32]) => gelu_impl
}

#[inline(always)]
fn sum16(x: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let mut c = x.chunks_exact(16);
    for v in &mut c {
        for i in 0..16 {
            acc[i] += v[i];
        }
    }
    acc.iter().sum::<f32>() + c.remainder().iter().sum::<f32>()
}

#[inline(always)]
fn max16(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 16];
    let mut c = x.chunks_exact(16);
    for v in &mut c {
        for i in 0..16 {
            // A plain compare (not `f32::max`, whose NaN rules cost a blend per step).
            acc[i] = if v[i] > acc[i] { v[i] } else { acc[i] };
        }
    }
    c.remainder()
        .iter()
        .chain(acc.iter())
        .fold(f32::NEG_INFINITY, |m, v| m.max(*v))
}

#[inline(always)]
fn add_layernorm_impl(x: &mut [f32], y: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = gamma.len();
    for (row, add) in x.chunks_exact_mut(n).zip(y.chunks_exact(n)) {
        for (a, b) in row.iter_mut().zip(add) {
            *a += *b;
        }
        let mean = sum16(row) / n as f32;
        for a in row.iter_mut() {
            *a -= mean;
        }
        let mut acc = [0f32; 16];
        let mut c = row.chunks_exact(16);
        for v in &mut c {
            for i in 0..16 {
                acc[i] += v[i] * v[i];
            }
        }
        let var =
            (acc.iter().sum::<f32>() + c.remainder().iter().map(|v| v * v).sum::<f32>()) / n as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((a, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *a = *a * inv * g + b;
        }
    }
}

multiversion! {
    /// `x = LayerNorm(x + y)` row by row (rows of `gamma.len()` values).
    pub fn add_layernorm(x: &mut [f32], y: &[f32], gamma: &[f32], beta: &[f32], eps: f32) => add_layernorm_impl
}

#[inline(always)]
fn softmax_impl(x: &mut [f32], n: usize, scale: f32) {
    for row in x.chunks_exact_mut(n) {
        let max = max16(row);
        for v in row.iter_mut() {
            *v = exp((*v - max) * scale);
        }
        let inv = 1.0 / sum16(row);
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

multiversion! {
    /// Row-wise `softmax(scale * x)` in place, rows of `n` values.
    pub fn softmax(x: &mut [f32], n: usize, scale: f32) => softmax_impl
}

#[inline(always)]
fn to_bf16_impl(x: &[f32], out: &mut [u16]) {
    for (o, v) in out.iter_mut().zip(x) {
        let b = v.to_bits();
        // Round to nearest, ties to even (inputs are finite).
        *o = ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16;
    }
}

multiversion! {
    /// f32 → bf16, rounding to nearest even.
    pub fn to_bf16(x: &[f32], out: &mut [u16]) => to_bf16_impl
}

/// bf16 → f32 (exact).
pub fn bf16_to_f32(x: u16) -> f32 {
    f32::from_bits((x as u32) << 16)
}

// ---------------------------------------------------------------------------------------
// Matrix products for linear layers: `C[m×n] = A[m×k] · Wᵀ + bias`, `W` as a linear layer
// stores it (`[n×k]`, row-major).

/// Raw pointer that may cross threads: each thread writes its own disjoint part.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr<T>(pub *mut T);
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer (a method, so closures capture the `Send` wrapper, not the raw field).
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
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
/// (a short query) instead of packing it for a blocked product.
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
    if cpu().avx512 {
        // SAFETY: the CPU has AVX-512F; lengths asserted above.
        return unsafe { x86::dots4_avx512(x, w, out) };
    }
    dots4_impl(x, w, out)
}

fn dots4x4_available() -> bool {
    cfg!(target_arch = "x86_64") && cpu().avx512
}

/// `out[4·i + r] = x_i · w_r` for four rows of `x` and four of `w` (AVX-512 only: check
/// [`dots4x4_available`]).
fn dots4x4(x: &[f32], w: &[f32], out: &mut [f32; 16]) {
    assert!(x.len() == w.len() && x.len().is_multiple_of(4) && dots4x4_available());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F is present (asserted); both hold four rows of equal length.
    unsafe {
        x86::dots4x4_avx512(x, w, out)
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
                        // SAFETY: i + ii < m, j + r < n and c holds m×n values (asserted by
                        // the caller); each column block belongs to one task.
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
    if m <= SMALL_M {
        return linear_small(a, m, k, w, n, bias, c);
    }
    for row in c[..m * n].chunks_exact_mut(n) {
        row.copy_from_slice(bias);
    }
    // SAFETY: the asserts above bound every access; strides describe row-major A and C and
    // the transpose of row-major W.
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
/// `c` must be valid for writes at every `(i, j)` with `i < m`, `j < n`, at `i * c_rs + j`,
/// and no other thread may access those elements meanwhile.
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
    // SAFETY: the assert bounds A and B; the caller vouches for C.
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

/// A linear layer's weight in bf16, packed for the AVX-512 BF16 kernel: for each block of 16
/// output columns, for each pair of input positions, 16 lanes of (w[2p], w[2p+1]).
pub struct PackedBf16 {
    pub n: usize,
    pub k: usize,
    /// Pairs of input positions (`k` rounded up to even, halved).
    kp: usize,
    data: Vec<u32>,
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
    fn unpack(&self) -> Vec<f32> {
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

/// Rows of A per parallel job in [`linear_bf16`].
const BF16_ROW_BLOCK: usize = 64;
/// Output columns per parallel job (three 16-column tiles).
const BF16_COL_BLOCK: usize = 48;

/// bf16 product with f32 accumulation (AVX-512 BF16 only: check [`Cpu::avx512_bf16`]).
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
    scratch.resize(m * kp, 0);
    {
        use rayon::prelude::*;
        scratch
            .par_chunks_mut(kp * 16)
            .zip(a[..m * k].par_chunks(k * 16))
            .for_each(|(dst, src)| {
                for (d, s) in dst.chunks_exact_mut(kp).zip(src.chunks_exact(k)) {
                    // SAFETY: a u32 slice viewed as twice as many u16s (alignment only decreases).
                    let d16 = unsafe {
                        std::slice::from_raw_parts_mut(d.as_mut_ptr() as *mut u16, 2 * kp)
                    };
                    to_bf16(s, &mut d16[..k]);
                    if k % 2 == 1 {
                        d16[k] = 0;
                    }
                }
            });
    }
    let row_blocks = m.div_ceil(BF16_ROW_BLOCK);
    let col_blocks = n.div_ceil(BF16_COL_BLOCK);
    let cp = SendPtr(c.as_mut_ptr());
    let ap = &scratch[..];
    let job = |jb: usize| {
        let (rb, cb) = (jb / col_blocks, jb % col_blocks);
        let r0 = rb * BF16_ROW_BLOCK;
        let r1 = (r0 + BF16_ROW_BLOCK).min(m);
        let c0 = cb * BF16_COL_BLOCK;
        let c1 = (c0 + BF16_COL_BLOCK).min(n);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: jobs write disjoint (row, column) blocks of C; the CPU has AVX-512 BF16.
        unsafe {
            x86::bf16_block(ap, kp, w, bias, cp.get(), n, r0, r1, c0, c1)
        };
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("{:?} {kp} {r0} {r1} {c0} {c1}", cp.get());
    };
    let jobs = row_blocks * col_blocks;
    if jobs > 1 && m * n * k >= 1 << 18 {
        use rayon::prelude::*;
        (0..jobs).into_par_iter().for_each(job);
    } else {
        (0..jobs).for_each(job);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::PackedBf16;

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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32 / 16777216.0)
                    - 0.5
            })
            .collect()
    }

    #[test]
    fn dot_matches_portable_at_every_length() {
        for n in [0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 100, 384, 1000] {
            let (a, b) = (data(n, 1), data(n, 7));
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            assert!((dot(&a, &b) as f64 - exact).abs() < 1e-4, "n={n}");
            assert!((dot_portable(&a, &b) as f64 - exact).abs() < 1e-4, "n={n}");
        }
    }

    use candle_core::{Device, Tensor};

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    fn tensor(v: &[f32], rows: usize, cols: usize) -> Tensor {
        Tensor::from_vec(v.to_vec(), (rows, cols), &Device::Cpu).unwrap()
    }

    fn flat(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    #[test]
    fn gelu_matches_candle() {
        let mut x: Vec<f32> = (0..4001).map(|i| (i as f32 - 2000.0) / 250.0).collect();
        let reference = flat(&tensor(&x, 1, x.len()).gelu_erf().unwrap());
        gelu(&mut x);
        assert!(
            max_diff(&x, &reference) < 2e-6,
            "{}",
            max_diff(&x, &reference)
        );
        let mut y: Vec<f32> = (0..101).map(|i| (i as f32 - 50.0) / 10.0).collect();
        let reference = flat(&tensor(&y, 1, y.len()).gelu_erf().unwrap());
        gelu_impl(&mut y);
        assert!(max_diff(&y, &reference) < 2e-6);
    }

    #[test]
    fn exp_is_accurate() {
        for i in 0..20000 {
            let x = -87.0 + i as f32 * 0.00875;
            let (got, want) = (exp(x), (x as f64).exp());
            assert!(
                ((got as f64 - want) / want).abs() < 3e-7,
                "exp({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn softmax_matches_candle() {
        let (rows, n) = (7, 133);
        let x = data(rows * n, 3)
            .iter()
            .map(|v| v * 40.0)
            .collect::<Vec<_>>();
        let scale = 0.17;
        let reference = flat(
            &candle_nn::ops::softmax_last_dim(&(tensor(&x, rows, n) * scale as f64).unwrap())
                .unwrap(),
        );
        let mut got = x.clone();
        softmax(&mut got, n, scale);
        assert!(max_diff(&got, &reference) < 1e-6);
        let mut portable = x;
        softmax_impl(&mut portable, n, scale);
        assert!(max_diff(&portable, &reference) < 1e-6);
    }

    #[test]
    fn add_layernorm_matches_candle() {
        let (rows, n) = (5, 384);
        let (x, y) = (data(rows * n, 1), data(rows * n, 2));
        let (g, b): (Vec<f32>, Vec<f32>) =
            (data(n, 4).iter().map(|v| 1.0 + v).collect(), data(n, 5));
        let ln = candle_nn::LayerNorm::new(
            Tensor::new(g.as_slice(), &Device::Cpu).unwrap(),
            Tensor::new(b.as_slice(), &Device::Cpu).unwrap(),
            1e-12,
        );
        let sum = (tensor(&x, rows, n) + tensor(&y, rows, n)).unwrap();
        let reference = flat(&candle_core::Module::forward(&ln, &sum).unwrap());
        let mut got = x.clone();
        add_layernorm(&mut got, &y, &g, &b, 1e-12);
        assert!(
            max_diff(&got, &reference) < 1e-5,
            "{}",
            max_diff(&got, &reference)
        );
        let mut portable = x;
        add_layernorm_impl(&mut portable, &y, &g, &b, 1e-12);
        assert!(max_diff(&portable, &reference) < 1e-5);
    }

    /// `x · wᵀ + b` by candle.
    fn candle_linear(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, b: &[f32]) -> Vec<f32> {
        let y = tensor(x, m, k)
            .matmul(&tensor(w, n, k).t().unwrap())
            .unwrap();
        flat(
            &y.broadcast_add(&Tensor::new(b, &Device::Cpu).unwrap())
                .unwrap(),
        )
    }

    #[test]
    fn linear_f32_matches_candle() {
        // Few rows (the dot-product path, with and without a column remainder) and many.
        for (m, k, n) in [
            (1, 384, 384),
            (9, 1536, 387),
            (32, 384, 1152),
            (37, 384, 1152),
            (300, 1536, 384),
            (5, 7, 3),
        ] {
            let (x, w, b) = (data(m * k, 1), data(n * k, 2), data(n, 3));
            let mut c = vec![0f32; m * n];
            linear_f32(&x, m, k, &w, n, &b, &mut c);
            let reference = candle_linear(&x, m, k, &w, n, &b);
            assert!(max_diff(&c, &reference) < 1e-4, "{m}×{k}×{n}");
        }
    }

    #[test]
    fn strided_matmul_matches_candle() {
        // Attention's shapes: Q·Kᵀ and P·V read from a fused [len × 3·hidden] matrix.
        let (len, h, dh, head) = (45, 96, 32, 1);
        let qkv = data(len * 3 * h, 9);
        let q = &qkv[head * dh..];
        let k = &qkv[h + head * dh..];
        let t = tensor(&qkv, len, 3 * h);
        let qt = t.narrow(1, head * dh, dh).unwrap();
        let kt = t.narrow(1, h + head * dh, dh).unwrap();
        let reference = flat(&qt.matmul(&kt.t().unwrap()).unwrap());
        let mut s = vec![0f32; len * len];
        unsafe { matmul_strided(len, len, dh, s.as_mut_ptr(), len, q, 3 * h, 1, k, 1, 3 * h) };
        assert!(max_diff(&s, &reference) < 1e-4);
    }

    #[test]
    fn bf16_rounds_to_nearest_even() {
        let mut out = [0u16; 4];
        to_bf16(&[1.0, 1.0 + 1.0 / 256.0, 1.0 + 3.0 / 256.0, -2.5], &mut out);
        assert_eq!(out.map(bf16_to_f32), [1.0, 1.0, 1.0 + 4.0 / 256.0, -2.5]);
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn linear_bf16_matches_reference_on_rounded_inputs() {
        if !cpu().avx512_bf16 {
            eprintln!("skipped: this CPU has no AVX-512 BF16 (the f32 path is used instead)");
            return;
        }
        // Every tile shape: rows 1..8 and beyond, 1–3 column tiles and a partial one, odd k.
        for (m, k, n) in [
            (1, 384, 384),
            (9, 384, 1152),
            (70, 1536, 384),
            (13, 33, 40),
            (130, 64, 17),
        ] {
            let (x, w, b) = (data(m * k, 1), data(n * k, 2), data(n, 3));
            let packed = PackedBf16::pack(&w, n, k);
            let mut c = vec![0f32; m * n];
            let mut scratch = Vec::new();
            linear_bf16(&x, m, k, &packed, &b, &mut c, &mut scratch);
            let round = |v: &[f32]| {
                let mut o = vec![0u16; v.len()];
                to_bf16(v, &mut o);
                o.into_iter().map(bf16_to_f32).collect::<Vec<f32>>()
            };
            assert_eq!(packed.unpack(), round(&w));
            // Exact products of the rounded inputs, accumulated in f64; the kernel may differ
            // only by f32 accumulation error, bounded relative to the sum of |products|.
            let (xr, wr) = (round(&x), round(&w));
            for ij in 0..m * n {
                let (i, j) = (ij / n, ij % n);
                let products = (0..k).map(|t| xr[i * k + t] as f64 * wr[j * k + t] as f64);
                let (sum, abs): (f64, f64) =
                    products.fold((0.0, 0.0), |(s, a), p| (s + p, a + p.abs()));
                let err = (c[ij] as f64 - sum - b[j] as f64).abs();
                assert!(
                    err <= 1e-5 * abs + 1e-6,
                    "{m}×{k}×{n} at ({i}, {j}): error {err}, sum of |products| {abs}"
                );
            }
            // And close to the f32 product by candle.
            let exact = candle_linear(&x, m, k, &w, n, &b);
            assert!(max_diff(&c, &exact) < 0.05, "{m}×{k}×{n}");
        }
    }
}
