//! A model's metadata as its module prints it (`--oip-metadata`), checked before it is served:
//! a module that answers nonsense is not made ready.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest metadata document accepted.
const MAX_METADATA_BYTES: usize = 1 << 20;

const DATATYPES: [&str; 14] = [
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16",
    "FP32", "FP64", "BF16", "BYTES",
];

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelMetadata {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    versions: Option<Vec<String>>,
    platform: String,
    inputs: Vec<TensorMetadata>,
    outputs: Vec<TensorMetadata>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TensorMetadata {
    name: String,
    datatype: String,
    shape: Vec<i64>,
}

/// Parses and checks the module's answer; the reason when it is not model metadata.
pub(crate) fn validate(stdout: &[u8]) -> Result<Value> {
    if stdout.len() > MAX_METADATA_BYTES {
        bail!("its metadata is larger than {MAX_METADATA_BYTES} bytes");
    }
    let metadata: ModelMetadata = serde_json::from_slice(stdout)
        .context("its --oip-metadata answer is not Open Inference Protocol model metadata")?;
    if metadata.inputs.is_empty() || metadata.outputs.is_empty() {
        bail!("its metadata lists no inputs or no outputs");
    }
    for tensor in metadata.inputs.iter().chain(&metadata.outputs) {
        if tensor.name.is_empty() {
            bail!("its metadata has a tensor without a name");
        }
        if !DATATYPES.contains(&tensor.datatype.as_str()) {
            bail!(
                "its metadata gives tensor '{}' the unknown datatype '{}'",
                tensor.name,
                tensor.datatype
            );
        }
        if tensor.shape.iter().any(|&d| d < -1) {
            bail!(
                "its metadata gives tensor '{}' the impossible shape {:?}",
                tensor.name,
                tensor.shape
            );
        }
    }
    Ok(serde_json::to_value(metadata)?)
}

/// The metadata as served under the name the server gives the model.
pub(crate) fn named(metadata: &Value, name: &str) -> Value {
    let mut metadata = metadata.clone();
    metadata["name"] = Value::from(name);
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_metadata_and_refuses_nonsense_with_a_reason() {
        let good = br#"{"name": "m", "platform": "p", "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}], "outputs": [{"name": "y", "datatype": "BYTES", "shape": [-1]}]}"#;
        assert_eq!(validate(good).unwrap()["inputs"][0]["shape"][1], 4);
        for (bad, reason) in [
            (&b"hello"[..], "not Open Inference Protocol model metadata"),
            (br#"{"name": "m", "platform": "p", "inputs": [], "outputs": []}"#, "no inputs"),
            (br#"{"name": "m", "platform": "p", "inputs": [{"name": "x", "datatype": "F", "shape": [1]}], "outputs": [{"name": "y", "datatype": "FP32", "shape": [1]}]}"#, "unknown datatype"),
            (br#"{"name": "m", "platform": "p", "inputs": [{"name": "x", "datatype": "FP32", "shape": [-2]}], "outputs": [{"name": "y", "datatype": "FP32", "shape": [1]}]}"#, "impossible shape"),
        ] {
            let error = format!("{:#}", validate(bad).unwrap_err());
            assert!(error.contains(reason), "{error}");
        }
    }
}
