//! Every kernel against candle or a plain reference, and the run-time dispatched ones against
//! their portable code.

use super::elementwise::{add_layernorm_impl, gelu_impl, softmax_impl};
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

#[test]
fn dot_f32_i8_matches_a_plain_sum_at_every_length() {
    for n in [0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 384, 1000] {
        let a = data(n, 3);
        let b: Vec<i8> = (0..n).map(|i| ((i * 37 + 11) % 255) as u8 as i8).collect();
        let exact: f64 = a.iter().zip(&b).map(|(x, &y)| *x as f64 * y as f64).sum();
        assert!((dot_f32_i8(&a, &b) as f64 - exact).abs() < 1e-2, "n={n}");
        assert!(
            (dot_f32_i8_auto(&a, &b) as f64 - exact).abs() < 1e-2,
            "n={n}"
        );
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
        &candle_nn::ops::softmax_last_dim(&(tensor(&x, rows, n) * scale as f64).unwrap()).unwrap(),
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
    let (g, b): (Vec<f32>, Vec<f32>) = (data(n, 4).iter().map(|v| 1.0 + v).collect(), data(n, 5));
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
        (6, 13, 9),
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
    // SAFETY: `s` holds the len×len values written (row stride len), does not overlap `qkv`,
    // and only this thread uses it.
    unsafe { matmul_strided(len, len, dh, s.as_mut_ptr(), len, q, 3 * h, 1, k, 1, 3 * h) };
    assert!(max_diff(&s, &reference) < 1e-4);
}

#[test]
fn bf16_rounds_to_nearest_even() {
    let mut out = [0u16; 4];
    to_bf16(&[1.0, 1.0 + 1.0 / 256.0, 1.0 + 3.0 / 256.0, -2.5], &mut out);
    assert_eq!(out.map(bf16_to_f32), [1.0, 1.0, 1.0 + 4.0 / 256.0, -2.5]);
}

/// (m, k, n) of the packed products' tests: rows 1..8 and beyond, 1–3 column tiles and a
/// partial one, k odd and k not a multiple of four.
const PACKED_SHAPES: [(usize, usize, usize); 6] = [
    (1, 384, 384),
    (9, 384, 1152),
    (70, 1536, 384),
    (13, 33, 40),
    (130, 64, 17),
    (5, 66, 48),
];

#[test]
#[allow(clippy::needless_range_loop)]
fn linear_bf16_matches_reference_on_rounded_inputs() {
    if !cpu().avx512_bf16 {
        eprintln!("skipped: this CPU has no AVX-512 BF16 (the f32 path is used instead)");
        return;
    }
    for (m, k, n) in PACKED_SHAPES {
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

#[test]
fn linear_i8_matches_its_integer_reference_and_stays_close_to_f32() {
    if !cpu().avx512_vnni {
        eprintln!("skipped: this CPU has no AVX-512 VNNI (the f32 path is used instead)");
        return;
    }
    // With a zero row and a zero column.
    for (m, k, n) in PACKED_SHAPES {
        let (mut x, mut w, b) = (data(m * k, 1), data(n * k, 2), data(n, 3));
        x[..k].fill(0.0);
        w[(n - 1) * k..].fill(0.0);
        let packed = PackedI8::pack(&w, n, k);
        for (u, v) in packed.unpack().iter().zip(&w) {
            assert!((u - v).abs() <= 0.5 / 127.0 * 0.5 + 1e-6, "weight rounding");
        }
        let mut c = vec![0f32; m * n];
        let mut scratch = Vec::new();
        linear_i8(&x, m, k, &packed, &b, &mut c, &mut scratch);
        // Integer sums are exact: only the final scaling may round differently.
        let want = product_i8::linear_i8_reference(&x, m, k, &packed, &b);
        for (ij, (got, want)) in c.iter().zip(&want).enumerate() {
            assert!(
                (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                "{m}×{k}×{n} at {ij}: {got} vs {want}"
            );
        }
        assert_eq!(&c[..n], &b[..], "a zero row gives the bias");
        // A row of vanishing values (its reciprocal scale would overflow) gives the bias too.
        let mut tiny = x.clone();
        tiny[..k].iter_mut().for_each(|v| *v = 1e-38);
        linear_i8(&tiny, m, k, &packed, &b, &mut c, &mut scratch);
        assert_eq!(&c[..n], &b[..], "a vanishing row gives the bias");
        // The AVX-512 quantisation is the plain one, byte for byte.
        let mut fast = vec![0u8; 4 * packed.kq];
        let mut plain = fast.clone();
        for row in x.chunks_exact(k) {
            let (scale, zero) = product_i8::row_range(row);
            // SAFETY: VNNI (checked above) implies AVX-512F; `fast` holds ≥ k values.
            unsafe { x86::quantize_u8(row, 1.0 / scale, zero, &mut fast) };
            product_i8::quantize_row_portable(row, &mut plain);
            assert_eq!(fast, plain);
        }
        // And close to the f32 product by candle (two 8-bit roundings of values in ±0.5).
        let exact = candle_linear(&x, m, k, &w, n, &b);
        assert!(max_diff(&c, &exact) < 0.05, "{m}×{k}×{n}");
    }
}
