//! The lexical channel: BM25 over CJK character bigrams and Latin words.
//!
//! Chinese has no spaces; instead of a segmentation dictionary, runs of CJK characters are
//! indexed as overlapping character bigrams (a lone character as itself) — the classic CJK
//! analyser of search engines, robust to words missing from any dictionary (names of
//! meetings, new policy terms). Latin text is lower-cased words; numbers keep their decimal
//! point and percent sign (`5.3%`), so short exact questions about figures match.
//! The postings are stored in the index generation as `lexical.bin` and read in place
//! (memory-mapped): opening an index parses no postings (see [`Lexical`]).

mod scorer;

pub use scorer::{walk_limit, Scorer, CANDIDATE_TERMS};

use super::codec::{align_up, Bytes};
use crate::text::{is_han, tokens};
use std::collections::HashMap;

const K1: f32 = 1.2;
const B: f32 = 0.75;

/// One posting: row, term frequency.
pub type Posting = [u32; 2];

const MAGIC: &[u8; 4] = b"XRL1";
const HEADER: usize = 32;

/// BM25 postings over a list of texts (rows), in the layout of `lexical.bin`, read in place
/// from the file's (mapped) bytes. All numbers little-endian, each table starting at a
/// multiple of 8 bytes:
///
/// ```text
/// "XRL1"  rows: u32  terms: u32  avgdl: f32  postings: u64  term bytes: u64
/// doc_len    u32 × rows          each row's number of tokens
/// term_end   u32 × terms         end of each term in the term bytes (sorted, distinct)
/// post_end   u64 × terms         end of each term's postings
/// term bytes                     the terms' UTF-8, back to back
/// postings   [row: u32, tf: u32] × postings, each term's rows ascending
/// ```
///
/// Opening checks the tables' bounds and order and every posting's row (a few milliseconds
/// at 100,000 paragraphs) and copies only `doc_len`; a term is found by binary search over
/// the sorted terms.
pub struct Lexical {
    bytes: Bytes,
    doc_len: Vec<u32>,
    avgdl: f32,
    terms: usize,
    term_end_at: usize,
    post_end_at: usize,
    term_bytes_at: usize,
    postings_at: usize,
}

impl Lexical {
    pub fn build<S: AsRef<str>>(texts: &[S]) -> Self {
        let mut postings: HashMap<String, Vec<Posting>> = HashMap::new();
        let mut doc_len = Vec::with_capacity(texts.len());
        for (row, t) in texts.iter().enumerate() {
            let toks = tokens(t.as_ref());
            doc_len.push(toks.len() as u32);
            let mut tf: HashMap<String, u32> = HashMap::new();
            for tok in toks {
                *tf.entry(tok).or_default() += 1;
            }
            for (term, n) in tf {
                postings.entry(term).or_default().push([row as u32, n]);
            }
        }
        let avgdl = doc_len.iter().map(|&l| l as f32).sum::<f32>() / doc_len.len().max(1) as f32;
        let mut terms: Vec<(String, Vec<Posting>)> = postings.into_iter().collect();
        terms.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let total: usize = terms.iter().map(|t| t.1.len()).sum();
        let term_bytes: usize = terms.iter().map(|t| t.0.len()).sum();
        let mut out = Vec::with_capacity(
            HEADER + 4 * doc_len.len() + 12 * terms.len() + term_bytes + 8 * total + 32,
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(doc_len.len() as u32).to_le_bytes());
        out.extend_from_slice(&(terms.len() as u32).to_le_bytes());
        out.extend_from_slice(&avgdl.to_le_bytes());
        out.extend_from_slice(&(total as u64).to_le_bytes());
        out.extend_from_slice(&(term_bytes as u64).to_le_bytes());
        let align = |out: &mut Vec<u8>| out.resize(align_up(out.len(), 8).unwrap(), 0);
        out.extend(doc_len.iter().flat_map(|l| l.to_le_bytes()));
        align(&mut out);
        let mut end = 0u32;
        for (t, _) in &terms {
            end += t.len() as u32;
            out.extend_from_slice(&end.to_le_bytes());
        }
        align(&mut out);
        let mut end = 0u64;
        for (_, list) in &terms {
            end += list.len() as u64;
            out.extend_from_slice(&end.to_le_bytes());
        }
        for (t, _) in &terms {
            out.extend_from_slice(t.as_bytes());
        }
        align(&mut out);
        for (_, list) in &terms {
            for p in list {
                out.extend(p.iter().flat_map(|x| x.to_le_bytes()));
            }
        }
        Self::parse(Bytes::from_vec(&out)).expect("postings just built")
    }

    /// Postings in the layout above, checked: table bounds, sorted distinct terms, each
    /// term's rows ascending and within the rows, term frequencies ≥ 1.
    pub fn parse(bytes: Bytes) -> Result<Self, String> {
        if cfg!(target_endian = "big") {
            return Err("index files are little-endian; this CPU is not".into());
        }
        let b: &[u8] = &bytes;
        if b.len() < HEADER || &b[..4] != MAGIC {
            return Err("not xref postings".into());
        }
        let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        let (rows, terms) = (u32_at(4) as usize, u32_at(8) as usize);
        let avgdl = f32::from_le_bytes(b[12..16].try_into().unwrap());
        let (total, term_bytes) = (u64_at(16), u64_at(24));
        let sizes = || -> Option<[usize; 5]> {
            let total = usize::try_from(total).ok()?;
            let term_bytes = usize::try_from(term_bytes).ok()?;
            let term_end_at = HEADER.checked_add(align_up(rows.checked_mul(4)?, 8)?)?;
            let post_end_at = term_end_at.checked_add(align_up(terms.checked_mul(4)?, 8)?)?;
            let term_bytes_at = post_end_at.checked_add(terms.checked_mul(8)?)?;
            let postings_at = term_bytes_at.checked_add(align_up(term_bytes, 8)?)?;
            let len = postings_at.checked_add(total.checked_mul(8)?)?;
            Some([term_end_at, post_end_at, term_bytes_at, postings_at, len])
        };
        let Some([term_end_at, post_end_at, term_bytes_at, postings_at, len]) = sizes() else {
            return Err("table sizes overflow".into());
        };
        if len != b.len() || !(avgdl.is_finite() && avgdl >= 0.0) {
            return Err("header disagrees with the file".into());
        }
        let doc_len = (0..rows).map(|r| u32_at(HEADER + 4 * r)).collect();
        let lexical = Self {
            doc_len,
            avgdl,
            terms,
            term_end_at,
            post_end_at,
            term_bytes_at,
            postings_at,
            bytes,
        };
        // Each table of ends rises strictly (no empty term, no term without postings) to
        // its total.
        let rising = |ends: &mut dyn Iterator<Item = u64>, last: u64| {
            let mut prev = 0;
            for e in ends {
                if e <= prev {
                    return false;
                }
                prev = e;
            }
            prev == last
        };
        let term_ends = &mut lexical.term_ends().iter().map(|&e| e as u64);
        let post_ends = &mut lexical.post_ends().iter().copied();
        if !rising(term_ends, term_bytes) || !rising(post_ends, total) {
            return Err("term tables out of order".into());
        }
        for t in 1..terms {
            if lexical.term(t - 1) >= lexical.term(t) {
                return Err("terms out of order".into());
            }
        }
        for t in 0..terms {
            let list = lexical.list(t);
            let ok = list.iter().all(|p| (p[0] as usize) < rows && p[1] >= 1)
                && list.windows(2).all(|w| w[0][0] < w[1][0]);
            if !ok {
                return Err("postings out of order or out of range".into());
            }
        }
        Ok(lexical)
    }

    /// The file's bytes (what `lexical.bin` holds).
    pub fn stored(&self) -> &[u8] {
        &self.bytes
    }

    fn term_ends(&self) -> &[u32] {
        bytemuck::cast_slice(&self.bytes[self.term_end_at..self.term_end_at + 4 * self.terms])
    }

    fn post_ends(&self) -> &[u64] {
        bytemuck::cast_slice(&self.bytes[self.post_end_at..self.post_end_at + 8 * self.terms])
    }

    /// Term `t`'s bytes.
    fn term(&self, t: usize) -> &[u8] {
        let ends = self.term_ends();
        let start = if t == 0 { 0 } else { ends[t - 1] as usize };
        &self.bytes[self.term_bytes_at + start..self.term_bytes_at + ends[t] as usize]
    }

    /// Term `t`'s postings.
    fn list(&self, t: usize) -> &[Posting] {
        let ends = self.post_ends();
        let start = if t == 0 { 0 } else { ends[t - 1] as usize };
        let at = |i: usize| self.postings_at + 8 * i;
        bytemuck::cast_slice(&self.bytes[at(start)..at(ends[t] as usize)])
    }

    /// The postings of `term` (rows ascending), if any row holds it.
    pub fn postings(&self, term: &str) -> Option<&[Posting]> {
        let (mut lo, mut hi) = (0, self.terms);
        let key = term.as_bytes();
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.term(mid).cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(self.list(mid)),
            }
        }
        None
    }

    pub fn len(&self) -> usize {
        self.doc_len.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc_len.is_empty()
    }

    /// The distinct terms of `text`; `shareable_only` keeps those that a text in another
    /// script can contain too (Latin words, identifiers and numbers: no CJK bigrams).
    pub fn terms(text: &str, shareable_only: bool) -> Vec<String> {
        let mut terms = tokens(text);
        if shareable_only {
            terms.retain(|t| !t.chars().next().is_some_and(is_han));
        }
        terms.sort();
        terms.dedup();
        terms
    }

    /// BM25's inverse document frequency of a term in `df` rows.
    fn idf(&self, df: usize) -> f32 {
        let (n, df) = (self.len() as f32, df as f32);
        ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
    }

    /// The BM25 weight of a term with inverse document frequency `idf` occurring `tf` times
    /// in `row`.
    fn weight(&self, idf: f32, tf: u32, row: u32) -> f32 {
        let tf = tf as f32;
        let dl = self.doc_len[row as usize] as f32;
        idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * dl / self.avgdl.max(1.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenises_cjk_bigrams_words_and_numbers() {
        assert_eq!(tokens("金融监管"), ["金融", "融监", "监管"]);
        assert_eq!(tokens("龙"), ["龙"]);
        assert_eq!(
            tokens("GDP增长5.3%，Green Finance"),
            ["gdp", "增长", "5.3%", "green", "finance"]
        );
        assert_eq!(tokens("1,200名代表"), ["1200", "名代", "代表"]);
    }

    /// Damaged postings are an error or still a consistent structure, never a panic: every
    /// truncation, every flipped bit (then searched).
    #[test]
    fn damaged_postings_are_errors_not_panics() {
        let lx = Lexical::build(&["alpha beta", "beta gamma gamma", "金融监管", ""]);
        let good = lx.stored().to_vec();
        let back = Lexical::parse(Bytes::from_vec(&good)).unwrap();
        assert_eq!(
            back.search("beta gamma", 3, None),
            lx.search("beta gamma", 3, None)
        );
        assert_eq!(back.postings("gamma"), Some(&[[1, 2]][..]));
        assert_eq!(back.postings("delta"), None);
        for cut in 0..good.len() {
            assert!(
                Lexical::parse(Bytes::from_vec(&good[..cut])).is_err(),
                "cut {cut}"
            );
        }
        for i in 0..good.len() {
            for bit in [0x01, 0x10, 0x80] {
                let mut bad = good.clone();
                bad[i] ^= bit;
                if let Ok(l) = Lexical::parse(Bytes::from_vec(&bad)) {
                    let _ = l.search("alpha beta gamma 金融监管", 4, None);
                }
            }
        }
    }

    #[test]
    fn bm25_prefers_the_matching_row() {
        let lx = Lexical::build(&[
            "必须加强金融监管",
            "绿色发展是高质量发展的底色",
            "金融服务实体经济",
        ]);
        let hits = lx.search("金融监管要加强", 3, None);
        assert_eq!(hits[0].0, 0);
        assert!(hits.iter().all(|h| h.0 != 1));
        let only2 = |r: usize| r == 2;
        assert_eq!(
            lx.search("金融监管", 3, Some(&only2))
                .iter()
                .map(|h| h.0)
                .collect::<Vec<_>>(),
            [2]
        );
    }
}
