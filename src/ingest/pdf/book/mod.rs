//! A typeset PDF read as one book: the outline (or, without one, the headings' type)
//! gives the chapters and sections, the page geometry gives the paragraphs.
//!
//! A file whose author wrote an outline (bookmarks) is one document whose chapters are
//! sections: a book, a report, a manual. So is a PDF without an outline whose headings
//! are set larger than its body text ([`typeset_headings`]: sizes give the levels). The
//! plain-text pipeline, which splits compiled files into documents on title blocks, is
//! for PDFs of uniform type (the seed printed to PDF). Here:
//!
//! * **Furniture.** A line among the two topmost or two lowest of its page whose text,
//!   digits and roman numerals taken out, stands there on 3+ pages is a running header or
//!   footer (the book's title and a page number, the chapter's name); a lone page number
//!   there too. (The thresholds are named constants below, with what they were chosen on.) Dropped, wherever they are in the content stream.
//! * **Headings.** Each outline entry is looked for on the page it points to, below the
//!   height it names: the line (or two or three lines) whose text ends with the entry's
//!   title, with at most a number before it ("3.1.1", "Chapter 3", "第 3 章"), and a
//!   short numbering line set above it in a larger font. Found or not, the entry opens a
//!   section there, titled as in the outline, and its heading is never part of a
//!   paragraph.
//! * **Navigation.** The book's own table of contents (a line that is an outline title
//!   followed by a page number, or has dot leaders) is dropped.
//! * **Paragraphs.** Lines join while they continue one another: the same font size and
//!   face (fixed-pitch or not), the next baseline no further than [`PARAGRAPH_GAP`] line pitches down,
//!   no bullet or number opening the next line, and the previous line not ending short of
//!   its block's right edge after a full stop. A paragraph continues across a page break
//!   when its last line ran to the margin or did not end a sentence, past footnotes set
//!   in a smaller font at the foot of the page (they stay apart). Lines set in a
//!   fixed-pitch font are code; a line with glyphs spread in cells is a table row: each
//!   is kept apart from prose. A paragraph's number on a line of its own (standards and
//!   legal texts: "31", "7.1/3") is left out and starts a new paragraph.

mod flow;
mod navigation;

use super::outline::Entry;
use super::tags::TagKind;
use super::{Line, Pdf};
use crate::ingest::reflow::Block;
use crate::ingest::text::ends_terminal;
use crate::ingest::Kind;
use flow::paragraphs;
use navigation::mark_navigation;
use std::collections::HashMap;

/// One document's blocks from a PDF with an outline, and where each page starts in the
/// numbered lines the blocks refer to (1-based; pages separated by one form-feed line).
pub struct Book {
    pub title: Option<String>,
    pub blocks: Vec<Block>,
    pub page_starts: Vec<usize>,
    pub lines: usize,
}

/// The outline is used when at least this many entries point into the document.
const MIN_ENTRIES: usize = 3;

// The layout's thresholds, in font sizes or line pitches. Chosen on Debian Reference
// (English and Chinese, DocBook through dblatex); held out: its German, French and
// Japanese editions, the Developer's Reference and Policy (Sphinx), three R manuals
// (Texinfo) and a book Chromium prints in the tests (docs/pdf-books.md).

/// Sizes within this fraction of each other are one size.
const SAME_SIZE: f64 = 0.12;
/// A baseline further down than this many line pitches starts a paragraph (dblatex sets
/// paragraphs 1.5 pitches apart; lines within one sit 1.0 apart).
const PARAGRAPH_GAP: f64 = 1.25;
/// Table rows stay one table while their baselines are at most this many pitches apart.
const ROW_GAP: f64 = 1.8;
/// A line further right or left than this many font sizes is indented or outdented.
pub(super) const INDENT: f64 = 0.8;
/// A paragraph's second line may stand this many font sizes left of an indented first.
pub(super) const FIRST_LINE_INDENT: f64 = 4.0;
/// A text at a page's edges on this many pages is a running header or footer.
const FURNITURE_PAGES: usize = 3;
/// A heading line may hold this many letters and digits before the outline's title
/// ("3.1.1", "Chapter 3", "第 3 章").
const NUMBER_BEFORE_TITLE: usize = 14;
/// The longest line taken for a heading set bold at the body text's size.
const BOLD_HEADING_CHARS: usize = 80;
/// An indented first line that stops short of this share of its column's width is a
/// paragraph of its own (a code fragment, "}"), not a paragraph's first line.
const SHORT_FIRST_LINE: f64 = 0.6;
/// Without an outline, large type marks headings only while it is rarer than this share of
/// the lines: a slide deck or a poster sets much of its text large. Set between the books
/// (the Ada Reference Manual, without an outline: 566 headings in 3 sizes, 0.8 % of its
/// lines; the seven-page test book: 5.3 %) and a slide deck's third or more.
const MAX_HEADING_SHARE: f64 = 0.2;

/// `None` when the PDF has neither a usable outline nor headings set in type (the caller
/// reads it as plain text: a compilation like the seed, or a PDF of uniform type).
pub fn read(pdf: &Pdf) -> Option<Book> {
    let mut role = roles(pdf);
    let title = title(pdf);
    let outline: Vec<&Entry> = pdf
        .outline
        .iter()
        .filter(|e| e.page.is_some_and(|p| p < pdf.pages.len()))
        .collect();
    let typeset;
    let tagged;
    let entries = if outline.len() >= MIN_ENTRIES {
        outline
    } else if pdf
        .pages
        .iter()
        .flat_map(|p| &p.lines)
        .any(|l| l.tag.is_some())
    {
        // A tagged PDF: its headings are the structure tree's, however few (none: one
        // document of paragraphs, as tagged).
        tagged = tagged_headings(pdf, &role);
        tagged.iter().collect()
    } else {
        typeset = typeset_headings(pdf, &role, title.as_deref());
        if typeset.len() < MIN_ENTRIES {
            return None;
        }
        typeset.iter().collect()
    };
    place_headings(pdf, &entries, &mut role);
    mark_navigation(pdf, &entries, &mut role);
    let (blocks, page_starts, lines) = paragraphs(pdf, &entries, &role);
    Some(Book {
        title,
        blocks,
        page_starts,
        lines,
    })
}

/// Headings read from the type of a PDF without an outline, as entries an outline would
/// have: body lines set larger than the body text (by more than [`SAME_SIZE`]), short, in
/// a proportional face and not spread in cells, one to three consecutive lines of one size
/// making one heading; the larger the size, the higher the level. Empty when the PDF's type
/// does not look like a book's: fewer than [`MIN_ENTRIES`] such headings, or so many that
/// large type is no mark of a heading (more than [`MAX_HEADING_SHARE`] of the lines).
fn typeset_headings(pdf: &Pdf, role: &Roles, title: Option<&str>) -> Vec<Entry> {
    let body = super::most_common_size(
        pdf.pages
            .iter()
            .flat_map(|p| &p.lines)
            .map(|l| (l.size, l.text.chars().count())),
    );
    if body <= 0.0 {
        return Vec::new();
    }
    // Larger than the body text; or at its size in a bold face, short and unpunctuated, as
    // reports set their lowest headings.
    let larger = |l: &Line| l.size > body * (1.0 + SAME_SIZE) && l.text.chars().count() <= 150;
    // A producer that sets its headings in a fixed-pitch face (as LibreOffice can): most
    // lines set larger than the text are.
    let (large, large_mono) = pdf
        .pages
        .iter()
        .flat_map(|p| &p.lines)
        .filter(|l| larger(l) && l.wide_gaps == 0)
        .fold((0, 0), |(n, m), l| (n + 1, m + usize::from(l.mono)));
    let mono_headings = large >= MIN_ENTRIES && large_mono * 2 > large;
    let is_heading = |l: &Line, r: Role| {
        let larger = larger(l);
        let bold = l.bold
            && same_size(l.size, body)
            && l.text.chars().count() <= BOLD_HEADING_CHARS
            && !ends_terminal(l.text.trim_end())
            && !l.text.trim_end().ends_with([':', '：', ','])
            && !opens_item(&l.text);
        // Not a listing's line, unless set larger than the text or in the face the
        // document's headings are set in.
        r == Role::Body
            && (larger || bold)
            && (!l.mono || larger || mono_headings)
            && l.wide_gaps == 0
            && l.text.chars().any(char::is_alphabetic)
    };
    // (page, first line, size, title)
    let mut found: Vec<(usize, usize, f64, String)> = Vec::new();
    let mut lines = 0usize;
    for (p, page) in pdf.pages.iter().enumerate() {
        lines += page.lines.len();
        let mut i = 0;
        while i < page.lines.len() {
            let l = &page.lines[i];
            if !is_heading(l, role[p][i]) {
                i += 1;
                continue;
            }
            let mut title = l.text.trim().to_string();
            let mut last = l;
            let mut j = i + 1;
            while j < page.lines.len() && j < i + 3 {
                let n = &page.lines[j];
                if !is_heading(n, role[p][j])
                    || (n.size - l.size).abs() > l.size * SAME_SIZE
                    || n.y <= last.y
                    || n.y - last.y > l.size * 2.0
                {
                    break;
                }
                crate::ingest::text::push_joined(&mut title, n.text.trim());
                last = n;
                j += 1;
            }
            found.push((p, i, l.size, title));
            i = j;
        }
    }
    // The book's title on its title page is the document's title, not a section.
    if let Some(t) = title.map(key) {
        found.retain(|(p, _, _, heading)| *p >= 3 || key(heading) != t);
    }
    if found.len() < MIN_ENTRIES || found.len() as f64 > lines as f64 * MAX_HEADING_SHARE {
        return Vec::new();
    }
    // Levels: the distinct heading sizes, largest first.
    let mut sizes: Vec<f64> = Vec::new();
    for (_, _, size, _) in &found {
        if !sizes
            .iter()
            .any(|s| (s - size).abs() <= s * SAME_SIZE / 2.0)
        {
            sizes.push(*size);
        }
    }
    sizes.sort_by(|a, b| b.total_cmp(a));
    found
        .into_iter()
        .map(|(p, i, size, title)| {
            let depth = 1 + sizes
                .iter()
                .position(|s| (s - size).abs() <= s * SAME_SIZE / 2.0)
                .unwrap_or(sizes.len());
            heading_entry(pdf, p, i, depth, title)
        })
        .collect()
}

/// An outline entry for a heading found on page `p` whose first line is line `i`.
fn heading_entry(pdf: &Pdf, p: usize, i: usize, depth: usize, title: String) -> Entry {
    let (page, line) = (&pdf.pages[p], &pdf.pages[p].lines[i]);
    Entry {
        depth,
        title,
        page: Some(p),
        top: Some(page.height - (line.y - line.size)),
    }
}

/// The headings of a tagged PDF without an outline, as entries an outline would have: the
/// lines of each `H1`–`H6` element of its structure tree (levels from the highest one
/// used).
fn tagged_headings(pdf: &Pdf, role: &Roles) -> Vec<Entry> {
    let mut found: Vec<(usize, usize, usize, String)> = Vec::new(); // (page, line, level, title)
    for (p, page) in pdf.pages.iter().enumerate() {
        let mut open: Option<usize> = None; // the block of the heading being read
        for (i, l) in page.lines.iter().enumerate() {
            let heading = match l.tag {
                Some(t) if role[p][i] == Role::Body => match t.kind {
                    TagKind::Heading(level) => Some((t.block, level)),
                    _ => None,
                },
                _ => None,
            };
            match heading {
                Some((block, _)) if open == Some(block) => {
                    let title = &mut found.last_mut().expect("an open heading").3;
                    crate::ingest::text::push_joined(title, l.text.trim());
                }
                Some((block, level)) => {
                    found.push((p, i, level, l.text.trim().to_string()));
                    open = Some(block);
                }
                None => open = None,
            }
        }
    }
    let top = found.iter().map(|f| f.2).min().unwrap_or(1);
    found
        .into_iter()
        .filter(|f| f.3.chars().any(char::is_alphanumeric))
        .map(|(p, i, level, title)| heading_entry(pdf, p, i, level + 1 - top, title))
        .collect()
}

/// What a line is, by page and line index.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Body,
    Furniture,
    Navigation,
    /// The heading of outline entry `n` (its first line; later lines of the same heading
    /// are `HeadingRest`).
    Heading(usize),
    HeadingRest,
}

type Roles = Vec<Vec<Role>>;

/// Lower-case letters, digits and CJK, nothing else: how titles and lines are compared.
fn key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The key without digits and roman numerals: a running header's text on every page.
fn furniture_key(s: &str) -> String {
    let words: Vec<&str> = s
        .split_whitespace()
        .filter(|w| {
            let w = w.trim_matches(|c: char| !c.is_alphanumeric());
            !(w.chars().all(|c| c.is_ascii_digit())
                || (!w.is_empty() && w.chars().all(|c| "ivxlcdmIVXLCDM".contains(c))))
        })
        .collect();
    key(&words.join(" "))
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect()
}

/// Running headers and footers (see the module docs); every other line is body.
fn roles(pdf: &Pdf) -> Roles {
    let edges: Vec<Vec<usize>> = pdf.pages.iter().map(|p| edge_lines(&p.lines)).collect();
    let mut count: HashMap<String, usize> = HashMap::new();
    for (page, edge) in pdf.pages.iter().zip(&edges) {
        let mut seen: Vec<String> = edge
            .iter()
            .map(|&i| furniture_key(&page.lines[i].text))
            .collect();
        seen.sort();
        seen.dedup();
        for k in seen {
            *count.entry(k).or_default() += 1;
        }
    }
    pdf.pages
        .iter()
        .zip(&edges)
        .map(|(page, edge)| {
            let mut roles = vec![Role::Body; page.lines.len()];
            for &i in edge {
                let k = furniture_key(&page.lines[i].text);
                if k.is_empty()
                    || k.chars().count() <= 120
                        && count.get(&k).is_some_and(|&c| c >= FURNITURE_PAGES)
                {
                    roles[i] = Role::Furniture;
                }
            }
            roles
        })
        .collect()
}

/// The two topmost and two lowest lines of a page (by baseline).
fn edge_lines(lines: &[Line]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by(|&a, &b| lines[a].y.total_cmp(&lines[b].y));
    let mut edge: Vec<usize> = order.iter().take(2).copied().collect();
    edge.extend(order.iter().rev().take(2));
    edge.sort_unstable();
    edge.dedup();
    edge
}

/// Find each outline entry's heading on its page (see the module docs).
fn place_headings(pdf: &Pdf, entries: &[&Entry], role: &mut Roles) {
    for (n, e) in entries.iter().enumerate() {
        let want = key(&e.title);
        if want.is_empty() {
            continue;
        }
        let page_no = e.page.unwrap();
        for p in [page_no, page_no + 1] {
            let Some(page) = pdf.pages.get(p) else { break };
            let below = e.top.map(|t| page.height - t);
            if let Some((i, len)) = find_heading(&page.lines, &role[p], &want, below) {
                role[p][i] = Role::Heading(n);
                for r in &mut role[p][i + 1..i + len] {
                    *r = Role::HeadingRest;
                }
                // A numbering line above it in a larger font ("Chapter 3").
                if let Some(prev) = i.checked_sub(1) {
                    let l = &page.lines[prev];
                    let k = key(&l.text);
                    if role[p][prev] == Role::Body
                        && k.chars().count() <= 12
                        && k.chars().any(|c| c.is_numeric())
                        && l.size >= page.lines[i].size * 0.9
                        && page.lines[i].y - l.y < page.lines[i].size * 4.0
                    {
                        role[p][prev] = Role::HeadingRest;
                        role[p].swap(prev, i);
                    }
                }
                break;
            }
        }
    }
}

/// The first body line (joined with up to two more) at or below `below` whose key ends
/// with `want`, with at most a short number before it: (line, lines taken).
fn find_heading(
    lines: &[Line],
    roles: &[Role],
    want: &str,
    below: Option<f64>,
) -> Option<(usize, usize)> {
    let slack = NUMBER_BEFORE_TITLE;
    // Where the destination names its height, a line there that reads as a running header
    // (a title that recurs at the top of pages) is the heading all the same.
    let usable = |r: Role| r == Role::Body || r == Role::Furniture && below.is_some();
    for i in 0..lines.len() {
        if !usable(roles[i]) {
            continue;
        }
        if let Some(b) = below {
            if lines[i].y + lines[i].size < b {
                continue;
            }
        }
        let mut joined = String::new();
        for len in 1..=3 {
            let j = i + len - 1;
            if j >= lines.len() || !usable(roles[j]) {
                break;
            }
            joined.push_str(&key(&lines[j].text));
            if joined.len() > want.len() + slack * 4 {
                break;
            }
            if let Some(prefix) = joined.strip_suffix(want) {
                let prefix_chars = prefix.chars().count();
                if prefix_chars <= slack
                    && (prefix.is_empty()
                        || prefix.chars().any(|c| c.is_numeric())
                        || prefix_chars <= 8)
                {
                    return Some((i, len));
                }
            }
            // Read on while the lines so far are the title's start, perhaps after a short
            // label ("Appendix A", "Chapter 3") that the outline leaves out.
            let title_so_far = joined
                .char_indices()
                .take(slack + 1)
                .any(|(b, _)| want.starts_with(&joined[b..]));
            if !title_so_far && !joined.chars().any(|c| c.is_numeric()) {
                break;
            }
        }
    }
    None
}

/// A bullet or an enumerator opening a line: a list item starts there.
fn opens_item(s: &str) -> bool {
    let s = s.trim_start();
    if s.starts_with(['•', '◦', '▪', '‣', '·', '●', '○', '■', '□']) {
        return true;
    }
    // A dash or star is a bullet when a space follows it: "--enable-R-shlib …" or
    // "-j n option" wrapped onto a line of its own is no list item.
    let mut c = s.chars();
    if matches!(c.next(), Some('–' | '—' | '*' | '-')) {
        return c.next().is_some_and(char::is_whitespace);
    }
    let digits = s.chars().take_while(|c| c.is_ascii_digit()).count();
    (1..=2).contains(&digits)
        && s[digits..].starts_with([')', '.'])
        && s[digits + 1..].starts_with(' ')
}

/// The usual distance between consecutive baselines of lines set in each size, over the
/// whole document: the most common one (in half points), so that one-line paragraphs and
/// lists spaced apart do not pass for the line pitch.
fn pitches(pdf: &Pdf) -> HashMap<u64, f64> {
    let mut tally: HashMap<(u64, i64), usize> = HashMap::new();
    for page in &pdf.pages {
        for w in page.lines.windows(2) {
            let size = w[0].size;
            let d = w[1].y - w[0].y;
            if (w[1].size - size).abs() <= size * 0.05 && d > size * 0.8 && d < size * 2.5 {
                *tally
                    .entry((size.to_bits(), (d * 2.0).round() as i64))
                    .or_default() += 1;
            }
        }
    }
    let mut best: HashMap<u64, (usize, f64)> = HashMap::new();
    for ((size, d), n) in tally {
        let e = best.entry(size).or_insert((0, 0.0));
        if n > e.0 || n == e.0 && (d as f64) / 2.0 < e.1 {
            *e = (n, d as f64 / 2.0);
        }
    }
    best.into_iter().map(|(s, (_, d))| (s, d)).collect()
}

/// "31", "7.1", "32/2", "7.1/3": digits, dotted, with an optional "/version".
fn is_paragraph_number(text: &str) -> bool {
    let t = text.trim();
    let (number, version) = t.split_once('/').unwrap_or((t, "1"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    t.len() <= 12 && number.split('.').all(digits) && digits(version)
}

/// Whether two font sizes are the same within [`SAME_SIZE`].
pub(super) fn same_size(a: f64, b: f64) -> bool {
    (a - b).abs() <= a.max(b) * SAME_SIZE
}

/// The size of a page's body text: the size most of its characters are set in.
fn body_size(lines: &[Line]) -> f64 {
    super::most_common_size(lines.iter().map(|l| (l.size, l.text.chars().count())))
}

fn heading_block(e: &Entry, line: usize) -> Block {
    Block {
        text: e.title.clone(),
        spans: vec![(0, line)],
        heading: Some(e.depth.min(u8::MAX as usize) as u8),
        title_text: Some(e.title.clone()),
        kind: Kind::Prose,
    }
}

/// The title on the first page that has text: its largest line, with the lines set in
/// the same size right under it; else `/Info /Title`.
fn title(pdf: &Pdf) -> Option<String> {
    let page = pdf.pages.iter().take(3).find(|p| !p.lines.is_empty())?;
    let top = page
        .lines
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.size.total_cmp(&b.1.size).then(b.0.cmp(&a.0)))?;
    let mut t = top.1.text.trim().to_string();
    let mut last = top.1;
    for l in &page.lines[top.0 + 1..] {
        if (l.size - last.size).abs() > last.size * 0.05
            || l.y - last.y > last.size * 2.0
            || l.y < last.y
        {
            break;
        }
        crate::ingest::text::push_joined(&mut t, l.text.trim());
        last = l;
    }
    let body = body_size(&page.lines);
    if t.chars().count() <= 150
        && key(&t).chars().count() >= 2
        && (top.1.size > body * 1.2 || pdf.title.is_none())
    {
        Some(t)
    } else {
        pdf.title.clone()
    }
}

#[cfg(test)]
mod tests;
