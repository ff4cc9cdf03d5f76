//! What a [`Linker`] measures about its index before it scores a pair: the background
//! statistics per language pair ([`LinkState`]).

use std::collections::HashMap;

use super::state::Repeated;
use super::{sample, Anchors, LinkState, Linker, NORM_PAIRS, NORM_ROWS, SALT};
use crate::rank::quantile;

impl Linker<'_> {
    /// Sample the background statistics per language pair (none for a one-language
    /// corpus); the per-row values start unmeasured (see [`LinkState`]).
    pub(super) fn measure_state(&self) -> LinkState {
        use rayon::prelude::*;
        let idx = self.index;
        if !idx.is_multilingual() {
            return LinkState {
                repeated: Repeated::new(idx.len()),
                ..LinkState::default()
            };
        }
        let mut by_lang: HashMap<&str, Vec<usize>> = HashMap::new();
        for r in 0..idx.len() {
            by_lang.entry(idx.lang(r)).or_default().push(r);
        }
        let hubs = self.hubs();
        // One draw per language serves as the sources from it and the targets in it: the
        // pairs' rows are the ones whose hubness is measured (a search each).
        let drawn: HashMap<&str, Vec<(u64, usize)>> = by_lang
            .iter()
            .map(|(&l, rows)| {
                (
                    l,
                    sample::lowest(idx, rows.iter().copied(), NORM_ROWS, SALT),
                )
            })
            .collect();
        let mut stats = HashMap::new();
        let mut typical = HashMap::new();
        let mut reference = (
            Anchors {
                median: 0.0,
                high: 1.0,
            },
            0usize,
        );
        for (&from, rows) in &by_lang {
            let sources = &drawn[from];
            let per = NORM_PAIRS.div_ceil(sources.len().max(1));
            for &to in by_lang.keys() {
                let targets = &drawn[to];
                // Each background pair's score and its plain cosine.
                let (mut scores, mut plain): (Vec<f32>, Vec<f32>) = sources
                    .par_iter()
                    .flat_map_iter(|&(key, i)| {
                        let lex = self.lexical_for(idx.paragraphs().text(i), false);
                        let doc = idx.doc_index(i);
                        sample::window(targets, key, per)
                            .filter(|&j| idx.doc_index(j) != doc)
                            .map(|j| {
                                let score = self.raw_score_in(&hubs, i, j, from, &lex);
                                (score, idx.rows().pair(i, idx.rows(), j))
                            })
                            .collect::<Vec<_>>()
                    })
                    .unzip();
                if from != to && !plain.is_empty() {
                    let median = quantile(&mut plain, 0.5);
                    typical.insert((from.to_string(), to.to_string()), median);
                }
                let Some(anchors) = Anchors::of(&mut scores, self.params.map_quantile) else {
                    continue;
                };
                stats.insert((from.to_string(), to.to_string()), anchors);
                if from == to && rows.len() > reference.1 {
                    reference = (anchors, rows.len());
                }
            }
        }
        LinkState {
            stats,
            reference: reference.0,
            hubs,
            typical,
            repeated: Repeated::new(idx.len()),
        }
    }
}
