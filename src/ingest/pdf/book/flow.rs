//! A book's lines as paragraphs: a paragraph continues across lines, page breaks and
//! boxed notes while its lines keep its type, indent and pitch ([`paragraphs`]).

use super::*;

/// Where a growing paragraph stands.
#[derive(Clone)]
struct Open {
    block: usize,
    last: Line,
    /// The first line's left edge, and the left edge of the lines after it.
    first_x0: f64,
    body_x0: Option<f64>,
    right: f64,
    /// From the first line: code (fixed pitch), a table row (cells), a list item (bullet).
    kind: Kind,
}

impl Open {
    fn start(block: usize, l: &Line, right: f64) -> Open {
        Open {
            block,
            last: l.clone(),
            first_x0: l.x0,
            body_x0: None,
            right,
            kind: line_kind(l),
        }
    }

    fn extend(&mut self, l: &Line) {
        self.body_x0 = Some(self.body_x0.map_or(l.x0, |x| x.min(l.x0)));
        self.right = self.right.max(l.x1);
        self.last = l.clone();
    }
}

/// Whether `prev` ends short of the right edge `right`: with room left for the first word
/// of `next` (so a ragged right margin is no paragraph end, and a justified line never is).
fn ends_short(prev: &Line, next: &Line, right: f64) -> bool {
    let per_char = (next.x1 - next.x0).max(0.0) / next.text.chars().count().max(1) as f64;
    let first = next.text.trim_start();
    let word = match first.chars().next() {
        Some(c) if crate::text::is_cjk(c) => 1,
        _ => first.chars().take_while(|c| !c.is_whitespace()).count(),
    };
    prev.x1 + (word as f64 + 1.0) * per_char < right - prev.size * 0.5
}

fn line_kind(l: &Line) -> Kind {
    if l.mono {
        Kind::Code
    } else if l.wide_gaps > 0 {
        Kind::Table
    } else if opens_item(&l.text) {
        Kind::List
    } else {
        Kind::Prose
    }
}

/// Whether `next` continues the paragraph whose last line is `open.last`.
fn continues(open: &Open, next: &Line, pitch: f64, same_page: bool) -> bool {
    let prev = &open.last;
    let size = prev.size.max(next.size).max(1.0);
    if !same_size(prev.size, next.size) {
        return false;
    }
    // A table's rows stay together, apart from what is around them.
    if open.kind == Kind::Table || next.wide_gaps > 0 {
        let dy = next.y - prev.y;
        return open.kind == Kind::Table
            && next.wide_gaps > 0
            && (!same_page || (dy > 0.0 && dy <= pitch * ROW_GAP));
    }
    if opens_item(&next.text) {
        return false;
    }
    let short = ends_short(prev, next, open.right);
    let ends = ends_terminal(prev.text.trim_end());
    // A listing is code from its first line; prose may wrap onto a line that is all
    // fixed-pitch (a long path), but only after a line that ran to the margin.
    let code = open.kind == Kind::Code;
    if code != next.mono && (code || short || ends) {
        return false;
    }
    if same_page {
        let dy = next.y - prev.y;
        if dy > pitch * PARAGRAPH_GAP || dy < size * 0.3 {
            return false;
        }
    } else if short && ends {
        return false;
    }
    match open.body_x0 {
        // Lines after the second align with it: an indented line opens a paragraph, an
        // outdented one leaves a box or list item.
        Some(x) => {
            if next.x0 > x + size * INDENT || next.x0 < x - size * INDENT {
                return false;
            }
        }
        // The second line may stand left of an indented first line (first-line indent),
        // not right of it unless under a bullet (hanging indent).
        None => {
            if next.x0 < open.first_x0 - size * FIRST_LINE_INDENT {
                return false;
            }
            if next.x0 > open.first_x0 + size * INDENT && !opens_item(&prev.text) {
                return false;
            }
        }
    }
    if short && ends {
        return false;
    }
    // A listing's lines stay together on their page.
    !code || same_page
}

pub(super) fn paragraphs(
    pdf: &Pdf,
    entries: &[&Entry],
    role: &Roles,
) -> (Vec<Block>, Vec<usize>, usize) {
    let pitches = pitches(pdf);
    let mut blocks: Vec<Block> = Vec::new();
    let mut page_starts = Vec::with_capacity(pdf.pages.len());
    let mut line_no = 1usize;
    // The paragraph a page break may continue: the last body-size block of the page
    // before, even if footnotes in a smaller font came after it.
    let mut open: Option<Open> = None;
    for (p, page) in pdf.pages.iter().enumerate() {
        if p > 0 {
            line_no += 1; // the form feed
        }
        page_starts.push(line_no);
        let body = body_size(&page.lines);
        let rights = right_edges(&page.lines);
        // Taken by the page's first body line (or dropped at a heading).
        let mut carried = open.take();
        let mut current: Option<Open> = None;
        for (i, l) in page.lines.iter().enumerate() {
            let no = line_no + i;
            match role[p][i] {
                Role::Furniture | Role::Navigation | Role::HeadingRest => continue,
                Role::Heading(n) => {
                    blocks.push(heading_block(entries[n], no));
                    (current, carried, open) = (None, None, None);
                    continue;
                }
                Role::Body => {}
            }
            if l.text.trim().is_empty() {
                continue;
            }
            // A paragraph's number on a line of its own, as standards and legal texts set
            // them ("31", "7.1/3"): a mark in the margin, not text, and a new paragraph.
            if !l.mono && is_paragraph_number(&l.text) {
                (current, carried, open) = (None, None, None);
                continue;
            }
            let pitch = pitches
                .get(&l.size.to_bits())
                .copied()
                .unwrap_or(l.size * 1.2);
            let into = match (current.take(), carried.take()) {
                (Some(o), _) if continues(&o, l, pitch, true) => Some(o),
                (None, Some(o)) if continues(&o, l, pitch, false) => Some(o),
                _ => None,
            };
            let o = match into {
                Some(mut o) => {
                    blocks[o.block].push(l.text.trim(), no);
                    o.extend(l);
                    o
                }
                None => {
                    let mut b = Block {
                        kind: line_kind(l),
                        ..Block::default()
                    };
                    b.push(l.text.trim(), no);
                    blocks.push(b);
                    let right = rights
                        .iter()
                        .find(|(s, _)| *s == l.size)
                        .map_or(l.x1, |(_, r)| r.max(l.x1));
                    Open::start(blocks.len() - 1, l, right)
                }
            };
            // Body text carries over the page break; footnotes do not take its place.
            if same_size(l.size, body) {
                open = Some(o.clone());
            }
            current = Some(o);
        }
        line_no += page.lines.len();
    }
    (blocks, page_starts, line_no)
}

/// The right edge of a page's text block for each size set on it: the furthest right a
/// line of that size (within [`SAME_SIZE`]) reaches.
fn right_edges(lines: &[Line]) -> Vec<(f64, f64)> {
    let mut sizes: Vec<f64> = lines.iter().map(|l| l.size).collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    sizes
        .into_iter()
        .map(|s| {
            let right = lines
                .iter()
                .filter(|o| same_size(o.size, s))
                .map(|o| o.x1)
                .fold(0.0, f64::max);
            (s, right)
        })
        .collect()
}
