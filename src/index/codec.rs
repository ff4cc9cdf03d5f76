//! How vectors are stored on disk: 8-bit integers with one scale per row; and [`Codes`],
//! the same idea in memory for the scans and graph searches that compare rows by bytes.
//!
//! A row is its scale (`f32`, little-endian) followed by `dim` signed bytes, `x ≈ q · scale`
//! with `scale = max |x| / 127`: 388 bytes for a 384-dimension vector instead of 1,536 as
//! f32. Decoding renormalises each row to unit length, so a stored vector's cosine with
//! itself is 1 and re-encoding a decoded row gives the same codes (an update that keeps a
//! paragraph does not drift its vector).
//!
//! Measured (format version 4 against f32): on the seed's gold set every hit@k is
//! unchanged and MRR@10 moves by +0.005; on the bilingual manual pages
//! (`xref eval --pairs`) translation-link recall@1/5/10 moves by at most +0.002; the
//! per-component error is ≤ max |x| / 254.

/// Bytes one row of `dim` components takes.
pub fn row_bytes(dim: usize) -> usize {
    4 + dim
}

/// Encode unit rows of `dim` components (`vectors.len()` a multiple of `dim`).
pub fn encode(vectors: &[f32], dim: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(vectors.len() / dim.max(1) * row_bytes(dim));
    for row in vectors.chunks_exact(dim) {
        encode_row(row, &mut out);
    }
    out
}

/// Append one encoded row to `out`.
pub fn encode_row(row: &[f32], out: &mut Vec<u8>) {
    let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    out.extend_from_slice(&scale.to_le_bytes());
    out.extend(
        row.iter()
            .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8 as u8),
    );
}

/// Decode rows written by [`encode`]; `None` when `bytes` is not a whole number of rows
/// or a scale is not one a unit row can have (a normal number in (0, 1]).
pub fn decode(bytes: &[u8], dim: usize) -> Option<Vec<f32>> {
    decode_into(bytes, dim, None)
}

/// [`decode`], and the same rows as [`Codes`] (the stored bytes themselves, with the scale
/// that makes them the decoded unit rows): nothing is quantised again.
pub fn decode_with_codes(bytes: &[u8], dim: usize) -> Option<(Vec<f32>, Codes)> {
    let mut codes = Codes {
        bytes: Vec::with_capacity(bytes.len()),
        scales: Vec::with_capacity(bytes.len() / row_bytes(dim).max(1)),
        dim,
    };
    let rows = decode_into(bytes, dim, Some(&mut codes))?;
    Some((rows, codes))
}

fn decode_into(bytes: &[u8], dim: usize, mut codes: Option<&mut Codes>) -> Option<Vec<f32>> {
    let rb = row_bytes(dim);
    if dim == 0 || !bytes.len().is_multiple_of(rb) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / rb * dim);
    for row in bytes.chunks_exact(rb) {
        let scale = f32::from_le_bytes(row[..4].try_into().unwrap());
        // A unit row's scale is at most 1/127 (1.0 for an all-zero row); anything else,
        // subnormal or huge, is damage (found by `fuzz/fuzz_targets/index_files.rs`: a
        // scale of 1.7e38 decoded to infinities).
        if !(scale.is_normal() && scale > 0.0 && scale <= 1.0) {
            return None;
        }
        let start = out.len();
        out.extend(row[4..].iter().map(|&b| b as i8 as f32 * scale));
        let norm = crate::embed::dot(&out[start..], &out[start..]).sqrt();
        crate::embed::normalize(&mut out[start..]);
        if let Some(c) = codes.as_deref_mut() {
            c.bytes.extend(row[4..].iter().map(|&b| b as i8));
            c.scales.push(if norm > 0.0 { scale / norm } else { 0.0 });
        }
    }
    Some(out)
}

/// Rows as signed bytes with one scale each (`kernels::quantize_i8`, or the stored rows
/// themselves: [`decode_with_codes`]): a graph search
/// compares a query with 384 bytes a row instead of 1,536 and waits on memory, not
/// arithmetic, so it reads rows at a quarter of the cost; the rows it returns are scored
/// again on the f32 vectors. At 100,000 paragraphs of the Python and PostgreSQL manuals:
/// see the README's scale table.
#[derive(Default)]
pub struct Codes {
    bytes: Vec<i8>,
    scales: Vec<f32>,
    dim: usize,
}

impl Codes {
    pub fn of(rows: &[f32], dim: usize) -> Self {
        let mut bytes = Vec::with_capacity(rows.len());
        let scales = rows
            .chunks_exact(dim.max(1))
            .map(|r| crate::embed::kernels::quantize_i8(r, &mut bytes))
            .collect();
        Self { bytes, scales, dim }
    }

    /// All rows' bytes, row after row.
    pub fn bytes(&self) -> &[i8] {
        &self.bytes
    }

    /// A query quantised as the rows are, for [`Codes::cosine`].
    pub fn query(query: &[f32]) -> (Vec<i8>, f32) {
        let mut q = Vec::with_capacity(query.len());
        let scale = crate::embed::kernels::quantize_i8(query, &mut q);
        (q, scale)
    }

    /// Row `r`'s approximate cosine with a query from [`Codes::query`].
    #[inline]
    pub fn cosine(&self, (q, q_scale): &(Vec<i8>, f32), r: usize) -> f32 {
        let row = &self.bytes[r * self.dim..(r + 1) * self.dim];
        crate::embed::kernels::dot_i8(q, row) as f32 * q_scale * self.scales[r]
    }

    /// Every row's approximate cosine with `query`, on every core (as
    /// [`super::ann::scan`] on the f32 rows).
    pub fn scan(&self, query: &[f32]) -> Vec<f32> {
        use rayon::prelude::*;
        let q = Self::query(query);
        (0..self.scales.len())
            .into_par_iter()
            .with_min_len(4096)
            .map(|r| self.cosine(&q, r))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(dim: usize, seed: u32) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim)
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        crate::embed::normalize(&mut v);
        v
    }

    #[test]
    fn round_trip_is_close_and_stable() {
        let dim = 384;
        let rows: Vec<f32> = (0..20).flat_map(|s| unit(dim, s * 7919)).collect();
        let bytes = encode(&rows, dim);
        assert_eq!(bytes.len(), 20 * row_bytes(dim));
        let back = decode(&bytes, dim).unwrap();
        for (a, b) in rows.chunks_exact(dim).zip(back.chunks_exact(dim)) {
            let cos = crate::embed::dot(a, b);
            assert!(cos > 0.9999, "cosine {cos}");
            let self_cos = crate::embed::dot(b, b);
            assert!((self_cos - 1.0).abs() < 1e-5);
        }
        // A decoded row encodes to the same codes (its scale may differ in the last bit):
        // an update that keeps a vector does not drift it.
        let again = encode(&back, dim);
        let codes = |b: &[u8]| -> Vec<u8> {
            b.chunks_exact(row_bytes(dim))
                .flat_map(|r| r[4..].to_vec())
                .collect()
        };
        assert!(
            codes(&again) == codes(&bytes),
            "codes changed on re-encoding"
        );
        let twice = decode(&again, dim).unwrap();
        assert!(back.iter().zip(&twice).all(|(a, b)| (a - b).abs() < 1e-6));
    }

    #[test]
    fn malformed_bytes_are_refused() {
        let dim = 4;
        assert!(decode(&[0u8; 7], dim).is_none());
        let mut bad = encode(&[0.5, 0.5, 0.5, 0.5], dim);
        bad[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(decode(&bad, dim).is_none());
        // Scales no unit row has: subnormal (its squares vanish) or huge (products overflow).
        for scale in [3.4e-41f32, 1.7e38, 2.0, -0.01] {
            bad[..4].copy_from_slice(&scale.to_le_bytes());
            assert!(decode(&bad, dim).is_none(), "{scale}");
        }
        assert!(decode(&[], dim).unwrap().is_empty());
        // A zero row stays zero rather than dividing by zero.
        let z = decode(&encode(&[0.0; 4], dim), dim).unwrap();
        assert_eq!(z, vec![0.0; 4]);
    }

    /// The stored bytes serve as the in-memory codes as they are: the same bytes that
    /// quantising the decoded rows gives, and approximate cosines within 0.01 of f32.
    #[test]
    fn stored_rows_are_the_codes() {
        let dim = 384;
        let rows: Vec<f32> = (0..20).flat_map(|s| unit(dim, s * 7919)).collect();
        let (decoded, codes) = decode_with_codes(&encode(&rows, dim), dim).unwrap();
        let again = Codes::of(&decoded, dim);
        assert_eq!(codes.bytes(), again.bytes());
        let query = unit(dim, 12345);
        let q = Codes::query(&query);
        for r in 0..20 {
            let exact = crate::embed::dot(&decoded[r * dim..(r + 1) * dim], &query);
            assert!((codes.cosine(&q, r) - exact).abs() < 0.01, "row {r}");
            assert!(
                (codes.cosine(&q, r) - again.cosine(&q, r)).abs() < 1e-5,
                "row {r}"
            );
        }
        assert_eq!(codes.scan(&query).len(), 20);
    }
}
