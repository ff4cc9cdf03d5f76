//! Ingest throughput: the seed as text and as PDF (printed by headless Chromium), and a
//! 200-page PDF for memory.
//!
//!     cargo bench --bench ingest
//!
//! Prints MB/s of input and pages/s for each, and peak memory (RSS) after the large PDF.
//! Needs Debian's `chromium` and `fonts-noto-cjk` (as `.ci/run` installs them).

#[path = "common.rs"]
mod common;
#[allow(unused_imports)]
#[path = "../tests/common/mod.rs"]
mod fixtures;

use std::path::Path;
use std::time::Instant;

use xref::ingest::{ingest_bytes, IngestOptions};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-ingest");
    std::fs::create_dir_all(&dir).unwrap();
    let opts = IngestOptions::default();

    let text = std::fs::read(fixtures::seed()).unwrap();
    let (secs, docs) = best_of(5, || ingest_bytes(&text, "seed.txt", &opts).unwrap().len());
    println!(
        "text  seed: {:.2} MB in {:.3} s = {:.1} MB/s ({docs} documents)",
        mb(text.len()),
        secs,
        mb(text.len()) / secs
    );

    let pdf = std::fs::read(fixtures::seed_pdf(&dir)).unwrap();
    let pages = xref::ingest::pdf::pages(&pdf).unwrap().len();
    let (secs, docs) = best_of(3, || ingest_bytes(&pdf, "seed.pdf", &opts).unwrap().len());
    println!(
        "pdf   seed: {:.2} MB, {pages} pages in {:.3} s = {:.2} MB/s, {:.0} pages/s ({docs} documents, {} threads)",
        mb(pdf.len()),
        secs,
        mb(pdf.len()) / secs,
        pages as f64 / secs,
        rayon::current_num_threads()
    );

    // About 200 pages: the seed booklet twice over.
    let html = dir.join("big.html");
    let one = fixtures::seed_as_html();
    let body = one.split_once("</style>\n").unwrap();
    std::fs::write(&html, format!("{}</style>\n{}{}", body.0, body.1, body.1)).unwrap();
    let big = dir.join("big.pdf");
    fixtures::print_pdf(&html, &big);
    let bytes = std::fs::read(&big).unwrap();
    let before = common::peak_rss_mib();
    let t = Instant::now();
    let docs = ingest_bytes(&bytes, "big.pdf", &opts).unwrap().len();
    let secs = t.elapsed().as_secs_f64();
    let n = xref::ingest::pdf::pages(&bytes).unwrap().len();
    println!(
        "pdf   {n} pages: {:.2} MB in {:.3} s = {:.2} MB/s ({docs} documents); peak RSS {:.0} MiB (was {:.0} MiB before)",
        mb(bytes.len()),
        secs,
        mb(bytes.len()) / secs,
        common::peak_rss_mib(),
        before
    );
}

fn mb(n: usize) -> f64 {
    n as f64 / 1e6
}

/// Best wall time of `n` runs, and the last result.
fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..n {
        let t = Instant::now();
        out = Some(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, out.unwrap())
}
