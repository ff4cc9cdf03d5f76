//! Word (`.docx`) input: the document XML of an Office Open XML package, read with the
//! `zip` crate and parsed with `roxmltree`.
//!
//! * **Paragraphs** are `w:p` elements in body order (also inside content controls);
//!   a paragraph's text is its runs' `w:t`, with `w:tab` as a space and `w:br` joining
//!   lines. Tracked deletions (`w:del`, `w:moveFrom`), field codes (`w:instrText`) and
//!   comments (which live in `comments.xml`, not read) are left out; tracked insertions
//!   are kept, as Word shows them.
//! * **Headings** come from paragraph styles: a style named "heading N" (any case, as
//!   Word names its built-in styles whatever the UI language) or with an outline level
//!   gives level N; the "Title" style gives the document title. Otherwise the title is
//!   the only level-1 heading, or the core properties' `dc:title`.
//! * **Tables**: cells joined with " | ", rows with "; ", a passage every ~200 characters.
//! * **Bounds**: an XML part that expands beyond [`MAX_PART`] bytes is refused (a zip
//!   bomb), as is a package without `word/document.xml`.
//!
//! "Lines" of the blocks are 1-based paragraph numbers in the document body.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use super::reflow::{title_from_headings, Block};
use super::text::{normalize_spaces, normalize_title_spaces};
use super::Part;

/// Table rows are gathered into passages of at least this many characters.
const TABLE_PASSAGE: usize = 200;

/// The most bytes one XML part may expand to.
pub const MAX_PART: u64 = 64 << 20;

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

/// Parse a `.docx` package. Errors are human-readable reasons.
pub fn parse(bytes: &[u8]) -> Result<Part, String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a Word document (.docx is a zip package: {e})"))?;
    let document = read_part(&mut zip, "word/document.xml")?
        .ok_or("not a Word document: the package has no word/document.xml")?;
    let styles = read_part(&mut zip, "word/styles.xml")?
        .map(|x| styles(&x))
        .transpose()?
        .unwrap_or_default();
    let core_title = read_part(&mut zip, "docProps/core.xml")?.and_then(|x| core_title(&x));

    let doc = roxmltree::Document::parse(&document)
        .map_err(|e| format!("word/document.xml is not well-formed XML: {e}"))?;
    let body = doc
        .root_element()
        .children()
        .find(|n| is(n, "body"))
        .ok_or("word/document.xml has no body")?;
    let mut walk = Walk {
        styles: &styles,
        blocks: Vec::new(),
        title: None,
        no: 0,
    };
    walk.container(body);
    let Walk {
        mut blocks, title, ..
    } = walk;
    let last = blocks.last().map_or(1, |b| b.line_end());
    let title = title_from_headings(&mut blocks, title).or(core_title);
    Ok(Part {
        title,
        blocks,
        meta: Vec::new(),
        lines: (1, last.max(1)),
    })
}

/// A part's text, or `None` when the package lacks it; bounded by [`MAX_PART`].
fn read_part(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
) -> Result<Option<String>, String> {
    let file = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(format!("cannot read {name} in the package: {e}")),
    };
    let mut buf = Vec::new();
    file.take(MAX_PART + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read {name} in the package: {e}"))?;
    if buf.len() as u64 > MAX_PART {
        return Err(format!(
            "{name} expands beyond {} MB (a zip bomb?)",
            MAX_PART >> 20
        ));
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| format!("{name} is not UTF-8 XML"))
}

fn is(n: &roxmltree::Node, local: &str) -> bool {
    n.is_element() && n.tag_name().name() == local && n.tag_name().namespace() == Some(W)
}

fn val<'a>(n: &roxmltree::Node<'a, 'a>) -> Option<&'a str> {
    n.attribute((W, "val"))
}

/// What a paragraph style means to xref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Title,
    Heading(u8),
}

/// Style id → role, from `styles.xml` (following `w:basedOn` one level for outline levels).
fn styles(xml: &str) -> Result<HashMap<String, Role>, String> {
    let doc = roxmltree::Document::parse(xml)
        .map_err(|e| format!("word/styles.xml is not well-formed XML: {e}"))?;
    let mut out = HashMap::new();
    for s in doc.descendants().filter(|n| is(n, "style")) {
        let Some(id) = s.attribute((W, "styleId")) else {
            continue;
        };
        let name = s
            .children()
            .find(|n| is(n, "name"))
            .and_then(|n| val(&n))
            .unwrap_or(id)
            .to_ascii_lowercase();
        let outline = s
            .descendants()
            .find(|n| is(n, "outlineLvl"))
            .and_then(|n| val(&n))
            .and_then(|v| v.parse::<u8>().ok());
        let role = if name == "title" {
            Some(Role::Title)
        } else if let Some(n) = name
            .strip_prefix("heading")
            .and_then(|r| r.trim().parse::<u8>().ok())
        {
            Some(Role::Heading(n.clamp(1, 6)))
        } else {
            outline
                .filter(|&l| l < 9)
                .map(|l| Role::Heading((l + 1).min(6)))
        };
        if let Some(r) = role {
            out.insert(id.to_string(), r);
        }
    }
    Ok(out)
}

fn core_title(xml: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let t = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "title")?
        .text()?;
    let t = normalize_spaces(t);
    (!t.is_empty()).then_some(t)
}

struct Walk<'s> {
    styles: &'s HashMap<String, Role>,
    blocks: Vec<Block>,
    title: Option<String>,
    /// Paragraph number (the blocks' "line").
    no: usize,
}

impl Walk<'_> {
    fn container(&mut self, node: roxmltree::Node) {
        for n in node.children().filter(|n| n.is_element()) {
            if is(&n, "p") {
                self.paragraph(n);
            } else if is(&n, "tbl") {
                self.table(n);
            } else if is(&n, "sdt") {
                if let Some(content) = n.children().find(|c| is(c, "sdtContent")) {
                    self.container(content);
                }
            }
        }
    }

    fn paragraph(&mut self, p: roxmltree::Node) {
        self.no += 1;
        let raw = text_of(p);
        let text = normalize_spaces(&raw);
        if text.is_empty() {
            return;
        }
        let ppr = p.children().find(|n| is(n, "pPr"));
        let style = ppr
            .and_then(|pr| pr.children().find(|n| is(n, "pStyle")))
            .and_then(|n| val(&n));
        let direct = ppr
            .and_then(|pr| pr.children().find(|n| is(n, "outlineLvl")))
            .and_then(|n| val(&n))
            .and_then(|v| v.parse::<u8>().ok())
            .filter(|&l| l < 9)
            .map(|l| Role::Heading((l + 1).min(6)));
        let role = style.and_then(|s| self.styles.get(s).copied()).or(direct);
        // Titles and headings keep the spaces between CJK words ("第一章 总则").
        let title = normalize_title_spaces(&raw);
        match role {
            Some(Role::Title) if self.title.is_none() => self.title = Some(title),
            Some(Role::Title) => self.push_heading(text, title, 1),
            Some(Role::Heading(l)) => self.push_heading(text, title, l),
            None => self.push(text, None),
        }
    }

    /// Rows are joined with "; " into passages of about [`TABLE_PASSAGE`] characters: a
    /// short table is one passage, a long one several, never a row of fragments.
    fn table(&mut self, tbl: roxmltree::Node) {
        let mut rows: Vec<String> = Vec::new();
        let mut first = self.no + 1;
        for row in tbl.children().filter(|n| is(n, "tr")) {
            self.no += 1;
            let cells: Vec<String> = row
                .children()
                .filter(|n| is(n, "tc"))
                .map(|tc| {
                    let parts: Vec<String> = tc
                        .descendants()
                        .filter(|n| is(n, "p"))
                        .map(|p| normalize_spaces(&text_of(p)))
                        .filter(|t| !t.is_empty())
                        .collect();
                    parts.join(" ")
                })
                .filter(|c| !c.is_empty())
                .collect();
            if cells.is_empty() {
                continue;
            }
            if rows.is_empty() {
                first = self.no;
            }
            rows.push(cells.join(" | "));
            if rows.iter().map(|r| r.chars().count()).sum::<usize>() >= TABLE_PASSAGE {
                self.push_at(std::mem::take(&mut rows).join("; "), None, first);
            }
        }
        if !rows.is_empty() {
            self.push_at(rows.join("; "), None, first);
        }
    }

    fn push(&mut self, text: String, heading: Option<u8>) {
        self.push_at(text, heading, self.no);
    }

    fn push_heading(&mut self, text: String, title: String, level: u8) {
        self.push(text, Some(level));
        self.blocks.last_mut().unwrap().title_text = Some(title);
    }

    fn push_at(&mut self, text: String, heading: Option<u8>, no: usize) {
        let mut b = Block {
            heading,
            ..Block::default()
        };
        b.push(&text, no);
        self.blocks.push(b);
    }
}

/// The visible text of a paragraph: runs' text, tabs and breaks; not deleted text, field
/// codes, or nested paragraphs of text boxes twice.
fn text_of(p: roxmltree::Node) -> String {
    let mut out = String::new();
    let mut stack: Vec<roxmltree::Node> = p.children().collect();
    stack.reverse();
    while let Some(n) = stack.pop() {
        if !n.is_element() || n.tag_name().namespace() != Some(W) {
            // Drawing and math markup of other namespaces: look inside for text boxes.
            if n.is_element() {
                push_children(&mut stack, n);
            }
            continue;
        }
        match n.tag_name().name() {
            "t" => out.push_str(n.text().unwrap_or("")),
            "tab" => out.push(' '),
            "br" | "cr" => out.push('\n'),
            "del" | "moveFrom" | "delText" | "instrText" | "pPr" | "rPr" | "commentReference"
            | "footnoteReference" | "endnoteReference" => {}
            _ => push_children(&mut stack, n),
        }
    }
    out
}

fn push_children<'a, 'i>(stack: &mut Vec<roxmltree::Node<'a, 'i>>, n: roxmltree::Node<'a, 'i>) {
    let at = stack.len();
    stack.extend(n.children());
    stack[at..].reverse();
}
