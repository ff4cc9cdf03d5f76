//! How vectors are stored: 8-bit integers with one scale per row, on disk and in memory.
//!
//! A row is its scale (`f32`, little-endian) followed by `dim` signed bytes, `x ≈ q · scale`
//! with `scale = max |x| / 127`: 388 bytes for a 384-dimension vector instead of 1,536 as
//! f32. A row stands for the unit vector `q / |q|`, so a stored vector's cosine with
//! itself is 1 and re-encoding a decoded row gives the same codes (an update that keeps a
//! paragraph does not drift its vector). That interleaved layout ([`encode`]) is the
//! journal's and index formats 4–5's; from format 6 an index stores the scales apart from
//! the bytes ([`encode_split`]). An open index never decodes them: [`Rows`] maps the file
//! and computes every score on the bytes.
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

/// Decode rows written by [`encode`] to unit f32 rows; `None` when `bytes` is not a whole
/// number of rows or a scale is not one a unit row can have (see [`Rows::parse`]).
pub fn decode(bytes: &[u8], dim: usize) -> Option<Vec<f32>> {
    let rows = Rows::parse(Bytes::from_vec(bytes), dim)?;
    let mut out = vec![0f32; rows.len() * dim];
    for (r, o) in out.chunks_exact_mut(dim).enumerate() {
        rows.decode_into(r, o);
    }
    Some(out)
}

/// A file's bytes, in memory or mapped; either way aligned to 8 bytes, so that tables of
/// `u32`/`u64` inside can be read in place.
pub enum Bytes {
    /// Bytes held in 8-byte words (the length in bytes beside them).
    Owned(Vec<u64>, usize),
    /// A read-only map of a file that is never written again (generations are immutable);
    /// maps start on a page boundary.
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(words, len) => &bytemuck::cast_slice(words)[..*len],
            Bytes::Mapped(m) => m,
        }
    }
}

impl Bytes {
    /// `bytes` copied into aligned memory.
    pub fn from_vec(bytes: &[u8]) -> Self {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        Bytes::Owned(words, bytes.len())
    }

    /// Map `path` read-only (an empty file is read: an empty map is an error on some
    /// systems).
    pub fn map(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(Bytes::from_vec(&[]));
        }
        // SAFETY: the map is read-only and the file belongs to an index generation, which
        // is written once, synced and renamed into place before any reader opens it, and
        // never modified afterwards (updates write a new generation; old ones are only
        // deleted, which leaves an existing map valid).
        Ok(Bytes::Mapped(unsafe { memmap2::Mmap::map(&file)? }))
    }
}

/// The stored rows as they are on disk (read or memory-mapped: nothing is decoded), with
/// each row's factor to unit length: every score is computed on the bytes. A stored row
/// `b` (the bytes, `max |b_i| = 127`) stands for the unit vector `b / |b|`, so:
///
/// * against an f32 query, [`Rows::dot`] is `(q · b) / |b|`: exact, the same as decoding
///   the row first (up to the order of f32 additions);
/// * between two rows, [`Rows::pair`] is an exact integer dot product times both factors;
/// * a graph search's many rough distances ([`Rows::rough`]) quantise the query once, as
///   the rows are, and compare bytes with bytes.
///
/// At 100,000 paragraphs of the Python and PostgreSQL manuals this replaced 320 MB of
/// decoded f32 paragraph and sentence vectors (and 0.3 s of decoding at every open) with
/// 81 MB of mapped file pages.
pub struct Rows {
    bytes: Bytes,
    /// Per row `1 / |b|` (0 for an all-zero row).
    unit: Vec<f32>,
    dim: usize,
    /// Where row 0's bytes start, and the distance from one row's to the next.
    codes_at: usize,
    stride: usize,
}

impl Default for Rows {
    fn default() -> Self {
        Self {
            bytes: Bytes::from_vec(&[]),
            unit: Vec::new(),
            dim: 0,
            codes_at: 0,
            stride: 0,
        }
    }
}

/// A query quantised as the rows are, for [`Rows::rough`].
pub struct Rough {
    codes: Vec<i8>,
    scale: f32,
}

const SPLIT_MAGIC: &[u8; 4] = b"XRV1";
/// The split layout's header, and the alignment of its tables.
const SPLIT_ALIGN: usize = 64;

/// `n` rounded up to a multiple of `to`; `None` on overflow. (The binary index files align
/// their tables with it.)
pub fn align_up(n: usize, to: usize) -> Option<usize> {
    Some(n.checked_add(to - 1)? / to * to)
}

/// Rows in the layout of an index generation (format 6 on): a 64-byte header ("XRV1",
/// rows: u32, dim: u32, zeros), every row's scale (f32, padded to a multiple of 64 bytes),
/// then every row's `dim` bytes. The rows' bytes start on a cache line (a map starts on a
/// page), and with `dim` a multiple of 64 each row is whole cache lines: interleaved with
/// their scales (formats 4 and 5, [`encode`]), a 384-byte row spans 7 lines instead of 6,
/// and graph searches, which wait on memory, read from the map that way answered 2,787
/// queries/s at 100,000 paragraphs (breadth 144) against 3,412 from an aligned copy.
pub fn encode_split<R: AsRef<[f32]>>(rows: impl IntoIterator<Item = R>, dim: usize) -> Vec<u8> {
    let mut scales: Vec<f32> = Vec::new();
    let mut codes: Vec<i8> = Vec::new();
    for row in rows {
        let row = row.as_ref();
        debug_assert_eq!(row.len(), dim);
        scales.push(crate::embed::kernels::quantize_i8(row, &mut codes));
    }
    let n = scales.len();
    let codes_at = SPLIT_ALIGN + align_up(4 * n, SPLIT_ALIGN).expect("row count");
    let mut out = Vec::with_capacity(codes_at + codes.len());
    out.extend_from_slice(SPLIT_MAGIC);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&(dim as u32).to_le_bytes());
    out.resize(SPLIT_ALIGN, 0);
    out.extend(scales.iter().flat_map(|s| s.to_le_bytes()));
    out.resize(codes_at, 0);
    out.extend(codes.iter().map(|&c| c as u8));
    out
}

impl Rows {
    /// Rows in [`encode`]'s layout (formats 4 and 5: each row's scale before its bytes);
    /// `None` when `bytes` is not a whole number of rows or a scale is not one a unit row
    /// can have (a normal number in (0, 1]).
    pub fn parse(bytes: Bytes, dim: usize) -> Option<Self> {
        let rb = row_bytes(dim);
        if dim == 0 || !bytes.len().is_multiple_of(rb) {
            return None;
        }
        let n = bytes.len() / rb;
        Self::checked(bytes, dim, n, |r| r * rb, 4, rb)
    }

    /// Rows in [`encode_split`]'s layout (format 6 on); `None` for a header that disagrees
    /// with `dim` or the file's length, or a scale no unit row has.
    pub fn parse_split(bytes: Bytes, dim: usize) -> Option<Self> {
        if bytes.len() < SPLIT_ALIGN || &bytes[..4] != SPLIT_MAGIC {
            return None;
        }
        let n = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        let stored_dim = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let codes_at = SPLIT_ALIGN.checked_add(align_up(n.checked_mul(4)?, SPLIT_ALIGN)?)?;
        if dim == 0
            || stored_dim != dim
            || codes_at.checked_add(n.checked_mul(dim)?)? != bytes.len()
        {
            return None;
        }
        Self::checked(bytes, dim, n, |r| SPLIT_ALIGN + 4 * r, codes_at, dim)
    }

    /// `n` rows, row `r`'s scale at `scale_at(r)` and its bytes at `codes_at + r · stride`;
    /// every scale checked, every row's length taken.
    fn checked(
        bytes: Bytes,
        dim: usize,
        n: usize,
        scale_at: impl Fn(usize) -> usize + Sync,
        codes_at: usize,
        stride: usize,
    ) -> Option<Self> {
        use rayon::prelude::*;
        let b: &[u8] = &bytes;
        let unit = (0..n)
            .into_par_iter()
            .with_min_len(4096)
            .map(|r| {
                let at = scale_at(r);
                let scale = f32::from_le_bytes(b[at..at + 4].try_into().unwrap());
                // A unit row's scale is at most 1/127 (1.0 for an all-zero row); anything
                // else, subnormal or huge, is damage (found by
                // `fuzz/fuzz_targets/index_files.rs`: a scale of 1.7e38 decoded to infinities).
                if !(scale.is_normal() && scale > 0.0 && scale <= 1.0) {
                    return None;
                }
                let start = codes_at + r * stride;
                let codes: &[i8] = bytemuck::cast_slice(&b[start..start + dim]);
                let sq = crate::embed::kernels::dot_i8(codes, codes);
                Some(if sq > 0 {
                    1.0 / (sq as f32).sqrt()
                } else {
                    0.0
                })
            })
            .collect::<Option<Vec<f32>>>()?;
        Some(Self {
            bytes,
            unit,
            dim,
            codes_at,
            stride,
        })
    }

    /// Unit rows of `dim` components encoded (as [`encode_split`]) and held in memory
    /// ([`Rows::stored`] is the file's content).
    pub fn encode<R: AsRef<[f32]>>(rows: impl IntoIterator<Item = R>, dim: usize) -> Self {
        let bytes = encode_split(rows, dim);
        Self::parse_split(Bytes::from_vec(&bytes), dim).expect("rows just encoded")
    }

    pub fn len(&self) -> usize {
        self.unit.len()
    }

    pub fn is_empty(&self) -> bool {
        self.unit.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The rows as stored (in [`encode_split`]'s layout when built by [`Rows::encode`]).
    pub fn stored(&self) -> &[u8] {
        &self.bytes
    }

    /// Row `r`'s bytes.
    #[inline]
    pub fn codes(&self, r: usize) -> &[i8] {
        let at = self.codes_at + r * self.stride;
        bytemuck::cast_slice(&self.bytes[at..at + self.dim])
    }

    /// Row `r` as a unit f32 vector.
    pub fn decode(&self, r: usize) -> Vec<f32> {
        let mut out = vec![0f32; self.dim];
        self.decode_into(r, &mut out);
        out
    }

    /// [`Rows::decode`] into `out` (`dim` components).
    pub fn decode_into(&self, r: usize, out: &mut [f32]) {
        let u = self.unit[r];
        for (o, &b) in out.iter_mut().zip(self.codes(r)) {
            *o = b as f32 * u;
        }
    }

    /// Cosine of row `r` with the unit f32 vector `query`.
    #[inline]
    pub fn dot(&self, r: usize, query: &[f32]) -> f32 {
        crate::embed::kernels::dot_f32_i8(query, self.codes(r)) * self.unit[r]
    }

    /// Cosine of row `a` with row `b` of `other` (the same dimension).
    #[inline]
    pub fn pair(&self, a: usize, other: &Rows, b: usize) -> f32 {
        let d = crate::embed::kernels::dot_i8(self.codes(a), other.codes(b));
        d as f32 * self.unit[a] * other.unit[b]
    }

    /// A query quantised as the rows are, for [`Rows::rough`].
    pub fn rough_query(query: &[f32]) -> Rough {
        let mut codes = Vec::with_capacity(query.len());
        let scale = crate::embed::kernels::quantize_i8(query, &mut codes);
        Rough { codes, scale }
    }

    /// Row `r`'s approximate cosine with a query from [`Rows::rough_query`] (within ~0.01).
    #[inline]
    pub fn rough(&self, q: &Rough, r: usize) -> f32 {
        crate::embed::kernels::dot_i8(&q.codes, self.codes(r)) as f32 * q.scale * self.unit[r]
    }

    /// Every row's approximate cosine with `query`, on every core.
    pub fn scan_rough(&self, query: &[f32]) -> Vec<f32> {
        use rayon::prelude::*;
        let q = Self::rough_query(query);
        (0..self.len())
            .into_par_iter()
            .with_min_len(4096)
            .map(|r| self.rough(&q, r))
            .collect()
    }

    /// Every row's cosine with `query`, on every core: one scan over a large store is
    /// bound by memory bandwidth, which one core does not saturate.
    pub fn scan(&self, query: &[f32]) -> Vec<f32> {
        use rayon::prelude::*;
        (0..self.len())
            .into_par_iter()
            .with_min_len(4096)
            .map(|r| self.dot(r, query))
            .collect()
    }

    /// Ask the CPU to start loading row `r` into its caches.
    #[inline]
    pub fn prefetch(&self, r: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let at = self.codes_at + r * self.stride;
            let Some(row) = self.bytes.get(at..at + self.dim) else {
                return;
            };
            for line in row.chunks(64) {
                // SAFETY: a prefetch is a hint that never faults, and the address lies
                // inside the rows (checked above); SSE, which `_mm_prefetch` needs, is part
                // of x86_64.
                unsafe { _mm_prefetch(line.as_ptr() as *const i8, _MM_HINT_T0) };
            }
        }
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

    /// Scores on the stored bytes are those of the decoded unit rows: exact against an
    /// f32 query and between rows, within 0.01 roughly.
    #[test]
    fn scores_on_the_bytes_are_the_decoded_rows_scores() {
        let dim = 384;
        let vectors: Vec<f32> = (0..20).flat_map(|s| unit(dim, s * 7919)).collect();
        let rows = Rows::encode(vectors.chunks_exact(dim), dim);
        let decoded = decode(&encode(&vectors, dim), dim).unwrap();
        // Both layouts hold the same rows.
        let interleaved = Rows::parse(Bytes::from_vec(&encode(&vectors, dim)), dim).unwrap();
        assert!((0..20).all(|r| interleaved.codes(r) == rows.codes(r)));
        assert!(Rows::parse_split(Bytes::from_vec(rows.stored()), dim + 1).is_none());
        let stored = rows.stored();
        for cut in [0, 4, 63, 64, stored.len() - 1] {
            assert!(Rows::parse_split(Bytes::from_vec(&stored[..cut]), dim).is_none());
        }
        let query = unit(dim, 12345);
        let q = Rows::rough_query(&query);
        let row = |r: usize| &decoded[r * dim..(r + 1) * dim];
        for r in 0..20 {
            assert!(rows
                .decode(r)
                .iter()
                .zip(row(r))
                .all(|(a, b)| (a - b).abs() < 1e-6));
            let exact = crate::embed::dot(row(r), &query);
            assert!((rows.dot(r, &query) - exact).abs() < 1e-5, "row {r}");
            assert!((rows.rough(&q, r) - exact).abs() < 0.01, "row {r}");
            let other = (r + 7) % 20;
            let pair = crate::embed::dot(row(r), row(other));
            assert!((rows.pair(r, &rows, other) - pair).abs() < 1e-5, "row {r}");
        }
        assert!((rows.pair(3, &rows, 3) - 1.0).abs() < 1e-6);
        let scan = rows.scan(&query);
        assert_eq!(scan.len(), 20);
        assert!((0..20).all(|r| scan[r] == rows.dot(r, &query)));
        assert_eq!(rows.scan_rough(&query).len(), 20);
    }
}
