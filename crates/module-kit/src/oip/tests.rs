//! Reading requests and writing responses, end to end.

use super::tensor::{le_signed, le_unsigned};
use super::*;
use serde_json::{Value, json};

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
