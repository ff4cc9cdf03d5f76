//! The full tier's own set-up: `cargo test` on a fresh machine installs the real producers
//! and the browser it drives (`.ci/setup`: Debian's chromium, chromium-driver,
//! fonts-noto-cjk, qpdf; python-docx from PyPI) the first time a test needs one, so the
//! README's test command needs nothing done by hand. The model is fetched the same way, by
//! [`super::embedder`].

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// What the full tier drives that may be missing, by the name `.ci/setup` installs it under.
fn missing() -> Vec<&'static str> {
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let on_path = |program: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
    };
    let mut missing = Vec::new();
    if !on_path("chromium") {
        missing.push("chromium");
    }
    if !on_path("chromedriver") {
        missing.push("chromium-driver");
    }
    let fonts = Command::new("fc-list").output().ok();
    if !fonts.is_some_and(|o| String::from_utf8_lossy(&o.stdout).contains("Noto Serif CJK")) {
        missing.push("fonts-noto-cjk");
    }
    if !on_path("qpdf") {
        missing.push("qpdf");
    }
    if !runs("python3", &["-c", "import docx"]) {
        missing.push("python-docx");
    }
    missing
}

/// Make sure every tool of the full tier is here, running `.ci/setup` once (under a file
/// lock, so test processes running side by side install once) when one is missing.
pub fn ensure_tools() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if missing().is_empty() {
            return;
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("setup.lock");
        let lock = std::fs::File::create(&lock_path).expect("create the set-up lock");
        fs2::FileExt::lock_exclusive(&lock).expect("take the set-up lock");
        let before = missing();
        if before.is_empty() {
            return;
        }
        eprintln!(
            "tests: {} missing; running .ci/setup once",
            before.join(", ")
        );
        let status = Command::new("bash").arg(root.join(".ci/setup")).status();
        let after = missing();
        assert!(
            status.is_ok_and(|s| s.success()) && after.is_empty(),
            "the full test tier needs {} (Debian's chromium, chromium-driver, fonts-noto-cjk, \
             qpdf; python-docx from PyPI) and `.ci/setup` could not install them: run it as \
             root, or run the fast tier alone with `cargo test --lib`",
            after.join(", ")
        );
    });
}
