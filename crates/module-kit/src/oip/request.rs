//! Reading an inference request: its tensors become the model's JSON inputs, one per row, and
//! the outputs it asks for are checked against the signature.

use serde_json::{Map, Value};

use super::tensor::{Tensor, decode_input};
use super::types::{InferRequest, Inputs, Request, RequestOutput, Signature, TensorSpec};

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
    let binary_default = bool_parameter(&request.parameters, "binary_data_output", false);
    let outputs = requested_outputs(request.outputs, signature, binary_default)?;
    Ok(Request {
        inputs,
        id: request.id,
        outputs,
    })
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
            let binary = bool_parameter(&output.parameters, "binary_data", binary_default);
            Ok((index, binary))
        })
        .collect()
}

/// A request's or an output's boolean parameter; `default` where it is absent or not a bool.
fn bool_parameter(parameters: &Option<Map<String, Value>>, key: &str, default: bool) -> bool {
    parameters
        .as_ref()
        .and_then(|p| p.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(default)
}
