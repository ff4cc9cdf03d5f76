//! CSV: one row per link (RFC 4180 quoting, by the `csv` crate), for spreadsheets.

use std::io::Write;

use anyhow::Result;

use super::{About, ParagraphRecord, Sink};
use crate::index::DocRecord;

pub struct CsvSink<'w> {
    out: csv::Writer<Box<dyn Write + 'w>>,
}

impl<'w> CsvSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        Self {
            out: csv::WriterBuilder::new().from_writer(out),
        }
    }
}

const HEADER: [&str; 11] = [
    "source_id",
    "source_doc",
    "source_section",
    "target_id",
    "target_doc",
    "target_section",
    "score",
    "quote",
    "terms",
    "source_text",
    "target_text",
];

impl Sink for CsvSink<'_> {
    fn begin(&mut self, _: &[DocRecord], _: &About) -> Result<()> {
        self.out.write_record(HEADER)?;
        Ok(())
    }

    fn paragraph(&mut self, p: &ParagraphRecord) -> Result<()> {
        for l in &p.links {
            self.out.write_record([
                p.id,
                p.doc,
                p.section.unwrap_or(""),
                l.id,
                l.doc,
                l.section.unwrap_or(""),
                &format!("{:.4}", l.score),
                if l.quote { "true" } else { "false" },
                &l.terms.join(" "),
                p.text,
                l.text,
            ])?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}
