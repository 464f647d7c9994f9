//! The Open Inference Protocol (KServe v2) inside the module: `--oip` reads an inference
//! request on stdin and writes the response on stdout, `--oip-metadata` prints the model's
//! metadata. The host that serves the module (`model-server`) passes request bodies through
//! unread, so untrusted parsing stays in the sandbox and the host stays model-agnostic.
//!
//! Both encodings of tensor data are read and written: JSON (`"data": [...]`) and the binary
//! tensor extension (a JSON header of `Inference-Header-Content-Length` bytes followed by raw
//! little-endian tensors; a `BYTES` element is a 4-byte length and the bytes). A request's
//! tensors become the model's own JSON inputs, one per row, and go through the same parsing and
//! validation as the command line's, so both paths answer alike.
//!
//! The response is one line of compact JSON (which never holds a raw newline) followed, when
//! binary outputs were asked for, by their bytes: the host takes the header length from the
//! first newline.
//!
//! - `types`: a model's signature and answers, and the protocol's request body;
//! - `request`: reading a request into the model's JSON inputs, with `tensor` decoding
//!   each input tensor from either encoding;
//! - `response`: writing the metadata and inference responses.

mod request;
mod response;
mod tensor;
mod types;

pub use request::read_request;
pub use response::{PLATFORM, metadata, write_response};
pub use types::{Inputs, OutputRow, Request, Signature, TensorSpec};

#[cfg(test)]
mod tests;
