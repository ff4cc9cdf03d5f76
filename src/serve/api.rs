//! Routes: the JSON API under `/api/`, the reading view's three assets at `/`.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Server, MAX_BATCH, MAX_BODY, MAX_K, MAX_QUERY_CHARS};
use crate::output::{self, About, DocumentRecord, Format, ParagraphRecord};
use crate::rank::Mode;
use crate::searcher::{Related, Source};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");
const OPENAPI: &str = include_str!("assets/openapi.json");

pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route(
            "/api/openapi.json",
            get(|| async { asset("application/json", OPENAPI) }),
        )
        .route("/api/health", get(health))
        .route("/api/docs", get(docs))
        .route("/api/docs/{doc}", get(doc))
        .route("/api/search", get(search_get).post(search_post))
        .route("/api/related/{id}", get(related))
        .route("/api/crossref", get(crossref))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            super::auth::check,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(server)
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// An error answered as `{"error": "…"}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: &self.message,
            }),
        )
            .into_response()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        Self::bad(e.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        Self::bad(e.body_text())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        Self::new(e.status(), e.body_text())
    }
}

type ApiResult = Result<Response, ApiError>;

fn check_k(k: usize) -> Result<usize, ApiError> {
    if k == 0 || k > MAX_K {
        return Err(ApiError::bad(format!("k must be between 1 and {MAX_K}")));
    }
    Ok(k)
}

/// `{"error": "…"}`.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

/// `GET /api/health`.
#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    model: &'a str,
    generation: &'a str,
    documents: usize,
    paragraphs: usize,
    threshold: f64,
    refused: Option<String>,
}

/// `GET /api/docs/{doc}`: a document's paragraphs in order.
#[derive(Serialize)]
struct DocView<'a> {
    id: &'a str,
    doc: &'a str,
    source: &'a str,
    min_score: f64,
    /// Each paragraph as a line of `xref crossref --format jsonl` (links empty unless asked).
    paragraphs: Vec<ParagraphRecord<'a>>,
}

/// `POST /api/search`: one answer per question.
#[derive(Serialize)]
struct Results {
    results: Vec<Value>,
}

async fn health(State(s): State<Arc<Server>>) -> Response {
    let snap = s.snapshot();
    Json(Health {
        status: "ok",
        model: &snap.index().manifest().model.id,
        generation: &snap.generation,
        documents: snap.index().documents().len(),
        paragraphs: snap.index().len(),
        threshold: output::round(snap.threshold),
        refused: s.refused(),
    })
    .into_response()
}

async fn docs(State(s): State<Arc<Server>>) -> Response {
    let snap = s.snapshot();
    let docs: Vec<DocumentRecord> = snap
        .index()
        .documents()
        .iter()
        .map(DocumentRecord::new)
        .collect();
    Json(docs).into_response()
}

#[derive(Deserialize)]
struct DocParams {
    /// Links per paragraph to include (0: none).
    #[serde(default)]
    links: usize,
    min_score: Option<f32>,
}

/// A document's paragraphs in order, each with its cross-references when `links` > 0.
async fn doc(
    State(s): State<Arc<Server>>,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<DocParams>, QueryRejection>,
) -> ApiResult {
    let Path(id) = id?;
    let Query(p) = params?;
    if p.links > MAX_K {
        return Err(ApiError::bad(format!("links must be at most {MAX_K}")));
    }
    let snap = s.snapshot();
    let idx = snap.index();
    let Some(d) = idx.documents().iter().find(|d| d.id == id) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no document {id:?}"),
        ));
    };
    let min = p.min_score.unwrap_or(snap.threshold);
    let out = tokio::task::block_in_place(|| {
        let k = p.links.max(1);
        let linker = snap.searcher.related_linker(k, min);
        let rows: Vec<usize> = (0..idx.len())
            .filter(|&r| idx.paragraphs().get(r).doc_id == id)
            .collect();
        // Each paragraph's links are independent: ranked in parallel, as `related` ranks
        // them (a passage and its translations one link, those translations attached).
        let related: Vec<Option<Related>> = rows
            .par_iter()
            .map(|&r| {
                (p.links > 0).then(|| {
                    snap.searcher
                        .related_with(&linker, Source::Row(r), k, false)
                })
            })
            .collect();
        let paragraphs = rows
            .iter()
            .zip(&related)
            .map(|(&r, related)| {
                let mut record = ParagraphRecord::new(idx, r, &[]);
                if let Some(related) = related {
                    record.links = related.link_records(idx);
                }
                record
            })
            .collect();
        let view = DocView {
            id: &d.id,
            doc: &d.title,
            source: &d.source,
            min_score: output::round(min),
            paragraphs,
        };
        Json(view).into_response()
    });
    Ok(out)
}

#[derive(Deserialize)]
struct SearchParams {
    q: Option<String>,
    #[serde(default = "default_k")]
    k: usize,
    #[serde(default = "default_mode")]
    mode: Mode,
    doc: Option<String>,
}

#[derive(Deserialize)]
struct SearchBatch {
    queries: Vec<String>,
    #[serde(default = "default_k")]
    k: usize,
    #[serde(default = "default_mode")]
    mode: Mode,
    doc: Option<String>,
}

fn default_k() -> usize {
    10
}
fn default_mode() -> Mode {
    Mode::Hybrid
}

async fn search_get(
    State(s): State<Arc<Server>>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = params?;
    let q = p.q.unwrap_or_default();
    let mut answers = answer(&s, vec![q], p.k, p.mode, p.doc).await?;
    Ok(Json(answers.remove(0)).into_response())
}

async fn search_post(
    State(s): State<Arc<Server>>,
    body: Result<Json<SearchBatch>, JsonRejection>,
) -> ApiResult {
    let Json(b) = body?;
    if b.queries.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_BATCH} questions per request"),
        ));
    }
    let answers = answer(&s, b.queries, b.k, b.mode, b.doc).await?;
    Ok(Json(Results { results: answers }).into_response())
}

/// Answer questions as `xref search --json` does.
async fn answer(
    s: &Arc<Server>,
    questions: Vec<String>,
    k: usize,
    mode: Mode,
    doc: Option<String>,
) -> Result<Vec<Value>, ApiError> {
    let k = check_k(k)?;
    let questions: Vec<String> = questions
        .into_iter()
        .map(|q| q.trim().to_string())
        .collect();
    for q in &questions {
        if q.is_empty() {
            return Err(ApiError::bad("give a question: q=…"));
        }
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a question may have at most {MAX_QUERY_CHARS} characters"),
            ));
        }
    }
    let snap = s.snapshot();
    let allowed = match doc.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => {
            let ids = snap.index().documents_matching(d);
            if ids.is_empty() {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("no document title or id contains {d:?}"),
                ));
            }
            Some(ids)
        }
        None => None,
    };
    let server = s.clone();
    let out = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Value>> {
        let vectors = server.query_vectors(&questions)?;
        let idx = snap.index();
        Ok(questions
            .iter()
            .zip(vectors)
            .map(|(q, v)| {
                let a = snap.searcher.answer(q, &v, k, mode, allowed.as_deref());
                serde_json::to_value(a.record(idx, q))
            })
            .collect::<Result<_, _>>()?)
    })
    .await
    .map_err(|e| anyhow::anyhow!("search task failed: {e}"))??;
    Ok(out)
}

#[derive(Deserialize)]
struct RelatedParams {
    #[serde(default = "default_k")]
    k: usize,
    min_score: Option<f32>,
    #[serde(default)]
    same_doc: bool,
}

async fn related(
    State(s): State<Arc<Server>>,
    id: Result<Path<String>, PathRejection>,
    params: Result<Query<RelatedParams>, QueryRejection>,
) -> ApiResult {
    let Path(id) = id?;
    let Query(p) = params?;
    let k = check_k(p.k)?;
    let snap = s.snapshot();
    let Some(row) = snap.index().row(&id) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no paragraph {id:?}"),
        ));
    };
    let related = tokio::task::block_in_place(|| {
        let min_score = p.min_score.unwrap_or(f32::MIN);
        snap.searcher
            .related(Source::Row(row), k, p.same_doc, min_score)
    });
    Ok(Json(related.record(snap.index(), Some(&id))).into_response())
}

#[derive(Deserialize)]
struct CrossrefParams {
    #[serde(default = "default_format")]
    format: String,
    #[serde(default = "default_k")]
    k: usize,
    min_score: Option<f32>,
}

fn default_format() -> String {
    "jsonl".into()
}

async fn crossref(
    State(s): State<Arc<Server>>,
    params: Result<Query<CrossrefParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = params?;
    let k = check_k(p.k)?;
    let (format, kind) = match p.format.as_str() {
        "jsonl" => (Format::Jsonl, "application/jsonl; charset=utf-8"),
        "csv" => (Format::Csv, "text/csv; charset=utf-8"),
        "md" => (Format::Md, "text/markdown; charset=utf-8"),
        "html" => (Format::Html, "text/html; charset=utf-8"),
        other => {
            return Err(ApiError::bad(format!(
                "unknown format {other:?}: jsonl, csv, md or html"
            )))
        }
    };
    let snap = s.snapshot();
    let body = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let threshold = p.min_score.unwrap_or(snap.threshold);
        let links = snap.linker(k, threshold).crossref();
        let about = About {
            model: snap.index().manifest().model.id.clone(),
            k,
            min_score: threshold,
            threshold_note: match p.min_score {
                Some(_) => "set with min_score".into(),
                None => "calibrated on the corpus".into(),
            },
        };
        output::render_crossref(format, snap.index(), &links, &about)
    })
    .await
    .map_err(|e| anyhow::anyhow!("crossref task failed: {e}"))??;
    Ok(([(header::CONTENT_TYPE, kind)], body).into_response())
}
