//! `xref._xref`: the compiled half of the Python package. Every answer is the JSON record
//! the CLI prints (`xref search --json`, `xref related --json`, `xref crossref --format
//! jsonl`, `xref docs --json`, `xref paragraphs --json`), built by the same library code;
//! `xref/__init__.py` turns them into Python objects and vectors into NumPy arrays. The GIL
//! is released while the model runs and while the index is searched.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

use clap::ValueEnum;
use xref::cli::{IndexArgs, IngestArgs, ModeArg, ModelArgs, PrefixArg};
use xref::embed::{Embedder, Prefix};
use xref::error::{bad_input, is_bad_input};
use xref::index::journal;
use xref::index::ModelStamp;
use xref::link::cache;
use xref::link::Link;
use xref::output::{self, About, DocumentRecord, Format, ListedParagraph};
use xref::rank::Mode;
use xref::searcher::{Searcher, Source};

create_exception!(
    _xref,
    XrefError,
    PyException,
    "An xref failure (the CLI's exit code 1)."
);
create_exception!(
    _xref,
    BadInputError,
    XrefError,
    "Bad input: a missing file, an unreadable document, an unknown id (the CLI's exit code 2)."
);

/// A Python exception with the CLI's message.
fn error(e: anyhow::Error) -> PyErr {
    let message = format!("{e:#}");
    if is_bad_input(&e) {
        BadInputError::new_err(message)
    } else {
        XrefError::new_err(message)
    }
}

/// The model settings as the CLI takes them (`XREF_PRECISION`, `XREF_DEVICE` from the
/// environment, as there).
fn model_args(model: Option<String>, models_dir: Option<PathBuf>) -> anyhow::Result<ModelArgs> {
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| "auto".into());
    Ok(ModelArgs {
        model: model
            .or_else(|| std::env::var("XREF_MODEL").ok())
            .unwrap_or_else(|| xref::model::DEFAULT_MODEL.into()),
        models_dir: models_dir.or_else(|| std::env::var_os("XREF_MODELS").map(PathBuf::from)),
        precision: env("XREF_PRECISION").parse().map_err(bad_input)?,
        device: env("XREF_DEVICE").parse().map_err(bad_input)?,
    })
}

/// A loaded model by its name and models folder.
type Loaded = ((String, PathBuf), Arc<Embedder>);

/// The model of `args`, loaded once per process (fetched first if absent).
fn embedder(args: &ModelArgs) -> anyhow::Result<Arc<Embedder>> {
    static LOADED: Mutex<Vec<Loaded>> = Mutex::new(Vec::new());
    let key = (args.model.clone(), args.models_root());
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, e)) = loaded.iter().find(|(k, _)| *k == key) {
        return Ok(e.clone());
    }
    let e = Arc::new(xref::cli::load_embedder(args)?);
    loaded.push((key, e.clone()));
    Ok(e)
}

/// A value of one of the CLI's `ValueEnum`s by name (`"hybrid"`, `"query"`), as the
/// command line takes it; anything else is bad input naming the choices.
fn choice<T: ValueEnum>(name: &str, what: &str) -> anyhow::Result<T> {
    T::from_str(name, false).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        bad_input(format!("unknown {what} {name:?} ({})", names.join(", ")))
    })
}

/// An opened index: its searcher and the model it was built with.
#[pyclass(module = "xref._xref", frozen)]
struct Index {
    dir: PathBuf,
    searcher: Searcher,
    embedder: Arc<Embedder>,
}

impl Index {
    fn open_with(dir: PathBuf, args: &ModelArgs) -> anyhow::Result<Self> {
        let embedder = embedder(args)?;
        let searcher = Searcher::open(&dir, &embedder)?;
        Ok(Index {
            dir,
            searcher,
            embedder,
        })
    }

    fn lines<T: serde::Serialize>(records: impl Iterator<Item = T>) -> anyhow::Result<String> {
        let mut out = String::new();
        for r in records {
            out.push_str(&serde_json::to_string(&r)?);
            out.push('\n');
        }
        Ok(out)
    }
}

#[pymethods]
impl Index {
    /// Open the index in `dir` (built by `xref index` or `Index.build`).
    #[staticmethod]
    #[pyo3(signature = (dir, model = None, models_dir = None))]
    fn open(
        py: Python<'_>,
        dir: PathBuf,
        model: Option<String>,
        models_dir: Option<PathBuf>,
    ) -> PyResult<Self> {
        py.allow_threads(|| Self::open_with(dir, &model_args(model, models_dir)?))
            .map_err(error)
    }

    /// Build or update the index in `dir` from files and folders, as `xref index` does.
    #[staticmethod]
    #[pyo3(signature = (paths, dir, model = None, models_dir = None, rebuild = false, max_chars = None))]
    fn build(
        py: Python<'_>,
        paths: Vec<PathBuf>,
        dir: PathBuf,
        model: Option<String>,
        models_dir: Option<PathBuf>,
        rebuild: bool,
        max_chars: Option<usize>,
    ) -> PyResult<Self> {
        py.allow_threads(|| {
            let args = model_args(model, models_dir)?;
            let e = embedder(&args)?;
            let ingest = IngestArgs {
                max_chars: max_chars.unwrap_or(xref::ingest::IngestOptions::default().max_chars),
                split_marker: None,
                chapters: false,
            };
            let index = IndexArgs { dir: dir.clone() };
            let options = xref::index::UpdateOptions {
                rebuild,
                ..Default::default()
            };
            xref::cli::index_paths(&paths, options, &ingest, &index, &e)?;
            Self::open_with(dir, &args)
        })
        .map_err(error)
    }

    /// One `xref search --json` line per question.
    #[pyo3(signature = (questions, k = 10, mode = "hybrid", doc = None))]
    fn search(
        &self,
        py: Python<'_>,
        questions: Vec<String>,
        k: usize,
        mode: &str,
        doc: Option<String>,
    ) -> PyResult<String> {
        py.allow_threads(|| {
            let mode: Mode = choice::<ModeArg>(mode, "mode")?.into();
            let docs = doc
                .map(|d| self.searcher.documents_matching(&d))
                .transpose()?;
            let texts: Vec<&str> = questions.iter().map(|q| q.trim()).collect();
            if texts.iter().any(|q| q.is_empty()) {
                return Err(bad_input("give a question (an empty string was given)"));
            }
            let answers = self
                .searcher
                .ask(&self.embedder, &texts, k, mode, docs.as_deref())?;
            let idx = self.searcher.index();
            Self::lines(texts.iter().zip(&answers).map(|(q, a)| a.record(idx, q)))
        })
        .map_err(error)
    }

    /// `xref related --json`: passages related to an indexed paragraph (by id) or, when
    /// `source` is no paragraph id, to `source` as a text.
    #[pyo3(signature = (source, k = 10, same_doc = false))]
    fn related(&self, py: Python<'_>, source: &str, k: usize, same_doc: bool) -> PyResult<String> {
        py.allow_threads(|| {
            let idx = self.searcher.index();
            let (id, related) = match idx.row(source) {
                Some(row) => {
                    let r = self
                        .searcher
                        .related(Source::Row(row), k, same_doc, f32::MIN);
                    (Some(source), r)
                }
                None => {
                    let v = self.embedder.embed_one(source, Prefix::Passage)?;
                    let text = Source::Text(source, &v);
                    (None, self.searcher.related(text, k, same_doc, f32::MIN))
                }
            };
            Ok(serde_json::to_string(&related.record(idx, id))?)
        })
        .map_err(error)
    }

    /// `xref crossref --format jsonl` (the links kept for the next crossref, as there).
    #[pyo3(signature = (k = 5, min_score = None, quantile = None, fresh = false))]
    fn crossref(
        &self,
        py: Python<'_>,
        k: usize,
        min_score: Option<f32>,
        quantile: Option<f64>,
        fresh: bool,
    ) -> PyResult<String> {
        py.allow_threads(|| {
            let idx = self.searcher.index();
            let run = cache::crossref_kept(&self.dir, idx, k, quantile, min_score, fresh);
            let about = About::of_run(idx, k, &run);
            let jsonl = output::render_crossref(Format::Jsonl, idx, &run.links, &about)?;
            Ok(String::from_utf8(jsonl)?)
        })
        .map_err(error)
    }

    /// A distributed crossref's calibration, made once (JSON for [`Index::link_rows`] and
    /// [`Index::write_crossref`]): the threshold and what linking sampled.
    #[pyo3(signature = (k = 5, min_score = None, quantile = None))]
    fn calibrate(
        &self,
        py: Python<'_>,
        k: usize,
        min_score: Option<f32>,
        quantile: Option<f64>,
    ) -> PyResult<String> {
        py.allow_threads(|| {
            let c = cache::Calibrated::of(self.searcher.index(), k, quantile, min_score);
            Ok(serde_json::to_string(&c)?)
        })
        .map_err(error)
    }

    /// One part of a distributed crossref: the links of rows `start..end` under
    /// `calibrated` (JSON, one list of links a row).
    fn link_rows<'py>(
        &self,
        py: Python<'py>,
        calibrated: &str,
        start: usize,
        end: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py
            .allow_threads(|| -> anyhow::Result<Vec<u8>> {
                let c: cache::Calibrated = serde_json::from_str(calibrated)?;
                let links = c.link_rows(self.searcher.index(), start..end)?;
                Ok(serde_json::to_vec(&links)?)
            })
            .map_err(error)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// A distributed crossref put together: `parts` ([`Index::link_rows`]'s, in row order,
    /// covering every row once) written as `crossref.{html,md,jsonl,csv}` in `out`, and kept
    /// beside the index for the next crossref to re-link from. Returns the paths written.
    fn write_crossref(
        &self,
        py: Python<'_>,
        calibrated: &str,
        parts: Vec<Vec<u8>>,
        out: PathBuf,
    ) -> PyResult<Vec<PathBuf>> {
        py.allow_threads(|| -> anyhow::Result<Vec<PathBuf>> {
            let idx = self.searcher.index();
            let c: cache::Calibrated = serde_json::from_str(calibrated)?;
            let settings = c.settings.clone();
            let k = settings.k;
            let mut links: Vec<Vec<Link>> = Vec::with_capacity(idx.len());
            for part in &parts {
                links.extend(serde_json::from_slice::<Vec<Vec<Link>>>(part)?);
            }
            let run = c.assemble(idx, links)?;
            run.keep_in(&self.dir, settings, cache::keys(idx));
            let about = About::of_run(idx, k, &run);
            output::write_crossref_files(&out, idx, &run.links, &about)
        })
        .map_err(error)
    }

    /// `xref docs --json`.
    fn documents(&self) -> PyResult<String> {
        let idx = self.searcher.index();
        Self::lines(idx.documents().iter().map(DocumentRecord::new)).map_err(error)
    }

    /// `xref paragraphs --json`.
    fn paragraphs(&self, py: Python<'_>) -> PyResult<String> {
        py.allow_threads(|| {
            let idx = self.searcher.index();
            let listed: Vec<_> = (0..idx.len())
                .map(|r| (idx.paragraphs().get(r).to_paragraph(), &idx.doc_of(r).title))
                .collect();
            Self::lines(listed.iter().map(|(p, doc)| ListedParagraph { p, doc }))
        })
        .map_err(error)
    }

    #[getter]
    fn dir(&self) -> PathBuf {
        self.dir.clone()
    }

    #[getter]
    fn model(&self) -> String {
        self.searcher.index().manifest().model.id.clone()
    }

    fn __len__(&self) -> usize {
        self.searcher.index().len()
    }
}

/// Embed `texts` with the model: (the vectors' little-endian f32 bytes, rows, dimension).
#[pyfunction]
#[pyo3(signature = (texts, prefix = "passage", model = None, models_dir = None))]
fn embed<'py>(
    py: Python<'py>,
    texts: Vec<String>,
    prefix: &str,
    model: Option<String>,
    models_dir: Option<PathBuf>,
) -> PyResult<(Bound<'py, PyByteArray>, usize, usize)> {
    let (flat, dim) = py
        .allow_threads(|| -> anyhow::Result<(Vec<f32>, usize)> {
            let prefix: Prefix = choice::<PrefixArg>(prefix, "prefix")?.into();
            let e = embedder(&model_args(model, models_dir)?)?;
            let vectors = e.embed(&texts, prefix)?;
            let mut flat = Vec::with_capacity(vectors.len() * e.dim());
            for v in vectors {
                flat.extend_from_slice(&v.vector);
            }
            Ok((flat, e.dim()))
        })
        .map_err(error)?;
    let rows = flat.len() / dim.max(1);
    Ok((PyByteArray::new(py, bytemuck::cast_slice(&flat)), rows, dim))
}

/// The paragraph texts of `paths` that `Index.build(paths, dir)` would embed (neither
/// stored in the index nor journalled), each once: a distributed build's work.
#[pyfunction]
#[pyo3(signature = (paths, dir, model = None, models_dir = None, max_chars = None))]
fn pending(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    dir: PathBuf,
    model: Option<String>,
    models_dir: Option<PathBuf>,
    max_chars: Option<usize>,
) -> PyResult<Vec<String>> {
    py.allow_threads(|| {
        let e = embedder(&model_args(model, models_dir)?)?;
        let ingest = IngestArgs {
            max_chars: max_chars.unwrap_or(xref::ingest::IngestOptions::default().max_chars),
            split_marker: None,
            chapters: false,
        };
        xref::cli::pending_texts(&paths, &ingest, &IndexArgs { dir }, &e)
    })
    .map_err(error)
}

/// Embed paragraphs as an index stores them (each paragraph and its sentences): one chunk
/// of bytes for `add_embedded`, made on any machine with the model, and the tokens run.
#[pyfunction]
#[pyo3(signature = (texts, model = None, models_dir = None))]
fn embed_chunk<'py>(
    py: Python<'py>,
    texts: Vec<String>,
    model: Option<String>,
    models_dir: Option<PathBuf>,
) -> PyResult<(Bound<'py, PyBytes>, usize)> {
    let (bytes, tokens) = py
        .allow_threads(|| -> anyhow::Result<(Vec<u8>, usize)> {
            let e = embedder(&model_args(model, models_dir)?)?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let (vectors, tokens) = xref::index::embed_paragraphs(&e, &refs)?;
            let chunk = journal::chunk(
                &ModelStamp::of(e.info(), e.dim()),
                refs.iter()
                    .zip(&vectors)
                    .map(|(t, (v, s))| (*t, v.as_slice(), s.as_slice())),
            );
            Ok((chunk, tokens))
        })
        .map_err(error)?;
    Ok((PyBytes::new(py, &bytes), tokens))
}

/// Put chunks from `embed_chunk` into the journal of the index in `dir`, where the next
/// `Index.build` takes their vectors instead of embedding. Returns the paragraphs added.
#[pyfunction]
#[pyo3(signature = (dir, chunks, model = None, models_dir = None))]
fn add_embedded(
    py: Python<'_>,
    dir: PathBuf,
    chunks: Vec<Vec<u8>>,
    model: Option<String>,
    models_dir: Option<PathBuf>,
) -> PyResult<usize> {
    py.allow_threads(|| -> anyhow::Result<usize> {
        let e = embedder(&model_args(model, models_dir)?)?;
        let chunks: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        xref::index::Index::add_embedded(&dir, &ModelStamp::of(e.info(), e.dim()), &chunks)
    })
    .map_err(error)
}

#[pymodule]
fn _xref(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Index>()?;
    m.add_function(wrap_pyfunction!(embed, m)?)?;
    m.add_function(wrap_pyfunction!(pending, m)?)?;
    m.add_function(wrap_pyfunction!(embed_chunk, m)?)?;
    m.add_function(wrap_pyfunction!(add_embedded, m)?)?;
    m.add("XrefError", m.py().get_type::<XrefError>())?;
    m.add("BadInputError", m.py().get_type::<BadInputError>())?;
    m.add("DEFAULT_MODEL", xref::model::DEFAULT_MODEL)?;
    Ok(())
}
