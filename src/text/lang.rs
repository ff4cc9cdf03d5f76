//! Language of a text, from script statistics and, within the Latin script, trigrams.
//!
//! xref needs to know which texts can share terms and which vectors carry which language's
//! offset (see `index::langspace`). Script statistics decide first: Han characters against
//! Latin-script words, with kana and Hangul telling Japanese and Korean apart, Cyrillic and
//! Arabic by their scripts. A Latin-script text's words (identifiers left out) are then
//! matched against the trigram profiles of the Latin-script languages in [`LATIN`]
//! (`whatlang`); a text too short to tell reliably is [`Detected::Latin`], which the index
//! settles from the rest of its document ([`detect_in_documents`]) and a question from the
//! corpus's languages (`Index::text_lang`; English where there is no other).
//!
//! Mixed text is common in documentation (option names, identifiers and numbers inside
//! Chinese prose), so identifiers do not count as words: a word preceded by `-`, `_`, `/`,
//! `.`, `$` or a digit, containing a digit or underscore, or followed by `(`, is an
//! identifier. A Han character counts as 1/1.7 of a word (the average length of a Chinese
//! word).

use super::script::{is_han, is_hangul, is_kana};
use whatlang::Lang;

/// The Latin-script languages told apart, with the codes xref reports (ISO 639-1).
pub const LATIN: [(Lang, &str); 24] = [
    (Lang::Eng, "en"),
    (Lang::Deu, "de"),
    (Lang::Fra, "fr"),
    (Lang::Spa, "es"),
    (Lang::Ita, "it"),
    (Lang::Por, "pt"),
    (Lang::Nld, "nl"),
    (Lang::Pol, "pl"),
    (Lang::Swe, "sv"),
    (Lang::Dan, "da"),
    (Lang::Nob, "no"),
    (Lang::Fin, "fi"),
    (Lang::Ces, "cs"),
    (Lang::Slk, "sk"),
    (Lang::Slv, "sl"),
    (Lang::Hrv, "hr"),
    (Lang::Ron, "ro"),
    (Lang::Hun, "hu"),
    (Lang::Tur, "tr"),
    (Lang::Vie, "vi"),
    (Lang::Ind, "id"),
    (Lang::Est, "et"),
    (Lang::Lav, "lv"),
    (Lang::Lit, "lt"),
];

/// Whether `code` is one of the Latin-script languages of [`LATIN`].
pub fn is_latin(code: &str) -> bool {
    LATIN.iter().any(|l| l.1 == code)
}

/// Whether `code` is a language written in CJK script (`zh`, `ja`, `ko`).
pub fn is_cjk(code: &str) -> bool {
    matches!(code, "zh" | "ja" | "ko")
}

/// Fewer Latin words than this are not matched against the trigram profiles: a short option
/// description ("Wie --backup") says too little about its language.
const MIN_LATIN_WORDS: usize = 4;
/// Only the first this many words are matched (the trigram match costs time in proportion).
const MAX_LATIN_WORDS: usize = 40;
/// The least trigram confidence that tells a Latin-script language. Chosen on the French
/// manual pages and their English originals (`benches/parallel/fetch.sh … fr`): from 0.6
/// up, 7 of 1,557 paragraphs of four or more words were told wrong, code samples among them;
/// from 0.4, 16 of 1,908; from 0.2, 81 of 2,104.
const MIN_CONFIDENCE: f64 = 0.6;

/// What [`detect_detail`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// A language told reliably (its code).
    Known(&'static str),
    /// Latin-script text too short (or too ambiguous) to say which Latin-script language.
    Latin,
}

impl Detected {
    /// The code, with undecided Latin-script text taken as English.
    pub fn code(self) -> &'static str {
        match self {
            Detected::Known(code) => code,
            Detected::Latin => "en",
        }
    }

    /// As an index stores it: the code, or "" for undecided Latin-script text.
    pub fn stored(self) -> &'static str {
        match self {
            Detected::Known(code) => code,
            Detected::Latin => "",
        }
    }

    /// Read back from [`Detected::stored`]; `None` for a code this xref does not tell.
    pub fn from_stored(s: &str) -> Option<Self> {
        if s.is_empty() {
            return Some(Detected::Latin);
        }
        ["ja", "ko", "zh", "ru", "ar", "und"]
            .into_iter()
            .chain(LATIN.iter().map(|l| l.1))
            .find(|&c| c == s)
            .map(Detected::Known)
    }
}

/// The language of `text`: `"zh"`, `"ja"`, `"ko"`, a Latin-script language of [`LATIN`]
/// (`"en"` where it cannot be told), `"ru"` (Cyrillic), `"ar"` (Arabic script) or `"und"`
/// (no letters).
pub fn detect(text: &str) -> &'static str {
    detect_detail(text).code()
}

/// Like [`detect`], but says when Latin-script text was too short to tell its language.
pub fn detect_detail(text: &str) -> Detected {
    let (mut han, mut kana, mut hangul, mut cyrillic, mut arabic) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut latin_words = 0usize;
    // The Latin words themselves (identifiers left out), for the trigram match.
    let mut words = String::new();
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
            // A name followed by a parenthesis is a call or a manual page: `journalctl(1)`.
            identifier |= chars.get(i) == Some(&'(');
            if !identifier && i - start >= 2 {
                latin_words += 1;
                if latin_words <= MAX_LATIN_WORDS {
                    words.extend(&chars[start..i]);
                    words.push(' ');
                }
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
    let (code, count) =
        candidates.iter().copied().fold(
            ("und", 0.0f32),
            |best, c| if c.1 > best.1 { c } else { best },
        );
    if count > 0.0 && code != "en" {
        Detected::Known(code)
    } else if count > 0.0 || text.chars().any(|c| c.is_ascii_alphabetic()) {
        latin_language(&words, latin_words)
    } else {
        Detected::Known("und")
    }
}

/// Each text's language, as [`detect`] tells it, settled by its document. A Latin-script
/// language counts only where it is some document's own (the language most of that
/// document's texts were told in); elsewhere it is a misreading — a synopsis line, a list
/// of names or a code sample told French in an English page (23 of 14,086 paragraphs of
/// English manual pages, 162 of 12,549 of the Linux kernel's documentation) — that would
/// otherwise make a one-language corpus look multilingual. Such texts, and Latin-script
/// text too short to tell ([`Detected::Latin`]), take the Latin-script language that counts
/// most often in their document, English where none does. `texts` are (document, text)
/// pairs, each document's texts together.
pub fn detect_in_documents<D: PartialEq + Sync>(texts: &[(D, &str)]) -> Vec<&'static str> {
    settle_in_documents(texts, &detect_details(texts, &[]))
}

/// Each text's [`detect_detail`], in parallel: `known[i]` where given (an update reuses
/// what the previous generation found for the same text), else found now.
pub fn detect_details<D: Sync>(texts: &[(D, &str)], known: &[Option<Detected>]) -> Vec<Detected> {
    use rayon::prelude::*;
    texts
        .par_iter()
        .enumerate()
        .map(|(i, (_, t))| {
            known
                .get(i)
                .copied()
                .flatten()
                .unwrap_or_else(|| detect_detail(t))
        })
        .collect()
}

/// [`detect_in_documents`] from each text's [`detect_detail`] (`found`).
pub fn settle_in_documents<D: PartialEq>(
    texts: &[(D, &str)],
    found: &[Detected],
) -> Vec<&'static str> {
    // The most frequent of `codes`; on a tie, the first.
    fn most<'a>(codes: impl Iterator<Item = &'a str>) -> Option<&'a str> {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for code in codes {
            match counts.iter_mut().find(|c| c.0 == code) {
                Some(c) => c.1 += 1,
                None => counts.push((code, 1)),
            }
        }
        let best = counts.iter().map(|c| c.1).max()?;
        counts.iter().find(|c| c.1 == best).map(|c| c.0)
    }
    let told = |rows: &std::ops::Range<usize>| {
        found[rows.clone()].iter().filter_map(|d| match *d {
            Detected::Known(code) if code != "und" => Some(code),
            _ => None,
        })
    };
    // Each document's rows, and the languages that are some document's own.
    let mut documents: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    while start < texts.len() {
        let end = start
            + texts[start..]
                .iter()
                .take_while(|t| t.0 == texts[start].0)
                .count();
        documents.push(start..end);
        start = end;
    }
    let mut owned: Vec<&str> = documents
        .iter()
        .filter_map(|rows| most(told(rows)))
        .collect();
    // One entry a language, not a document: it is looked up for every text.
    owned.sort_unstable();
    owned.dedup();
    let counts = |code: &str| !is_latin(code) || owned.contains(&code);
    let mut codes = Vec::with_capacity(texts.len());
    for rows in documents {
        let latin = most(told(&rows).filter(|c| is_latin(c) && counts(c))).unwrap_or("en");
        codes.extend(found[rows].iter().map(|d| match *d {
            Detected::Known(code) if counts(code) => code,
            _ => latin,
        }));
    }
    codes
}

/// Which Latin-script language `words` (`count` of them) are in, if it can be told.
fn latin_language(words: &str, count: usize) -> Detected {
    use std::sync::OnceLock;
    static DETECTOR: OnceLock<whatlang::Detector> = OnceLock::new();
    if count < MIN_LATIN_WORDS {
        return Detected::Latin;
    }
    let detector = DETECTOR
        .get_or_init(|| whatlang::Detector::with_allowlist(LATIN.iter().map(|l| l.0).collect()));
    match detector.detect(words) {
        Some(info) if info.confidence() >= MIN_CONFIDENCE => LATIN
            .iter()
            .find(|l| l.0 == info.lang())
            .map_or(Detected::Latin, |l| Detected::Known(l.1)),
        _ => Detected::Latin,
    }
}

#[cfg(test)]
mod tests {
    use super::{detect, detect_detail, detect_in_documents, Detected};

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

    #[test]
    fn latin_script_languages_are_told_apart() {
        // Sentences from manual pages and their translations (manpages-l10n).
        let cases = [
            (
                "if an existing destination file cannot be opened, remove it and try again",
                "en",
            ),
            (
                "Wenn eine existierende Zieldatei nicht geöffnet werden kann, löschen und erneut versuchen",
                "de",
            ),
            (
                "si un fichier de destination existe et ne peut être ouvert, le supprimer et réessayer",
                "fr",
            ),
            (
                "Los argumentos obligatorios para las opciones largas son también obligatorios para las opciones cortas.",
                "es",
            ),
            (
                "Die obligatorischen Argumente für Optionen sind für deren Kurz- und Langform gleich.",
                "de",
            ),
            (
                "Les arguments obligatoires pour les options longues le sont aussi pour les options courtes.",
                "fr",
            ),
        ];
        for (text, code) in cases {
            assert_eq!(detect(text), code, "{text}");
        }
        // Options, manual-page references and numbers are not words of any language.
        assert_eq!(
            detect_detail(
                "-f, --force Wenn eine existierende Zieldatei nicht geöffnet werden kann, löschen"
            ),
            Detected::Known("de")
        );
        assert_eq!(
            detect_detail("$SYSTEMD_PAGER homectl(1), journalctl(1), localectl(1), loginctl(1)"),
            Detected::Latin
        );
        // Too short to tell: undecided, which a single text takes as English.
        assert_eq!(detect_detail("Wie --backup"), Detected::Latin);
        assert_eq!(detect("Wie --backup"), "en");
    }

    #[test]
    fn short_latin_texts_take_their_documents_language() {
        let texts = [
            ("cp.de", "Kopieren von QUELLE nach ZIEL oder mehrere QUELLE(n) in VERZEICHNIS."),
            ("cp.de", "-b Wie --backup"),
            (
                "cp.de",
                "-f, --force Wenn eine existierende Zieldatei nicht geöffnet werden kann, löschen und erneut versuchen",
            ),
            ("cp.en", "-b like --backup"),
            ("cp.zh", "-a, --archive 与 -dR --preserve=all 相同。"),
            ("cp.zh", "-b like --backup"),
            (
                "cp.en",
                "-f, --force if an existing destination file cannot be opened, remove it and try again",
            ),
        ];
        // The second English paragraph is its own run of the document, told by itself.
        assert_eq!(
            detect_in_documents(&texts),
            ["de", "de", "de", "en", "zh", "en", "en"]
        );
        // A language that is no document's own is a misreading: its document's is taken.
        let texts = [
            ("stty.en", "Local settings: [-]crterase echo erase characters as backspace-space-backspace"),
            (
                "stty.en",
                "Print or change terminal characteristics, and the special characters of the terminal",
            ),
            (
                "stty.en",
                "Handle the tty line connected to standard input. Without arguments, prints baud rate, line discipline, and deviations from stty sane.",
            ),
        ];
        assert_eq!(detect(texts[0].1), "es");
        assert_eq!(detect_in_documents(&texts), ["en", "en", "en"]);
    }

    #[test]
    fn any_text_gets_a_code() {
        // Seeded random text over the scripts and the characters that end words.
        let alphabet: Vec<char> =
            "abcdefghijklmnopqrstuvwxyzäöüßéèàçñ ÅØ 文件复制 ファイル 파일 файл \
             ملف -_/.$()0123456789 \n\t,;:!?«»"
                .chars()
                .collect();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let codes: Vec<&str> = super::LATIN
            .iter()
            .map(|l| l.1)
            .chain(["zh", "ja", "ko", "ru", "ar", "und"])
            .collect();
        let mut texts = Vec::new();
        for i in 0..2_000 {
            let len = (next() % 400) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            assert!(codes.contains(&detect(&text)), "{text:?}");
            texts.push((i / 7, text));
        }
        let pairs: Vec<(usize, &str)> = texts.iter().map(|(d, t)| (*d, t.as_str())).collect();
        let settled = detect_in_documents(&pairs);
        assert_eq!(settled.len(), pairs.len());
        assert!(settled.iter().all(|c| codes.contains(c)));
    }

    /// What detection can find is stored and read back as itself (an update reuses it).
    #[test]
    fn every_detection_round_trips_as_stored() {
        for text in [
            "これは日本語の文章です。",
            "이것은 한국어 문장입니다",
            "这是一个中文句子，讲的是数据。",
            "Это предложение на русском языке.",
            "هذه جملة باللغة العربية",
            "12345 -- 678",
            "The quick brown fox jumps over the lazy dog near the river bank today.",
            "Der schnelle braune Fuchs springt heute über den faulen Hund am Fluss.",
            "short",
        ] {
            let d = detect_detail(text);
            assert_eq!(Detected::from_stored(d.stored()), Some(d), "{text}");
        }
        assert_eq!(Detected::from_stored("xx"), None);
    }
}
