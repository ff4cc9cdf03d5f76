//! A crossref in parts, for a distributed run: calibrate once ([`Calibrated::of`]), link
//! ranges of rows anywhere the index can be opened ([`Calibrated::link_rows`]), and put the
//! parts together ([`Calibrated::assemble`]) into the [`Crossref`] one process would have
//! made: each row's links depend only on the index and what the calibration sampled, so
//! the parts are exactly the rows of a whole crossref.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::{Crossref, Settings};
use crate::index::Index;
use crate::link::{Link, Linker, Sampled};

/// What a crossref's calibration found: the threshold, how it was found, and what linking
/// sampled, to hand to the processes that link its parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibrated {
    pub settings: Settings,
    pub threshold: f32,
    pub note: String,
    pub sampled: Sampled,
    /// The paragraphs of the index it was calibrated on (parts of another index are refused).
    pub rows: usize,
}

impl Calibrated {
    /// Calibrate `index` for `k` links a paragraph under a threshold at `quantile` of the
    /// pair scores (`None`: the model's) or `min_score`, as a fresh `xref crossref` does.
    pub fn of(index: &Index, k: usize, quantile: Option<f64>, min_score: Option<f32>) -> Self {
        let settings = Settings::of(index, k, quantile, min_score);
        let linker = Linker::new(index, k, f32::MIN);
        let (threshold, note) = super::threshold(&linker, settings.quantile, settings.min_score);
        Self {
            settings,
            threshold,
            note,
            sampled: linker.state().sampled(),
            rows: index.len(),
        }
    }

    fn linker<'a>(&self, index: &'a Index) -> Linker<'a> {
        Linker::with_sampled(index, self.settings.k, self.threshold, self.sampled.clone())
    }

    fn check(&self, index: &Index) -> anyhow::Result<()> {
        if index.len() != self.rows {
            anyhow::bail!(
                "this calibration is of an index of {} paragraphs, not of this one ({})",
                self.rows,
                index.len()
            );
        }
        Ok(())
    }

    /// The crossref's links of `rows` (one part).
    pub fn link_rows(&self, index: &Index, rows: Range<usize>) -> anyhow::Result<Vec<Vec<Link>>> {
        self.check(index)?;
        if rows.end > index.len() || rows.start > rows.end {
            anyhow::bail!(
                "rows {rows:?} are not in an index of {} paragraphs",
                index.len()
            );
        }
        Ok(self.linker(index).crossref_rows(rows))
    }

    /// The crossref of `index` from its parts' links, every row once and in order.
    pub fn assemble<'a>(
        self,
        index: &'a Index,
        links: Vec<Vec<Link>>,
    ) -> anyhow::Result<Crossref<'a>> {
        self.check(index)?;
        if links.len() != index.len() {
            anyhow::bail!(
                "the parts hold {} paragraphs' links, the index {}",
                links.len(),
                index.len()
            );
        }
        Ok(Crossref {
            linker: self.linker(index),
            links,
            threshold: self.threshold,
            note: self.note,
            summary: String::new(),
            calibrated_on: index.len(),
            changed_since: 0,
        })
    }
}
