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

use super::script::is_cjk;
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

/// Characters that end a sentence or a paragraph line.
pub fn is_terminal(c: char) -> bool {
    matches!(
        c,
        '。' | '！' | '？' | '!' | '?' | '；' | ';' | '…' | '.' | '：' | ':'
    )
}

/// Closing quotes / brackets that may follow terminal punctuation.
pub fn is_closer(c: char) -> bool {
    matches!(
        c,
        '”' | '’' | '"' | '\'' | '」' | '』' | '》' | '）' | ')' | '】' | ']'
    )
}

/// Sentences shorter than this many characters get no vector of their own.
pub const MIN_SENTENCE_CHARS: usize = 8;

/// The sentences of a paragraph that the index embeds on their own: none unless it has two
/// or more of at least [`MIN_SENTENCE_CHARS`] characters (a one-sentence paragraph is its
/// own sentence).
pub fn sentence_units(text: &str) -> Vec<&str> {
    let s: Vec<&str> = sentences(text)
        .into_iter()
        .filter(|s| s.chars().count() >= MIN_SENTENCE_CHARS)
        .collect();
    if s.len() >= 2 {
        s
    } else {
        Vec::new()
    }
}

/// Byte ranges of a paragraph's sentences ([`sentence_units`]), contiguous: each runs from
/// the end of the one before to its own end (empty for a one-sentence paragraph).
pub fn sentence_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut start = 0;
    sentence_units(text)
        .into_iter()
        .map(|u| {
            let end = u.as_ptr() as usize - text.as_ptr() as usize + u.len();
            let span = start..end;
            start = end;
            span
        })
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

    #[test]
    fn sentence_units_need_two_real_sentences() {
        assert_eq!(
            sentence_units("要坚持把金融服务实体经济作为根本宗旨。深化金融供给侧结构性改革！好。"),
            vec![
                "要坚持把金融服务实体经济作为根本宗旨。",
                "深化金融供给侧结构性改革！"
            ]
        );
        assert_eq!(
            sentence_units("GDP grew 5.3% last year. Exports rose by 7.1% as well."),
            vec!["GDP grew 5.3% last year.", "Exports rose by 7.1% as well."]
        );
        // One sentence (plus a fragment too short to stand alone) gets no sentence vectors.
        assert!(sentence_units("会议还研究了其他事项。好。").is_empty());
        assert!(sentence_units("A single sentence without a full stop").is_empty());
    }

    #[test]
    fn sentence_spans_are_contiguous_and_end_on_each_sentence() {
        let text = "  First sentence here. Second one follows!  第三句在这里。";
        let spans = sentence_spans(text);
        let units = sentence_units(text);
        assert_eq!(spans.len(), units.len());
        assert_eq!(spans[0].start, 0);
        for (w, u) in spans.windows(2).zip(&units) {
            assert_eq!(w[0].end, w[1].start);
            assert!(text[w[0].clone()].ends_with(u), "{:?}", &text[w[0].clone()]);
        }
        assert!(text[spans.last().unwrap().clone()].ends_with(units.last().unwrap()));
        assert!(sentence_spans("One sentence only.").is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Chunks are in order, disjoint, cut at character boundaries, at most `max`
        /// characters, and together keep every non-space character of the text.
        #[test]
        fn chunks_cover_the_text_within_the_limit(
            text in proptest::collection::vec(proptest::sample::select(ALPHABET), 0..400),
            max in 1usize..80,
        ) {
            let text: String = text.into_iter().collect();
            let chunks = split_chunks(&text, max);
            let mut at = 0;
            let mut kept = String::new();
            for r in &chunks {
                proptest::prop_assert!(r.start >= at && r.start < r.end, "{chunks:?}");
                proptest::prop_assert!(text.is_char_boundary(r.start) && text.is_char_boundary(r.end));
                proptest::prop_assert!(text[r.clone()].chars().count() <= max, "{:?}", &text[r.clone()]);
                kept.extend(text[r.clone()].chars().filter(|c| !c.is_whitespace()));
                at = r.end;
            }
            let all: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            proptest::prop_assert_eq!(kept, all);
            for s in sentences(&text) {
                proptest::prop_assert!(!s.is_empty() && text.contains(s));
            }
        }
    }

    /// Sentence and clause punctuation of both scripts, quotes and brackets, spaces, digits.
    const ALPHABET: &[char] = &[
        '中', '文', '句', '子', 'a', 'b', 'c', 'x', ' ', ' ', '\n', '\u{3000}', '。', '！', '？',
        '；', '…', '，', '、', '：', '.', '!', '?', ';', ',', ':', '"', '”', '」', '）', ')', '5',
        '3', '%',
    ];
}
