//! `xref serve`: the HTTP API and the reading view, on axum.
//!
//! One process holds the model and a [`Snapshot`] of the index (the index, its calibrated
//! link threshold and per-language-pair statistics). A watcher polls the index's `CURRENT`
//! pointer every second; when `xref index` commits a new generation the watcher opens it
//! and swaps the snapshot atomically. Each request clones the `Arc` of the snapshot it
//! started with, so no request sees half of two generations.
//!
//! The API mirrors the CLI's JSON contracts (see ARCHITECTURE.md, JSON records): the object of one line of
//! `xref search --json`, the link objects of `xref related --json`, the four crossref
//! formats. Errors are `{"error": "…"}` with 400 (bad parameters), 404 (unknown document or
//! paragraph), 413 (a question, batch or body over its bound) or 500. Requests never touch
//! the file system: ids are looked up in the index in memory.
//!
//! The reading view (`assets/`) is plain HTML, CSS and JavaScript compiled into the binary.

mod api;
pub mod auth;

pub use auth::Access;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::embed::{Embedder, Prefix};
use crate::index::{store, Index};
use crate::link::Linker;
use crate::searcher::Searcher;

/// Longest question accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 2_000;
/// Most questions in one `POST /api/search`.
pub const MAX_BATCH: usize = 64;
/// Largest request body, in bytes.
pub const MAX_BODY: usize = 256 * 1024;
/// Most hits or links asked for at once.
pub const MAX_K: usize = 100;

/// One index generation as the server uses it.
pub struct Snapshot {
    /// The `CURRENT` pointer this snapshot was opened from.
    pub generation: String,
    /// The index with its out-of-corpus bars and language shift.
    pub searcher: Searcher,
    /// The calibrated link threshold (as `xref crossref` computes it).
    pub threshold: f32,
}

impl Snapshot {
    fn open(dir: &Path, embedder: &Embedder) -> Result<Self> {
        let generation = pointer(dir)?;
        let searcher = Searcher::open(dir, embedder)?;
        let linker = searcher.linker(10, f32::MIN);
        let threshold = linker.calibrate(linker.params().quantile).threshold;
        Ok(Snapshot {
            generation,
            searcher,
            threshold,
        })
    }

    pub fn index(&self) -> &Index {
        self.searcher.index()
    }

    /// A linker over this snapshot's index.
    pub fn linker(&self, k: usize, min_score: f32) -> Linker<'_> {
        self.searcher.linker(k, min_score)
    }
}

/// The `CURRENT` pointer of an index (its generation and manifest checksum).
fn pointer(dir: &Path) -> Result<String> {
    match store::current_generation(dir)? {
        Some((path, sum)) => Ok(format!(
            "{} {sum}",
            path.file_name().unwrap_or_default().to_string_lossy()
        )),
        None => Err(crate::error::bad_input(format!(
            "no index in {}; build one with `xref index PATH…`",
            dir.display()
        ))),
    }
}

/// Query vectors kept for questions asked again (cleared when full).
const CACHE_SIZE: usize = 4_096;

/// A question list waiting for its vectors.
type Job = (Vec<String>, mpsc::Sender<Result<Vec<Vec<f32>>, String>>);

/// Most questions embedded in one forward pass.
const MAX_BATCH_QUESTIONS: usize = 64;

/// Embeds questions on one thread, taking every request that is waiting as one batch: a
/// forward pass over 16 short questions costs little more than over one (the weights are
/// streamed once), so concurrent requests share it.
pub struct Batcher {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl Batcher {
    fn start(embedder: Arc<Embedder>) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("xref-embed".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    let mut n = jobs[0].0.len();
                    while n < MAX_BATCH_QUESTIONS {
                        match rx.try_recv() {
                            Ok(job) => {
                                n += job.0.len();
                                jobs.push(job);
                            }
                            Err(_) => break,
                        }
                    }
                    let all: Vec<&String> = jobs.iter().flat_map(|j| &j.0).collect();
                    match embedder.embed(&all, Prefix::Query) {
                        Ok(vectors) => {
                            let mut vectors = vectors.into_iter().map(|e| e.vector);
                            for (qs, reply) in jobs {
                                let mine: Vec<Vec<f32>> = vectors.by_ref().take(qs.len()).collect();
                                let _ = reply.send(Ok(mine));
                            }
                        }
                        Err(e) => {
                            for (_, reply) in jobs {
                                let _ = reply.send(Err(format!("{e:#}")));
                            }
                        }
                    }
                }
            })
            .context("starting the embedding thread")?;
        Ok(Batcher {
            jobs: Mutex::new(tx),
        })
    }

    /// Vectors for `questions` (blocks until the batch they join is done).
    pub fn embed(&self, questions: Vec<String>) -> Result<Vec<Vec<f32>>> {
        let (reply, answer) = mpsc::channel();
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((questions, reply))
            .map_err(|_| anyhow::anyhow!("the embedding thread stopped"))?;
        answer
            .recv()
            .map_err(|_| anyhow::anyhow!("the embedding thread stopped"))?
            .map_err(|e| anyhow::anyhow!(e))
    }
}

/// A `CURRENT` that the last check did not serve: the pointer whose generation failed to
/// open (`None` when `CURRENT` itself was unreadable) and why.
struct Refused {
    pointer: Option<String>,
    why: String,
}

/// The server's state: the model, recent query vectors and the current snapshot.
pub struct Server {
    dir: PathBuf,
    embedder: Arc<Embedder>,
    batcher: Batcher,
    cache: Mutex<HashMap<String, Vec<f32>>>,
    current: RwLock<Arc<Snapshot>>,
    /// Why the last check kept the served generation although `CURRENT` had moved (see
    /// [`Server::refused`]).
    refused: Mutex<Option<Refused>>,
    /// Who may read (see [`auth`]).
    access: Access,
    /// A generated token, printed when the server starts.
    generated: Option<String>,
}

impl Server {
    /// Open the index in `dir` for serving with `embedder`.
    pub fn open(dir: &Path, embedder: Embedder) -> Result<Self> {
        let snap = Snapshot::open(dir, &embedder)?;
        let embedder = Arc::new(embedder);
        Ok(Server {
            dir: dir.to_path_buf(),
            batcher: Batcher::start(embedder.clone())?,
            embedder,
            cache: Mutex::new(HashMap::new()),
            current: RwLock::new(Arc::new(snap)),
            refused: Mutex::new(None),
            access: Access::Open,
            generated: None,
        })
    }

    /// Serve only to who gives the token of `access`; `generated` is printed at start
    /// ([`auth::decide`] gives both).
    pub fn with_access(mut self, access: Access, generated: Option<String>) -> Self {
        self.access = access;
        self.generated = generated;
        self
    }

    /// Query vectors for `questions`: from the cache for questions asked recently, the
    /// rest through the [`Batcher`], which embeds concurrent requests' questions together.
    pub fn query_vectors(&self, questions: &[String]) -> Result<Vec<Vec<f32>>> {
        let lock = || self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut missing: Vec<String> = {
            let cache = lock();
            questions
                .iter()
                .filter(|q| !cache.contains_key(*q))
                .cloned()
                .collect()
        };
        missing.sort();
        missing.dedup();
        let fresh: HashMap<String, Vec<f32>> = if missing.is_empty() {
            HashMap::new()
        } else {
            let vectors = self.batcher.embed(missing.clone())?;
            missing.into_iter().zip(vectors).collect()
        };
        let mut cache = lock();
        let out = questions
            .iter()
            .map(|q| {
                fresh
                    .get(q)
                    .or_else(|| cache.get(q))
                    .cloned()
                    .context("query vector missing")
            })
            .collect::<Result<Vec<_>>>()?;
        if cache.len() + fresh.len() > CACHE_SIZE {
            cache.clear();
        }
        cache.extend(fresh);
        Ok(out)
    }

    /// The snapshot requests should use now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Pick up a new index generation if one was committed; `Ok(true)` when swapped. A
    /// generation that fails to open is reported once, not retried until `CURRENT` moves.
    pub fn refresh(&self) -> Result<bool> {
        let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        let now = match pointer(&self.dir) {
            Ok(now) => now,
            Err(e) => {
                *refused = Some(Refused {
                    pointer: None,
                    why: format!("{e:#}"),
                });
                return Err(e);
            }
        };
        if now == self.snapshot().generation {
            *refused = None;
            return Ok(false);
        }
        if refused
            .as_ref()
            .is_some_and(|r| r.pointer.as_ref() == Some(&now))
        {
            return Ok(false);
        }
        match Snapshot::open(&self.dir, &self.embedder) {
            Ok(snap) => {
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snap);
                *refused = None;
                Ok(true)
            }
            Err(e) => {
                *refused = Some(Refused {
                    pointer: Some(now),
                    why: format!("{e:#}"),
                });
                Err(e)
            }
        }
    }

    /// Why the generation `CURRENT` names is not served (it failed to open, or `CURRENT`
    /// is unreadable), as of the last check; `None` when the served one is current.
    pub fn refused(&self) -> Option<String> {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|r| r.why.clone())
    }

    /// Serve on `addr` until the process is stopped. Prints the address it listens on
    /// (useful with port 0) to standard error.
    pub fn run(self, addr: SocketAddr) -> Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let server = Arc::new(self);
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let local = listener.local_addr()?;
            let open = matches!(server.access, Access::Open);
            if !local.ip().is_loopback() && open {
                eprintln!("xref: warning: listening on {local}, reachable from other machines, with no access token (--no-auth)");
            }
            eprintln!("xref: serving http://{local}/ (Ctrl-C to stop)");
            if let Some(t) = &server.generated {
                eprintln!("xref: access token {t} (API: 'Authorization: Bearer {t}'; reading view: http://{local}/?token={t})");
            } else if !open {
                eprintln!("xref: an access token is required (the one given with --token / XREF_TOKEN)");
            }
            let watcher = server.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                let mut last_error = String::new();
                loop {
                    tick.tick().await;
                    let s = watcher.clone();
                    let error = match tokio::task::spawn_blocking(move || s.refresh()).await {
                        Ok(Ok(true)) => {
                            eprintln!("xref: serving a new index generation");
                            String::new()
                        }
                        Ok(Ok(false)) => continue,
                        Ok(Err(e)) => format!("keeping the current index: {e:#}"),
                        Err(e) => format!("index watcher failed: {e}"),
                    };
                    // Each problem is reported once, not every second.
                    if !error.is_empty() && error != last_error {
                        eprintln!("xref: {error}");
                    }
                    last_error = error;
                }
            });
            axum::serve(listener, api::router(server))
                .await
                .context("serving HTTP")
        })
    }
}
