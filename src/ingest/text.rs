//! Character classes and small text utilities of the ingest stage (scripts themselves are
//! in [`crate::text`]).
//!
//! Chinese text extracted from PDFs has two recurring artefacts that these
//! helpers undo:
//!
//! * **Artefact spaces.** Extractors insert spaces around digits and between
//!   ideographs ("1 月 31 日", "2024 年"). Chinese never separates words with
//!   spaces, so a space between an ideograph and another ideograph, a digit or a
//!   CJK-style quote is removed. Spaces next to *Latin letters* are kept
//!   ("CBA 联赛", "new quality productive forces"): there the space may well be
//!   the author's and we prefer to leave it.
//! * **Line joins.** A wrapped line is joined to the next with no space when
//!   either side is CJK, with one space between Latin words, and end-of-line
//!   hyphenation ("inter-" + "national") is undone.

pub use crate::text::script::{is_cjk, is_cjk_punct, is_han};
pub use crate::text::split::{is_closer, is_terminal};

/// Coarse class of a character, as far as spacing rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    /// Ideographs, kana, CJK and full-width punctuation: no spaces around them.
    Cjk,
    /// ASCII digits.
    Digit,
    /// Typographic quotes, dashes, ellipsis, middle dot: shared by CJK and Latin
    /// text, so they take the spacing of their other neighbour.
    Neutral,
    /// Latin (and other alphabetic) letters.
    Latin,
    /// Whitespace.
    Space,
    /// Anything else (ASCII punctuation, symbols).
    Other,
}

/// Classify one character.
pub fn class(c: char) -> CharClass {
    let u = c as u32;
    if c.is_ascii_digit() {
        return CharClass::Digit;
    }
    if c.is_whitespace() {
        return CharClass::Space;
    }
    if is_cjk(c) {
        return CharClass::Cjk;
    }
    match u {
        0x2018..=0x201F | 0x2014 | 0x2015 | 0x2026 | 0x00B7 | 0x2022 | 0x2027 => CharClass::Neutral,
        _ if c.is_alphabetic() => CharClass::Latin,
        _ => CharClass::Other,
    }
}

/// Display width in "half-width cells": wide (CJK) characters count 2.
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if is_cjk(c) || (0xAC00..=0xD7AF).contains(&(c as u32)) {
                2
            } else {
                1
            }
        })
        .sum()
}

/// Does `s` end with terminal punctuation, possibly followed by closers?
pub fn ends_terminal(s: &str) -> bool {
    for c in s.chars().rev() {
        if is_closer(c) {
            continue;
        }
        return is_terminal(c);
    }
    false
}

/// Does `s` end with a closing bracket (a parenthetical note / date line)?
pub fn ends_with_close_paren(s: &str) -> bool {
    s.ends_with('）') || s.ends_with(')')
}

/// Chinese numerals used in headings (一 二 … 十 百 零 〇 两).
pub fn is_cn_numeral(c: char) -> bool {
    matches!(
        c,
        '一' | '二'
            | '三'
            | '四'
            | '五'
            | '六'
            | '七'
            | '八'
            | '九'
            | '十'
            | '百'
            | '千'
            | '零'
            | '〇'
            | '两'
    )
}

/// Should a space between `a` and `b` be dropped as an extraction artefact?
fn drop_space_between(a: char, b: char) -> bool {
    use CharClass::*;
    let (ca, cb) = (class(a), class(b));
    match (ca, cb) {
        (Cjk, Cjk | Digit | Neutral) | (Digit | Neutral, Cjk) => true,
        // Nothing is spaced before full-width punctuation ("5.2% 。", "GDP ，").
        (_, Cjk) if is_cjk_punct(b) => true,
        // After full-width punctuation only Latin words keep a space.
        (Cjk, Other) if is_cjk_punct(a) => true,
        _ => false,
    }
}

/// Normalise whitespace inside one line of body text: collapse runs of
/// whitespace (including U+3000) to one space, and drop the space entirely
/// where `drop_space_between` says it is an artefact.
pub fn normalize_spaces(s: &str) -> String {
    normalize_spaces_impl(s, true)
}

/// Like [`normalize_spaces`] but keeps single spaces between CJK characters:
/// in headlines they separate the parts of the title
/// ("加快发展新质生产力 扎实推进高质量发展"). Spaces around digits still go.
pub fn normalize_title_spaces(s: &str) -> String {
    normalize_spaces_impl(s, false)
}

fn normalize_spaces_impl(s: &str, drop_cjk_cjk: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            // Swallow the whole run.
            while chars.peek().is_some_and(|n| n.is_whitespace()) {
                chars.next();
            }
            let prev = out.chars().next_back();
            let next = chars.peek().copied();
            if let (Some(p), Some(n)) = (prev, next) {
                let cjk_pair = class(p) == CharClass::Cjk && class(n) == CharClass::Cjk;
                let drop = if cjk_pair {
                    drop_cjk_cjk
                } else {
                    drop_space_between(p, n)
                };
                if !drop {
                    out.push(' ');
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// How to glue a wrapped line `next` onto text ending in `prev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// Concatenate directly.
    None,
    /// Insert one space.
    Space,
    /// Remove the trailing hyphen of `prev`, then concatenate.
    Dehyphenate,
}

/// Decide how to join two wrapped lines.
pub fn join_kind(prev: &str, next: &str) -> Join {
    let (Some(a), Some(b)) = (prev.chars().next_back(), next.chars().next()) else {
        return Join::None;
    };
    if a == '-' {
        let before = prev.chars().rev().nth(1);
        if before.is_some_and(|c| c.is_alphabetic()) {
            return if b.is_lowercase() {
                Join::Dehyphenate
            } else {
                Join::None
            };
        }
    }
    use CharClass::*;
    match (class(a), class(b)) {
        (Cjk, _) | (_, Cjk) => Join::None,
        (Neutral, Neutral) => Join::None,
        _ => Join::Space,
    }
}

/// Append `next` to `buf` using the join rule. Returns the byte offset in
/// `buf` where `next` starts.
pub fn push_joined(buf: &mut String, next: &str) -> usize {
    if buf.is_empty() {
        buf.push_str(next);
        return 0;
    }
    match join_kind(buf, next) {
        Join::None => {}
        Join::Space => buf.push(' '),
        Join::Dehyphenate => {
            buf.pop();
        }
    }
    let at = buf.len();
    buf.push_str(next);
    at
}

/// First 8 hex digits of SHA-256 of `s`.
pub fn hash8(s: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(s.as_bytes());
    d.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// Number of Unicode scalar values.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces() {
        assert_eq!(
            normalize_spaces("中共中央政治局 1 月 31 日下午"),
            "中共中央政治局1月31日下午"
        );
        assert_eq!(normalize_spaces("2022年 7 月 29日"), "2022年7月29日");
        assert_eq!(
            normalize_spaces("辽宁男篮卫冕 CBA 联赛"),
            "辽宁男篮卫冕 CBA 联赛"
        );
        assert_eq!(
            normalize_spaces("new  quality productive forces"),
            "new quality productive forces"
        );
        assert_eq!(normalize_spaces("GDP 增长 5.2%"), "GDP 增长5.2%");
        assert_eq!(
            normalize_title_spaces("2024 年全国 教育"),
            "2024年全国 教育"
        );
    }

    #[test]
    fn joins() {
        let mut s = String::from("inter-");
        push_joined(&mut s, "national");
        assert_eq!(s, "international");
        let mut s = String::from("the");
        push_joined(&mut s, "framework");
        assert_eq!(s, "the framework");
        let mut s = String::from("高质量发");
        push_joined(&mut s, "展");
        assert_eq!(s, "高质量发展");
        let mut s = String::from("攻关项目 120");
        push_joined(&mut s, "个。");
        assert_eq!(s, "攻关项目 120个。");
    }
}
