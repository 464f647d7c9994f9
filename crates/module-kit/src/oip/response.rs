//! What `--oip-metadata` and `--oip` write: the model metadata response, and the inference
//! response as one line of JSON followed by any binary outputs.

use serde_json::{Map, Number, Value};

use super::types::{Inputs, OutputRow, Request, Signature};

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
