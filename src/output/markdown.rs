//! Markdown: the corpus as an annotated edition with a table of contents; every paragraph
//! has an anchor and is followed by its cross-references, linked to their anchors.

use std::io::Write;

use anyhow::Result;

use super::{anchor, snippet, totals, About, EditionSink, LinkRecord, Markup, ParagraphRecord};
use crate::index::DocRecord;

/// The Markdown edition (`crossref.md`).
pub type MarkdownSink<'w> = EditionSink<'w, Markdown>;

/// Markdown markup of an annotated edition.
#[derive(Default)]
pub struct Markdown;

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

impl Markup for Markdown {
    fn header(&self, out: &mut dyn Write, documents: &[DocRecord], about: &About) -> Result<()> {
        let (n_docs, n_paragraphs) = totals(documents);
        writeln!(out, "# Cross-references\n")?;
        writeln!(
            out,
            "{} documents, {} paragraphs. Model `{}`; at most {} links per paragraph, to other documents, score ≥ {:.3} ({}). \
             Links marked **quotation** share a passage nearly word for word.\n",
            n_docs,
            n_paragraphs,
            about.model,
            about.k,
            about.min_score,
            about.threshold_note
        )?;
        writeln!(out, "## Contents\n")?;
        for (i, d) in documents.iter().enumerate() {
            writeln!(
                out,
                "{}. [{}](#{}) — {} paragraphs",
                i + 1,
                escape(&d.title),
                anchor(&d.id),
                d.paragraphs
            )?;
        }
        writeln!(out)?;
        Ok(())
    }

    fn document(&self, out: &mut dyn Write, d: &DocRecord) -> Result<()> {
        writeln!(
            out,
            "<a id=\"{}\"></a>\n\n## {}\n\n*{}, lines {}–{}*\n",
            anchor(&d.id),
            escape(&d.title),
            escape(&d.source),
            d.line_start,
            d.line_end
        )?;
        Ok(())
    }

    fn section(&self, out: &mut dyn Write, section: &str) -> Result<()> {
        writeln!(out, "### {}\n", escape(section))?;
        Ok(())
    }

    fn paragraph(&self, out: &mut dyn Write, p: &ParagraphRecord) -> Result<()> {
        writeln!(
            out,
            "<a id=\"{}\"></a>{} <sub>`{}`</sub>\n",
            anchor(p.id),
            escape(p.text),
            p.id
        )?;
        Ok(())
    }

    fn links(&self, out: &mut dyn Write, links: &[LinkRecord]) -> Result<()> {
        for l in links {
            let quote = if l.quote { " · **quotation**" } else { "" };
            let shared = if l.terms.is_empty() {
                String::new()
            } else {
                format!(" · shared: {}", escape(&l.terms.join(", ")))
            };
            writeln!(
                out,
                "> → [{}](#{}) ({:.3}{quote}{shared}): {}",
                escape(&l.place()),
                anchor(l.id),
                l.score,
                escape(&snippet(l.text, 80))
            )?;
        }
        writeln!(out)?;
        Ok(())
    }

    fn footer(&self, _: &mut dyn Write) -> Result<()> {
        Ok(())
    }
}
