//! Scripts: which characters are Han ideographs, kana, Hangul, CJK punctuation, and how
//! much of a text is written in Han characters.

/// Ideographs, kana, CJK symbols/punctuation and full-width forms.
/// Hangul is deliberately excluded: Korean separates words with spaces.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F   // CJK symbols and punctuation
        | 0x3040..=0x30FF // kana
        | 0x3100..=0x312F // bopomofo
        | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF // ext A
        | 0x4E00..=0x9FFF // unified ideographs
        | 0xF900..=0xFAFF // compatibility ideographs
        | 0xFE30..=0xFE4F // CJK compatibility forms
        | 0xFF00..=0xFFEF // half/full-width forms
        | 0x20000..=0x2FFFF)
}

/// Han ideographs (unified, extension A, compatibility, supplementary planes): the
/// characters a Chinese text is written in, and the ones the lexical channel indexes as
/// bigrams.
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Hiragana and katakana.
pub fn is_kana(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x31F0..=0x31FF)
}

/// Hangul syllables and jamo.
pub fn is_hangul(c: char) -> bool {
    matches!(c as u32, 0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x3130..=0x318F)
}

/// Full-width / ideographic punctuation.
pub fn is_cjk_punct(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65)
}

/// The share of CJK characters among the letters of `text`.
pub fn cjk_ratio(text: &str) -> f32 {
    let (mut cjk, mut letters) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if is_han(c) {
            cjk += 1;
        }
    }
    cjk as f32 / letters.max(1) as f32
}
