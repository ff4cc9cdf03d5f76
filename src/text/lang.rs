//! Language of a text, from script statistics.
//!
//! xref needs to know which texts can share terms and which vectors carry which language's
//! offset (see `index::langspace`). Script statistics decide it: Han characters against
//! Latin-script words, with kana and Hangul telling Japanese and Korean apart, Cyrillic and
//! Arabic by their scripts. Latin-script text is taken as English — the languages that
//! share that script are not told apart (`"en"` stands for "Latin script").
//!
//! Mixed text is common in documentation (option names, identifiers and numbers inside
//! Chinese prose), so identifiers do not count as words: a word preceded by `-`, `_`, `/`,
//! `.`, `$` or a digit, or containing a digit or underscore, is an identifier. A Han
//! character counts as 1/1.7 of a word (the average length of a Chinese word).

use super::script::{is_han, is_hangul, is_kana};

/// Codes returned by [`detect`].
pub const CODES: [&str; 7] = ["zh", "ja", "ko", "en", "ru", "ar", "und"];

/// The language of `text`: `"zh"`, `"ja"`, `"ko"`, `"en"` (any Latin-script text), `"ru"`
/// (Cyrillic), `"ar"` (Arabic script) or `"und"` (no letters).
pub fn detect(text: &str) -> &'static str {
    let (mut han, mut kana, mut hangul, mut cyrillic, mut arabic) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut latin_words = 0usize;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || (c.is_alphabetic() && (c as u32) < 0x250) {
            let start = i;
            let mut identifier =
                start > 0 && matches!(chars[start - 1], '-' | '_' | '/' | '.' | '$' | '0'..='9');
            while i < chars.len()
                && (chars[i].is_alphanumeric() && (chars[i] as u32) < 0x250 || chars[i] == '_')
            {
                identifier |= chars[i].is_ascii_digit() || chars[i] == '_';
                i += 1;
            }
            if !identifier && i - start >= 2 {
                latin_words += 1;
            }
            continue;
        }
        if is_han(c) {
            han += 1;
        } else if is_kana(c) {
            kana += 1;
        } else if is_hangul(c) {
            hangul += 1;
        } else if ('\u{0400}'..='\u{04FF}').contains(&c) {
            cyrillic += 1;
        } else if ('\u{0600}'..='\u{06FF}').contains(&c) {
            arabic += 1;
        }
        i += 1;
    }
    // Words per script: a CJK word is ~1.7 characters, a Cyrillic or Arabic one ~6.
    let candidates = [
        (
            "ja",
            (han + kana) as f32 / 1.7 * if kana > 0 { 1.0 } else { 0.0 },
        ),
        ("ko", hangul as f32 / 1.7),
        ("zh", if kana > 0 { 0.0 } else { han as f32 / 1.7 }),
        ("ru", cyrillic as f32 / 6.0),
        ("ar", arabic as f32 / 6.0),
        ("en", latin_words as f32),
    ];
    let (code, words) =
        candidates.iter().copied().fold(
            ("und", 0.0f32),
            |best, c| if c.1 > best.1 { c } else { best },
        );
    if words > 0.0 {
        code
    } else if text.chars().any(|c| c.is_ascii_alphabetic()) {
        "en"
    } else {
        "und"
    }
}

#[cfg(test)]
mod tests {
    use super::detect;

    #[test]
    fn scripts_decide() {
        assert_eq!(detect("发展新质生产力的核心要素是什么？"), "zh");
        assert_eq!(detect("What drives new quality productive forces?"), "en");
        assert_eq!(detect("日本語のテキストです"), "ja");
        assert_eq!(detect("한국어 텍스트입니다"), "ko");
        assert_eq!(detect("Всеобщая декларация прав человека"), "ru");
        assert_eq!(detect("2024 — 5.3%"), "und");
    }

    #[test]
    fn identifiers_do_not_make_chinese_english() {
        // A translated option description keeps its option names.
        assert_eq!(detect("-a, --archive 与 -dR --preserve=all 相同。"), "zh");
        assert_eq!(
            detect("--block-size=SIZE 在打印前将大小按 SIZE 进行缩放"),
            "zh"
        );
        // An English sentence that quotes a Chinese term stays English.
        assert_eq!(
            detect("The meeting discussed 新质生产力 and how it drives growth in the coming years"),
            "en"
        );
        assert_eq!(detect("same as -dR --preserve=all"), "en");
    }
}
