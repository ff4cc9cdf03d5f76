//! Nearest-neighbour search and lookups over an open index: rows by id, documents, the
//! HNSW graph or the exact scan. Scores and rankings built on them are in
//! [`crate::rank`].

use super::*;

impl Index {
    /// The language of paragraph `row` (see [`crate::text::lang::detect`]).
    pub fn lang(&self, row: usize) -> &str {
        &self.langs[row]
    }

    /// The language of an outside text (a question) with embedding `vector`, as
    /// [`crate::text::lang::detect`] tells it; Latin-script text too short to tell takes,
    /// in a multilingual corpus, its Latin-script language whose centroid is nearest.
    pub fn text_lang(&self, text: &str, vector: &[f32]) -> &str {
        use crate::text::lang::{detect_detail, Detected};
        match detect_detail(text) {
            Detected::Known(code) => code,
            Detected::Latin => self
                .space
                .as_ref()
                .and_then(|s| s.nearest_latin(vector))
                .unwrap_or("en"),
        }
    }

    /// Whether the paragraphs are in more than one language (then pairs across languages
    /// are scored on centred vectors).
    pub fn is_multilingual(&self) -> bool {
        self.space.is_some()
    }

    /// Row of the paragraph with this id.
    pub fn row(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The document record of a paragraph row.
    /// Ids of the documents whose title or id contains `needle` (the `--doc` filter).
    pub fn documents_matching(&self, needle: &str) -> Vec<String> {
        self.documents
            .iter()
            .filter(|r| doc_matches(&r.title, &r.id, needle))
            .map(|r| r.id.clone())
            .collect()
    }

    pub fn doc_of(&self, row: usize) -> &DocRecord {
        &self.documents[self.doc_of[row] as usize]
    }

    /// Nearest rows, best first, optionally restricted: through the HNSW graph where it is
    /// cheaper than an exact scan at its calibrated breadth, else by the exact scan.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        if self.ann.graph_pays(k) {
            self.ann.search(query, k, allow)
        } else {
            self.search_exact(query, k, allow)
        }
    }

    /// How many other documents than row `row`'s hold a paragraph at cosine ≥ `min` to it,
    /// counted up to `enough`: through the graph (its `4·enough` nearest rows) where it
    /// pays, else by a scan of the 8-bit rows on the calling thread (rough products, within
    /// ~0.01, then confirmed exactly). For a value measured inside other parallel work.
    pub fn copy_documents(&self, row: usize, min: f32, enough: usize) -> usize {
        let doc = self.doc_index(row);
        let query = self.vector(row);
        let mut docs: Vec<usize> = if self.ann.graph_pays(4 * enough) {
            self.ann
                .search(
                    &query,
                    4 * enough,
                    Some(&|r: usize| self.doc_index(r) != doc),
                )
                .iter()
                .filter(|h| h.score >= min)
                .map(|h| self.doc_index(h.row))
                .collect()
        } else {
            let rough = ann::Rows::rough_query(&query);
            (0..self.len())
                .filter(|&r| {
                    self.vectors.rough(&rough, r) >= min - 0.02
                        && self.doc_index(r) != doc
                        && self.vectors.dot(r, &query) >= min
                })
                .map(|r| self.doc_index(r))
                .collect()
        };
        docs.sort_unstable();
        docs.dedup();
        docs.len().min(enough)
    }

    /// Nearest rows through the HNSW graph, whatever it costs (for recall measurements).
    pub fn search_graph(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        self.ann.search(query, k, allow)
    }

    /// The document of paragraph `row`, as an index into [`Index::documents`].
    pub fn doc_index(&self, row: usize) -> usize {
        self.doc_of[row] as usize
    }

    /// Whether this generation stores an HNSW graph (see [`ann::MIN_GRAPH_POINTS`]).
    pub fn has_graph(&self) -> bool {
        self.ann.has_graph()
    }

    /// The HNSW graph's calibrated search breadth and whether searches for 10 neighbours
    /// use it.
    pub fn graph_use(&self) -> (usize, bool) {
        (self.ann.ef(), self.ann.graph_pays(10))
    }

    /// Exact nearest rows (brute force): the reference for recall.
    pub fn search_exact(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        ann::top_of_scores(&self.vectors.scan(query), k, allow)
    }
}

/// Whether a document with this title and id passes the `--doc` filter `needle` (its title
/// or id contains it).
pub fn doc_matches(title: &str, id: &str, needle: &str) -> bool {
    title.contains(needle) || id.contains(needle)
}
