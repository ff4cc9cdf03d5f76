//! Splitting one text file into documents and detecting their titles.
//!
//! Compiled booklets (like the seed corpus) concatenate many documents, each
//! beginning on a new page with a headline. A **document starts** at line `i`
//! when all of these hold:
//!
//! * `i` is the first line of the file, or it follows a *strong boundary*: a
//!   page break, or (in normal, not double-spaced text) three or more blank
//!   lines;
//! * the previous content line ends a paragraph — terminal punctuation, a
//!   closing bracket, or the trailing-space marker. A page that begins in the
//!   middle of a sentence is never a new document;
//! * a **title block** starts at `i` (see [`detect_title`]).
//!
//! A **title block** is 1–10 consecutive, wrapped (not gap-separated) lines,
//! at most 250 characters in all, none of which is indented, contains
//! sentence punctuation (。！？), ends with terminal punctuation or a comma,
//! starts with a bracket or dash (date lines, subtitles) or is a heading label.
//! It must be followed by something that typically follows a headline: a
//! paragraph gap or page break, an indented first paragraph, a parenthesised
//! date line, a "——" subtitle, a heading, or a byline (2–4 Han characters
//! such as 习近平, or a 2–6 character role and a 2–4 character name separated
//! by spaces, such as 省长  李乐成).
//! In hard-wrapped text the last title line must also be shorter than a full
//! line (headlines are centred or short; body lines run to the margin).
//!
//! Title lines are joined like body lines (no space between CJK lines) but keep
//! the single spaces *inside* a line, which separate the parts of Chinese
//! headlines ("加快发展新质生产力 扎实推进高质量发展").
//!
//! With an explicit split marker only the marker splits documents; each part
//! still gets its title from a title block at its start when there is one.

use super::heading::{parse_label, standalone_heading};
use super::layout::{Layout, Line, Sep};
use super::text::{
    char_len, ends_terminal, ends_with_close_paren, is_han, normalize_title_spaces, push_joined,
};
use std::ops::Range;

/// A document found in a file: its detected title and its body lines.
#[derive(Debug, Clone)]
pub struct DocSpan {
    pub title: Option<String>,
    /// Index range of all lines (title included) in `Layout::lines`.
    pub lines: Range<usize>,
    /// Index range of the body lines.
    pub body: Range<usize>,
}

/// Is `l` a byline: 2–4 Han characters (a name), or a short role + name
/// separated by whitespace?
pub fn is_byline(l: &Line) -> bool {
    let n = char_len(&l.text);
    let all_han = |s: &str| s.chars().all(|c| is_han(c) || c.is_whitespace());
    if !all_han(&l.orig) {
        return false;
    }
    if (2..=4).contains(&n) {
        return true;
    }
    // "省长  李乐成": a short role, then a 2–4 character name.
    let parts: Vec<&str> = l.orig.split_whitespace().collect();
    parts.len() == 2
        && (2..=6).contains(&char_len(parts[0]))
        && (2..=4).contains(&char_len(parts[1]))
}

fn starts_meta(s: &str) -> bool {
    s.starts_with(['（', '(', '【', '[', '—', '―', '-'])
}

/// Detect a title block starting at line `i`. Returns the title and the index
/// of the first line after it.
pub fn detect_title(layout: &Layout, i: usize) -> Option<(String, usize)> {
    let lines = &layout.lines;
    let mut j = i;
    let mut chars = 0;
    while j < lines.len() && j - i < 10 {
        let l = &lines[j];
        if j > i && (l.sep != Sep::Wrap || l.split_before) {
            break;
        }
        if l.indent >= 2 && j > i {
            break;
        }
        let disqualified = ends_terminal(&l.text)
            || ends_with_close_paren(&l.text)
            || starts_meta(&l.text)
            || parse_label(&l.text).is_some()
            || standalone_heading(&l.text).is_some()
            || (j > i && is_byline(l));
        if disqualified {
            break;
        }
        if l.indent >= 2
            || l.text.contains(['。', '！', '？'])
            || l.text.ends_with(['，', ','])
            || (layout.hard_wrapped && l.extent as f32 > layout.typical as f32 * 1.1)
        {
            return None;
        }
        chars += char_len(&l.text);
        if chars > 250 {
            return None;
        }
        j += 1;
    }
    if j == i || j >= lines.len() {
        return None;
    }
    let next = &lines[j];
    let signal = matches!(next.sep, Sep::Gap(_) | Sep::Page)
        || next.split_before
        || next.indent >= 2
        || starts_meta(&next.text)
        || standalone_heading(&next.text).is_some()
        || is_byline(next);
    // A following line that starts in lower case continues a sentence.
    if !signal || next.text.starts_with(|c: char| c.is_lowercase()) {
        return None;
    }
    if layout.hard_wrapped && !layout.is_short(j - 1, 0.95) {
        return None;
    }
    let mut title = String::new();
    let mut wide_break = false;
    for l in &lines[i..j] {
        let part = normalize_title_spaces(&l.orig);
        if wide_break && !title.is_empty() && !part.is_empty() {
            title.push(' ');
            title.push_str(&part);
        } else {
            push_joined(&mut title, &part);
        }
        // PDF extraction ends every wrapped line with one space; two or more mark a real
        // break between the phrases of a headline ("…高质量发展  ↵赵乐际…出席").
        wide_break = layout.trailing_ws_style && l.trailing_wide;
    }
    Some((title, j))
}

/// Does line `i` sit on a strong boundary (see module docs)?
fn strong_boundary(layout: &Layout, i: usize) -> bool {
    match layout.lines[i].sep {
        Sep::Start | Sep::Page => true,
        Sep::Gap(n) => !layout.double_spaced && n >= 3,
        Sep::Wrap => false,
    }
}

fn prev_ends(layout: &Layout, i: usize) -> bool {
    let p = &layout.lines[i - 1];
    ends_terminal(&p.text)
        || ends_with_close_paren(&p.text)
        || (layout.trailing_ws_style && p.trailing_ws)
}

/// Split the lines of `layout` into documents. `auto` enables title-based
/// splitting; explicit markers (`Line::split_before`) always split.
pub fn split_documents(layout: &Layout, auto: bool) -> Vec<DocSpan> {
    let n = layout.lines.len();
    let mut starts: Vec<(usize, Option<(String, usize)>)> = Vec::new();
    let mut i = 0;
    while i < n {
        let explicit = i == 0 || layout.lines[i].split_before;
        let candidate = explicit || (auto && strong_boundary(layout, i) && prev_ends(layout, i));
        if candidate {
            if let Some((title, end)) = detect_title(layout, i) {
                starts.push((i, Some((title, end))));
                i = end.max(i + 1);
                continue;
            }
            if explicit {
                starts.push((i, None));
            }
        }
        i += 1;
    }
    let mut docs = Vec::with_capacity(starts.len());
    for (k, (start, title)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(n, |s| s.0);
        let body_start = title.as_ref().map_or(*start, |t| t.1);
        docs.push(DocSpan {
            title: title.as_ref().map(|t| t.0.clone()),
            lines: *start..end,
            body: body_start..end,
        });
    }
    docs
}
