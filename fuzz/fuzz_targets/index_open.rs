//! Opening an index whose files were damaged *behind matching checksums* (the manifest's
//! and `CURRENT`'s recomputed), so every parser sees the damage: `Index::open` returns an
//! error or an index, never panics. The template is a small real index built by
//! `benches/fuzz.sh` (`XREF_FUZZ_INDEX`); the first input byte picks the file.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use xref::index::{store, Index};

struct Template {
    root: PathBuf,
    generation: String,
    files: Vec<String>,
    manifest: serde_json::Value,
}

fn template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| {
        let root = PathBuf::from(
            std::env::var("XREF_FUZZ_INDEX").expect("XREF_FUZZ_INDEX: a small index to damage"),
        );
        let pointer = std::fs::read_to_string(root.join("CURRENT")).unwrap();
        let generation = pointer.split_whitespace().next().unwrap().to_string();
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(root.join(&generation).join("manifest.json")).unwrap(),
        )
        .unwrap();
        let mut files: Vec<String> = manifest["checksums"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        files.sort();
        Template {
            root,
            generation,
            files,
            manifest,
        }
    })
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy(&e.path(), &to.join(e.file_name()));
        } else if e.file_name() != "LOCK" {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let t = template();
    let name = &t.files[pick as usize % t.files.len()];
    let dir = tempfile::tempdir().unwrap();
    copy(&t.root, dir.path());
    let g = dir.path().join(&t.generation);
    std::fs::write(g.join(name), bytes).unwrap();
    let mut m = t.manifest.clone();
    m["checksums"][name.as_str()] = store::sha256_bytes(bytes).into();
    let manifest = serde_json::to_vec_pretty(&m).unwrap();
    std::fs::write(g.join("manifest.json"), &manifest).unwrap();
    std::fs::write(
        dir.path().join("CURRENT"),
        format!("{} {}", t.generation, store::sha256_bytes(&manifest)),
    )
    .unwrap();
    let _ = Index::open(dir.path());
});
