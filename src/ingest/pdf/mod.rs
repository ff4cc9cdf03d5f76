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

use compact_str::CompactString;
use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};
use rayon::prelude::*;

pub mod book;
pub mod outline;
pub mod tags;

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

/// Whether a page is a scan: it draws an image (an XObject its content invokes, directly
/// or through a form three deep at most, or an inline image) over half its area or more.
/// Only what the page draws counts (producers share one resource dictionary between
/// pages), and a logo on a title page is no scan.
fn is_scan(doc: &pdf_extract::Document, page: pdf_extract::ObjectId, area: f64) -> bool {
    use pdf_extract::{Dictionary, Object};
    /// The largest area an image covers (the unit square through the transform).
    fn largest(
        doc: &pdf_extract::Document,
        content: &[u8],
        resources: &[&Dictionary],
        ctm: Transform,
        depth: usize,
    ) -> f64 {
        let Ok(content) = pdf_extract::content::Content::decode(content) else {
            return 0.0;
        };
        let (mut ctm, mut saved, mut best) = (ctm, Vec::new(), 0.0f64);
        for op in &content.operations {
            match op.operator.as_str() {
                "q" => saved.push(ctm),
                "Q" => ctm = saved.pop().unwrap_or(ctm),
                "cm" => {
                    let n: Vec<f64> = (op.operands.iter())
                        .filter_map(|o| o.as_float().ok().map(f64::from))
                        .collect();
                    if let [a, b, c, d, e, f] = n[..] {
                        ctm = ctm.pre_transform(&Transform::row_major(a, b, c, d, e, f));
                    }
                }
                "BI" => best = best.max(ctm.determinant().abs()),
                "Do" => {
                    let Some(x) =
                        op.operands
                            .first()
                            .and_then(|n| n.as_name().ok())
                            .and_then(|name| {
                                resources.iter().find_map(|r| {
                                    tags::dict(doc, r.get(b"XObject").ok()?)?.get(name).ok()
                                })
                            })
                    else {
                        continue;
                    };
                    let Ok((_, Object::Stream(s))) = doc.dereference(x) else {
                        continue;
                    };
                    match s.dict.get(b"Subtype").and_then(|t| t.as_name()) {
                        Ok(b"Image") => best = best.max(ctm.determinant().abs()),
                        Ok(b"Form") if depth < 3 => {
                            let own = s
                                .dict
                                .get(b"Resources")
                                .ok()
                                .and_then(|r| tags::dict(doc, r));
                            let inner: Vec<&Dictionary> =
                                own.into_iter().chain(resources.iter().copied()).collect();
                            if let Ok(c) = s.get_plain_content() {
                                best = best.max(largest(doc, &c, &inner, ctm, depth + 1));
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        best
    }
    let Ok((own, inherited)) = doc.get_page_resources(page) else {
        return false;
    };
    let resources: Vec<&Dictionary> = own
        .into_iter()
        .chain(
            inherited
                .iter()
                .filter_map(|id| doc.get_dictionary(*id).ok()),
        )
        .collect();
    area > 0.0
        && doc
            .get_page_content(page)
            .is_ok_and(|c| largest(doc, &c, &resources, Transform::identity(), 0) * 2.0 >= area)
}

/// One glyph: baseline position (y down from the top), font size, advance, text.
#[derive(Clone)]
struct Glyph {
    x: f64,
    y: f64,
    size: f64,
    end: f64,
    text: CompactString,
    bold: bool,
    mcid: Option<i64>,
}

/// Collects the glyphs of every page pdf-extract decodes, as lines at the end of each page.
#[derive(Default)]
struct Pages {
    height: f64,
    width: f64,
    glyphs: Vec<Glyph>,
    done: Vec<Page>,
    /// Whether the characters now set are in a bold face.
    bold: bool,
    /// The marked-content id of the characters now set (tagged PDFs).
    mcid: Option<i64>,
}

impl OutputDev for Pages {
    fn begin_page(
        &mut self,
        _: u32,
        media_box: &MediaBox,
        _: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.height = media_box.ury - media_box.lly;
        self.width = media_box.urx - media_box.llx;
        self.glyphs.clear();
        Ok(())
    }
    fn end_page(&mut self) -> Result<(), OutputError> {
        let mut glyphs = std::mem::take(&mut self.glyphs);
        compose_accents(&mut glyphs);
        self.done.push(Page {
            height: self.height,
            width: self.width,
            lines: lines(&glyphs),
        });
        // The next page reuses the allocation.
        glyphs.clear();
        self.glyphs = glyphs;
        Ok(())
    }
    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        text: &str,
    ) -> Result<(), OutputError> {
        let size = ((trm.m11 * font_size) * (trm.m22 * font_size)).abs().sqrt();
        let x = trm.m31;
        self.glyphs.push(Glyph {
            x,
            y: self.height - trm.m32,
            size,
            end: x + width * size,
            text: fold(text),
            bold: self.bold,
            mcid: self.mcid,
        });
        Ok(())
    }
    fn set_bold(&mut self, bold: bool) {
        self.bold = bold;
    }
    fn set_marked_content(&mut self, mcid: Option<i64>) {
        self.mcid = mcid;
    }
    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// One page: its size and its lines in content order.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub height: f64,
    pub width: f64,
    pub lines: Vec<Line>,
}

/// One line of a page: glyphs on one baseline, consecutive in the content stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    /// Baseline, from the top of the page.
    pub y: f64,
    /// Left edge of the first glyph and right edge of the rightmost one.
    pub x0: f64,
    pub x1: f64,
    /// The font size most of its characters are set in.
    pub size: f64,
    pub text: String,
    /// Set in a fixed-pitch font: every Latin letter and digit has the same advance (code
    /// listings, terminal sessions).
    pub mono: bool,
    /// Gaps wider than two font sizes between glyphs: table cells laid out on one line.
    pub wide_gaps: usize,
    /// Left edges of its first [`WORD_STARTS`] words after the first: where a hanging
    /// indent (under a bullet, a footnote's number, a definition's term) may align.
    pub starts: [f64; WORD_STARTS],
    /// Where its text resumes after the widest gap among those words, if wider than a
    /// font size: a definition's description after its term ("y ~ A/B   Two factor…").
    pub term_end: Option<f64>,
    /// Set in a bold face, nine in ten of its characters at least.
    pub bold: bool,
    /// The marked-content id of its first glyph that has one (tagged PDFs).
    pub mcid: Option<i64>,
    /// The block of the structure tree its first marked glyph belongs to (tagged PDFs;
    /// [`tags`]).
    pub tag: Option<tags::Tag>,
}

/// How many word starts a [`Line`] keeps.
pub const WORD_STARTS: usize = 6;

/// Glyphs in content order into lines: a new line when the baseline moves by more than
/// half the font size; a space where the gap to the previous glyph exceeds 15 % of the
/// font size beyond the line's usual gap between glyphs (zero where the font's advance
/// widths are right; where a font's widths are too narrow, as in some printed fixed-pitch
/// fonts, every glyph would otherwise stand apart: "m e a s u r e").
fn lines(glyphs: &[Glyph]) -> Vec<Line> {
    let visible: Vec<&Glyph> = glyphs
        .iter()
        .filter(|g| !g.text.trim().is_empty() || g.text == " ")
        .collect();
    // Runs of glyphs on one baseline.
    let mut runs: Vec<&[&Glyph]> = Vec::new();
    let mut start = 0;
    for i in 1..=visible.len() {
        let breaks = i == visible.len() || {
            let (l, g) = (visible[i - 1], visible[i]);
            (g.y - l.y).abs() > l.size.max(g.size) * 0.5
        };
        if breaks {
            if i > start {
                runs.push(&visible[start..i]);
            }
            start = i;
        }
    }
    runs.into_iter().map(line_of).collect()
}

/// One line from its glyphs (see [`lines`]).
fn line_of(glyphs: &[&Glyph]) -> Line {
    // The usual gap between consecutive glyphs (spaces aside): the median, not below 0.
    let mut gaps: Vec<f64> = glyphs
        .windows(2)
        .filter(|w| w[0].text != " " && w[1].text != " ")
        .map(|w| w[1].x - w[0].end)
        .collect();
    gaps.sort_by(f64::total_cmp);
    let usual = gaps.get(gaps.len() / 2).copied().unwrap_or(0.0).max(0.0);
    let first = glyphs[0];
    let text = first.text.to_string();
    let mut line = Line {
        y: first.y,
        x0: first.x,
        x1: first.end,
        text,
        ..Line::default()
    };
    let (mut words, mut widest) = (0, 0.0);
    for w in glyphs.windows(2) {
        let (l, g) = (w[0], w[1]);
        if g.x > l.end + usual + g.size * 0.15 && !line.text.ends_with(' ') && g.text != " " {
            line.text.push(' ');
        }
        if g.text != " " && line.text.ends_with(' ') && words < WORD_STARTS {
            line.starts[words] = g.x;
            words += 1;
            let gap = g.x - l.end;
            if gap > g.size && gap > widest {
                widest = gap;
                line.term_end = Some(g.x);
            }
        }
        if g.x > l.end + usual + g.size * 2.0 && g.text != " " {
            line.wide_gaps += 1;
        }
        line.text.push_str(&g.text);
        line.x0 = line.x0.min(g.x);
        line.x1 = line.x1.max(g.end);
    }
    // The baseline: the first glyph's unless it stands raised or lowered (a footnote's
    // number in superscript), then the middle glyph's.
    let on_first = glyphs
        .iter()
        .filter(|g| (g.y - first.y).abs() <= g.size * 0.1)
        .count();
    if on_first * 2 < glyphs.len() {
        line.y = glyphs[glyphs.len() / 2].y;
    }
    line.size = most_common_size(glyphs.iter().filter(|g| g.text != " ").map(|g| (g.size, 1)));
    let (inked, bold) = glyphs
        .iter()
        .filter(|g| g.text != " ")
        .fold((0, 0), |(n, b), g| (n + 1, b + g.bold as usize));
    line.bold = inked > 0 && bold * 10 >= inked * 9;
    line.mcid = glyphs.iter().find_map(|g| g.mcid);
    // Fixed pitch: every Latin letter and digit advances the same. Lines mostly in other
    // scripts are not code (CJK fonts' Latin glyphs are often all half-width).
    let advances: Vec<f64> = glyphs
        .iter()
        .filter(|g| {
            g.text.len() == 1 && g.text.as_bytes()[0].is_ascii_alphanumeric() && g.size > 0.0
        })
        .map(|g| (g.end - g.x) / g.size)
        .collect();
    let ascii = line.text.chars().filter(|c| c.is_ascii_graphic()).count();
    let seen = line.text.chars().filter(|c| !c.is_whitespace()).count();
    line.mono = advances.len() >= 6 && ascii * 10 >= seen * 9 && {
        let (lo, hi) = advances
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), a| (lo.min(*a), hi.max(*a)));
        hi - lo <= 0.02 * hi
    };
    line
}

/// The font size (to the half point) with the most weight among `(size, weight)` pairs;
/// 0 for none.
pub fn most_common_size(sizes: impl Iterator<Item = (f64, usize)>) -> f64 {
    let mut tally: Vec<(f64, usize)> = Vec::new();
    for (size, n) in sizes {
        let size = (size * 2.0).round() / 2.0;
        match tally.iter_mut().find(|(s, _)| *s == size) {
            Some((_, c)) => *c += n,
            None => tally.push((size, n)),
        }
    }
    tally
        .iter()
        .max_by_key(|(_, n)| *n)
        .map_or(0.0, |(s, _)| *s)
}

impl Line {
    /// Whether `next` stands under the description of this line's definition (see
    /// [`Line::term_end`]).
    pub fn describes(&self, next: &Line) -> bool {
        self.term_end.is_some_and(|x| self.aligned(x, next))
    }

    /// Whether `next`, standing right of this line's left edge, aligns with one of its
    /// first words: a hanging indent under a bullet, a footnote's number or a term.
    pub fn hangs(&self, next: &Line) -> bool {
        self.starts
            .iter()
            .any(|&x| x > self.x0 + self.tolerance() && self.aligned(x, next))
    }

    /// Whether `next` starts at `x` of this line, within [`Line::tolerance`].
    fn aligned(&self, x: f64, next: &Line) -> bool {
        (x - next.x0).abs() <= self.tolerance()
    }

    /// How far apart two left edges may stand and still align: a fifth of the font size.
    fn tolerance(&self) -> f64 {
        self.size.max(1.0) * 0.2
    }
}

impl Page {
    /// The page as plain text: its lines, a blank line before unusually wide gaps.
    pub fn text(&self) -> String {
        // The usual pitch: the median positive distance between consecutive baselines.
        let lines = &self.lines;
        let mut pitches: Vec<f64> = lines
            .windows(2)
            .map(|w| w[1].y - w[0].y)
            .filter(|d| *d > 0.0)
            .collect();
        pitches.sort_by(f64::total_cmp);
        let pitch = pitches.get(pitches.len() / 2).copied().unwrap_or(0.0);
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
                let prev = &lines[i - 1];
                let gap = line.y - prev.y;
                if pitch > 0.0 && gap > pitch * 1.6 || self.opens_paragraph(prev, line) {
                    out.push('\n');
                }
            }
            out.push_str(&line.text);
        }
        out
    }

    /// Whether `next` opens a paragraph after `prev` where no wider gap says so: after a
    /// listing, or in a column a first line indented after a sentence's end, or at the top
    /// of the next column (a page of two or more columns) a line indented from its
    /// column's left edge, or one after a sentence ended short of the column's right edge.
    fn opens_paragraph(&self, prev: &Line, next: &Line) -> bool {
        let size = prev.size.max(next.size).max(1.0);
        let ends = crate::ingest::text::ends_terminal(prev.text.trim_end());
        // A listing's end, or one after a sentence's end.
        if prev.mono != next.mono && (prev.mono || ends) {
            return true;
        }
        // In one column: a first line indented from the line above, after a sentence's end.
        if next.y > prev.y && next.y - prev.y < size * 2.0 {
            return ends
                && next.x0 > prev.x0 + size * book::INDENT
                && next.x0 < prev.x0 + size * book::FIRST_LINE_INDENT
                && book::same_size(prev.size, next.size);
        }
        if next.y >= prev.y - size || next.x0 < prev.x1 {
            return false;
        }
        let indented = next.x0 > self.column(next).0 + size * book::INDENT;
        let ended = prev.x1 < self.column(prev).1 - size * 2.0 && ends;
        indented || ended
    }

    /// The left and right edges of the column `line` stands in: the furthest that lines of
    /// its size overlapping it reach (the text block's, on a page of one column).
    pub fn column(&self, line: &Line) -> (f64, f64) {
        self.lines
            .iter()
            .filter(|m| book::same_size(m.size, line.size) && m.x0 < line.x1 && m.x1 > line.x0)
            .fold((line.x0, line.x1), |(a, b), m| (a.min(m.x0), b.max(m.x1)))
    }
}

/// The combining mark of a spacing accent as TeX sets one: a glyph of its own drawn
/// over (or under) the letter it accents.
fn combining(accent: &str) -> Option<char> {
    Some(match accent {
        "´" => '\u{301}',
        "`" => '\u{300}',
        // A font's own encoding may name TeX's circumflex and tilde as the ASCII ones.
        "ˆ" | "^" => '\u{302}',
        "˜" | "~" => '\u{303}',
        "¯" => '\u{304}',
        "˘" => '\u{306}',
        "˙" => '\u{307}',
        "¨" => '\u{308}',
        "˚" => '\u{30A}',
        "˝" => '\u{30B}',
        "ˇ" => '\u{30C}',
        "¸" => '\u{327}',
        "˛" => '\u{328}',
        _ => return None,
    })
}

/// Accents set as glyphs of their own over or under a letter (TeX's `\'e`, `\c{c}`:
/// "Fran¸cois", "’´e’") joined to that letter ("François", "’é’"): an accent glyph
/// centred over the letter drawn just before or after it on the same line. The dotless i and
/// j TeX accents stand for i and j.
fn compose_accents(glyphs: &mut Vec<Glyph>) {
    use unicode_normalization::UnicodeNormalization;
    // Over the letter: the accent's middle within the letter's advance (a "~" or "`" that
    // merely touches the next letter, "~pstandard", "``Unstable``", is not over it).
    let over = |accent: &Glyph, letter: &Glyph| {
        let middle = (accent.x + accent.end) / 2.0;
        letter.x < middle
            && middle < letter.end
            && (accent.y - letter.y).abs() < accent.size.max(letter.size)
    };
    let letter = |g: &Glyph| {
        let mut c = g.text.chars();
        matches!((c.next(), c.next()), (Some(c), None) if c.is_alphabetic())
    };
    let mut i = 0;
    while i < glyphs.len() {
        let Some(mark) = combining(&glyphs[i].text) else {
            i += 1;
            continue;
        };
        let base = [i + 1, i.wrapping_sub(1)].into_iter().find(|&j| {
            glyphs
                .get(j)
                .is_some_and(|g| letter(g) && over(&glyphs[i], g))
        });
        let Some(j) = base else {
            i += 1;
            continue;
        };
        let base = match glyphs[j].text.as_str() {
            "ı" => "i",
            "ȷ" => "j",
            other => other,
        };
        let composed: CompactString = base.chars().chain([mark]).nfc().collect();
        glyphs[j].text = composed;
        glyphs.remove(i);
        // The letter before the accent is now at `i - 1`, the one after it at `i`.
    }
}

/// Kangxi radicals (U+2F00–U+2FD5), CJK radicals supplement (U+2E80–U+2EF3) and CJK
/// compatibility ideographs (U+F900–U+FAFF) to the unified ideographs they stand for; the
/// two- and three-em dashes (U+2E3A/B) to the "——" that Chinese text types.
fn fold(s: &str) -> CompactString {
    use unicode_normalization::char::decompose_compatible;
    let needs = |c: char| matches!(c as u32, 0x2E3A | 0x2E3B | 0x2E80..=0x2EF3 | 0x2F00..=0x2FD5 | 0xF900..=0xFAFF);
    if !s.chars().any(needs) {
        return s.into();
    }
    let mut out = CompactString::with_capacity(s.len());
    for c in s.chars() {
        // Two- and three-em dashes: fonts draw "——" as one glyph.
        match c {
            '\u{2E3A}' => {
                out.push_str("——");
                continue;
            }
            '\u{2E3B}' => {
                out.push_str("———");
                continue;
            }
            _ => {}
        }
        if needs(c) {
            let mut d = String::new();
            decompose_compatible(c, |x| d.push(x));
            if d.chars().count() == 1 && !d.starts_with(c) {
                out.push_str(&d);
                continue;
            }
            if let Some(u) = radical_supplement(c) {
                out.push(u);
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The few CJK radicals supplement forms with no compatibility decomposition that fonts
/// use for common simplified characters.
fn radical_supplement(c: char) -> Option<char> {
    Some(match c {
        '⻅' => '见',
        '⻉' => '贝',
        '⻋' => '车',
        '⻓' => '长',
        '⻔' => '门',
        '⻘' => '青',
        '⻙' => '韦',
        '⻚' => '页',
        '⻛' => '风',
        '⻜' => '飞',
        '⻝' => '食',
        '⻢' => '马',
        '⻣' => '骨',
        '⻤' => '鬼',
        '⻥' => '鱼',
        '⻦' => '鸟',
        '⻧' => '卤',
        '⻨' => '麦',
        '⻩' => '黄',
        '⻬' => '齐',
        '⻮' => '齿',
        '⻯' => '龙',
        '⻰' => '龙',
        '⻁' => '虎',
        '⻳' => '龟',
        '⻆' => '角',
        '⻄' => '西',
        '⺠' => '民',
        '⺟' => '母',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radicals_fold_to_ideographs() {
        assert_eq!(fold("第⼗⼀次"), "第十一次");
        assert_eq!(fold("⻢兴瑞"), "马兴瑞");
        assert_eq!(fold("⽣产⼒"), "生产力");
        assert_eq!(fold("abc，。"), "abc，。");
        assert_eq!(fold("报告\u{2E3A}2024年"), "报告——2024年");
    }

    /// TeX's accents: a glyph of its own over the letter, before it or after it; the
    /// dotless i under an acute; an accent alone, or beside a letter it does not touch,
    /// stays as it is.
    #[test]
    fn accents_set_over_letters_join_them() {
        let text = |glyphs: &[Glyph]| glyphs.iter().map(|g| g.text.as_str()).collect::<String>();
        // "Fran¸cois": the cedilla drawn at the c's place, before it.
        let mut g = set("Francois", 0.0, 100.0, 10.0);
        let c = g[4].clone();
        g.insert(
            4,
            Glyph {
                text: "¸".into(),
                ..c.clone()
            },
        );
        compose_accents(&mut g);
        assert_eq!(text(&g), "François");
        // An acute after its letter, over it; the dotless i.
        let mut g = set("caf", 0.0, 100.0, 10.0);
        let f = g[2].clone();
        let at = |text: &str, from: f64, to: f64| Glyph {
            text: text.into(),
            x: f.end + from,
            end: f.end + to,
            ..f.clone()
        };
        g.extend([
            at("e", 0.0, 5.0),
            at("´", 1.0, 4.0),
            at("´", 6.0, 9.0),
            at("ı", 5.0, 10.0),
        ]);
        compose_accents(&mut g);
        assert_eq!(text(&g), "caféí");
        // "it´s" and "~/x^2" set apart, a lone "¨": unchanged.
        let mut g = set("it´s ~/x^2 ¨", 0.0, 100.0, 10.0);
        compose_accents(&mut g);
        assert_eq!(text(&g), "it´s ~/x^2 ¨");
    }

    /// One glyph a character, each `size / 2` wide, from `x` on the baseline `y`.
    fn set(text: &str, x: f64, y: f64, size: f64) -> Vec<Glyph> {
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                let x = x + i as f64 * size / 2.0;
                Glyph {
                    x,
                    y,
                    size,
                    end: x + size / 2.0,
                    text: c.to_string().into(),
                    bold: false,
                    mcid: None,
                }
            })
            .collect()
    }

    #[test]
    fn a_raised_footnote_number_does_not_move_the_baseline() {
        let mut glyphs = set("3", 95.9, 698.5, 9.0);
        glyphs.extend(set("some of the consoles", 104.9, 702.3, 9.0));
        let refs: Vec<&Glyph> = glyphs.iter().collect();
        let l = line_of(&refs);
        assert_eq!(l.y, 702.3);
        assert_eq!(l.text, "3 some of the consoles");
        assert_eq!(l.starts[..3], [104.9, 127.4, 140.9]);
        assert_eq!(l.term_end, None, "a space is no term's gap");
    }

    #[test]
    fn a_definition_term_ends_where_its_description_starts() {
        let mut glyphs = set("y ~ A/B", 90.0, 317.0, 11.0);
        glyphs.extend(set("Two factor model", 147.6, 317.0, 11.0));
        let refs: Vec<&Glyph> = glyphs.iter().collect();
        let l = line_of(&refs);
        assert_eq!(l.term_end, Some(147.6));
        let under = Line {
            x0: 147.6,
            ..Line::default()
        };
        assert!(l.describes(&under) && l.hangs(&under));
    }

    /// A one-page PDF whose text is `cids` (two bytes each) in a CID font that is not
    /// embedded and has no ToUnicode map, as older Japanese and Chinese PDFs set their text
    /// (Ryumin-Light, Identity-H), its CIDs from Adobe's collection `ordering`. Written by
    /// lopdf: no producer here makes such a file.
    fn system_cid_font_pdf(ordering: &str, cids: &[u16]) -> Vec<u8> {
        use lopdf::{dictionary, Document, Object, Stream};
        let mut doc = Document::with_version("1.5");
        let descriptor = doc.add_object(dictionary! {
            "Type" => "FontDescriptor", "FontName" => "Ryumin-Light", "Flags" => 4,
            "FontBBox" => vec![0.into(), (-120).into(), 1000.into(), 880.into()],
            "ItalicAngle" => 0, "Ascent" => 880, "Descent" => -120, "CapHeight" => 700,
            "StemV" => 80,
        });
        let cid_font = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "CIDFontType0", "BaseFont" => "Ryumin-Light",
            "CIDSystemInfo" => dictionary! {
                "Registry" => Object::string_literal("Adobe"),
                "Ordering" => Object::string_literal(ordering),
                "Supplement" => 6,
            },
            "FontDescriptor" => descriptor, "DW" => 1000,
        });
        let font = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "Ryumin-Light",
            "Encoding" => "Identity-H", "DescendantFonts" => vec![cid_font.into()],
        });
        let text: Vec<u8> = cids.iter().flat_map(|c| c.to_be_bytes()).collect();
        let hex: String = text.iter().map(|b| format!("{b:02x}")).collect();
        let content = format!("BT /F1 24 Tf 72 700 Td <{hex}> Tj ET");
        let contents = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
        let pages_id = doc.new_object_id();
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => contents,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        });
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    #[test]
    fn system_cjk_fonts_without_a_unicode_map_read_through_adobes_collections() {
        // 日本語 in Adobe-Japan1's CIDs; 中文 in Adobe-GB1's (a page needs 10 characters to
        // count as text).
        let ja = pages(&system_cid_font_pdf(
            "Japan1",
            &[0x0cd4, 0x0e8a, 0x07a0].repeat(4),
        ));
        assert_eq!(ja.unwrap()[0].trim(), "日本語".repeat(4));
        let zh = pages(&system_cid_font_pdf("GB1", &[0x11cf, 0x0ed3].repeat(5)));
        assert_eq!(zh.unwrap()[0].trim(), "中文".repeat(5));
        // CIDs of no known collection stay unread (no guessing).
        let other = pages(&system_cid_font_pdf(
            "Identity",
            &[0x0cd4, 0x0e8a].repeat(6),
        ));
        assert!(matches!(other, Err(PdfError::NoText { .. })), "{other:?}");
    }

    /// Six pages written by lopdf: text, a page-sized image alone (a scan), nothing (a
    /// blank page), text, a scan drawn through a form, a small logo alone (a title page).
    /// The scans are found; the blank page and the logo's page are none.
    #[test]
    fn scanned_pages_among_text_pages_are_named() {
        use lopdf::{dictionary, Document, Object, Stream};
        let mut doc = Document::with_version("1.5");
        let font = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        });
        let image = doc.add_object(Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => 8, "Height" => 8,
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
            },
            vec![128u8; 64],
        ));
        let form = doc.add_object(Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Form",
                "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Resources" => dictionary! { "XObject" => dictionary! { "Im1" => image } },
            },
            b"q 500 0 0 700 40 60 cm /Im1 Do Q".to_vec(),
        ));
        let text =
            "BT /F1 12 Tf 72 700 Td (A page of text that xref reads well, every word of it.) Tj ET";
        let pages_id = doc.new_object_id();
        let mut kids = Vec::new();
        for content in [
            text,
            "q 500 0 0 700 40 60 cm /Im1 Do Q",
            "",
            text,
            "/Fm1 Do",
            "q 60 0 0 60 260 600 cm /Im1 Do Q",
        ] {
            let contents = doc.add_object(Stream::new(dictionary! {}, content.into()));
            kids.push(Object::from(doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => contents,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Resources" => dictionary! {
                    "Font" => dictionary! { "F1" => font },
                    "XObject" => dictionary! { "Im1" => image, "Fm1" => form },
                },
            })));
        }
        // Every page's resources name the image and the form, as producers' shared
        // resources do: only the pages that draw them count.
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Count" => kids.len() as i64, "Kids" => kids,
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).unwrap();
        let pdf = read(&bytes).expect("the text pages read");
        assert_eq!(pdf.scanned, [2, 5]);
        assert!(pdf.pages[0].text().contains("A page of text"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            pages(b"%PDF-1.7\n1 0 obj <<"),
            Err(PdfError::Unreadable(_))
        ));
        assert!(matches!(
            pages(b"not a pdf at all"),
            Err(PdfError::Unreadable(_))
        ));
    }
}
