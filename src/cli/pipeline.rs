//! The pipeline steps the commands share: load the model, ingest files, bring the index
//! up to date with them, embed texts.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::{IndexArgs, IngestArgs, ModelArgs};
use crate::embed::{Embedder, Prefix};
use crate::error::bad_input;
use crate::ingest;
use crate::model;

/// Load the model named by `args`, fetching it if absent.
pub fn load_embedder(args: &ModelArgs) -> Result<Embedder> {
    let m = model::resolve(&args.model, &args.models_root(), true)?;
    Embedder::load_on(&m, args.precision.resolve(), args.device)
}

pub(super) fn cmd_embed(
    input: Option<PathBuf>,
    output: Option<PathBuf>,
    prefix: Prefix,
    args: &ModelArgs,
) -> Result<()> {
    let lines: Vec<String> = match &input {
        Some(p) => {
            let f = std::fs::File::open(p)
                .map_err(|e| bad_input(format!("cannot open {}: {e}", p.display())))?;
            read_lines(std::io::BufReader::new(f))
                .with_context(|| format!("reading {}", p.display()))?
        }
        None => read_lines(std::io::stdin().lock()).context("reading standard input")?,
    };
    // `XREF_PROFILE=1`: where the time goes, on standard error (#16's many-core runs).
    let profiling = std::env::var_os("XREF_PROFILE").is_some_and(|v| v != "0");
    let clock = std::time::Instant::now();
    let embedder = load_embedder(args)?;
    let load = clock.elapsed().as_secs_f64();
    crate::embed::profile::enable(profiling);
    let embedded = embedder.embed(&lines, prefix)?;
    let embed = clock.elapsed().as_secs_f64() - load;
    let sink: Box<dyn Write> = match &output {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(sink);
    /// A line of `xref embed`; components written as f64 (the f32 value's exact decimal
    /// expansion, as since the first version).
    #[derive(serde::Serialize)]
    struct Line<'a> {
        text: &'a str,
        tokens: usize,
        #[serde(serialize_with = "as_f64")]
        embedding: &'a [f32],
    }
    fn as_f64<S: serde::Serializer>(v: &&[f32], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|&x| x as f64))
    }
    for (text, e) in lines.iter().zip(embedded) {
        let line = Line {
            text,
            tokens: e.tokens,
            embedding: &e.vector,
        };
        serde_json::to_writer(&mut out, &line)?;
        writeln!(out)?;
    }
    out.flush()?;
    if profiling {
        let write = clock.elapsed().as_secs_f64() - load - embed;
        eprintln!("profile: load model {load:.3} s, embed {embed:.3} s, write {write:.3} s");
        for (phase, secs) in crate::embed::profile::take() {
            eprintln!("profile:   {:<10} {secs:.3} s", phase.name());
        }
    }
    Ok(())
}

fn read_lines(r: impl BufRead) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for line in r.split(b'\n') {
        let line = line?;
        let mut s = String::from_utf8(line).map_err(|_| bad_input("input is not UTF-8 text"))?;
        if s.ends_with('\r') {
            s.pop();
        }
        lines.push(s);
    }
    Ok(lines)
}

/// The paragraph texts of `paths` that [`index_paths`] would embed into the index (read
/// as it reads them), each once: the work a distributed build hands to its workers.
pub fn pending_texts(
    paths: &[PathBuf],
    ingest_args: &IngestArgs,
    index: &IndexArgs,
    embedder: &Embedder,
) -> Result<Vec<String>> {
    let known = crate::index::Index::file_slugs(&index.dir);
    let corpus = ingest_corpus_keeping(paths, ingest_args, &known)?;
    let stamp = crate::index::ModelStamp::of(embedder.info(), embedder.dim());
    crate::index::Index::pending(&index.dir, &corpus, &stamp)
}

/// Ingest `paths` (reporting skipped files) and update the index with them.
pub fn index_paths(
    paths: &[PathBuf],
    options: crate::index::UpdateOptions,
    ingest_args: &IngestArgs,
    index: &IndexArgs,
    embedder: &Embedder,
) -> Result<()> {
    let paths: Vec<PathBuf> = if paths.is_empty() {
        let existing = crate::index::Index::open(&index.dir)?;
        existing
            .manifest()
            .files
            .iter()
            .map(|f| PathBuf::from(&f.path))
            .collect()
    } else {
        paths.to_vec()
    };
    // The files' slugs as the index has them (ids stay put whatever paths are given).
    let mut phases = crate::index::Phases::start();
    let known = crate::index::Index::file_slugs(&index.dir);
    // Files the index holds as they are, read by this xref with these options, are not
    // read again (unless rebuilding).
    let held = if options.rebuild {
        Default::default()
    } else {
        let read_by = ingest::fingerprint(&ingest_args.options());
        crate::index::Index::held_files(&index.dir, &read_by)
    };
    let unchanged = |path: &str, bytes: &[u8]| {
        held.get(path)
            .is_some_and(|sum| *sum == crate::index::store::sha256_bytes(bytes))
    };
    let corpus = ingest_corpus_unless(&paths, ingest_args, &known, &unchanged)?;
    phases.done("ingest");
    let t = std::time::Instant::now();
    let report = crate::index::Index::update_with(&index.dir, &corpus, &paths, embedder, options)?;
    eprintln!(
        "xref: index {}: {} documents, {} paragraphs ({} embedded, {} reused{}; files: {} new, {} changed, {} unchanged, {} removed) in {:.1}s{}",
        index.dir.display(),
        report.documents,
        report.paragraphs,
        report.embedded,
        report.reused,
        if report.resumed > 0 {
            format!(", {} taken from the journal of an interrupted run or a distributed build", report.resumed)
        } else {
            String::new()
        },
        report.files_added,
        report.files_changed,
        report.files_unchanged,
        report.files_removed,
        t.elapsed().as_secs_f32(),
        match report.upgraded_from {
            _ if !report.written => " (already up to date)".to_string(),
            Some(v) if report.reused > 0 => format!(
                " (rewritten in format version {}, vectors reused: the index had an older format, version {v})",
                crate::index::VERSION
            ),
            Some(_) => " (rebuilt: the index had an older format)".to_string(),
            None => String::new(),
        }
    );
    Ok(())
}

/// Ingest files, printing a warning for each file skipped.
pub fn ingest_corpus(paths: &[PathBuf], args: &IngestArgs) -> Result<ingest::Corpus> {
    ingest_corpus_keeping(paths, args, &Default::default())
}

/// [`ingest_corpus`], keeping the slugs an index gives files ([`ingest::ingest_paths_keeping`]).
fn ingest_corpus_keeping(
    paths: &[PathBuf],
    args: &IngestArgs,
    known: &std::collections::HashMap<String, String>,
) -> Result<ingest::Corpus> {
    ingest_corpus_unless(paths, args, known, &|_, _| false)
}

/// [`ingest_corpus_keeping`], leaving out files `unchanged` says the index holds as they are
/// ([`ingest::ingest_paths_unless`]).
fn ingest_corpus_unless(
    paths: &[PathBuf],
    args: &IngestArgs,
    known: &std::collections::HashMap<String, String>,
    unchanged: &(dyn Fn(&str, &[u8]) -> bool + Sync),
) -> Result<ingest::Corpus> {
    let corpus = ingest::ingest_paths_unless(paths, &args.options(), known, unchanged)
        .map_err(|e| bad_input(e.to_string()))?;
    for w in &corpus.warnings {
        eprintln!("xref: warning: {}: {}", w.path, w.message);
    }
    if corpus.documents.is_empty() && corpus.unchanged.is_empty() {
        return Err(bad_input(
            "no documents found in the given paths (nothing to index)",
        ));
    }
    Ok(corpus)
}
