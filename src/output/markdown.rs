//! Markdown: the corpus as an annotated edition with a table of contents; every paragraph
//! has an anchor and is followed by its cross-references, linked to their anchors.

use std::io::Write;

use anyhow::Result;

use super::{anchor, snippet, totals, About, Edition, ParagraphRecord, Sink};
use crate::index::DocRecord;

pub struct MarkdownSink<'w> {
    out: Box<dyn Write + 'w>,
    edition: Edition,
}

impl<'w> MarkdownSink<'w> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        Self {
            out,
            edition: Edition::default(),
        }
    }
}

/// Escape characters Markdown would read as markup at the start of a paragraph or inline.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Sink for MarkdownSink<'_> {
    fn begin(&mut self, documents: &[DocRecord], about: &About) -> Result<()> {
        let (n_docs, n_paragraphs) = totals(documents);
        writeln!(self.out, "# Cross-references\n")?;
        writeln!(
            self.out,
            "{} documents, {} paragraphs. Model `{}`; at most {} links per paragraph, to other documents, score ≥ {:.3} ({}). \
             Links marked **quotation** share a passage nearly word for word.\n",
            n_docs,
            n_paragraphs,
            about.model,
            about.k,
            about.min_score,
            about.threshold_note
        )?;
        writeln!(self.out, "## Contents\n")?;
        for (i, d) in documents.iter().enumerate() {
            writeln!(
                self.out,
                "{}. [{}](#{}) — {} paragraphs",
                i + 1,
                escape(&d.title),
                anchor(&d.id),
                d.paragraphs
            )?;
        }
        writeln!(self.out)?;
        Ok(())
    }

    fn paragraph(&mut self, p: &ParagraphRecord) -> Result<()> {
        let opening = self.edition.advance(p);
        if let Some(d) = opening.doc {
            writeln!(
                self.out,
                "<a id=\"{}\"></a>\n\n## {}\n\n*{}, lines {}–{}*\n",
                anchor(&d.id),
                escape(&d.title),
                escape(&d.source),
                d.line_start,
                d.line_end
            )?;
        }
        if let Some(section) = opening.section {
            writeln!(self.out, "### {}\n", escape(section))?;
        }
        writeln!(
            self.out,
            "<a id=\"{}\"></a>{} <sub>`{}`</sub>\n",
            anchor(p.id),
            escape(p.text),
            p.id
        )?;
        for l in &p.links {
            let quote = if l.quote { " · **quotation**" } else { "" };
            let shared = if l.terms.is_empty() {
                String::new()
            } else {
                format!(" · shared: {}", escape(&l.terms.join(", ")))
            };
            writeln!(
                self.out,
                "> → [{}](#{}) ({:.3}{quote}{shared}): {}",
                escape(&l.place()),
                anchor(l.id),
                l.score,
                escape(&snippet(l.text, 80))
            )?;
        }
        if !p.links.is_empty() {
            writeln!(self.out)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}
