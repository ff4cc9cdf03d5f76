//! Section headings and the section path of each paragraph.
//!
//! Recognised heading labels (at the start of a block):
//!
//! | kind          | examples                     |
//! |---------------|------------------------------|
//! | `Part`        | 第一编, 第一部分             |
//! | `Chapter`     | 第一章 总则                  |
//! | `SectionZh`   | 第二节                       |
//! | `Article`     | 第一条 …(body on same line)  |
//! | `CnEnum`      | 一、明确工作职责             |
//! | `ParenCn`     | （一）学史明理。…            |
//! | `NumDot`      | 1. / 1、 / 1．               |
//! | `ParenNum`    | （1） (2)                    |
//! | `LoneNumeral` | a line that is just 一 / 十二 |
//! | `Markdown(n)` | `#`…`######`, HTML h1–h6     |
//! | `Plain`       | a short unnumbered line without punctuation |
//!
//! A block is a **standalone heading** when it starts with a label, is at most
//! 40 characters, and has no sentence/clause punctuation after the label (a
//! heading has none; a list item "（一）坚持党的全面领导；" or the wrapped first
//! line of an article "第一条 为了推动……，推动全" does). A block that starts
//! with a label but continues with body text ("第一条 为了……", "（一）学史明理。教育
//! 引导……") is an **inline label**: the paragraph keeps its full text and the
//! label — for enumerations plus their short lead phrase, e.g. "（一）学史明理" —
//! becomes the innermost section.
//!
//! **Section path rule.** Heading levels are not fixed: different documents
//! nest the same label styles differently (a regulation puts （一） *inside*
//! 第四条; a report puts （一） inside 一、). So the hierarchy is inferred per
//! document from order of appearance, as outline tools do: a heading of a
//! kind already on the stack closes that entry and everything nested in it;
//! a kind not on the stack nests under the current innermost heading.
//! Markdown levels use their numeric order instead. A paragraph's `section` is
//! the stack joined with " › ", e.g. "第一章 总则 › 第三条".

use super::text::{char_len, is_cn_numeral, normalize_title_spaces};

/// Kind of heading label; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeadingKind {
    Part,
    Chapter,
    SectionZh,
    Article,
    CnEnum,
    ParenCn,
    NumDot,
    ParenNum,
    LoneNumeral,
    Markdown(u8),
    Plain,
}

/// Parse a heading label at the start of `s`; returns its kind and the byte
/// length of the label.
pub fn parse_label(s: &str) -> Option<(HeadingKind, usize)> {
    let mut it = s.char_indices().peekable();
    let (_, first) = *it.peek()?;
    let count_run = |s: &str, pred: &dyn Fn(char) -> bool| -> usize {
        s.chars().take_while(|&c| pred(c)).map(char::len_utf8).sum()
    };
    if first == '第' {
        let rest = &s['第'.len_utf8()..];
        let n = count_run(rest, &|c| {
            is_cn_numeral(c) || c.is_ascii_digit() || c == ' '
        });
        let num = rest[..n].trim();
        if num.is_empty() || char_len(num) > 6 {
            return None;
        }
        let after = &rest[n..];
        let (kind, unit) = if after.starts_with("部分") {
            (HeadingKind::Part, "部分")
        } else if after.starts_with('编') {
            (HeadingKind::Part, "编")
        } else if after.starts_with('章') {
            (HeadingKind::Chapter, "章")
        } else if after.starts_with('节') {
            (HeadingKind::SectionZh, "节")
        } else if after.starts_with('条') {
            (HeadingKind::Article, "条")
        } else {
            return None;
        };
        return Some((kind, '第'.len_utf8() + n + unit.len()));
    }
    if first == '（' || first == '(' {
        let rest = &s[first.len_utf8()..];
        let cn = count_run(rest, &|c| is_cn_numeral(c));
        let dg = count_run(rest, &|c| c.is_ascii_digit());
        let (kind, n) = if cn > 0 && char_len(&rest[..cn]) <= 3 {
            (HeadingKind::ParenCn, cn)
        } else if dg > 0 && dg <= 2 {
            (HeadingKind::ParenNum, dg)
        } else {
            return None;
        };
        let close = rest[n..].chars().next()?;
        if close == '）' || close == ')' {
            return Some((kind, first.len_utf8() + n + close.len_utf8()));
        }
        return None;
    }
    let cn = count_run(s, &|c| is_cn_numeral(c));
    if cn > 0 && char_len(&s[..cn]) <= 3 && s[cn..].starts_with('、') {
        return Some((HeadingKind::CnEnum, cn + '、'.len_utf8()));
    }
    let dg = count_run(s, &|c| c.is_ascii_digit());
    if dg > 0 && dg <= 2 {
        let mut rest = s[dg..].chars();
        let p = rest.next();
        let next = rest.next();
        if matches!(p, Some('.' | '．' | '、')) && !next.is_some_and(|c| c.is_ascii_digit()) {
            return Some((HeadingKind::NumDot, dg + p.unwrap().len_utf8()));
        }
    }
    None
}

/// Is the whole of `s` a Chinese numeral such as 一 or 十二?
pub fn is_lone_numeral(s: &str) -> bool {
    let n = char_len(s);
    (1..=4).contains(&n) && s.chars().all(is_cn_numeral)
}

/// Is `s` a standalone heading? Returns its kind.
pub fn standalone_heading(s: &str) -> Option<HeadingKind> {
    let s = s.trim();
    if is_lone_numeral(s) {
        return Some(HeadingKind::LoneNumeral);
    }
    let (kind, len) = parse_label(s)?;
    // A heading has no clause or sentence punctuation after its label; a
    // wrapped first line of an article ("第一条 为了……，推动全") does.
    let punct = s[len..].contains([
        '。', '；', ';', '，', ',', '：', ':', '！', '？', '!', '?', '、',
    ]);
    (char_len(s) <= 40 && !punct).then_some(kind)
}

/// Convenience for other stages.
pub fn looks_like_heading(s: &str) -> bool {
    standalone_heading(s).is_some()
}

/// For a paragraph that starts with a label, the section entry it opens:
/// articles/chapters give just their label ("第三条"); enumerations give the
/// label plus a short lead phrase ("（一）学史明理").
pub fn inline_section(s: &str) -> Option<(HeadingKind, String)> {
    let (kind, len) = parse_label(s)?;
    let label = s[..len].trim();
    match kind {
        HeadingKind::Part
        | HeadingKind::Chapter
        | HeadingKind::SectionZh
        | HeadingKind::Article => Some((kind, normalize_title_spaces(label))),
        _ => {
            let rest = s[len..].trim_start();
            let lead_end = rest
                .find(['。', '！', '？', '；', '：', '!', '?', ';', ':'])
                .unwrap_or(rest.len());
            let lead = &rest[..lead_end];
            if !lead.is_empty() && char_len(lead) <= 24 {
                Some((kind, normalize_title_spaces(&format!("{label}{lead}"))))
            } else {
                Some((kind, label.to_string()))
            }
        }
    }
}

/// The stack of open headings of one document.
#[derive(Debug, Default, Clone)]
pub struct SectionStack {
    stack: Vec<(HeadingKind, String)>,
}

impl SectionStack {
    /// Open a heading (see the module docs for the nesting rule).
    pub fn push(&mut self, kind: HeadingKind, title: &str) {
        let pos = match kind {
            HeadingKind::Markdown(level) => self
                .stack
                .iter()
                .position(|(k, _)| matches!(k, HeadingKind::Markdown(l) if *l >= level)),
            _ => self.stack.iter().position(|(k, _)| *k == kind),
        };
        if let Some(p) = pos {
            self.stack.truncate(p);
        }
        self.stack.push((kind, title.trim().to_string()));
    }

    /// The current section path, if any.
    pub fn current(&self) -> Option<String> {
        (!self.stack.is_empty()).then(|| {
            self.stack
                .iter()
                .map(|(_, t)| t.as_str())
                .collect::<Vec<_>>()
                .join(" › ")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(
            standalone_heading("第一章 总则"),
            Some(HeadingKind::Chapter)
        );
        assert_eq!(
            standalone_heading("一、明确工作职责"),
            Some(HeadingKind::CnEnum)
        );
        assert_eq!(standalone_heading("十二"), Some(HeadingKind::LoneNumeral));
        assert_eq!(standalone_heading("（一）坚持党的全面领导；"), None);
        assert_eq!(
            standalone_heading("1. Introduction"),
            Some(HeadingKind::NumDot)
        );
        assert_eq!(parse_label("5.3%的增长"), None);
        assert_eq!(parse_label("第二十届中央纪委"), None);
        assert_eq!(inline_section("第一条 为了推动").unwrap().1, "第一条");
        assert_eq!(
            inline_section("（一）学史明理。教育引导").unwrap().1,
            "（一）学史明理"
        );
        let mut st = SectionStack::default();
        st.push(HeadingKind::Chapter, "第一章 总则");
        st.push(HeadingKind::Article, "第四条");
        st.push(HeadingKind::ParenCn, "（一）学史明理");
        st.push(HeadingKind::Article, "第五条");
        assert_eq!(st.current().unwrap(), "第一章 总则 › 第五条");
        st.push(HeadingKind::Chapter, "第二章");
        assert_eq!(st.current().unwrap(), "第二章");
    }
}
