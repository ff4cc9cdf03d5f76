//! The question side every front end shares: one opened index with what answering needs
//! beside the vectors — the out-of-corpus bars and the language shift, both from the
//! reference questions ([`rank::reference`]). The CLI's `xref search`, the server's
//! `/api/search` and the Python package ask through a [`Searcher`] and assemble nothing
//! themselves.

use std::path::Path;

use anyhow::Result;

use crate::embed::{Embedder, Prefix};
use crate::error::bad_input;
use crate::index::{Hit, Index};
use crate::rank::{self, Mode, OffTopic, QueryShift, HYBRID_WEIGHT};

/// An index opened for questions.
pub struct Searcher {
    index: Index,
    off_topic: OffTopic,
    shift: QueryShift,
}

/// A question's answer: its hits, best first, how confident xref is that the corpus
/// answers it (below 0: probably not), and the query vector the hits were ranked with.
pub struct Answer {
    pub hits: Vec<Hit>,
    pub confidence: f32,
    pub vector: Vec<f32>,
}

impl Searcher {
    /// A searcher over `index` with the reference questions' vectors (embedded with
    /// [`Prefix::Query`] by the model the index was built with).
    pub fn new(index: Index, references: &[Vec<f32>]) -> Self {
        let off_topic = OffTopic::from_references(&index, references);
        let shift = QueryShift::from_references(&index, references);
        Searcher {
            index,
            off_topic,
            shift,
        }
    }

    /// Open the index in `dir`, check it against `embedder`'s model and embed the
    /// reference questions.
    pub fn open(dir: &Path, embedder: &Embedder) -> Result<Self> {
        let index = Index::open(dir)?;
        index.check_model(embedder)?;
        let references = rank::reference::embed(embedder)?;
        Ok(Self::new(index, &references))
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The ids of the documents whose title or id contains `doc`: the `--doc` filter. None
    /// matching is bad input.
    pub fn documents_matching(&self, doc: &str) -> Result<Vec<String>> {
        let ids = self.index.documents_matching(doc);
        if ids.is_empty() {
            return Err(bad_input(format!(
                "no document title or id contains {doc:?} (see `xref docs`)"
            )));
        }
        Ok(ids)
    }

    /// Answer `question`, whose raw query vector is `vector`, with at most `k` hits, only
    /// from the documents `docs` when given.
    pub fn answer(
        &self,
        question: &str,
        vector: &[f32],
        k: usize,
        mode: Mode,
        docs: Option<&[String]>,
    ) -> Answer {
        let idx = &self.index;
        let confidence = self.off_topic.confidence(idx, vector, question);
        let vector = self.shift.apply(question, vector).into_owned();
        let hits = match docs {
            Some(docs) => {
                let allow = |r: usize| docs.iter().any(|d| d == idx.paragraphs.get(r).doc_id);
                rank::answer(idx, &vector, question, k, mode, HYBRID_WEIGHT, Some(&allow))
            }
            None => rank::answer(idx, &vector, question, k, mode, HYBRID_WEIGHT, None),
        };
        Answer {
            hits,
            confidence,
            vector,
        }
    }

    /// Embed `questions` with `embedder` and answer each.
    pub fn ask(
        &self,
        embedder: &Embedder,
        questions: &[&str],
        k: usize,
        mode: Mode,
        docs: Option<&[String]>,
    ) -> Result<Vec<Answer>> {
        let vectors = embedder.embed(questions, Prefix::Query)?;
        Ok(questions
            .iter()
            .zip(vectors)
            .map(|(q, v)| self.answer(q, &v.vector, k, mode, docs))
            .collect())
    }
}
