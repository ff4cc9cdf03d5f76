//! CSV: one row per link (RFC 4180 quoting), for spreadsheets.

use std::io::Write;

use anyhow::Result;

use super::{About, Sink};
use crate::index::Index;
use crate::link::Link;

pub struct CsvSink<'w> {
    out: Box<dyn Write + 'w>,
}

impl<'w> CsvSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        Self { out }
    }
}

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Sink for CsvSink<'_> {
    fn begin(&mut self, _: &Index, _: &About) -> Result<()> {
        writeln!(self.out, "source_id,source_doc,source_section,target_id,target_doc,target_section,score,quote,terms,source_text,target_text")?;
        Ok(())
    }

    fn paragraph(&mut self, index: &Index, row: usize, links: &[Link]) -> Result<()> {
        let p = &index.paragraphs[row];
        for l in links {
            let t = &index.paragraphs[l.row];
            let cols = [
                field(&p.id),
                field(&index.doc_of(row).title),
                field(p.section.as_deref().unwrap_or("")),
                field(&t.id),
                field(&index.doc_of(l.row).title),
                field(t.section.as_deref().unwrap_or("")),
                format!("{:.4}", l.score),
                l.quote.to_string(),
                field(&l.terms.join(" ")),
                field(&p.text),
                field(&t.text),
            ];
            writeln!(self.out, "{}", cols.join(","))?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}
