//! A PDF's outline (bookmarks): the author's own table of contents, each entry with its
//! depth, title and the page (and, where the destination says, the height) it points to.
//!
//! Read here rather than with `lopdf`'s `get_toc`, which keys entries by title (a book's
//! repeated "Introduction" entries collapse into one), drops the destination's height and
//! follows `/First` and `/Next` recursively without remembering where it has been, so an
//! outline with a cycle would never end. This walk is iterative, visits each outline item
//! once, and is bounded in entries and depth; an entry that points nowhere (a missing page,
//! an unknown named destination) is kept without a page and later ignored.

use std::collections::{HashMap, HashSet};

use pdf_extract::{Dictionary, Document, Object, ObjectId};

/// At most this many entries are read (a 5,000-page book has a few thousand).
const MAX_ENTRIES: usize = 50_000;
/// Deeper entries are read as this depth.
const MAX_DEPTH: usize = 16;

/// One outline entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// 1 for the top level.
    pub depth: usize,
    pub title: String,
    /// 0-based page index, when the destination resolves to a page of the document.
    pub page: Option<usize>,
    /// The destination's top, in PDF units from the bottom of the page (`/XYZ left top`,
    /// `/FitH top`, `/FitBH top`), when it says.
    pub top: Option<f64>,
}

/// The outline in reading order; empty when the document has none or it cannot be read.
pub fn read(doc: &Document) -> Vec<Entry> {
    let Ok(catalog) = doc.catalog() else {
        return Vec::new();
    };
    let Some(root) = dict(doc, catalog.get(b"Outlines").ok()) else {
        return Vec::new();
    };
    let pages: HashMap<ObjectId, usize> = doc
        .get_pages()
        .values()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();
    let names = Names::new(doc, catalog);
    let mut out = Vec::new();
    let mut seen: HashSet<ObjectId> = HashSet::new();
    // Depth-first over (item, depth): an item's children before its next sibling.
    let mut stack: Vec<(Object, usize)> = Vec::new();
    if let Ok(first) = root.get(b"First") {
        stack.push((first.clone(), 1));
    }
    while let Some((obj, depth)) = stack.pop() {
        if out.len() >= MAX_ENTRIES {
            break;
        }
        if let Ok(id) = obj.as_reference() {
            if !seen.insert(id) {
                continue; // a cycle, or an item reached twice
            }
        }
        let Some(item) = dict(doc, Some(&obj)) else {
            continue;
        };
        let title = item
            .get(b"Title")
            .ok()
            .and_then(|t| doc.dereference(t).ok())
            .and_then(|(_, t)| pdf_extract::decode_text_string(t).ok())
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let (page, top) = destination(doc, item, &names, &pages);
        if !title.is_empty() {
            out.push(Entry {
                depth: depth.min(MAX_DEPTH),
                title,
                page,
                top,
            });
        }
        if let Ok(next) = item.get(b"Next") {
            stack.push((next.clone(), depth));
        }
        if let Ok(first) = item.get(b"First") {
            stack.push((first.clone(), depth + 1));
        }
    }
    out
}

fn dict<'a>(doc: &'a Document, obj: Option<&'a Object>) -> Option<&'a Dictionary> {
    doc.dereference(obj?).ok()?.1.as_dict().ok()
}

/// Where an outline item points: its `/Dest`, or its `/A` action's `/D` for `GoTo`.
fn destination(
    doc: &Document,
    item: &Dictionary,
    names: &Names,
    pages: &HashMap<ObjectId, usize>,
) -> (Option<usize>, Option<f64>) {
    let dest = item.get(b"Dest").ok().or_else(|| {
        let action = dict(doc, item.get(b"A").ok())?;
        let kind = action.get(b"S").ok()?.as_name().ok()?;
        (kind == b"GoTo").then(|| action.get(b"D").ok()).flatten()
    });
    let Some(dest) = dest else {
        return (None, None);
    };
    let Some(array) = names.resolve(doc, dest) else {
        return (None, None);
    };
    let page = array
        .first()
        .and_then(|p| p.as_reference().ok())
        .and_then(|id| pages.get(&id).copied());
    let kind = array.get(1).and_then(|k| k.as_name().ok());
    let top = match kind {
        Some(b"XYZ") => array.get(3),
        Some(b"FitH" | b"FitBH") => array.get(2),
        _ => None,
    }
    .and_then(|v| doc.dereference(v).ok())
    .and_then(|(_, v)| v.as_float().ok().map(f64::from));
    (page, top)
}

/// Named destinations: the catalog's `/Dests` dictionary (PDF 1.1) and the `/Names`
/// `/Dests` name tree (PDF 1.2), read on first use.
struct Names {
    map: HashMap<Vec<u8>, Object>,
}

impl Names {
    fn new(doc: &Document, catalog: &Dictionary) -> Names {
        let mut map = HashMap::new();
        if let Some(d) = dict(doc, catalog.get(b"Dests").ok()) {
            for (k, v) in d.iter() {
                map.insert(k.clone(), v.clone());
            }
        }
        let tree =
            dict(doc, catalog.get(b"Names").ok()).and_then(|n| dict(doc, n.get(b"Dests").ok()));
        if let Some(tree) = tree {
            // The name tree, iteratively, each node once.
            let mut seen: HashSet<ObjectId> = HashSet::new();
            let mut stack: Vec<&Dictionary> = vec![tree];
            while let Some(node) = stack.pop() {
                if map.len() > 4 * MAX_ENTRIES {
                    break;
                }
                if let Ok(Object::Array(pairs)) =
                    node.get(b"Names").and_then(|n| Ok(doc.dereference(n)?.1))
                {
                    for pair in pairs.chunks(2) {
                        if let [Object::String(k, _), v] = pair {
                            map.insert(k.clone(), v.clone());
                        }
                    }
                }
                if let Ok(Object::Array(kids)) =
                    node.get(b"Kids").and_then(|n| Ok(doc.dereference(n)?.1))
                {
                    for kid in kids {
                        if let Ok(id) = kid.as_reference() {
                            if !seen.insert(id) {
                                continue;
                            }
                        }
                        if let Some(d) = dict(doc, Some(kid)) {
                            stack.push(d);
                        }
                    }
                }
            }
        }
        Names { map }
    }

    /// A destination as its array `[page /Kind args…]`.
    fn resolve<'a>(&'a self, doc: &'a Document, dest: &'a Object) -> Option<&'a Vec<Object>> {
        let mut obj = doc.dereference(dest).ok()?.1;
        for _ in 0..4 {
            match obj {
                Object::Array(a) => return Some(a),
                Object::String(name, _) | Object::Name(name) => {
                    obj = doc.dereference(self.map.get(name)?).ok()?.1;
                }
                Object::Dictionary(d) => obj = doc.dereference(d.get(b"D").ok()?).ok()?.1,
                _ => return None,
            }
        }
        None
    }
}
