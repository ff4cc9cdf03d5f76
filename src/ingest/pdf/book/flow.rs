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
    /// The number the first line opens with ("3 some of the consoles…": a footnote's).
    number: Option<u32>,
}

/// The number a line opens with, as footnotes and numbered items do: "3 some", "12. Then".
fn leading_number(text: &str) -> Option<u32> {
    let t = text.trim_start();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=3).contains(&digits) {
        return None;
    }
    let rest = &t[digits..];
    let rest = rest.strip_prefix(['.', ')']).unwrap_or(rest);
    rest.starts_with(' ')
        .then(|| t[..digits].parse().ok())
        .flatten()
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
            number: leading_number(&l.text),
        }
    }

    fn extend(&mut self, l: &Line) {
        self.body_x0 = Some(self.body_x0.map_or(l.x0, |x| x.min(l.x0)));
        self.right = self.right.max(l.x1);
        self.last = l.clone();
    }

    /// Continued at the top of the next column, whose edges are the paragraph's from now on.
    fn next_column(&mut self, l: &Line, right: f64) {
        self.first_x0 = l.x0;
        self.body_x0 = Some(l.x0);
        self.right = right;
        self.last = l.clone();
    }
}

/// Whether `next` stands at the top of the column right of the paragraph's (a page of two
/// or more columns): above its last line and right of its right edge.
fn column_break(open: &Open, next: &Line) -> bool {
    next.y < open.last.y - open.last.size && other_column(open, next)
}

/// Whether `next` stands beside the paragraph's column, not under it: wholly right or left
/// of its edges (the next page's first column after a page's last).
fn other_column(open: &Open, next: &Line) -> bool {
    let size = open.last.size;
    let left = open.body_x0.unwrap_or(open.first_x0).min(open.first_x0);
    next.x0 > open.right - size || next.x1 < left + size
}

/// Whether `next`, at the top of the next column (see [`column_break`]), whose text starts at
/// `left`, continues the paragraph: as over a page break, unless it is indented (a new
/// paragraph's first line) or the paragraph had ended.
fn continues_in_column(open: &Open, next: &Line, left: f64) -> bool {
    let prev = &open.last;
    let size = prev.size.max(next.size).max(1.0);
    same_size(prev.size, next.size)
        && open.kind == Kind::Prose
        && !next.mono
        && next.wide_gaps == 0
        && !opens_item(&next.text)
        && next.x0 <= left + size * INDENT
        && !(ends_short(prev, next, open.right) && ends_terminal(prev.text.trim_end()))
}

/// Whether a line ends inside a web address broken at one of its dots
/// ("… see https://www.xquartz." / "org/releases/"): no sentence's end.
fn breaks_address(line: &str) -> bool {
    let last = line.split_whitespace().last().unwrap_or("");
    last.ends_with('.') && (last.contains("://") || last.starts_with("www."))
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
    // A tagged PDF says what a block is; prose in a fixed-pitch face is still a listing.
    match l.tag.map(|t| t.kind) {
        Some(TagKind::Table) => return Kind::Table,
        Some(TagKind::ListItem) => return Kind::List,
        Some(TagKind::Code) => return Kind::Code,
        _ => {}
    }
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
    // A tagged PDF's lines continue one another while they are in one block of its
    // structure tree, wherever they stand.
    if let (Some(a), Some(b)) = (prev.tag, next.tag) {
        return a.block == b.block;
    }
    let size = prev.size.max(next.size).max(1.0);
    if !same_size(prev.size, next.size) {
        return false;
    }
    // A term and its description on one line, the description's next lines under it: a
    // definition, not a table row.
    if open.kind == Kind::Table && next.wide_gaps == 0 {
        let dy = next.y - prev.y;
        return same_page
            && dy > 0.0
            && dy <= pitch * PARAGRAPH_GAP
            && next.x0 > prev.x0 + size * INDENT
            && (prev.describes(next) || open.body_x0.is_none() && prev.hangs(next));
    }
    // A table's rows stay together, apart from what is around them.
    if open.kind == Kind::Table || next.wide_gaps > 0 {
        let dy = next.y - prev.y;
        return open.kind == Kind::Table
            && next.wide_gaps > 0
            && (!same_page || (dy > 0.0 && dy <= pitch * ROW_GAP));
    }
    // The next item: a bullet, or the number after this paragraph's ("3 …", then "4 …").
    if opens_item(&next.text)
        || open
            .number
            .is_some_and(|n| leading_number(&next.text) == Some(n + 1))
    {
        return false;
    }
    let short = ends_short(prev, next, open.right);
    let ends = ends_terminal(prev.text.trim_end()) && !breaks_address(&prev.text);
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
            let under_term = prev.x0 < x + size * INDENT && prev.describes(next);
            if next.x0 > x + size * INDENT && !under_term || next.x0 < x - size * INDENT {
                return false;
            }
        }
        // The second line may stand left of an indented first line (first-line indent),
        // not right of it unless under a bullet (hanging indent).
        None => {
            if next.x0 < open.first_x0 - size * FIRST_LINE_INDENT {
                return false;
            }
            // An indented first line that stops far short of the margin is a paragraph of
            // one line (a code fragment, "}"): a paragraph's first line runs on to it.
            if next.x0 < open.first_x0 - size * INDENT
                && prev.x1 < next.x0 + (open.right - next.x0) * SHORT_FIRST_LINE
            {
                return false;
            }
            if next.x0 > open.first_x0 + size * INDENT
                && !opens_item(&prev.text)
                && !prev.hangs(next)
            {
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
            // The paragraph `l` continues, and whether it does so at the top of another
            // column (of this page, or the next page's first after this page's last).
            let into = match (current.take(), carried.take()) {
                (Some(o), _) if column_break(&o, l) => {
                    continues_in_column(&o, l, page.column(l).0).then_some((o, true))
                }
                (Some(o), _) if continues(&o, l, pitch, true) => Some((o, false)),
                (None, Some(o)) if other_column(&o, l) => {
                    continues_in_column(&o, l, page.column(l).0).then_some((o, true))
                }
                (None, Some(o)) if continues(&o, l, pitch, false) => Some((o, false)),
                _ => None,
            };
            let o = match into {
                Some((mut o, true)) => {
                    blocks[o.block].push(l.text.trim(), no);
                    o.next_column(l, page.column(l).1);
                    o
                }
                Some((mut o, false)) => {
                    if o.kind == Kind::Table && l.wide_gaps == 0 {
                        // A definition (see `continues`): an item, not a row.
                        o.kind = Kind::List;
                        blocks[o.block].kind = Kind::List;
                    }
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
                    Open::start(blocks.len() - 1, l, page.column(l).1)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::pdf::WORD_STARTS;

    #[test]
    fn an_address_broken_at_a_dot_ends_no_sentence() {
        assert!(breaks_address("see https://www.xquartz."));
        assert!(breaks_address("(as used on macOS: see www.gnu."));
        assert!(!breaks_address(
            "as the manual says at https://example.org/ a lot."
        ));
        assert!(!breaks_address("It ends here."));
    }

    /// A line of body text at `y`, from `x0` to `x1`, its later words starting at `starts`.
    fn line(y: f64, x0: f64, x1: f64, text: &str, starts: &[f64]) -> Line {
        let mut l = Line {
            y,
            x0,
            x1,
            size: 9.0,
            text: text.into(),
            ..Line::default()
        };
        l.starts[..starts.len().min(WORD_STARTS)].copy_from_slice(starts);
        l
    }

    const PITCH: f64 = 12.3;

    #[test]
    fn a_footnote_runs_on_under_its_text_not_under_its_number() {
        let first = line(698.5, 95.9, 522.0, "3 some of", &[104.9, 130.0]);
        let open = Open::start(0, &first, 522.0);
        let discard = |x0| line(710.8, x0, 377.0, "discard the excess", &[]);
        assert!(continues(&open, &discard(104.9), PITCH, true));
        assert!(!continues(&open, &discard(118.0), PITCH, true));
    }

    #[test]
    fn the_next_footnote_number_opens_a_new_note() {
        let first = line(686.2, 95.9, 520.0, "10 But on", &[106.0]);
        let open = Open::start(0, &first, 522.0);
        let note = |n: u32| line(698.5, 95.9, 450.0, &format!("{n} for"), &[106.0]);
        assert!(!continues(&open, &note(11), PITCH, true));
        assert!(continues(&open, &note(12), PITCH, true));
    }

    #[test]
    fn a_definition_runs_on_under_its_description() {
        // "op i   is an operator, …": the term, a gap wider than a font size, then the
        // description, whose next lines stand under it.
        let mut first = line(663.9, 90.0, 522.0, "op i is an", &[104.0, 147.6]);
        first.wide_gaps = 1;
        first.term_end = Some(147.6);
        let open = Open::start(0, &first, 522.0);
        assert_eq!(open.kind, Kind::Table);
        let under = line(676.2, 147.6, 304.4, "the model", &[]);
        assert!(continues(&open, &under, PITCH, true));
        // A row of a real table: the next row has cells of its own.
        let mut row = line(676.2, 90.0, 400.0, "op j is another", &[104.0, 147.6]);
        row.wide_gaps = 1;
        assert!(continues(&open, &row, PITCH, true));
    }

    #[test]
    fn a_short_indented_line_is_a_paragraph_of_its_own() {
        let note = |y, x0| line(y, x0, 522.0, "(Note the function", &[]);
        let brace = line(147.3, 130.3, 136.0, "}", &[]);
        let open = Open::start(0, &brace, 522.0);
        assert!(!continues(&open, &note(160.0, 104.9), PITCH, true));
        // A paragraph's indented first line runs to the margin; its next line stands left.
        let open = Open::start(0, &note(147.3, 104.9), 522.0);
        assert!(continues(&open, &note(160.0, 90.0), PITCH, true));
    }
}
