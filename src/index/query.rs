//! Scoring and search over an open index: dense scores (paragraph and sentence vectors,
//! across languages on centred vectors), candidates (HNSW graph, exact scans, BM25),
//! hybrid questions with per-language mapping, out-of-corpus confidence.

use super::*;

impl Index {
    /// A paragraph's dense score for a question (or any outside text) with unit vector
    /// `query`: `(1 − s)·cos(query, paragraph) + s·max cos(query, sentence)` with
    /// `s` = [`SENTENCE_WEIGHT`]; the plain cosine for a one-sentence paragraph. A question
    /// usually asks about one sentence of a paragraph, which the whole paragraph's vector
    /// dilutes.
    pub fn dense_score(&self, query: &[f32], row: usize) -> f32 {
        let whole = dot(query, self.vector(row));
        if self.sentence_ranges[row].is_empty() {
            return whole;
        }
        let best = self
            .units(row)
            .map(|u| dot(query, u))
            .fold(f32::MIN, f32::max);
        (1.0 - SENTENCE_WEIGHT) * whole + SENTENCE_WEIGHT * best
    }

    /// [`Index::dense_score`] of a `lang` text's unit vector `query` against paragraph `row`
    /// in another language, on centred vectors (see [`langspace`]); the plain score in a
    /// one-language corpus.
    pub fn dense_score_across(&self, query: &[f32], lang: &str, row: usize) -> f32 {
        let Some(space) = &self.space else {
            return self.dense_score(query, row);
        };
        let (pc, sc) = space.centroid(lang);
        let (q, qs) = (langspace::centre(query, pc), langspace::centre(query, sc));
        let whole = dot(&q, space.vector(row));
        let r = self.sentence_ranges[row].clone();
        if r.is_empty() {
            return whole;
        }
        let best = r
            .map(|s| dot(&qs, space.sentence(s)))
            .fold(f32::MIN, f32::max);
        (1.0 - SENTENCE_WEIGHT) * whole + SENTENCE_WEIGHT * best
    }

    /// The sentence of paragraph `row` closest to `query`, when the paragraph has sentence
    /// vectors (the sentence that most likely answers a question).
    pub fn best_sentence(&self, query: &[f32], row: usize) -> Option<&str> {
        if self.sentence_ranges[row].is_empty() {
            return None;
        }
        let scores: Vec<f32> = self.units(row).map(|u| dot(query, u)).collect();
        let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]))?;
        let units = sentence_units(&self.paragraphs[row].text);
        // The same split that produced the vectors (the format version pins it).
        (units.len() == scores.len()).then(|| units[best])
    }

    /// A pair of paragraphs' dense score: `(1 − s)·cos(a, b) + s·max cos(sentence of a,
    /// sentence of b)`, with `s` = `sentence_weight` (each side's units as in [`Index::units`]).
    ///
    /// Paragraphs in different languages are compared on their centred vectors
    /// ([`langspace`]), which takes each language's offset out of the cosine.
    pub fn pair_dense_score(&self, a: usize, b: usize, sentence_weight: f32) -> f32 {
        let d = self.dim();
        let space = self
            .space
            .as_ref()
            .filter(|_| self.langs[a] != self.langs[b]);
        let vector = |row: usize| space.map_or_else(|| self.vector(row), |sp| sp.vector(row));
        let sentence = |s: usize| {
            space.map_or_else(|| &self.sentences[s * d..(s + 1) * d], |sp| sp.sentence(s))
        };
        let whole = dot(vector(a), vector(b));
        if self.sentence_ranges[a].is_empty() && self.sentence_ranges[b].is_empty() {
            return whole;
        }
        let units = |row: usize| -> Vec<&[f32]> {
            let r = self.sentence_ranges[row].clone();
            if r.is_empty() {
                vec![vector(row)]
            } else {
                r.map(sentence).collect()
            }
        };
        let (ua, ub) = (units(a), units(b));
        let best = ua
            .iter()
            .flat_map(|u| ub.iter().map(move |v| dot(u, v)))
            .fold(f32::MIN, f32::max);
        (1.0 - sentence_weight) * whole + sentence_weight * best
    }

    /// The language of paragraph `row` (see [`crate::lang::detect`]).
    pub fn lang(&self, row: usize) -> &str {
        &self.langs[row]
    }

    /// Whether the paragraphs are in more than one language (then pairs across languages
    /// are scored on centred vectors).
    pub fn is_multilingual(&self) -> bool {
        self.space.is_some()
    }

    /// The nearest rows in *other* languages than `lang` to paragraph vector `vector`
    /// compared on centred vectors (an exact scan; empty for a one-language corpus): the
    /// candidates that plain cosine would rank below every same-language neighbour.
    pub fn cross_language_candidates(
        &self,
        vector: &[f32],
        lang: &str,
        n: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<usize> {
        let Some(space) = &self.space else {
            return Vec::new();
        };
        let query = langspace::centre(vector, space.centroid(lang).0);
        // Only the other languages' rows: in a corpus that is mostly one language, the few
        // paragraphs in others are all a source in the main language needs to scan.
        let rows = space
            .rows_not_in(lang)
            .filter(|&r| allow.is_none_or(|f| f(r)));
        ann::exact_search_rows(rows, |r| space.vector(r), &query, n)
            .into_iter()
            .map(|h| h.row)
            .collect()
    }

    /// Rows worth scoring for `query`: the `n` nearest paragraphs and, `with_sentences`, the
    /// paragraphs of the `n` nearest sentences (an exact scan: for one question it costs
    /// less than embedding the question), sorted by row.
    pub fn dense_candidates(
        &self,
        query: &[f32],
        n: usize,
        with_sentences: bool,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<usize> {
        let owner_allowed = |s: usize| allow.is_none_or(|f| f(self.sentence_owner[s]));
        let by_sentence = if with_sentences {
            // On the 8-bit rows (a quarter of the memory to stream), twice as many as wanted,
            // then the best of those on the f32 rows.
            let d = self.dim();
            let rough = ann::top_of_scores(
                &self.sentence_codes.scan(query),
                2 * n,
                Some(&owner_allowed),
            );
            let exact = rough.into_iter().map(|h| Hit {
                row: h.row,
                score: dot(&self.sentences[h.row * d..(h.row + 1) * d], query),
            });
            ann::top_hits(exact.collect(), n)
        } else {
            Vec::new()
        };
        let mut rows: Vec<usize> = self
            .search(query, n, allow)
            .iter()
            .map(|h| h.row)
            .chain(by_sentence.iter().map(|h| self.sentence_owner[h.row]))
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows
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
            .filter(|r| r.title.contains(needle) || r.id.contains(needle))
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

    /// Rows answering a question, best first, by `mode`: `Dense` ([`Index::dense_score`] of
    /// the dense candidates), `Lexical` (BM25, scores normalised to the best hit), or
    /// `Hybrid`: the union of both candidate lists re-scored as
    /// `(1 - w)·dense + w·bm25/bm25_ideal` with `w` = `weight`,
    /// where `bm25_ideal` is what a paragraph matching every query term once would score
    /// (so a lone common term — a year, a number — adds little).
    pub fn query(
        &self,
        vector: &[f32],
        text: &str,
        k: usize,
        mode: Mode,
        weight: f32,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        match mode {
            Mode::Dense => {
                let lang = crate::lang::detect(text);
                let norm = self.question_norm(vector, lang);
                let mut rows = self.dense_candidates(vector, (4 * k).max(50), true, allow);
                rows.extend(self.cross_language_candidates(vector, lang, (4 * k).max(50), allow));
                rows.sort_unstable();
                rows.dedup();
                let mut hits: Vec<Hit> = rows
                    .into_iter()
                    .map(|row| Hit {
                        row,
                        score: self.question_dense(vector, lang, row, &norm),
                    })
                    .collect();
                hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
                hits.truncate(k);
                hits
            }
            Mode::Lexical => {
                let hits = self.lexical.search(text, k, allow);
                let max = hits.first().map_or(1.0, |h| h.1.max(f32::MIN_POSITIVE));
                hits.into_iter()
                    .map(|(row, s)| Hit {
                        row,
                        score: s / max,
                    })
                    .collect()
            }
            Mode::Hybrid => {
                let lang = crate::lang::detect(text);
                let norm = self.question_norm(vector, lang);
                let lex = self.lexical_scorer(text);
                let mut rows = self.hybrid_candidates(vector, &lex, (4 * k).max(50), true, allow);
                let across = self
                    .is_multilingual()
                    .then(|| self.lexical_scorer_across(text));
                rows.extend(self.cross_language_candidates(vector, lang, (4 * k).max(50), allow));
                rows.sort_unstable();
                rows.dedup();
                let mut hits: Vec<Hit> = rows
                    .into_iter()
                    .map(|row| {
                        // Across languages only identifiers and numbers can be shared.
                        let l = match &across {
                            Some(across) if self.langs[row] != lang => across.get(row),
                            _ => lex.get(row),
                        };
                        Hit {
                            row,
                            score: (1.0 - weight) * self.question_dense(vector, lang, row, &norm)
                                + weight * l,
                        }
                    })
                    .collect();
                hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
                hits.truncate(k);
                hits
            }
        }
    }

    /// Per target language, the mean and sd of a question's paragraph scores (plain within
    /// its language, centred across), and the reference they are mapped onto: the
    /// question's own language's, else the largest language's. `None` for a one-language
    /// corpus. Makes an answer in another language rank with, not below, one in the
    /// question's language (see `link::PairNorm` for the same idea on links).
    fn question_norm(&self, vector: &[f32], lang: &str) -> QuestionNorm<'_> {
        let space = self.space.as_ref()?;
        let centred = langspace::centre(vector, space.centroid(lang).0);
        let mut acc: HashMap<&str, (f64, f64, usize)> = HashMap::new();
        for r in 0..self.len() {
            let s = if self.langs[r] == lang {
                dot(vector, self.vector(r))
            } else {
                dot(&centred, space.vector(r))
            } as f64;
            let e = acc.entry(self.langs[r].as_str()).or_default();
            e.0 += s;
            e.1 += s * s;
            e.2 += 1;
        }
        let stats: HashMap<&str, (f32, f32)> = acc
            .iter()
            .map(|(l, &(s, ss, n))| {
                let mean = s / n as f64;
                (
                    *l,
                    (
                        mean as f32,
                        (ss / n as f64 - mean * mean).max(0.0).sqrt() as f32,
                    ),
                )
            })
            .collect();
        let reference = stats.get(lang).copied().or_else(|| {
            acc.iter()
                .max_by_key(|(l, e)| (e.2, **l))
                .map(|(l, _)| stats[l])
        })?;
        Some((stats, reference))
    }

    /// A question's dense score for `row`: [`Index::dense_score`] in its own language,
    /// [`Index::dense_score_across`] in another, mapped by `norm` (see
    /// [`Index::question_norm`]).
    fn question_dense(&self, vector: &[f32], lang: &str, row: usize, norm: &QuestionNorm) -> f32 {
        let Some((stats, reference)) = norm else {
            return self.dense_score(vector, row);
        };
        let target = self.langs[row].as_str();
        let s = if target == lang {
            self.dense_score(vector, row)
        } else {
            self.dense_score_across(vector, lang, row)
        };
        match stats.get(target) {
            Some(&(mean, sd)) if sd > 1e-6 => reference.0 + reference.1 * (s - mean) / sd,
            _ => s,
        }
    }

    /// Lexical scores of `text` against every paragraph: BM25 over the ideal score of its
    /// terms, capped at 1 (see [`lexical::Scorer`]).
    pub fn lexical_scorer(&self, text: &str) -> lexical::Scorer<'_> {
        let terms = Lexical::terms(text, false);
        self.lexical.scorer(&terms, self.lexical.ideal_of(&terms))
    }

    /// [`Index::lexical_scorer`] over the terms that text in another script can share:
    /// Latin words, identifiers and numbers (option names and figures survive translation;
    /// CJK bigrams never match English text); it scores nothing when `text` has none.
    ///
    /// Scores are divided by the ideal score of *all* of the text's terms, so an identifier
    /// that a Chinese paragraph shares with an English one counts for its share of the
    /// paragraph, not as a full match.
    pub fn lexical_scorer_across(&self, text: &str) -> lexical::Scorer<'_> {
        let ideal = self.lexical.ideal_of(&Lexical::terms(text, false));
        self.lexical.scorer(&Lexical::terms(text, true), ideal)
    }

    /// Candidates for hybrid ranking (questions and links alike): the dense candidates
    /// ([`Index::dense_candidates`]) and the `n` best rows by `lex` (the text's
    /// [`Index::lexical_scorer`]) that `allow` admits, sorted by row.
    pub fn hybrid_candidates(
        &self,
        vector: &[f32],
        lex: &lexical::Scorer<'_>,
        n: usize,
        with_sentences: bool,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<usize> {
        let mut rows = self.dense_candidates(vector, n, with_sentences, allow);
        rows.extend(lex.candidates(n, allow));
        rows.sort_unstable();
        rows.dedup();
        rows
    }

    /// Whether a question is likely answered by this corpus, as a margin: the best cosine
    /// minus the threshold for the question's language relation to the corpus (positive:
    /// in corpus). Cross-lingual scores run about 0.1 lower than same-language ones with e5,
    /// so a question written mostly in the corpus's script (CJK or not) is held to
    /// [`SAME_LANGUAGE_MIN`], any other to [`CROSS_LANGUAGE_MIN`]. Both were calibrated with
    /// `xref eval` on the seed's gold set, where they separate every out-of-corpus question.
    pub fn confidence(&self, vector: &[f32], question: &str) -> f32 {
        let top = ann::scan(&self.vectors, self.dim(), vector)
            .into_iter()
            .fold(f32::MIN, f32::max);
        let same = (cjk_ratio(question) >= 0.5) == (self.cjk_ratio >= 0.5);
        top - if same {
            SAME_LANGUAGE_MIN
        } else {
            CROSS_LANGUAGE_MIN
        }
    }

    /// Exact nearest rows (brute force): the reference for recall.
    pub fn search_exact(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(usize) -> bool>,
    ) -> Vec<Hit> {
        ann::top_of_scores(&ann::scan(&self.vectors, self.dim(), query), k, allow)
    }
}
