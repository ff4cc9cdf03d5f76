//! JSON Lines: one object per paragraph (the stable machine interface).
//!
//! `{"id", "doc", "section", "lang", "text", "links": [{"id", "doc", "section", "score", "lang", "quote", "terms", "text"}]}`;
//! records from PDF sources also carry `"page"` (1-based) last.

use std::io::Write;

use anyhow::Result;
use serde_json::json;

use super::{About, Sink};
use crate::index::{Hit, Index};
use crate::link::terms::shared_terms;
use crate::link::Link;

pub struct JsonlSink<'w> {
    out: Box<dyn Write + 'w>,
}

impl<'w> JsonlSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        Self { out }
    }
}

/// The JSON object of one link (shared by `crossref`, `related` and `search`).
pub fn link_json(index: &Index, l: &Link) -> serde_json::Value {
    let p = &index.paragraphs[l.row];
    with_page(
        json!({
            "id": p.id,
            "doc": index.doc_of(l.row).title,
            "section": p.section,
            "score": round(l.score),
            "lang": index.lang(l.row),
            "quote": l.quote,
            "terms": l.terms,
            "text": p.text,
        }),
        p.page,
    )
}

/// Add `"page"` (PDF sources only) at the end of a record.
pub fn with_page(mut v: serde_json::Value, page: Option<u32>) -> serde_json::Value {
    if let (Some(page), Some(o)) = (page, v.as_object_mut()) {
        o.insert("page".into(), page.into());
    }
    v
}

/// One hit of a search: the object of `"hits"` in `xref search --json`.
pub fn hit_json(index: &Index, hit: &Hit, query: &str, vector: &[f32]) -> serde_json::Value {
    let p = &index.paragraphs[hit.row];
    with_page(
        json!({
            "id": p.id,
            "doc": index.doc_of(hit.row).title,
            "section": p.section,
            "score": round(hit.score),
            "lang": index.lang(hit.row),
            "text": p.text,
            "terms": shared_terms(query, &p.text),
            "sentence": index.best_sentence(vector, hit.row),
        }),
        p.page,
    )
}

/// One answered question: a line of `xref search --json` (and `GET /api/search`).
pub fn search_json(
    index: &Index,
    query: &str,
    vector: &[f32],
    hits: &[Hit],
    confidence: f32,
) -> serde_json::Value {
    json!({
        "query": query,
        "hits": hits.iter().map(|h| hit_json(index, h, query, vector)).collect::<Vec<_>>(),
        "confidence": round(confidence),
        "in_corpus": confidence >= 0.0,
    })
}

/// Scores with 4 decimals: stable output without float noise.
pub fn round(x: f32) -> f64 {
    (x as f64 * 10_000.0).round() / 10_000.0
}

impl Sink for JsonlSink<'_> {
    fn begin(&mut self, _: &Index, _: &About) -> Result<()> {
        Ok(())
    }

    fn paragraph(&mut self, index: &Index, row: usize, links: &[Link]) -> Result<()> {
        let p = &index.paragraphs[row];
        let line = with_page(
            json!({
                "id": p.id,
                "doc": index.doc_of(row).title,
                "section": p.section,
                "lang": index.lang(row),
                "text": p.text,
                "links": links.iter().map(|l| link_json(index, l)).collect::<Vec<_>>(),
            }),
            p.page,
        );
        writeln!(self.out, "{line}")?;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}
