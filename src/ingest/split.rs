//! Splitting long paragraphs into chunks of at most `max_chars` characters.
//!
//! The text is cut into units at the coarsest level that works, in one pass
//! per level so the whole thing is linear in the text length:
//!
//! 1. sentences — after 。！？；… or `.!?;` (the ASCII ones only when followed by
//!    whitespace, a CJK character, a closing quote or the end, so "5.3%" and
//!    "e.g.x" are not cut), including any closing quotes/brackets that follow;
//! 2. clauses — after ，、,：: — for a single sentence longer than `max_chars`;
//! 3. whitespace — for Latin text without punctuation;
//! 4. a hard cut at `max_chars` characters as the last resort.
//!
//! Units are packed greedily into chunks; chunk boundaries are trimmed of
//! whitespace. The result is a list of byte ranges into the input.

use super::text::{is_cjk, is_closer};
use std::ops::Range;

#[derive(Clone, Copy)]
enum Level {
    Sentence,
    Clause,
    Space,
}

fn is_boundary(level: Level, c: char, next: Option<char>) -> bool {
    match level {
        Level::Sentence => match c {
            '。' | '！' | '？' | '；' | '…' => true,
            '.' | '!' | '?' | ';' => {
                next.is_none_or(|n| n.is_whitespace() || is_cjk(n) || is_closer(n))
            }
            _ => false,
        },
        Level::Clause => matches!(c, '，' | '、' | '：' | ',' | ':'),
        Level::Space => c.is_whitespace(),
    }
}

/// Units of `text[range]` at `level`: `(byte range, char count)`.
fn units(text: &str, range: Range<usize>, level: Level) -> Vec<(Range<usize>, usize)> {
    let s = &text[range.clone()];
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut count = 0usize;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        count += 1;
        if is_boundary(level, c, it.peek().map(|p| p.1)) {
            let mut end = i + c.len_utf8();
            // Swallow closing quotes/brackets (and repeated terminals like "！！").
            while let Some(&(j, n)) = it.peek() {
                if is_closer(n)
                    || (matches!(level, Level::Sentence) && matches!(n, '。' | '！' | '？' | '…'))
                {
                    end = j + n.len_utf8();
                    count += 1;
                    it.next();
                } else {
                    break;
                }
            }
            out.push((range.start + start..range.start + end, count));
            start = end;
            count = 0;
        }
    }
    if start < s.len() {
        out.push((range.start + start..range.end, count));
    }
    out
}

/// Split `text` into byte ranges of at most `max` characters each.
pub fn split_chunks(text: &str, max: usize) -> Vec<Range<usize>> {
    let max = max.max(1);
    let mut out = Vec::new();
    split_level(text, 0..text.len(), max, 0, &mut out);
    out.into_iter()
        .filter_map(|r| trim_range(text, r))
        .collect()
}

/// The sentences of `text` (split as in [`split_chunks`]'s first level, trimmed), in order.
pub fn sentences(text: &str) -> Vec<&str> {
    units(text, 0..text.len(), Level::Sentence)
        .into_iter()
        .filter_map(|(r, _)| trim_range(text, r))
        .map(|r| &text[r])
        .collect()
}

fn trim_range(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    let s = &text[r.clone()];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    (lead + trail < s.len()).then(|| r.start + lead..r.end - trail)
}

fn split_level(
    text: &str,
    range: Range<usize>,
    max: usize,
    level: usize,
    out: &mut Vec<Range<usize>>,
) {
    let lvl = match level {
        0 => Level::Sentence,
        1 => Level::Clause,
        2 => Level::Space,
        _ => return hard_cut(text, range, max, out),
    };
    let mut cur: Option<(Range<usize>, usize)> = None;
    for (r, n) in units(text, range, lvl) {
        if n > max {
            if let Some((c, _)) = cur.take() {
                out.push(c);
            }
            split_level(text, r, max, level + 1, out);
            continue;
        }
        match &mut cur {
            Some((c, count)) if *count + n <= max => {
                c.end = r.end;
                *count += n;
            }
            _ => {
                if let Some((c, _)) = cur.take() {
                    out.push(c);
                }
                cur = Some((r, n));
            }
        }
    }
    if let Some((c, _)) = cur {
        out.push(c);
    }
}

fn hard_cut(text: &str, range: Range<usize>, max: usize, out: &mut Vec<Range<usize>>) {
    let mut start = range.start;
    let mut count = 0;
    for (i, _) in text[range.clone()].char_indices() {
        if count == max {
            out.push(start..range.start + i);
            start = range.start + i;
            count = 0;
        }
        count += 1;
    }
    if start < range.end {
        out.push(start..range.end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_max() {
        let text = "第一句话很短。第二句话也不长！第三句“带引号。”第四句；".repeat(20);
        for r in split_chunks(&text, 50) {
            let s = &text[r];
            assert!(s.chars().count() <= 50);
            assert!(s.ends_with(['。', '！', '”', '；']), "{s}");
        }
        let long = "甲".repeat(130);
        let parts = split_chunks(&long, 50);
        assert_eq!(parts.len(), 3);
        let t = "Growth was 5.3% in 2023. Next sentence here.";
        let parts: Vec<_> = split_chunks(t, 30).into_iter().map(|r| &t[r]).collect();
        assert_eq!(
            parts,
            vec!["Growth was 5.3% in 2023.", "Next sentence here."]
        );
    }
}
