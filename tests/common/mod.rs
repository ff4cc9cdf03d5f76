//! Shared test fixtures: the real model (fetched once if absent, see [`models_dir`]) and the seed.
#![allow(dead_code)]

pub mod browser;
pub mod served;
pub mod setup;

pub use setup::ensure_tools;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use xref::embed::Embedder;
use xref::model::{self, DEFAULT_MODEL};

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where the tests find the model: the folder `xref` itself uses from the project root
/// ([`model::models_root`]: `XREF_MODELS`, `./models/` if it holds the model, else the
/// user's cache), made absolute, so the README's first command and the tests share one
/// download.
pub fn models_dir() -> PathBuf {
    root().join(model::models_root(None))
}

pub fn seed() -> PathBuf {
    root().join("seeds/000_d3df9fe06eabeaf7.txt")
}

/// The default model, loaded once per test binary.
pub fn embedder() -> &'static Embedder {
    static E: OnceLock<Embedder> = OnceLock::new();
    E.get_or_init(|| load(Embedder::load))
}

/// The default model loaded by `how`, with the progress bar off.
fn load(how: impl FnOnce(&model::ModelDir) -> anyhow::Result<Embedder>) -> Embedder {
    let m = model::resolve(DEFAULT_MODEL, &models_dir(), true).expect("default model");
    let mut e = how(&m).expect("load model");
    e.progress = false;
    e
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// The default model at an explicit precision (or candle's plain path), loaded once each.
pub fn embedder_with(path: &str) -> &'static Embedder {
    use xref::embed::Precision;
    static F32: OnceLock<Embedder> = OnceLock::new();
    static BF16: OnceLock<Embedder> = OnceLock::new();
    static INT8: OnceLock<Embedder> = OnceLock::new();
    static CANDLE: OnceLock<Embedder> = OnceLock::new();
    let cell = match path {
        "f32" => &F32,
        "bf16" => &BF16,
        "int8" => &INT8,
        _ => &CANDLE,
    };
    cell.get_or_init(|| {
        load(|m| match path {
            "f32" => Embedder::load_with(m, Precision::F32),
            "bf16" => Embedder::load_with(m, Precision::Bf16),
            "int8" => Embedder::load_with(m, Precision::Int8),
            _ => Embedder::load_candle(m, candle_core::Device::Cpu),
        })
    })
}

/// Check that `e` runs the encoder path a test asked for (`embedder_with`'s names); a CPU
/// without AVX-512 BF16 (or VNNI) runs the exact path for "bf16" (or "int8"), which is said
/// on standard error so a fast-path test that compared f32 with f32 does not pass
/// unnoticed. Returns whether the path asked for is the one that runs.
pub fn assert_path(e: &Embedder, path: &str) -> bool {
    let described = e.describe();
    let cpu = xref::embed::kernels::cpu();
    let (has, feature) = match path {
        "bf16" => (cpu.avx512_bf16, "AVX-512 BF16"),
        "int8" => (cpu.avx512_vnni, "AVX-512 VNNI"),
        _ => (true, ""),
    };
    if !has {
        assert_eq!(
            described, "native f32",
            "{path} without {feature} falls back"
        );
        eprintln!(
            "SKIPPED {path} checks: this CPU has no {feature} (the {path} embedder runs f32)"
        );
        return false;
    }
    let expected = match path {
        "f32" => "native f32",
        "bf16" => "native bf16",
        "int8" => "native int8",
        _ => "candle f32 on Cpu",
    };
    assert_eq!(described, expected, "the encoder path the test asked for");
    true
}

/// The lowest cosine to the reference embeddings an encoder path must reach: 0.9999, and
/// 0.999 for the 8-bit path (the default on CPUs with AVX-512 VNNI).
pub fn reference_bar(e: &Embedder) -> f32 {
    if e.describe() == "native int8" {
        0.999
    } else {
        0.9999
    }
}

/// Every paragraph of the seed corpus.
pub fn seed_paragraphs() -> Vec<String> {
    let corpus = xref::ingest::ingest_paths(&[seed()], &xref::ingest::IngestOptions::default())
        .expect("ingest seed");
    corpus
        .documents
        .into_iter()
        .flat_map(|d| d.paragraphs.into_iter().map(|p| p.text))
        .collect()
}

/// Print `html` to `pdf` with Debian's headless Chromium (a real PDF producer: CID fonts
/// with ToUnicode maps, subsetting, its own line layout).
pub fn print_pdf(html: &Path, pdf: &Path) {
    print_pdf_with(html, pdf, &["--no-pdf-header-footer"]);
}

/// Print `html` to `pdf` with Chromium and extra flags (`--generate-pdf-document-outline`
/// for bookmarks from the headings; without `--no-pdf-header-footer`, every page gets a
/// running header and footer: date, title, address and "page / pages").
pub fn print_pdf_with(html: &Path, pdf: &Path, flags: &[&str]) {
    ensure_tools();
    let profile = pdf.with_extension("chromium-profile");
    let _ = std::fs::remove_dir_all(&profile);
    let out = std::process::Command::new("chromium")
        .args(browser::CHROMIUM_FLAGS)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.canonicalize().unwrap().display()))
        .output()
        .expect("run chromium (Debian's package `chromium`, installed by .ci/setup)");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success() && pdf.is_file(),
        "chromium did not print {}: {}",
        html.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The seed as the booklet it was extracted from, in HTML: the text's lines as printed
/// lines, its pages as pages, its paragraph gaps as gaps. The extraction's quirk of a
/// blank line after every line is undone: one blank line is a wrap, two or more are a gap,
/// and two lines with no blank line between them straddle a page break (the conventions
/// `ingest::layout` documents for this file).
pub fn seed_as_html() -> String {
    let text = std::fs::read_to_string(seed()).unwrap();
    let mut pages: Vec<Vec<&str>> = vec![Vec::new()];
    let (mut seen, mut blanks) = (false, 0);
    for line in text.lines() {
        if line.trim().is_empty() {
            blanks += 1;
            continue;
        }
        if seen && blanks == 0 {
            pages.push(Vec::new());
        } else if seen && blanks >= 2 {
            pages.last_mut().unwrap().push("");
        }
        pages.last_mut().unwrap().push(line);
        seen = true;
        blanks = 0;
    }
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut html = String::from(
        "<!doctype html><meta charset=\"utf-8\"><style>@page{size:A4;margin:18mm}\
         body{font:10pt \"Noto Serif CJK SC\",serif}\
         .p{white-space:pre;break-after:page}.p:last-child{break-after:auto}</style>\n",
    );
    for page in pages {
        let lines: Vec<String> = page.iter().map(|l| esc(l)).collect();
        html.push_str(&format!("<div class=\"p\">{}</div>\n", lines.join("\n")));
    }
    html
}

/// The seed printed to PDF (once per test binary), in `dir`.
pub fn seed_pdf(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let html = dir.join("seed.html");
    let pdf = dir.join("seed.pdf");
    std::fs::write(&html, seed_as_html()).unwrap();
    print_pdf(&html, &pdf);
    std::fs::remove_file(&html).unwrap();
    pdf
}

/// Run a Python script (for real producers: python-docx, zipfile).
pub fn python(script: &str, args: &[&Path]) {
    ensure_tools();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3 failed (python-docx is installed by .ci/setup): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh scratch folder `{prefix}-{name}` under the target's test directory.
pub fn scratch(prefix: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{prefix}-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run the `xref` binary from the project root with the test models.
pub fn xref(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xref"))
        .args(args)
        .env("XREF_MODELS", models_dir())
        .env_remove("XREF_INDEX")
        .env_remove("XREF_MODEL")
        .current_dir(root())
        .output()
        .expect("run xref")
}

/// The seed indexed once per test binary, under `{prefix}-seed-index/idx`.
pub fn seed_index(prefix: &str) -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch(prefix, "seed-index").join("idx");
        let out = xref(&["index", "seeds/", "--index", dir.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "indexing the seed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}
