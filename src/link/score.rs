//! How a [`Linker`] scores a pair and ranks a source's candidates: the dense score, the
//! hubness correction across languages ([`Params::hub_weight`]), the lexical evidence each pair
//! of languages can share ([`Shared`]) and the per-language map ([`LinkState::map`]).

use super::state::{hub_of, Hubs};
use super::*;
use crate::rank::{candidates, dense, link_breadth};

impl<'a> Linker<'a> {
    /// Each row's hubness across languages (see [`Params::hub_weight`]), measured on first use:
    /// one search of the other languages per row (their graphs where they pay). None
    /// unless the corpus is multilingual.
    pub(super) fn hubs(&self) -> Hubs {
        let idx = self.index;
        if !idx.is_multilingual() {
            return Hubs::default();
        }
        Hubs::new(idx.len())
    }

    /// The lexical scores of a source text: against same-script paragraphs (all terms)
    /// and against others (shareable terms only); see [`candidates::lexical_across`].
    /// `every_row` computes them for all rows at once (for scoring many pairs of one
    /// source), else row by row on demand.
    pub(super) fn lexical_for(&self, text: &str, every_row: bool) -> Lexical2<'a> {
        let idx = self.index;
        let scores = |scorer: crate::index::lexical::Scorer<'a>| {
            if every_row {
                LexScores::All(scorer, std::cell::OnceCell::new())
            } else {
                LexScores::Rows(scorer)
            }
        };
        Lexical2 {
            same: scores(candidates::lexical(idx, text)),
            across: if idx.is_multilingual() {
                scores(candidates::lexical_across(idx, text))
            } else {
                LexScores::None
            },
        }
    }

    /// The score of pair (source `i`, target `j`) before [`LinkState::map`], the source in `lang`,
    /// with each row's hubness `hubs` (see [`Params::hub_weight`]).
    pub(super) fn raw_score_in(
        &self,
        hubs: &Hubs,
        i: usize,
        j: usize,
        lang: &str,
        lex: &Lexical2,
    ) -> f32 {
        self.raw_score_with(hubs, i, j, lex.get(Shared::of(lang, self.index.lang(j)), j))
    }

    /// [`Linker::raw_score_in`] given the pair's lexical score `lex`.
    pub(super) fn raw_score_with(&self, hubs: &Hubs, i: usize, j: usize, lex: f32) -> f32 {
        self.raw_score_parts(hubs, i, j, lex).0
    }

    /// [`Linker::raw_score_with`] and the pair's dense score.
    pub(super) fn raw_score_parts(&self, hubs: &Hubs, i: usize, j: usize, lex: f32) -> (f32, f32) {
        let (idx, p) = (self.index, &self.params);
        let dense = dense::pair(idx, i, j, p.link);
        let across = hubs.active() && idx.lang(i) != idx.lang(j);
        let hub = if across {
            hubs.of(idx, i, p.hub_neighbours) + hubs.of(idx, j, p.hub_neighbours)
        } else {
            0.0
        };
        (p.link.fuse(dense - p.hub_weight * 0.5 * hub, lex), dense)
    }

    /// Score candidates (dense neighbours, plus lexical ones, plus the
    /// nearest paragraphs in other languages on centred vectors), keep the best `k` at or
    /// above `min_score`.
    pub(super) fn rank(
        &self,
        vector: &[f32],
        text: &str,
        source: Option<usize>,
        allow: &dyn Fn(usize) -> bool,
    ) -> Vec<Link> {
        let (idx, p) = (self.index, &self.params);
        let lang = source.map_or_else(|| idx.text_lang(text, vector), |s| idx.lang(s));
        let wide = link_breadth(self.k);
        let lex = self.lexical_for(text, false);
        let mut rows = self.candidates(vector, lang, &lex, wide, allow);
        // No links between near-copies where either is repeated text
        // ([`Params::repeated_in`]); nor between a text found verbatim in that many other
        // documents and a paragraph that quotes it (a shared run of [`Params::quote_run`]
        // characters) or is itself found so.
        if let Some(s) = source {
            let repeated = &self.state.repeated;
            let verbatim = repeated.verbatim(idx, s, p);
            // Measured only where a near-copy or a verbatim copy is among the candidates.
            let mut near = None;
            let mut runs = None;
            rows.retain(|&r| {
                if idx.rows().dot(r, vector) >= p.quote_score {
                    return !(*near.get_or_insert_with(|| repeated.near(idx, s, p))
                        || repeated.near(idx, r, p));
                }
                let other = repeated.verbatim(idx, r, p);
                if verbatim && other {
                    return false;
                }
                !((verbatim || other)
                    && runs
                        .get_or_insert_with(|| Runs::of(text, p.quote_run))
                        .in_text(idx.paragraphs().text(r)))
            });
        }
        let lexical = lex.of_rows(&rows, |r| Shared::of(lang, idx.lang(r)));
        let hubs = &self.state.hubs;
        // An outside text's own hubness, measured as a row's is.
        let text_hub = if source.is_none() && hubs.active() {
            hub_of(idx, vector, lang, p.hub_neighbours)
        } else {
            0.0
        };
        // Cross-language pairs below [`Params::across_floor`], or less close in the model's own
        // space than a typical pair of their languages ([`LinkState::typical`]), are no links
        let floor = idx.is_multilingual();
        let mut links: Vec<Link> = rows
            .into_iter()
            .zip(lexical)
            .filter_map(|(r, lexical)| {
                let (raw, dense) = match source {
                    Some(s) => self.raw_score_parts(hubs, s, r, lexical),
                    None => {
                        // The question's blend: an outside text is matched like one.
                        let dense = dense::score_in(idx, vector, lang, r, p.question);
                        let across = hubs.active() && idx.lang(r) != lang;
                        let hub = if across {
                            text_hub + hubs.of(idx, r, p.hub_neighbours)
                        } else {
                            0.0
                        };
                        (
                            p.link.fuse(dense - p.hub_weight * 0.5 * hub, lexical),
                            dense,
                        )
                    }
                };
                if floor
                    && idx.lang(r) != lang
                    && (dense < p.across_floor
                        || idx.rows().dot(r, vector) < self.state.typical(lang, idx.lang(r)))
                {
                    return None;
                }
                Some(Link {
                    row: r,
                    score: self.state.map(lang, idx.lang(r), raw),
                    quote: false,
                    terms: Vec::new(),
                })
            })
            .filter(|l| l.score >= self.min_score)
            .collect();
        links.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
        links.truncate(self.k);
        if links.is_empty() {
            return links;
        }
        let (runs, vocabulary) = (Runs::of(text, p.quote_run), terms::Vocabulary::of(text));
        for l in &mut links {
            let target = idx.paragraphs().text(l.row);
            l.quote = idx.rows().dot(l.row, vector) >= p.quote_score || runs.in_text(target);
            l.terms = vocabulary.shared_with(target);
        }
        links
    }

    /// The rows [`Linker::rank`] scores for a text in `lang` with vector `vector` and lexical
    /// scores `lex`: its `wide` nearest paragraphs, plus its `wide` best
    /// BM25 rows (in its script and across), plus its `wide` nearest in other languages on
    /// centred vectors; sorted, each once.
    pub(super) fn candidates(
        &self,
        vector: &[f32],
        lang: &str,
        lex: &Lexical2,
        wide: usize,
        allow: &dyn Fn(usize) -> bool,
    ) -> Vec<usize> {
        let idx = self.index;
        // Lexical scores row by row (the ranking's); all at once has no candidates of its own.
        let mut rows: Vec<usize> = if let LexScores::Rows(same) = &lex.same {
            // Paragraph candidates only: a sentence scan per paragraph would make `crossref`
            // quadratic, and on the gold set it finds no link the paragraph candidates miss.
            let mut rows = candidates::hybrid(idx, vector, same, wide, false, Some(allow));
            if let LexScores::Rows(across) = &lex.across {
                rows.extend(across.candidates(wide, Some(allow)));
            }
            rows
        } else {
            idx.search(vector, wide, Some(allow))
                .iter()
                .map(|h| h.row)
                .collect()
        };
        rows.extend(candidates::across_languages(
            idx,
            vector,
            lang,
            wide,
            Some(allow),
        ));
        rows.sort_unstable();
        rows.dedup();
        rows
    }

    /// The score this linker gives the pair (`i`, `j`), with `lex` the lexical scores of
    /// `i`'s text.
    pub(super) fn pair_score(&self, i: usize, j: usize, lex: &Lexical2) -> f32 {
        let (from, to) = (self.index.lang(i), self.index.lang(j));
        let raw = self.raw_score_in(&self.state.hubs, i, j, from, lex);
        self.state.map(from, to, raw)
    }
}

/// What terms a pair of paragraphs in languages `from` and `to` can share: all of them (one
/// language), those a text in another script can contain ([`candidates::lexical_across`]:
/// Latin words, identifiers, numbers; a Chinese paragraph and an English one), or none that
/// count as evidence (two Latin-script languages).
///
/// Between two Latin-script languages every shared word and identifier would count, and
/// on corpora that repeat option names and settings across pages those matches are the
/// top of the cross-language background: on the German manual pages (100 of 121 systemd's)
/// that top lay 0.48 above its median, 0.20 without them, and with the map anchored on it
/// ([`Params::map_quantile`]) German recall@1 was 0.46 / 0.47 with them and 0.81 / 0.81
/// without (identifiers and numbers alone: 0.41). French and Spanish lose 0.01–0.04 without
/// them, Chinese–English pairs are unaffected (docs/quality.md, "Known weak spots").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shared {
    All,
    Across,
    None,
}

impl Shared {
    pub(super) fn of(from: &str, to: &str) -> Self {
        use crate::text::lang::is_latin;
        if from == to {
            Self::All
        } else if is_latin(from) && is_latin(to) {
            Self::None
        } else {
            Self::Across
        }
    }
}

/// A source text's normalised lexical scores against same-language paragraphs and against
/// paragraphs in other languages.
#[derive(Default)]
pub(super) struct Lexical2<'a> {
    same: LexScores<'a>,
    across: LexScores<'a>,
}

/// Lexical scores of one source text: none (no other language),
/// row by row on demand, or all rows at once when first asked for (a source whose pairs
/// never use a channel — two Latin-script languages, see [`Shared`] — never computes it).
#[derive(Default)]
pub(super) enum LexScores<'a> {
    #[default]
    None,
    Rows(crate::index::lexical::Scorer<'a>),
    All(
        crate::index::lexical::Scorer<'a>,
        std::cell::OnceCell<Vec<f32>>,
    ),
}

impl LexScores<'_> {
    fn get(&self, row: usize) -> f32 {
        match self {
            Self::None => 0.0,
            Self::Rows(s) => s.get(row),
            Self::All(s, all) => all.get_or_init(|| s.dense())[row],
        }
    }
}

impl Lexical2<'_> {
    pub(super) fn get(&self, shared: Shared, row: usize) -> f32 {
        match shared {
            Shared::All => self.same.get(row),
            Shared::Across => self.across.get(row),
            Shared::None => 0.0,
        }
    }

    /// [`Lexical2::get`] of each of `rows` (ascending), `shared(row)` telling what terms
    /// the source can share with it; scored on demand, the rows are looked up together
    /// ([`Scorer::get_sorted`]).
    ///
    /// [`Scorer::get_sorted`]: crate::index::lexical::Scorer::get_sorted
    pub(super) fn of_rows(&self, rows: &[usize], shared: impl Fn(usize) -> Shared) -> Vec<f32> {
        let kinds: Vec<Shared> = rows.iter().map(|&r| shared(r)).collect();
        let (mut same_rows, mut other_rows) = (Vec::new(), Vec::new());
        for (&r, kind) in rows.iter().zip(&kinds) {
            match kind {
                Shared::All => same_rows.push(r),
                Shared::Across => other_rows.push(r),
                Shared::None => {}
            }
        }
        let scores = |lex: &LexScores, rows: &[usize]| match lex {
            LexScores::Rows(scorer) => scorer.get_sorted(rows),
            _ => rows.iter().map(|&r| lex.get(r)).collect(),
        };
        let (mut a, mut b) = (
            scores(&self.same, &same_rows).into_iter(),
            scores(&self.across, &other_rows).into_iter(),
        );
        kinds
            .iter()
            .map(|kind| match kind {
                Shared::All => a.next().unwrap_or(0.0),
                Shared::Across => b.next().unwrap_or(0.0),
                Shared::None => 0.0,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_evidence_between_two_latin_script_languages_does_not_count() {
        assert_eq!(Shared::of("en", "en"), Shared::All);
        assert_eq!(Shared::of("zh", "zh"), Shared::All);
        assert_eq!(Shared::of("zh", "en"), Shared::Across);
        assert_eq!(Shared::of("en", "zh"), Shared::Across);
        assert_eq!(Shared::of("und", "en"), Shared::Across);
        assert_eq!(Shared::of("de", "en"), Shared::None);
        assert_eq!(Shared::of("fr", "es"), Shared::None);
    }
}
