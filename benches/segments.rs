//! Graph segments on the scale corpus (`bash benches/scale/fetch.sh target/scale`, then an
//! index of all of it: `xref index target/scale/corpus --index target/scale/full.xref`,
//! whose vectors this bench reuses — nothing is embedded here):
//!
//! 1. **Four segments against one graph**: the corpus indexed in four updates of a quarter
//!    of its files each (each update's 20,000+ new rows become a segment of their own) and
//!    in one, then each one's crossref (k = 5, threshold calibrated): the share of
//!    paragraphs with the same first link and with the same set of top-5 links.
//! 2. **One file changed**: on the four-segment index, one file given a new paragraph, then
//!    given back: each update timed as `xref index` runs it (ingest of every file included),
//!    phase by phase (`XREF_PROFILE=1`).
//!
//!     cargo bench --bench segments
//!
//! `XREF_SCALE_DIR` overrides `target/scale`; the indexes go to `target/segments`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use xref::index::journal::{self, CHUNK};
use xref::index::{Index, ModelStamp};
use xref::ingest::{ingest_paths_keeping, IngestOptions};
use xref::link::cache::{self, Plan, Settings};

#[path = "common.rs"]
mod common;

fn main() -> anyhow::Result<()> {
    let base = std::env::var_os("XREF_SCALE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/scale"));
    let corpus = base.join("corpus");
    let full = base.join("full.xref");
    if !full.join("CURRENT").exists() {
        eprintln!(
            "no index of the scale corpus in {}: run `bash benches/scale/fetch.sh {}` and `xref index {} --index {}` first",
            full.display(),
            base.display(),
            corpus.display(),
            full.display()
        );
        std::process::exit(2);
    }
    let work = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/segments");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let model = xref::model::resolve(xref::model::DEFAULT_MODEL, &common::models_dir(), true)?;
    let embedder = xref::embed::Embedder::load(&model)?;

    // The whole index's vectors as journal chunks: each update below takes them.
    let whole = Index::open(&full)?;
    let stamp = ModelStamp::of(embedder.info(), embedder.dim());
    let dim = whole.dim();
    let chunks: Vec<Vec<u8>> = (0..whole.len())
        .collect::<Vec<_>>()
        .chunks(CHUNK)
        .map(|rows| {
            let vectors: Vec<(Vec<f32>, Vec<f32>)> = rows
                .iter()
                .map(|&r| {
                    let s: Vec<f32> = whole
                        .sentence_range(r)
                        .flat_map(|s| whole.sentence_rows().decode(s))
                        .collect();
                    (whole.vector(r), s)
                })
                .collect();
            journal::chunk(
                &stamp,
                rows.iter()
                    .zip(&vectors)
                    .map(|(&r, (v, s))| (whole.paragraphs().text(r), v.as_slice(), s.as_slice())),
            )
        })
        .collect();
    let chunk_refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
    let mut files: Vec<PathBuf> = whole
        .manifest()
        .files
        .iter()
        .map(|f| PathBuf::from(&f.canonical))
        .collect();
    files.sort();
    println!(
        "segments benchmark — {} files, {} paragraphs ({} dims); {} cores",
        files.len(),
        whole.len(),
        dim,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    drop(whole);

    let update = |root: &Path, paths: &[PathBuf]| -> anyhow::Result<f64> {
        Index::add_embedded(root, &stamp, &chunk_refs)?;
        let t = Instant::now();
        let known = Index::file_slugs(root);
        let corpus = ingest_paths_keeping(paths, &IngestOptions::default(), &known)?;
        let report = Index::update(root, &corpus, paths, &embedder, false)?;
        assert_eq!(report.embedded, 0, "every vector comes from the journal");
        Ok(t.elapsed().as_secs_f64())
    };

    // 1. Four segments against one graph.
    let (one, four) = (work.join("one.xref"), work.join("four.xref"));
    let s = update(&one, &files)?;
    println!("one update of every file: {s:.1} s");
    // Four groups of files with about a quarter of the paragraphs each (each group's rows
    // are enough for a graph of their own).
    let counts: std::collections::HashMap<String, usize> = Index::open(&full)?
        .manifest()
        .files
        .iter()
        .map(|f| (f.canonical.clone(), f.paragraphs))
        .collect();
    let total: usize = counts.values().sum();
    let mut groups: Vec<Vec<PathBuf>> = vec![Vec::new()];
    let mut so_far = 0;
    for f in &files {
        if so_far >= total * groups.len() / 4 && groups.len() < 4 {
            groups.push(Vec::new());
        }
        so_far += counts[&f.display().to_string()];
        groups.last_mut().expect("a group").push(f.clone());
    }
    for (i, part) in groups.iter().enumerate() {
        let s = update(&four, part)?;
        let idx = Index::open(&four)?;
        println!(
            "update {} (+{} files): {s:.1} s; {} paragraphs, segments and tail {:?}",
            i + 1,
            part.len(),
            idx.len(),
            idx.segment_counts()
        );
    }
    let links = |root: &Path| -> anyhow::Result<(Vec<Vec<usize>>, f64)> {
        let idx = Index::open(root)?;
        let t = Instant::now();
        let settings = Settings::of(&idx, 5, None, None);
        let quantile = settings.quantile;
        let run = cache::crossref(&idx, &settings, quantile, Plan::Fresh(None));
        let rows = run
            .links
            .iter()
            .map(|l| l.iter().map(|l| l.row).collect())
            .collect();
        Ok((rows, t.elapsed().as_secs_f64()))
    };
    let (a, sa) = links(&one)?;
    let (b, sb) = links(&four)?;
    assert_eq!(a.len(), b.len());
    let linked: Vec<usize> = (0..a.len())
        .filter(|&r| !a[r].is_empty() || !b[r].is_empty())
        .collect();
    let first = linked
        .iter()
        .filter(|&&r| a[r].first() == b[r].first())
        .count();
    let set = |l: &[usize]| {
        let mut l = l.to_vec();
        l.sort_unstable();
        l
    };
    let top5 = linked.iter().filter(|&&r| set(&a[r]) == set(&b[r])).count();
    println!(
        "crossref, one graph {sa:.1} s, four segments {sb:.1} s: of {} linked paragraphs, the same first link {:.2} %, the same top-5 set {:.2} %",
        linked.len(),
        100.0 * first as f64 / linked.len() as f64,
        100.0 * top5 as f64 / linked.len() as f64
    );

    // Merged into one graph (`xref index --merge`) on a copy of the four-segment index.
    let merged = work.join("merged.xref");
    let copy = std::process::Command::new("cp")
        .args([
            "-r",
            &four.display().to_string(),
            &merged.display().to_string(),
        ])
        .status()?;
    anyhow::ensure!(copy.success(), "copying the index");
    let t = Instant::now();
    let args = xref::cli::IndexArgs {
        dir: merged.clone(),
    };
    let options = xref::index::UpdateOptions {
        merge: true,
        ..Default::default()
    };
    let ingest_args = xref::cli::IngestArgs {
        max_chars: IngestOptions::default().max_chars,
        split_marker: None,
        chapters: false,
    };
    xref::cli::index_paths(&files, options, &ingest_args, &args, &embedder)?;
    let s = t.elapsed().as_secs_f64();
    let (c, sc) = links(&merged)?;
    let first = linked
        .iter()
        .filter(|&&r| a[r].first() == c[r].first())
        .count();
    println!(
        "`xref index --merge` of the four segments: {s:.1} s, {:?} segments and tail; then crossref {sc:.1} s, the same first link as one graph {:.2} %",
        Index::open(&merged)?.segment_counts(),
        100.0 * first as f64 / linked.len() as f64
    );

    // 2. One file changed, then changed back, as `xref index CORPUS --index DIR` runs it
    //    (files the index holds unchanged are not read).
    std::env::set_var("XREF_PROFILE", "1");
    let index_args = xref::cli::IndexArgs { dir: four.clone() };
    let timed = |what: &str| -> anyhow::Result<()> {
        let t = Instant::now();
        let given = std::slice::from_ref(&corpus);
        xref::cli::index_paths(
            given,
            Default::default(),
            &ingest_args,
            &index_args,
            &embedder,
        )?;
        let idx = Index::open(&four)?;
        println!(
            "{what}: {:.2} s (segments and tail {:?})",
            t.elapsed().as_secs_f64(),
            idx.segment_counts()
        );
        Ok(())
    };
    timed("nothing changed")?;
    let target = files[files.len() / 2].clone();
    let original = std::fs::read(&target)?;
    let restore = Restore(target.clone(), original.clone());
    let text = String::from_utf8_lossy(&original).replacen(
        "</body>",
        "<p>A paragraph added to measure an update of one file: the segments keep their graphs.</p></body>",
        1,
    );
    std::fs::write(&target, text)?;
    timed("one file changed")?;
    drop(restore);
    timed("changed back")?;
    println!("peak RSS {:.0} MiB", common::peak_rss_mib());
    Ok(())
}

/// Puts a file's bytes back when dropped (the bench changes one file of the corpus).
struct Restore(PathBuf, Vec<u8>);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, &self.1);
    }
}
