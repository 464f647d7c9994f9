//! What the API reads besides the bodies it hands to a module, and how a module's output
//! becomes the answer.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;

/// The binary tensor extension's header: the length of the JSON part of a body.
pub(super) const HEADER_LENGTH: &str = "inference-header-content-length";
/// The only version each model has.
pub(super) const VERSION: &str = "1";

/// The query of `POST /models/{name}`: `?json=true` asks the module for `--json`.
#[derive(Debug, Deserialize)]
pub(super) struct PlainQuery {
    #[serde(default)]
    pub(super) json: bool,
}

/// The body of `POST /v2/repository/index` (may be empty): `{"ready": true}` lists only the
/// ready models.
#[derive(Debug, Default, Deserialize)]
pub(super) struct IndexRequest {
    #[serde(default)]
    pub(super) ready: bool,
}

/// The module's `--oip` output: JSON alone, or a JSON header then binary outputs.
pub(super) fn oip_response(stdout: Bytes) -> Response {
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

pub(super) fn plain_response(stdout: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        stdout,
    )
        .into_response()
}
