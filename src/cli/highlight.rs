//! Highlighting a query's key terms in a paragraph: Latin words of three letters or more
//! (not stop words) and pairs of adjacent CJK characters (not function-word pairs).

/// How highlighted spans are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Bold yellow on a terminal.
    Ansi,
    /// `**term**`, readable when piped.
    Stars,
}

const STOP: &[&str] = &[
    "the", "and", "for", "what", "which", "who", "whom", "how", "why", "when", "where", "does", "did", "are", "was",
    "were", "with", "about", "from", "that", "this", "these", "those", "into", "its", "their", "there", "should",
    "would", "could", "can", "has", "have", "had", "been", "being", "not", "any", "all", "more", "most", "than",
];

const CJK_FUNCTION: &str = "的了是在和与及或把被对为将也都就而其之所以这那哪些么什怎如何吗呢吧啊";

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// The key terms of a query, lower-cased.
pub fn key_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut word = String::new();
    let chars: Vec<char> = query.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_alphanumeric() && !is_cjk(c) {
            word.extend(c.to_lowercase());
        } else {
            push_word(&mut terms, &mut word);
        }
        if is_cjk(c) && i + 1 < chars.len() && is_cjk(chars[i + 1]) {
            let (a, b) = (c, chars[i + 1]);
            if !CJK_FUNCTION.contains(a) && !CJK_FUNCTION.contains(b) {
                terms.push(format!("{a}{b}"));
            }
        }
    }
    push_word(&mut terms, &mut word);
    terms.sort();
    terms.dedup();
    terms
}

fn push_word(terms: &mut Vec<String>, word: &mut String) {
    let keep = word.chars().count() >= 3 && !STOP.contains(&word.as_str()) || word.chars().any(|c| c.is_ascii_digit());
    if keep {
        terms.push(std::mem::take(word));
    }
    word.clear();
}

/// Byte ranges of `text` covered by `terms` (case-insensitive for Latin), merged.
pub fn spans(text: &str, terms: &[String]) -> Vec<(usize, usize)> {
    let lower = text.to_lowercase();
    if lower.len() != text.len() {
        // Lower-casing changed byte offsets (rare scripts): match case-sensitively.
        return merge(find_all(text, terms));
    }
    merge(find_all(&lower, terms))
}

fn find_all(hay: &str, terms: &[String]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for t in terms {
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

/// `text` with the query's key terms marked.
pub fn highlight(text: &str, query: &str, mark: Mark) -> String {
    let (open, close) = match mark {
        Mark::Ansi => ("\x1b[1;33m", "\x1b[0m"),
        Mark::Stars => ("**", "**"),
    };
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    for (s, e) in spans(text, &key_terms(query)) {
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

    #[test]
    fn chinese_and_english_terms() {
        let t = key_terms("新质生产力的核心要素是什么？");
        assert!(t.contains(&"新质".to_string()) && t.contains(&"核心".to_string()), "{t:?}");
        assert!(!t.contains(&"什么".to_string()), "{t:?}");
        let e = key_terms("What is the role of green finance?");
        assert_eq!(e, vec!["finance", "green", "role"]);
    }

    #[test]
    fn marks_spans() {
        let h = highlight("科技创新是发展新质生产力的核心要素", "新质生产力的核心要素", Mark::Stars);
        assert_eq!(h, "科技创新是发展**新质生产力**的**核心要素**");
        assert_eq!(highlight("Green finance matters", "green finance", Mark::Stars), "**Green** **finance** matters");
    }
}
