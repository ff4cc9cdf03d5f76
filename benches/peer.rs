//! xref against the runtimes users would otherwise pick, on the same paragraphs, same
//! machine, same run:
//!
//!     cargo bench --bench peer
//!
//! Creates a Python venv under `target/peer-venv` (PyTorch, sentence-transformers,
//! ONNX Runtime, from PyPI; once), exports the model to ONNX (f32, and int8 by dynamic
//! quantisation), then runs every runtime as its own worker process — xref's exact (f32)
//! and fast (bf16, int8) paths included — in interleaved rounds (A B C … A B C …) over the seed
//! corpus's paragraphs, batch 16 for the peers. Prints medians, tokens/s, GFLOP/s, % of a
//! measured sgemm peak, single-query latency, peak memory, the lowest cosine to PyTorch f32
//! over every paragraph, and each runtime's time divided by xref's.
//!
//! Environment: `XREF_BENCH_ROUNDS` (default 5), `XREF_PEER_RUNTIMES` (comma-separated
//! subset), `XREF_PEER_PYTHON` (python to build the venv with, default `python3`).

#[path = "common.rs"]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use xref::embed::{Embedder, Precision, Prefix};
use xref::ingest::{ingest_paths, IngestOptions};
use xref::model::{resolve, DEFAULT_MODEL};

/// Pinned peer versions (the newest on PyPI when the benchmark was written).
const PEER_PACKAGES: &[&str] = &[
    "torch==2.15.0",
    "sentence-transformers==6.2.0",
    "transformers==5.24.0",
    "onnxruntime==1.32.0",
    "onnx==1.23.2",
    "onnxscript==0.7.2",
    "numpy==2.4.6",
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("worker") {
        return xref_worker(&args[2], Path::new(&args[3]));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target/peer");
    std::fs::create_dir_all(&work)?;
    let python = venv(root)?;
    let model = resolve(DEFAULT_MODEL, &common::models_dir(), true)?;
    let script = root.join("benches/peer/peer.py");
    let status = Command::new(&python)
        .arg(&script)
        .arg("prepare")
        .arg(&model.dir)
        .arg(&work)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("preparing the peer models failed");
    }

    // The paragraphs, prefixed as every runtime will see them.
    let corpus = ingest_paths(&[common::seed_dir()], &IngestOptions::default())?;
    let texts: Vec<String> = corpus
        .documents
        .iter()
        .flat_map(|d| d.paragraphs.iter().map(|p| format!("passage: {}", p.text)))
        .collect();
    let texts_path = work.join("texts.json");
    std::fs::write(&texts_path, serde_json::to_string(&texts)?)?;
    let tok = Embedder::load_with(&model, Precision::F32)?;
    let lens: Vec<usize> = texts
        .iter()
        .map(|t| tok.tokenize(t, Prefix::None).map(|v| v.len()))
        .collect::<Result<_>>()?;
    drop(tok);
    if lens.iter().any(|&l| l > 512) {
        eprintln!(
            "note: some paragraphs exceed 512 tokens; peers truncate them, xref windows them"
        );
    }
    let tokens: usize = lens.iter().map(|&l| l.min(512)).sum();
    let flops = common::encoder_flops(
        &lens.iter().map(|&l| l.min(512)).collect::<Vec<_>>(),
        384,
        1536,
        12,
    );

    let sgemm: f64 = {
        let out = Command::new(&python)
            .arg(&script)
            .arg("sgemm")
            .env("OPENBLAS_NUM_THREADS", threads().to_string())
            .output()?;
        let v: Value = serde_json::from_slice(out.stdout.trim_ascii()).context("sgemm output")?;
        v["gflops"].as_f64().unwrap_or(f64::NAN)
    };

    let wanted = std::env::var("XREF_PEER_RUNTIMES").unwrap_or_else(|_| {
        "xref-int8,xref-bf16,xref-f32,torch-f32,torch-bf16,ort-f32,ort-int8".into()
    });
    let mut workers = Vec::new();
    for name in wanted.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(p) = name.strip_prefix("xref-") {
            let p: Precision = p.parse().map_err(anyhow::Error::msg)?;
            if p.runnable() != p {
                eprintln!("skipping {name}: this CPU cannot run it");
                continue;
            }
        }
        let mut cmd = if let Some(p) = name.strip_prefix("xref-") {
            let mut c = Command::new(std::env::current_exe()?);
            c.arg("worker").arg(p).arg(&texts_path);
            c
        } else {
            let mut c = Command::new(&python);
            c.arg(&script)
                .arg("worker")
                .arg(name)
                .arg(&work)
                .arg(&texts_path);
            c
        };
        eprintln!("loading {name}…");
        workers.push(Worker::start(name, &mut cmd)?);
    }

    let rounds: usize = std::env::var("XREF_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    for round in 0..rounds {
        for w in &mut workers {
            let secs = w.ask("run")?["secs"]
                .as_f64()
                .ok_or_else(|| anyhow!("{}: no time", w.name))?;
            eprintln!("round {}: {:<10} {secs:.2} s", round + 1, w.name);
            w.times.push(secs);
        }
    }
    let mut rows = Vec::new();
    for w in &mut workers {
        let p50 = w.ask("query")?["p50_ms"].as_f64().unwrap_or(f64::NAN);
        let file = work.join(format!("vectors-{}.f32", w.name));
        w.ask(&format!("save {}", file.display()))?;
        let peak = w.ask("quit")?["peak_rss_mib"].as_f64().unwrap_or(f64::NAN);
        let _ = w.child.wait();
        let median = common::percentile(&mut w.times, 50.0);
        rows.push((
            w.name.clone(),
            w.load,
            median,
            p50,
            peak,
            read_vectors(&file, 384)?,
        ));
    }
    let exact = rows
        .iter()
        .find(|r| r.0 == "torch-f32")
        .map(|r| r.5.clone());
    // Times are divided by xref's default path on this CPU.
    let default = format!("xref-{}", Precision::best_available().name());
    let xref_time = rows
        .iter()
        .find(|r| r.0 == default)
        .or_else(|| rows.iter().find(|r| r.0 == "xref-f32"))
        .map(|r| r.2);

    println!(
        "peer benchmark — seed corpus: {} paragraphs, {tokens} tokens, {:.0} GFLOP; {} threads; {rounds} rounds; sgemm peak {sgemm:.1} GFLOP/s",
        texts.len(),
        flops / 1e9,
        threads()
    );
    println!("machine: {}", cpu_name());
    println!(
        "| runtime | load s | median s | tokens/s | GFLOP/s | % sgemm peak | query p50 ms | peak RSS MiB | min cosine vs torch f32 | time ÷ xref |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, load, median, p50, peak, vecs) in &rows {
        let cos = exact.as_ref().map_or(f64::NAN, |e| {
            vecs.chunks_exact(384)
                .zip(e.chunks_exact(384))
                .map(|(a, b)| common::cosine(a, b))
                .fold(1.0, f64::min)
        });
        let gflops = flops / median / 1e9;
        println!(
            "| {name} | {load:.2} | {median:.2} | {:.0} | {gflops:.1} | {:.0} % | {p50:.1} | {peak:.0} | {cos:.6} | {:.2} |",
            tokens as f64 / median,
            100.0 * gflops / sgemm,
            xref_time.map_or(f64::NAN, |x| median / x)
        );
    }
    Ok(())
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn cpu_name() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{model}, {} cores", threads())
}

/// The venv's python, creating the venv and installing the pinned peers on first use.
fn venv(root: &Path) -> Result<PathBuf> {
    let dir = root.join("target/peer-venv");
    let python = dir.join("bin/python");
    let stamp = dir.join("xref-packages.txt");
    let want = PEER_PACKAGES.join("\n");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(python);
    }
    let base = std::env::var("XREF_PEER_PYTHON").unwrap_or_else(|_| "python3".into());
    eprintln!(
        "creating {} with {} (several GB from PyPI, once)…",
        dir.display(),
        PEER_PACKAGES.join(" ")
    );
    if !python.exists() {
        let ok = Command::new(&base)
            .args(["-m", "venv"])
            .arg(&dir)
            .status()
            .with_context(|| format!("running {base}"))?
            .success();
        if !ok {
            bail!("{base} -m venv failed (Debian: apt-get install python3-venv)");
        }
    }
    let ok = Command::new(&python)
        .args(["-m", "pip", "install", "-q"])
        .args(PEER_PACKAGES)
        .status()?
        .success();
    if !ok {
        bail!("installing the peer packages failed");
    }
    std::fs::write(&stamp, want)?;
    Ok(python)
}

fn read_vectors(path: &Path, dim: usize) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if !v.len().is_multiple_of(dim) {
        bail!(
            "{} holds {} floats, not a multiple of {dim}",
            path.display(),
            v.len()
        );
    }
    Ok(v)
}

struct Worker {
    name: String,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    load: f64,
    times: Vec<f64>,
}

impl Worker {
    fn start(name: &str, cmd: &mut Command) -> Result<Self> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut w = Self {
            name: name.into(),
            child,
            stdin,
            stdout,
            load: 0.0,
            times: vec![],
        };
        let ready = w.read()?;
        w.load = ready["load_s"].as_f64().unwrap_or(f64::NAN);
        Ok(w)
    }

    fn read(&mut self) -> Result<Value> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line)? == 0 {
                bail!("{} exited", self.name);
            }
            if let Ok(v) = serde_json::from_str::<Value>(line.trim()) {
                return Ok(v);
            }
        }
    }

    fn ask(&mut self, cmd: &str) -> Result<Value> {
        writeln!(self.stdin, "{cmd}")?;
        self.stdin.flush()?;
        self.read()
    }
}

/// xref as a worker speaking the same protocol as `peer.py`.
fn xref_worker(precision: &str, texts: &Path) -> Result<()> {
    let texts: Vec<String> = serde_json::from_str(&std::fs::read_to_string(texts)?)?;
    let t = Instant::now();
    let model = resolve(DEFAULT_MODEL, &common::models_dir(), false)?;
    let mut e = Embedder::load_with(&model, precision.parse().map_err(anyhow::Error::msg)?)?;
    e.progress = false;
    e.embed(&texts[..8], Prefix::None)?;
    let load = t.elapsed().as_secs_f64();
    let out = std::io::stdout();
    let mut out = out.lock();
    writeln!(
        out,
        "{}",
        serde_json::json!({"ready": true, "load_s": load})
    )?;
    out.flush()?;
    let mut last: Vec<Vec<f32>> = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let (cmd, arg) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        let reply = match cmd {
            "run" => {
                let t = Instant::now();
                last = e
                    .embed(&texts, Prefix::None)?
                    .into_iter()
                    .map(|v| v.vector)
                    .collect();
                serde_json::json!({"secs": t.elapsed().as_secs_f64()})
            }
            "query" => {
                let mut lat: Vec<f64> = (0..30)
                    .map(|_| {
                        let t = Instant::now();
                        // As xref embeds a question: the query prefix, on the query path.
                        e.embed_one("金融监管要加强", Prefix::Query)
                            .map(|_| t.elapsed().as_secs_f64() * 1000.0)
                    })
                    .collect::<Result<_>>()?;
                serde_json::json!({"p50_ms": common::percentile(&mut lat, 50.0)})
            }
            "save" => {
                let bytes: Vec<u8> = last
                    .iter()
                    .flatten()
                    .flat_map(|x| x.to_le_bytes())
                    .collect();
                std::fs::write(arg, bytes)?;
                serde_json::json!({"saved": arg})
            }
            "quit" => {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"peak_rss_mib": common::peak_rss_mib()})
                )?;
                out.flush()?;
                return Ok(());
            }
            other => serde_json::json!({"error": format!("unknown command {other}")}),
        };
        writeln!(out, "{reply}")?;
        out.flush()?;
    }
    Ok(())
}
