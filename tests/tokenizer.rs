//! xref's fast-loading Unigram tokenizer gives the `tokenizers` crate's ids, exactly.

mod common;

use xref::embed::unigram::Unigram;

fn both() -> (Unigram, tokenizers::Tokenizer) {
    let path = common::models_dir().join("multilingual-e5-small/tokenizer.json");
    common::embedder(); // fetches the model if absent
    let text = std::fs::read_to_string(&path).unwrap();
    (
        Unigram::from_json(&text).expect("the e5 tokenizer has the XLM-R layout"),
        tokenizers::Tokenizer::from_file(&path).unwrap(),
    )
}

fn check(fast: &Unigram, reference: &tokenizers::Tokenizer, text: &str) {
    let want = reference.encode(text, true).unwrap().get_ids().to_vec();
    assert_eq!(fast.encode(text), want, "{text:?}");
}

#[test]
fn same_ids_as_tokenizers_on_the_seed_corpus() {
    let (fast, reference) = both();
    let paragraphs = common::seed_paragraphs();
    assert!(paragraphs.len() > 200);
    for p in &paragraphs {
        for prefix in ["", "passage: ", "query: "] {
            check(&fast, &reference, &format!("{prefix}{p}"));
        }
    }
    // The raw file too, line by line: page numbers, headers, odd spacing.
    for line in std::fs::read_to_string(common::seed())
        .unwrap()
        .lines()
        .take(3000)
    {
        check(&fast, &reference, line);
    }
}

#[test]
fn same_ids_as_tokenizers_on_edge_cases() {
    let (fast, reference) = both();
    let cases = [
        "",
        " ",
        "   ",
        "a",
        " leading and trailing ",
        "two  spaces   three    four",
        "tabs\tand\nnewlines\r\nand\u{3000}ideographic space",
        "Ｆｕｌｌｗｉｄｔｈ　ＡＢＣ　１２３，。！",
        "e\u{301}cole, école, ÉCOLE, ﬁ ligature, ½, ①, ™",
        "emoji 👍🏽 family 👨‍👩‍👧 flag 🇨🇳 keycap 1️⃣",
        "한국어 텍스트와 日本語のテキスト、中文文本。",
        "हिन्दी पाठ और العربية النص و עברית",
        "Ελληνικά, русский текст, ქართული",
        "<s> literal special </s> tokens <mask> inside <pad> text <unk>",
        "<s><s></s>",
        "unknown chars: \u{E000}\u{E001} \u{10FFFD} \u{0}",
        "ZWJ\u{200D}and\u{200B}zero width\u{FEFF}",
        "URL https://example.com/a_b?c=d&e=f#g and email a.b@c.de",
        "数字 5.3% 和 2024年 以及 GDP 增长 12,345.67 元",
        "query: 发展新质生产力的核心要素是什么？",
        "passage: What drives new quality productive forces?",
        "▁already▁has▁metaspace",
        "a\u{0300}\u{0301}\u{0302}\u{0303}\u{0304}\u{0305} stacked marks",
    ];
    for c in cases {
        check(&fast, &reference, c);
    }
    // A long run with no spaces (one huge word) and a long text.
    check(&fast, &reference, &"新质生产力".repeat(400));
    check(&fast, &reference, &"word ".repeat(2000));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Random text from many scripts, spaces, punctuation, special-token look-alikes,
    /// combining marks and emoji: the same ids as the `tokenizers` crate.
    #[test]
    fn same_ids_as_tokenizers_on_random_text(
        parts in proptest::collection::vec(proptest::sample::select(PIECES), 0..24),
    ) {
        static BOTH: std::sync::OnceLock<(Unigram, tokenizers::Tokenizer)> = std::sync::OnceLock::new();
        let (fast, reference) = BOTH.get_or_init(both);
        let text: String = parts.concat();
        let want = reference.encode(text.as_str(), true).unwrap().get_ids().to_vec();
        proptest::prop_assert_eq!(fast.encode(&text), want, "{:?}", text);
    }
}

const PIECES: &[&str] = &[
    "新质生产力",
    "的",
    "，",
    "。",
    "发展",
    " ",
    "  ",
    "\t",
    "\n",
    "\u{3000}",
    "a",
    "The",
    "quick",
    "brown",
    "-",
    "--help",
    "5.3%",
    "2024",
    "１２３",
    "Ｆｕｌｌ",
    "é",
    "e\u{301}",
    "ﬁ",
    "①",
    "™",
    "👍🏽",
    "👨‍👩‍👧",
    "🇨🇳",
    "한국어",
    "日本語",
    "テキスト",
    "русский",
    "العربية",
    "עברית",
    "हिन्दी",
    "<s>",
    "</s>",
    "<pad>",
    "<unk>",
    "<mask>",
    "▁",
    "query: ",
    "passage: ",
    "\u{200b}",
    "\u{feff}",
];
