//! A tagged PDF's structure tree (`/StructTreeRoot`): the blocks its author wrote — a
//! heading and its level, a paragraph, a list item, a table, a listing — and which
//! marked-content sequences of which page each holds (PDF 32000-1, 14.7). Chromium, Word
//! and LibreOffice write one when asked for an accessible PDF.
//!
//! Each marked-content id (MCID) of a page belongs to the outermost *block* element above
//! it: inline elements (Span, Link, Em …) and groupings (Document, Sect, Div, L, NonStruct
//! …) pass through, so a paragraph's links are the paragraph's and a table's cells the
//! table's. Custom element names are read through the tree's `/RoleMap`. The walk is
//! bounded and visits each object once, so a cyclic or enormous tree costs at most
//! [`MAX_ELEMENTS`] steps.

use std::collections::{HashMap, HashSet};

use pdf_extract::{Dictionary, Document, Object, ObjectId};

/// What a block of the structure tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    /// `H1`–`H6` (their level), `H` (level 1).
    Heading(usize),
    Paragraph,
    ListItem,
    Table,
    Code,
}

/// One block of the structure tree, as the glyphs it holds see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// The block's number, in the tree's order.
    pub block: usize,
    pub kind: TagKind,
}

/// The blocks of a tagged PDF by page and MCID; empty for an untagged one.
#[derive(Debug, Default)]
pub struct Tags {
    by_mcid: HashMap<(usize, i64), Tag>,
}

/// The most elements and references followed in one tree.
const MAX_ELEMENTS: usize = 2_000_000;

impl Tags {
    /// The block that marked-content `mcid` of page `page` (0-based) belongs to.
    pub fn get(&self, page: usize, mcid: i64) -> Option<Tag> {
        self.by_mcid.get(&(page, mcid)).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.by_mcid.is_empty()
    }

    /// The document's structure tree, as far as it can be read.
    pub fn read(doc: &Document) -> Tags {
        let mut tags = Tags::default();
        let Some(root) = doc
            .catalog()
            .ok()
            .and_then(|c| c.get(b"StructTreeRoot").ok())
            .and_then(|r| dict(doc, r))
        else {
            return tags;
        };
        let roles = root.get(b"RoleMap").ok().and_then(|r| dict(doc, r));
        let pages: HashMap<ObjectId, usize> = doc
            .get_pages()
            .values()
            .enumerate()
            .map(|(i, &id)| (id, i))
            .collect();
        let page_of = |d: &Dictionary| match d.get(b"Pg") {
            Ok(Object::Reference(id)) => pages.get(id).copied(),
            _ => None,
        };
        let Ok(top) = root.get(b"K") else {
            return tags;
        };
        // (object, its page, its block): depth first, children in order.
        let mut stack: Vec<(&Object, Option<usize>, Option<Tag>)> = vec![(top, None, None)];
        let mut seen: HashSet<ObjectId> = HashSet::new();
        let mut blocks = 0usize;
        let mut steps = 0usize;
        while let Some((object, page, block)) = stack.pop() {
            steps += 1;
            if steps > MAX_ELEMENTS {
                break;
            }
            let object = match object {
                Object::Reference(id) => {
                    if !seen.insert(*id) {
                        continue;
                    }
                    match doc.get_object(*id) {
                        Ok(o) => o,
                        Err(_) => continue,
                    }
                }
                o => o,
            };
            // A marked-content id: an integer kid, or a reference to one, maybe on another
            // page (`/MCR`).
            let mcid = match object {
                Object::Integer(mcid) => Some((page, *mcid)),
                Object::Dictionary(d) if d.get(b"S").is_err() => match d.get(b"MCID") {
                    Ok(Object::Integer(mcid)) => Some((page_of(d).or(page), *mcid)),
                    _ => None,
                },
                _ => None,
            };
            if let Some((Some(page), mcid)) = mcid {
                if let Some(tag) = block {
                    tags.by_mcid.insert((page, mcid), tag);
                }
                continue;
            }
            match object {
                Object::Array(items) => {
                    stack.extend(items.iter().rev().map(|o| (o, page, block)));
                }
                // A structure element: a new block when none is open above it. (An object
                // reference, `/OBJR`, an annotation or a form field, holds no text.)
                Object::Dictionary(d) if d.get(b"S").is_ok() => {
                    let block = block.or_else(|| {
                        let kind = kind(&standard(doc, roles, d)?)?;
                        blocks += 1;
                        Some(Tag {
                            block: blocks - 1,
                            kind,
                        })
                    });
                    if let Ok(k) = d.get(b"K") {
                        stack.push((k, page_of(d).or(page), block));
                    }
                }
                _ => {}
            }
        }
        tags
    }
}

/// The dictionary `o` is or refers to.
pub(super) fn dict<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Dictionary> {
    doc.dereference(o).ok()?.1.as_dict().ok()
}

/// An element's standard structure type: its `/S`, through the role map (a few hops, as
/// custom types may map onto custom types).
fn standard(doc: &Document, roles: Option<&Dictionary>, element: &Dictionary) -> Option<Vec<u8>> {
    let mut name = element.get(b"S").ok()?.as_name().ok()?.to_vec();
    for _ in 0..8 {
        if kind(&name).is_some() || is_grouping(&name) {
            break;
        }
        let Some(next) = roles
            .and_then(|r| r.get(&name).ok())
            .and_then(|n| doc.dereference(n).ok())
            .and_then(|(_, n)| n.as_name().ok())
        else {
            break;
        };
        name = next.to_vec();
    }
    Some(name)
}

/// The standard block types xref reads (PDF 32000-1, tables 335–338 and 340).
fn kind(name: &[u8]) -> Option<TagKind> {
    Some(match name {
        b"H" | b"H1" => TagKind::Heading(1),
        b"H2" => TagKind::Heading(2),
        b"H3" => TagKind::Heading(3),
        b"H4" => TagKind::Heading(4),
        b"H5" => TagKind::Heading(5),
        b"H6" => TagKind::Heading(6),
        b"P" | b"BlockQuote" | b"Caption" | b"Note" | b"TOCI" | b"Index" | b"BibEntry"
        | b"Title" | b"Figure" | b"Formula" => TagKind::Paragraph,
        b"LI" => TagKind::ListItem,
        b"Table" => TagKind::Table,
        b"Code" => TagKind::Code,
        _ => return None,
    })
}

/// Types that group blocks rather than being one.
fn is_grouping(name: &[u8]) -> bool {
    matches!(
        name,
        b"Document" | b"Part" | b"Art" | b"Sect" | b"Div" | b"L" | b"TOC" | b"NonStruct"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree with a heading, a paragraph whose text is two marked-content sequences (one
    /// by an `/MCR` reference, one inside a link), a custom type mapped onto `P`, and a
    /// cycle back to the root: each MCID finds its block, and the walk ends.
    #[test]
    fn marked_content_finds_its_block_in_a_cyclic_tree() {
        use lopdf::{dictionary, Object};
        let mut doc = Document::with_version("1.7");
        let pages = doc.new_object_id();
        let page = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages });
        doc.objects.insert(
            pages,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
            }),
        );
        let root = doc.new_object_id();
        let heading = doc.add_object(dictionary! { "S" => "H2", "Pg" => page, "K" => 0 });
        let link = doc.add_object(dictionary! { "S" => "Link", "K" => 2 });
        let mcr = dictionary! { "Type" => "MCR", "MCID" => 1, "Pg" => page };
        let para = doc.add_object(dictionary! {
            "S" => "P", "Pg" => page,
            "K" => vec![Object::Dictionary(mcr), link.into(), root.into()],
        });
        let custom = doc.add_object(dictionary! { "S" => "Absatz", "Pg" => page, "K" => 3 });
        doc.objects.insert(
            root,
            Object::Dictionary(dictionary! {
                "S" => "Document", "K" => vec![heading.into(), para.into(), custom.into()],
            }),
        );
        let tree = doc.add_object(dictionary! {
            "Type" => "StructTreeRoot", "K" => root,
            "RoleMap" => dictionary! { "Absatz" => "P" },
        });
        let catalog = doc.add_object(dictionary! {
            "Type" => "Catalog", "Pages" => pages, "StructTreeRoot" => tree,
        });
        doc.trailer.set("Root", catalog);

        let tags = Tags::read(&doc);
        let h = tags.get(0, 0).unwrap();
        assert_eq!(h.kind, TagKind::Heading(2));
        let p = tags.get(0, 1).unwrap();
        assert_eq!(p.kind, TagKind::Paragraph);
        assert_ne!(p.block, h.block);
        assert_eq!(tags.get(0, 2), Some(p), "a link's text is its paragraph's");
        let c = tags.get(0, 3).unwrap();
        assert_eq!(c.kind, TagKind::Paragraph);
        assert_ne!(c.block, p.block);
        assert_eq!(tags.get(0, 4), None);
        assert_eq!(tags.get(1, 0), None);
    }

    #[test]
    fn block_types() {
        assert_eq!(kind(b"H2"), Some(TagKind::Heading(2)));
        assert_eq!(kind(b"P"), Some(TagKind::Paragraph));
        assert_eq!(kind(b"LI"), Some(TagKind::ListItem));
        assert_eq!(kind(b"Span"), None);
        assert!(is_grouping(b"Sect") && !is_grouping(b"P"));
    }
}
