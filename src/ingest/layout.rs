//! Physical layout of a plain-text file: lines, blank gaps and page breaks.
//!
//! This stage turns raw text into a list of *content lines*, each annotated
//! with what separated it from the previous content line ([`Sep`]), its
//! indentation, width and whether it carried trailing whitespace. It also
//! removes page furniture. Heuristics, and why:
//!
//! * **Line endings.** `\r\n`, lone `\r` and `\n` all end a line. A form feed
//!   (`\x0c`) is a page break wherever it occurs (it does not start a new line
//!   number).
//! * **Double-spaced extraction.** Some PDF extractors emit a blank line after
//!   *every* wrapped line (the seed corpus does). When most content lines are
//!   followed by exactly one blank line, a single blank line is treated as a
//!   plain line wrap and only runs of two or more blank lines count as a
//!   paragraph gap. In that style two content lines with *no* blank line
//!   between them mark a page boundary (the extractor loses the pairing there).
//!   In normal text a blank line is a paragraph break.
//! * **Page numbers** — a lone number, `- 12 -`, `第 3 页`, `第3页 共10页`,
//!   `Page 3 of 9`, `3 / 10` on a line of its own — are dropped and leave a
//!   *soft* page break: the blank lines around them are ignored, so a sentence
//!   running over the page is not split.
//! * **Running headers/footers.** Short lines without sentence punctuation
//!   (digits ignored, so "第 3 页 年度报告" repeats) that repeat at the
//!   edges of many pages (≥ 3 pages and ≥ 30% of them), or that repeat densely
//!   through the file (≥ 4 times and at least once per 60 content lines), are
//!   dropped like page numbers. The density floor keeps legitimate repeats
//!   such as a speaker's byline at the top of four speeches.
//! * **Hard wrap detection.** The typical line extent (75th percentile of
//!   indentation + display width, CJK counting double) tells how wide a full
//!   line is; when at least half the lines are within ±15% of it the text is
//!   *hard-wrapped* and a line that is clearly shorter ends its paragraph.
//! * **Trailing-space markers.** Some extractors leave trailing spaces only on
//!   the last line of a text block. When a minority of lines (2–60%) carry
//!   trailing whitespace and those lines mostly look like block ends (short or
//!   ending in terminal punctuation), trailing whitespace is used as an
//!   additional paragraph-end signal.

use super::text::{self, display_width, ends_terminal};
use std::collections::HashMap;

/// What separates a content line from the previous content line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sep {
    /// First line of the input (or of an explicitly split part).
    Start,
    /// An ordinary line wrap (no blank line, or the single blank line of
    /// double-spaced text).
    Wrap,
    /// A paragraph gap made of this many blank lines.
    Gap(usize),
    /// A page break (form feed, removed page number/header, or the lost
    /// blank line of double-spaced text). Soft: reflow decides.
    Page,
}

/// One content line.
#[derive(Debug, Clone)]
pub struct Line {
    /// 1-based line number in the source file.
    pub no: usize,
    /// Trimmed text with artefact spaces removed.
    pub text: String,
    /// Trimmed original text (for titles, which keep CJK-CJK spaces).
    pub orig: String,
    /// Leading indentation in columns, relative to the file's usual indentation.
    pub indent: usize,
    /// Indentation + display width.
    pub extent: usize,
    /// The original line had trailing whitespace.
    pub trailing_ws: bool,
    /// … of two or more characters (a deliberate break where PDF extraction ends wrapped
    /// lines with one space).
    pub trailing_wide: bool,
    /// Separator before this line.
    pub sep: Sep,
    /// An explicit split marker precedes this line.
    pub split_before: bool,
}

/// The content lines of a file plus style facts measured on it.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub lines: Vec<Line>,
    /// Typical extent of a full line (see module docs).
    pub typical: usize,
    pub hard_wrapped: bool,
    pub double_spaced: bool,
    pub trailing_ws_style: bool,
}

impl Layout {
    /// Is line `i` clearly shorter than a full line?
    pub fn is_short(&self, i: usize, ratio: f32) -> bool {
        self.hard_wrapped && (self.lines[i].extent as f32) < self.typical as f32 * ratio
    }

    /// Does line `i` end its paragraph by its own shape (not by what follows)?
    pub fn ends_paragraph(&self, i: usize) -> bool {
        let l = &self.lines[i];
        if self.trailing_ws_style && l.trailing_ws {
            return true;
        }
        let terminal = ends_terminal(&l.text) || text::ends_with_close_paren(&l.text);
        if !self.hard_wrapped {
            return terminal;
        }
        if terminal && self.is_short(i, 0.85) {
            return true;
        }
        let last = l.text.chars().next_back().unwrap_or(' ');
        self.is_short(i, 0.5) && !matches!(last, '，' | '、' | ',' | '-' | '(' | '（' | '“')
    }
}

enum Raw<'a> {
    Text { no: usize, s: &'a str },
    PageBreak,
    Marker,
}

/// Is `s` (trimmed) a page number line?
pub fn is_page_number(s: &str) -> bool {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 24 {
        return false;
    }
    let digits_only =
        |t: &str| !t.is_empty() && t.len() <= 4 && t.bytes().all(|b| b.is_ascii_digit());
    if digits_only(s) {
        return true;
    }
    // - 12 -   — 12 —   –12–
    let dash = |c: char| matches!(c, '-' | '–' | '—' | '－');
    if s.starts_with(dash) && s.ends_with(dash) {
        let inner = s.trim_matches(dash).trim();
        if digits_only(inner) {
            return true;
        }
    }
    // 第 3 页 / 第3页 共10页 / 第3页/共10页
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(rest) = compact.strip_prefix('第') {
        if let Some((num, tail)) = rest.split_once('页') {
            if digits_only(num) {
                let tail = tail.trim_start_matches(['/', '，', ',']);
                if tail.is_empty() {
                    return true;
                }
                if let Some(t) = tail.strip_prefix('共').and_then(|t| t.strip_suffix('页')) {
                    return digits_only(t);
                }
            }
        }
    }
    // Page 3 / Page 3 of 10 / p. 3
    let lower = s.to_ascii_lowercase();
    if let Some(rest) = lower
        .strip_prefix("page")
        .or_else(|| lower.strip_prefix("p."))
    {
        let rest = rest.trim();
        let num = rest.split_whitespace().next().unwrap_or("");
        let tail: Vec<&str> = rest.split_whitespace().skip(1).collect();
        if digits_only(num)
            && (tail.is_empty() || (tail.len() == 2 && tail[0] == "of" && digits_only(tail[1])))
        {
            return true;
        }
    }
    // 3 / 10
    if let Some((a, b)) = s.split_once('/') {
        if digits_only(a.trim()) && digits_only(b.trim()) && s.contains(' ') {
            return true;
        }
    }
    false
}

fn indent_cols(s: &str) -> usize {
    let mut n = 0;
    for c in s.chars() {
        match c {
            ' ' => n += 1,
            '\t' => n += 4,
            '\u{3000}' => n += 2,
            _ => break,
        }
    }
    n
}

/// Key used to recognise a repeated header/footer: digits collapsed.
fn furniture_key(s: &str) -> String {
    let mut k = String::new();
    for c in s.chars().filter(|c| !c.is_whitespace()) {
        if c.is_ascii_digit() {
            if !k.ends_with('#') {
                k.push('#');
            }
        } else {
            k.push(c);
        }
    }
    k
}

/// Analyse `text`. `marker` is the explicit split marker, if any.
pub fn analyse(text: &str, marker: Option<&str>) -> Layout {
    let marker = marker
        .map(str::trim)
        .filter(|m| !m.is_empty() || marker == Some("\x0c"));
    let ff_splits = marker.is_some_and(|m| m == "\x0c" || m.is_empty());

    // 1. Raw lines, form feeds and markers.
    let mut raw: Vec<Raw> = Vec::new();
    for (idx, line) in split_lines(text).enumerate() {
        let no = idx + 1;
        let mut first = true;
        for seg in line.split('\x0c') {
            if !first {
                raw.push(if ff_splits {
                    Raw::Marker
                } else {
                    Raw::PageBreak
                });
            }
            first = false;
            if let Some(m) = marker.filter(|m| !m.is_empty() && *m != "\x0c") {
                if seg.trim() == m {
                    raw.push(Raw::Marker);
                    continue;
                }
            }
            raw.push(Raw::Text { no, s: seg });
        }
    }

    // 2. Double-spacing statistics: blank-run lengths between content lines.
    let (mut zero, mut one, mut more) = (0usize, 0usize, 0usize);
    let mut run: Option<usize> = None;
    for r in &raw {
        match r {
            Raw::Text { s, .. } if s.trim().is_empty() => {
                if let Some(n) = run.as_mut() {
                    *n += 1
                }
            }
            Raw::Text { .. } => {
                match run {
                    Some(0) => zero += 1,
                    Some(1) => one += 1,
                    Some(_) => more += 1,
                    None => {}
                }
                run = Some(0);
            }
            _ => run = None,
        }
    }
    let double_spaced = one >= 8 && one * 2 >= zero + one + more && one > zero * 3;

    // 3. Content lines with separators; page numbers removed.
    let mut lines: Vec<Line> = Vec::new();
    let mut blanks = 0usize;
    let mut page = false;
    let mut split = false;
    let mut started = false;
    for r in &raw {
        match *r {
            Raw::PageBreak => page = true,
            Raw::Marker => {
                split = true;
                started = false;
                blanks = 0;
                page = false;
            }
            Raw::Text { s, .. } if s.trim().is_empty() => blanks += 1,
            Raw::Text { no, s } => {
                if is_page_number(s) {
                    page = true;
                    blanks = 0;
                    continue;
                }
                let sep = if !started {
                    Sep::Start
                } else if page {
                    Sep::Page
                } else if double_spaced {
                    match blanks {
                        0 => Sep::Page,
                        1 => Sep::Wrap,
                        n => Sep::Gap(n),
                    }
                } else if blanks == 0 {
                    Sep::Wrap
                } else {
                    Sep::Gap(blanks)
                };
                let trimmed = s.trim();
                lines.push(Line {
                    no,
                    text: text::normalize_spaces(trimmed),
                    orig: trimmed.to_string(),
                    indent: indent_cols(s),
                    extent: 0,
                    trailing_ws: s.trim_end().len() != s.len(),
                    trailing_wide: {
                        let body = s.trim_end_matches(['\r', '\n']);
                        body[body.trim_end().len()..].chars().count() >= 2
                    },
                    sep,
                    split_before: split,
                });
                started = true;
                blanks = 0;
                page = false;
                split = false;
            }
        }
    }

    remove_running_furniture(&mut lines);

    // 4. Relative indentation and extents.
    let mut indent_hist: HashMap<usize, usize> = HashMap::new();
    for l in &lines {
        *indent_hist.entry(l.indent).or_default() += 1;
    }
    let base = indent_hist
        .iter()
        .max_by_key(|(k, v)| (**v, usize::MAX - **k))
        .map(|(k, _)| *k)
        .unwrap_or(0);
    for l in &mut lines {
        l.extent = l.indent + display_width(&l.orig);
        l.indent = l.indent.saturating_sub(base);
    }
    let mut widths: Vec<usize> = lines
        .iter()
        .map(|l| l.extent)
        .filter(|&w| w >= 10)
        .collect();
    widths.sort_unstable();
    let typical = widths.get(widths.len() * 3 / 4).copied().unwrap_or(0);
    let near = widths
        .iter()
        .filter(|&&w| (w as f32) >= typical as f32 * 0.85 && (w as f32) <= typical as f32 * 1.15)
        .count();
    let hard_wrapped = widths.len() >= 3 && near * 2 >= widths.len();

    // 5. Trailing-whitespace style.
    let with_ws: Vec<&Line> = lines.iter().filter(|l| l.trailing_ws).collect();
    let blockish = with_ws
        .iter()
        .filter(|l| {
            ends_terminal(&l.text)
                || text::ends_with_close_paren(&l.text)
                || (l.extent as f32) < typical as f32 * 0.85
        })
        .count();
    let frac = with_ws.len() as f32 / lines.len().max(1) as f32;
    let trailing_ws_style = hard_wrapped
        && (0.02..=0.6).contains(&frac)
        && blockish as f32 >= with_ws.len() as f32 * 0.6;

    Layout {
        lines,
        typical,
        hard_wrapped,
        double_spaced,
        trailing_ws_style,
    }
}

/// Split on `\r\n`, `\n` or lone `\r`.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

/// Drop repeated headers/footers (see module docs); removed lines turn the
/// following line's separator into a page break.
fn remove_running_furniture(lines: &mut Vec<Line>) {
    let candidate = |l: &Line| {
        let n = l.text.chars().count();
        // Headers and footers are names, titles and dates, not sentences.
        (2..=40).contains(&n)
            && !l.text.contains(['。', '，', '；', '！', '？', ',', ';'])
            && !ends_terminal(&l.text)
            && !super::heading::looks_like_heading(&l.text)
    };
    // How often each candidate stands in the text, counted once a page: a running
    // header stands on a page once, while a listing's repeated lines ("length: 6650",
    // "length: 6400") cluster on one page. Text without pages counts every line.
    let paged = lines.iter().any(|l| l.sep == Sep::Page);
    // key → (count, the page it was last counted on)
    let mut seen: HashMap<String, (usize, usize)> = HashMap::new();
    let mut page = 0usize;
    for l in lines.iter() {
        if l.sep == Sep::Page {
            page += 1;
        }
        if candidate(l) {
            let (count, last) = seen
                .entry(furniture_key(&l.text))
                .or_insert((0, usize::MAX));
            if !(paged && *last == page) {
                *count += 1;
                *last = page;
            }
        }
    }
    let counts: HashMap<String, usize> = seen.into_iter().map(|(k, (c, _))| (k, c)).collect();
    // Page-edge repeats.
    let mut edge_counts: HashMap<String, usize> = HashMap::new();
    let mut pages = 1usize;
    for i in 0..lines.len() {
        let first_on_page = i == 0 || lines[i].sep == Sep::Page;
        let last_on_page = i + 1 == lines.len() || lines[i + 1].sep == Sep::Page;
        if lines[i].sep == Sep::Page {
            pages += 1;
        }
        if (first_on_page || last_on_page) && candidate(&lines[i]) {
            *edge_counts
                .entry(furniture_key(&lines[i].text))
                .or_default() += 1;
        }
    }
    let dense_floor = (lines.len() / 60).max(4);
    let furniture = |key: &str| {
        let dense = counts.get(key).is_some_and(|&c| c >= dense_floor);
        let edge = pages >= 4
            && edge_counts
                .get(key)
                .is_some_and(|&c| c >= 3 && c * 10 >= pages * 3);
        dense || edge
    };
    if counts.values().all(|&c| c < 3) {
        return;
    }
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    let mut pending_page = false;
    for mut l in lines.drain(..) {
        if candidate(&l) && furniture(&furniture_key(&l.text)) {
            pending_page = true;
            continue;
        }
        if pending_page && l.sep != Sep::Start {
            l.sep = if out.is_empty() {
                Sep::Start
            } else {
                Sep::Page
            };
        }
        pending_page = false;
        out.push(l);
    }
    *lines = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers() {
        for s in [
            "34",
            " - 12 - ",
            "— 7 —",
            "第 3 页",
            "第3页 共10页",
            "Page 4",
            "page 2 of 9",
            "3 / 10",
        ] {
            assert!(is_page_number(s), "{s}");
        }
        for s in ["2024 年", "一", "12345 hotline", "第三条", "1.", "10%"] {
            assert!(!is_page_number(s), "{s}");
        }
    }

    #[test]
    fn line_endings() {
        let l = analyse("a\r\nb\rc\n\nd\n", None);
        let t: Vec<_> = l
            .lines
            .iter()
            .map(|l| (l.no, l.text.as_str(), l.sep))
            .collect();
        assert_eq!(
            t,
            vec![
                (1, "a", Sep::Start),
                (2, "b", Sep::Wrap),
                (3, "c", Sep::Wrap),
                (5, "d", Sep::Gap(1))
            ]
        );
    }
}
