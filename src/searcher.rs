//! What every front end asks of an index: one opened index with what answering needs
//! beside the vectors — the out-of-corpus bars and the language shift, both from the
//! reference questions ([`rank::reference`]), and what linking measured about it
//! ([`LinkState`], on first use). The CLI's `xref search` / `xref related` / `xref eval`,
//! the server's `/api/search` / `/api/related` and the Python package ask questions and for
//! related passages through a [`Searcher`] and assemble nothing themselves.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use anyhow::Result;

use crate::embed::{Embedder, Prefix};
use crate::error::bad_input;
use crate::index::{Hit, Index};
use crate::link::{Link, LinkState, Linker};
use crate::output::{LinkRecord, RelatedRecord, SearchRecord, TranslationRecord};
use crate::rank::{self, candidates, Components, Mode, OffTopic, Params, QueryShift, Ranking};

/// An index opened for questions.
pub struct Searcher {
    index: Index,
    /// The parameters of the model the index was built with ([`Params::of`]).
    params: Params,
    off_topic: OffTopic,
    shift: QueryShift,
    components: Components,
    /// What linking measured about the index, on the first related-passages request.
    links: OnceLock<LinkState>,
    /// Each paragraph's nearest row per other language, as found ([`Translations::counterpart`]).
    counterparts: Counterparts,
}

/// (row, language) → the row's nearest row in that language, once found.
type Counterparts = Mutex<HashMap<(usize, String), Option<usize>>>;

/// A question's answer: its hits, best first, how confident xref is that the corpus
/// answers it (below 0: probably not), and the query vector the hits were ranked with.
pub struct Answer {
    pub hits: Vec<Hit>,
    /// Per hit, its translations (rows in other languages: those among the candidates,
    /// best first, then one in each other language of the library); empty in a one-language corpus.
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

/// What passages are related to: an indexed paragraph, or an outside text and its passage
/// vector.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    Row(usize),
    Text(&'a str, &'a [f32]),
}

/// Related passages: links, best first, each with its translations among the links and in
/// the library's other languages (empty in a one-language corpus).
pub struct Related {
    pub links: Vec<Link>,
    pub translations: Vec<Vec<usize>>,
}

impl Related {
    /// The record (`xref related --json`); `id` is the source paragraph's.
    pub fn record<'a>(&'a self, index: &'a Index, id: Option<&'a str>) -> RelatedRecord<'a> {
        RelatedRecord {
            id,
            links: self.link_records(index),
        }
    }

    /// Each link's record with its translations attached.
    pub fn link_records<'a>(&'a self, index: &'a Index) -> Vec<LinkRecord<'a>> {
        self.links
            .iter()
            .zip(&self.translations)
            .map(|(l, rows)| LinkRecord {
                translations: rows
                    .iter()
                    .map(|&r| TranslationRecord::of(index, r))
                    .collect(),
                ..LinkRecord::new(index, l)
            })
            .collect()
    }
}

impl Searcher {
    /// A searcher over `index` with the reference questions' vectors (embedded with
    /// [`Prefix::Query`] by the model the index was built with), ranking with that model's
    /// parameters ([`Params::of`]).
    pub fn new(index: Index, references: &[Vec<f32>]) -> Self {
        let params = Params::of(&index);
        let off_topic = OffTopic::from_references(&index, references, &params);
        let shift = QueryShift::from_references(&index, references, &params);
        Searcher {
            index,
            params,
            off_topic,
            shift,
            components: Components::ALL,
            links: OnceLock::new(),
            counterparts: Counterparts::default(),
        }
    }

    /// This searcher with `weight` for the lexical channel of hybrid questions (instead of
    /// its parameters' `question.lexical`: `xref eval --weight`).
    pub fn with_weight(mut self, weight: f32) -> Self {
        self.params.question.lexical = weight;
        self
    }

    /// The parameters questions are ranked with.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Answer with only these ranking steps on (an ablation: `xref eval --ablate`).
    pub fn set_components(&mut self, components: Components) {
        self.components = components;
    }

    /// A searcher for related passages only: questions would be judged and moved without
    /// the reference questions (the out-of-corpus floors, no shift).
    pub fn without_references(index: Index) -> Self {
        Self::new(index, &[])
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
        let allow = docs
            .map(|docs| move |r: usize| docs.iter().any(|d| d == idx.paragraphs().get(r).doc_id));
        let allow = allow.as_ref().map(|f| f as &dyn Fn(usize) -> bool);
        // In a library of several languages, a passage and its translations are one answer,
        // shown in the asker's language where it has one: the k places go to k passages.
        let grouped = on.grouping && idx.is_multilingual() && mode != Mode::Lexical;
        let breadth = if grouped { 3 * k } else { k };
        let ranking = Ranking {
            mode,
            components: on,
            params: self.params,
        };
        let mut hits = rank::answer(idx, &vector, question, breadth, &ranking, allow);
        let mut translations = vec![Vec::new(); hits.len()];
        if grouped {
            let lang = idx.text_lang(question, &vector).to_string();
            (hits, translations) = self.translations().group_hits(hits, &lang, k, allow);
        }
        Answer {
            hits,
            translations,
            confidence,
            vector,
        }
    }

    /// What linking measures about the index ([`Linker::new`]), measured once.
    pub fn link_state(&self) -> &LinkState {
        self.links
            .get_or_init(|| Linker::new(&self.index, 10, f32::MIN).state().clone())
    }

    /// A linker over the index with what linking measured about it.
    pub fn linker(&self, k: usize, min_score: f32) -> Linker<'_> {
        Linker::with_state(&self.index, k, min_score, self.link_state().clone())
    }

    /// At most `k` passages related to `source` scoring at least `min_score`, in other
    /// documents unless `same_doc`. In a library of several languages a passage and its
    /// translations among the links are one link, shown in the source's language where it
    /// has one, with its translations attached.
    pub fn related(&self, source: Source, k: usize, same_doc: bool, min_score: f32) -> Related {
        self.related_with(&self.related_linker(k, min_score), source, k, same_doc)
    }

    /// The linker [`Searcher::related_with`] takes for `k` links scoring at least
    /// `min_score`: one made once serves many sources (the reading view's margins).
    pub fn related_linker(&self, k: usize, min_score: f32) -> Linker<'_> {
        let grouped = self.components.grouping && self.index.is_multilingual();
        self.linker(if grouped { 3 * k } else { k }, min_score)
    }

    /// [`Searcher::related`] with `linker` ([`Searcher::related_linker`] for the same `k`).
    pub fn related_with(
        &self,
        linker: &Linker,
        source: Source,
        k: usize,
        same_doc: bool,
    ) -> Related {
        let idx = &self.index;
        let grouped = self.components.grouping && idx.is_multilingual();
        let (links, lang) = match source {
            Source::Row(row) => (linker.from_row(row, same_doc), idx.lang(row)),
            Source::Text(text, vector) => {
                (linker.from_text(vector, text), idx.text_lang(text, vector))
            }
        };
        if !grouped {
            let translations = vec![Vec::new(); links.len()];
            return Related {
                links,
                translations,
            };
        }
        let source_row = match source {
            Source::Row(row) => Some(row),
            Source::Text(..) => None,
        };
        self.translations().group_links(links, lang, k, source_row)
    }

    /// The translations of the index's passages, as this searcher's parameters tell them.
    fn translations(&self) -> Translations<'_> {
        Translations {
            index: &self.index,
            min: self.params.translation_min,
            memo: &self.counterparts,
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

/// Which paragraphs of an index are translations of each other: in different languages,
/// each the other's nearest paragraph in its language, at a centred cosine of at least
/// `min` ([`Params::translation_min`]; translations measure 0.7–0.95 there).
struct Translations<'a> {
    index: &'a Index,
    min: f32,
    /// The nearest rows found so far (the searcher's, shared by every request).
    memo: &'a Counterparts,
}

impl Translations<'_> {
    /// `hits` (best first) as at most `k` answers: a hit in another language than `lang` whose
    /// translation into `lang` exists ([`Translations::counterpart`]) is shown as that
    /// translation, and a hit whose translation is already an answer joins that answer. Each
    /// answer keeps its best score; its other-language rows are its translations.
    fn group_hits(
        &self,
        hits: Vec<Hit>,
        lang: &str,
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> (Vec<Hit>, Vec<Vec<usize>>) {
        let index = self.index;
        let mut shown: Vec<Hit> = Vec::new();
        let mut translations: Vec<Vec<usize>> = Vec::new();
        let mut answer_of: std::collections::HashMap<usize, usize> = Default::default();
        for h in hits {
            if answer_of.contains_key(&h.row) {
                continue;
            }
            let other = index.lang(h.row) != lang;
            let twin = if other {
                self.counterpart(h.row, lang, allow)
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
        for (hit, found) in shown.iter().zip(translations.iter_mut()) {
            self.complete(hit.row, found, allow);
        }
        (shown, translations)
    }

    /// Adds to `found` (translations of `row`) its translation in each language of the library
    /// that `found` does not cover yet ([`Translations::counterpart`], among the rows `allow`
    /// admits).
    fn complete(&self, row: usize, found: &mut Vec<usize>, allow: Option<&dyn Fn(usize) -> bool>) {
        let index = self.index;
        let Some(space) = index.space() else {
            return;
        };
        for l in space.languages() {
            let have = index.lang(row) == l || found.iter().any(|&r| index.lang(r) == l);
            if !have {
                found.extend(self.counterpart(row, l, allow));
            }
        }
    }

    /// `links` (best first) of the paragraph `source` (or of a text) as at most `k`, each
    /// passage once: a link in another language than `lang` whose translation into `lang` is
    /// also a link joins that link, which takes the better of their scores and its place; each
    /// link shown takes its translations in the library's other languages
    /// ([`Translations::counterpart`], never the source nor the source's own translations), and
    /// a later link that is one of them is not shown again.
    fn group_links(
        &self,
        links: Vec<Link>,
        lang: &str,
        k: usize,
        source: Option<usize>,
    ) -> Related {
        let index = self.index;
        let at: HashMap<usize, usize> = links.iter().enumerate().map(|(i, l)| (l.row, i)).collect();
        let rows: Vec<usize> = links.iter().map(|l| l.row).collect();
        // Never the source nor its own translations (those may stand close to a link's).
        let mut source_twins = Vec::new();
        if let Some(s) = source {
            self.complete(s, &mut source_twins, None);
        }
        let not_source = |r: usize| Some(r) != source && !source_twins.contains(&r);
        let mut shown: Vec<Link> = Vec::new();
        let mut translations: Vec<Vec<usize>> = Vec::new();
        let mut group_of: HashMap<usize, usize> = HashMap::new();
        for l in &links {
            if group_of.contains_key(&l.row) {
                continue;
            }
            let twin = (index.lang(l.row) != lang)
                .then(|| self.counterpart_among(l.row, lang, &rows))
                .flatten();
            let (link, mut found) = match twin {
                Some(t) if group_of.contains_key(&t) => {
                    let g = group_of[&t];
                    translations[g].push(l.row);
                    group_of.insert(l.row, g);
                    continue;
                }
                Some(t) => (
                    Link {
                        score: l.score.max(links[at[&t]].score),
                        ..links[at[&t]].clone()
                    },
                    vec![l.row],
                ),
                None => (l.clone(), Vec::new()),
            };
            if shown.len() == k {
                break;
            }
            let g = shown.len();
            self.complete(link.row, &mut found, Some(&not_source));
            group_of.insert(link.row, g);
            for &r in &found {
                group_of.insert(r, g);
            }
            shown.push(link);
            translations.push(found);
        }
        Related {
            links: shown,
            translations,
        }
    }

    /// The translation of `row` in language `to`: the paragraph in `to` nearest to it whose
    /// nearest paragraph in `row`'s language is `row` again, at a centred cosine of at least
    /// `self.min`; only among the rows `allow` admits (the `--doc` filter).
    fn counterpart(
        &self,
        row: usize,
        to: &str,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Option<usize> {
        let index = self.index;
        let from = index.lang(row);
        // The nearest row overall is the nearest admitted one when admitted: measured once.
        let t = self.nearest(row, to)?;
        let t = if allow.is_none_or(|f| f(t)) {
            t
        } else {
            let there = |r: usize| index.lang(r) == to && allow.is_none_or(|f| f(r));
            candidates::nearest_across_languages(index, &[index.vector(row)], from, Some(&there))
                .pop()
                .flatten()?
        };
        self.mutual(row, t)
    }

    /// [`Translations::counterpart`] among `rows` (a few: the links), without a scan of the
    /// index where the nearest row overall is not among them.
    fn counterpart_among(&self, row: usize, to: &str, rows: &[usize]) -> Option<usize> {
        let index = self.index;
        let t = self.nearest(row, to)?;
        let t = if rows.contains(&t) {
            t
        } else {
            candidates::nearest_among(index, &index.vector(row), index.lang(row), to, rows)?
        };
        self.mutual(row, t)
    }

    /// `t` if `row` is its nearest row in `row`'s language, at a centred cosine of at least
    /// `self.min`.
    fn mutual(&self, row: usize, t: usize) -> Option<usize> {
        let space = self.index.space()?;
        let again = self.nearest(t, self.index.lang(row))?;
        (again == row && space.rows().pair(row, space.rows(), t) >= self.min).then_some(t)
    }

    /// The row in language `to` nearest to `row` (found once per row and language).
    fn nearest(&self, row: usize, to: &str) -> Option<usize> {
        let key = (row, to.to_string());
        if let Some(&t) = self.memo.lock().unwrap().get(&key) {
            return t;
        }
        let index = self.index;
        let there = |r: usize| index.lang(r) == to;
        let t = candidates::nearest_across_languages(
            index,
            &[index.vector(row)],
            index.lang(row),
            Some(&there),
        )
        .pop()
        .flatten();
        self.memo.lock().unwrap().insert(key, t);
        t
    }
}
