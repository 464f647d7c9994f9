//! Every refusal the API gives, and the one place it becomes an answer.

use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::bodies::VERSION;
use crate::repository::LoadError;
use crate::sandbox::Stopped;

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
pub(super) struct Refused;
