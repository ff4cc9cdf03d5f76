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
    (page, top.filter(|_| page.is_some()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use pdf_extract::StringFormat;

    fn text(s: &str) -> Object {
        Object::String(s.as_bytes().to_vec(), StringFormat::Literal)
    }

    /// Two pages; an outline whose items form a cycle (B's /Next is A), one item pointing
    /// to a page that is not in the document, one to an unknown named destination and one
    /// through a named destination of the /Names tree.
    #[test]
    fn cycles_and_dangling_destinations_end_and_are_kept_without_a_page() {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let mut page_ids = Vec::new();
        for _ in 0..2 {
            let mut page = Dictionary::new();
            page.set("Type", Object::Name(b"Page".to_vec()));
            page.set("Parent", Object::Reference(pages_id));
            page_ids.push(doc.add_object(page));
        }
        let mut pages = Dictionary::new();
        pages.set("Type", Object::Name(b"Pages".to_vec()));
        pages.set(
            "Kids",
            Object::Array(page_ids.iter().map(|&p| Object::Reference(p)).collect()),
        );
        pages.set("Count", Object::Integer(2));
        doc.objects.insert(pages_id, Object::Dictionary(pages));
        let (outlines_id, a, b, c, d) = (
            doc.new_object_id(),
            doc.new_object_id(),
            doc.new_object_id(),
            doc.new_object_id(),
            doc.new_object_id(),
        );
        let xyz = |page: Object, top: f32| {
            Object::Array(vec![
                page,
                Object::Name(b"XYZ".to_vec()),
                Object::Integer(0),
                Object::Real(top),
                Object::Null,
            ])
        };
        let item = |title: &str, dest: Object, next: Option<ObjectId>, first: Option<ObjectId>| {
            let mut d = Dictionary::new();
            d.set("Title", text(title));
            d.set("Dest", dest);
            if let Some(n) = next {
                d.set("Next", Object::Reference(n));
            }
            if let Some(f) = first {
                d.set("First", Object::Reference(f));
            }
            Object::Dictionary(d)
        };
        doc.objects.insert(
            a,
            item(
                "One",
                xyz(Object::Reference(page_ids[0]), 700.0),
                Some(b),
                Some(c),
            ),
        );
        doc.objects
            .insert(b, item("Two", text("named-two"), Some(a), None));
        doc.objects.insert(
            c,
            item(
                "One.1",
                xyz(Object::Reference((999, 0)), 500.0),
                Some(d),
                None,
            ),
        );
        doc.objects
            .insert(d, item("One.2", text("no-such-name"), None, None));
        let mut outlines = Dictionary::new();
        outlines.set("First", Object::Reference(a));
        doc.objects
            .insert(outlines_id, Object::Dictionary(outlines));
        let mut tree = Dictionary::new();
        tree.set(
            "Names",
            Object::Array(vec![
                text("named-two"),
                xyz(Object::Reference(page_ids[1]), 300.0),
            ]),
        );
        let mut names = Dictionary::new();
        names.set("Dests", Object::Dictionary(tree));
        let mut catalog = Dictionary::new();
        catalog.set("Type", Object::Name(b"Catalog".to_vec()));
        catalog.set("Pages", Object::Reference(pages_id));
        catalog.set("Outlines", Object::Reference(outlines_id));
        catalog.set("Names", Object::Dictionary(names));
        let catalog_id = doc.add_object(catalog);
        doc.trailer.set("Root", Object::Reference(catalog_id));

        let got = read(&doc);
        let seen: Vec<(usize, &str, Option<usize>, Option<f64>)> = got
            .iter()
            .map(|e| (e.depth, e.title.as_str(), e.page, e.top))
            .collect();
        assert_eq!(
            seen,
            vec![
                (1, "One", Some(0), Some(700.0)),
                (2, "One.1", None, None),
                (2, "One.2", None, None),
                (1, "Two", Some(1), Some(300.0)),
            ]
        );
        // No outline at all.
        let mut plain = doc.clone();
        let catalog = plain.get_dictionary_mut(catalog_id).unwrap();
        catalog.remove(b"Outlines");
        assert!(read(&plain).is_empty());
    }
}
