//! Retrieval quality against a gold set: questions with the snippets a right answer
//! contains, passage pairs that should be linked, and questions the corpus cannot answer.
//!
//! Gold file (JSON): `{"corpus": "seeds/", "questions": [{"query", "lang", "answers": [..]}],
//! "pairs": [{"a", "b", "why"}], "out_of_corpus": ["question", ..]}`. A hit is right when
//! its text contains one of the answers; a pair end is the paragraph containing its snippet.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::embed::{Embedder, Prefix};
use crate::error::bad_input;
use crate::index::Index;
use crate::link::Linker;
use crate::rank::{Components, Mode};
use crate::searcher::Searcher;

#[derive(Debug, Clone, Deserialize)]
pub struct Gold {
    #[serde(default)]
    pub corpus: Option<String>,
    pub questions: Vec<Question>,
    #[serde(default)]
    pub pairs: Vec<Pair>,
    #[serde(default)]
    pub out_of_corpus: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    pub query: String,
    #[serde(default)]
    pub lang: String,
    pub answers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Pair {
    pub a: String,
    pub b: String,
    #[serde(default)]
    pub why: String,
}

/// Question metrics for one mode (and one language, or all).
#[derive(Debug, Clone, Default, Serialize)]
pub struct QuestionScores {
    pub questions: usize,
    pub hit1: f64,
    pub hit5: f64,
    pub mrr10: f64,
}

/// Link metrics for one way of scoring links.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkScores {
    pub pairs: usize,
    pub recall5: f64,
    pub recall10: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// mode → language ("all", "zh", "en") → scores.
    pub questions: BTreeMap<String, BTreeMap<String, QuestionScores>>,
    pub links: BTreeMap<String, LinkScores>,
    /// Out-of-corpus detection at the default confidence threshold.
    pub out_of_corpus_flagged: f64,
    pub in_corpus_flagged: f64,
}

fn row_containing(index: &Index, snippet: &str) -> Result<usize> {
    let rows: Vec<usize> = (0..index.len())
        .filter(|&r| index.paragraphs().text(r).contains(snippet))
        .collect();
    match rows.as_slice() {
        [r] => Ok(*r),
        [] => Err(bad_input(format!(
            "gold snippet {snippet:?} is in no paragraph of the index"
        ))),
        _ => Err(bad_input(format!(
            "gold snippet {snippet:?} is in {} paragraphs; make it unique",
            rows.len()
        ))),
    }
}

/// A way of linking: a source row's targets, best first.
type LinksOf<'a> = dyn Fn(usize) -> Vec<usize> + 'a;

/// How many nearest neighbours a row's CSLS density averages over.
const CSLS_NEIGHBOURS: usize = 10;

/// Each row's CSLS density `r(x)`: the mean cosine to its [`CSLS_NEIGHBOURS`] nearest rows.
fn csls_density(index: &Index) -> Vec<f32> {
    use rayon::prelude::*;
    (0..index.len())
        .into_par_iter()
        .map(|r| {
            let hits = index.search(&index.vector(r), CSLS_NEIGHBOURS + 1, Some(&|x| x != r));
            hits.iter().map(|h| h.score).sum::<f32>() / hits.len().max(1) as f32
        })
        .collect()
}

/// The baselines the default linking is measured against: row `row`'s `k` best rows in
/// other documents by `score(target, cosine)` over its 50 nearest there — plain cosine, or
/// cross-domain similarity local scaling, `2·cos(a,b) − r(a) − r(b)` ([`csls_density`]),
/// which demotes "hub" paragraphs close to everything.
fn nearest_elsewhere(
    index: &Index,
    row: usize,
    k: usize,
    score: impl Fn(usize, f32) -> f32,
) -> Vec<usize> {
    let doc = index.doc_index(row);
    let elsewhere = |r: usize| index.doc_index(r) != doc;
    let mut hits = index.search(&index.vector(row), k.max(50), Some(&elsewhere));
    for h in &mut hits {
        h.score = score(h.row, h.score);
    }
    crate::index::ann::top_hits(hits, k)
        .into_iter()
        .map(|h| h.row)
        .collect()
}

/// The gold questions' scores under the searcher's current ranking in `mode`, per
/// language and `"all"`. A question is answered at the first hit whose text, or one of its
/// translations' texts, contains one of its answers.
fn score_questions(
    searcher: &Searcher,
    gold: &Gold,
    vectors: &[Vec<f32>],
    mode: Mode,
) -> BTreeMap<String, QuestionScores> {
    let index = searcher.index();
    let right = |row: usize, q: &Question| {
        let text = index.paragraphs().text(row);
        q.answers.iter().any(|a| text.contains(a.as_str()))
    };
    let mut by_lang: BTreeMap<String, QuestionScores> = BTreeMap::new();
    for (q, v) in gold.questions.iter().zip(vectors) {
        let answer = searcher.answer(&q.query, v, 10, mode, None);
        let rank = answer
            .hits
            .iter()
            .zip(&answer.translations)
            .position(|(h, t)| right(h.row, q) || t.iter().any(|&r| right(r, q)));
        for lang in ["all", q.lang.as_str()] {
            let s = by_lang.entry(lang.to_string()).or_default();
            s.questions += 1;
            if rank == Some(0) {
                s.hit1 += 1.0;
            }
            if rank.is_some_and(|r| r < 5) {
                s.hit5 += 1.0;
            }
            if let Some(r) = rank {
                s.mrr10 += 1.0 / (r + 1) as f64;
            }
        }
    }
    for s in by_lang.values_mut() {
        let n = s.questions as f64;
        s.hit1 /= n;
        s.hit5 /= n;
        s.mrr10 /= n;
    }
    by_lang
}

/// The gold questions' raw query vectors, once every question is known to have a right
/// answer in the index (a snippet found nowhere is a broken gold set, not a miss).
fn question_vectors(index: &Index, embedder: &Embedder, gold: &Gold) -> Result<Vec<Vec<f32>>> {
    for q in &gold.questions {
        let found = q
            .answers
            .iter()
            .any(|a| (0..index.len()).any(|r| index.paragraphs().text(r).contains(a.as_str())));
        if !found {
            return Err(bad_input(format!(
                "no paragraph of the index contains an answer to the gold question {:?}",
                q.query
            )));
        }
    }
    let queries: Vec<&str> = gold.questions.iter().map(|q| q.query.as_str()).collect();
    Ok(embedder
        .embed(&queries, Prefix::Query)?
        .into_iter()
        .map(|e| e.vector)
        .collect())
}

/// Run the gold set through `searcher` (questions as `xref search` answers them, in each
/// mode), the links of its index, and its out-of-corpus judgement.
pub fn evaluate(searcher: &Searcher, embedder: &Embedder, gold: &Gold) -> Result<Report> {
    let mut report = Report::default();
    let index = searcher.index();
    let vectors = question_vectors(searcher.index(), embedder, gold)?;
    for mode in [Mode::Dense, Mode::Lexical, Mode::Hybrid] {
        let scores = score_questions(searcher, gold, &vectors, mode);
        report
            .questions
            .insert(format!("{mode:?}").to_lowercase(), scores);
    }

    let pairs: Vec<(usize, usize)> = gold
        .pairs
        .iter()
        .map(|p| Ok((row_containing(index, &p.a)?, row_containing(index, &p.b)?)))
        .collect::<Result<_>>()?;
    let linker = searcher.linker(10, f32::MIN);
    let density = csls_density(index);
    let baselines: [(&str, &LinksOf); 3] = [
        ("cosine", &|r| nearest_elsewhere(index, r, 10, |_, cos| cos)),
        ("csls", &|r| {
            nearest_elsewhere(index, r, 10, |t, cos| 2.0 * cos - density[r] - density[t])
        }),
        ("hybrid", &|r| {
            linker.from_row(r, false).iter().map(|l| l.row).collect()
        }),
    ];
    for (name, links_of) in baselines {
        let (mut r5, mut r10) = (0usize, 0usize);
        for &(a, b) in &pairs {
            for (from, to) in [(a, b), (b, a)] {
                if let Some(pos) = links_of(from).iter().position(|&r| r == to) {
                    r10 += 1;
                    if pos < 5 {
                        r5 += 1;
                    }
                }
            }
        }
        let n = (2 * pairs.len()).max(1) as f64;
        report.links.insert(
            name.to_string(),
            LinkScores {
                pairs: pairs.len(),
                recall5: r5 as f64 / n,
                recall10: r10 as f64 / n,
            },
        );
    }

    if !gold.out_of_corpus.is_empty() {
        let ooc = embedder.embed(&gold.out_of_corpus, Prefix::Query)?;
        let flagged = ooc
            .iter()
            .zip(&gold.out_of_corpus)
            .filter(|(e, q)| searcher.confidence(q, &e.vector) < 0.0)
            .count();
        report.out_of_corpus_flagged = flagged as f64 / ooc.len() as f64;
        let false_alarms = vectors
            .iter()
            .zip(&gold.questions)
            .filter(|(v, q)| searcher.confidence(&q.query, v) < 0.0)
            .count();
        report.in_corpus_flagged = false_alarms as f64 / vectors.len().max(1) as f64;
    }
    Ok(report)
}

/// One ranking of an ablation and its question scores per language and `"all"`.
#[derive(Debug, Clone, Serialize)]
pub struct AblationRow {
    /// `"hybrid"` (the default), `"dense"`, `"lexical"`, or `"hybrid-<component>"`: the
    /// default with that step ([`Components::NAMES`]) switched off.
    pub ranking: String,
    pub scores: BTreeMap<String, QuestionScores>,
}

/// [`ablate`]'s result.
#[derive(Debug, Clone, Serialize)]
pub struct Ablation {
    pub questions: usize,
    pub rows: Vec<AblationRow>,
}

/// The gold questions answered by the default ranking, by each single channel, and by
/// the default with each of its steps switched off in turn: what each step buys on this
/// set. Leaves `searcher` with every step on.
pub fn ablate(searcher: &mut Searcher, embedder: &Embedder, gold: &Gold) -> Result<Ablation> {
    let vectors = question_vectors(searcher.index(), embedder, gold)?;
    let mut rows = Vec::new();
    let mut run = |searcher: &Searcher, ranking: String, mode: Mode| {
        let scores = score_questions(searcher, gold, &vectors, mode);
        rows.push(AblationRow { ranking, scores });
    };
    searcher.set_components(Components::ALL);
    run(searcher, "hybrid".into(), Mode::Hybrid);
    run(searcher, "dense".into(), Mode::Dense);
    run(searcher, "lexical".into(), Mode::Lexical);
    for name in Components::NAMES {
        let without = Components::ALL.without(name).expect("a known component");
        searcher.set_components(without);
        run(searcher, format!("hybrid-{name}"), Mode::Hybrid);
    }
    searcher.set_components(Components::ALL);
    Ok(Ablation {
        questions: gold.questions.len(),
        rows,
    })
}

impl fmt::Display for Ablation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = |r: &AblationRow| r.scores.get("all").cloned().unwrap_or_default();
        let base = self.rows.first().map(all).unwrap_or_default();
        writeln!(
            f,
            "ranking ({} questions)        hit@1  hit@5  MRR@10  ΔMRR@10",
            self.questions
        )?;
        for r in &self.rows {
            let s = all(r);
            writeln!(
                f,
                "  {:<28} {:.3}  {:.3}  {:.3}   {:+.3}",
                r.ranking,
                s.hit1,
                s.hit5,
                s.mrr10,
                s.mrr10 - base.mrr10
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "questions        mode      n   hit@1  hit@5  MRR@10")?;
        for (mode, langs) in &self.questions {
            for (lang, s) in langs {
                writeln!(
                    f,
                    "  {lang:<14} {mode:<8} {:>3}   {:.3}  {:.3}  {:.3}",
                    s.questions, s.hit1, s.hit5, s.mrr10
                )?;
            }
        }
        writeln!(f, "links            scoring   pairs  recall@5  recall@10")?;
        for (scoring, s) in &self.links {
            writeln!(
                f,
                "                 {scoring:<8} {:>5}     {:.3}      {:.3}",
                s.pairs, s.recall5, s.recall10
            )?;
        }
        writeln!(
            f,
            "out of corpus    flagged {:.0}% of out-of-corpus questions, {:.0}% of in-corpus ones",
            self.out_of_corpus_flagged * 100.0,
            self.in_corpus_flagged * 100.0
        )
    }
}

/// Translation-link recall in one direction of a parallel corpus.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Direction {
    /// Files of the source side with a counterpart on the other side.
    pub files: usize,
    /// Source paragraphs measured (see [`evaluate_pairs`]).
    pub paragraphs: usize,
    pub recall1: f64,
    pub recall5: f64,
    pub recall10: f64,
    /// Of the sources whose first link is not in the counterpart file, the share whose
    /// first link is in their own language (the rest: another file in the other language,
    /// or no link): where the cross-language scoring loses to same-language neighbours.
    pub misses_own_language: f64,
}

/// [`evaluate_pairs`]' result: `"zh→en"` → recall.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PairsReport {
    pub directions: BTreeMap<String, Direction>,
}

/// Translation-link recall on two folders of translations paired by relative path: for
/// each paragraph of a file in `a` whose counterpart exists in `b` (and the other way
/// round), whether one of its first 1/5/10 links (default linking, other documents,
/// no threshold) lies in the counterpart file. Measured paragraphs are written in their
/// side's main language (untranslated passages left in the original language are not
/// translations) and have text found nowhere else in the corpus (boilerplate repeated in
/// many files has no single right counterpart).
pub fn evaluate_pairs(index: &Index, a: &Path, b: &Path) -> Result<PairsReport> {
    use rayon::prelude::*;
    let roots = [canonical(a)?, canonical(b)?];
    // Each paragraph's side and path relative to its side's folder.
    let place: Vec<Option<(usize, PathBuf)>> = (0..index.len())
        .map(|r| {
            let file = std::fs::canonicalize(&index.doc_of(r).source).ok()?;
            roots.iter().enumerate().find_map(|(side, root)| {
                file.strip_prefix(root)
                    .ok()
                    .map(|rel| (side, rel.to_path_buf()))
            })
        })
        .collect();
    let mut text_count: HashMap<&str, usize> = HashMap::new();
    for p in index.paragraphs().iter() {
        *text_count.entry(p.text).or_default() += 1;
    }
    let mut side_lang = [String::new(), String::new()];
    let mut files: [std::collections::BTreeSet<&Path>; 2] = Default::default();
    for side in 0..2 {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for (r, p) in place.iter().enumerate() {
            if let Some((s, rel)) = p {
                if *s == side {
                    *counts.entry(index.lang(r)).or_default() += 1;
                    files[side].insert(rel.as_path());
                }
            }
        }
        side_lang[side] = counts
            .into_iter()
            .max_by_key(|(l, n)| (*n, *l))
            .map(|(l, _)| l.to_string())
            .unwrap_or_default();
    }
    if files[0].is_empty() || files[1].is_empty() {
        return Err(bad_input(format!(
            "no indexed paragraphs under {} or {}",
            a.display(),
            b.display()
        )));
    }
    let linker = Linker::new(index, 10, f32::MIN);
    let mut report = PairsReport::default();
    for side in 0..2 {
        let other = 1 - side;
        let sources: Vec<usize> = (0..index.len())
            .filter(|&r| {
                place[r]
                    .as_ref()
                    .is_some_and(|(s, rel)| *s == side && files[other].contains(rel.as_path()))
                    && index.lang(r) == side_lang[side]
                    && text_count[index.paragraphs().text(r)] == 1
            })
            .collect();
        // Each source's counterpart rank and whether its first link is in its own language.
        let (ranks, own): (Vec<Option<usize>>, Vec<bool>) = sources
            .par_iter()
            .map(|&r| {
                let want = place[r].as_ref().map(|(_, rel)| (other, rel.clone()));
                let links = linker.from_row(r, false);
                let rank = links.iter().position(|l| place[l.row] == want);
                let own = links
                    .first()
                    .is_some_and(|l| index.lang(l.row) == index.lang(r));
                (rank, own)
            })
            .unzip();
        let misses = ranks.iter().filter(|r| **r != Some(0)).count();
        let misses_own = ranks
            .iter()
            .zip(&own)
            .filter(|(r, o)| **r != Some(0) && **o)
            .count();
        let n = ranks.len().max(1) as f64;
        let within =
            |k: usize| ranks.iter().filter(|r| r.is_some_and(|r| r < k)).count() as f64 / n;
        let paired = files[side]
            .iter()
            .filter(|f| files[other].contains(*f))
            .count();
        report.directions.insert(
            format!("{}→{}", side_lang[side], side_lang[other]),
            Direction {
                files: paired,
                paragraphs: ranks.len(),
                recall1: within(1),
                recall5: within(5),
                recall10: within(10),
                misses_own_language: misses_own as f64 / misses.max(1) as f64,
            },
        );
    }
    Ok(report)
}

fn canonical(dir: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(dir).map_err(|e| bad_input(format!("{}: {e}", dir.display())))
}

impl fmt::Display for PairsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "translation links   files  paragraphs  recall@1  recall@5  recall@10  misses@1 in own language"
        )?;
        for (dir, d) in &self.directions {
            writeln!(
                f,
                "  {dir:<17} {:>5}  {:>10}     {:.3}     {:.3}      {:.3}      {:.0}%",
                d.files,
                d.paragraphs,
                d.recall1,
                d.recall5,
                d.recall10,
                d.misses_own_language * 100.0
            )?;
        }
        Ok(())
    }
}
