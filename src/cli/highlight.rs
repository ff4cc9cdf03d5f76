//! Marking key terms (from [`crate::link::terms::shared_terms`]) in a paragraph.

/// How highlighted spans are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Bold yellow on a terminal.
    Ansi,
    /// `**term**`, readable when piped.
    Stars,
}

impl Mark {
    /// Colour on a terminal unless `NO_COLOR` is set to anything but "" (no-color.org);
    /// stars when piped.
    pub fn choose(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Mark {
        if terminal && no_color.is_none_or(|v| v.is_empty()) {
            Mark::Ansi
        } else {
            Mark::Stars
        }
    }
}

/// Byte ranges of `text` covered by `terms` (case-insensitive for Latin), merged.
pub fn spans(text: &str, terms: &[String]) -> Vec<(usize, usize)> {
    // Matches in the lower-cased text are byte ranges of `text` only if every character
    // keeps its UTF-8 length ("ẞ" → "ß" shrinks, "İ" → "i̇" grows: two such characters can
    // even keep the total length while moving every boundary between them).
    let same_offsets = text
        .chars()
        .all(|c| c.to_lowercase().map(char::len_utf8).sum::<usize>() == c.len_utf8());
    if !same_offsets {
        return merge(find_all(text, terms));
    }
    merge(find_all(&text.to_lowercase(), terms))
}

fn find_all(hay: &str, terms: &[String]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for t in terms.iter().filter(|t| !t.is_empty()) {
        let mut from = 0;
        while let Some(pos) = hay[from..].find(t.as_str()) {
            let start = from + pos;
            out.push((start, start + t.len()));
            from = start + t.len();
        }
    }
    out
}

fn merge(mut v: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    v.sort();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// `text` with `terms` marked.
pub fn highlight(text: &str, terms: &[String], mark: Mark) -> String {
    let (open, close) = match mark {
        Mark::Ansi => ("\x1b[1;33m", "\x1b[0m"),
        Mark::Stars => ("**", "**"),
    };
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    let lower: Vec<String> = terms.iter().map(|t| t.to_lowercase()).collect();
    for (s, e) in spans(text, &lower) {
        out.push_str(&text[at..s]);
        out.push_str(open);
        out.push_str(&text[s..e]);
        out.push_str(close);
        at = e;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::terms::shared_terms;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert_eq!(Mark::choose(true, None), Mark::Ansi);
        assert_eq!(Mark::choose(true, Some(OsStr::new(""))), Mark::Ansi);
        assert_eq!(Mark::choose(true, Some(OsStr::new("1"))), Mark::Stars);
        assert_eq!(Mark::choose(false, None), Mark::Stars);
    }

    #[test]
    fn marks_shared_terms() {
        let text = "科技创新是发展新质生产力的核心要素";
        let h = highlight(
            text,
            &shared_terms("新质生产力的核心要素是什么？", text),
            Mark::Stars,
        );
        assert_eq!(h, "科技创新是发展**新质生产力的核心要素**");
        let text = "Green finance matters";
        assert_eq!(
            highlight(text, &shared_terms("green finance?", text), Mark::Stars),
            "**Green** **finance** matters"
        );
    }

    #[test]
    fn lower_case_that_moves_boundaries_is_matched_case_sensitively() {
        // "ẞİ" and its lower case "ßi̇" are both 5 bytes, but "i" sits at byte 2 of the
        // lower case, inside "ẞ" in the text: matching there used to cut a character.
        assert_eq!(highlight("ẞİ", &["i".into()], Mark::Stars), "ẞİ");
        assert_eq!(highlight("ẞİ ok", &["ok".into()], Mark::Stars), "ẞİ **ok**");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Whatever the text and terms (scripts whose lower case changes byte lengths
        /// included), marking cuts only at character boundaries and removing the marks
        /// gives the text back.
        #[test]
        fn marks_fall_on_character_boundaries(
            text in proptest::collection::vec(proptest::sample::select(ALPHABET), 0..60),
            terms in proptest::collection::vec(proptest::collection::vec(proptest::sample::select(ALPHABET), 0..4), 0..4),
        ) {
            let text: String = text.into_iter().collect();
            let terms: Vec<String> = terms.into_iter().map(|t| t.into_iter().collect()).collect();
            for (s, e) in spans(&text, &terms.iter().map(|t| t.to_lowercase()).collect::<Vec<_>>()) {
                proptest::prop_assert!(text.is_char_boundary(s) && text.is_char_boundary(e) && s < e);
            }
            let marked = highlight(&text, &terms, Mark::Stars);
            proptest::prop_assert_eq!(marked.replace("**", ""), text.replace("**", ""));
        }
    }

    /// Characters whose lower case is longer or shorter in UTF-8, CJK, Latin, marks.
    const ALPHABET: &[char] = &[
        'a', 'B', 'c', ' ', 'ẞ', 'ß', 'İ', 'i', 'Σ', 'ς', 'K', 'Ⱥ', 'ⱥ', '中', '文', '新', '质',
        'é', '\u{301}', '*', '👍', 'Ω',
    ];
}
