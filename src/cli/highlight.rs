//! Marking key terms (from [`crate::link::terms::shared_terms`]) in a paragraph.

/// How highlighted spans are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Bold yellow on a terminal.
    Ansi,
    /// `**term**`, readable when piped.
    Stars,
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
}
