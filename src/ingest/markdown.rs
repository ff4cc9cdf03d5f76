//! Markdown input, parsed by `pulldown-cmark` (CommonMark with tables).
//!
//! Headings (ATX and setext): when the file has exactly one level-1 heading it is the
//! document title and not a section; with several, the first gives the title and all of
//! them are sections. Without any, a `title:` in YAML front matter is used. Paragraphs
//! keep their wrapped lines joined; a list (with its nested lists) is one block, so a
//! short list is one passage, not a row of fragments; a code block (fenced or indented) is
//! one block; a table is one block, cells joined with " | " and rows with "; ". Raw HTML,
//! link reference definitions and comments are left out. Inline markup is reduced to its
//! text: links and images keep their label, emphasis and code markers are dropped.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::reflow::{title_from_headings, Block};
use super::text::{normalize_spaces, normalize_title_spaces};
use super::Kind;
use super::Part;

/// Parse Markdown text into document parts (several when `marker` splits).
pub fn parse(text: &str, marker: Option<&str>) -> Vec<Part> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut parts = Vec::new();
    let mut cur_lines: Vec<(usize, String)> = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let is_marker = match marker {
            Some("\x0c") => line.contains('\x0c'),
            Some(m) => line.trim() == m.trim(),
            None => false,
        };
        if is_marker {
            parts.push(parse_part(std::mem::take(&mut cur_lines)));
            if marker == Some("\x0c") {
                cur_lines.push((i + 1, line.replace('\x0c', "")));
            }
            continue;
        }
        cur_lines.push((i + 1, line.replace('\x0c', "")));
    }
    parts.push(parse_part(cur_lines));
    parts.retain(|p| !p.blocks.is_empty());
    parts
}

fn parse_part(lines: Vec<(usize, String)>) -> Part {
    let mut front_title = None;
    let mut start = 0;
    // YAML front matter.
    if lines.first().is_some_and(|l| l.1.trim() == "---") {
        if let Some(end) = lines
            .iter()
            .skip(1)
            .take(60)
            .position(|l| l.1.trim() == "---")
        {
            for (_, l) in &lines[1..=end] {
                if let Some(t) = l.trim().strip_prefix("title:") {
                    front_title = Some(t.trim().trim_matches(['"', '\'']).to_string());
                }
            }
            start = end + 2;
        }
    }
    let body = &lines[start.min(lines.len())..];
    // The text to parse, and the source line where each of its lines starts.
    let mut text = String::new();
    let mut starts: Vec<(usize, usize)> = Vec::new(); // (byte offset, source line)
    for (no, l) in body {
        starts.push((text.len(), *no));
        text.push_str(l);
        text.push('\n');
    }
    let line_at = |offset: usize| -> usize {
        let i = starts.partition_point(|s| s.0 <= offset);
        starts[i.saturating_sub(1)].1
    };
    let mut blocks: Vec<Block> = Vec::new();
    let mut b = Builder::default();
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for (event, range) in Parser::new_ext(&text, opts).into_offset_iter() {
        let no = if starts.is_empty() {
            1
        } else {
            line_at(range.start)
        };
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                b.flush(&mut blocks);
                b.heading = Some(heading_level(level));
            }
            Event::End(TagEnd::Heading(_)) => b.flush(&mut blocks),
            Event::Start(Tag::List(_)) => {
                if b.lists == 0 {
                    b.flush(&mut blocks);
                    b.kind = Kind::List;
                }
                b.lists += 1;
            }
            Event::End(TagEnd::List(_)) => {
                b.lists -= 1;
                if b.lists == 0 {
                    b.flush(&mut blocks);
                }
            }
            Event::Start(Tag::Item) => b.line_break(),
            Event::Start(Tag::Paragraph)
            | Event::End(TagEnd::Paragraph)
            | Event::Start(Tag::BlockQuote(_))
            | Event::End(TagEnd::BlockQuote(_)) => {
                if b.lists == 0 && b.table.is_none() {
                    b.flush(&mut blocks);
                } else {
                    b.line_break();
                }
            }
            Event::Start(Tag::CodeBlock(_)) => {
                if b.lists == 0 {
                    b.flush(&mut blocks);
                    b.kind = Kind::Code;
                }
                b.code = true;
            }
            Event::End(TagEnd::CodeBlock) => {
                b.code = false;
                if b.lists == 0 {
                    b.flush(&mut blocks);
                }
            }
            Event::Start(Tag::Table(_)) => {
                b.flush(&mut blocks);
                b.kind = Kind::Table;
                b.table = Some(Vec::new());
            }
            Event::End(TagEnd::Table) => {
                if let Some(rows) = b.table.take() {
                    b.line = rows.join("; ");
                    b.line_no = b.line_no.max(no);
                }
                b.flush(&mut blocks);
            }
            Event::End(TagEnd::TableCell) => b.cell(),
            Event::End(TagEnd::TableHead) | Event::End(TagEnd::TableRow) => b.row(),
            Event::Text(t) | Event::Code(t) => {
                if b.code {
                    // Code keeps its lines as separate pieces.
                    for l in t.lines() {
                        b.line.push_str(l);
                        b.line_no = no;
                        b.line_break();
                    }
                } else {
                    if b.line.is_empty() {
                        b.line_no = no;
                    }
                    b.line.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => b.line_break(),
            // Raw HTML (comments included), footnote marks, rules: not text.
            _ => {}
        }
    }
    b.flush(&mut blocks);

    let title = title_from_headings(&mut blocks, front_title);
    let first = lines.first().map_or(0, |l| l.0);
    let last = lines
        .iter()
        .rev()
        .find(|l| !l.1.trim().is_empty())
        .map_or(first, |l| l.0);
    Part {
        title,
        blocks,
        meta: Vec::new(),
        lines: (first, last),
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// The block being built from parser events.
#[derive(Default)]
struct Builder {
    block: Block,
    /// Text of the current source line (inline events concatenated).
    line: String,
    line_no: usize,
    heading: Option<u8>,
    /// Nesting depth of lists (a top-level list is one block).
    lists: usize,
    code: bool,
    /// What the block being built is: a top-level list, code block or table.
    kind: Kind,
    /// Rows of the table being read, and the cells of the current row.
    table: Option<Vec<String>>,
    cells: Vec<String>,
}

impl Builder {
    /// End the current line: it becomes a piece of the block (joined like wrapped text).
    fn line_break(&mut self) {
        let piece = normalize_spaces(&self.line);
        if !piece.is_empty() {
            self.block.push(&piece, self.line_no);
        }
        if self.heading.is_some() {
            let raw = normalize_title_spaces(&self.line);
            if !raw.is_empty() {
                let t = self.block.title_text.get_or_insert_with(String::new);
                if !t.is_empty() {
                    t.push(' ');
                }
                t.push_str(&raw);
            }
        }
        self.line.clear();
    }

    fn cell(&mut self) {
        self.cells
            .push(normalize_spaces(&std::mem::take(&mut self.line)));
    }

    fn row(&mut self) {
        let cells: Vec<String> = std::mem::take(&mut self.cells)
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect();
        if let (Some(rows), false) = (self.table.as_mut(), cells.is_empty()) {
            rows.push(cells.join(" | "));
        }
    }

    /// Close the block being built, if it has text.
    fn flush(&mut self, blocks: &mut Vec<Block>) {
        self.line_break();
        let mut block = std::mem::take(&mut self.block);
        block.heading = self.heading.take();
        block.kind = std::mem::take(&mut self.kind);
        if !block.text.is_empty() {
            blocks.push(block);
        }
    }
}
