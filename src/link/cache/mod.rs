//! The links of an index's last `crossref`, kept beside the index ([`FILE`] in its
//! directory) so that the next `crossref` links anew only the paragraphs a change can reach
//! ([`super::Linker::relink`]), under the threshold and per-language-pair map it sampled
//! then ([`Sampled`]): an unchanged paragraph keeps its links, and a cross-reference list
//! that is published does not shift wherever nothing changed near it.
//!
//! A paragraph is known again by a key: the sha256 of its document's id, its language, its
//! text and its stored vectors (paragraph and sentences), so a paragraph that moved within
//! its document is the same and one re-embedded differently is not. Kept links are used
//! only when everything they were computed with is the same — `k`, the quantile or
//! `--min-score`, the model, the model's parameters ([`Params::fingerprint`]), the xref that
//! computed them ([`build_stamp`]), the corpus's languages — and while fewer than
//! [`RECALIBRATE_AFTER`] of the paragraphs are new or gone
//! since the threshold was sampled; otherwise everything is linked and calibrated afresh.
//! The file is replaced whole (written aside, then renamed); one that cannot be read is
//! ignored with a warning.
//!
//! ```text
//! links.json.gz   gzip of one JSON object: {"format": "xref-links", "version": 1,
//!                 "settings": {k, quantile, min_score, model, build, params},
//!                 "threshold", "note",
//!                 "sampled": {stats, reference, typical}, "calibrated_on", "changed_since",
//!                 "keys": [16 hex digits per row], "links": [[[row, score, quote, terms]…]…]}
//! ```

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod parts;

pub use parts::Calibrated;

use super::{Link, Linker, Sampled};
use crate::index::Index;
use crate::rank::Params;

/// The kept links' file, in the index directory.
pub const FILE: &str = "links.json.gz";
const FORMAT: &str = "xref-links";
const VERSION: u32 = 1;

/// The share of an index's paragraphs that may be new or gone since its threshold and map
/// were sampled before a `crossref` samples them again and links every paragraph anew:
/// what [`super::Linker::relink`] does not follow (term weights, language centroids,
/// hubness) drifts with the corpus, and so does the threshold itself (docs/benchmarks.md, "Re-linking
/// what changed").
pub const RECALIBRATE_AFTER: f64 = 0.05;

/// What kept links were computed with; a `crossref` with other settings links afresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Most links per paragraph.
    pub k: usize,
    /// The calibrated threshold's quantile.
    pub quantile: f64,
    /// The threshold given with `--min-score`, if it was.
    pub min_score: Option<f32>,
    /// The model's checksum.
    pub model: String,
    /// Which xref computed them ([`build_stamp`]).
    pub build: String,
    /// The parameters they were scored and calibrated with ([`Params::fingerprint`] of the
    /// model's, [`Params::of`]); empty in a file kept before parameters were recorded, which
    /// therefore never matches.
    #[serde(default)]
    pub params: String,
}

impl Settings {
    /// The settings of a `crossref` of `index` with at most `k` links a paragraph, a
    /// threshold at `quantile` (`None`: the model's, [`Params::quantile`]) or at
    /// `min_score`, by this build, under the parameters of the index's model.
    pub fn of(index: &Index, k: usize, quantile: Option<f64>, min_score: Option<f32>) -> Self {
        let params = Params::of(index);
        Self {
            k,
            quantile: quantile.unwrap_or(params.quantile),
            min_score,
            model: index.manifest().model.checksum.clone(),
            build: build_stamp(),
            params: params.fingerprint(),
        }
    }
}

/// The links of one `crossref` and what they were computed under.
#[derive(Serialize, Deserialize)]
pub struct Kept {
    format: String,
    version: u32,
    pub settings: Settings,
    /// The threshold the links were cut at.
    pub threshold: f32,
    /// How the threshold was found, as the output tells it.
    pub note: String,
    /// The per-language-pair map (empty for one language).
    pub sampled: Sampled,
    /// Paragraphs in the index when the threshold and the map were sampled.
    pub calibrated_on: usize,
    /// Paragraphs new or gone since then.
    pub changed_since: usize,
    keys: Vec<String>,
    links: Vec<Vec<KeptLink>>,
}

/// One kept link: target row, score, quotation, shared terms.
#[derive(Serialize, Deserialize)]
struct KeptLink(u32, f32, bool, Vec<String>);

/// What a `crossref` does with kept links.
pub enum Plan {
    /// Link every paragraph and calibrate afresh, for this reason (`None`: nothing kept).
    Fresh(Option<String>),
    /// Re-link what changed.
    Relink(Reuse),
}

/// Kept links matched to the paragraphs of the index now.
pub struct Reuse {
    /// Per row, its kept links renumbered to this index, or `None` where the paragraph is
    /// new or one of its targets is gone.
    pub kept: Vec<Option<Vec<Link>>>,
    /// Rows not in the kept links.
    pub new: Vec<usize>,
    /// Kept paragraphs no longer in the index.
    pub removed: usize,
    pub threshold: f32,
    pub note: String,
    pub sampled: Sampled,
    pub calibrated_on: usize,
    /// Paragraphs new or gone since the calibration, this change included.
    pub changed_since: usize,
}

/// One `crossref`'s links and what they were cut under ([`crossref`]).
pub struct Crossref<'a> {
    /// The linker that found them (what it measured is kept: [`Crossref::keep`]).
    pub linker: Linker<'a>,
    /// Per row, its links.
    pub links: Vec<Vec<Link>>,
    /// The threshold they were cut at.
    pub threshold: f32,
    /// How the threshold was found, as the outputs tell it.
    pub note: String,
    /// What was done, for people: "; N linked anew (…)", or afresh and why.
    pub summary: String,
    calibrated_on: usize,
    changed_since: usize,
}

/// `xref crossref`'s links of the index in `dir` with at most `k` links a paragraph, under
/// a threshold at `quantile` of the pair scores (`None`: the model's, [`Params::quantile`])
/// or `min_score`: the links kept in `dir` by the last crossref are re-used wherever no
/// change can reach them (unless `fresh`), and these are kept for the next one. A kept file
/// that cannot be read or written is reported on standard error and otherwise ignored.
pub fn crossref_kept<'a>(
    dir: &Path,
    index: &'a Index,
    k: usize,
    quantile: Option<f64>,
    min_score: Option<f32>,
    fresh: bool,
) -> Crossref<'a> {
    let path = dir.join(FILE);
    let settings = Settings::of(index, k, quantile, min_score);
    let quantile = settings.quantile;
    let keys = keys(index);
    let plan = if fresh {
        Plan::Fresh(Some("--fresh".into()))
    } else {
        match Kept::load(&path) {
            Ok(Some(kept)) => kept.plan(&settings, index, &keys),
            Ok(None) => Plan::Fresh(None),
            Err(e) => {
                eprintln!(
                    "xref: warning: the links kept from the last crossref are not used: {e:#}"
                );
                Plan::Fresh(None)
            }
        }
    };
    let run = crossref(index, &settings, quantile, plan);
    run.keep_in(dir, settings, keys);
    run
}

/// The links of `index` with `settings`: re-linked from kept links where `plan` says so,
/// else every paragraph linked under a threshold calibrated at `quantile` (or the one set
/// in `settings`).
pub fn crossref<'a>(
    index: &'a Index,
    settings: &Settings,
    quantile: f64,
    plan: Plan,
) -> Crossref<'a> {
    match plan {
        Plan::Relink(reuse) => {
            let linker = Linker::with_sampled(index, settings.k, reuse.threshold, reuse.sampled);
            let (links, relinked) = linker.relink(reuse.kept, &reuse.new);
            let summary = format!(
                "; {relinked} linked anew ({} new paragraphs, {} gone since the last crossref), the rest kept with its threshold",
                reuse.new.len(),
                reuse.removed
            );
            Crossref {
                linker,
                links,
                threshold: reuse.threshold,
                note: reuse.note,
                summary,
                calibrated_on: reuse.calibrated_on,
                changed_since: reuse.changed_since,
            }
        }
        Plan::Fresh(why) => {
            let mut linker = Linker::new(index, settings.k, f32::MIN);
            let (threshold, note) = threshold(&linker, quantile, settings.min_score);
            linker.min_score = threshold;
            let links = linker.crossref();
            let repeated = linker.repeated_found();
            let mut summary = String::new();
            if repeated > 0 {
                summary = format!(
                    "; {repeated} paragraphs are repeated text, in {} or more documents: not linked to their copies",
                    linker.params().repeated_in + 1
                );
            }
            if let Some(why) = why {
                summary.push_str(&format!("; every paragraph linked anew ({why})"));
            }
            Crossref {
                linker,
                links,
                threshold,
                note,
                summary,
                calibrated_on: index.len(),
                changed_since: 0,
            }
        }
    }
}

/// A fresh crossref's threshold — `min_score` where it is set, else what `linker` calibrates
/// at `quantile` — and how it was found, as the outputs tell it.
fn threshold(linker: &Linker, quantile: f64, min_score: Option<f32>) -> (f32, String) {
    let calibration = linker.calibrate(quantile);
    match min_score {
        Some(s) => (s, "set with --min-score".to_string()),
        None => (calibration.threshold, calibration.note()),
    }
}

impl Crossref<'_> {
    /// Keep these links in index directory `dir` ([`FILE`]) for the next `crossref`, as
    /// [`Crossref::keep`] says; a file that cannot be written is reported on standard
    /// error and otherwise ignored.
    pub fn keep_in(&self, dir: &Path, settings: Settings, keys: Vec<String>) {
        if let Err(e) = self.keep(settings, keys).save(&dir.join(FILE)) {
            eprintln!("xref: warning: the links are not kept for the next crossref: {e:#}");
        }
    }

    /// These links to keep for the next `crossref` of an index whose rows have `keys`, with
    /// `settings` (their parameters: those the links were found with).
    pub fn keep(&self, settings: Settings, keys: Vec<String>) -> Kept {
        let settings = Settings {
            params: self.linker.params().fingerprint(),
            ..settings
        };
        Kept::new(
            settings,
            self.threshold,
            self.note.clone(),
            self.linker.state().sampled(),
            self.calibrated_on,
            self.changed_since,
            keys,
            &self.links,
        )
    }
}

/// Which xref this is: its version and a hash of its sources (`build.rs`; scoring changes
/// between builds of one version while it is developed), so links kept by other code are
/// never reused, and those of the CLI and the Python package of one checkout are.
pub fn build_stamp() -> String {
    format!("{} {}", env!("CARGO_PKG_VERSION"), env!("XREF_SOURCE_HASH"))
}

/// Each row's key (see the module's documentation): 16 hex digits, with `#n` appended to
/// the `n`th repeat of a key (the same text twice in one document).
pub fn keys(index: &Index) -> Vec<String> {
    use rayon::prelude::*;
    let keys: Vec<String> = (0..index.len())
        .into_par_iter()
        .map(|r| {
            let mut h = Sha256::new();
            for part in [
                index.doc_of(r).id.as_bytes(),
                index.lang(r).as_bytes(),
                index.paragraphs().text(r).as_bytes(),
            ] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
            h.update(bytemuck::cast_slice::<i8, u8>(index.rows().codes(r)));
            for s in index.sentence_range(r) {
                h.update(bytemuck::cast_slice::<i8, u8>(
                    index.sentence_rows().codes(s),
                ));
            }
            let d = h.finalize();
            d[..8].iter().map(|b| format!("{b:02x}")).collect()
        })
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    keys.iter()
        .map(|k| {
            let n = seen.entry(k.as_str()).or_default();
            *n += 1;
            if *n == 1 {
                k.clone()
            } else {
                format!("{k}#{}", *n - 1)
            }
        })
        .collect()
}

impl Kept {
    /// The links of a `crossref` of the index whose rows have `keys` ([`Crossref::keep`]).
    #[allow(clippy::too_many_arguments)]
    fn new(
        settings: Settings,
        threshold: f32,
        note: String,
        sampled: Sampled,
        calibrated_on: usize,
        changed_since: usize,
        keys: Vec<String>,
        links: &[Vec<Link>],
    ) -> Self {
        Self {
            format: FORMAT.to_string(),
            version: VERSION,
            settings,
            threshold,
            note,
            sampled,
            calibrated_on,
            changed_since,
            keys,
            links: links
                .iter()
                .map(|l| {
                    l.iter()
                        .map(|l| KeptLink(l.row as u32, l.score, l.quote, l.terms.clone()))
                        .collect()
                })
                .collect(),
        }
    }

    /// The kept links in `path`; `None` if there are none.
    pub fn load(path: &Path) -> Result<Option<Self>> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
        };
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(std::io::BufReader::new(file))
            .read_to_end(&mut json)
            .with_context(|| format!("reading {}", path.display()))?;
        let kept: Self =
            serde_json::from_slice(&json).with_context(|| format!("parsing {}", path.display()))?;
        if kept.format != FORMAT || kept.version != VERSION {
            bail!(
                "{} is not xref's kept links (format {} version {})",
                path.display(),
                kept.format,
                kept.version
            );
        }
        if kept.keys.len() != kept.links.len()
            || kept
                .links
                .iter()
                .flatten()
                .any(|l| l.0 as usize >= kept.keys.len())
        {
            bail!("{} is inconsistent", path.display());
        }
        Ok(Some(kept))
    }

    /// Write to `path`, replacing what was there only once written whole.
    pub fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_file_name(format!(".{FILE}.tmp-{}", std::process::id()));
        let write = || -> Result<()> {
            let file = std::fs::File::create(&tmp)?;
            let mut gz = flate2::write::GzEncoder::new(
                std::io::BufWriter::new(file),
                flate2::Compression::fast(),
            );
            serde_json::to_writer(&mut gz, self)?;
            gz.finish()?
                .into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()?;
            std::fs::rename(&tmp, path)?;
            Ok(())
        };
        let result = write();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.with_context(|| format!("writing {}", path.display()))
    }

    /// What to do with these kept links for `index`, whose rows have `keys`, linked with
    /// `settings`.
    pub fn plan(self, settings: &Settings, index: &Index, keys: &[String]) -> Plan {
        if self.settings != *settings {
            let why = if self.settings.build != settings.build {
                "they were computed by another build of xref"
            } else if self.settings.params != settings.params {
                "they were computed with other parameters of the model"
            } else {
                "they were computed with other settings"
            };
            return Plan::Fresh(Some(why.into()));
        }
        let languages: BTreeSet<&str> = if index.is_multilingual() {
            (0..index.len()).map(|r| index.lang(r)).collect()
        } else {
            BTreeSet::new()
        };
        if self.sampled.languages() != languages {
            return Plan::Fresh(Some("the corpus's languages changed".into()));
        }
        let now: HashMap<&str, usize> = keys
            .iter()
            .enumerate()
            .map(|(r, k)| (k.as_str(), r))
            .collect();
        let then: Vec<Option<usize>> = self
            .keys
            .iter()
            .map(|k| now.get(k.as_str()).copied())
            .collect();
        let mut old_of: Vec<Option<usize>> = vec![None; keys.len()];
        for (o, r) in then.iter().enumerate() {
            if let Some(r) = *r {
                old_of[r] = Some(o);
            }
        }
        let new: Vec<usize> = (0..keys.len()).filter(|&r| old_of[r].is_none()).collect();
        let removed = then.iter().filter(|r| r.is_none()).count();
        let changed_since = self.changed_since + new.len() + removed;
        if changed_since as f64 > RECALIBRATE_AFTER * self.calibrated_on.max(keys.len()) as f64 {
            return Plan::Fresh(Some(format!(
                "{changed_since} paragraphs are new or gone since the threshold was calibrated on {}",
                self.calibrated_on
            )));
        }
        let links = &self.links;
        let kept = old_of
            .iter()
            .map(|o| {
                links[(*o)?]
                    .iter()
                    .map(|l| {
                        Some(Link {
                            row: then[l.0 as usize]?,
                            score: l.1,
                            quote: l.2,
                            terms: l.3.clone(),
                        })
                    })
                    .collect::<Option<Vec<Link>>>()
            })
            .collect();
        Plan::Relink(Reuse {
            kept,
            new,
            removed,
            threshold: self.threshold,
            note: self.note,
            sampled: self.sampled,
            calibrated_on: self.calibrated_on,
            changed_since,
        })
    }
}

#[cfg(test)]
mod tests;
