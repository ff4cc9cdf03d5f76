//! A running `xref serve` for tests and benches, stopped on drop.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl Served {
    /// Start `xref serve` on a free loopback port over `index`.
    pub fn start(index: &Path) -> Served {
        Self::start_with(index, &[])
    }

    /// [`Served::start`] with more arguments (`--token T`).
    pub fn start_with(index: &Path, args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xref"))
            .args(["serve", "--addr", "127.0.0.1:0", "--index"])
            .arg(index)
            .args(args)
            .env("XREF_MODELS", super::models_dir())
            .current_dir(super::root())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run xref serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("xref serve exited before listening")
                .unwrap();
            if let Some(rest) = line.split("serving ").nth(1) {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Served { child, base }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
