//! Markdown input.
//!
//! Paragraphs are separated by blank lines; lines inside one are joined like
//! wrapped text. `#` … `######` (and setext `===`/`---` underlines) are
//! headings: when the file has exactly one level-1 heading it is the document
//! title and not a section; with several, the first gives the title and all of
//! them are sections. Without any, a `title:` in YAML front matter is used.
//! Consecutive list items form one block (so a short list is one passage, not
//! a row of fragments); fenced code blocks are one block each. Inline markup
//! is reduced to its text: links and images keep their label, emphasis and
//! code markers are dropped.

use super::reflow::{title_from_headings, Block};
use super::text::normalize_spaces;
use super::Part;

/// Strip inline Markdown markup.
pub fn clean_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // ![alt](url) and [text](url)
        if c == '[' || (c == '!' && chars.get(i + 1) == Some(&'[')) {
            let open = if c == '!' { i + 1 } else { i };
            if let Some(close) = chars[open..]
                .iter()
                .position(|&x| x == ']')
                .map(|p| p + open)
            {
                if chars.get(close + 1) == Some(&'(') {
                    if let Some(end) = chars[close..]
                        .iter()
                        .position(|&x| x == ')')
                        .map(|p| p + close)
                    {
                        out.extend(&chars[open + 1..close]);
                        i = end + 1;
                        continue;
                    }
                }
            }
        }
        match c {
            '*' | '`' => {}
            '_' => {
                let prev = i.checked_sub(1).map(|p| chars[p]);
                let next = chars.get(i + 1).copied();
                let inner = prev.is_some_and(|p| p.is_alphanumeric())
                    && next.is_some_and(|n| n.is_alphanumeric());
                if inner {
                    out.push('_');
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    normalize_spaces(&out)
}

fn atx_heading(t: &str) -> Option<(u8, &str)> {
    let level = t.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &t[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some((level as u8, rest.trim().trim_end_matches('#').trim()))
}

fn list_marker(t: &str) -> Option<&str> {
    for m in ["- ", "* ", "+ "] {
        if let Some(r) = t.strip_prefix(m) {
            return Some(r);
        }
    }
    let d = t.chars().take_while(|c| c.is_ascii_digit()).count();
    if d > 0 && d <= 3 {
        let rest = &t[d..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(r);
        }
    }
    None
}

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
    let mut blocks: Vec<Block> = Vec::new();
    let mut cur = Block::default();
    let mut in_list = false;
    let mut fence: Option<&'static str> = None;
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
    let flush = |cur: &mut Block, blocks: &mut Vec<Block>, in_list: &mut bool| {
        if !cur.text.is_empty() {
            blocks.push(std::mem::take(cur));
        }
        *in_list = false;
    };
    for (no, raw) in lines.iter().skip(start) {
        let no = *no;
        let t = raw.trim();
        if let Some(f) = fence {
            if t.starts_with(f) {
                fence = None;
                flush(&mut cur, &mut blocks, &mut in_list);
            } else if !t.is_empty() {
                cur.push(t, no);
            }
            continue;
        }
        if t.starts_with("```") || t.starts_with("~~~") {
            flush(&mut cur, &mut blocks, &mut in_list);
            fence = Some(if t.starts_with("```") { "```" } else { "~~~" });
            continue;
        }
        if t.is_empty() {
            flush(&mut cur, &mut blocks, &mut in_list);
            continue;
        }
        if t.starts_with("<!--") {
            continue;
        }
        if let Some((level, h)) = atx_heading(t) {
            flush(&mut cur, &mut blocks, &mut in_list);
            let mut b = Block {
                heading: Some(level),
                ..Block::default()
            };
            b.push(&clean_inline(h), no);
            blocks.push(b);
            continue;
        }
        let rule = t.len() >= 3 && (t.chars().all(|c| c == '=') || t.chars().all(|c| c == '-'));
        if rule || (t.len() >= 2 && t.chars().all(|c| c == '=')) {
            if cur.spans.len() == 1 && !in_list && cur.heading.is_none() {
                cur.heading = Some(if t.starts_with('=') { 1 } else { 2 });
                cur.spans[0].1 = cur.spans[0].1.min(no);
            }
            flush(&mut cur, &mut blocks, &mut in_list);
            continue;
        }
        if t == "***" || t == "___" {
            flush(&mut cur, &mut blocks, &mut in_list);
            continue;
        }
        let t = t.trim_start_matches('>').trim();
        let t = match list_marker(t) {
            Some(item) => {
                if !in_list {
                    flush(&mut cur, &mut blocks, &mut in_list);
                }
                in_list = true;
                item
            }
            None => t,
        };
        let cleaned = clean_inline(t);
        if !cleaned.is_empty() {
            cur.push(&cleaned, no);
        }
    }
    flush(&mut cur, &mut blocks, &mut in_list);

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
