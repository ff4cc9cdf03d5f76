//! reStructuredText input (`.rst`).
//!
//! Hand-written because no maintained Rust crate parses reStructuredText; this reads the
//! block structure a cross-reference needs and leaves rendering aside:
//!
//! * **Sections.** A text line underlined (optionally also overlined) by a run of one
//!   punctuation character, at least as long as three characters; levels are given by
//!   the order in which underline styles first appear, as docutils does. As in Markdown,
//!   a lone top-level title is the document title; with several, the first gives the
//!   title and all are sections.
//! * **Explicit markup** (`.. directive::`, `.. _target:`, `.. [note]`, `.. |sub|`,
//!   comments) and everything indented under it is left out, except the body of
//!   admonitions (`note`, `warning`, `tip`, …), which is prose.
//! * **Field lists** (`:Author: …`) become metadata; transitions (`----`) and table
//!   borders are dropped; table rows keep their cell text.
//! * **Literal blocks** (after `::`, or `.. code-block::`) are dropped from the passages:
//!   code links to code by shared identifiers, not by meaning, and swamps links.
//! * **Lists**: consecutive items form one block, like Markdown lists.
//! * **Inline markup** is reduced to its text: roles (``:ref:`label <target>` `` → label),
//!   ``literals``, emphasis, hyperlink references (`text <url>`_ → text).

use super::reflow::{title_from_headings, Block};
use super::text::normalize_spaces;
use super::Part;

const ADMONITIONS: &[&str] = &[
    "note",
    "warning",
    "tip",
    "hint",
    "important",
    "attention",
    "caution",
    "danger",
    "error",
    "admonition",
    "seealso",
    "topic",
    "sidebar",
    "versionadded",
    "versionchanged",
    "deprecated",
];

fn adornment(t: &str) -> Option<char> {
    let t = t.trim_end();
    let c = t.chars().next()?;
    (t.len() >= 3 && !c.is_alphanumeric() && c.is_ascii_punctuation() && t.chars().all(|x| x == c))
        .then_some(c)
}

fn indent(l: &str) -> usize {
    l.chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .map(|c| if c == '\t' { 8 } else { 1 })
        .sum()
}

fn list_item(t: &str) -> Option<&str> {
    for m in ["- ", "* ", "+ ", "• ", "#. "] {
        if let Some(r) = t.strip_prefix(m) {
            return Some(r);
        }
    }
    let d = t.chars().take_while(|c| c.is_ascii_alphanumeric()).count();
    if (1..=3).contains(&d) {
        let rest = &t[d..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            if t[..d].chars().all(|c| c.is_ascii_digit()) || d == 1 {
                return Some(r);
            }
        }
    }
    None
}

/// Strip inline markup.
pub fn clean_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        // :role:`text` or `text`:role:
        if let Some(r) = role_prefix(rest) {
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix("``") {
            if let Some(end) = r.find("``") {
                out.push_str(&r[..end]);
                rest = &r[end + 2..];
                continue;
            }
        }
        if let Some(r) = rest.strip_prefix('`') {
            if let Some(end) = r.find('`') {
                let inner = &r[..end];
                // `label <target>` keeps the label.
                let label = match (inner.rfind('<'), inner.ends_with('>')) {
                    (Some(lt), true) if lt > 0 => inner[..lt].trim_end(),
                    _ => inner,
                };
                out.push_str(label.trim_start_matches('~').trim_start_matches('!'));
                rest = r[end + 1..]
                    .trim_start_matches("__")
                    .trim_start_matches('_');
                if let Some(r2) = role_prefix(rest) {
                    rest = r2;
                }
                continue;
            }
        }
        // A backquote whose partner is on another line (markup wrapped over lines).
        if let Some(r) = rest.strip_prefix('`') {
            rest = r.trim_start_matches('_');
            continue;
        }
        let c = rest.chars().next().unwrap();
        match c {
            '*' => {}
            '|' if rest.len() > 1 && !rest[1..].starts_with(' ') => {}
            '_' => {
                // A reference's trailing underscore (word_ ) goes; inner ones stay.
                let next = rest[1..].chars().next();
                if next.is_some_and(|n| n.is_alphanumeric()) {
                    out.push('_');
                }
            }
            '\\' => {}
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    normalize_spaces(&out)
}

/// `:role:` directly before a backquote: skip it.
fn role_prefix(s: &str) -> Option<&str> {
    let r = s.strip_prefix(':')?;
    let end = r.find(':')?;
    let name = &r[..end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
    {
        return None;
    }
    let after = &r[end + 1..];
    after.starts_with('`').then_some(after)
}

/// Parse reStructuredText into one document part.
pub fn parse(text: &str) -> Part {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let mut blocks: Vec<Block> = Vec::new();
    let mut meta: Vec<String> = Vec::new();
    let mut styles: Vec<(char, bool)> = Vec::new();
    let mut cur = Block::default();
    let mut in_list = false;
    let flush = |cur: &mut Block, blocks: &mut Vec<Block>, in_list: &mut bool| {
        if !cur.text.is_empty() {
            blocks.push(std::mem::take(cur));
        }
        *in_list = false;
    };
    // Skip lines indented more than `base` (and blank lines among them).
    let skip_indented = |from: usize, base: usize| -> usize {
        let mut j = from;
        while j < lines.len() {
            let l = lines[j];
            if l.trim().is_empty() || indent(l) > base {
                j += 1;
            } else {
                break;
            }
        }
        j
    };
    let mut i = 0;
    while i < lines.len() {
        let raw = lines[i];
        let t = raw.trim();
        let no = i + 1;
        if t.is_empty() {
            flush(&mut cur, &mut blocks, &mut in_list);
            i += 1;
            continue;
        }
        // Section title with overline: ===\nTitle\n===
        if let Some(c) = adornment(t) {
            let title = lines.get(i + 1).map(|l| l.trim()).unwrap_or("");
            let under = lines.get(i + 2).and_then(|l| adornment(l.trim()));
            if cur.text.is_empty()
                && !title.is_empty()
                && under == Some(c)
                && adornment(title).is_none()
            {
                flush(&mut cur, &mut blocks, &mut in_list);
                push_heading(&mut blocks, &mut styles, (c, true), title, i + 2);
                i += 3;
                continue;
            }
            // A transition, a table border, or a stray underline.
            flush(&mut cur, &mut blocks, &mut in_list);
            i += 1;
            continue;
        }
        // Section title with underline only: the next line adorns this one.
        if cur.text.is_empty() && indent(raw) == 0 {
            if let Some(c) = lines.get(i + 1).and_then(|l| adornment(l)) {
                if !t.starts_with("..") {
                    push_heading(&mut blocks, &mut styles, (c, false), t, no);
                    i += 2;
                    continue;
                }
            }
        }
        // Explicit markup (and anonymous hyperlink targets, `__ url`).
        if t == ".." || t.starts_with(".. ") || t == "__" || t.starts_with("__ ") {
            flush(&mut cur, &mut blocks, &mut in_list);
            let base = indent(raw);
            let body = t[2..].trim_start();
            let directive = body
                .split_once("::")
                .map(|(name, _)| name.trim().to_ascii_lowercase())
                .filter(|name| {
                    !name.contains(' ') && !name.starts_with('_') && !name.starts_with('|')
                });
            match directive {
                Some(name) if ADMONITIONS.contains(&name.as_str()) => {
                    // Keep the directive's argument line and its body (after its options).
                    let arg = body.split_once("::").map(|(_, a)| a.trim()).unwrap_or("");
                    if !arg.is_empty() && name != "versionadded" && name != "versionchanged" {
                        cur.push(&clean_inline(arg), no);
                    }
                    i += 1;
                    while i < lines.len()
                        && lines[i].trim().starts_with(':')
                        && indent(lines[i]) > base
                    {
                        i += 1;
                    }
                }
                _ => {
                    i = skip_indented(i + 1, base);
                }
            }
            continue;
        }
        // Field list at the start of a block: metadata.
        if cur.text.is_empty() && t.starts_with(':') {
            if let Some(end) = t[1..]
                .find(": ")
                .or_else(|| t[1..].ends_with(':').then(|| t.len() - 2))
            {
                let name = &t[1..=end];
                if !name.is_empty() && !name.contains('`') {
                    let value = clean_inline(t[end + 2..].trim());
                    if !value.is_empty() {
                        meta.push(format!("{}: {}", name, value));
                    }
                    i = skip_indented(i + 1, indent(raw));
                    continue;
                }
            }
        }
        // Table rows: | a | b | (line blocks too).
        let t = if t.starts_with("| ") || t.starts_with('|') && t.ends_with('|') {
            t.trim_matches('|').trim()
        } else {
            t
        };
        let item = list_item(t);
        let piece = match item {
            Some(r) => {
                if !in_list {
                    flush(&mut cur, &mut blocks, &mut in_list);
                }
                in_list = true;
                r
            }
            None => t,
        };
        // A paragraph ending in "::" introduces a literal block, left out.
        let literal = piece.ends_with("::");
        let piece = if literal {
            let p = piece.trim_end_matches("::").trim_end();
            if p.is_empty() || piece.ends_with(" ::") {
                p.to_string()
            } else {
                format!("{p}:")
            }
        } else {
            piece.to_string()
        };
        let cleaned = clean_inline(&piece);
        if !cleaned.is_empty() {
            cur.push(&cleaned, no);
        }
        i += 1;
        if literal {
            // The block is the indented text after the next blank line(s).
            let mut j = i;
            while j < lines.len() && lines[j].trim().is_empty() {
                j += 1;
            }
            if j > i && j < lines.len() && indent(lines[j]) > indent(raw) {
                flush(&mut cur, &mut blocks, &mut in_list);
                i = skip_indented(j, indent(raw));
            }
        }
    }
    flush(&mut cur, &mut blocks, &mut in_list);
    let title = title_from_headings(&mut blocks, None);
    let first = 1;
    let last = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(first, |p| p + 1);
    Part {
        title,
        blocks,
        meta,
        lines: (first, last),
    }
}

fn push_heading(
    blocks: &mut Vec<Block>,
    styles: &mut Vec<(char, bool)>,
    style: (char, bool),
    text: &str,
    no: usize,
) {
    let level = match styles.iter().position(|s| *s == style) {
        Some(p) => p + 1,
        None => {
            styles.push(style);
            styles.len()
        }
    };
    let text = clean_inline(text);
    let mut b = Block {
        heading: Some(level.min(6) as u8),
        title_text: Some(text.clone()),
        ..Block::default()
    };
    b.push(&text, no);
    blocks.push(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(p: &Part) -> Vec<(Option<u8>, String)> {
        p.blocks
            .iter()
            .map(|b| (b.heading, b.text.clone()))
            .collect()
    }

    #[test]
    fn kernel_style_file() {
        let src = "\
.. SPDX-License-Identifier: GPL-2.0
.. include:: <isonum.txt>

=====================
The Example Subsystem
=====================

:Author: Jane Doe <jane@example.org>

Introduction
============

This driver talks to the :ref:`frobnicator <frob-intro>` over ``i2c`` and
*never* sleeps.  See `the site <https://example.org>`_ or frob_.

.. note::
   Keep the device powered while probing.

Example::

    $ modprobe frob
    $ echo 1 > /sys/frob

Details
-------

- first item
- second item
  wraps here

.. code-block:: c

   int main(void) { return 0; }

Last paragraph here.
";
        let p = parse(src);
        assert_eq!(p.title.as_deref(), Some("The Example Subsystem"));
        assert_eq!(p.meta, vec!["Author: Jane Doe <jane@example.org>"]);
        assert_eq!(
            texts(&p),
            vec![
                (Some(2), "Introduction".to_string()),
                (
                    None,
                    "This driver talks to the frobnicator over i2c and never sleeps. See the site or frob."
                        .to_string()
                ),
                (None, "Keep the device powered while probing.".to_string()),
                (None, "Example:".to_string()),
                (Some(3), "Details".to_string()),
                (None, "first item second item wraps here".to_string()),
                (None, "Last paragraph here.".to_string()),
            ]
        );
    }

    #[test]
    fn chinese_headings_with_short_underlines() {
        let p = parse("概述\n====\n\n这是第一段。\n\n安装\n----\n\n运行安装程序。\n");
        assert_eq!(p.title.as_deref(), Some("概述"));
        assert_eq!(
            texts(&p),
            vec![
                (None, "这是第一段。".to_string()),
                (Some(2), "安装".to_string()),
                (None, "运行安装程序。".to_string()),
            ]
        );
    }
}
