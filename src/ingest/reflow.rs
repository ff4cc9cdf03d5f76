//! Re-flowing hard-wrapped lines into blocks (paragraph candidates).
//!
//! A new block starts before a line when any of these holds:
//!
//! 1. a blank-line gap separates it from the previous line (see
//!    [`Sep`]: a single blank line in double-spaced text
//!    is just a wrap);
//! 2. the line is indented (≥ 2 columns beyond the file's usual indentation —
//!    a single leading space is a common page-start artefact, not an indent);
//! 3. the previous line ends its paragraph by shape
//!    ([`Layout::ends_paragraph`]): terminal punctuation on a clearly short
//!    line, a very short line, or the trailing-space marker;
//! 4. the previous line is a standalone heading, or this line is one;
//! 5. this line starts with a heading label (第三条, （一）, 一、) and the previous
//!    line ended with terminal punctuation.
//!
//! Page breaks are *soft*: none of the rules looks at them, so a sentence that
//! runs over a page (with or without a page number in between) is joined.
//! Lines are joined with [`push_joined`]: no space for CJK, one space for
//! Latin, de-hyphenation for "inter-/national".

use super::heading::{parse_label, standalone_heading};
use super::layout::{Layout, Sep};
use super::text::{ends_terminal, normalize_title_spaces, push_joined};
use std::ops::Range;

/// A paragraph candidate with its source mapping.
#[derive(Debug, Clone, Default)]
pub struct Block {
    pub text: String,
    /// `(byte offset in text, 1-based source line)` for each joined piece.
    pub spans: Vec<(usize, usize)>,
    /// Explicit heading level from a structured format (Markdown / HTML).
    pub heading: Option<u8>,
    /// For short blocks from plain text: the text with the spaces *between*
    /// CJK words kept ("第一章 总则"), used when the block is a heading.
    pub title_text: Option<String>,
    /// What the block is (prose unless its markup or layout says).
    pub kind: super::Kind,
}

impl Block {
    pub fn line_start(&self) -> usize {
        self.spans.first().map_or(0, |s| s.1)
    }
    pub fn line_end(&self) -> usize {
        self.spans.iter().map(|s| s.1).max().unwrap_or(0)
    }

    /// Append another piece (a wrapped line or a merged fragment).
    pub fn push(&mut self, piece: &str, line: usize) {
        let at = push_joined(&mut self.text, piece);
        self.spans.push((at, line));
    }

    /// Append a whole block, keeping its line mapping.
    pub fn append(&mut self, other: Block) {
        self.title_text = None;
        let at = push_joined(&mut self.text, &other.text);
        for (off, line) in other.spans {
            self.spans.push((at + off, line));
        }
    }

    /// Prepend `prefix` (a salutation or fragment) to this block.
    pub fn prepend(&mut self, mut prefix: Block) {
        let me = std::mem::take(self);
        let (heading, kind) = (me.heading, me.kind);
        prefix.append(me);
        *self = Block {
            heading,
            kind,
            ..prefix
        };
    }

    /// Lines covered by the byte range `r` of the text.
    pub fn lines_of(&self, r: &Range<usize>) -> (usize, usize) {
        let line_at = |pos: usize| {
            let i = self.spans.partition_point(|s| s.0 <= pos);
            self.spans[i.saturating_sub(1)].1
        };
        let start = line_at(r.start);
        let end = line_at(r.end.saturating_sub(1).max(r.start));
        (start, end.max(start))
    }
}

/// Should a new block start before line `i` (which follows line `i - 1`)?
pub fn breaks_before(layout: &Layout, i: usize) -> bool {
    let (prev, cur) = (&layout.lines[i - 1], &layout.lines[i]);
    match cur.sep {
        Sep::Start | Sep::Gap(_) => return true,
        Sep::Wrap | Sep::Page => {}
    }
    if cur.split_before || cur.indent >= 2 || layout.ends_paragraph(i - 1) {
        return true;
    }
    // Headings are never full-width wrapped lines.
    let not_full = |k: usize| !layout.hard_wrapped || layout.is_short(k, 0.9);
    if (standalone_heading(&prev.text).is_some() && not_full(i - 1))
        || (standalone_heading(&cur.text).is_some() && not_full(i))
    {
        return true;
    }
    parse_label(&cur.text).is_some() && ends_terminal(&prev.text)
}

/// Re-flow the content lines `range` of `layout` into blocks.
pub fn reflow(layout: &Layout, range: Range<usize>) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut cur = Block::default();
    for i in range.clone() {
        let line = &layout.lines[i];
        if i > range.start && breaks_before(layout, i) && !cur.text.is_empty() {
            blocks.push(std::mem::take(&mut cur));
        }
        cur.push(&line.text, line.no);
        if cur.spans.len() <= 2 {
            let t = cur.title_text.get_or_insert_with(String::new);
            push_joined(t, &normalize_title_spaces(&line.orig));
        } else {
            cur.title_text = None;
        }
    }
    if !cur.text.is_empty() {
        blocks.push(cur);
    }
    blocks
}

/// A structured document's title. A `declared` title (HTML `<title>`, Markdown front
/// matter) wins, and a single level-1 heading repeating it is dropped. Otherwise a single
/// level-1 heading is taken out of the blocks to become the title; with several, the first
/// names the document and all stay as section headings.
pub(super) fn title_from_headings(
    blocks: &mut Vec<Block>,
    declared: Option<String>,
) -> Option<String> {
    let h1: Vec<usize> = blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| b.heading == Some(1))
        .map(|(i, _)| i)
        .collect();
    match (declared, h1.as_slice()) {
        (Some(t), &[only]) if blocks[only].text == t => {
            blocks.remove(only);
            Some(t)
        }
        (Some(t), _) => Some(t),
        (None, &[only]) => Some(blocks.remove(only).text),
        (None, &[first, ..]) => Some(blocks[first].text.clone()),
        (None, []) => None,
    }
}
