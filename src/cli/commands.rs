//! The query-side commands: crossref, search, related, docs, paragraphs.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::highlight::{highlight, Mark};
use super::{index_paths, ingest_corpus, load_embedder, IndexArgs, IngestArgs, ModelArgs};
use crate::embed::Prefix;
use crate::error::bad_input;
use crate::index::Index;
use crate::link::cache;
use crate::link::terms::shared_terms;
use crate::output::{self, About, DocumentRecord, Format, ListedParagraph};
use crate::rank::{self, Mode};
use crate::searcher::{Answer, Searcher, Source};

fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::new(std::io::stdout().lock())
}

fn mark() -> Mark {
    Mark::choose(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// Open the index and check it against the model.
fn open_checked(index: &IndexArgs, model: &ModelArgs) -> Result<(Index, crate::embed::Embedder)> {
    let idx = Index::open(&index.dir)?;
    let embedder = load_embedder(model)?;
    idx.check_model(&embedder)?;
    Ok((idx, embedder))
}

#[allow(clippy::too_many_arguments)]
pub fn crossref(
    paths: &[PathBuf],
    out: Option<&Path>,
    format: Format,
    k: usize,
    min_score: Option<f32>,
    quantile: Option<f64>,
    fresh: bool,
    ingest: &IngestArgs,
    index: &IndexArgs,
    model: &ModelArgs,
) -> Result<()> {
    if !paths.is_empty() {
        let embedder = load_embedder(model)?;
        index_paths(paths, Default::default(), ingest, index, &embedder)?;
    }
    let idx = Index::open(&index.dir)?;
    let run = cache::crossref_kept(&index.dir, &idx, k, quantile, min_score, fresh);
    let (links, threshold) = (&run.links, run.threshold);
    let about = About::of_run(&idx, k, &run);
    match out {
        Some(dir) => {
            let written = output::write_crossref_files(dir, &idx, links, &about)?;
            let n: usize = links.iter().map(|l| l.len()).sum();
            let with = links.iter().filter(|l| !l.is_empty()).count();
            eprintln!(
                "xref: {n} links for {with} of {} paragraphs in {} documents (threshold {threshold:.3}; {}){}",
                idx.len(),
                idx.documents().len(),
                about.threshold_note,
                run.summary,
            );
            for p in written {
                println!("{}", p.display());
            }
        }
        None => {
            let mut sink = format.sink(Box::new(stdout()));
            output::write_crossref(sink.as_mut(), &idx, links, &about)?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn search(
    question: Option<String>,
    queries: Option<PathBuf>,
    k: usize,
    doc: Option<String>,
    mode: Mode,
    json: bool,
    index: &IndexArgs,
    model: &ModelArgs,
) -> Result<()> {
    let questions: Vec<String> = match (question, queries) {
        (Some(q), None) => vec![q],
        (None, Some(path)) => {
            let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                Box::new(std::io::BufReader::new(
                    std::fs::File::open(&path)
                        .map_err(|e| bad_input(format!("cannot open {}: {e}", path.display())))?,
                ))
            };
            let mut qs = Vec::new();
            for line in reader.lines() {
                let line = line.map_err(|e| bad_input(format!("reading questions: {e}")))?;
                if !line.trim().is_empty() {
                    qs.push(line.trim().to_string());
                }
            }
            qs
        }
        (Some(_), Some(_)) => return Err(bad_input("give a question or --queries, not both")),
        (None, None) => {
            return Err(bad_input(
                "give a question, or --queries FILE (- for standard input)",
            ))
        }
    };
    let (idx, embedder) = open_checked(index, model)?;
    let allowed_docs: Option<Vec<String>> = doc.as_ref().map(|d| idx.documents_matching(d));
    if let (Some(d), Some(a)) = (&doc, &allowed_docs) {
        if a.is_empty() {
            return Err(bad_input(format!(
                "no document title or id contains {d:?} (see `xref docs`)"
            )));
        }
    }
    // The reference questions (out-of-corpus bars, language shift) ride in the questions'
    // batch.
    let mut texts: Vec<&str> = questions.iter().map(String::as_str).collect();
    texts.extend(rank::reference::questions());
    let mut vectors = embedder.embed(&texts, Prefix::Query)?;
    let references: Vec<Vec<f32>> = vectors
        .split_off(questions.len())
        .into_iter()
        .map(|e| e.vector)
        .collect();
    let searcher = Searcher::new(idx, &references);
    let idx = searcher.index();
    let mut out = stdout();
    for (q, v) in questions.iter().zip(vectors) {
        let answer = searcher.answer(q, &v.vector, k, mode, allowed_docs.as_deref());
        if json {
            writeln!(out, "{}", serde_json::to_string(&answer.record(idx, q))?)?;
        } else {
            let Answer {
                hits,
                translations,
                confidence,
                vector,
            } = &answer;
            writeln!(out, "? {q}")?;
            if *confidence < 0.0 {
                writeln!(out, "  (low confidence: this question is probably not answered by the indexed documents)")?;
            }
            if hits.is_empty() {
                writeln!(out, "  (no results)")?;
            }
            for (i, h) in hits.iter().enumerate() {
                let p = idx.paragraphs().get(h.row);
                let terms = shared_terms(q, p.text);
                writeln!(
                    out,
                    "\n{:>2}. {}  [{:.3}]  {}",
                    i + 1,
                    output::place_of(idx, h.row),
                    h.score,
                    p.id
                )?;
                if let Some(s) = rank::best_sentence(idx, vector, h.row) {
                    writeln!(out, "    » {}", highlight(s, &terms, mark()))?;
                }
                writeln!(out, "    {}", highlight(p.text, &terms, mark()))?;
                for &t in &translations[i] {
                    writeln!(
                        out,
                        "    [{}] {}  {}",
                        idx.lang(t),
                        output::snippet(idx.paragraphs().text(t), 160),
                        idx.paragraphs().id(t)
                    )?;
                }
            }
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}

pub fn related(
    id: Option<String>,
    text: Option<String>,
    k: usize,
    same_doc: bool,
    json: bool,
    index: &IndexArgs,
    model: &ModelArgs,
) -> Result<()> {
    // Related passages need no reference questions (those are for questions).
    let searcher = Searcher::without_references(Index::open(&index.dir)?);
    let idx = searcher.index();
    let (source_id, source_text, related) = match (id, text) {
        (Some(id), None) => {
            let row = idx.row(&id).ok_or_else(|| {
                bad_input(format!(
                    "no paragraph with id {id:?} in the index (see `xref paragraphs`)"
                ))
            })?;
            let related = searcher.related(Source::Row(row), k, same_doc, f32::MIN);
            (Some(id), idx.paragraphs().text(row).to_string(), related)
        }
        (None, Some(text)) => {
            let embedder = load_embedder(model)?;
            idx.check_model(&embedder)?;
            // Passage-to-passage similarity: the same prefix as the indexed side.
            let v = embedder.embed_one(&text, Prefix::Passage)?;
            let related = searcher.related(Source::Text(&text, &v), k, same_doc, f32::MIN);
            (None, text.clone(), related)
        }
        _ => return Err(bad_input("give a paragraph id or --text \"…\"")),
    };
    let mut out = stdout();
    if json {
        let line = serde_json::to_string(&related.record(idx, source_id.as_deref()))?;
        writeln!(out, "{line}")?;
    } else {
        match source_id.as_deref().and_then(|i| idx.row(i)) {
            Some(row) => writeln!(
                out,
                "{}  {}\n    {}\n",
                output::place_of(idx, row),
                idx.paragraphs().id(row),
                source_text
            )?,
            None => writeln!(out, "{source_text}\n")?,
        }
        if related.links.is_empty() {
            writeln!(out, "(no related passages)")?;
        }
        for (i, (l, translations)) in related.links.iter().zip(&related.translations).enumerate() {
            let p = idx.paragraphs().get(l.row);
            let quote = if l.quote { "  quotation" } else { "" };
            writeln!(
                out,
                "{:>2}. {}  [{:.3}]{quote}  {}",
                i + 1,
                output::place_of(idx, l.row),
                l.score,
                p.id
            )?;
            writeln!(out, "    {}", highlight(p.text, &l.terms, mark()))?;
            for &t in translations {
                writeln!(out, "    = {}: {}", idx.lang(t), idx.paragraphs().text(t))?;
            }
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Documents and paragraphs either of freshly ingested files or of the index.
struct Listing {
    docs: Vec<crate::index::DocRecord>,
    paragraphs: Vec<(String, crate::ingest::Paragraph)>, // doc title, paragraph
}

fn listing(paths: &[PathBuf], ingest: &IngestArgs, index: &IndexArgs) -> Result<Listing> {
    if paths.is_empty() {
        let idx = Index::open(&index.dir)?;
        let docs = idx.documents().to_vec();
        let paragraphs = (0..idx.len())
            .map(|r| {
                (
                    idx.doc_of(r).title.clone(),
                    idx.paragraphs().get(r).to_paragraph(),
                )
            })
            .collect();
        return Ok(Listing { docs, paragraphs });
    }
    let corpus = ingest_corpus(paths, ingest)?;
    let docs = corpus
        .documents
        .iter()
        .map(crate::index::DocRecord::of)
        .collect();
    let paragraphs = corpus
        .documents
        .iter()
        .flat_map(|d| d.paragraphs.iter().map(|p| (d.title.clone(), p.clone())))
        .collect();
    Ok(Listing { docs, paragraphs })
}

pub fn docs(paths: &[PathBuf], json: bool, ingest: &IngestArgs, index: &IndexArgs) -> Result<()> {
    let l = listing(paths, ingest, index)?;
    let mut out = stdout();
    for (i, d) in l.docs.iter().enumerate() {
        if json {
            writeln!(out, "{}", serde_json::to_string(&DocumentRecord::new(d))?)?;
        } else {
            writeln!(
                out,
                "{:>3}. {}  ({} paragraphs; {}; {})",
                i + 1,
                d.title,
                d.paragraphs,
                d.id,
                d.source
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

pub fn paragraphs(
    paths: &[PathBuf],
    doc: Option<String>,
    json: bool,
    ingest: &IngestArgs,
    index: &IndexArgs,
) -> Result<()> {
    let l = listing(paths, ingest, index)?;
    let mut out = stdout();
    let mut current = None;
    for (title, p) in &l.paragraphs {
        if let Some(d) = &doc {
            if !crate::index::doc_matches(title, &p.doc_id, d) {
                continue;
            }
        }
        if json {
            writeln!(
                out,
                "{}",
                serde_json::to_string(&ListedParagraph { p, doc: title })?
            )?;
        } else {
            if current != Some(&p.doc_id) {
                writeln!(out, "## {title}  ({})\n", p.doc_id)?;
                current = Some(&p.doc_id);
            }
            let section = p
                .section
                .as_deref()
                .map(|s| format!(" › {s}"))
                .unwrap_or_default();
            let place = match p.page {
                Some(page) => format!("p. {page}"),
                None => format!("{}-{}", p.line_start, p.line_end),
            };
            writeln!(
                out,
                "[{}]{section}  {}:{place}\n{}\n",
                p.id, p.source, p.text
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// What `xref eval` of a gold set reports.
pub struct EvalOptions {
    /// The lexical weight of hybrid questions; `None`: the model's.
    pub weight: Option<f32>,
    pub ablate: bool,
    pub json: bool,
}

pub fn eval(
    gold_path: &Path,
    options: EvalOptions,
    ingest: &IngestArgs,
    index: &IndexArgs,
    model: &ModelArgs,
) -> Result<()> {
    let bytes = std::fs::read(gold_path)
        .map_err(|e| bad_input(format!("cannot read {}: {e}", gold_path.display())))?;
    let gold: crate::eval::Gold = serde_json::from_slice(&bytes)
        .map_err(|e| bad_input(format!("{} is not a gold set: {e}", gold_path.display())))?;
    let embedder = load_embedder(model)?;
    if let Some(corpus) = &gold.corpus {
        index_paths(
            &[PathBuf::from(corpus)],
            Default::default(),
            ingest,
            index,
            &embedder,
        )?;
    }
    let mut searcher = Searcher::open(&index.dir, &embedder)?;
    if let Some(weight) = options.weight {
        searcher = searcher.with_weight(weight);
    }
    if options.ablate {
        let report = crate::eval::ablate(&mut searcher, &embedder, &gold)?;
        return print_report(&report, options.json);
    }
    let report = crate::eval::evaluate(&searcher, &embedder, &gold)?;
    print_report(&report, options.json)
}

pub fn eval_pairs(
    a: &Path,
    b: &Path,
    json: bool,
    ingest: &IngestArgs,
    index: &IndexArgs,
    model: &ModelArgs,
) -> Result<()> {
    for dir in [a, b] {
        if !dir.is_dir() {
            return Err(bad_input(format!(
                "{} is not a folder (--pairs takes two folders of translations)",
                dir.display()
            )));
        }
    }
    let embedder = load_embedder(model)?;
    index_paths(
        &[a.to_path_buf(), b.to_path_buf()],
        Default::default(),
        ingest,
        index,
        &embedder,
    )?;
    let idx = Index::open(&index.dir)?;
    idx.check_model(&embedder)?;
    let report = crate::eval::evaluate_pairs(&idx, a, b)?;
    print_report(&report, json)
}

/// An evaluation report as pretty JSON or as its readable table.
fn print_report<R: serde::Serialize + std::fmt::Display>(report: &R, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}
