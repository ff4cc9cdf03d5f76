//! HTML input, read by html5ever's tokenizer (the WHATWG tokenizer: every named and
//! numeric character reference, comments, CDATA, raw-text elements, malformed markup as a
//! browser reads it; the tree itself is not needed).
//!
//! What is not the text is skipped with everything inside it: `<script>`, `<style>`,
//! `<noscript>`, `<template>`, `<svg>`, `<math>`, `<iframe>`, `<nav>` and `<footer>`, and
//! any element whose `role` is `navigation`, `search` or `contentinfo` or whose class is
//! a documentation generator's navigation or footer (Sphinx's `related`, `sphinxsidebar`,
//! `footer`; DocBook's `navheader`, `navfooter`; tables of contents and indexes): repeated on every page of a manual, those
//! made hundreds of identical paragraphs (the Python and PostgreSQL manuals: 132,966
//! paragraphs, 18,939 of them page furniture; 497 copies of the Python license footer). Block elements (`p div br li h1–h6 tr td blockquote pre section article …`)
//! end the current block; `h1`–`h6` become explicit headings; whitespace is collapsed as a
//! browser would. The title is `<title>`, else the first `<h1>`; when that `<h1>` is the
//! only one it is not also used as a section.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use super::reflow::{title_from_headings, Block};
use super::text::normalize_spaces;
use super::{Kind, Part};

/// Elements skipped with their content.
const SKIP: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "iframe", "nav", "footer",
];
/// `role` values of page furniture.
const SKIP_ROLES: &[&str] = &["navigation", "search", "contentinfo"];
/// Class names documentation generators give their navigation bars, sidebars and footers.
const SKIP_CLASSES: &[&str] = &[
    "related",
    "sphinxsidebar",
    "footer",
    "navheader",
    "navfooter",
    // Tables of contents (navigation, not text): DocBook's and Sphinx's.
    "toc",
    "list-of-tables",
    "list-of-figures",
    "list-of-examples",
    "toctree-wrapper",
    // Indexes (navigation too): Texinfo's printed indexes, Sphinx's general index, the
    // divisions of DocBook's.
    "index-cp",
    "index-fn",
    "index-vr",
    "index-ky",
    "index-pg",
    "index-tp",
    "genindextable",
    "genindex-jumpbox",
    "indexdiv",
];
/// Texinfo 7 names its index tables after the index ("cp-entries-printindex",
/// "vr-letters-header-printindex").
fn texinfo_index_class(c: &str) -> bool {
    c.ends_with("-printindex")
}
/// Elements that never have content (no end tag to wait for).
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];
const BLOCK: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "tr",
    "td",
    "th",
    "table",
    "thead",
    "tbody",
    "section",
    "article",
    "header",
    "main",
    "aside",
    "blockquote",
    "pre",
    "hr",
    "figure",
    "figcaption",
    "form",
    "address",
    "center",
    "body",
    "html",
    "title",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
];

struct Builder {
    blocks: Vec<Block>,
    buf: String,
    start_line: usize,
    heading: Option<u8>,
    /// Open `<pre>`, `<table>` and `<li>` elements: what the text inside them is.
    pre: usize,
    table: usize,
    item: usize,
    /// For each open `<table>`, whether it is a table of data (not one that lays out an
    /// admonition: DocBook sets its notes and warnings in `<table summary="Note">`).
    tables: Vec<bool>,
}

impl Builder {
    fn text(&mut self, s: &str, line: usize) {
        if self.buf.trim().is_empty() {
            self.start_line = line;
        }
        self.buf.push_str(s);
    }
    fn flush(&mut self, end_line: usize) {
        let text = normalize_spaces(&self.buf);
        self.buf.clear();
        if !text.is_empty() {
            let kind = if self.pre > 0 {
                Kind::Code
            } else if self.table > 0 {
                Kind::Table
            } else if self.item > 0 {
                Kind::List
            } else {
                Kind::Prose
            };
            let mut b = Block {
                heading: self.heading,
                kind,
                ..Block::default()
            };
            b.spans.push((0, self.start_line));
            b.text = text;
            if end_line > self.start_line {
                // Keep the end of the range: an extra span past the text end.
                b.spans.push((b.text.len(), end_line));
            }
            self.blocks.push(b);
        }
    }
}

/// The tokenizer's sink: blocks, the title, and the element being skipped.
struct Scan {
    b: Builder,
    title: Option<String>,
    in_title: Option<String>,
    /// The element whose content is being skipped, and how many of its kind are open.
    skip: Option<(String, usize)>,
    line: usize,
}

struct Sink(RefCell<Scan>);

fn attr<'a>(tag: &'a Tag, name: &str) -> Option<&'a str> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
}

/// Whether a start tag opens page furniture to skip with its content.
fn furniture(tag: &Tag, name: &str) -> bool {
    SKIP.contains(&name)
        || attr(tag, "role").is_some_and(|r| SKIP_ROLES.contains(&r.trim()))
        || attr(tag, "class").is_some_and(|c| {
            c.split_ascii_whitespace()
                .any(|c| SKIP_CLASSES.contains(&c) || texinfo_index_class(c))
        })
}

impl Scan {
    fn text(&mut self, t: &StrTendril, line: usize) {
        if self.skip.is_some() {
            return;
        }
        match &mut self.in_title {
            Some(title) => title.push_str(t),
            None => self.b.text(t, line),
        }
    }

    fn tag(&mut self, tag: &Tag, line: usize) -> TokenSinkResult<()> {
        let name = &*tag.name;
        let start = tag.kind == TagKind::StartTag;
        let void = VOID.contains(&name) || tag.self_closing;
        // Raw text: the tokenizer must not read tags (or, for script and style, references)
        // inside these, whether or not the element is skipped.
        let raw = match name {
            _ if !start || tag.self_closing => None,
            "script" => Some(RawKind::ScriptData),
            "style" | "iframe" | "noscript" | "noembed" | "noframes" | "xmp" => {
                Some(RawKind::Rawtext)
            }
            "title" | "textarea" => Some(RawKind::Rcdata),
            _ => None,
        };
        let result = raw.map_or(TokenSinkResult::Continue, TokenSinkResult::RawData);
        if let Some((open, depth)) = &mut self.skip {
            if name == open.as_str() && !void {
                if start {
                    *depth += 1;
                } else {
                    *depth -= 1;
                }
            }
            if *depth == 0 {
                self.skip = None;
            }
            return result;
        }
        if name == "title" {
            if start && !tag.self_closing {
                self.in_title = Some(String::new());
            } else if let Some(t) = self.in_title.take() {
                let t = normalize_spaces(&t);
                if !t.is_empty() && self.title.is_none() {
                    self.title = Some(t);
                }
            }
            return result;
        }
        if start && !void && furniture(tag, name) {
            self.b.flush(line);
            self.skip = Some((name.to_string(), 1));
            return result;
        }
        // Inside a table a row is one block: its cells end no block.
        let cell = self.b.table > 0 && matches!(name, "td" | "th" | "p" | "div" | "br");
        if cell {
            if start {
                self.b.buf.push(' ');
            }
        } else if BLOCK.contains(&name) {
            self.b.flush(line);
            let level = name
                .strip_prefix('h')
                .and_then(|d| d.parse::<u8>().ok())
                .filter(|l| (1..=6).contains(l));
            if let Some(l) = level {
                self.b.heading = if start { Some(l) } else { None };
            }
        }
        if !void {
            let count = match name {
                "pre" => Some(&mut self.b.pre),
                "li" => Some(&mut self.b.item),
                _ => None,
            };
            if let Some(c) = count {
                *c = if start { *c + 1 } else { c.saturating_sub(1) };
            }
            if name == "table" {
                if start {
                    let layout = attr(tag, "role").is_some_and(|r| r.trim() == "presentation")
                        || attr(tag, "summary").is_some_and(|s| {
                            ["note", "tip", "caution", "warning", "important"]
                                .contains(&s.trim().to_ascii_lowercase().as_str())
                        });
                    self.b.tables.push(!layout);
                } else {
                    self.b.tables.pop();
                }
                self.b.table = self.b.tables.iter().filter(|&&t| t).count();
            }
        }
        result
    }
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, line: u64) -> TokenSinkResult<()> {
        let mut scan = self.0.borrow_mut();
        let line = line as usize;
        scan.line = scan.line.max(line);
        match token {
            Token::CharacterTokens(t) => {
                scan.text(&t, line);
                TokenSinkResult::Continue
            }
            Token::TagToken(tag) => scan.tag(&tag, line),
            _ => TokenSinkResult::Continue,
        }
    }
}

/// Parse an HTML document into one part.
pub fn parse(html: &str) -> Part {
    let sink = Sink(RefCell::new(Scan {
        b: Builder {
            blocks: Vec::new(),
            buf: String::new(),
            start_line: 1,
            heading: None,
            pre: 0,
            table: 0,
            item: 0,
            tables: Vec::new(),
        },
        title: None,
        in_title: None,
        skip: None,
        line: 1,
    }));
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let mut scan = tokenizer.sink.0.into_inner();
    let end = scan.line;
    scan.b.flush(end);
    let mut blocks = scan.b.blocks;
    let title = title_from_headings(&mut blocks, scan.title);
    let first = blocks.first().map_or(1, |b| b.line_start());
    let last = blocks.iter().map(|b| b.line_end()).max().unwrap_or(first);
    Part {
        title,
        blocks,
        meta: Vec::new(),
        lines: (first, last),
    }
}
