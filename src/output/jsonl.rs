//! JSON Lines: one object per paragraph (the stable machine interface).
//!
//! `{"id", "doc", "section", "lang", "text", "links": [{"id", "doc", "section", "score", "lang", "quote", "terms", "text"}]}`;
//! records from PDF sources also carry `"page"` (1-based) last. The shapes are
//! [`ParagraphRecord`] and [`LinkRecord`](super::LinkRecord).

use std::io::Write;

use anyhow::Result;

use super::{About, ParagraphRecord, Sink};
use crate::index::DocRecord;

pub struct JsonlSink<'w> {
    out: Box<dyn Write + 'w>,
}

impl<'w> JsonlSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        Self { out }
    }
}

impl Sink for JsonlSink<'_> {
    fn begin(&mut self, _: &[DocRecord], _: &About) -> Result<()> {
        Ok(())
    }

    fn paragraph(&mut self, p: &ParagraphRecord) -> Result<()> {
        serde_json::to_writer(&mut self.out, p)?;
        writeln!(self.out)?;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}
