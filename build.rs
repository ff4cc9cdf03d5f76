//! `XREF_SOURCE_HASH`: a hash of the library's sources and lock file, so that links kept by
//! one build of xref are reused only by a build of the same code — the CLI and the Python
//! package of one checkout alike (`link::cache::build_stamp`).

use std::hash::{Hash, Hasher};
use std::path::Path;

fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            visit(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let mut files = Vec::new();
    visit(Path::new("src"), &mut files);
    files.push("Cargo.lock".into());
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        f.hash(&mut h);
        std::fs::read(&f).unwrap_or_default().hash(&mut h);
    }
    println!("cargo:rustc-env=XREF_SOURCE_HASH={:016x}", h.finish());
}
