//! `xref serve` end to end: the HTTP API against the CLI's contracts and its bounds, a new
//! index generation picked up while serving, and the reading view clicked through in a
//! real browser (Debian's chromium via chromedriver).

mod common;

use common::browser;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn xref(args: &[&str]) -> Output {
    let out = common::xref(args);
    assert!(
        out.status.success(),
        "xref {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("serve", name)
}

fn seed_index() -> &'static Path {
    common::seed_index("serve")
}

use common::served::Served;

/// Requests to a running server.
trait Client {
    /// GET `path`: status and body as JSON (or a string).
    fn get(&self, path: &str) -> (u16, Value);
    fn post(&self, path: &str, body: Value) -> (u16, Value);
    fn text(&self, path: &str) -> (String, String);
}

impl Client for Served {
    fn get(&self, path: &str) -> (u16, Value) {
        answer(ureq::get(&format!("{}{path}", self.base)).call())
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        answer(ureq::post(&format!("{}{path}", self.base)).send_json(body))
    }

    fn text(&self, path: &str) -> (String, String) {
        let r = ureq::get(&format!("{}{path}", self.base)).call().unwrap();
        let kind = r.header("content-type").unwrap_or("").to_string();
        (kind, r.into_string().unwrap())
    }
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let (code, resp) = match r {
        Ok(r) => (r.status(), r),
        Err(ureq::Error::Status(code, r)) => (code, r),
        Err(e) => panic!("request failed: {e}"),
    };
    let body = resp.into_string().unwrap();
    (
        code,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// `xref search Q --json -k 5` over `idx`.
fn cli_search(idx: &Path, q: &str) -> Value {
    let out = xref(&[
        "search",
        q,
        "--json",
        "-k",
        "5",
        "--index",
        idx.to_str().unwrap(),
    ]);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn the_api_answers_as_the_cli_does_and_refuses_bad_requests() {
    let idx = seed_index();
    let s = Served::start(idx);
    let (code, health) = s.get("/api/health");
    assert_eq!(code, 200);
    assert_eq!(health["paragraphs"], 275);
    assert_eq!(health["documents"], 15);

    let (_, docs) = s.get("/api/docs");
    let docs = docs.as_array().unwrap();
    assert_eq!(docs.len(), 15);
    let first = docs[0]["id"].as_str().unwrap();
    let (code, doc) = s.get(&format!("/api/docs/{first}?links=3"));
    assert_eq!(code, 200);
    assert_eq!(
        doc["paragraphs"].as_array().unwrap().len(),
        docs[0]["paragraphs"].as_u64().unwrap() as usize
    );
    let linked = doc["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["links"].as_array().unwrap().clone());
    for l in linked {
        assert!(l["score"].as_f64().unwrap() >= doc["min_score"].as_f64().unwrap());
        assert_ne!(l["id"].as_str().unwrap().split('.').next(), Some(first));
    }
    // A document's paragraphs are crossref rows: the same record, links empty unless asked.
    let (_, bare) = s.get(&format!("/api/docs/{first}"));
    let p0 = &bare["paragraphs"][0];
    let keys: Vec<&str> = p0.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, ["id", "doc", "section", "lang", "text", "links"]);
    assert_eq!(p0["doc"], docs[0]["doc"]);
    assert_eq!(p0["links"].as_array().unwrap().len(), 0);

    // GET /api/search is one line of `xref search --json`, exactly.
    let q = "What drives new quality productive forces?";
    let (code, hit) = s.get(&format!("/api/search?q={}&k=5", enc(q)));
    assert_eq!(code, 200);
    assert_eq!(hit, cli_search(idx, q));
    // POST: a batch; doc filters.
    let (code, batch) = s.post(
        "/api/search",
        json!({"queries": [q, "金融监管"], "k": 3, "doc": "金融"}),
    );
    assert_eq!(code, 200, "{batch}");
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        for h in r["hits"].as_array().unwrap() {
            assert!(h["doc"].as_str().unwrap().contains("金融"), "{h}");
        }
    }
    // Related: the links of `xref related --json`.
    let id = hit["hits"][0]["id"].as_str().unwrap();
    let (code, rel) = s.get(&format!("/api/related/{id}?k=4"));
    assert_eq!(code, 200);
    let cli = xref(&[
        "related",
        id,
        "--json",
        "-k",
        "4",
        "--index",
        idx.to_str().unwrap(),
    ]);
    assert_eq!(rel, serde_json::from_slice::<Value>(&cli.stdout).unwrap());
    // Crossref in its four formats.
    for (format, kind, start) in [
        ("jsonl", "application/jsonl", "{\"id\""),
        ("csv", "text/csv", "source_id,"),
        ("md", "text/markdown", "#"),
        ("html", "text/html", "<!doctype html>"),
    ] {
        let (k, body) = s.text(&format!("/api/crossref?format={format}&k=3"));
        assert!(k.starts_with(kind), "{format}: {k}");
        assert!(
            body.trim_start()
                .to_lowercase()
                .starts_with(&start.to_lowercase()),
            "{format}: {}",
            &body[..100.min(body.len())]
        );
    }
    // The OpenAPI description names every route the router serves.
    let (_, spec) = s.get("/api/openapi.json");
    for route in [
        "/api/health",
        "/api/docs",
        "/api/docs/{doc}",
        "/api/search",
        "/api/related/{id}",
        "/api/crossref",
    ] {
        assert!(
            spec["paths"][route].is_object(),
            "{route} missing from openapi.json"
        );
    }
    let (k, page) = s.text("/");
    assert!(k.starts_with("text/html") && page.contains("/app.js"));

    // Bad requests: JSON errors with the right status, never a crash.
    let long = "问".repeat(2_001);
    for (path, want) in [
        ("/api/docs/no-such-doc".to_string(), 404),
        ("/api/related/no-such-id".to_string(), 404),
        ("/api/search?q=".to_string(), 400),
        ("/api/search?q=x&k=0".to_string(), 400),
        ("/api/search?q=x&k=abc".to_string(), 400),
        ("/api/search?q=x&mode=psychic".to_string(), 400),
        ("/api/search?q=x&doc=no-such-title".to_string(), 404),
        (format!("/api/search?q={}", enc(&long)), 413),
        ("/api/crossref?format=pdf".to_string(), 400),
        ("/api/docs/%FF%FE".to_string(), 400),
        (
            "/api/related/%C0%AF..%C0%AF..%C0%AFetc%C0%AFpasswd".to_string(),
            400,
        ),
        ("/../../etc/passwd".to_string(), 404),
        ("/api/nothing".to_string(), 404),
    ] {
        let (code, body) = s.get(&path);
        assert_eq!(code, want, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    let (code, _) = s.post("/api/search", json!({"queries": vec!["q"; 65]}));
    assert_eq!(code, 413);
    // A body over 256 KB is refused: 413, or the connection closed mid-upload when the
    // server answers before the client has sent it all.
    match ureq::post(&format!("{}/api/search", s.base))
        .send_json(json!({"queries": ["x".repeat(300_000)]}))
    {
        Err(ureq::Error::Status(413, _)) | Err(ureq::Error::Transport(_)) => {}
        other => panic!("an oversized body was accepted: {other:?}"),
    }
    let (code, body) = s.post("/api/search", json!({"nonsense": true}));
    assert!((400..500).contains(&code), "{body}");
    assert_eq!(s.get("/api/health").0, 200, "still serving");
}

/// A server a team shares: with an access token, every route answers 401 without it; the
/// API takes it as a bearer header, the browser signs in once (a cookie), and the answers
/// are the same as without a token.
#[test]
fn an_access_token_guards_every_route_and_the_browser_signs_in() {
    const TOKEN: &str = "team-token-5b1f";
    let idx = seed_index();
    let s = Served::start_with(idx, &["--token", TOKEN]);
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let url = |path: &str| format!("{}{path}", s.base);
    let status = |r: Result<ureq::Response, ureq::Error>| match r {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("{e}"),
    };
    let routes = [
        "/",
        "/app.js",
        "/style.css",
        "/api/openapi.json",
        "/api/health",
        "/api/docs",
        "/api/docs/000_d3df9fe06eabeaf7-00",
        "/api/search?q=x",
        "/api/related/x",
        "/api/crossref",
        "/no-such-route",
    ];
    for path in routes {
        assert_eq!(status(agent.get(&url(path)).call()), 401, "GET {path}");
        let wrong = agent
            .get(&url(path))
            .set("Authorization", "Bearer team-token-5b1e")
            .call();
        assert_eq!(status(wrong), 401, "GET {path} with a wrong token");
        let cookie = agent
            .get(&url(path))
            .set("Cookie", "xref_token=nope")
            .call();
        assert_eq!(status(cookie), 401, "GET {path} with a wrong cookie");
    }
    let post = agent
        .post(&url("/api/search"))
        .send_json(serde_json::json!({"queries": ["x"]}));
    assert_eq!(status(post), 401);
    match agent.get(&url("/api/health")).call() {
        Err(ureq::Error::Status(401, r)) => {
            assert_eq!(r.header("WWW-Authenticate"), Some("Bearer"));
            let v: Value = r.into_json().unwrap();
            assert!(v["error"].as_str().unwrap().contains("Bearer"));
        }
        other => panic!("{other:?}"),
    }

    // The API with the bearer token: the same answers as the CLI.
    let bearer = format!("Bearer {TOKEN}");
    let q = "What drives new quality productive forces?";
    let hit: Value = agent
        .get(&url(&format!("/api/search?q={}&k=5", enc(q))))
        .set("Authorization", &bearer)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(hit, cli_search(idx, q));

    // The browser: the sign-in page, a wrong token refused, the right one sets a cookie.
    let page = match agent.get(&url("/")).call() {
        Err(ureq::Error::Status(401, r)) => r.into_string().unwrap(),
        other => panic!("{other:?}"),
    };
    assert!(page.contains("action=\"/signin\"") && page.contains("name=\"token\""));
    match agent
        .post(&url("/signin"))
        .send_form(&[("token", "wrong-token-here")])
    {
        Err(ureq::Error::Status(401, r)) => {
            assert!(r.into_string().unwrap().contains("not this server's token"))
        }
        other => panic!("{other:?}"),
    }
    let signed = agent
        .post(&url("/signin"))
        .send_form(&[("token", TOKEN)])
        .unwrap();
    assert_eq!(signed.status(), 303);
    assert_eq!(signed.header("Location"), Some("/"));
    let cookie = signed.header("Set-Cookie").unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap().to_string();
    for path in ["/", "/app.js", "/api/docs"] {
        let r = agent.get(&url(path)).set("Cookie", &pair).call().unwrap();
        assert_eq!(r.status(), 200, "{path} with the cookie");
    }
    // The address printed for a generated token signs in the same way.
    let by_link = agent.get(&url(&format!("/?token={TOKEN}"))).call().unwrap();
    assert_eq!(by_link.status(), 303);
    assert!(by_link
        .header("Set-Cookie")
        .unwrap()
        .starts_with("xref_token="));
}

/// Two short Markdown documents for the tests that change an index under a server.
const DOC_A: (&str, &str) = (
    "a.md",
    "# 甲\n\n优化营商环境是推动高质量发展的重要举措，各地区要持续深化改革。\n",
);
const DOC_B: (&str, &str) = (
    "b.md",
    "# 乙\n\n持续优化营商环境，推动经济高质量发展，深化重点领域改革。\n",
);

fn write_doc(corpus: &Path, (name, text): (&str, &str)) {
    std::fs::write(corpus.join(name), text).unwrap();
}

/// A scratch folder `name` with `docs` in `corpus/`, indexed into `idx/`: (corpus, idx).
fn indexed_corpus(name: &str, docs: &[(&str, &str)]) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for &d in docs {
        write_doc(&corpus, d);
    }
    let idx = dir.join("idx");
    xref(&[
        "index",
        corpus.to_str().unwrap(),
        "--index",
        idx.to_str().unwrap(),
    ]);
    (corpus, idx)
}

/// A team's server: two replicas with one token over the same index directory, under
/// load from 8 clients while `xref index` commits a new generation. Every request is
/// answered, both replicas move to the new generation, and they answer alike.
#[test]
fn two_replicas_share_one_index_directory_under_load() {
    const TOKEN: &str = "replica-token-77";
    let (corpus, idx) = indexed_corpus("replicas", &[DOC_A]);
    let (c, i) = (corpus.to_str().unwrap(), idx.to_str().unwrap());
    let replicas = [
        Served::start_with(&idx, &["--token", TOKEN]),
        Served::start_with(&idx, &["--token", TOKEN]),
    ];
    let bearer = format!("Bearer {TOKEN}");
    let get = |base: &str, path: &str| -> Value {
        ureq::get(&format!("{base}{path}"))
            .set("Authorization", &bearer)
            .call()
            .unwrap_or_else(|e| panic!("{base}{path}: {e}"))
            .into_json()
            .unwrap()
    };
    let bases: Vec<String> = replicas.iter().map(|r| r.base.clone()).collect();
    let before = get(&bases[0], "/api/health")["generation"].clone();
    let path = format!("/api/search?q={}&k=3", enc("营商环境"));
    let stop = std::sync::atomic::AtomicBool::new(false);
    let answered = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (bases, path, stop, answered, get) = (&bases, &path, &stop, &answered, &get);
            scope.spawn(move || {
                let mut n = t;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let hits = get(&bases[n % 2], path);
                    assert!(!hits["hits"].as_array().unwrap().is_empty());
                    answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    n += 1;
                }
            });
        }
        write_doc(&corpus, DOC_B);
        xref(&["index", c, "--index", i]);
        let t = Instant::now();
        while bases
            .iter()
            .any(|b| get(b, "/api/health")["documents"] != 2)
        {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "a replica kept the old generation"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert!(
        answered.into_inner() >= 16,
        "the clients were answered throughout"
    );
    let health: Vec<Value> = bases.iter().map(|b| get(b, "/api/health")).collect();
    assert_eq!(health[0]["generation"], health[1]["generation"]);
    assert_ne!(health[0]["generation"], before);
    assert_eq!(get(&bases[0], &path), get(&bases[1], &path));
    assert_eq!(get(&bases[0], "/api/docs"), get(&bases[1], "/api/docs"));
}

#[test]
fn a_new_index_generation_is_served_without_a_restart() {
    let (corpus, idx) = indexed_corpus("reload", &[DOC_A, DOC_B]);
    let (c, i) = (corpus.to_str().unwrap(), idx.to_str().unwrap());
    let s = Served::start(&idx);
    let (_, before) = s.get("/api/health");
    assert_eq!(before["documents"], 2);
    std::fs::write(
        corpus.join("c.md"),
        "# 丙\n\nImproving the business environment is key to high-quality development.\n",
    )
    .unwrap();
    xref(&["index", c, "--index", i]);
    let t = Instant::now();
    loop {
        let (code, h) = s.get("/api/health");
        assert_eq!(code, 200, "served throughout the swap");
        if h["documents"] == 3 {
            assert_ne!(h["generation"], before["generation"]);
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "new generation not picked up: {h}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, docs) = s.get("/api/docs");
    assert_eq!(docs.as_array().unwrap().len(), 3);
    // A damaged pointer (or generation) is not served: the last good one stays.
    assert!(
        before["refused"].is_null() && h_is_clean(&s),
        "nothing refused yet"
    );
    std::fs::write(idx.join("CURRENT"), "gen-999999 0000\n").unwrap();
    // The watcher checks once a second; wait until it has seen the damaged pointer.
    let t = Instant::now();
    let h = loop {
        let (code, h) = s.get("/api/health");
        assert_eq!(code, 200);
        if !h["refused"].is_null() {
            break h;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "damage never noticed: {h}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(h["documents"], 3, "{h}");
    assert_eq!(s.get("/api/docs").1.as_array().unwrap().len(), 3);
}

fn h_is_clean(s: &Served) -> bool {
    s.get("/api/health").1["refused"].is_null()
}

#[test]
fn the_reading_view_clicks_through_search_document_margin_and_comparison() {
    let s = Served::start(seed_index());
    let dir = scratch("browser");
    let b = browser::Browser::start(&dir);
    b.goto(&format!("{}/", s.base));
    b.find("#docs a");
    // Search: type a question, Enter; hits grouped by document.
    let q = b.find("#q");
    b.keys(&q, "新质生产力的核心要素是什么？\u{E007}");
    let hit = b.find(".group .hit");
    assert!(b.text(&hit).contains("新质生产力"), "{}", b.text(&hit));
    assert!(
        b.js("return document.querySelectorAll('.group h2').length")
            .as_u64()
            .unwrap()
            >= 2
    );
    // Hit → its document, scrolled to the paragraph (deep link in the URL).
    let hit_id = b.js("return document.querySelector('.group .hit').dataset.id");
    b.click(&hit);
    b.find(".row.focus");
    assert_eq!(
        b.js("return document.querySelector('.row.focus').dataset.id"),
        hit_id
    );
    let url = b.js("return location.hash").as_str().unwrap().to_string();
    assert!(url.starts_with("#/doc/") && url.contains("/p/"), "{url}");
    // Margin link → side-by-side comparison with the shared terms marked.
    b.js("document.getElementById('threshold').value = 0.3; document.getElementById('threshold').dispatchEvent(new Event('input'))");
    let link = b.find(".row .margin .link");
    let target = b.js("return document.querySelector('.row .margin .link').dataset.id");
    b.click(&link);
    b.wait("!document.getElementById('compare').hidden");
    let right = b.text(&b.find("#side-b"));
    assert!(right.contains(target.as_str().unwrap()), "{right}");
    assert!(
        b.js("return document.querySelectorAll('#side-a mark').length")
            .as_u64()
            .unwrap()
            > 0
    );
    b.screenshot(&dir.join("compare.png"));
    // Esc closes it; j/k move through paragraphs.
    b.press("\u{E00C}");
    b.wait("document.getElementById('compare').hidden");
    let before = b.js("return document.querySelector('.row.focus')?.dataset.id || ''");
    b.press("j");
    b.wait(&format!("document.querySelector('.row.focus') && document.querySelector('.row.focus').dataset.id !== {before}"));
    // A deep link opens the same view in a fresh page.
    b.goto("about:blank");
    b.goto(&format!("{}/{url}", s.base));
    b.wait(&format!("document.body.dataset.ready === {}", json!(url)));
    assert_eq!(
        b.js("return document.querySelector('.row.focus').dataset.id"),
        hit_id
    );
    b.screenshot(&dir.join("document.png"));
    // More links than three in a margin are one click away.
    b.js("document.getElementById('threshold').value = 0.3; document.getElementById('threshold').dispatchEvent(new Event('input'))");
    let more = b.find(".margin .more-links");
    b.click(&more);
    b.wait("document.querySelector('.margin.open .link:nth-child(4)').offsetParent !== null");
}

/// A library of one manual in two languages: a document's margin links are ranked as
/// `/api/related` ranks them — each passage once, a link carrying its translations (its
/// counterpart in the other language) instead of listing them as links of their own, and
/// never the paragraph itself.
#[test]
fn a_documents_links_group_a_passage_with_its_translations() {
    let dir = scratch("doc-translations");
    let idx = dir.join("idx");
    xref(&[
        "index",
        "tests/parallel/en",
        "tests/parallel/zh",
        "--index",
        idx.to_str().unwrap(),
    ]);
    let s = Served::start(&idx);
    let (code, docs) = s.get("/api/docs");
    assert_eq!(code, 200, "{docs}");
    let (mut attached, mut checked) = (0, 0);
    // A paragraph whose first link carries a translation: (document, paragraph, translation).
    let mut first: Option<(String, String, String)> = None;
    for d in docs.as_array().unwrap() {
        let id = d["id"].as_str().unwrap();
        let (code, view) = s.get(&format!("/api/docs/{}?links=5&min_score=0", enc(id)));
        assert_eq!(code, 200, "{view}");
        for p in view["paragraphs"].as_array().unwrap() {
            let pid = p["id"].as_str().unwrap();
            let links = p["links"].as_array().unwrap();
            assert!(links.len() <= 5, "{p:#}");
            let mut seen = std::collections::HashSet::from([pid.to_string()]);
            for l in links {
                assert!(seen.insert(l["id"].as_str().unwrap().to_string()), "{p:#}");
                for t in l["translations"].as_array().into_iter().flatten() {
                    assert_ne!(t["lang"], l["lang"], "{p:#}");
                    assert!(seen.insert(t["id"].as_str().unwrap().to_string()), "{p:#}");
                    attached += 1;
                }
            }
            let shown = |l: &&Value| l["score"].as_f64().unwrap() >= 0.3;
            if let Some(t) = links
                .first()
                .filter(shown)
                .and_then(|l| l["translations"].get(0))
            {
                first.get_or_insert_with(|| {
                    let t = t["id"].as_str().unwrap().to_string();
                    (id.to_string(), pid.to_string(), t)
                });
            }
            // The same links, translations and scores as the paragraph's related passages.
            if checked < 12 && !links.is_empty() {
                let (code, related) = s.get(&format!("/api/related/{}?k=5&min_score=0", enc(pid)));
                assert_eq!(code, 200, "{related}");
                assert_eq!(&related["links"], &p["links"], "{pid}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12);
    assert!(attached >= 20, "{attached} translations attached");
    // The reading view shows a link's translations as language tags, each opening the
    // comparison with that translation.
    let (doc, pid, t) = first.expect("a first link with a translation");
    let b = browser::Browser::start(&scratch("doc-translations-browser"));
    b.goto(&format!("{}/#/doc/{}", s.base, enc(&doc)));
    b.find(".row .margin");
    b.js("document.getElementById('threshold').value = 0; document.getElementById('threshold').dispatchEvent(new Event('input'))");
    let tag = format!("document.querySelector('.row[data-id=\"{pid}\"] .margin .link .tr')");
    b.wait(&format!("{tag} !== null"));
    b.js(&format!("{tag}.click()"));
    b.wait("!document.getElementById('compare').hidden");
    let right = b.text(&b.find("#side-b"));
    assert!(right.contains(&t), "{right}");
}
