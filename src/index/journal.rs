//! Checkpoints of embedding work, so that a killed or failed `xref index` resumes where it
//! stopped instead of re-embedding from zero.
//!
//! While [`super::Index::update`] embeds, every chunk of [`CHUNK`] paragraphs is written as
//! one file under `<index>/journal/` as soon as it is embedded: the sha256 of each
//! paragraph's text, its vector and its sentence vectors ([`super::codec`] rows, exactly
//! what the index will store), closed by a sha256 of the whole file. A file is written to a
//! temporary name, synced and renamed, so a kill leaves whole chunks only; a damaged or
//! foreign file (another model) is ignored. The next update reuses journalled vectors by
//! text like vectors of the live generation, and a successful commit removes the journal.
//! Readers never look at it: the atomic-generation guarantee is unchanged.
//!
//! ```text
//! chunk-000042.bin  "XRJ1" · u32 len · model key · u32 records ·
//!                   records: [32] sha256(text) · u32 sentences · (1 + sentences) rows ·
//!                   [32] sha256 of everything before
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::codec;

/// Paragraphs per checkpoint: a kill loses at most this much embedding work (about one
/// packed batch of the encoder; measured no slower than one call for all paragraphs).
pub const CHUNK: usize = 64;
const MAGIC: &[u8; 4] = b"XRJ1";
/// The journal's folder inside an index directory.
pub const DIR: &str = "journal";

/// A paragraph's vector and its sentence vectors (flattened rows).
pub type Vectors = (Vec<f32>, Vec<f32>);

/// The journal of one index directory, for one model.
pub struct Journal {
    dir: PathBuf,
    key: String,
    dim: usize,
    next: usize,
}

/// sha256 of a paragraph's text: the journal's key.
pub fn text_key(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The journal's key of the model `stamp` describes: a chunk of another model is not used.
fn key_of(stamp: &super::ModelStamp) -> String {
    format!("{}|{}|{}", stamp.id, stamp.checksum, stamp.dim)
}

/// One chunk of paragraphs embedded by the model `stamp` describes — `(text, vector,
/// sentence vectors)` — as a journal stores it, made anywhere (a worker of a distributed
/// build) for [`Journal::add`].
pub fn chunk<'a>(
    stamp: &super::ModelStamp,
    records: impl IntoIterator<Item = (&'a str, &'a [f32], &'a [f32])>,
) -> Vec<u8> {
    encode(&key_of(stamp), stamp.dim, records)
}

/// A chunk's bytes: the records under `key`, closed by the sha256 of what comes before.
fn encode<'a>(
    key: &str,
    dim: usize,
    records: impl IntoIterator<Item = (&'a str, &'a [f32], &'a [f32])>,
) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(MAGIC);
    body.extend_from_slice(&(key.len() as u32).to_le_bytes());
    body.extend_from_slice(key.as_bytes());
    let count_at = body.len();
    body.extend_from_slice(&0u32.to_le_bytes());
    let mut count = 0u32;
    for (text, vector, sentences) in records {
        body.extend_from_slice(&text_key(text));
        body.extend_from_slice(&((sentences.len() / dim) as u32).to_le_bytes());
        codec::encode_row(vector, &mut body);
        for row in sentences.chunks_exact(dim) {
            codec::encode_row(row, &mut body);
        }
        count += 1;
    }
    body[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
    let sum = Sha256::digest(&body);
    body.extend_from_slice(&sum);
    body
}

impl Journal {
    /// The journal under index root `root` for vectors of the model `stamp` describes.
    pub fn for_model(root: &Path, stamp: &super::ModelStamp) -> Self {
        Self::new(root, key_of(stamp), stamp.dim)
    }

    /// The journal under index root `root` for the model identified by `key`, vectors of
    /// `dim` components.
    pub fn new(root: &Path, key: String, dim: usize) -> Self {
        Self {
            dir: root.join(DIR),
            key,
            dim,
            next: 0,
        }
    }

    /// Every vector journalled by earlier, interrupted runs for this model, by text key.
    pub fn load(&mut self) -> HashMap<[u8; 32], Vectors> {
        let mut out = HashMap::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(n) = name
                .strip_prefix("chunk-")
                .and_then(|n| n.strip_suffix(".bin"))
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            self.next = self.next.max(n + 1);
            if let Ok(bytes) = std::fs::read(entry.path()) {
                if let Some(records) = self.parse(&bytes) {
                    out.extend(records);
                }
            }
        }
        out
    }

    fn parse(&self, bytes: &[u8]) -> Option<Vec<([u8; 32], Vectors)>> {
        let body = bytes.len().checked_sub(32).map(|n| &bytes[..n])?;
        if Sha256::digest(body).as_slice() != &bytes[body.len()..] {
            return None;
        }
        let mut r = Reader(body);
        if r.take(4)? != MAGIC {
            return None;
        }
        let key_len = r.u32()? as usize;
        if r.take(key_len)? != self.key.as_bytes() {
            return None;
        }
        let rb = codec::row_bytes(self.dim);
        let mut out = Vec::new();
        for _ in 0..r.u32()? {
            let key: [u8; 32] = r.take(32)?.try_into().ok()?;
            let sentences = r.u32()? as usize;
            let rows = codec::decode(r.take(rb.checked_mul(sentences + 1)?)?, self.dim)?;
            let (own, rest) = rows.split_at(self.dim);
            out.push((key, (own.to_vec(), rest.to_vec())));
        }
        r.0.is_empty().then_some(out)
    }

    /// Write one chunk of embedded paragraphs: `(text, vector, sentence vectors)`.
    pub fn append<'a>(
        &mut self,
        records: impl IntoIterator<Item = (&'a str, &'a [f32], &'a [f32])>,
    ) -> Result<()> {
        let chunk = encode(&self.key, self.dim, records);
        self.write(&chunk)
    }

    /// Add a [`chunk`] made elsewhere (a worker of a distributed build): its checksum and
    /// model are checked first. Returns how many paragraphs it holds.
    pub fn add(&mut self, chunk: &[u8]) -> Result<usize> {
        let records = self.parse(chunk).ok_or_else(|| {
            crate::error::bad_input(
                "an embedded chunk is damaged or was embedded with another model",
            )
        })?;
        if self.next == 0 {
            self.next = self.numbered_after();
        }
        self.write(chunk)?;
        Ok(records.len())
    }

    /// The number after the highest chunk already in the folder.
    fn numbered_after(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix("chunk-")?
                    .strip_suffix(".bin")?
                    .parse::<usize>()
                    .ok()
            })
            .map(|n| n + 1)
            .max()
            .unwrap_or(0)
    }

    /// Write a whole chunk to the next name: to a temporary name, synced, then renamed.
    fn write(&mut self, chunk: &[u8]) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let name = format!("chunk-{:06}.bin", self.next);
        self.next += 1;
        let tmp = self.dir.join(format!("{name}.tmp"));
        {
            let mut f = std::fs::File::create(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            f.write_all(chunk)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, self.dir.join(name)).context("checkpointing embedded vectors")?;
        Ok(())
    }

    /// Remove the journal (after a successful commit).
    pub fn clear(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(dim: usize, seed: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim)
            .map(|i| ((i * 31 + seed * 17) % 13) as f32 - 6.0)
            .collect();
        crate::embed::normalize(&mut v);
        v
    }

    #[test]
    fn chunks_round_trip_and_damage_is_ignored() {
        let root = tempfile::tempdir().unwrap();
        let dim = 8;
        let mut j = Journal::new(root.path(), "m|sum|8".into(), dim);
        let (a, b, c) = (unit(dim, 1), unit(dim, 2), unit(dim, 3));
        let sentences: Vec<f32> = [b.clone(), c.clone()].concat();
        j.append([
            ("first", &a[..], &sentences[..]),
            ("second", &b[..], &[][..]),
        ])
        .unwrap();
        j.append([("third", &c[..], &[][..])]).unwrap();

        let mut again = Journal::new(root.path(), "m|sum|8".into(), dim);
        let got = again.load();
        assert_eq!(got.len(), 3);
        let (v, s) = &got[&text_key("first")];
        assert!(crate::embed::dot(v, &a) > 0.999);
        assert_eq!(s.len(), 2 * dim);
        assert!(got[&text_key("second")].1.is_empty());
        assert_eq!(again.next, 2, "new chunks do not overwrite old ones");

        // Another model's journal is not reused.
        assert!(Journal::new(root.path(), "other|x|8".into(), dim)
            .load()
            .is_empty());

        // A damaged chunk is skipped, the others still count; a half-written .tmp is ignored.
        let first = root.path().join(DIR).join("chunk-000000.bin");
        let mut bytes = std::fs::read(&first).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&first, &bytes).unwrap();
        std::fs::write(root.path().join(DIR).join("chunk-000002.bin.tmp"), b"XRJ1").unwrap();
        let got = Journal::new(root.path(), "m|sum|8".into(), dim).load();
        assert_eq!(got.len(), 1);
        assert!(got.contains_key(&text_key("third")));

        again.clear();
        assert!(!root.path().join(DIR).exists());
    }

    #[test]
    fn chunks_embedded_elsewhere_are_added_after_the_others_and_checked() {
        let root = tempfile::tempdir().unwrap();
        let dim = 8;
        let (a, b) = (unit(dim, 4), unit(dim, 5));
        let mut local = Journal::new(root.path(), "m|sum|8".into(), dim);
        local.append([("local", &a[..], &[][..])]).unwrap();
        // A worker's chunk, made without a folder of its own.
        let chunk = encode("m|sum|8", dim, [("remote", &b[..], &a[..])]);
        let mut driver = Journal::new(root.path(), "m|sum|8".into(), dim);
        assert_eq!(driver.add(&chunk).unwrap(), 1);
        assert!(
            root.path().join(DIR).join("chunk-000001.bin").exists(),
            "numbered after the chunk already there"
        );
        let got = Journal::new(root.path(), "m|sum|8".into(), dim).load();
        assert_eq!(got.len(), 2);
        let (v, s) = &got[&text_key("remote")];
        assert!(crate::embed::dot(v, &b) > 0.999 && crate::embed::dot(s, &a) > 0.999);
        // Another model's chunk and a damaged one are refused, and nothing is written.
        assert!(driver
            .add(&encode("other|x|8", dim, [("x", &a[..], &[][..])]))
            .is_err());
        let mut damaged = chunk.clone();
        damaged[30] ^= 1;
        assert!(driver.add(&damaged).is_err());
        assert_eq!(std::fs::read_dir(root.path().join(DIR)).unwrap().count(), 2);
    }
}
