//! The on-disk layout of an index directory: immutable generations behind a `CURRENT`
//! pointer, so that every write is atomic.
//!
//! ```text
//! .xref/
//!   CURRENT          "gen-000007 <sha256 of its manifest.json>\n", replaced by rename
//!   LOCK             held (flock) by the one writer
//!   gen-000007/      manifest.json documents.jsonl paragraphs.jsonl.gz vectors.i8 … graph.hnsw.*
//! ```
//!
//! A writer builds `tmp-<pid>/`, syncs it, renames it to the next `gen-N`, then replaces
//! `CURRENT` by writing `CURRENT.tmp` and renaming it. A crash at any point leaves `CURRENT`
//! naming a complete generation; leftovers are swept by the next successful write.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::error::bad_input;

mod reader;
mod writer;
#[cfg(test)]
pub(crate) use writer::synthetic_index;

pub(super) use reader::stored_version;
pub(super) use writer::write_generation;

pub const CURRENT: &str = "CURRENT";
const LOCK: &str = "LOCK";

/// The live generation: its directory and the sha256 its manifest must have; `None` when
/// `root` holds no index yet.
pub fn current_generation(root: &Path) -> Result<Option<(PathBuf, String)>> {
    let pointer = root.join(CURRENT);
    match std::fs::read(&pointer) {
        Ok(bytes) => {
            let s = String::from_utf8_lossy(&bytes);
            let mut parts = s.split_whitespace();
            let (name, sum) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let valid_name = name
                .strip_prefix("gen-")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let valid_sum = sum.len() == 64 && sum.bytes().all(|b| b.is_ascii_hexdigit());
            if !valid_name || !valid_sum || parts.next().is_some() {
                return Err(bad_input(format!(
                    "index {} is corrupt: its CURRENT file is damaged; rebuild it with `xref index --rebuild PATH…`",
                    root.display()
                )));
            }
            let dir = root.join(name);
            if !dir.is_dir() {
                return Err(bad_input(format!(
                    "index {} is damaged: CURRENT names {name}, which is missing; rebuild it with `xref index --rebuild`",
                    root.display()
                )));
            }
            Ok(Some((dir, sum.to_string())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if root.is_dir()
                && std::fs::read_dir(root)?.next().is_some()
                && !root.join(LOCK).exists()
            {
                return Err(bad_input(format!(
                    "{} exists but is not an xref index; choose another --index directory",
                    root.display()
                )));
            }
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", pointer.display())),
    }
}

/// The exclusive right to write an index directory, released on drop.
pub struct WriteLock {
    _file: File,
}

impl WriteLock {
    pub fn acquire(root: &Path) -> Result<Self> {
        if root.exists()
            && !root.join(CURRENT).exists()
            && std::fs::read_dir(root)?.next().is_some()
            && !root.join(LOCK).exists()
        {
            return Err(bad_input(format!(
                "{} exists but is not an xref index; choose another --index directory",
                root.display()
            )));
        }
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let file = File::create(root.join(LOCK))
            .with_context(|| format!("creating the lock in {}", root.display()))?;
        fs2::FileExt::try_lock_exclusive(&file).map_err(|_| {
            anyhow::anyhow!("another xref process is writing the index in {} (its LOCK is held); wait for it to finish", root.display())
        })?;
        Ok(Self { _file: file })
    }
}

/// A generation being written; becomes live with [`NewGeneration::commit`].
pub struct NewGeneration {
    root: PathBuf,
    pub dir: PathBuf,
}

impl NewGeneration {
    pub fn create(root: &Path, _lock: &WriteLock) -> Result<Self> {
        let dir = root.join(format!("tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            root: root.to_path_buf(),
            dir,
        })
    }

    /// Make this generation the live one, then remove the others.
    pub fn commit(self, _lock: &WriteLock) -> Result<PathBuf> {
        let manifest_sum = sha256_file(&self.dir.join("manifest.json"))?;
        for entry in std::fs::read_dir(&self.dir)? {
            File::open(entry?.path())?.sync_all()?;
        }
        let next = next_generation_name(&self.root)?;
        let gen_dir = self.root.join(&next);
        std::fs::rename(&self.dir, &gen_dir).context("renaming the new generation into place")?;
        let tmp = self.root.join("CURRENT.tmp");
        {
            let mut f = File::create(&tmp)?;
            writeln!(f, "{next} {manifest_sum}")?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, self.root.join(CURRENT)).context("switching CURRENT")?;
        File::open(&self.root)?.sync_all()?;
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if (name.starts_with("gen-") && name != next) || name.starts_with("tmp-") {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        Ok(gen_dir)
    }
}

impl Drop for NewGeneration {
    fn drop(&mut self) {
        // Not committed (an error or a panic): leave nothing behind.
        if self.dir.exists()
            && self
                .dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("tmp-"))
        {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn next_generation_name(root: &Path) -> Result<String> {
    let mut max = 0u64;
    for entry in std::fs::read_dir(root)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(n) = name
            .strip_prefix("gen-")
            .and_then(|n| n.parse::<u64>().ok())
        {
            max = max.max(n);
        }
    }
    Ok(format!("gen-{:06}", max + 1))
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("reading {}", path.display()))?;
    Ok(format!("{:x}", h.finalize()))
}

/// sha256 of bytes, hex.
pub fn sha256_bytes(b: &[u8]) -> String {
    format!("{:x}", Sha256::digest(b))
}
