//! Scale benchmark on real text: the Python 3.11 and PostgreSQL 15 manuals (~133,000
//! paragraphs, Debian's documentation packages) at growing corpus sizes.
//!
//!     bash benches/scale/fetch.sh target/scale
//!     cargo bench --bench scale                         # 10k, 30k, 100k paragraphs
//!     XREF_SCALE_SIZES=10000 cargo bench --bench scale  # one size
//!     XREF_SCALE_CACHE_ONLY=1 cargo bench --bench scale # only embed (fill the cache)
//!
//! The corpus is embedded once (paragraph and sentence vectors, as `xref index` embeds
//! them) into an embedding cache in the index journal's format (`target/scale/cache/`,
//! resumable like `xref index` itself). Each size's index is then built by `Index::update`
//! resuming from that cache (hard links into the new index's `journal/`), so the figures
//! are everything after embedding: ingest of the subset excluded, graph, postings, write.
//! Per size: build time, bytes on disk against the paragraphs' text, open time, peak RSS,
//! crossref (calibration + links), question latency (embed, hybrid ranking and the out-of-corpus check), and the
//! HNSW graph against the exact scan (queries/s, recall@10 counted as ann-benchmarks counts
//! it: a hit scoring at least the 10th exact neighbour is right, so that repeated texts'
//! equal scores do not count as misses) on 300 of the corpus's paragraphs as queries.
//! Then re-linking after a change (`Linker::relink`, as a second `xref crossref` does): the
//! links of the same subset without its last files (~1 % of its paragraphs, crossref'd
//! first, before the size's own index is built) re-linked on the size's index, against the
//! size's crossref: time, paragraphs linked anew, lists the same.

#[path = "common.rs"]
mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use xref::embed::{Embedder, Prefix};
use xref::index::ann::{self, Ann};
use xref::index::journal::{self, Journal};
use xref::index::{Index, ModelStamp};
use xref::ingest::{ingest_paths, Corpus, Document, IngestOptions};
use xref::link::{cache, Linker};
use xref::model::{resolve, DEFAULT_MODEL};
use xref::rank::{self, Ranking};

const QUESTIONS: &[&str] = &[
    "How do I open a file for appending text?",
    "How can I create a temporary directory that is removed automatically?",
    "What is the difference between a list and a tuple?",
    "How do I parse command-line arguments?",
    "How do I run a subprocess and capture its output?",
    "How are default argument values evaluated?",
    "How can I sort a list of dictionaries by a key?",
    "What does the global interpreter lock do?",
    "How do I create an index on several columns?",
    "How do I grant a user read-only access to a table?",
    "What isolation levels do transactions support?",
    "How does VACUUM reclaim storage?",
    "How do I back up a database with pg_dump?",
    "How can I see which queries are running right now?",
    "What is a common table expression?",
    "How do I store JSON documents and query their fields?",
    "How do I set up streaming replication to a standby server?",
    "Which locks does ALTER TABLE take?",
    "How do I write a trigger function?",
    "How are NULL values sorted in ORDER BY?",
];

fn main() -> anyhow::Result<()> {
    let base = std::env::var_os("XREF_SCALE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/scale"));
    let corpus_dir = base.join("corpus");
    if !corpus_dir.is_dir() {
        eprintln!(
            "no scale corpus in {}: run `bash benches/scale/fetch.sh {}` first",
            corpus_dir.display(),
            base.display()
        );
        std::process::exit(2);
    }
    let mut sizes: Vec<usize> = std::env::var("XREF_SCALE_SIZES")
        .unwrap_or_else(|_| "10000,30000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    sizes.sort();

    let t = Instant::now();
    let corpus = ingest_paths(std::slice::from_ref(&corpus_dir), &IngestOptions::default())?;
    let ingest_s = t.elapsed().as_secs_f64();
    // Files in a fixed pseudo-random order (both manuals mixed); a size takes whole files
    // from the front until it has that many paragraphs.
    let mut by_file: BTreeMap<&str, Vec<&Document>> = BTreeMap::new();
    for d in &corpus.documents {
        by_file.entry(d.source.as_str()).or_default().push(d);
    }
    let mut files: Vec<(&str, Vec<&Document>)> = by_file.into_iter().collect();
    files.sort_by_key(|(s, _)| xref::index::store::sha256_bytes(s.as_bytes()));
    let (total, text) = size(&corpus);
    println!(
        "scale benchmark — {} files, {} paragraphs, {:.1} MB of paragraph text (ingest {:.1} s); {} cores",
        files.len(),
        total,
        text as f64 / 1e6,
        ingest_s,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let subset = |n: usize| -> Corpus {
        let mut documents = Vec::new();
        let mut count = 0;
        for (_, docs) in &files {
            if count >= n {
                break;
            }
            for d in docs {
                count += d.paragraphs.len();
                documents.push((*d).clone());
            }
        }
        Corpus {
            documents,
            ..Corpus::default()
        }
    };

    let model = resolve(DEFAULT_MODEL, &common::models_dir(), true)?;
    let embedder = Embedder::load(&model)?;
    let stamp = ModelStamp::of(embedder.info(), embedder.dim());
    let largest = subset(*sizes.last().unwrap_or(&0));
    let cache_root = base.join("cache");
    let cached = fill_cache(&cache_root, &stamp, &embedder, &largest)?;
    order_cache(&cache_root, &stamp, &subset(usize::MAX), &cached)?;
    if std::env::var_os("XREF_SCALE_CACHE_ONLY").is_some() {
        return Ok(());
    }

    println!(
        "{:>8} {:>9} {:>9} {:>8} {:>7} {:>8} {:>9} {:>9} {:>9} {:>10} {:>10} {:>7}",
        "paras",
        "build s",
        "disk MB",
        "×text",
        "open s",
        "RSS MB",
        "crossref",
        "q p50 ms",
        "q p95 ms",
        "exact q/s",
        "graph q/s",
        "r@10"
    );
    for &n in &sizes {
        let sub = subset(n);
        let (paragraphs, text) = size(&sub);
        // The links of the same subset without its last files (~1 % of its paragraphs), as
        // the crossref before a change would have kept them (re-linked below).
        let before = {
            let mut fewer = sub.clone();
            let mut dropped = 0;
            while dropped * 100 < paragraphs {
                let Some(source) = fewer.documents.last().map(|d| d.source.clone()) else {
                    break;
                };
                while fewer.documents.last().is_some_and(|d| d.source == source) {
                    dropped += fewer.documents.pop().map_or(0, |d| d.paragraphs.len());
                }
            }
            let dir = base.join(format!("index-{n}-before"));
            let _ = std::fs::remove_dir_all(&dir);
            link_cache(&cache_root, &dir, paragraphs.div_ceil(journal::CHUNK))?;
            Index::update(&dir, &fewer, &[], &embedder, true)?;
            let idx = Index::open(&dir)?;
            let settings = relink_settings(&stamp);
            let fresh = cache::Plan::Fresh(None);
            let kept = cache::crossref(&idx, &settings, settings.quantile, fresh)
                .keep(settings, cache::keys(&idx));
            drop(idx);
            let _ = std::fs::remove_dir_all(&dir);
            kept
        };
        let dir = base.join(format!("index-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        link_cache(&cache_root, &dir, paragraphs.div_ceil(journal::CHUNK))?;
        reset_peak_rss();
        let t = Instant::now();
        let report = Index::update(&dir, &sub, &[], &embedder, true)?;
        let build = t.elapsed().as_secs_f64();
        assert_eq!(report.embedded, 0, "the cache holds every paragraph");
        let (generation, _) = xref::index::store::current_generation(&dir)?.expect("written");
        let disk = dir_bytes(&generation)?;
        let t = Instant::now();
        let idx = Index::open(&dir)?;
        let open = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let mut linker = Linker::new(&idx, 5, f32::MIN);
        let cal = linker.calibrate(linker.params().quantile);
        let calibration = t.elapsed().as_secs_f64();
        linker.min_score = cal.threshold;
        let links = linker.crossref();
        let crossref = t.elapsed().as_secs_f64();
        let nlinks: usize = links.iter().map(Vec::len).sum();

        let mut lat = Vec::new();
        let params = rank::Params::of(&idx);
        let off_topic = rank::OffTopic::floors(&idx, &params);
        let ranking = Ranking {
            params,
            ..Ranking::default()
        };
        for q in QUESTIONS.iter().cycle().take(60) {
            let t = Instant::now();
            let v = embedder.embed_one(q, Prefix::Query)?;
            let _ = rank::answer(&idx, &v, q, 10, &ranking, None);
            // As `xref search` and the server do: is it answered by the corpus at all?
            let _ = off_topic.confidence(&idx, &v, q);
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let rss = common::peak_rss_mib();

        // The graph against the exact scan, on stored paragraphs as queries (each excluded
        // from its own answers by taking 11 and dropping itself).
        let sample: Vec<usize> = (0..300).map(|i| i * idx.len() / 300).collect();
        let t = Instant::now();
        let exact: Vec<Vec<xref::index::Hit>> = sample
            .iter()
            .map(|&r| top10(idx.search_exact(&idx.vector(r), 11, None), r))
            .collect();
        let exact_qps = sample.len() as f64 / t.elapsed().as_secs_f64();
        let (ef, pays) = idx.graph_use();
        // Below the size where the index stores a graph, one is built here over the same
        // vectors, to show where the graph starts to pay.
        let built;
        let graph: &dyn Fn(&[f32], usize) -> Vec<xref::index::Hit> = if idx.has_graph() {
            &|q, k| idx.search_graph(q, k, None)
        } else {
            let t = Instant::now();
            built = Ann::build_with(
                idx.rows().clone(),
                ann::MAX_CONNECTIONS,
                ann::EF_CONSTRUCTION,
                false,
            );
            println!(
                "         (graph built for this measurement: {:.1} s, calibrated ef {})",
                t.elapsed().as_secs_f64(),
                built.ef()
            );
            &|q, k| built.search(q, k, None)
        };
        // Timed over repeated rounds of the sample (at least a second): one round of a fast
        // graph is too short to time.
        let t = Instant::now();
        let (mut approx, mut rounds) = (Vec::new(), 0);
        while rounds == 0 || t.elapsed().as_secs_f64() < 1.0 {
            approx = sample
                .iter()
                .map(|&r| top10(graph(&idx.vector(r), 11), r))
                .collect::<Vec<Vec<xref::index::Hit>>>();
            rounds += 1;
        }
        let graph_qps = (rounds * sample.len()) as f64 / t.elapsed().as_secs_f64();
        let found: usize = approx
            .iter()
            .zip(&exact)
            .map(|(a, e)| ann::found_of(a, e))
            .sum();
        let wanted: usize = exact.iter().map(Vec::len).sum();
        let recall = found as f64 / wanted as f64;
        println!(
            "{:>8} {:>9.1} {:>9.1} {:>8.1} {:>7.2} {:>8.0} {:>8.1}s {:>9.1} {:>9.1} {:>10.0} {:>10.0} {:>7.3}",
            paragraphs,
            build,
            disk as f64 / 1e6,
            disk as f64 / text as f64,
            open,
            rss,
            crossref,
            common::percentile(&mut lat.clone(), 50.0),
            common::percentile(&mut lat, 95.0),
            exact_qps,
            graph_qps,
            recall,
        );
        println!(
            "         text {:.1} MB; {nlinks} links above {:.3} (calibration {:.1} s on {} pairs); graph {} (ef {ef}), searches {}",
            text as f64 / 1e6,
            cal.threshold,
            calibration,
            cal.pairs,
            if idx.has_graph() { "stored" } else { "not stored" },
            if pays { "use it" } else { "scan exactly" }
        );
        // Re-linking after the change (`xref crossref` with the links kept before it):
        // matching the kept links to this index, then linking anew what it can reach.
        let t = Instant::now();
        let keys = cache::keys(&idx);
        let cache::Plan::Relink(reuse) = before.plan(&relink_settings(&stamp), &idx, &keys) else {
            anyhow::bail!("the kept links were not reused");
        };
        let (added, removed) = (reuse.new.len(), reuse.removed);
        let linker = Linker::with_sampled(&idx, 5, reuse.threshold, reuse.sampled);
        let (relinked_links, relinked) = linker.relink(reuse.kept, &reuse.new);
        let relink = t.elapsed().as_secs_f64();
        // The same targets in the same order (scores differ in their last digits where
        // kept: BM25's term weights moved with the change).
        let rows = |l: &[xref::link::Link]| l.iter().map(|l| l.row).collect::<Vec<_>>();
        let same = relinked_links
            .iter()
            .zip(&links)
            .filter(|(a, b)| rows(a) == rows(b))
            .count();
        println!(
            "         re-link after {added} paragraphs more ({:.1} %, {removed} gone): {relinked} linked anew in {relink:.1} s (crossref {crossref:.1} s); {:.1} % of the lists as the crossref's",
            100.0 * added as f64 / paragraphs as f64,
            100.0 * same as f64 / paragraphs as f64
        );
        drop(relinked_links);
        if std::env::var_os("XREF_SCALE_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    Ok(())
}

/// The settings kept links are matched with (the same for both sides of a re-link).
fn relink_settings(stamp: &ModelStamp) -> cache::Settings {
    let params = rank::Params::for_model(&stamp.id);
    cache::Settings {
        k: 5,
        quantile: params.quantile,
        min_score: None,
        model: stamp.checksum.clone(),
        build: cache::build_stamp(),
        params: params.fingerprint(),
    }
}

/// Paragraphs and bytes of paragraph text.
fn size(corpus: &Corpus) -> (usize, usize) {
    let paragraphs = corpus.documents.iter().flat_map(|d| &d.paragraphs);
    (
        paragraphs.clone().count(),
        paragraphs.map(|p| p.text.len()).sum(),
    )
}

/// Hits other than `own`, at most 10.
fn top10(hits: Vec<xref::index::Hit>, own: usize) -> Vec<xref::index::Hit> {
    hits.into_iter().filter(|h| h.row != own).take(10).collect()
}

/// Embed every paragraph of `corpus` not yet in the cache, in journal chunks (paragraph
/// order, duplicates included), so that an interrupted run resumes; the keys of every text
/// the cache then holds.
fn fill_cache(
    root: &Path,
    stamp: &ModelStamp,
    embedder: &Embedder,
    corpus: &Corpus,
) -> anyhow::Result<HashSet<[u8; 32]>> {
    let mut journal = Journal::for_model(root, stamp);
    let mut cached: HashSet<[u8; 32]> = journal.load().into_keys().collect();
    let paragraphs: Vec<&str> = corpus
        .documents
        .iter()
        .flat_map(|d| &d.paragraphs)
        .map(|p| p.text.as_str())
        .collect();
    let todo: Vec<&str> = paragraphs
        .iter()
        .copied()
        .filter(|t| !cached.contains(&journal::text_key(t)))
        .collect();
    if todo.is_empty() {
        return Ok(cached);
    }
    println!(
        "embedding {} paragraphs into the cache {} (once; resumable)",
        todo.len(),
        root.display()
    );
    let bar = embedder.items_bar(todo.len(), "paragraphs");
    let (t, mut tokens) = (Instant::now(), 0usize);
    for chunk in todo.chunks(journal::CHUNK) {
        let (rows, n) = xref::index::embed_paragraphs(embedder, chunk)?;
        tokens += n;
        journal.append(
            chunk
                .iter()
                .zip(&rows)
                .map(|(p, (v, s))| (*p, v.as_slice(), s.as_slice())),
        )?;
        cached.extend(chunk.iter().map(|p| journal::text_key(p)));
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "embedded {} paragraphs with their sentences: {tokens} tokens in {secs:.0} s = {:.0} tokens/s",
        todo.len(),
        tokens as f64 / secs
    );
    Ok(cached)
}

/// Rewrite the cache's chunks in the corpus's paragraph order (once per corpus: a marker
/// holds the order's hash), so that every size's paragraphs are in a prefix of them even
/// after texts were added to the cache later (an ingest change). `cached`: the keys of
/// the texts the cache holds ([`fill_cache`]).
fn order_cache(
    root: &Path,
    stamp: &ModelStamp,
    corpus: &Corpus,
    cached: &HashSet<[u8; 32]>,
) -> anyhow::Result<()> {
    use sha2::Digest;
    // Every size is a prefix of the whole corpus's order, so the cache follows that order
    // and keeps all it holds: a run at a smaller size once dropped what a larger one had
    // embedded (an hour of embedding at 100k).
    let mut seen = HashSet::new();
    let texts: Vec<&str> = corpus
        .documents
        .iter()
        .flat_map(|d| &d.paragraphs)
        .map(|p| p.text.as_str())
        .filter(|t| cached.contains(&journal::text_key(t)) && seen.insert(journal::text_key(t)))
        .collect();
    let mut h = sha2::Sha256::new();
    for t in &texts {
        h.update(journal::text_key(t));
    }
    let order = format!("{:x}", h.finalize());
    let marker = root.join("ORDER");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == order) {
        return Ok(());
    }
    println!("ordering the cache by paragraph");
    let have = Journal::for_model(root, stamp).load();
    let tmp = root.join("reorder");
    let _ = std::fs::remove_dir_all(&tmp);
    let mut out = Journal::for_model(&tmp, stamp);
    for chunk in texts.chunks(journal::CHUNK) {
        out.append(chunk.iter().map(|t| {
            let (v, s) = &have[&journal::text_key(t)];
            (*t, v.as_slice(), s.as_slice())
        }))?;
    }
    std::fs::remove_dir_all(root.join(journal::DIR))?;
    std::fs::rename(tmp.join(journal::DIR), root.join(journal::DIR))?;
    std::fs::remove_dir_all(&tmp)?;
    std::fs::write(marker, order)?;
    Ok(())
}

/// Hard-link the cache's first `chunks` chunks into `<dir>/journal/`, where `Index::update`
/// resumes from. The cache is in paragraph order and every size takes a prefix of it, so
/// these hold all of a size's paragraphs (more, where the cache skipped repeated texts).
fn link_cache(cache: &Path, dir: &Path, chunks: usize) -> anyhow::Result<()> {
    let to = dir.join(journal::DIR);
    std::fs::create_dir_all(&to)?;
    // What a killed first `xref index` leaves: its lock file and its journal.
    std::fs::write(dir.join("LOCK"), b"")?;
    let mut names: Vec<_> = std::fs::read_dir(cache.join(journal::DIR))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .filter(|n| n.to_string_lossy().ends_with(".bin"))
        .collect();
    names.sort();
    for name in names.into_iter().take(chunks) {
        std::fs::hard_link(cache.join(journal::DIR).join(&name), to.join(name))?;
    }
    Ok(())
}

fn dir_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        total += entry?.metadata()?.len();
    }
    Ok(total)
}

/// Reset this process's peak RSS (`VmHWM`), so each size reports its own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
