//! Parts: one document's worth of parsed input before assembly, as a plain-text layout
//! splits a file into them or a book's chapters do ([`chapters`]).

use super::{docsplit, layout, reflow, IngestOptions};

/// One document's worth of parsed input, before assembly.
pub struct Part {
    pub title: Option<String>,
    pub blocks: Vec<reflow::Block>,
    pub meta: Vec<String>,
    /// 1-based inclusive line range of the whole document (title included).
    pub lines: (usize, usize),
}

/// A part split at its chapters (see [`IngestOptions::chapters`]): at each block of the
/// highest heading level that occurs more than once; what comes before the first stays
/// a part with the whole's title. A part with fewer than two such headings stays whole.
pub(super) fn chapters(part: Part) -> Vec<Part> {
    let top = (1..=6u8).find(|&level| {
        part.blocks
            .iter()
            .filter(|b| b.heading == Some(level))
            .count()
            >= 2
    });
    let Some(top) = top else {
        return vec![part];
    };
    let whole = part.title.clone();
    let mut out: Vec<Part> = Vec::new();
    let (start, end) = part.lines;
    let mut current = Part {
        title: whole.clone(),
        blocks: Vec::new(),
        meta: part.meta,
        lines: (start, start),
    };
    for b in part.blocks {
        if b.heading == Some(top) {
            if !current.blocks.is_empty() {
                out.push(current);
            }
            let chapter = b.title_text.clone().unwrap_or_else(|| b.text.clone());
            current = Part {
                title: Some(match &whole {
                    Some(w) => format!("{w} › {chapter}"),
                    None => chapter,
                }),
                blocks: Vec::new(),
                meta: Vec::new(),
                lines: (b.line_start(), b.line_end()),
            };
            continue;
        }
        current.lines.1 = current.lines.1.max(b.line_end());
        current.blocks.push(b);
    }
    // Each part runs from its heading (the first: the file's start) to its last block; the
    // last to the file's end.
    current.lines.1 = current.lines.1.max(end);
    if !current.blocks.is_empty() || out.is_empty() {
        out.push(current);
    }
    out
}

/// Plain text: layout → documents → blocks.
pub(super) fn text_parts(text: &str, opts: &IngestOptions) -> Vec<Part> {
    let layout = layout::analyse(text, opts.split_marker.as_deref());
    docsplit::split_documents(&layout, opts.split_marker.is_none())
        .into_iter()
        .filter(|d| !d.lines.is_empty())
        .map(|d| Part {
            blocks: reflow::reflow(&layout, d.body.clone()),
            title: d.title,
            meta: Vec::new(),
            lines: (
                layout.lines[d.lines.start].no,
                layout.lines[d.lines.end - 1].no,
            ),
        })
        .collect()
}
