//! `xref serve` under load, and the reading view's first paint in chromium.
//!
//!     cargo bench --bench serve
//!
//! Indexes the seed (target/bench-serve/), starts `xref serve` on a free loopback port and
//! sends `GET /api/search` from 16 client threads: first every gold question once (query
//! embedding on the request path), then ≥ 5,000 requests cycling through them (query
//! vectors cached), then the same through two replicas with an access token over the same
//! index directory. Prints p50/p95/p99 latency, requests/s and errors. Then opens the
//! largest document in headless chromium (chromedriver) and reports the time from
//! navigation start to the document rendered with its margins (median of 5).

#[allow(unused_imports)]
#[path = "../tests/common/mod.rs"]
mod fixtures;

use fixtures::{browser, served::Served};
#[path = "common.rs"]
mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 16;
const REQUESTS: usize = 5_040;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/bench-serve");
    std::fs::create_dir_all(&dir).unwrap();
    let idx = dir.join("idx");
    let xref = env!("CARGO_BIN_EXE_xref");
    let models = common::models_dir();
    let st = Command::new(xref)
        .args(["index", "seeds/", "--index"])
        .arg(&idx)
        .env("XREF_MODELS", &models)
        .current_dir(root)
        .status()
        .unwrap();
    assert!(st.success());
    let server = Served::start(&idx);
    let base = server.base.clone();

    let gold: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("tests/gold/seed.json")).unwrap()).unwrap();
    let questions: Arc<Vec<String>> = Arc::new(
        gold["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["query"].as_str().unwrap().to_string())
            .collect(),
    );
    let url = |q: &str| {
        let enc: String = q
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("{base}/api/search?k=10&q={enc}")
    };
    let urls: Arc<Vec<String>> = Arc::new(questions.iter().map(|q| url(q)).collect());
    println!(
        "xref serve on the seed ({} questions, {CLIENTS} clients, {} CPU threads)",
        urls.len(),
        rayon::current_num_threads()
    );
    run("uncached: each question once", &urls, urls.len(), None);
    run("cached: questions asked again", &urls, REQUESTS, None);
    drop(server);

    // A team's setup: two replicas over the same index directory, with an access token,
    // the clients' requests alternating between them.
    const TOKEN: &str = "bench-token-0001";
    let replicas = [
        Served::start_with(&idx, &["--token", TOKEN]),
        Served::start_with(&idx, &["--token", TOKEN]),
    ];
    let both: Arc<Vec<String>> = Arc::new(
        urls.iter()
            .enumerate()
            .map(|(i, u)| u.replacen(&base, &replicas[i % 2].base, 1))
            .collect(),
    );
    run(
        "two replicas, token: each question once",
        &both,
        both.len(),
        Some(TOKEN),
    );
    run(
        "two replicas, token: asked again",
        &both,
        REQUESTS,
        Some(TOKEN),
    );
    drop(replicas);

    // First paint of the largest document, in chromium.
    let server = Served::start(&idx);
    let base = server.base.clone();
    let docs: serde_json::Value = ureq::get(&format!("{base}/api/docs"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let largest = docs
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|d| d["paragraphs"].as_u64().unwrap())
        .unwrap();
    let b = browser::Browser::start(&dir);
    let mut times = Vec::new();
    for _ in 0..6 {
        b.goto("about:blank");
        let hash = format!("#/doc/{}", largest["id"].as_str().unwrap());
        b.goto(&format!("{base}/{hash}"));
        b.wait(&format!("document.body.dataset.ready === '{hash}'"));
        times.push(b.js("return window.xrefReadyAt").as_f64().unwrap());
    }
    times.remove(0); // the first load warms the server's link computation and chromium
    times.sort_by(f64::total_cmp);
    println!(
        "reading view: \"{}\" ({} paragraphs with margins) rendered {:.0} ms after navigation start (median of 5; min {:.0}, max {:.0})",
        largest["doc"].as_str().unwrap(),
        largest["paragraphs"],
        times[2],
        times[0],
        times[4]
    );
    drop(b);
    drop(server);
}

fn run(label: &str, urls: &Arc<Vec<String>>, total: usize, token: Option<&'static str>) {
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let handles: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (urls, next, errors) = (urls.clone(), next.clone(), errors.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .build();
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let s = Instant::now();
                    let mut req = agent.get(&urls[i % urls.len()]);
                    if let Some(t) = token {
                        req = req.set("Authorization", &format!("Bearer {t}"));
                    }
                    let ok = match req.call() {
                        Ok(r) => r.status() == 200 && r.into_string().is_ok(),
                        Err(_) => false,
                    };
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    lat.push(s.elapsed().as_secs_f64() * 1000.0);
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<f64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "  {label}: {} requests in {secs:.1} s = {:.0}/s; latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms; errors {}",
        lat.len(),
        lat.len() as f64 / secs,
        common::percentile(&mut lat, 50.0),
        common::percentile(&mut lat, 95.0),
        common::percentile(&mut lat, 99.0),
        errors.load(Ordering::Relaxed)
    );
}
