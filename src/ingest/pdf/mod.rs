//! PDF input: the text layer of each page as positioned lines ([`Line`]: baseline, edges,
//! font size, fixed pitch, cells), the outline ([`outline`]) and the title. A file with an
//! outline is read as one book from its lines ([`book`]); a file without one as plain text
//! (each page's lines, form feeds between pages) that the plain-text pipeline
//! ([`super::layout`], [`super::docsplit`], [`super::reflow`]) treats like any
//! PDF-extracted file.
//!
//! **Why pdf-extract.** Measured on the seed printed by headless Chromium (79 pages, CID
//! fonts with ToUnicode maps, 1.4 MB): `pdf-extract` (on `lopdf`) returns the Chinese text
//! exactly; `lopdf`'s own `extract_text` returns mojibake for Identity-H fonts; MuPDF and
//! Poppler bindings extract well but are AGPL/GPL, which an MIT crate cannot link. So the
//! PDF is parsed by `lopdf` and its glyphs are decoded and positioned by `pdf-extract`;
//! xref only turns positioned glyphs into lines (`Page`).
//!
//! * **Lines and gaps.** Glyphs are grouped into lines by their baseline; a space is put
//!   where the horizontal gap exceeds the line's usual gap between glyphs by 15 % of the
//!   font size (CJK text has none; the usual gap is 0 unless a font's widths are too
//!   narrow); in plain text, a blank
//!   line where the gap to the previous line exceeds 1.6 × the page's usual line pitch, so
//!   the re-flow sees paragraph breaks as it does in extracted text. Pages are separated by
//!   form feeds, which the layout analysis treats as page breaks (running headers and page
//!   numbers are dropped there).
//! * **Characters.** Fonts often map CJK glyphs to Kangxi radicals (`⼗` U+2F17 for `十`);
//!   these and CJK compatibility ideographs are folded to the unified ideographs.
//! * **Bounded work.** The document is decoded in one pass under `catch_unwind` (the crate
//!   panics on some malformed input); after a panic, page by page in parallel, each under
//!   its own `catch_unwind`, keeping the pages that decode. The whole file runs on its own
//!   thread and is abandoned after [`TIME_LIMIT`].
//! * **Speed.** pdf-extract rebuilt every font (and parsed its ToUnicode map) on every
//!   page; xref uses it patched to cache fonts per document (`vendor/pdf-extract/`),
//!   13× faster. Encrypted files, files without a text layer (scans)
//!   and unparseable files are errors that name the file; the caller skips them.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use rayon::prelude::*;

pub mod book;
mod lines;
pub mod outline;
mod scan;
pub mod tags;

use lines::Pages;
pub use lines::{most_common_size, Line, Page, WORD_STARTS};
use scan::is_scan;

/// Wall-clock bound for one PDF.
pub const TIME_LIMIT: Duration = Duration::from_secs(120);

/// A file with more pages is refused (a bound on memory and time; 20,000 pages is far
/// more than any book).
pub const MAX_PAGES: usize = 20_000;

/// Why a PDF yields no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdfError {
    Encrypted,
    Unreadable(String),
    NoText { pages: usize },
    TooSlow,
}

impl std::fmt::Display for PdfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PdfError::Encrypted => write!(
                f,
                "the PDF is encrypted (password-protected); decrypt it first"
            ),
            PdfError::Unreadable(why) => write!(f, "not a readable PDF ({why})"),
            PdfError::NoText { pages } => write!(
                f,
                "no text layer in {pages} page(s): a scanned or image-only PDF; run OCR on it first"
            ),
            PdfError::TooSlow => write!(
                f,
                "text extraction took longer than {} s, abandoned",
                TIME_LIMIT.as_secs()
            ),
        }
    }
}

/// A PDF as xref reads it: each page's lines, the outline and the document's own title.
pub struct Pdf {
    pub pages: Vec<Page>,
    /// The outline (bookmarks), empty when there is none; see [`outline`].
    pub outline: Vec<outline::Entry>,
    /// `/Info /Title`, when set.
    pub title: Option<String>,
    /// The pages (1-based) that draw an image over half the page or more and have no text
    /// layer: scanned pages among text pages, whose text xref cannot read.
    pub scanned: Vec<usize>,
}

/// The text of every page, in page order.
pub fn pages(bytes: &[u8]) -> Result<Vec<String>, PdfError> {
    Ok(read(bytes)?.pages.iter().map(Page::text).collect())
}

/// Read a PDF: its pages' lines, outline and title.
pub fn read(bytes: &[u8]) -> Result<Pdf, PdfError> {
    let owned = bytes.to_vec();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("xref-pdf".into())
        .spawn(move || {
            let _ = tx.send(read_now(&owned));
        })
        .map_err(|e| PdfError::Unreadable(e.to_string()))?;
    match rx.recv_timeout(TIME_LIMIT) {
        Ok(r) => r,
        Err(_) => Err(PdfError::TooSlow),
    }
}

thread_local! {
    /// Set while this thread runs the PDF parser under `catch_unwind` ([`quietly`]).
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f` (a `catch_unwind` around the parser) with a panic in it kept off standard
/// error: the caller catches it and reports what was lost. Panics elsewhere, and on other
/// threads, are reported as before.
fn quietly<R>(f: impl FnOnce() -> R) -> R {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info)
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let r = f();
    QUIET.with(|q| q.set(false));
    r
}

fn read_now(bytes: &[u8]) -> Result<Pdf, PdfError> {
    let doc = quietly(|| std::panic::catch_unwind(|| pdf_extract::Document::load_mem(bytes)))
        .map_err(|_| PdfError::Unreadable("the parser gave up".into()))?
        .map_err(|e| {
            let msg = e.to_string();
            if msg.to_ascii_lowercase().contains("encrypt") {
                PdfError::Encrypted
            } else {
                PdfError::Unreadable(msg)
            }
        })?;
    if doc.is_encrypted() || doc.trailer.get(b"Encrypt").is_ok() {
        return Err(PdfError::Encrypted);
    }
    let numbers: Vec<u32> = doc.get_pages().keys().copied().collect();
    if numbers.is_empty() {
        return Err(PdfError::Unreadable("no pages".into()));
    }
    if numbers.len() > MAX_PAGES {
        return Err(PdfError::Unreadable(format!(
            "{} pages, more than the {MAX_PAGES} read from one file",
            numbers.len()
        )));
    }
    // One pass over the document (fonts decoded once, see vendor/pdf-extract/PATCHED.md);
    // if the crate panics on some page, each page again on its own, keeping the good ones.
    let whole = quietly(|| {
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut pages = Pages::default();
            pdf_extract::output_doc(&doc, &mut pages).ok()?;
            (pages.done.len() == numbers.len())
                .then(|| pages.done.into_iter().map(Some).collect::<Vec<_>>())
        }))
    })
    .ok()
    .flatten();
    let read: Vec<Option<Page>> = match whole {
        Some(t) => t,
        None => numbers
            .par_iter()
            .map(|&n| {
                quietly(|| {
                    std::panic::catch_unwind(AssertUnwindSafe(|| {
                        let mut pages = Pages::default();
                        pdf_extract::output_doc_page(&doc, &mut pages, n).ok()?;
                        pages.done.pop()
                    }))
                })
                .ok()
                .flatten()
            })
            .collect(),
    };
    let decoded = read.iter().filter(|t| t.is_some()).count();
    let pages: Vec<Page> = read.into_iter().map(Option::unwrap_or_default).collect();
    let visible: Vec<usize> = (pages.iter())
        .map(|p| {
            (p.lines.iter())
                .map(|l| l.text.chars().filter(|c| !c.is_whitespace()).count())
                .sum()
        })
        .collect();
    let chars: usize = visible.iter().sum();
    if decoded == 0 {
        return Err(PdfError::Unreadable("no page could be decoded".into()));
    }
    // Under 10 visible characters a page on average: page numbers at most.
    if chars < 10 * numbers.len() {
        return Err(PdfError::NoText {
            pages: numbers.len(),
        });
    }
    // Scanned pages among pages with text: a page-sized image and no text layer (a blank
    // page has neither and is no loss).
    let page_ids: Vec<pdf_extract::ObjectId> = doc.get_pages().into_values().collect();
    let scanned: Vec<usize> = (0..pages.len())
        .filter(|&i| {
            visible[i] < 10
                && std::panic::catch_unwind(AssertUnwindSafe(|| {
                    is_scan(&doc, page_ids[i], pages[i].width * pages[i].height)
                }))
                .unwrap_or(false)
        })
        .map(|i| i + 1)
        .collect();
    // The outline and title are extras: a broken outline is read as far as it goes.
    let outline =
        std::panic::catch_unwind(AssertUnwindSafe(|| outline::read(&doc))).unwrap_or_default();
    // So is the structure tree: each line learns the block it belongs to.
    let tags =
        std::panic::catch_unwind(AssertUnwindSafe(|| tags::Tags::read(&doc))).unwrap_or_default();
    let mut pages = pages;
    if !tags.is_empty() {
        for (p, page) in pages.iter_mut().enumerate() {
            for line in &mut page.lines {
                line.tag = line.mcid.and_then(|m| tags.get(p, m));
            }
        }
    }
    let title = doc
        .trailer
        .get(b"Info")
        .ok()
        .and_then(|i| doc.dereference(i).ok())
        .and_then(|(_, i)| i.as_dict().ok())
        .and_then(|i| i.get(b"Title").ok())
        .and_then(|t| doc.dereference(t).ok())
        .and_then(|(_, t)| pdf_extract::decode_text_string(t).ok())
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty());
    Ok(Pdf {
        pages,
        outline,
        title,
        scanned,
    })
}

#[cfg(test)]
mod tests;
