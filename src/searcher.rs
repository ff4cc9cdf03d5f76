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
use crate::output::SearchRecord;
use crate::rank::{
    self, candidates, Components, Mode, OffTopic, QueryShift, Ranking, HYBRID_WEIGHT,
};

/// An index opened for questions.
pub struct Searcher {
    index: Index,
    off_topic: OffTopic,
    shift: QueryShift,
    weight: f32,
    components: Components,
}

/// A question's answer: its hits, best first, how confident xref is that the corpus
/// answers it (below 0: probably not), and the query vector the hits were ranked with.
pub struct Answer {
    pub hits: Vec<Hit>,
    /// Per hit, its translations among the candidates (rows in other languages), best
    /// first; empty in a one-language corpus.
    pub translations: Vec<Vec<usize>>,
    pub confidence: f32,
    pub vector: Vec<f32>,
}

impl Answer {
    /// The answer's record (`xref search --json`).
    pub fn record<'a>(&'a self, index: &'a Index, question: &'a str) -> SearchRecord<'a> {
        SearchRecord::new(index, question, &self.vector, &self.hits, self.confidence)
            .with_translations(index, &self.translations)
    }
}

/// Two paragraphs in different languages are taken for translations of each other when
/// each is the other's nearest paragraph in its language and their cosine on centred
/// vectors is at least this (translations measure 0.7–0.95 there: `rank::question`'s
/// `carry`).
const TRANSLATION_MIN: f32 = 0.5;

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
            weight: HYBRID_WEIGHT,
            components: Components::ALL,
        }
    }

    /// This searcher with `weight` for the lexical channel of hybrid questions.
    pub fn with_weight(mut self, weight: f32) -> Self {
        self.weight = weight;
        self
    }

    /// Answer with only these ranking steps on (an ablation: `xref eval --ablate`).
    pub fn set_components(&mut self, components: Components) {
        self.components = components;
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

    /// How confident xref is that the corpus answers `question` (raw query vector
    /// `vector`): below 0, probably not ([`OffTopic::confidence`]).
    pub fn confidence(&self, question: &str, vector: &[f32]) -> f32 {
        self.off_topic.confidence(&self.index, vector, question)
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
        let confidence = self.confidence(question, vector);
        let on = self.components;
        let vector = if on.shift {
            self.shift.apply(question, vector).into_owned()
        } else {
            vector.to_vec()
        };
        let allow =
            docs.map(|docs| move |r: usize| docs.iter().any(|d| d == idx.paragraphs.get(r).doc_id));
        let allow = allow.as_ref().map(|f| f as &dyn Fn(usize) -> bool);
        // In a library of several languages, a passage and its translations are one answer,
        // shown in the asker's language where it has one: the k places go to k passages.
        let grouped = on.grouping && idx.is_multilingual() && mode != Mode::Lexical;
        let breadth = if grouped { 3 * k } else { k };
        let ranking = Ranking {
            mode,
            weight: self.weight,
            components: on,
        };
        let mut hits = rank::answer(idx, &vector, question, breadth, &ranking, allow);
        let mut translations = vec![Vec::new(); hits.len()];
        if grouped {
            let lang = idx.text_lang(question, &vector).to_string();
            (hits, translations) = group_translations(idx, hits, &lang, k, allow);
        }
        Answer {
            hits,
            translations,
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

/// `hits` (best first) as at most `k` answers: a hit in another language than `lang` whose
/// translation into `lang` exists ([`counterpart`]) is shown as that translation, and a
/// hit whose translation is already an answer joins that answer. Each answer keeps its
/// best score; its other-language rows are its translations.
fn group_translations(
    index: &Index,
    hits: Vec<Hit>,
    lang: &str,
    k: usize,
    allow: Option<&dyn Fn(usize) -> bool>,
) -> (Vec<Hit>, Vec<Vec<usize>>) {
    let mut shown: Vec<Hit> = Vec::new();
    let mut translations: Vec<Vec<usize>> = Vec::new();
    let mut answer_of: std::collections::HashMap<usize, usize> = Default::default();
    for h in hits {
        if answer_of.contains_key(&h.row) {
            continue;
        }
        let other = index.lang(h.row) != lang;
        let twin = if other {
            counterpart(index, h.row, lang, allow)
        } else {
            None
        };
        match twin {
            Some(t) => match answer_of.get(&t) {
                Some(&a) => {
                    translations[a].push(h.row);
                    answer_of.insert(h.row, a);
                }
                None if shown.len() < k => {
                    answer_of.insert(t, shown.len());
                    answer_of.insert(h.row, shown.len());
                    shown.push(Hit {
                        row: t,
                        score: h.score,
                    });
                    translations.push(vec![h.row]);
                }
                None => {}
            },
            None if shown.len() < k => {
                answer_of.insert(h.row, shown.len());
                shown.push(h);
                translations.push(Vec::new());
            }
            None => {}
        }
    }
    // Each answer's translations in the languages the candidates did not bring.
    let languages: Vec<&str> = index
        .space()
        .map(|s| s.languages().collect())
        .unwrap_or_default();
    for (hit, found) in shown.iter().zip(translations.iter_mut()) {
        let have = |l: &str, found: &[usize]| {
            index.lang(hit.row) == l || found.iter().any(|&r| index.lang(r) == l)
        };
        for &l in &languages {
            if !have(l, found) {
                if let Some(t) = counterpart(index, hit.row, l, allow) {
                    found.push(t);
                }
            }
        }
    }
    (shown, translations)
}

/// The translation of `row` in language `to`: the paragraph in `to` nearest to it whose
/// nearest paragraph in `row`'s language is `row` again, at a centred cosine of at least
/// [`TRANSLATION_MIN`]; only among the rows `allow` admits (the `--doc` filter).
fn counterpart(
    index: &Index,
    row: usize,
    to: &str,
    allow: Option<&dyn Fn(usize) -> bool>,
) -> Option<usize> {
    let space = index.space()?;
    let from = index.lang(row);
    let there = |r: usize| index.lang(r) == to && allow.is_none_or(|f| f(r));
    let t = candidates::nearest_across_languages(index, &[index.vector(row)], from, Some(&there))
        .pop()
        .flatten()?;
    let back = |r: usize| index.lang(r) == from;
    let again = candidates::nearest_across_languages(index, &[index.vector(t)], to, Some(&back))
        .pop()
        .flatten()?;
    (again == row && space.rows().pair(row, space.rows(), t) >= TRANSLATION_MIN).then_some(t)
}
