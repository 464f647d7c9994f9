//! What wraps the handlers: the request log and the metrics, and the refusal of a body whose
//! announced length is over the limit.

use std::time::Instant;

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::error::{ApiError, Refused};
use crate::sandbox::Usage;

/// What the request log and the metrics record of a request to run a model.
#[derive(Debug, Clone)]
struct RunRecord {
    model: String,
    /// What the run cost; `None` when the request was refused before it ran.
    usage: Option<Usage>,
}

/// The request log line of every request, and the metrics of those recorded under a model.
pub(super) async fn log_and_count(
    State(state): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
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
pub(super) async fn record_model(
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
pub(super) async fn refuse_announced_oversize(
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
