//! The shapes of the protocol: a model's signature and answers, the request body as sent, and
//! what a read request asks of the module.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One tensor of a model's signature: its OIP name, datatype and shape (-1: any length).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorSpec {
    pub name: &'static str,
    pub datatype: &'static str,
    pub shape: Vec<i64>,
}

impl TensorSpec {
    /// A tensor of one element per input: shape `[-1]`.
    pub fn per_input(name: &'static str, datatype: &'static str) -> Self {
        Self {
            name,
            datatype,
            shape: vec![-1],
        }
    }
}

/// How a request's tensors become the model's JSON inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inputs {
    /// One tensor per key of the model's JSON object, one element per input (shape `[N]` or
    /// `[N, 1]`): row `i` of every tensor makes input `i`.
    Fields(Vec<TensorSpec>),
    /// One tensor whose rows are the inputs, each a JSON array of numbers (shape `[N, ...]`
    /// whose trailing dimensions hold one input).
    Rows(TensorSpec),
}

/// A model's tensors, for `--oip-metadata` and for reading requests and writing responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub inputs: Inputs,
    pub outputs: Vec<TensorSpec>,
}

/// One answer's share of an output tensor, in the order of [`Signature::outputs`].
#[derive(Debug, Clone, PartialEq)]
pub enum OutputRow {
    Bytes(String),
    Fp32(Vec<f32>),
    Int64(i64),
}

/// An inference request as sent (the JSON part of a binary body).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InferRequest {
    #[serde(default)]
    pub(super) id: Option<String>,
    /// Sent by some clients (the kserve SDK) though the path names the model; not used.
    #[serde(default, rename = "model_name")]
    _model_name: Option<String>,
    #[serde(default, rename = "model_version")]
    _model_version: Option<String>,
    #[serde(default)]
    pub(super) parameters: Option<Map<String, Value>>,
    pub(super) inputs: Vec<RequestInput>,
    #[serde(default)]
    pub(super) outputs: Option<Vec<RequestOutput>>,
}

/// One input tensor as sent: its elements in `data` or, in binary, after the JSON part.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestInput {
    pub(super) name: String,
    pub(super) shape: Vec<i64>,
    pub(super) datatype: String,
    #[serde(default)]
    pub(super) parameters: Option<Map<String, Value>>,
    #[serde(default)]
    pub(super) data: Option<Value>,
}

/// One output a request asks for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestOutput {
    pub(super) name: String,
    #[serde(default)]
    pub(super) parameters: Option<Map<String, Value>>,
}

/// What `--oip` was asked to do.
#[derive(Debug)]
pub struct Request {
    /// The model's JSON inputs, one per row, in order.
    pub inputs: Vec<Value>,
    pub(super) id: Option<String>,
    /// The outputs to send, and whether each goes in binary.
    pub(super) outputs: Vec<(usize, bool)>,
}
