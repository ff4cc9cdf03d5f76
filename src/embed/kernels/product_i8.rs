//! 8-bit vectors: quantisation and the integer dot product the HNSW graph search runs on
//! (a 384-dimension row is 384 bytes instead of 1,536, and a graph search waits on memory
//! more than it computes).

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
