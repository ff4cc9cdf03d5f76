//! Explaining a match: the key terms two texts share.
//!
//! Shared CJK bigrams and Latin words (the lexical channel's terms) are grown into the
//! longest runs both texts contain, so `金融` + `融监` + `监管` becomes `金融监管`. Runs made of
//! function characters, and terms inside a longer term, are dropped.

use std::collections::HashSet;

use crate::text::{is_han, tokens};

/// Characters too common to explain anything on their own.
const FUNCTION: &str = "的了是在和与及或把被对为将也都就而其之所以这那哪些么什怎如何吗呢吧啊要";
const STOP_WORDS: &[&str] = &[
    "the", "and", "for", "what", "which", "who", "how", "why", "when", "where", "does", "did",
    "are", "was", "were", "with", "about", "from", "that", "this", "these", "those", "into", "its",
    "their", "there", "should", "would", "could", "can", "has", "have", "had", "been", "not",
    "any", "all", "more", "most", "than",
];

/// At most this many terms per explanation.
pub const MAX_TERMS: usize = 8;

/// The key terms `a` and `b` share, longest first.
pub fn shared_terms(a: &str, b: &str) -> Vec<String> {
    Vocabulary::of(a).shared_with(b)
}

/// One text's terms, to find the terms it shares with many others ([`shared_terms`]
/// tokenises its first text on every call; a source's links reuse this).
pub struct Vocabulary<'a> {
    text: &'a str,
    terms: HashSet<String>,
}

impl<'a> Vocabulary<'a> {
    pub fn of(text: &'a str) -> Self {
        Self {
            text,
            terms: tokens(text).into_iter().collect(),
        }
    }

    /// The key terms this text and `b` share, longest first.
    pub fn shared_with(&self, b: &str) -> Vec<String> {
        shared(self.text, &self.terms, b)
    }
}

fn shared(a: &str, vocab: &HashSet<String>, b: &str) -> Vec<String> {
    let chars: Vec<char> = b.chars().collect();
    let mut found: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if is_han(chars[i]) {
            // Grow a chain of shared bigrams starting at i.
            let mut end = i;
            while end + 1 < chars.len()
                && is_han(chars[end + 1])
                && vocab.contains(&chars[end..end + 2].iter().collect::<String>())
            {
                end += 1;
            }
            if end > i {
                let run: String = chars[i..=end].iter().collect();
                if a.contains(run.as_str()) {
                    found.push(run);
                } else {
                    found.extend(
                        chars[i..=end]
                            .windows(2)
                            .map(|w| w.iter().collect::<String>()),
                    );
                }
                i = end + 1;
                continue;
            }
            i += 1;
        } else if chars[i].is_alphanumeric() {
            let start = i;
            while i < chars.len() && chars[i].is_alphanumeric() && !is_han(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if vocab.contains(&word.to_lowercase()) {
                found.push(word);
            }
        } else {
            i += 1;
        }
    }
    let mut terms: Vec<String> = found.into_iter().filter(|t| meaningful(t)).collect();
    terms.sort_by(|x, y| y.chars().count().cmp(&x.chars().count()).then(x.cmp(y)));
    terms.dedup();
    let mut kept: Vec<String> = Vec::new();
    for t in terms {
        if !kept.iter().any(|k| k.contains(t.as_str())) {
            kept.push(t);
        }
        if kept.len() == MAX_TERMS {
            break;
        }
    }
    kept
}

fn meaningful(t: &str) -> bool {
    let n = t.chars().count();
    if t.chars().any(is_han) {
        n >= 2 && !(n == 2 && t.chars().any(|c| FUNCTION.contains(c)))
    } else {
        (n >= 3 && !STOP_WORDS.contains(&t.to_lowercase().as_str()))
            || t.chars().any(|c| c.is_ascii_digit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_runs_and_drops_function_pairs() {
        let t = shared_terms(
            "如何加强金融监管？",
            "必须加强对金融行业的监督管理，完善金融监管体系",
        );
        assert_eq!(t, ["金融监管", "加强"]);
        assert_eq!(
            shared_terms("Green finance and growth", "Growth needs green finance"),
            ["finance", "Growth", "green"]
        );
        assert!(shared_terms("What is new quality productive force?", "新质生产力").is_empty());
    }
}
