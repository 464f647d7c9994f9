//! The HTTP API: the Open Inference Protocol's REST endpoints (health, server and model
//! metadata, readiness, infer), its model repository extension, a plain endpoint that takes a
//! module's own JSON, and `/metrics`. Request bodies are handed to the module unread: the
//! module parses them inside its sandbox.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::compile::first_line;
use crate::metrics::Metrics;
use crate::repository::{LoadError, Model, Repository, State as ModelState};
use crate::sandbox::{Outcome, Usage};

/// The binary tensor extension's header: the length of the JSON part of a body.
const HEADER_LENGTH: &str = "inference-header-content-length";
/// The only version each model has.
const VERSION: &str = "1";

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) repository: Arc<Repository>,
    pub(crate) metrics: Metrics,
    /// Runs at once over all models.
    pub(crate) workers: Semaphore,
    /// Set once the models found at start have been loaded (ready or not).
    pub(crate) loaded: AtomicBool,
}

type Shared = Arc<AppState>;

/// The API; with `site` (`--web DIR`), the assembled browser page at `/` for every other path.
pub(crate) fn router(state: Shared, max_body: usize, site: Option<&std::path::Path>) -> Router {
    let api = Router::new()
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/v2", get(server_metadata))
        .route("/v2/models/{name}", get(model_metadata))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(model_metadata_version),
        )
        .route("/v2/models/{name}/ready", get(model_ready))
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(model_ready_version),
        )
        .route("/v2/models/{name}/infer", post(infer))
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(infer_version),
        )
        .route("/v2/repository/index", post(repository_index))
        .route("/v2/repository/models/{name}/load", post(repository_load))
        .route(
            "/v2/repository/models/{name}/unload",
            post(repository_unload),
        )
        .route("/models/{name}", post(plain))
        .route("/v2/graphs", get(graphs))
        .route("/metrics", get(metrics));
    let api = match site {
        Some(site) => api.fallback_service(web::router(site)),
        None => api.fallback(not_found),
    };
    api.layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(
            max_body,
            refuse_announced_oversize,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), log_and_count))
        .with_state(state)
}

/// An error answer: `{"error": "..."}` with the protocol's status codes.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: bool,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: false,
        }
    }

    fn unknown_model(name: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("unknown model '{name}'"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, axum::Json(json!({ "error": self.message }))).into_response();
        if self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// What a handler that ran a model tells the request log and the metrics.
#[derive(Debug, Clone)]
struct RunRecord {
    model: String,
    usage: Option<Usage>,
}

async fn log_and_count(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    let record = response.extensions().get::<RunRecord>().cloned();
    if let Some(record) = &record {
        state.metrics.request(&record.model, status, took);
        if let Some(usage) = &record.usage {
            state.metrics.run(&record.model, usage);
        }
    }
    let model = record.as_ref().map_or("", |r| r.model.as_str());
    let usage = record.as_ref().and_then(|r| r.usage).unwrap_or_default();
    tracing::info!(
        target: "request",
        %method,
        path,
        status,
        model,
        micros = took.as_micros() as u64,
        instantiate_micros = usage.instantiate.as_micros() as u64,
        run_micros = usage.run.as_micros() as u64,
        fuel = usage.fuel,
        memory_bytes = usage.memory_bytes,
    );
    response
}

/// A body whose Content-Length is over the limit is refused before any of it is read
/// (bodies without one are cut off at the limit as they are read).
async fn refuse_announced_oversize(
    State(max_body): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > max_body as u64) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than the server's limit of {max_body} bytes (--max-body-kib)"
            ),
        )
        .into_response();
    }
    next.run(request).await
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
}

async fn live() -> Response {
    axum::Json(json!({ "live": true })).into_response()
}

async fn ready(State(state): State<Shared>) -> Response {
    let ready = state.loaded.load(Ordering::Acquire);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(json!({ "ready": ready }))).into_response()
}

async fn server_metadata() -> Response {
    axum::Json(json!({
        "name": "model-server",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["model_repository", "binary_tensor_data"],
    }))
    .into_response()
}

/// The named graphs the host holds for wasi-nn (`--graph`), with their tensors: what a
/// named-graph module may ask for.
async fn graphs(State(state): State<Arc<AppState>>) -> Response {
    let graphs: Vec<serde_json::Value> = state
        .repository
        .graphs()
        .hosted()
        .iter()
        .map(|graph| graph.describe())
        .collect();
    axum::Json(json!({ "graphs": graphs })).into_response()
}

/// The model of that name if it is ready; 404 when unknown, 503 with the reason otherwise.
fn ready_model(state: &AppState, name: &str) -> Result<Arc<Model>, ApiError> {
    match state.repository.state(name) {
        Some(ModelState::Ready(model)) => Ok(model),
        Some(ModelState::Unavailable(reason)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("model '{name}' is not ready: {reason}"),
        )),
        None => Err(ApiError::unknown_model(name)),
    }
}

fn check_version(name: &str, version: &str) -> Result<(), ApiError> {
    if version == VERSION {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        format!("model '{name}' has no version '{version}' (its one version is {VERSION})"),
    ))
}

async fn model_metadata(State(state): State<Shared>, Path(name): Path<String>) -> Response {
    match ready_model(&state, &name) {
        Ok(model) => axum::Json(model.metadata.clone()).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn model_metadata_version(
    state: State<Shared>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    if let Err(error) = check_version(&name, &version) {
        return error.into_response();
    }
    model_metadata(state, Path(name)).await
}

async fn model_ready(State(state): State<Shared>, Path(name): Path<String>) -> Response {
    let ready = match state.repository.state(&name) {
        Some(ModelState::Ready(_)) => true,
        Some(ModelState::Unavailable(_)) => false,
        None => return ApiError::unknown_model(&name).into_response(),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(json!({ "name": name, "ready": ready }))).into_response()
}

async fn model_ready_version(
    state: State<Shared>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    if let Err(error) = check_version(&name, &version) {
        return error.into_response();
    }
    model_ready(state, Path(name)).await
}

/// The body, or the protocol's error for one that could not be read (413 when too large).
fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the request body is larger than the server's limit (--max-body-kib)".to_owned()
        } else {
            format!("cannot read the request body: {}", rejection.body_text())
        };
        ApiError::new(status, message)
    })
}

async fn infer(
    State(state): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let model = match ready_model(&state, &name) {
        Ok(model) => model,
        Err(error) => return with_record(error.into_response(), &name, None),
    };
    let mut args = vec!["--oip".to_owned()];
    if let Some(length) = headers.get(HEADER_LENGTH) {
        let Some(length) = length
            .to_str()
            .ok()
            .and_then(|l| l.trim().parse::<usize>().ok())
        else {
            let error = ApiError::new(
                StatusCode::BAD_REQUEST,
                "the Inference-Header-Content-Length header is not a byte count",
            );
            return with_record(error.into_response(), &name, None);
        };
        args.push("--inference-header-content-length".to_owned());
        args.push(length.to_string());
    }
    answer(&state, &model, args, body, oip_response).await
}

async fn infer_version(
    state: State<Shared>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(error) = check_version(&name, &version) {
        return with_record(error.into_response(), &name, None);
    }
    infer(state, Path(name), headers, body).await
}

#[derive(Debug, Deserialize)]
struct PlainQuery {
    #[serde(default)]
    json: bool,
}

/// `POST /models/{name}`: the body is the module's own JSON input (what the command line
/// takes), the answer its output lines; `?json=true` for `--json`.
async fn plain(
    State(state): State<Shared>,
    Path(name): Path<String>,
    Query(query): Query<PlainQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let model = match ready_model(&state, &name) {
        Ok(model) => model,
        Err(error) => return with_record(error.into_response(), &name, None),
    };
    let mut args = Vec::new();
    if query.json {
        args.push("--json".to_owned());
    }
    args.push("-".to_owned());
    answer(&state, &model, args, body, plain_response).await
}

/// Runs the model on the body and turns its exit into an HTTP answer.
async fn answer(
    state: &AppState,
    model: &Arc<Model>,
    args: Vec<String>,
    body: Result<Bytes, BytesRejection>,
    success: fn(Bytes) -> Response,
) -> Response {
    let name = model.name.clone();
    let body = match body_or_error(body) {
        Ok(body) => body,
        Err(error) => return with_record(error.into_response(), &name, None),
    };
    if body.len() > model.limits.body_bytes {
        let error = ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is {} bytes, more than model '{name}' takes ({} bytes)",
                body.len(),
                model.limits.body_bytes
            ),
        );
        return with_record(error.into_response(), &name, None);
    }
    let (outcome, usage) = match execute(state, model, args, body).await {
        Ok(result) => result,
        Err(error) => return with_record(error.into_response(), &name, None),
    };
    let response = match outcome {
        Outcome::Exited {
            code: 0, stdout, ..
        } => success(stdout),
        Outcome::Exited {
            code: 2, stderr, ..
        } => ApiError::new(StatusCode::BAD_REQUEST, first_line(&stderr)).into_response(),
        Outcome::Exited { code, stderr, .. } => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "model '{name}' failed (exit code {code}): {}",
                first_line(&stderr)
            ),
        )
        .into_response(),
        Outcome::Stopped(stopped) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("model '{name}' {stopped}; this request failed, the server goes on"),
        )
        .into_response(),
    };
    with_record(response, &name, Some(usage))
}

/// Waits for a turn (503 when the model's queue is full), then runs the model.
async fn execute(
    state: &AppState,
    model: &Arc<Model>,
    args: Vec<String>,
    body: Bytes,
) -> Result<(Outcome, Usage), ApiError> {
    let Ok(_admitted) = model.admitted.try_acquire() else {
        let mut error = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "model '{}' is at its limit of {} running and {} waiting requests; retry later",
                model.name, model.limits.concurrency, model.limits.queue
            ),
        );
        error.retry_after = true;
        return Err(error);
    };
    let closed = |_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        )
    };
    let _running = model.running.acquire().await.map_err(closed)?;
    let _worker = state.workers.acquire().await.map_err(closed)?;
    // On this task: no hand-over to another thread and back per request (BENCHMARKS.md).
    Ok(model.run(state.repository.sandbox(), &args, body).await)
}

/// The module's `--oip` output: JSON alone, or a JSON header then binary outputs.
fn oip_response(stdout: Bytes) -> Response {
    let header_end = stdout.iter().position(|&b| b == b'\n').map(|i| i + 1);
    match header_end {
        Some(end) if end < stdout.len() => {
            let mut response = Response::new(Body::from(stdout));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            headers.insert(HEADER_LENGTH, HeaderValue::from(end));
            response
        }
        _ => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            stdout,
        )
            .into_response(),
    }
}

fn plain_response(stdout: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        stdout,
    )
        .into_response()
}

fn with_record(mut response: Response, model: &str, usage: Option<Usage>) -> Response {
    response.extensions_mut().insert(RunRecord {
        model: model.to_owned(),
        usage,
    });
    response
}

#[derive(Debug, Default, Deserialize)]
struct IndexRequest {
    #[serde(default)]
    ready: bool,
}

async fn repository_index(State(state): State<Shared>, body: Bytes) -> Response {
    let request: IndexRequest = if body.iter().all(u8::is_ascii_whitespace) {
        IndexRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(e) => {
                return ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("malformed repository index request ({e})"),
                )
                .into_response();
            }
        }
    };
    axum::Json(state.repository.index(request.ready)).into_response()
}

async fn repository_load(State(state): State<Shared>, Path(name): Path<String>) -> Response {
    let repository = state.repository.clone();
    let loaded = tokio::task::spawn_blocking(move || repository.load(&name)).await;
    match loaded {
        Ok(Ok(line)) => {
            tracing::info!(target: "repository", "{line}");
            axum::Json(json!({})).into_response()
        }
        Ok(Err(LoadError::NotFound(name))) => ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no module for model '{name}' in the models directory"),
        )
        .into_response(),
        Ok(Err(LoadError::Failed(reason))) => {
            ApiError::new(StatusCode::BAD_REQUEST, format!("failed to load: {reason}"))
                .into_response()
        }
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn repository_unload(State(state): State<Shared>, Path(name): Path<String>) -> Response {
    if state.repository.unload(&name) {
        tracing::info!(target: "repository", "{name}: unloaded");
        return axum::Json(json!({})).into_response();
    }
    ApiError::unknown_model(&name).into_response()
}

async fn metrics(State(state): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}
