//! Re-linking after a change: links found earlier are kept where nothing that changed can
//! reach them ([`Linker::relink`]).

use super::*;
use crate::rank::link_breadth;

impl Linker<'_> {
    /// Links for every paragraph, in index order, reusing links found earlier where nothing
    /// that changed can reach them ([`cache`]): `kept[row]` holds row `row`'s earlier
    /// links (rows renumbered to this index; found under this linker's [`LinkState`] and
    /// threshold), or `None` where the paragraph is new or one of its targets is gone;
    /// `new` lists the rows the earlier links never saw. Linked anew: every `None` row, and
    /// every kept row that a new row could now enter — among the new row's candidates seen
    /// from its side ([`REACH`] times the usual breadth) and scoring, from the kept row's
    /// side, at least its `k`th link or, below `k` links, the threshold (less [`DRIFT`]).
    /// Returns the links and how many rows were linked anew.
    ///
    /// What it does not follow: scores that move for every pair when the corpus changes —
    /// BM25's term weights, each language's centroid, a row's hubness, which texts are
    /// repeated in enough documents ([`Params::repeated_in`]). A caller bounds that drift by
    /// starting afresh once enough has changed ([`cache::RECALIBRATE_AFTER`]).
    pub fn relink(
        &self,
        mut kept: Vec<Option<Vec<Link>>>,
        new: &[usize],
    ) -> (Vec<Vec<Link>>, usize) {
        use rayon::prelude::*;
        let idx = self.index;
        let wide = REACH * link_breadth(self.k);
        // Who links to each row now.
        let mut linked_from: Vec<Vec<u32>> = vec![Vec::new(); idx.len()];
        for (s, list) in kept.iter().enumerate() {
            for l in list.iter().flatten() {
                linked_from[l.row].push(s as u32);
            }
        }
        // Each new row's candidate sources, seen from its side.
        let mut pairs: Vec<(usize, usize)> = new
            .par_iter()
            .flat_map_iter(|&c| {
                let doc = idx.doc_index(c);
                let kept = &kept;
                let allow = move |r: usize| kept[r].is_some() && idx.doc_index(r) != doc;
                let text = idx.paragraphs().text(c);
                let vector = idx.vector(c);
                let mut rows = self.candidates(
                    &vector,
                    idx.lang(c),
                    &self.lexical_for(text, false),
                    wide,
                    &allow,
                );
                // And whoever links to one of its nearest paragraphs (a copy of it among
                // them: whoever links to the copy may link to it as well).
                for h in idx.search(&vector, NEIGHBOURS_OF_NEW, None) {
                    rows.extend(linked_from[h.row].iter().map(|&s| s as usize));
                }
                rows.sort_unstable();
                rows.dedup();
                rows.into_iter()
                    .filter(move |&s| allow(s))
                    .map(move |s| (s, c))
            })
            .collect();
        pairs.sort_unstable();
        // A source is reached if one of its new candidates scores, from its side, into
        // its links (its lexical scores computed once for all of them).
        let reached: Vec<usize> = pairs
            .chunk_by(|a, b| a.0 == b.0)
            .collect::<Vec<_>>()
            .into_par_iter()
            .filter_map(|group| {
                let s = group[0].0;
                let list = kept[s].as_ref()?;
                let bar = match list.get(self.k.saturating_sub(1)) {
                    Some(last) if list.len() >= self.k => last.score.max(self.min_score),
                    _ => self.min_score,
                };
                let lex = self.lexical_for(idx.paragraphs().text(s), false);
                group
                    .iter()
                    .any(|&(_, c)| self.pair_score(s, c, &lex) >= bar - DRIFT)
                    .then_some(s)
            })
            .collect();
        for s in reached {
            kept[s] = None;
        }
        let todo: Vec<usize> = (0..idx.len()).filter(|&r| kept[r].is_none()).collect();
        let fresh: Vec<(usize, Vec<Link>)> = todo
            .par_iter()
            .map(|&r| (r, self.crossref_row(r)))
            .collect();
        let relinked = fresh.len();
        for (r, links) in fresh {
            kept[r] = Some(links);
        }
        (
            kept.into_iter().map(Option::unwrap_or_default).collect(),
            relinked,
        )
    }
}

// What a re-link checks again; not parameters of the model ([`Params`]): they bound how far a
// re-link may stray from a fresh crossref, not what a fresh crossref finds, so kept links do
// not depend on them.

/// How much wider than a link's own candidates [`Linker::relink`] looks around a new
/// paragraph for the paragraphs it could enter the links of (a candidate relation seen
/// from the other side: a row whose nearest neighbours are all closer to each other than
/// to it is far down their lists).
pub const REACH: usize = 2;
/// How many of a new paragraph's nearest paragraphs [`Linker::relink`] looks at the links
/// to: the paragraphs linked to them are asked whether the new one would enter their links.
pub const NEIGHBOURS_OF_NEW: usize = 10;
/// How far below a kept row's last link a new paragraph may score and still have the row
/// linked anew ([`Linker::relink`]): room for the drift of the scores it does not follow.
pub const DRIFT: f32 = 0.01;
