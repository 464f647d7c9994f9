//! The HTTP API: the Open Inference Protocol's REST endpoints (health, server and model
//! metadata, readiness, infer), its model repository extension, a plain endpoint that takes a
//! module's own JSON, and `/metrics`. Request bodies are handed to the module unread: the
//! module parses them inside its sandbox.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{BytesRejection, RawPathParamsRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, RawPathParams, Request, State};
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
use crate::sandbox::{Outcome, Stopped, Usage};

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
    // The routes that run a model: each answer is counted under it.
    let runs = Router::new()
        .route("/v2/models/{name}/infer", post(infer))
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(infer_version),
        )
        .route("/models/{name}", post(plain))
        .route_layer(middleware::from_fn(record_model));
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
        .merge(runs)
        .route("/v2/repository/index", post(repository_index))
        .route("/v2/repository/models/{name}/load", post(repository_load))
        .route(
            "/v2/repository/models/{name}/unload",
            post(repository_unload),
        )
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

/// Why a request got an error answer: `{"error": "..."}` with the protocol's status code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("no such endpoint")]
    NoEndpoint,
    #[error("unknown model '{0}'")]
    UnknownModel(String),
    #[error("model '{name}' is not ready: {reason}")]
    NotReady { name: String, reason: String },
    #[error("model '{name}' has no version '{version}' (its one version is {VERSION})")]
    NoSuchVersion { name: String, version: String },
    /// Refused on its Content-Length, before any of the body was read.
    #[error("the request body is larger than the server's limit of {0} bytes (--max-body-kib)")]
    AnnouncedOversize(usize),
    /// Cut off at the server's limit as it was read.
    #[error("the request body is larger than the server's limit (--max-body-kib)")]
    BodyOverLimit,
    #[error("cannot read the request body: {}", .0.body_text())]
    UnreadableBody(BytesRejection),
    #[error("the request body is {length} bytes, more than model '{name}' takes ({limit} bytes)")]
    BodyOverModelLimit {
        name: String,
        length: usize,
        limit: usize,
    },
    #[error("the Inference-Header-Content-Length header is not a byte count")]
    HeaderLength,
    #[error(
        "model '{name}' is at its limit of {concurrency} running and {queue} waiting requests; retry later"
    )]
    Busy {
        name: String,
        concurrency: usize,
        queue: usize,
    },
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The module refused the input (exit code 2): the first line of what it wrote.
    #[error("{0}")]
    BadInput(String),
    #[error("model '{name}' failed (exit code {code}): {message}")]
    ModelFailed {
        name: String,
        code: i32,
        message: String,
    },
    #[error("model '{name}' {stopped}; this request failed, the server goes on")]
    ModelStopped { name: String, stopped: Stopped },
    #[error("malformed repository index request ({0})")]
    MalformedIndexRequest(serde_json::Error),
    #[error("no module for model '{0}' in the models directory")]
    NoModule(String),
    #[error("failed to load: {0}")]
    LoadFailed(String),
    /// The blocking task that loads a model panicked.
    #[error("{0}")]
    LoadTask(tokio::task::JoinError),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NoEndpoint
            | Self::UnknownModel(_)
            | Self::NoSuchVersion { .. }
            | Self::NoModule(_) => StatusCode::NOT_FOUND,
            Self::NotReady { .. } | Self::Busy { .. } | Self::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::AnnouncedOversize(_) | Self::BodyOverLimit | Self::BodyOverModelLimit { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::UnreadableBody(rejection) => rejection.status(),
            Self::HeaderLength
            | Self::BadInput(_)
            | Self::MalformedIndexRequest(_)
            | Self::LoadFailed(_) => StatusCode::BAD_REQUEST,
            Self::ModelFailed { .. } | Self::ModelStopped { .. } | Self::LoadTask(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::BodyOverLimit
        } else {
            Self::UnreadableBody(rejection)
        }
    }
}

impl From<LoadError> for ApiError {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::NotFound(name) => Self::NoModule(name),
            LoadError::Failed(reason) => Self::LoadFailed(reason),
        }
    }
}

/// The one place an error becomes an answer.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response =
            (status, axum::Json(json!({ "error": self.to_string() }))).into_response();
        if matches!(self, Self::Busy { .. }) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response.extensions_mut().insert(Refused);
        response
    }
}

/// Marks an error answer as a handler's own, so that a model's count includes the requests its
/// handler refused but not those the router refused before any handler ran (a path or query
/// that does not parse, a method the route does not take).
#[derive(Debug, Clone, Copy)]
struct Refused;

/// What the request log and the metrics record of a request to run a model.
#[derive(Debug, Clone)]
struct RunRecord {
    model: String,
    /// What the run cost; `None` when the request was refused before it ran.
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

/// On the routes that run a model: the answer is recorded under the model its path names, with
/// the run's [`Usage`] when the handler got as far as running it.
async fn record_model(
    params: Result<RawPathParams, RawPathParamsRejection>,
    request: Request,
    next: Next,
) -> Response {
    let model = params.ok().and_then(|params| {
        params
            .iter()
            .find(|(key, _)| *key == "name")
            .map(|(_, value)| value.to_owned())
    });
    let mut response = next.run(request).await;
    let usage = response.extensions().get::<Usage>().copied();
    let answered = usage.is_some() || response.extensions().get::<Refused>().is_some();
    if let Some(model) = model.filter(|_| answered) {
        response.extensions_mut().insert(RunRecord { model, usage });
    }
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
        return ApiError::AnnouncedOversize(max_body).into_response();
    }
    next.run(request).await
}

async fn not_found() -> ApiError {
    ApiError::NoEndpoint
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
        Some(ModelState::Unavailable(reason)) => Err(ApiError::NotReady {
            name: name.to_owned(),
            reason,
        }),
        None => Err(ApiError::UnknownModel(name.to_owned())),
    }
}

fn check_version(name: &str, version: &str) -> Result<(), ApiError> {
    if version == VERSION {
        return Ok(());
    }
    Err(ApiError::NoSuchVersion {
        name: name.to_owned(),
        version: version.to_owned(),
    })
}

async fn model_metadata(
    State(state): State<Shared>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let model = ready_model(&state, &name)?;
    Ok(axum::Json(model.metadata.clone()).into_response())
}

async fn model_metadata_version(
    state: State<Shared>,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    check_version(&name, &version)?;
    model_metadata(state, Path(name)).await
}

async fn model_ready(
    State(state): State<Shared>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let ready = match state.repository.state(&name) {
        Some(ModelState::Ready(_)) => true,
        Some(ModelState::Unavailable(_)) => false,
        None => return Err(ApiError::UnknownModel(name)),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((status, axum::Json(json!({ "name": name, "ready": ready }))).into_response())
}

async fn model_ready_version(
    state: State<Shared>,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    check_version(&name, &version)?;
    model_ready(state, Path(name)).await
}

async fn infer(
    State(state): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let model = ready_model(&state, &name)?;
    let mut args = vec!["--oip".to_owned()];
    if let Some(length) = headers.get(HEADER_LENGTH) {
        let length = length
            .to_str()
            .ok()
            .and_then(|l| l.trim().parse::<usize>().ok())
            .ok_or(ApiError::HeaderLength)?;
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
) -> Result<Response, ApiError> {
    check_version(&name, &version)?;
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
) -> Result<Response, ApiError> {
    let model = ready_model(&state, &name)?;
    let mut args = Vec::new();
    if query.json {
        args.push("--json".to_owned());
    }
    args.push("-".to_owned());
    answer(&state, &model, args, body, plain_response).await
}

/// Runs the model on the body. Once it ran, its answer (an error included) carries what the
/// run cost, for the request log and the metrics.
async fn answer(
    state: &AppState,
    model: &Arc<Model>,
    args: Vec<String>,
    body: Result<Bytes, BytesRejection>,
    success: fn(Bytes) -> Response,
) -> Result<Response, ApiError> {
    let body = body?;
    if body.len() > model.limits.body_bytes {
        return Err(ApiError::BodyOverModelLimit {
            name: model.name.clone(),
            length: body.len(),
            limit: model.limits.body_bytes,
        });
    }
    let (outcome, usage) = execute(state, model, args, body).await?;
    let mut response = exit_answer(outcome, &model.name, success).into_response();
    response.extensions_mut().insert(usage);
    Ok(response)
}

/// The module's stdout when it exited with 0, the protocol's error otherwise.
fn exit_answer(
    outcome: Outcome,
    name: &str,
    success: fn(Bytes) -> Response,
) -> Result<Response, ApiError> {
    match outcome {
        Outcome::Exited {
            code: 0, stdout, ..
        } => Ok(success(stdout)),
        Outcome::Exited {
            code: 2, stderr, ..
        } => Err(ApiError::BadInput(first_line(&stderr))),
        Outcome::Exited { code, stderr, .. } => Err(ApiError::ModelFailed {
            name: name.to_owned(),
            code,
            message: first_line(&stderr),
        }),
        Outcome::Stopped(stopped) => Err(ApiError::ModelStopped {
            name: name.to_owned(),
            stopped,
        }),
    }
}

/// Waits for a turn (503 when the model's queue is full), then runs the model.
async fn execute(
    state: &AppState,
    model: &Arc<Model>,
    args: Vec<String>,
    body: Bytes,
) -> Result<(Outcome, Usage), ApiError> {
    let Ok(_admitted) = model.admitted.try_acquire() else {
        return Err(ApiError::Busy {
            name: model.name.clone(),
            concurrency: model.limits.concurrency,
            queue: model.limits.queue,
        });
    };
    let closed = |_| ApiError::ShuttingDown;
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

#[derive(Debug, Default, Deserialize)]
struct IndexRequest {
    #[serde(default)]
    ready: bool,
}

async fn repository_index(State(state): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let request: IndexRequest = if body.iter().all(u8::is_ascii_whitespace) {
        IndexRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(ApiError::MalformedIndexRequest)?
    };
    Ok(axum::Json(state.repository.index(request.ready)).into_response())
}

async fn repository_load(
    State(state): State<Shared>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let repository = state.repository.clone();
    let line = tokio::task::spawn_blocking(move || repository.load(&name))
        .await
        .map_err(ApiError::LoadTask)??;
    tracing::info!(target: "repository", "{line}");
    Ok(axum::Json(json!({})).into_response())
}

async fn repository_unload(
    State(state): State<Shared>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    if !state.repository.unload(&name) {
        return Err(ApiError::UnknownModel(name));
    }
    tracing::info!(target: "repository", "{name}: unloaded");
    Ok(axum::Json(json!({})).into_response())
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
