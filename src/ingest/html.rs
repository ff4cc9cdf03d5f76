//! HTML input.
//!
//! A small, forgiving tag scanner (no DOM): comments, `<script>`, `<style>`,
//! `<noscript>`, `<template>`, `<svg>` and `<nav>` content is skipped; block
//! elements (`p div br li h1–h6 tr td blockquote pre section article …`) end
//! the current block; `h1`–`h6` become explicit headings; common named and
//! numeric character references are decoded; whitespace is collapsed as a
//! browser would. The title is `<title>`, else the first `<h1>`; when that `<h1>`
//! is the only one it is not also used as a section.

use super::reflow::{title_from_headings, Block};
use super::text::normalize_spaces;
use super::Part;

const SKIP: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "nav", "head",
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
    "footer",
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

/// Decode character references in `s`.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(';').map(|e| e + 1).filter(|&e| e <= 12);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let ch = if let Some(num) = name.strip_prefix('#') {
                let v = match num.strip_prefix(['x', 'X']) {
                    Some(h) => u32::from_str_radix(h, 16).ok(),
                    None => num.parse().ok(),
                };
                v.and_then(char::from_u32)
            } else {
                Some(match name {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    "nbsp" | "ensp" | "emsp" | "thinsp" => ' ',
                    "mdash" => '—',
                    "ndash" => '–',
                    "hellip" => '…',
                    "ldquo" => '“',
                    "rdquo" => '”',
                    "lsquo" => '‘',
                    "rsquo" => '’',
                    "middot" => '·',
                    "bull" => '•',
                    "copy" => '©',
                    "reg" => '®',
                    "trade" => '™',
                    "times" => '×',
                    "laquo" => '«',
                    "raquo" => '»',
                    "deg" => '°',
                    "yen" => '¥',
                    "euro" => '€',
                    "pound" => '£',
                    _ => return None,
                })
            };
            ch.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

struct Builder {
    blocks: Vec<Block>,
    buf: String,
    start_line: usize,
    heading: Option<u8>,
}

impl Builder {
    fn text(&mut self, s: &str, line: usize) {
        if self.buf.trim().is_empty() {
            self.start_line = line;
        }
        self.buf.push_str(s);
    }
    fn flush(&mut self, end_line: usize) {
        let text = normalize_spaces(&decode_entities(&self.buf));
        self.buf.clear();
        if !text.is_empty() {
            let mut b = Block {
                heading: self.heading,
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

/// Parse an HTML document into one part.
pub fn parse(html: &str) -> Part {
    let mut b = Builder {
        blocks: Vec::new(),
        buf: String::new(),
        start_line: 1,
        heading: None,
    };
    let mut title: Option<String> = None;
    let mut line = 1usize;
    let mut i = 0usize;
    let bytes = html.as_bytes();
    let count_nl = |s: &str| s.bytes().filter(|&c| c == b'\n').count();
    while i < html.len() {
        let Some(off) = html[i..].find('<') else {
            b.text(&html[i..], line);
            line += count_nl(&html[i..]);
            break;
        };
        if off > 0 {
            b.text(&html[i..i + off], line);
            line += count_nl(&html[i..i + off]);
        }
        i += off;
        if html[i..].starts_with("<!--") {
            let end = html[i..].find("-->").map_or(html.len(), |e| i + e + 3);
            line += count_nl(&html[i..end]);
            i = end;
            continue;
        }
        // Find the end of the tag, honouring quotes.
        let tag_start = i;
        let mut j = i + 1;
        let mut quote: Option<u8> = None;
        while j < bytes.len() {
            let c = bytes[j];
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None if c == b'>' => break,
                None => {}
            }
            j += 1;
        }
        let tag = &html[i + 1..j.min(html.len())];
        line += count_nl(tag);
        i = (j + 1).min(html.len());
        if tag.starts_with(['!', '?']) {
            continue; // <!DOCTYPE …>, <?xml …?>
        }
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            // Not a tag ("a < b"): keep the text.
            b.text("<", line);
            line -= count_nl(tag);
            i = tag_start + 1;
            continue;
        }
        if name == "title" && !closing {
            let end = find_ci(html, i, "</title").unwrap_or(html.len());
            let t = normalize_spaces(&decode_entities(&html[i..end]));
            if !t.is_empty() && title.is_none() {
                title = Some(t);
            }
            line += count_nl(&html[i..end]);
            i = end;
            continue;
        }
        if SKIP.contains(&name.as_str()) && !closing && !tag.ends_with('/') {
            if name == "head" {
                continue; // only <title> matters inside <head>; other text is rare
            }
            let end = find_ci(html, i, &format!("</{name}")).unwrap_or(html.len());
            line += count_nl(&html[i..end]);
            i = end;
            continue;
        }
        if BLOCK.contains(&name.as_str()) {
            b.flush(line);
            let level = name
                .strip_prefix('h')
                .and_then(|d| d.parse::<u8>().ok())
                .filter(|l| (1..=6).contains(l));
            if let Some(l) = level {
                b.heading = if closing { None } else { Some(l) };
            }
        }
    }
    b.flush(line);
    let mut blocks = b.blocks;
    let title = title_from_headings(&mut blocks, title);
    let first = blocks.first().map_or(1, |b| b.line_start());
    let last = blocks.iter().map(|b| b.line_end()).max().unwrap_or(first);
    Part {
        title,
        blocks,
        meta: Vec::new(),
        lines: (first, last),
    }
}

/// Case-insensitive search for ASCII `needle` in `hay[from..]`.
fn find_ci(hay: &str, from: usize, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    (from..h.len().saturating_sub(n.len() - 1)).find(|&k| h[k..k + n.len()].eq_ignore_ascii_case(n))
}
