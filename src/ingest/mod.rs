//! Ingest: files → documents → sections → paragraphs.
//!
//! The pipeline for one file ([`ingest_bytes`]):
//!
//! 1. [`decode`](mod@decode) the bytes (UTF-8 ± BOM, UTF-16 with BOM, GB18030/GBK; binary
//!    and undecodable input are errors naming the file); PDF and Word files are
//!    read by their own parsers instead.
//! 2. Parse by extension:
//!    * plain text (`.txt` and no extension) and PDF ([`pdf`]: the text layer,
//!      pages joined by form feeds): [`layout`] finds content
//!      lines, blank gaps and page breaks and drops page numbers and running
//!      headers; [`docsplit`] splits compiled files into documents and detects
//!      their titles; [`reflow`] re-flows hard-wrapped lines into blocks;
//!    * Markdown ([`markdown`]), reStructuredText ([`rst`]), HTML ([`html`])
//!      and Word ([`docx`]) produce blocks directly, with explicit headings.
//! 3. [`assemble`] classifies blocks into headings, metadata, fragments and
//!    paragraphs, assigns sections, splits long paragraphs at sentence
//!    boundaries and gives every paragraph a stable id.
//!
//! Each submodule documents its heuristics and the reasons for them.
//!
//! **Ids.** A document id is the ASCII slug of the file stem plus the
//! document's 0-based ordinal in the file, two digits: `000_d3df9fe06eabeaf7-03`.
//! Non-ASCII stems are slugged to their ASCII part plus 8 hex digits of the
//! stem's SHA-256, so distinct stems stay distinct; when two files in one
//! corpus share a stem the one whose absolute path sorts first keeps the plain
//! slug and the others get a hash of their path (as given) appended — unless an
//! index already gives one of them its slug: an update keeps every indexed
//! file's ([`ingest_paths_keeping`]). So ids do not depend on the order of the
//! paths given, nor on which of them an update is given. A paragraph id is `{doc_id}.{ordinal}-{hash8(text)}`: it
//! only changes when the paragraph's text changes or paragraphs are inserted or
//! removed before it.

pub mod assemble;
pub mod decode;
pub mod docsplit;
pub mod docx;
pub mod heading;
pub mod html;
pub mod layout;
pub mod markdown;
mod parts;
pub mod pdf;
pub mod reflow;
pub mod rst;
pub mod text;

pub use parts::Part;
use parts::{chapters, text_parts};

pub use decode::decode;

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Options for ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// Paragraphs longer than this many characters are split at sentence
    /// boundaries into chunks of at most this size. Default 700.
    pub max_chars: usize,
    /// Fragments shorter than this many characters are not indexed on their
    /// own: they become headings, metadata, or are merged into a neighbour.
    /// Default 15 — about one short Chinese sentence; "谢谢大家！" (5) and
    /// "会议还研究了其他事项。" (11) are fragments, "第三十四条 本条例自发布之日起施行。"
    /// (18) is a passage.
    pub min_chars: usize,
    /// Explicit document split: a line equal to this marker (trimmed) starts
    /// a new document and automatic title-based splitting is turned off. With
    /// `Some("\x0c")`, form feeds split documents. (Form feeds are always page
    /// breaks.)
    pub split_marker: Option<String>,
    /// Each chapter its own document: a file is split at its top headings (the highest
    /// heading level that occurs more than once: a book's chapters), each part titled
    /// "{file's title} › {chapter}". Off by default: a book is one document.
    pub chapters: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_chars: 700,
            min_chars: 15,
            split_marker: None,
            chapters: false,
        }
    }
}

/// What a passage is, from the markup or the page layout it came from. Headings are
/// section context, never passages; navigation (tables of contents, indexes) is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Running text.
    #[default]
    Prose,
    /// A list item.
    List,
    /// A table, or rows of one.
    Table,
    /// A code listing or terminal session.
    Code,
}

impl Kind {
    pub fn is_prose(&self) -> bool {
        *self == Kind::Prose
    }

    /// A passage that is searchable but not an answer or a link source ahead of prose.
    pub fn is_apart(&self) -> bool {
        matches!(self, Kind::Table | Kind::Code)
    }

    /// The kind stored as a number (index files) and back.
    pub fn code(&self) -> u32 {
        *self as u32
    }
    pub fn from_code(c: u32) -> Option<Kind> {
        [Kind::Prose, Kind::List, Kind::Table, Kind::Code]
            .get(c as usize)
            .copied()
    }
}

/// One indexed passage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Paragraph {
    /// `{doc_id}.{ordinal}-{first 8 hex of sha256(text)}`.
    pub id: String,
    pub doc_id: String,
    /// 0-based within the document.
    pub ordinal: usize,
    /// Enclosing section path, outermost first, joined with " › "
    /// (e.g. "第一章 总则 › 第三条"); see [`heading`].
    pub section: Option<String>,
    /// Re-flowed, whitespace-normalised text.
    pub text: String,
    /// The file path as given.
    pub source: String,
    /// 1-based inclusive line range in the source file (for PDF and Word files: in the
    /// extracted text).
    pub line_start: usize,
    pub line_end: usize,
    /// 1-based page of the paragraph's first line, for PDF files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// What the passage is; prose when absent.
    #[serde(default, skip_serializing_if = "Kind::is_prose")]
    pub kind: Kind,
}

/// One document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Document {
    /// `{stem slug}-{ordinal:02}`.
    pub id: String,
    /// The title detected from the text (title block, `# heading`, `<title>`),
    /// or the file stem when none was found.
    pub title: String,
    pub source: String,
    pub line_start: usize,
    pub line_end: usize,
    pub paragraphs: Vec<Paragraph>,
    /// Non-indexed front matter: bylines, date lines, subtitles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta: Vec<String>,
}

/// A file that was skipped, or read only in part, with the reason.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IngestWarning {
    pub path: String,
    pub message: String,
}

/// The result of ingesting files and directories.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Corpus {
    pub documents: Vec<Document>,
    pub warnings: Vec<IngestWarning>,
    /// Files not read because an index already holds them as they are (absolute paths; see
    /// [`ingest_paths_unless`]): their documents are the index's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchanged: Vec<String>,
    /// What read the documents ([`fingerprint`]); empty when unknown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub read_by: String,
}

/// What reading with `opts` depends on: the options and this xref's sources (a hash, see
/// `build.rs`). An index keeps it, and files it holds are read again only when it differs.
pub fn fingerprint(opts: &IngestOptions) -> String {
    format!("{opts:?} {}", env!("XREF_SOURCE_HASH"))
}

/// Errors. Every variant names the file (empty when decoding bare bytes).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: looks like a binary file ({reason}), skipped")]
    Binary { path: String, reason: String },
    #[error("{path}: cannot decode text: {reason}")]
    Undecodable { path: String, reason: String },
    #[error("{path}: file is empty")]
    Empty { path: String },
    #[error("{path}: unsupported file type (expected .txt, .md, .markdown, .rst, .html, .htm, .pdf or .docx)")]
    Unsupported { path: String },
    #[error("{path}: {reason}, skipped")]
    Unreadable { path: String, reason: String },
}

impl IngestError {
    /// Set the path of an error produced without one.
    pub fn at(mut self, p: &str) -> Self {
        match &mut self {
            IngestError::NotFound { path }
            | IngestError::Io { path, .. }
            | IngestError::Binary { path, .. }
            | IngestError::Undecodable { path, .. }
            | IngestError::Empty { path }
            | IngestError::Unsupported { path }
            | IngestError::Unreadable { path, .. } => *path = p.to_string(),
        }
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Markdown,
    Rst,
    Html,
    Pdf,
    Docx,
}

fn format_of(source: &str) -> Option<Format> {
    let ext = Path::new(source)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("md" | "markdown") => Some(Format::Markdown),
        Some("html" | "htm") => Some(Format::Html),
        Some("rst" | "rest") => Some(Format::Rst),
        Some("pdf") => Some(Format::Pdf),
        Some("docx") => Some(Format::Docx),
        Some("txt" | "text") | None => Some(Format::Text),
        _ => None,
    }
}

/// ASCII slug of a file stem (see the module docs).
pub fn slug(stem: &str) -> String {
    let mut out = String::new();
    let mut lossy = false;
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
        } else {
            lossy = true;
            if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
    }
    let trimmed = out.trim_matches('-').to_string();
    if trimmed.is_empty() {
        return format!("doc-{}", text::hash8(stem));
    }
    if lossy && !stem.is_ascii() {
        return format!("{trimmed}-{}", text::hash8(stem));
    }
    trimmed
}

/// Decode and parse one file's bytes. The format comes from the extension of
/// `source` (plain text when unknown). Documents are numbered from the slug of
/// the file stem.
pub fn ingest_bytes(
    bytes: &[u8],
    source: &str,
    opts: &IngestOptions,
) -> Result<Vec<Document>, IngestError> {
    let stem = Path::new(source)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("doc");
    ingest_with_slug(bytes, source, &slug(stem), opts).map(|(docs, _)| docs)
}

/// The file's documents, and what could not be read of it (scanned pages of a PDF).
fn ingest_with_slug(
    bytes: &[u8],
    source: &str,
    slug: &str,
    opts: &IngestOptions,
) -> Result<(Vec<Document>, Vec<String>), IngestError> {
    let stem = Path::new(source)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("doc")
        .to_string();
    let format = format_of(source).unwrap_or(Format::Text);
    let unreadable = |reason: String| IngestError::Unreadable {
        path: source.to_string(),
        reason,
    };
    // PDF: 1-based line number where each page starts in the extracted text.
    let mut page_starts: Vec<usize> = Vec::new();
    // A PDF read as a book (its outline or its headings' type gives the sections) rather
    // than as plain text.
    let mut book_pdf = false;
    let mut notes = Vec::new();
    let parts: Vec<Part> = match format {
        Format::Pdf => {
            if bytes.is_empty() {
                return Err(IngestError::Empty {
                    path: source.to_string(),
                });
            }
            let pdf = pdf::read(bytes).map_err(|e| unreadable(e.to_string()))?;
            if !pdf.scanned.is_empty() {
                notes.push(format!(
                    "{} of {} pages are images without a text layer (scanned?), their text \
                     not read: page {}; run OCR on the file for it",
                    pdf.scanned.len(),
                    pdf.pages.len(),
                    page_ranges(&pdf.scanned)
                ));
            }
            if let Some(book) = pdf::book::read(&pdf) {
                page_starts = book.page_starts;
                book_pdf = true;
                vec![Part {
                    title: book.title,
                    blocks: book.blocks,
                    meta: Vec::new(),
                    lines: (1, book.lines),
                }]
            } else {
                let mut text = String::new();
                let mut line = 1;
                for (i, page) in pdf.pages.iter().enumerate() {
                    if i > 0 {
                        text.push_str("\n\x0c");
                        line += 1;
                    }
                    page_starts.push(line);
                    let page = page.text();
                    text.push_str(&page);
                    line += page.matches('\n').count();
                }
                text_parts(&text, opts)
            }
        }
        Format::Docx => {
            if bytes.is_empty() {
                return Err(IngestError::Empty {
                    path: source.to_string(),
                });
            }
            vec![docx::parse(bytes).map_err(unreadable)?]
        }
        _ => {
            let (text, _encoding) = decode(bytes).map_err(|e| e.at(source))?;
            match format {
                Format::Markdown => markdown::parse(&text, opts.split_marker.as_deref()),
                Format::Rst => vec![rst::parse(&text)],
                Format::Html => vec![html::parse(&text)],
                _ => text_parts(&text, opts),
            }
        }
    };
    let parts = if opts.chapters {
        parts.into_iter().flat_map(chapters).collect()
    } else {
        parts
    };
    let mut docs = Vec::new();
    for Part {
        title,
        blocks,
        mut meta,
        lines: (line_start, line_end),
    } in parts
    {
        if blocks.is_empty() && title.is_none() {
            continue;
        }
        let ordinal = docs.len();
        let id = format!("{slug}-{ordinal:02}");
        // Plain text (and a PDF read as plain text) may have headings written as short lines.
        let plain = format == Format::Text || format == Format::Pdf && !book_pdf;
        let mut assembled = assemble::assemble(blocks, &id, source, opts, plain);
        if !page_starts.is_empty() {
            for p in &mut assembled.paragraphs {
                let page = page_starts.partition_point(|&start| start <= p.line_start);
                p.page = Some(page.max(1) as u32);
            }
        }
        meta.extend(assembled.meta);
        let title = title.unwrap_or_else(|| {
            if ordinal == 0 {
                stem.clone()
            } else {
                format!("{stem} ({})", ordinal + 1)
            }
        });
        docs.push(Document {
            id,
            title,
            source: source.to_string(),
            line_start,
            line_end,
            paragraphs: assembled.paragraphs,
            meta,
        });
    }
    Ok((docs, notes))
}

/// Ingest files and directories. Directories are walked recursively in sorted
/// order (hidden entries skipped). Files with unsupported extensions, and
/// files that are binary, undecodable, empty or unreadable, become warnings;
/// a path that does not exist is an error.
pub fn ingest_paths(paths: &[PathBuf], opts: &IngestOptions) -> Result<Corpus, IngestError> {
    ingest_paths_keeping(paths, opts, &HashMap::new())
}

/// [`ingest_paths`], giving each file in `known` (absolute path → slug; an index's
/// [`crate::index::Index::file_slugs`]) its slug there and no other file one of those:
/// when two files share a stem (`en/ls.1.md`, `zh/ls.1.md`), which one has the plain slug
/// stays as the index has it, whatever paths an update is given and in what order.
pub fn ingest_paths_keeping(
    paths: &[PathBuf],
    opts: &IngestOptions,
    known: &HashMap<String, String>,
) -> Result<Corpus, IngestError> {
    ingest_paths_unless(paths, opts, known, &|_, _| false)
}

/// [`ingest_paths_keeping`], except for files for which `unchanged(absolute path, bytes)`
/// holds (an index's files whose bytes it holds already, read by the same [`fingerprint`]):
/// those are listed in [`Corpus::unchanged`], not read. Files are read in parallel; the
/// corpus keeps their order.
pub fn ingest_paths_unless(
    paths: &[PathBuf],
    opts: &IngestOptions,
    known: &HashMap<String, String>,
    unchanged: &(dyn Fn(&str, &[u8]) -> bool + Sync),
) -> Result<Corpus, IngestError> {
    let mut files: Vec<PathBuf> = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(IngestError::NotFound {
                path: p.display().to_string(),
            });
        }
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found).map_err(|e| IngestError::Io {
                path: p.display().to_string(),
                source: e,
            })?;
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    // Each file once (by absolute path), in the order given.
    let mut seen_files = HashSet::new();
    let files: Vec<(PathBuf, String)> = files
        .into_iter()
        .filter_map(|f| {
            let key = f.canonicalize().unwrap_or_else(|_| f.clone());
            let key = key.to_string_lossy().into_owned();
            seen_files.insert(key.clone()).then_some((f, key))
        })
        .collect();
    // Slugs: the index's for the files it holds (and no other file one of those); then, by
    // absolute path, the first file of a stem the plain slug, the others it plus a hash
    // of their path — whatever order the paths came in.
    let mut used_slugs: HashSet<String> = known.values().cloned().collect();
    let mut slugs: HashMap<&str, String> = HashMap::new();
    let mut fresh: Vec<&(PathBuf, String)> = Vec::new();
    for entry in &files {
        match known.get(&entry.1) {
            Some(s) => {
                slugs.insert(&entry.1, s.clone());
            }
            None if format_of(&entry.0.display().to_string()).is_some() => fresh.push(entry),
            None => {}
        }
    }
    fresh.sort_by(|a, b| a.1.cmp(&b.1));
    for (f, key) in fresh {
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("doc");
        let mut s = slug(stem);
        if !used_slugs.insert(s.clone()) {
            s = format!("{s}_{}", &text::hash8(&f.display().to_string())[..6]);
            used_slugs.insert(s.clone());
        }
        slugs.insert(key, s);
    }
    /// What one file gave: its documents and notes, a warning, or nothing (unchanged).
    enum Read {
        Documents(Vec<Document>, Vec<IngestWarning>),
        Warning(IngestWarning),
        Unchanged,
    }
    use rayon::prelude::*;
    let read: Vec<Read> = files
        .par_iter()
        .map(|(f, key)| {
            let source = f.display().to_string();
            let warn = |e: IngestError| {
                Read::Warning(IngestWarning {
                    path: source.clone(),
                    message: e.to_string(),
                })
            };
            if format_of(&source).is_none() {
                return warn(IngestError::Unsupported {
                    path: source.clone(),
                });
            }
            let bytes = match std::fs::read(f) {
                Ok(b) => b,
                Err(e) => {
                    return warn(IngestError::Io {
                        path: source.clone(),
                        source: e,
                    })
                }
            };
            if unchanged(key, &bytes) {
                return Read::Unchanged;
            }
            match ingest_with_slug(&bytes, &source, &slugs[key.as_str()], opts) {
                Ok((docs, notes)) => Read::Documents(
                    docs,
                    notes
                        .into_iter()
                        .map(|message| IngestWarning {
                            path: source.clone(),
                            message,
                        })
                        .collect(),
                ),
                Err(e) => warn(e),
            }
        })
        .collect();
    let mut corpus = Corpus {
        read_by: fingerprint(opts),
        ..Corpus::default()
    };
    for ((_, key), r) in files.iter().zip(read) {
        match r {
            Read::Documents(docs, notes) => {
                corpus.documents.extend(docs);
                corpus.warnings.extend(notes);
            }
            Read::Warning(w) => corpus.warnings.push(w),
            Read::Unchanged => corpus.unchanged.push(key.clone()),
        }
    }
    Ok(corpus)
}

/// Page numbers as ranges: "3, 7–12, 40".
fn page_ranges(pages: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < pages.len() {
        let mut j = i;
        while j + 1 < pages.len() && pages[j + 1] == pages[j] + 1 {
            j += 1;
        }
        out.push(if j > i {
            format!("{}–{}", pages[i], pages[j])
        } else {
            pages[i].to_string()
        });
        i = j + 1;
    }
    out.join(", ")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(&path, out)?;
        } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn page_ranges() {
        assert_eq!(super::page_ranges(&[3, 7, 8, 9, 12, 40]), "3, 7–9, 12, 40");
        assert_eq!(super::page_ranges(&[1]), "1");
        assert_eq!(super::page_ranges(&[]), "");
    }
}
