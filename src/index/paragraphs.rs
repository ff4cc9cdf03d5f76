//! The paragraphs of an index (`paragraphs.bin.gz`): one inflated buffer, every field read
//! in place ([`Paragraphs::get`] borrows; nothing is parsed or allocated per paragraph).
//!
//! Layout (little-endian, gzip-compressed on disk):
//!
//! ```text
//! "XRP1"  paragraphs: u32  strings: u32  0: u32
//! records    paragraphs × 9 u32: id, doc_id, source, section (u32::MAX: none), text
//!            (string numbers), ordinal, line_start, line_end, page (0: none)
//! string_end u64 × strings       end of each string in the string bytes
//! string bytes                   UTF-8, back to back; each distinct string stored once
//! ```
//!
//! Opening inflates the file and checks every string number, the string table's order and
//! that each string is UTF-8 (so that reads need no checks and cannot fail). Against
//! format 5's gzip JSON lines (a `Paragraph` of five owned strings each, parsed at every
//! open): at 100,000 paragraphs of the Python and PostgreSQL manuals, see `Index::open`'s
//! figures in docs/benchmarks.md (Scale).

use std::io::Read;

use crate::ingest::{Kind, Paragraph};

const MAGIC: &[u8; 4] = b"XRP1";
/// The layout with a tenth field per record, the passage's [`Kind`]: written when some
/// paragraph is not prose, so an index of prose alone stays byte for byte as before, and an
/// older xref refuses the newer layout instead of misreading it.
const MAGIC_KINDS: &[u8; 4] = b"XRP2";
const HEADER: usize = 16;
const FIELDS: usize = 9;
const NONE: u32 = u32::MAX;

/// An indexed paragraph, borrowed from [`Paragraphs`] (the fields of
/// [`crate::ingest::Paragraph`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParagraphRef<'a> {
    pub id: &'a str,
    pub doc_id: &'a str,
    pub ordinal: usize,
    pub section: Option<&'a str>,
    pub text: &'a str,
    pub source: &'a str,
    pub line_start: usize,
    pub line_end: usize,
    pub page: Option<u32>,
    pub kind: Kind,
}

impl ParagraphRef<'_> {
    /// The paragraph as an owned [`Paragraph`].
    pub fn to_paragraph(&self) -> Paragraph {
        Paragraph {
            id: self.id.to_string(),
            doc_id: self.doc_id.to_string(),
            ordinal: self.ordinal,
            section: self.section.map(str::to_string),
            text: self.text.to_string(),
            source: self.source.to_string(),
            line_start: self.line_start,
            line_end: self.line_end,
            page: self.page,
            kind: self.kind,
        }
    }

    /// Whether it holds the same as `p`.
    pub fn same_as(&self, p: &Paragraph) -> bool {
        self.id == p.id
            && self.doc_id == p.doc_id
            && self.ordinal == p.ordinal
            && self.section == p.section.as_deref()
            && self.text == p.text
            && self.source == p.source
            && self.line_start == p.line_start
            && self.line_end == p.line_end
            && self.page == p.page
            && self.kind == p.kind
    }
}

/// The paragraphs of an index, row by row.
#[derive(Default)]
pub struct Paragraphs {
    buf: Vec<u8>,
    n: usize,
    /// u32 fields per record: 9, or 10 with kinds.
    fields: usize,
    ends_at: usize,
    bytes_at: usize,
}

impl Paragraphs {
    /// The file's bytes (gzip-compressed) for `paragraphs`.
    pub fn encode(paragraphs: &[Paragraph]) -> std::io::Result<Vec<u8>> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(4));
        std::io::Write::write_all(&mut gz, &Self::layout(paragraphs))?;
        gz.finish()
    }

    /// The layout above, uncompressed.
    fn layout(paragraphs: &[Paragraph]) -> Vec<u8> {
        let mut table: Vec<&str> = Vec::new();
        let mut index: std::collections::HashMap<&str, u32> = Default::default();
        let kinds = paragraphs.iter().any(|p| !p.kind.is_prose());
        let mut records = Vec::with_capacity(paragraphs.len() * (FIELDS + 1) * 4);
        for p in paragraphs {
            let mut put = |s| intern_into(&mut table, &mut index, s);
            let fields = [
                put(&p.id),
                put(&p.doc_id),
                put(&p.source),
                p.section.as_deref().map_or(NONE, &mut put),
                put(&p.text),
                p.ordinal as u32,
                p.line_start as u32,
                p.line_end as u32,
                p.page.unwrap_or(0),
            ];
            records.extend(fields.iter().flat_map(|f| f.to_le_bytes()));
            if kinds {
                records.extend(p.kind.code().to_le_bytes());
            }
        }
        let mut out = Vec::with_capacity(HEADER + records.len() + table.len() * 8);
        out.extend_from_slice(if kinds { MAGIC_KINDS } else { MAGIC });
        out.extend_from_slice(&(paragraphs.len() as u32).to_le_bytes());
        out.extend_from_slice(&(table.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&records);
        let mut end = 0u64;
        for s in &table {
            end += s.len() as u64;
            out.extend_from_slice(&end.to_le_bytes());
        }
        for s in &table {
            out.extend_from_slice(s.as_bytes());
        }
        out
    }

    /// The paragraphs in `file` (the bytes [`Paragraphs::encode`] wrote), checked.
    pub fn decode(file: &[u8]) -> Result<Self, String> {
        let mut buf = Vec::with_capacity(file.len() * 4);
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut buf)
            .map_err(|e| format!("not gzip ({e})"))?;
        Self::parse(buf)
    }

    fn parse(buf: Vec<u8>) -> Result<Self, String> {
        if buf.len() < HEADER {
            return Err("not xref paragraphs".into());
        }
        let fields = match &buf[..4] {
            m if m == MAGIC => FIELDS,
            m if m == MAGIC_KINDS => FIELDS + 1,
            _ => return Err("not xref paragraphs".into()),
        };
        let u32_at = |at: usize| u32::from_le_bytes(buf[at..at + 4].try_into().unwrap());
        let (n, strings) = (u32_at(4) as usize, u32_at(8) as usize);
        let ends_at = n
            .checked_mul(fields * 4)
            .and_then(|r| r.checked_add(HEADER))
            .ok_or("table sizes overflow")?;
        let bytes_at = strings
            .checked_mul(8)
            .and_then(|s| s.checked_add(ends_at))
            .filter(|&at| at <= buf.len())
            .ok_or("the file is shorter than its tables")?;
        let store = Self {
            n,
            fields,
            ends_at,
            bytes_at,
            buf,
        };
        let total = (store.buf.len() - bytes_at) as u64;
        let mut prev = 0u64;
        for s in 0..strings {
            let end = store.end(s);
            if end < prev || end > total {
                return Err("string table out of order".into());
            }
            std::str::from_utf8(&store.buf[bytes_at + prev as usize..bytes_at + end as usize])
                .map_err(|_| "a string is not UTF-8".to_string())?;
            prev = end;
        }
        if prev != total {
            return Err("string bytes disagree with their table".into());
        }
        for r in 0..n {
            let f = |i: usize| store.field(r, i);
            let named = [f(0), f(1), f(2), f(4)];
            if named.iter().any(|&s| s as usize >= strings)
                || (f(3) != NONE && f(3) as usize >= strings)
            {
                return Err(format!("paragraph {r} names a string it does not hold"));
            }
            if fields > FIELDS && Kind::from_code(f(FIELDS)).is_none() {
                return Err(format!("paragraph {r} has an unknown kind"));
            }
        }
        Ok(store)
    }

    fn end(&self, s: usize) -> u64 {
        let at = self.ends_at + 8 * s;
        u64::from_le_bytes(self.buf[at..at + 8].try_into().unwrap())
    }

    fn field(&self, row: usize, i: usize) -> u32 {
        let at = HEADER + (row * self.fields + i) * 4;
        u32::from_le_bytes(self.buf[at..at + 4].try_into().unwrap())
    }

    fn string(&self, s: u32) -> &str {
        let s = s as usize;
        let start = if s == 0 { 0 } else { self.end(s - 1) as usize };
        let bytes = &self.buf[self.bytes_at + start..self.bytes_at + self.end(s) as usize];
        // SAFETY: `parse` checked every string of the table, sliced exactly as here, to be
        // UTF-8, and `buf` is never modified afterwards (private, no `&mut` access).
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Paragraph `row`.
    pub fn get(&self, row: usize) -> ParagraphRef<'_> {
        let f = |i: usize| self.field(row, i);
        ParagraphRef {
            id: self.string(f(0)),
            doc_id: self.string(f(1)),
            source: self.string(f(2)),
            section: (f(3) != NONE).then(|| self.string(f(3))),
            text: self.string(f(4)),
            ordinal: f(5) as usize,
            line_start: f(6) as usize,
            line_end: f(7) as usize,
            page: (f(8) != 0).then_some(f(8)),
            kind: self.kind(row),
        }
    }

    /// Paragraph `row`'s kind.
    pub fn kind(&self, row: usize) -> Kind {
        if self.fields > FIELDS {
            Kind::from_code(self.field(row, FIELDS)).unwrap_or_default()
        } else {
            Kind::Prose
        }
    }

    /// Paragraph `row`'s text.
    pub fn text(&self, row: usize) -> &str {
        self.string(self.field(row, 4))
    }

    /// Paragraph `row`'s id.
    pub fn id(&self, row: usize) -> &str {
        self.string(self.field(row, 0))
    }

    /// Every paragraph, in row order.
    pub fn iter(&self) -> impl Iterator<Item = ParagraphRef<'_>> + '_ {
        (0..self.n).map(|r| self.get(r))
    }

    /// A store of `paragraphs` (an index of format 5, read as JSON lines).
    pub fn of(paragraphs: &[Paragraph]) -> Self {
        Self::parse(Self::layout(paragraphs)).expect("paragraphs just laid out")
    }
}

fn intern_into<'a>(
    table: &mut Vec<&'a str>,
    index: &mut std::collections::HashMap<&'a str, u32>,
    s: &'a str,
) -> u32 {
    *index.entry(s).or_insert_with(|| {
        table.push(s);
        table.len() as u32 - 1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(i: usize, section: Option<&str>, text: &str) -> Paragraph {
        Paragraph {
            id: format!("doc-00.{i}-0000000{i}"),
            doc_id: "doc-00".into(),
            ordinal: i,
            section: section.map(str::to_string),
            text: text.into(),
            source: "docs/a.txt".into(),
            line_start: 3 * i + 1,
            line_end: 3 * i + 2,
            page: (i % 2 == 1).then_some(i as u32),
            kind: Kind::Prose,
        }
    }

    /// Paragraphs come back as they went in (repeated strings stored once); every
    /// truncation of the file and every flipped bit is an error or a consistent store,
    /// never a panic.
    #[test]
    fn round_trip_and_damage() {
        let ps = vec![
            para(0, None, "金融监管必须加强。"),
            para(1, Some("第一章 › 第三条"), "Green finance, 5.3%."),
            para(2, Some("第一章 › 第三条"), "金融监管必须加强。"),
            para(3, None, ""),
        ];
        let file = Paragraphs::encode(&ps).unwrap();
        let store = Paragraphs::decode(&file).unwrap();
        assert_eq!(store.len(), 4);
        for (r, p) in ps.iter().enumerate() {
            assert!(store.get(r).same_as(p), "{r}");
            assert_eq!(&store.get(r).to_paragraph(), p);
            assert_eq!(store.text(r), p.text);
            assert_eq!(store.id(r), p.id);
        }
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&file[..])
            .read_to_end(&mut raw)
            .unwrap();
        for cut in 0..raw.len() {
            assert!(Paragraphs::parse(raw[..cut].to_vec()).is_err(), "cut {cut}");
        }
        for i in 0..raw.len() {
            for bit in [0x01, 0x20, 0x80] {
                let mut bad = raw.clone();
                bad[i] ^= bit;
                if let Ok(s) = Paragraphs::parse(bad) {
                    let _ = s.iter().map(|p| p.text.len() + p.id.len()).sum::<usize>();
                }
            }
        }
        assert!(Paragraphs::decode(b"not gzip").is_err());
        assert!(Paragraphs::of(&[]).is_empty());
    }
}
