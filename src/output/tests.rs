//! Golden files: every format written from the same hand-made records and compared byte
//! for byte with `tests/golden/`. Characters each format must escape (CSV commas and
//! quotes, Markdown emphasis and brackets, HTML tags and ampersands), CJK text, sections,
//! a quotation, shared terms and PDF pages are all in the records. After an intended
//! change of a format, `XREF_BLESS=1 cargo test golden` rewrites the files; review the
//! diff before committing it.

use super::*;
use crate::index::DocRecord;
use crate::ingest::Kind;

fn doc(id: &str, title: &str, source: &str, paragraphs: usize) -> DocRecord {
    DocRecord {
        id: id.into(),
        title: title.into(),
        source: source.into(),
        line_start: 1,
        line_end: 40,
        paragraphs,
    }
}

struct Fixture {
    docs: Vec<DocRecord>,
    terms: Vec<String>,
    none: Vec<String>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            docs: vec![
                doc("plan-00", "规划 & <纲要>", "docs/plan.md", 2),
                doc("report-00", "Report, \"2024\"", "docs/report.pdf", 1),
            ],
            terms: vec!["新质生产力".into(), "R&D".into()],
            none: Vec::new(),
        }
    }

    fn link_a(&self) -> LinkRecord<'_> {
        LinkRecord {
            id: "report-00.0-0badf00d",
            doc: &self.docs[1].title,
            section: Some("Part 1 › *Growth* [a]"),
            score: 0.812_345,
            lang: "en",
            quote: false,
            terms: &self.terms,
            text: "New quality productive forces, \"driven by innovation\", need R&D | <b>spending</b>.",
            kind: Kind::Prose,
            page: Some(3),
            translations: Vec::new(),
        }
    }

    fn paragraphs(&self) -> Vec<ParagraphRecord<'_>> {
        let to_plan = LinkRecord {
            id: "plan-00.0-12345678",
            doc: &self.docs[0].title,
            section: Some("第一章 总则"),
            score: 0.97,
            lang: "zh",
            quote: true,
            terms: &self.none,
            text: "发展新质生产力是推动高质量发展的内在要求和重要着力点，必须继续做好创新这篇大文章，推动新质生产力加快发展。",
            kind: Kind::Prose,
            page: None,
            translations: Vec::new(),
        };
        vec![
            ParagraphRecord {
                id: "plan-00.0-12345678",
                document: &self.docs[0],
                doc: &self.docs[0].title,
                section: Some("第一章 总则"),
                lang: "zh",
                text: "发展新质生产力是推动高质量发展的内在要求和重要着力点，必须继续做好创新这篇大文章，推动新质生产力加快发展。",
                links: vec![self.link_a()],
                kind: Kind::Prose,
                page: None,
            },
            ParagraphRecord {
                id: "plan-00.1-9abcdef0",
                document: &self.docs[0],
                doc: &self.docs[0].title,
                section: Some("第二章 附则"),
                lang: "zh",
                text: "本规划自发布之日起施行。",
                links: Vec::new(),
                kind: Kind::Prose,
                page: None,
            },
            ParagraphRecord {
                id: "report-00.0-0badf00d",
                document: &self.docs[1],
                doc: &self.docs[1].title,
                section: Some("Part 1 › *Growth* [a]"),
                lang: "en",
                text: "New quality productive forces, \"driven by innovation\", need R&D | <b>spending</b>.",
                links: vec![to_plan],
                kind: Kind::Prose,
                page: Some(3),
            },
        ]
    }
}

fn about() -> About {
    About {
        model: "multilingual-e5-small".into(),
        k: 5,
        min_score: 0.8123,
        threshold_note: "calibrated: 99.5th percentile of 1,234 cross-document pairs".into(),
    }
}

/// Compare `got` with `tests/golden/NAME`, or write it there under `XREF_BLESS=1`.
fn golden(name: &str, got: &[u8]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("XREF_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (XREF_BLESS=1 writes it)", path.display()));
    assert!(
        got == want.as_slice(),
        "{name} differs from {}:\n--- got\n{}\n--- want\n{}",
        path.display(),
        String::from_utf8_lossy(got),
        String::from_utf8_lossy(&want)
    );
}

#[test]
fn golden_crossref_in_every_format() {
    let f = Fixture::new();
    let paragraphs = f.paragraphs();
    for format in [Format::Jsonl, Format::Csv, Format::Md, Format::Html] {
        let mut buf = Vec::new();
        {
            let mut sink = format.sink(Box::new(&mut buf));
            sink.begin(&f.docs, &about()).unwrap();
            for p in &paragraphs {
                sink.paragraph(p).unwrap();
            }
            sink.finish().unwrap();
        }
        golden(&format!("crossref.{}", format.extension()), &buf);
    }
}

#[test]
fn golden_search_and_related_records() {
    let f = Fixture::new();
    let hit = HitRecord {
        id: "plan-00.0-12345678",
        doc: &f.docs[0].title,
        section: Some("第一章 总则"),
        score: 0.734_56,
        lang: "zh",
        text: "发展新质生产力是推动高质量发展的内在要求和重要着力点。",
        terms: vec!["新质生产力".into()],
        sentence: Some("发展新质生产力是推动高质量发展的内在要求和重要着力点。"),
        kind: Kind::Prose,
        page: None,
        translations: Vec::new(),
    };
    let in_pdf = HitRecord {
        kind: Kind::Prose,
        page: Some(3),
        sentence: None,
        translations: vec![TranslationRecord {
            id: "report-00.0-0badf00d",
            doc: "Report, \"2024\"",
            lang: "en",
            text: "New quality productive forces are key to high-quality development.",
        }],
        ..hit.clone()
    };
    let search = SearchRecord {
        query: "What drives \"new quality\" productive forces?",
        hits: vec![hit, in_pdf],
        confidence: -0.012_34,
        in_corpus: false,
    };
    let related = RelatedRecord {
        id: None,
        links: vec![f.link_a()],
    };
    let listing = DocumentRecord {
        id: "plan-00",
        doc: &f.docs[0].title,
        paragraphs: 2,
        source: "docs/plan.md",
    };
    let lines = [
        serde_json::to_string(&search).unwrap(),
        serde_json::to_string(&related).unwrap(),
        serde_json::to_string(&listing).unwrap(),
    ];
    golden("records.jsonl", (lines.join("\n") + "\n").as_bytes());
}
