//! The records behind every output: a paragraph with its links (`crossref`), one link
//! (`crossref`, `related`, the API), one hit and an answered question (`search`), a
//! document (`docs`). The JSON shapes are contracts (ARCHITECTURE.md, `serve/assets/openapi.json`):
//! fields serialise in declaration order, scores with four decimals, `kind` only for
//! passages that are not prose, `page` only for PDF sources and always last.

use serde::{Serialize, Serializer};

use crate::index::{DocRecord, Hit, Index};
use crate::ingest::Kind;
use crate::link::terms::shared_terms;
use crate::link::Link;
use crate::rank;

/// Scores with 4 decimals: stable output without float noise.
pub fn round(x: f32) -> f64 {
    (x as f64 * 10_000.0).round() / 10_000.0
}

fn rounded<S: Serializer>(x: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round(*x))
}

/// "Title › section", with ", p. N" for PDF sources.
pub fn place(doc: &str, section: Option<&str>, page: Option<u32>) -> String {
    let place = match section {
        Some(s) => format!("{doc} › {s}"),
        None => doc.to_string(),
    };
    match page {
        Some(page) => format!("{place}, p. {page}"),
        None => place,
    }
}

/// One link: its target paragraph, score, quotation mark and shared terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkRecord<'a> {
    pub id: &'a str,
    /// The target's document title.
    pub doc: &'a str,
    pub section: Option<&'a str>,
    #[serde(serialize_with = "rounded")]
    pub score: f32,
    pub lang: &'a str,
    pub quote: bool,
    pub terms: &'a [String],
    pub text: &'a str,
    /// What the passage is (a list item, table, code); absent for prose.
    #[serde(skip_serializing_if = "Kind::is_prose")]
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// In `related` and the reading view's margins (`/api/docs/{id}?links=N`) of a
    /// multilingual library, the target's translations (see `searcher::Related`); absent
    /// where there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub translations: Vec<TranslationRecord<'a>>,
}

impl<'a> LinkRecord<'a> {
    pub fn new(index: &'a Index, link: &'a Link) -> Self {
        let p = index.paragraphs().get(link.row);
        Self {
            id: p.id,
            doc: &index.doc_of(link.row).title,
            section: p.section,
            score: link.score,
            lang: index.lang(link.row),
            quote: link.quote,
            terms: &link.terms,
            text: p.text,
            kind: p.kind,
            page: p.page,
            translations: Vec::new(),
        }
    }

    /// Where the target is ("Title › section, p. N").
    pub fn place(&self) -> String {
        place(self.doc, self.section, self.page)
    }
}

/// A paragraph and its links: one line of `xref crossref --format jsonl`, one paragraph of
/// every other format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParagraphRecord<'a> {
    pub id: &'a str,
    /// The paragraph's document (not serialised: `doc` is its title).
    #[serde(skip)]
    pub document: &'a DocRecord,
    pub doc: &'a str,
    pub section: Option<&'a str>,
    pub lang: &'a str,
    pub text: &'a str,
    pub links: Vec<LinkRecord<'a>>,
    /// What the passage is (a list item, table, code); absent for prose.
    #[serde(skip_serializing_if = "Kind::is_prose")]
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

impl<'a> ParagraphRecord<'a> {
    pub fn new(index: &'a Index, row: usize, links: &'a [Link]) -> Self {
        let p = index.paragraphs().get(row);
        let document = index.doc_of(row);
        Self {
            id: p.id,
            document,
            doc: &document.title,
            section: p.section,
            lang: index.lang(row),
            text: p.text,
            links: links.iter().map(|l| LinkRecord::new(index, l)).collect(),
            kind: p.kind,
            page: p.page,
        }
    }

    /// Where the paragraph is ("Title › section, p. N").
    pub fn place(&self) -> String {
        place(self.doc, self.section, self.page)
    }
}

/// One hit of a search: an element of `"hits"` in `xref search --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HitRecord<'a> {
    pub id: &'a str,
    pub doc: &'a str,
    pub section: Option<&'a str>,
    #[serde(serialize_with = "rounded")]
    pub score: f32,
    pub lang: &'a str,
    pub text: &'a str,
    /// Key terms the question and the paragraph share.
    pub terms: Vec<String>,
    /// The paragraph's sentence closest to the question (multi-sentence paragraphs).
    pub sentence: Option<&'a str>,
    /// What the passage is (a list item, table, code); absent for prose.
    #[serde(skip_serializing_if = "Kind::is_prose")]
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// The same passage in other languages (a library of several): absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub translations: Vec<TranslationRecord<'a>>,
}

/// A hit's translation: another language's paragraph that says the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TranslationRecord<'a> {
    pub id: &'a str,
    pub doc: &'a str,
    pub lang: &'a str,
    pub text: &'a str,
}

impl<'a> TranslationRecord<'a> {
    /// Row `row`'s record.
    pub fn of(index: &'a Index, row: usize) -> Self {
        let p = index.paragraphs().get(row);
        TranslationRecord {
            id: p.id,
            doc: &index.doc_of(row).title,
            lang: index.lang(row),
            text: p.text,
        }
    }
}

impl<'a> HitRecord<'a> {
    pub fn new(index: &'a Index, hit: &Hit, query: &str, vector: &[f32]) -> Self {
        let p = index.paragraphs().get(hit.row);
        Self {
            id: p.id,
            doc: &index.doc_of(hit.row).title,
            section: p.section,
            score: hit.score,
            lang: index.lang(hit.row),
            text: p.text,
            terms: shared_terms(query, p.text),
            sentence: rank::best_sentence(index, vector, hit.row),
            kind: p.kind,
            page: p.page,
            translations: Vec::new(),
        }
    }
}

/// One answered question: a line of `xref search --json` (and `GET /api/search`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchRecord<'a> {
    pub query: &'a str,
    pub hits: Vec<HitRecord<'a>>,
    /// Best margin over the out-of-corpus bars ([`rank::OffTopic::confidence`]).
    #[serde(serialize_with = "rounded")]
    pub confidence: f32,
    pub in_corpus: bool,
}

impl<'a> SearchRecord<'a> {
    pub fn new(
        index: &'a Index,
        query: &'a str,
        vector: &[f32],
        hits: &[Hit],
        confidence: f32,
    ) -> Self {
        Self {
            query,
            hits: hits
                .iter()
                .map(|h| HitRecord::new(index, h, query, vector))
                .collect(),
            confidence,
            in_corpus: confidence >= 0.0,
        }
    }

    /// Each hit's translations (rows, by hit; see `searcher::Answer`).
    pub fn with_translations(mut self, index: &'a Index, translations: &[Vec<usize>]) -> Self {
        for (hit, rows) in self.hits.iter_mut().zip(translations) {
            hit.translations = rows
                .iter()
                .map(|&r| TranslationRecord::of(index, r))
                .collect();
        }
        self
    }
}

/// The links of one paragraph or outside text: `xref related --json`, `GET /api/related`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelatedRecord<'a> {
    /// The source paragraph's id; `null` for an outside text.
    pub id: Option<&'a str>,
    pub links: Vec<LinkRecord<'a>>,
}

/// A document in a listing: one line of `xref docs --json`, one element of `GET /api/docs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentRecord<'a> {
    pub id: &'a str,
    pub doc: &'a str,
    pub paragraphs: usize,
    pub source: &'a str,
}

impl<'a> DocumentRecord<'a> {
    pub fn new(d: &'a DocRecord) -> Self {
        Self {
            id: &d.id,
            doc: &d.title,
            paragraphs: d.paragraphs,
            source: &d.source,
        }
    }
}

/// A paragraph in a listing: one line of `xref paragraphs --json`, the paragraph as stored,
/// then its document's title.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListedParagraph<'a> {
    #[serde(flatten)]
    pub p: &'a crate::ingest::Paragraph,
    pub doc: &'a str,
}
