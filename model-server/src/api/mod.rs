//! The HTTP API: the Open Inference Protocol's REST endpoints (health, server and model
//! metadata, readiness, infer), its model repository extension, a plain endpoint that takes a
//! module's own JSON, and `/metrics`. Request bodies are handed to the module unread: the
//! module parses them inside its sandbox.
//!
//! - [`handlers`]: one function per endpoint;
//! - [`bodies`]: what the API reads (queries, the repository's requests) and how a module's
//!   output becomes the answer;
//! - [`error`]: every refusal, and the one place it becomes an answer;
//! - [`layers`]: the request log and metrics, and the body limit announced in the headers.

mod bodies;
mod error;
mod handlers;
mod layers;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{MethodRouter, get, post};
use tokio::sync::Semaphore;

use crate::metrics::Metrics;
use crate::repository::Repository;
use handlers::{
    graphs, infer, live, metrics, model_metadata, model_ready, not_found, plain, ready,
    repository_index, repository_load, repository_unload, server_metadata,
};

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
    let runs = model_route("/infer", post(infer))
        .route("/models/{name}", post(plain))
        .route_layer(middleware::from_fn(layers::record_model));
    let api = Router::new()
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/v2", get(server_metadata))
        .merge(model_route("", get(model_metadata)))
        .merge(model_route("/ready", get(model_ready)))
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
            layers::refuse_announced_oversize,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            layers::log_and_count,
        ))
        .with_state(state)
}

/// A model endpoint at both its paths: `/v2/models/{name}{tail}` and the one that names the
/// version, `/v2/models/{name}/versions/{version}{tail}`.
fn model_route(tail: &str, handler: MethodRouter<Shared>) -> Router<Shared> {
    Router::new()
        .route(&format!("/v2/models/{{name}}{tail}"), handler.clone())
        .route(
            &format!("/v2/models/{{name}}/versions/{{version}}{tail}"),
            handler,
        )
}
