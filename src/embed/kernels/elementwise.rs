//! Element-wise kernels: GELU, softmax, residual + layer norm, f32 ⇄ bf16, each dispatched
//! at run time by `multiversion!` (see the parent module).

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
pub(super) fn gelu_impl(x: &mut [f32]) {
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
pub(super) fn add_layernorm_impl(x: &mut [f32], y: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
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
pub(super) fn softmax_impl(x: &mut [f32], n: usize, scale: f32) {
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
pub(super) fn to_bf16_impl(x: &[f32], out: &mut [u16]) {
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
