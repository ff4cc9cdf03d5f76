//! HTML: a self-contained page, the corpus as an annotated edition; every paragraph has an
//! anchor and a list of its cross-references linking to their anchors.

use std::io::Write;

use anyhow::Result;

use super::{anchor, snippet, totals, About, EditionSink, LinkRecord, Markup, ParagraphRecord};
use crate::index::DocRecord;

/// The HTML edition (`crossref.html`).
pub type HtmlSink<'w> = EditionSink<'w, Html>;

/// HTML markup of an annotated edition.
#[derive(Default)]
pub struct Html;

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.7;color:#222}\
h2{margin-top:3rem;border-bottom:1px solid #ccc}p.para{margin:1.2rem 0 .3rem}.pid{color:#999;font-size:.75em;margin-left:.4em}\
ul.links{margin:.2rem 0 1rem;padding-left:1.2rem;font-size:.9em;color:#444}ul.links li{list-style:'→ '}\
.score{color:#777}.quote{background:#fde68a;border-radius:3px;padding:0 .3em;font-size:.8em}:target{background:#fff7d6}.src{color:#777;font-size:.85em}mark{background:#e0f2fe;border-radius:2px;padding:0 .15em;margin-right:.2em}";

impl Markup for Html {
    fn header(&self, out: &mut dyn Write, documents: &[DocRecord], about: &About) -> Result<()> {
        let (n_docs, n_paragraphs) = totals(documents);
        writeln!(out, "<!DOCTYPE html>\n<html lang=\"zh\">\n<head>\n<meta charset=\"utf-8\">\n<title>Cross-references</title>\n<style>{STYLE}</style>\n</head>\n<body>")?;
        writeln!(out, "<h1>Cross-references</h1>")?;
        writeln!(
            out,
            "<p>{} documents, {} paragraphs. Model <code>{}</code>; at most {} links per paragraph, to other documents, score ≥ {:.3} ({}). \
             <span class=\"quote\">quotation</span> marks passages shared nearly word for word.</p>",
            n_docs,
            n_paragraphs,
            esc(&about.model),
            about.k,
            about.min_score,
            esc(&about.threshold_note)
        )?;
        writeln!(out, "<nav><h2>Contents</h2><ol>")?;
        for d in documents {
            writeln!(
                out,
                "<li><a href=\"#{}\">{}</a> — {} paragraphs</li>",
                anchor(&d.id),
                esc(&d.title),
                d.paragraphs
            )?;
        }
        writeln!(out, "</ol></nav>")?;
        Ok(())
    }

    fn document(&self, out: &mut dyn Write, d: &DocRecord) -> Result<()> {
        writeln!(
            out,
            "<h2 id=\"{}\">{}</h2>\n<p class=\"src\">{}, lines {}–{}</p>",
            anchor(&d.id),
            esc(&d.title),
            esc(&d.source),
            d.line_start,
            d.line_end
        )?;
        Ok(())
    }

    fn section(&self, out: &mut dyn Write, section: &str) -> Result<()> {
        writeln!(out, "<h3>{}</h3>", esc(section))?;
        Ok(())
    }

    fn paragraph(&self, out: &mut dyn Write, p: &ParagraphRecord) -> Result<()> {
        writeln!(
            out,
            "<p class=\"para\" id=\"{}\">{}<span class=\"pid\">{}</span></p>",
            anchor(p.id),
            esc(p.text),
            esc(p.id)
        )?;
        Ok(())
    }

    fn links(&self, out: &mut dyn Write, links: &[LinkRecord]) -> Result<()> {
        writeln!(out, "<ul class=\"links\">")?;
        for l in links {
            let quote = if l.quote {
                " <span class=\"quote\">quotation</span>"
            } else {
                ""
            };
            let shared = if l.terms.is_empty() {
                String::new()
            } else {
                format!(
                    " <span class=\"terms\">{}</span>",
                    l.terms
                        .iter()
                        .map(|t| format!("<mark>{}</mark>", esc(t)))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            };
            writeln!(
                out,
                "<li><a href=\"#{}\">{}</a> <span class=\"score\">{:.3}</span>{quote}{shared}<br>{}</li>",
                anchor(l.id),
                esc(&l.place()),
                l.score,
                esc(&snippet(l.text, 80))
            )?;
        }
        writeln!(out, "</ul>")?;
        Ok(())
    }

    fn footer(&self, out: &mut dyn Write) -> Result<()> {
        writeln!(out, "</body>\n</html>")?;
        Ok(())
    }
}
