//! Output: the cross-reference list in four formats behind one [`Sink`] trait.
//!
//! The caller walks the index in document order and hands each paragraph with its links to
//! a sink; the sink decides how it looks. JSON Lines and CSV are for scripts, Markdown and
//! HTML read as an annotated edition: every document in order, each paragraph followed by
//! its cross-references as links to the target paragraphs' anchors.

mod csv;
mod html;
mod jsonl;
mod markdown;
pub mod record;
#[cfg(test)]
mod tests;

use std::io::Write;

use anyhow::{Context, Result};

use crate::index::{DocRecord, Index};
use crate::link::Link;

pub use self::csv::CsvSink;
pub use self::html::{Html, HtmlSink};
pub use self::jsonl::JsonlSink;
pub use self::markdown::{Markdown, MarkdownSink};
pub use self::record::{
    place, round, DocumentRecord, HitRecord, LinkRecord, ListedParagraph, ParagraphRecord,
    RelatedRecord, SearchRecord, TranslationRecord,
};

/// Output formats of `xref crossref`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    Md,
    Html,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Md => "md",
            Format::Html => "html",
        }
    }

    /// A sink writing this format to `out`.
    pub fn sink<'w>(self, out: Box<dyn Write + 'w>) -> Box<dyn Sink + 'w> {
        match self {
            Format::Jsonl => Box::new(JsonlSink::new(out)),
            Format::Csv => Box::new(CsvSink::new(out)),
            Format::Md => Box::new(MarkdownSink::new(out)),
            Format::Html => Box::new(HtmlSink::new(out)),
        }
    }
}

/// Receives the cross-reference list, paragraph by paragraph, in index order.
pub trait Sink {
    /// Before the first paragraph: the documents in order, and how the list was made.
    fn begin(&mut self, documents: &[DocRecord], about: &About) -> Result<()>;
    fn paragraph(&mut self, paragraph: &ParagraphRecord) -> Result<()>;
    fn finish(&mut self) -> Result<()>;
}

/// What the list was made with, for the headers of human-readable formats.
#[derive(Debug, Clone)]
pub struct About {
    pub model: String,
    pub k: usize,
    pub min_score: f32,
    pub threshold_note: String,
}

impl About {
    /// What a crossref `run` over `index` with `k` links a paragraph was made with.
    pub fn of_run(index: &Index, k: usize, run: &crate::link::cache::Crossref) -> Self {
        About {
            model: index.manifest().model.id.clone(),
            k,
            min_score: run.threshold,
            threshold_note: run.note.clone(),
        }
    }
}

/// The whole list in `format`, as bytes (the API's body, the Python package's lines).
pub fn render_crossref(
    format: Format,
    index: &Index,
    links: &[Vec<Link>],
    about: &About,
) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    {
        let mut sink = format.sink(Box::new(&mut buf));
        write_crossref(sink.as_mut(), index, links, about)?;
    }
    Ok(buf)
}

/// Write the whole list through `sink`.
pub fn write_crossref(
    sink: &mut dyn Sink,
    index: &Index,
    links: &[Vec<Link>],
    about: &About,
) -> Result<()> {
    sink.begin(index.documents(), about)?;
    for (row, l) in links.iter().enumerate() {
        sink.paragraph(&ParagraphRecord::new(index, row, l))?;
    }
    sink.finish()
}

/// The list in every format (`crossref.{html,md,jsonl,csv}`) in folder `dir`, each written
/// to a temporary name and renamed: a reader never sees half a file. Returns the paths.
pub fn write_crossref_files(
    dir: &std::path::Path,
    index: &Index,
    links: &[Vec<Link>],
    about: &About,
) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for f in [Format::Html, Format::Md, Format::Jsonl, Format::Csv] {
        let path = dir.join(format!("crossref.{}", f.extension()));
        let tmp = dir.join(format!(".crossref.{}.tmp", f.extension()));
        let file =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut sink = f.sink(Box::new(std::io::BufWriter::new(file)));
        write_crossref(sink.as_mut(), index, links, about)?;
        drop(sink);
        std::fs::rename(&tmp, &path)?;
        written.push(path);
    }
    Ok(written)
}

/// "Title › section, p. N" of an indexed paragraph.
pub fn place_of(index: &Index, row: usize) -> String {
    let p = index.paragraphs().get(row);
    place(&index.doc_of(row).title, p.section, p.page)
}

/// The first `n` characters of `text`, with an ellipsis when cut.
pub fn snippet(text: &str, n: usize) -> String {
    let mut out: String = text.chars().take(n).collect();
    if text.chars().nth(n).is_some() {
        out.push('…');
    }
    out
}

/// An HTML/Markdown-safe anchor for a paragraph or document id.
pub fn anchor(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// How an annotated edition (HTML, Markdown) writes each of its pieces; [`EditionSink`]
/// decides when (a document's header and a section heading once, as the paragraphs go by).
pub trait Markup {
    /// The title, what the list was made with, the table of contents.
    fn header(&self, out: &mut dyn Write, documents: &[DocRecord], about: &About) -> Result<()>;
    /// A document's heading, where its first paragraph comes.
    fn document(&self, out: &mut dyn Write, d: &DocRecord) -> Result<()>;
    /// A section heading, where the section starts.
    fn section(&self, out: &mut dyn Write, section: &str) -> Result<()>;
    /// A paragraph with its anchor.
    fn paragraph(&self, out: &mut dyn Write, p: &ParagraphRecord) -> Result<()>;
    /// A paragraph's links (never called with none).
    fn links(&self, out: &mut dyn Write, links: &[LinkRecord]) -> Result<()>;
    /// What closes the edition.
    fn footer(&self, out: &mut dyn Write) -> Result<()>;
}

/// An annotated edition: every document in order, each paragraph followed by its
/// cross-references as links to the target paragraphs' anchors, in `M`'s markup.
pub struct EditionSink<'w, M: Markup> {
    out: Box<dyn Write + 'w>,
    edition: Edition,
    markup: M,
}

impl<'w, M: Markup + Default> EditionSink<'w, M> {
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        Self {
            out,
            edition: Edition::default(),
            markup: M::default(),
        }
    }
}

impl<M: Markup> Sink for EditionSink<'_, M> {
    fn begin(&mut self, documents: &[DocRecord], about: &About) -> Result<()> {
        self.markup.header(&mut self.out, documents, about)
    }

    fn paragraph(&mut self, p: &ParagraphRecord) -> Result<()> {
        let opening = self.edition.advance(p);
        if let Some(d) = opening.doc {
            self.markup.document(&mut self.out, d)?;
        }
        if let Some(section) = opening.section {
            self.markup.section(&mut self.out, section)?;
        }
        self.markup.paragraph(&mut self.out, p)?;
        if !p.links.is_empty() {
            self.markup.links(&mut self.out, &p.links)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.markup.footer(&mut self.out)?;
        self.out.flush()?;
        Ok(())
    }
}

/// Where an annotated edition (Markdown, HTML) has got to, so that each document's header
/// and each section heading print once as the paragraphs go by in order.
#[derive(Default)]
pub(crate) struct Edition {
    doc: Option<String>,
    section: Option<String>,
}

/// What opens before a paragraph: its document (when it starts one), its section (when it
/// starts one).
pub(crate) struct Opening<'a> {
    pub doc: Option<&'a DocRecord>,
    pub section: Option<&'a str>,
}

impl Edition {
    pub(crate) fn advance<'a>(&mut self, p: &ParagraphRecord<'a>) -> Opening<'a> {
        let mut opening = Opening {
            doc: None,
            section: None,
        };
        if self.doc.as_deref() != Some(p.document.id.as_str()) {
            opening.doc = Some(p.document);
            self.doc = Some(p.document.id.clone());
            self.section = None;
        }
        if p.section.is_some() && p.section != self.section.as_deref() {
            opening.section = p.section;
            self.section = p.section.map(str::to_string);
        }
        opening
    }
}

/// Documents and paragraphs in the list's header.
pub(crate) fn totals(documents: &[DocRecord]) -> (usize, usize) {
    (
        documents.len(),
        documents.iter().map(|d| d.paragraphs).sum(),
    )
}
