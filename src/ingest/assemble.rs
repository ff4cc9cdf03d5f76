//! From blocks to indexed paragraphs: headings, fragments, chunks and ids.
//!
//! Each block of a document is classified, in order:
//!
//! * **Heading** — explicit (Markdown/HTML) or a standalone heading label
//!   (see [`heading`](super::heading)): updates the section stack, not indexed.
//! * **Note** — a block wholly in brackets, such as a source note
//!   "（2021年10月13日在中央人大工作会议上的讲话）" after an excerpt or a date line
//!   "（2024年2月8日，上午）" under a title: appended to the previous paragraph
//!   when there is one in the same section, otherwise kept as document metadata.
//! * **Preamble** — before the first paragraph, bylines, "——" subtitles and
//!   other short unpunctuated lines are document metadata.
//! * **List items** — after a paragraph ending in a colon, short enumerated
//!   items ("（一）坚持党的全面领导；") are appended to it, so an article and its
//!   list form one passage.
//! * **Fragments** shorter than `min_chars`: salutations ("同志们、朋友们！",
//!   "各位代表：") and anything ending in a colon are prepended to the *next*
//!   paragraph; short unpunctuated lines are unnumbered headings; other short
//!   sentences ("谢谢大家！", "《条例》全文如下。") are appended to the previous
//!   paragraph of the same section, or to the next one if there is none — unless a
//!   heading comes first: then they are a passage of their own, in their own section (a
//!   manual page's NAME line "mkdir - 创建目录" is not the start of its SYNOPSIS).
//! * **Tables and code** (from markup or a PDF's layout) are passages of their own,
//!   never merged with prose; under `min_chars` they are left out.
//! * Everything else is a **paragraph**. If it starts with an inline label
//!   (第三条, （一）学史明理。…) that label opens a section.
//!
//! Paragraphs longer than `max_chars` are then split at sentence boundaries
//! ([`split`](crate::text::split)), and every chunk gets its line range and a stable
//! id `"{doc_id}.{ordinal}-{hash8(text)}"`.

use super::docsplit::is_byline;
use super::heading::{inline_section, parse_label, standalone_heading, HeadingKind, SectionStack};
use super::layout::{Line, Sep};
use super::reflow::Block;
use super::text::{
    char_len, ends_terminal, ends_with_close_paren, hash8, normalize_spaces, normalize_title_spaces,
};
use super::{IngestOptions, Paragraph};
use crate::text::split::split_chunks;

/// Navigation in any format, dropped: an index's bar of initials ("! % & * + – . / : < > ?
/// ^ | ~ A B D E F G …", each letter a link to its part of the index; two columns' bars
/// can share a line), perhaps after a label ("Jump to: # $ . [ A B D …"): four or more
/// marks of one character each, no letter or digit but capitals in alphabetical order
/// (starting over at most once in eight), and at least half of them capitals unless a
/// label says what eight or more are.
pub(crate) fn is_initials_bar(t: &str) -> bool {
    let (labelled, t) = match t.split_once(':') {
        Some((label, rest)) if (1..=3).contains(&label.split_whitespace().count()) => {
            (label.chars().all(|c| c.is_alphabetic() || c == ' '), rest)
        }
        _ => (false, t),
    };
    let marks: Vec<char> = t
        .split_whitespace()
        .map(|m| {
            let mut c = m.chars();
            match (c.next(), c.next()) {
                (Some(c), None) => c,
                _ => 'a', // more than one character: no mark
            }
        })
        .collect();
    if marks.len() < 4
        || marks
            .iter()
            .any(|c| c.is_alphanumeric() && !c.is_ascii_uppercase())
    {
        return false;
    }
    let n = marks.len();
    let capitals: Vec<char> = marks.into_iter().filter(char::is_ascii_uppercase).collect();
    let restarts = capitals.windows(2).filter(|w| w[0] >= w[1]).count();
    (labelled && n >= 8 || capitals.len() * 2 >= n) && restarts <= capitals.len() / 8
}

/// A fragment that addresses or introduces what follows: a salutation or anything ending
/// in a colon.
fn leads_in(s: &str) -> bool {
    is_vocative(s) || s.ends_with(['：', ':'])
}

/// Salutations addressed to the audience.
fn is_vocative(s: &str) -> bool {
    let terms = [
        "同志们",
        "朋友们",
        "各位",
        "代表们",
        "女士们",
        "先生们",
        "同学们",
        "Ladies",
        "Dear ",
        "Friends",
    ];
    char_len(s) <= 24
        && s.ends_with(['！', '!', '：', ':', '，', ','])
        && terms.iter().any(|t| s.contains(t))
}

/// A caption's label: "Table 5.7.", "表 5.7", "Listing 3", "Example 2" and the like.
fn is_caption(s: &str) -> bool {
    const LABELS: &[&str] = &[
        "Table", "Tabelle", "Tableau", "Tabla", "Tabella", "Listing", "Example", "Beispiel",
        "Exemple", "表", "例", "列表",
    ];
    LABELS.iter().any(|l| {
        s.strip_prefix(l)
            .is_some_and(|rest| rest.trim_start().starts_with(|c: char| c.is_ascii_digit()))
    })
}

fn is_note(s: &str) -> bool {
    s.starts_with(['（', '(']) && ends_with_close_paren(s) && char_len(s) <= 160
}

fn looks_like_byline(s: &str) -> bool {
    let line = Line {
        no: 0,
        text: normalize_spaces(s),
        orig: s.to_string(),
        indent: 0,
        extent: 0,
        trailing_ws: false,
        trailing_wide: false,
        sep: Sep::Wrap,
        split_before: false,
    };
    is_byline(&line)
}

/// Bracket depth change of `s`: `（` / `(` open, `）` / `)` close.
fn bracket_balance(s: &str) -> i32 {
    s.chars()
        .map(|c| match c {
            '（' | '(' => 1,
            '）' | ')' => -1,
            _ => 0,
        })
        .sum()
}

/// Parentheses do not span paragraphs: a block that leaves a bracket open
/// (a two-line date note "（2024年1月18日……审议批准" / "2024年2月5日……发布）" cut
/// by a paragraph-end signal) is re-joined with the following blocks that
/// close it — at most three blocks and 200 characters.
fn merge_open_brackets(blocks: Vec<Block>) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::with_capacity(blocks.len());
    let mut open: Option<(i32, usize)> = None; // (balance, blocks merged)
    for b in blocks {
        if let (Some((bal, n)), Some(last)) = (open, out.last_mut()) {
            let nb = bal + bracket_balance(&b.text);
            if b.heading.is_none()
                && n < 3
                && char_len(&last.text) + char_len(&b.text) <= 200
                && nb < bal
            {
                last.append(b);
                open = (nb > 0).then_some((nb, n + 1));
                continue;
            }
        }
        let bal = bracket_balance(&b.text);
        open = (bal > 0 && b.heading.is_none()).then_some((bal, 1));
        out.push(b);
    }
    out
}

struct Para {
    block: Block,
    section: Option<String>,
}

/// Output of [`assemble`].
pub struct Assembled {
    pub paragraphs: Vec<Paragraph>,
    pub meta: Vec<String>,
}

/// Turn the blocks of one document into paragraphs.
///
/// `infer_headings`: whether short unpunctuated blocks may be taken as
/// unnumbered headings (plain text); structured formats mark their headings
/// explicitly, so there such blocks are treated as ordinary fragments.
pub fn assemble(
    blocks: Vec<Block>,
    doc_id: &str,
    source: &str,
    opts: &IngestOptions,
    infer_headings: bool,
) -> Assembled {
    let min = opts.min_chars;
    let mut paras: Vec<Para> = Vec::new();
    let mut meta: Vec<String> = Vec::new();
    let mut stack = SectionStack::default();
    let mut pending: Option<Block> = None; // fragments waiting for the next paragraph
    let mut heading_since_last = false;
    let mut in_list = false; // absorbing short list items into the last paragraph

    let mut caption: Option<Block> = None; // a table's or listing's title, for it
    let mut blocks = merge_open_brackets(blocks).into_iter().peekable();
    while let Some(mut block) = blocks.next() {
        if block.heading.is_none() && is_initials_bar(&block.text) {
            continue;
        }
        // Tables and code are passages of their own: nothing is merged into them or them
        // into prose, but their caption ("Table 5.7. Firewall tools") is theirs. Shorter
        // than `min_chars` ("$ ls", a one-cell row) they say too little to be found and
        // are left out.
        if block.kind.is_apart() {
            if let Some(c) = caption.take() {
                block.prepend(c);
            }
            if char_len(block.text.trim()) >= min {
                paras.push(Para {
                    block,
                    section: stack.current(),
                });
                heading_since_last = false;
                in_list = false;
            }
            continue;
        }
        let next_apart = blocks.peek().is_some_and(|b| b.kind.is_apart());
        if next_apart
            && block.heading.is_none()
            && (char_len(&block.text) < min || is_caption(&block.text))
        {
            caption = Some(block);
            continue;
        }
        let t = block.text.as_str();
        let standalone = block
            .heading
            .is_none()
            .then(|| standalone_heading(t))
            .flatten();
        // A fragment waiting for the next paragraph stays in its own section when a heading
        // comes first, unless it leads in to what follows ("各位代表：").
        if (block.heading.is_some() || standalone.is_some())
            && pending.as_ref().is_some_and(|p| !leads_in(&p.text))
        {
            paras.push(Para {
                block: pending.take().unwrap(),
                section: stack.current(),
            });
        }
        if let Some(level) = block.heading {
            let title = block.title_text.as_deref().unwrap_or(t);
            stack.push(HeadingKind::Markdown(level), &normalize_title_spaces(title));
            heading_since_last = true;
            continue;
        }
        if let Some(kind) = standalone {
            stack.push(kind, block.title_text.as_deref().unwrap_or(t));
            heading_since_last = true;
            continue;
        }
        let can_append = paras.last().is_some_and(|p| !p.block.kind.is_apart())
            && !heading_since_last
            && pending.is_none();
        if is_note(t) {
            if can_append {
                paras.last_mut().unwrap().block.append(block);
            } else {
                meta.push(block.text);
            }
            continue;
        }
        let n = char_len(t);
        let punct = ends_terminal(t) || ends_with_close_paren(t);
        if paras.is_empty() && pending.is_none() && !is_vocative(t) {
            let byline = looks_like_byline(block.title_text.as_deref().unwrap_or(t));
            let preamble =
                t.starts_with(['—', '―']) || byline || (n < min && !punct && infer_headings);
            if preamble {
                // A "——" subtitle wrapped onto a second line continues it.
                let continues = meta.last().is_some_and(|m| {
                    m.starts_with(['—', '―']) && !ends_terminal(m) && !ends_with_close_paren(m)
                }) && !byline;
                match meta.last_mut() {
                    Some(m) if continues => {
                        super::text::push_joined(m, t);
                    }
                    _ => meta.push(block.text),
                }
                continue;
            }
        }
        let list_item =
            parse_label(t).is_some() && n <= 60 && t.ends_with(['；', ';', '。', '，', ',', '.']);
        if can_append && list_item {
            let last = &paras.last().unwrap().block.text;
            if in_list || last.ends_with(['：', ':']) {
                paras.last_mut().unwrap().block.append(block);
                in_list = true;
                continue;
            }
        }
        in_list = false;
        if n < min {
            if leads_in(t) {
                match &mut pending {
                    Some(p) => p.append(block),
                    None => pending = Some(block),
                }
            } else if !punct && infer_headings {
                stack.push(HeadingKind::Plain, block.title_text.as_deref().unwrap_or(t));
                heading_since_last = true;
            } else if can_append {
                paras.last_mut().unwrap().block.append(block);
            } else {
                match &mut pending {
                    Some(p) => p.append(block),
                    None => pending = Some(block),
                }
            }
            continue;
        }
        if let Some((kind, title)) = inline_section(t) {
            stack.push(kind, &title);
            // "（二）加强……作用。" alone: the lead phrase is the whole block, so
            // it is a sub-heading written as a sentence, not a passage.
            if n <= 40 && char_len(&title) + 1 >= n {
                heading_since_last = true;
                continue;
            }
        }
        let mut block = block;
        if let Some(p) = pending.take() {
            block.prepend(p);
        }
        paras.push(Para {
            block,
            section: stack.current(),
        });
        heading_since_last = false;
    }
    if let Some(p) = pending.take() {
        match paras.last_mut() {
            Some(last) => last.block.append(p),
            None => paras.push(Para {
                block: p,
                section: stack.current(),
            }),
        }
    }

    // Chunk and number.
    let mut paragraphs = Vec::new();
    for para in paras {
        let text = &para.block.text;
        for r in split_chunks(text, opts.max_chars) {
            let (line_start, line_end) = para.block.lines_of(&r);
            let chunk = text[r].to_string();
            let ordinal = paragraphs.len();
            paragraphs.push(Paragraph {
                id: format!("{doc_id}.{ordinal}-{}", hash8(&chunk)),
                doc_id: doc_id.to_string(),
                ordinal,
                section: para.section.clone(),
                text: chunk,
                source: source.to_string(),
                line_start,
                line_end,
                page: None,
                kind: para.block.kind,
            });
        }
    }
    Assembled { paragraphs, meta }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_bars() {
        for t in [
            "! % & * + – . / : < > ? ^ | ~ A B D E F G H I J K L M N O P Q R S T U V W X",
            "A B C D E F G I K L M N O P Q R S T U V W",
            "B C F I L M O P R S U V B C D J L P R T",
            "C I R U",
            "Jump to:   #   $   .   [ A   B   D   E   F   G   I   M",
            "Jump to:   !   %   &   *   +   -   .   /   :   <   =   >   ?   ^   |   ~",
        ] {
            assert!(is_initials_bar(t), "{t}");
        }
        for t in [
            "A B C",
            "A C B D",
            "x y z w v u t s r",
            "Z Y X W V U T S R",
            "A B C D E F G HI",
            "1 2 3 4 5 6 7 8 9",
            "! % & * + - . /",
            "Note: a b c d e",
            "See also: A, B, C, D",
            "Metacharacters: | ; & ( )",
        ] {
            assert!(!is_initials_bar(t), "{t}");
        }
    }
}
