//! The terms of a text for the lexical channel: CJK character bigrams (a lone character as
//! itself) and lower-cased Latin words and numbers (`5.3%` keeps its point and sign).

use super::script::is_han;

/// The terms of a text, in order (with repeats).
pub fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_han(c) {
            let start = i;
            while i < chars.len() && is_han(chars[i]) {
                i += 1;
            }
            let run = &chars[start..i];
            if run.len() == 1 {
                out.push(run[0].to_string());
            } else {
                out.extend(run.windows(2).map(|w| w.iter().collect::<String>()));
            }
        } else if c.is_alphanumeric() {
            let start = i;
            while i < chars.len() && !is_han(chars[i]) {
                let c = chars[i];
                let decimal = (c == '.' || c == ',')
                    && i > start
                    && chars[i - 1].is_ascii_digit()
                    && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
                if c.is_alphanumeric() || decimal {
                    i += 1;
                } else {
                    break;
                }
            }
            let mut word: String = chars[start..i]
                .iter()
                .collect::<String>()
                .to_lowercase()
                .replace(',', "");
            if chars.get(i) == Some(&'%') && word.chars().all(|c| c.is_ascii_digit() || c == '.') {
                word.push('%');
                i += 1;
            }
            out.push(word);
        } else {
            i += 1;
        }
    }
    out
}
