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

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

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

/// The platform this project's modules report in their metadata.
pub const PLATFORM: &str = "burn_wasm32-wasip1";

/// `--oip-metadata`: the model metadata response of the protocol.
pub fn metadata(name: &str, signature: &Signature) -> Value {
    let inputs = match &signature.inputs {
        Inputs::Fields(fields) => fields.clone(),
        Inputs::Rows(rows) => vec![rows.clone()],
    };
    serde_json::json!({
        "name": name,
        "versions": ["1"],
        "platform": PLATFORM,
        "inputs": inputs,
        "outputs": signature.outputs,
    })
}

/// Largest number of elements a request may declare: far beyond any input a module accepts,
/// and small enough that no count overflows.
const MAX_ELEMENTS: u64 = 1 << 32;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InferRequest {
    #[serde(default)]
    id: Option<String>,
    /// Sent by some clients (the kserve SDK) though the path names the model; not used.
    #[serde(default, rename = "model_name")]
    _model_name: Option<String>,
    #[serde(default, rename = "model_version")]
    _model_version: Option<String>,
    #[serde(default)]
    parameters: Option<Map<String, Value>>,
    inputs: Vec<RequestInput>,
    #[serde(default)]
    outputs: Option<Vec<RequestOutput>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestInput {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: Option<Map<String, Value>>,
    #[serde(default)]
    data: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestOutput {
    name: String,
    #[serde(default)]
    parameters: Option<Map<String, Value>>,
}

/// A decoded input tensor.
#[derive(Debug)]
struct Tensor {
    name: String,
    shape: Vec<usize>,
    elements: Elements,
}

#[derive(Debug)]
enum Elements {
    Numbers(Vec<f64>),
    Bools(Vec<bool>),
    Texts(Vec<String>),
}

impl Elements {
    fn len(&self) -> usize {
        match self {
            Elements::Numbers(v) => v.len(),
            Elements::Bools(v) => v.len(),
            Elements::Texts(v) => v.len(),
        }
    }

    /// Element `i` as the JSON value the model's input parser reads.
    fn json(&self, i: usize, tensor: &str) -> Result<Value, String> {
        match self {
            Elements::Numbers(v) => Number::from_f64(v[i]).map(Value::Number).ok_or_else(|| {
                format!("input '{tensor}' element {i} is not a finite number; give finite numbers")
            }),
            Elements::Bools(v) => Ok(Value::Bool(v[i])),
            Elements::Texts(v) => Ok(Value::String(v[i].clone())),
        }
    }
}

/// An element type of the protocol: its size in the binary encoding and how it decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Datatype {
    Bool,
    Unsigned(usize),
    Signed(usize),
    Float(usize),
    Bytes,
}

impl Datatype {
    fn parse(name: &str, tensor: &str) -> Result<Self, String> {
        Ok(match name {
            "BOOL" => Datatype::Bool,
            "UINT8" => Datatype::Unsigned(1),
            "UINT16" => Datatype::Unsigned(2),
            "UINT32" => Datatype::Unsigned(4),
            "UINT64" => Datatype::Unsigned(8),
            "INT8" => Datatype::Signed(1),
            "INT16" => Datatype::Signed(2),
            "INT32" => Datatype::Signed(4),
            "INT64" => Datatype::Signed(8),
            "FP32" => Datatype::Float(4),
            "FP64" => Datatype::Float(8),
            "BYTES" => Datatype::Bytes,
            "FP16" | "BF16" => {
                return Err(format!(
                    "input '{tensor}' has datatype {name}, which this server does not read; send FP32"
                ));
            }
            other => {
                return Err(format!(
                    "input '{tensor}' has unknown datatype '{other}' (BOOL, UINT8-64, INT8-64, FP32, FP64, BYTES)"
                ));
            }
        })
    }

    /// Bytes per element in the binary encoding; `None` for BYTES (length-prefixed).
    fn width(self) -> Option<usize> {
        match self {
            Datatype::Bool => Some(1),
            Datatype::Unsigned(w) | Datatype::Signed(w) | Datatype::Float(w) => Some(w),
            Datatype::Bytes => None,
        }
    }
}

/// What `--oip` was asked to do.
#[derive(Debug)]
pub struct Request {
    /// The model's JSON inputs, one per row, in order.
    pub inputs: Vec<Value>,
    id: Option<String>,
    /// The outputs to send, and whether each goes in binary.
    outputs: Vec<(usize, bool)>,
}

/// Reads an inference request: `body` is the HTTP body, `header_length` the value of
/// `Inference-Header-Content-Length` when the body carries binary tensors.
pub fn read_request(
    body: &[u8],
    header_length: Option<usize>,
    signature: &Signature,
) -> Result<Request, String> {
    let (header, mut binary) = match header_length {
        None => (body, &[][..]),
        Some(length) if length <= body.len() => body.split_at(length),
        Some(length) => {
            return Err(format!(
                "Inference-Header-Content-Length is {length} but the body has only {} bytes",
                body.len()
            ));
        }
    };
    let request: InferRequest = crate::strict_json::from_slice(header)
        .and_then(|value| serde_json::from_value(value).map_err(|e| e.to_string()))
        .map_err(|e| format!("malformed inference request ({e})"))?;
    if request.inputs.is_empty() {
        return Err("the request has no inputs".into());
    }
    let mut tensors = Vec::with_capacity(request.inputs.len());
    for input in request.inputs {
        tensors.push(decode_input(input, &mut binary)?);
    }
    if !binary.is_empty() {
        return Err(format!(
            "{} bytes of binary data follow the header that no input's binary_data_size claims",
            binary.len()
        ));
    }
    let inputs = match &signature.inputs {
        Inputs::Fields(_) => field_rows(&tensors)?,
        Inputs::Rows(spec) => array_rows(&tensors, spec)?,
    };
    let binary_default = request
        .parameters
        .as_ref()
        .and_then(|p| p.get("binary_data_output"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let outputs = requested_outputs(request.outputs, signature, binary_default)?;
    Ok(Request {
        inputs,
        id: request.id,
        outputs,
    })
}

/// The element count of a shape, refusing negative dimensions and counts that overflow.
fn element_count(shape: &[i64], tensor: &str) -> Result<usize, String> {
    let mut count: u64 = 1;
    for &dim in shape {
        let dim = u64::try_from(dim).map_err(|_| {
            format!("input '{tensor}' has a negative dimension in its shape {shape:?}")
        })?;
        count = count
            .checked_mul(dim)
            .filter(|&c| c <= MAX_ELEMENTS)
            .ok_or_else(|| {
                format!("input '{tensor}' shape {shape:?} has more than {MAX_ELEMENTS} elements")
            })?;
    }
    usize::try_from(count).map_err(|_| format!("input '{tensor}' shape {shape:?} is too large"))
}

fn decode_input(input: RequestInput, binary: &mut &[u8]) -> Result<Tensor, String> {
    let name = input.name;
    let datatype = Datatype::parse(&input.datatype, &name)?;
    let count = element_count(&input.shape, &name)?;
    let binary_size = input
        .parameters
        .as_ref()
        .and_then(|p| p.get("binary_data_size"))
        .map(|size| {
            size.as_u64()
                .and_then(|s| usize::try_from(s).ok())
                .ok_or_else(|| format!("input '{name}' binary_data_size is not a byte count"))
        })
        .transpose()?;
    let elements = match (binary_size, input.data) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "input '{name}' has both data and binary_data_size; give one"
            ));
        }
        (Some(size), None) => {
            if size > binary.len() {
                return Err(format!(
                    "input '{name}' claims {size} bytes of binary data but only {} follow",
                    binary.len()
                ));
            }
            let (bytes, rest) = binary.split_at(size);
            *binary = rest;
            decode_binary(bytes, datatype, count, &name)?
        }
        (None, Some(data)) => decode_json(data, datatype, &name)?,
        (None, None) => return Err(format!("input '{name}' has no data")),
    };
    if elements.len() != count {
        return Err(format!(
            "input '{name}' has {} elements but its shape {:?} holds {count}",
            elements.len(),
            input.shape
        ));
    }
    let shape = input.shape.iter().map(|&d| d as usize).collect();
    Ok(Tensor {
        name,
        shape,
        elements,
    })
}

fn decode_binary(
    bytes: &[u8],
    datatype: Datatype,
    count: usize,
    name: &str,
) -> Result<Elements, String> {
    let Some(width) = datatype.width() else {
        return decode_binary_strings(bytes, name).map(Elements::Texts);
    };
    if bytes.len() != count * width {
        return Err(format!(
            "input '{name}' has {} bytes of binary data; its shape and datatype need {}",
            bytes.len(),
            count * width
        ));
    }
    let chunks = bytes.chunks_exact(width);
    Ok(match datatype {
        Datatype::Bool => Elements::Bools(chunks.map(|c| c[0] != 0).collect()),
        Datatype::Unsigned(_) => Elements::Numbers(chunks.map(|c| le_unsigned(c) as f64).collect()),
        Datatype::Signed(_) => Elements::Numbers(chunks.map(le_signed).collect()),
        Datatype::Float(4) => Elements::Numbers(
            chunks
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
        Datatype::Float(_) => {
            Elements::Numbers(chunks.map(|c| f64::from_bits(le_unsigned(c))).collect())
        }
        Datatype::Bytes => unreachable!("BYTES has no fixed width"),
    })
}

fn le_unsigned(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |value, &b| (value << 8) | u64::from(b))
}

/// A little-endian two's-complement integer of 1 to 8 bytes.
fn le_signed(bytes: &[u8]) -> f64 {
    let bits = bytes.len() * 8;
    let value = le_unsigned(bytes);
    let shift = 64 - bits;
    (((value << shift) as i64) >> shift) as f64
}

fn decode_binary_strings(mut bytes: &[u8], name: &str) -> Result<Vec<String>, String> {
    let mut texts = Vec::new();
    while !bytes.is_empty() {
        let Some((length, rest)) = bytes.split_first_chunk::<4>() else {
            return Err(format!(
                "input '{name}' ends inside a BYTES element's length"
            ));
        };
        let length = u32::from_le_bytes(*length) as usize;
        if length > rest.len() {
            return Err(format!(
                "input '{name}' has a BYTES element longer than its data"
            ));
        }
        let (text, rest) = rest.split_at(length);
        let text = std::str::from_utf8(text)
            .map_err(|_| format!("input '{name}' has a BYTES element that is not UTF-8 text"))?;
        texts.push(text.to_owned());
        bytes = rest;
    }
    Ok(texts)
}

fn decode_json(data: Value, datatype: Datatype, name: &str) -> Result<Elements, String> {
    let mut flat = Vec::new();
    flatten(data, &mut flat);
    let wrong = |i: usize, what: &str| {
        format!("input '{name}' element {i} is not {what}; its datatype says so")
    };
    Ok(match datatype {
        Datatype::Bool => Elements::Bools(
            flat.iter()
                .enumerate()
                .map(|(i, v)| v.as_bool().ok_or_else(|| wrong(i, "true or false")))
                .collect::<Result<_, _>>()?,
        ),
        Datatype::Bytes => Elements::Texts(
            flat.into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(wrong(i, "a string")),
                })
                .collect::<Result<_, _>>()?,
        ),
        Datatype::Float(_) => Elements::Numbers(
            flat.iter()
                .enumerate()
                .map(|(i, v)| v.as_f64().ok_or_else(|| wrong(i, "a number")))
                .collect::<Result<_, _>>()?,
        ),
        Datatype::Unsigned(_) | Datatype::Signed(_) => Elements::Numbers(
            flat.iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_i64()
                        .map(|n| n as f64)
                        .or_else(|| v.as_u64().map(|n| n as f64))
                        .ok_or_else(|| wrong(i, "an integer"))
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Row-major elements of nested arrays (the protocol allows flat or nested data).
fn flatten(value: Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(items) => items.into_iter().for_each(|item| flatten(item, out)),
        other => out.push(other),
    }
}

/// Inputs of a [`Inputs::Fields`] model: row `i` of every tensor, keyed by tensor name.
fn field_rows(tensors: &[Tensor]) -> Result<Vec<Value>, String> {
    let rows = tensors[0].shape.first().copied().unwrap_or(0);
    for tensor in tensors {
        let per_input = matches!(tensor.shape.as_slice(), [_] | [_, 1]);
        if !per_input {
            return Err(format!(
                "input '{}' has shape {:?}; give one element per input: [N] or [N, 1]",
                tensor.name, tensor.shape
            ));
        }
        if tensor.shape[0] != rows {
            return Err(format!(
                "inputs '{}' and '{}' have different numbers of rows ({rows} and {})",
                tensors[0].name, tensor.name, tensor.shape[0]
            ));
        }
        if tensors.iter().filter(|t| t.name == tensor.name).count() > 1 {
            return Err(format!("input '{}' is given twice", tensor.name));
        }
    }
    if rows == 0 {
        return Err("the inputs have no rows; give at least one".into());
    }
    (0..rows)
        .map(|i| {
            let mut object = Map::new();
            for tensor in tensors {
                object.insert(tensor.name.clone(), tensor.elements.json(i, &tensor.name)?);
            }
            Ok(Value::Object(object))
        })
        .collect()
}

/// Inputs of a [`Inputs::Rows`] model: the rows of its one tensor.
fn array_rows(tensors: &[Tensor], spec: &TensorSpec) -> Result<Vec<Value>, String> {
    let [tensor] = tensors else {
        return Err(format!(
            "the model takes one input, '{}'; the request has {}",
            spec.name,
            tensors.len()
        ));
    };
    if tensor.name != spec.name {
        return Err(format!(
            "unknown input '{}'; the model's input is '{}'",
            tensor.name, spec.name
        ));
    }
    let row_length: i64 = spec.shape[1..].iter().product();
    let rows = tensor.shape.first().copied().unwrap_or(0);
    let tensor_row: usize = tensor
        .shape
        .get(1..)
        .map_or(0, |dims| dims.iter().product());
    if tensor.shape.len() < 2 || tensor_row as i64 != row_length || rows == 0 {
        return Err(format!(
            "input '{}' has shape {:?}; give [N, {}] with N >= 1 (or [N, {row_length}])",
            tensor.name,
            tensor.shape,
            spec.shape[1..]
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    (0..rows)
        .map(|i| {
            let row = (i * tensor_row..(i + 1) * tensor_row)
                .map(|j| tensor.elements.json(j, &tensor.name))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Array(row))
        })
        .collect()
}

/// Which outputs go back, in the signature's order, and which of them in binary.
fn requested_outputs(
    requested: Option<Vec<RequestOutput>>,
    signature: &Signature,
    binary_default: bool,
) -> Result<Vec<(usize, bool)>, String> {
    let Some(requested) = requested.filter(|r| !r.is_empty()) else {
        return Ok((0..signature.outputs.len())
            .map(|i| (i, binary_default))
            .collect());
    };
    requested
        .into_iter()
        .map(|output| {
            let index = signature
                .outputs
                .iter()
                .position(|spec| spec.name == output.name)
                .ok_or_else(|| {
                    let known: Vec<&str> = signature.outputs.iter().map(|s| s.name).collect();
                    format!(
                        "unknown output '{}' (the model's outputs: {})",
                        output.name,
                        known.join(", ")
                    )
                })?;
            let binary = output
                .parameters
                .as_ref()
                .and_then(|p| p.get("binary_data"))
                .and_then(Value::as_bool)
                .unwrap_or(binary_default);
            Ok((index, binary))
        })
        .collect()
}

/// The response body: one line of JSON, then the binary outputs' bytes.
pub fn write_response(
    model_name: &str,
    request: &Request,
    signature: &Signature,
    rows: &[Vec<OutputRow>],
) -> Vec<u8> {
    let mut binary = Vec::new();
    let outputs: Vec<Value> = request
        .outputs
        .iter()
        .map(|&(index, as_binary)| {
            let spec = &signature.outputs[index];
            let column: Vec<&OutputRow> = rows.iter().map(|row| &row[index]).collect();
            let mut shape = vec![rows.len() as i64];
            shape.extend(spec.shape.iter().skip(1));
            let mut tensor = Map::new();
            tensor.insert("name".into(), Value::from(spec.name));
            tensor.insert("datatype".into(), Value::from(spec.datatype));
            tensor.insert("shape".into(), Value::from(shape));
            if as_binary {
                let start = binary.len();
                column
                    .iter()
                    .for_each(|row| append_binary(row, &mut binary));
                let size = binary.len() - start;
                tensor.insert(
                    "parameters".into(),
                    serde_json::json!({ "binary_data_size": size }),
                );
            } else {
                let data: Vec<Value> = column.iter().flat_map(|row| json_elements(row)).collect();
                tensor.insert("data".into(), Value::Array(data));
            }
            Value::Object(tensor)
        })
        .collect();
    let mut response = Map::new();
    response.insert("model_name".into(), Value::from(model_name));
    response.insert("model_version".into(), Value::from("1"));
    if let Some(id) = &request.id {
        response.insert("id".into(), Value::from(id.as_str()));
    }
    response.insert("outputs".into(), Value::Array(outputs));
    let mut body = Value::Object(response).to_string().into_bytes();
    body.push(b'\n');
    body.extend_from_slice(&binary);
    body
}

fn json_elements(row: &OutputRow) -> Vec<Value> {
    match row {
        OutputRow::Bytes(text) => vec![Value::from(text.as_str())],
        OutputRow::Fp32(values) => values.iter().map(|&v| f32_json(v)).collect(),
        OutputRow::Int64(value) => vec![Value::from(*value)],
    }
}

/// An f32 as the shortest decimal that reads back as the same f32 (`0.999982`, not the
/// widened `0.9999819993972778`).
fn f32_json(value: f32) -> Value {
    format!("{value}")
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn append_binary(row: &OutputRow, out: &mut Vec<u8>) {
    match row {
        OutputRow::Bytes(text) => {
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        OutputRow::Fp32(values) => values
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        OutputRow::Int64(value) => out.extend_from_slice(&value.to_le_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Signature {
        Signature {
            inputs: Inputs::Fields(vec![
                TensorSpec::per_input("x", "FP32"),
                TensorSpec::per_input("kind", "BYTES"),
            ]),
            outputs: vec![
                TensorSpec::per_input("label", "BYTES"),
                TensorSpec {
                    name: "scores",
                    datatype: "FP32",
                    shape: vec![-1, 2],
                },
            ],
        }
    }

    fn rows() -> Signature {
        Signature {
            inputs: Inputs::Rows(TensorSpec {
                name: "image",
                datatype: "FP32",
                shape: vec![-1, 2, 2],
            }),
            outputs: vec![TensorSpec::per_input("label", "BYTES")],
        }
    }

    fn read(body: &Value, signature: &Signature) -> Result<Request, String> {
        read_request(body.to_string().as_bytes(), None, signature)
    }

    #[test]
    fn json_tensors_become_one_object_per_row() {
        let body = json!({"id": "r1", "model_name": "m", "model_version": "1", "inputs": [
            {"name": "x", "shape": [2, 1], "datatype": "FP32", "data": [[1.5], [2]]},
            {"name": "kind", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]},
        ]});
        let request = read(&body, &fields()).unwrap();
        assert_eq!(
            request.inputs,
            vec![
                json!({"x": 1.5, "kind": "a"}),
                json!({"x": 2.0, "kind": "b"})
            ]
        );
        assert_eq!(request.id.as_deref(), Some("r1"));
        assert_eq!(request.outputs, vec![(0, false), (1, false)]);
    }

    #[test]
    fn rows_accept_nested_and_flat_trailing_dimensions() {
        for shape in [json!([1, 2, 2]), json!([1, 4])] {
            let body = json!({"inputs": [
                {"name": "image", "shape": shape, "datatype": "UINT8", "data": [0, 1, 2, 255]}]});
            let request = read(&body, &rows()).unwrap();
            assert_eq!(request.inputs, vec![json!([0.0, 1.0, 2.0, 255.0])]);
        }
    }

    #[test]
    fn binary_tensors_are_read_after_the_header() {
        let header = json!({"inputs": [
            {"name": "x", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
            {"name": "kind", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 10}},
        ], "parameters": {"binary_data_output": true}})
        .to_string();
        let mut body = header.clone().into_bytes();
        body.extend_from_slice(&1.5f32.to_le_bytes());
        body.extend_from_slice(&(-2f32).to_le_bytes());
        for text in ["a", "b"] {
            body.extend_from_slice(&1u32.to_le_bytes());
            body.extend_from_slice(text.as_bytes());
        }
        let request = read_request(&body, Some(header.len()), &fields()).unwrap();
        assert_eq!(
            request.inputs,
            vec![
                json!({"x": 1.5, "kind": "a"}),
                json!({"x": -2.0, "kind": "b"})
            ]
        );
        assert_eq!(request.outputs, vec![(0, true), (1, true)]);
    }

    #[test]
    fn integers_of_every_width_decode_with_their_sign() {
        assert_eq!(le_signed(&[0xff]), -1.0);
        assert_eq!(le_signed(&[0xfe, 0xff]), -2.0);
        assert_eq!(le_signed(&[0x7f]), 127.0);
        assert_eq!(le_unsigned(&[0x01, 0x02]) as f64, 513.0);
    }

    #[test]
    fn bad_requests_are_refused_with_the_reason() {
        let cases = [
            (json!({"inputs": []}), "no inputs"),
            (
                json!({"inputs": [{"name": "x", "shape": [4294967298i64, 4294967298i64, 4294967298i64], "datatype": "FP32", "data": [1]}]}),
                "more than",
            ),
            (
                json!({"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]}),
                "negative dimension",
            ),
            (
                json!({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1]}]}),
                "has 1 elements",
            ),
            (
                json!({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": ["a"]}]}),
                "not a number",
            ),
            (
                json!({"inputs": [{"name": "x", "shape": [1], "datatype": "FP16", "data": [1]}]}),
                "FP16",
            ),
            (
                json!({"inputs": [{"name": "x", "shape": [1], "datatype": "F32", "data": [1]}]}),
                "unknown datatype",
            ),
            (
                json!({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]}),
                "no data",
            ),
            (
                json!({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}),
                "one element per input",
            ),
            (
                json!({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}], "outputs": [{"name": "nope"}]}),
                "unknown output 'nope'",
            ),
            (
                json!({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1], "extra": 1}]}),
                "unknown field",
            ),
            (
                json!({"inputs": [{"name": "x", "shape": [0], "datatype": "FP32", "data": []}]}),
                "no rows",
            ),
        ];
        for (body, expected) in cases {
            let error = read(&body, &fields()).unwrap_err();
            assert!(error.contains(expected), "{body}: {error}");
        }
        let error = read_request(b"{\"inputs\": [", None, &fields()).unwrap_err();
        assert!(error.contains("malformed inference request"), "{error}");
        let error = read_request(b"{}", Some(10), &fields()).unwrap_err();
        assert!(error.contains("only 2 bytes"), "{error}");
        let image = json!({"inputs": [{"name": "image", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]});
        assert!(
            read(&image, &rows())
                .unwrap_err()
                .contains("give [N, 2, 2]")
        );
    }

    #[test]
    fn responses_carry_json_or_binary_outputs() {
        let body = json!({"id": "7", "inputs": [
            {"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}],
            "outputs": [{"name": "scores", "parameters": {"binary_data": true}}, {"name": "label"}]});
        let request = read(&body, &fields()).unwrap();
        let rows = vec![vec![
            OutputRow::Bytes("yes".into()),
            OutputRow::Fp32(vec![0.25, 0.75]),
        ]];
        let response = write_response("m", &request, &fields(), &rows);
        let newline = response.iter().position(|&b| b == b'\n').unwrap();
        let header: Value = serde_json::from_slice(&response[..newline]).unwrap();
        assert_eq!(
            header,
            json!({"model_name": "m", "model_version": "1", "id": "7", "outputs": [
                {"name": "scores", "datatype": "FP32", "shape": [1, 2], "parameters": {"binary_data_size": 8}},
                {"name": "label", "datatype": "BYTES", "shape": [1], "data": ["yes"]},
            ]})
        );
        let mut expected = 0.25f32.to_le_bytes().to_vec();
        expected.extend_from_slice(&0.75f32.to_le_bytes());
        assert_eq!(&response[newline + 1..], &expected[..]);
    }
}
