//! A real browser for UI tests: Debian's chromium driven by chromedriver over the W3C
//! WebDriver protocol (plain HTTP + JSON; no driver crate, nothing downloaded).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The flags headless chromium needs on these machines.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
];

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn call(req: ureq::Request, body: Option<Value>) -> Result<Value, String> {
    let resp = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    match resp {
        Ok(r) => Ok(r.into_json::<Value>().map_err(|e| e.to_string())?["value"].clone()),
        Err(ureq::Error::Status(code, r)) => {
            Err(format!("{code}: {}", r.into_string().unwrap_or_default()))
        }
        Err(e) => Err(e.to_string()),
    }
}

impl Browser {
    /// Start chromedriver and a headless chromium session with a fresh profile in `dir`.
    pub fn start(dir: &Path) -> Browser {
        super::ensure_tools();
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run chromedriver (Debian's chromium-driver, installed by .ci/setup)");
        let base = format!("http://127.0.0.1:{port}");
        let t = Instant::now();
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = dir.join("chromium-profile");
        let _ = std::fs::remove_dir_all(&profile);
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": "/usr/bin/chromium", "args": args }}}});
        let mut b = Browser {
            driver,
            base,
            session: String::new(),
        };
        let v = call(ureq::post(&format!("{}/session", b.base)), Some(caps)).expect("new session");
        b.session = v["sessionId"].as_str().unwrap().to_string();
        b
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        call(ureq::post(&self.url(path)), Some(body))
    }

    pub fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).unwrap();
    }

    /// Run JavaScript in the page and return its result.
    pub fn js(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
            .unwrap()
    }

    /// The first element matching `css`, waiting up to 15 s for it.
    pub fn find(&self, css: &str) -> String {
        let t = Instant::now();
        loop {
            if let Ok(v) = self.post("/element", json!({"using": "css selector", "value": css})) {
                return v[ELEMENT].as_str().unwrap().to_string();
            }
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "no element {css:?} in {}",
                self.js("return document.body.innerText.slice(0, 2000)")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait until `script` (a JavaScript expression) is truthy.
    pub fn wait(&self, script: &str) {
        let t = Instant::now();
        while !self
            .js(&format!("return !!({script})"))
            .as_bool()
            .unwrap_or(false)
        {
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "timed out waiting for {script}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Click an element, first scrolled to the middle of the viewport (as a reader would
    /// see it; not under the page's sticky header).
    pub fn click(&self, element: &str) {
        self.post(
            "/execute/sync",
            json!({"script": "arguments[0].scrollIntoView({block: 'center'})",
                   "args": [{ ELEMENT: element }]}),
        )
        .unwrap();
        self.post(&format!("/element/{element}/click"), json!({}))
            .unwrap();
    }

    pub fn text(&self, element: &str) -> String {
        call(
            ureq::get(&self.url(&format!("/element/{element}/text"))),
            None,
        )
        .unwrap()
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    /// Type into an element (`\u{E007}` is Enter, `\u{E00C}` Escape).
    pub fn keys(&self, element: &str, text: &str) {
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .unwrap();
    }

    /// Press keys with nothing focused (page-level shortcuts).
    pub fn press(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({"type": "keyDown", "value": c.to_string()}),
                    json!({"type": "keyUp", "value": c.to_string()}),
                ]
            })
            .collect();
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .unwrap();
    }

    /// A PNG screenshot of the viewport.
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let v = call(ureq::get(&self.url("/screenshot")), None).unwrap();
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.url("")).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
