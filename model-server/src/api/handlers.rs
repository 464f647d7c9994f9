//! One function per endpoint.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use super::bodies::{
    HEADER_LENGTH, IndexRequest, PlainQuery, VERSION, oip_response, plain_response,
};
use super::error::ApiError;
use super::{AppState, Shared};
use crate::compile::first_line;
use crate::repository::{Model, State as ModelState};
use crate::sandbox::{Outcome, Usage};

pub(super) async fn not_found() -> ApiError {
    ApiError::NoEndpoint
}

pub(super) async fn live() -> Response {
    axum::Json(json!({ "live": true })).into_response()
}

pub(super) async fn ready(State(state): State<Shared>) -> Response {
    let ready = state.loaded.load(Ordering::Acquire);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(json!({ "ready": ready }))).into_response()
}

pub(super) async fn server_metadata() -> Response {
    axum::Json(json!({
        "name": "model-server",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["model_repository", "binary_tensor_data"],
    }))
    .into_response()
}

/// The named graphs the host holds for wasi-nn (`--graph`), with their tensors: what a
/// named-graph module may ask for.
pub(super) async fn graphs(State(state): State<Arc<AppState>>) -> Response {
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

/// A model's endpoint path: `/v2/models/{name}…` or `/v2/models/{name}/versions/{version}…`.
#[derive(Debug, Deserialize)]
pub(super) struct ModelPath {
    name: String,
    version: Option<String>,
}

impl ModelPath {
    /// The model's name, once a version in the path is found to be the one served.
    fn name(self) -> Result<String, ApiError> {
        match self.version {
            Some(version) if version != VERSION => Err(ApiError::NoSuchVersion {
                name: self.name,
                version,
            }),
            _ => Ok(self.name),
        }
    }
}

pub(super) async fn model_metadata(
    State(state): State<Shared>,
    Path(path): Path<ModelPath>,
) -> Result<Response, ApiError> {
    let name = path.name()?;
    let model = ready_model(&state, &name)?;
    Ok(axum::Json(model.metadata.clone()).into_response())
}

pub(super) async fn model_ready(
    State(state): State<Shared>,
    Path(path): Path<ModelPath>,
) -> Result<Response, ApiError> {
    let name = path.name()?;
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

pub(super) async fn infer(
    State(state): State<Shared>,
    Path(path): Path<ModelPath>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let name = path.name()?;
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

/// `POST /models/{name}`: the body is the module's own JSON input (what the command line
/// takes), the answer its output lines; `?json=true` for `--json`.
pub(super) async fn plain(
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

pub(super) async fn repository_index(
    State(state): State<Shared>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: IndexRequest = if body.iter().all(u8::is_ascii_whitespace) {
        IndexRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(ApiError::MalformedIndexRequest)?
    };
    Ok(axum::Json(state.repository.index(request.ready)).into_response())
}

pub(super) async fn repository_load(
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

pub(super) async fn repository_unload(
    State(state): State<Shared>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    if !state.repository.unload(&name) {
        return Err(ApiError::UnknownModel(name));
    }
    tracing::info!(target: "repository", "{name}: unloaded");
    Ok(axum::Json(json!({})).into_response())
}

pub(super) async fn metrics(State(state): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}
