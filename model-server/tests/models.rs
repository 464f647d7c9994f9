//! The project's four models served over the Open Inference Protocol: the same answers as the
//! wasmtime CLI for JSON and binary tensors and the plain endpoint, metadata, readiness, the
//! repository extension, every error path, metrics and graceful shutdown.

mod common;

use common::{
    Server, ag_news_inputs, cli_answers, field_request, iris_inputs, mnist_inputs, project_files,
    wine_inputs,
};
use serde_json::{Value, json};

const ALGOS: [&str; 4] = ["iris", "wine-quality", "mnist", "ag-news"];

/// A server over the four modules (each test its own, stopped when it ends; they share the
/// compilation cache, so only the first compiles).
fn server() -> Server {
    Server::start(&project_files(&ALGOS), &[])
}

fn datatype(key: &str) -> &'static str {
    match key {
        "type" | "title" | "description" | "text" => "BYTES",
        _ => "FP32",
    }
}

/// The request for a batch of a model's JSON inputs, with JSON tensors.
fn oip_request(algo: &str, inputs: &[Value]) -> Value {
    if algo == "mnist" {
        let data: Vec<Value> = inputs.to_vec();
        return json!({"inputs": [{"name": "image", "shape": [inputs.len(), 28, 28], "datatype": "FP32", "data": data}]});
    }
    field_request(inputs, &datatype)
}

/// What the CLI prints for an OIP response row.
fn answer_lines(algo: &str, response: &Value) -> Vec<String> {
    let outputs = response["outputs"].as_array().unwrap();
    let output = |name: &str| {
        outputs
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("output {name} in {response}"))
    };
    if algo == "wine-quality" {
        return output("quality")["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| format!("{:.1}", (q.as_f64().unwrap() * 10.0).round() / 10.0))
            .collect();
    }
    output("class")["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

fn check_model(algo: &str, inputs: &[Value]) {
    let server = &server();
    let batch = serde_json::to_string(inputs).unwrap();
    let expected = cli_answers(algo, &batch);
    assert_eq!(expected.len(), inputs.len());

    let reply = server.post_json(
        &format!("/v2/models/{algo}/infer"),
        &oip_request(algo, inputs),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        answer_lines(algo, &reply.json()),
        expected,
        "{algo}: OIP JSON tensors"
    );

    let plain = server.post(&format!("/models/{algo}"), batch.as_bytes());
    assert_eq!(plain.status, 200, "{}", plain.text());
    assert_eq!(
        plain.text().lines().collect::<Vec<_>>(),
        expected,
        "{algo}: plain endpoint"
    );
}

#[test]
fn iris_answers_as_the_cli_for_all_150_flowers() {
    check_model("iris", &iris_inputs());
}

#[test]
fn wine_quality_answers_as_the_cli_on_its_test_split() {
    check_model("wine-quality", &wine_inputs());
}

#[test]
fn mnist_answers_as_the_cli_on_1000_test_images() {
    check_model("mnist", &mnist_inputs(1000));
}

#[test]
fn ag_news_answers_as_the_cli_on_its_evaluation_split() {
    check_model("ag-news", &ag_news_inputs());
}

/// MNIST in the binary tensor extension: UINT8 images in, binary probabilities out.
#[test]
fn binary_tensors_in_and_out() {
    let server = &server();
    let inputs = mnist_inputs(20);
    let expected = cli_answers("mnist", &serde_json::to_string(&inputs).unwrap());
    let pixels: Vec<u8> = inputs
        .iter()
        .flat_map(|image| {
            image
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_u64().unwrap() as u8)
        })
        .collect();
    let header = json!({
        "id": "binary-1",
        "inputs": [{"name": "image", "shape": [20, 784], "datatype": "UINT8",
                    "parameters": {"binary_data_size": pixels.len()}}],
        "outputs": [{"name": "class", "parameters": {"binary_data": false}},
                    {"name": "probabilities", "parameters": {"binary_data": true}}],
    })
    .to_string();
    let mut body = header.clone().into_bytes();
    body.extend_from_slice(&pixels);
    let reply = server.post_with(
        "/v2/models/mnist/infer",
        &body,
        &[("Inference-Header-Content-Length", header.len().to_string())],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let length = reply
        .header_length
        .expect("a binary answer names its header length");
    let response: Value = serde_json::from_slice(&reply.body[..length]).unwrap();
    assert_eq!(response["id"], "binary-1");
    assert_eq!(answer_lines("mnist", &response), expected);
    let probabilities = &response["outputs"][1];
    assert_eq!(probabilities["shape"], json!([20, 10]));
    assert_eq!(probabilities["parameters"]["binary_data_size"], 20 * 10 * 4);
    let floats: Vec<f32> = reply.body[length..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(floats.len(), 200);
    for (row, label) in floats.chunks(10).zip(&expected) {
        let best = (0..10).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        assert_eq!(best.to_string(), *label);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
}

#[test]
fn metadata_health_and_readiness() {
    let server = &server();
    assert_eq!(server.get("/v2/health/live").json(), json!({"live": true}));
    assert_eq!(
        server.get("/v2/health/ready").json(),
        json!({"ready": true})
    );
    let metadata = server.get("/v2").json();
    assert_eq!(metadata["name"], "model-server");
    assert!(
        metadata["extensions"]
            .as_array()
            .unwrap()
            .contains(&json!("model_repository"))
    );
    let iris = server.get("/v2/models/iris").json();
    assert_eq!(iris["name"], "iris");
    assert_eq!(iris["inputs"].as_array().unwrap().len(), 4);
    assert_eq!(
        iris["inputs"][0],
        json!({"name": "sepal_length", "datatype": "FP32", "shape": [-1]})
    );
    assert_eq!(iris["outputs"][1]["shape"], json!([-1, 3]));
    let mnist = server.get("/v2/models/mnist/versions/1").json();
    assert_eq!(mnist["inputs"][0]["shape"], json!([-1, 28, 28]));
    let wine = server.get("/v2/models/wine-quality").json();
    assert_eq!(wine["inputs"].as_array().unwrap().len(), 12);
    assert_eq!(
        wine["inputs"][11],
        json!({"name": "type", "datatype": "BYTES", "shape": [-1]})
    );
    assert_eq!(
        server.get("/v2/models/ag-news").json()["inputs"][0]["datatype"],
        "BYTES"
    );
    let ready = server.get("/v2/models/iris/ready");
    assert_eq!(
        (ready.status, ready.json()["ready"].clone()),
        (200, json!(true))
    );
    let index = server.post("/v2/repository/index", b"{}").json();
    let names: Vec<&str> = index
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ag-news", "iris", "mnist", "wine-quality"]);
    assert!(
        index
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "READY")
    );
}

#[test]
fn every_error_has_the_protocols_status_and_a_message() {
    let server = &server();
    let unknown = server.post_json("/v2/models/nope/infer", &json!({"inputs": []}));
    assert!(unknown.error(404).contains("unknown model 'nope'"));
    assert!(
        server
            .get("/v2/models/nope")
            .error(404)
            .contains("unknown model")
    );
    assert!(
        server
            .get("/v2/models/iris/versions/7")
            .error(404)
            .contains("no version '7'")
    );
    let malformed = server.post("/v2/models/iris/infer", b"{\"inputs\": [");
    assert!(
        malformed.error(400).contains("malformed inference request"),
        "{}",
        malformed.text()
    );
    // Each dimension is a number every JSON reader reads alike; their product overflows u64.
    let overflow = json!({"inputs": [{"name": "sepal_length", "shape": [4294967298u64, 4294967298u64, 4294967298u64], "datatype": "FP32", "data": [1]}]});
    let reply = server.post_json("/v2/models/iris/infer", &overflow);
    assert!(reply.error(400).contains("more than"), "{}", reply.text());
    // A dimension past 2^53 is refused before it is read: readers disagree on its value.
    let unsafe_dimension = json!({"inputs": [{"name": "sepal_length", "shape": [16, 1152921504606846978u64], "datatype": "FP32", "data": [1]}]});
    let reply = server.post_json("/v2/models/iris/infer", &unsafe_dimension);
    assert!(
        reply.error(400).contains("beyond ±2^53"),
        "{}",
        reply.text()
    );
    let twice = br#"{"inputs": [], "inputs": [{"name": "sepal_length", "shape": [1], "datatype": "FP32", "data": [5.1]}]}"#;
    let reply = server.post("/v2/models/iris/infer", twice);
    assert!(
        reply.error(400).contains("appears twice"),
        "{}",
        reply.text()
    );
    let negative = json!({"inputs": [{"name": "sepal_length", "shape": [-4], "datatype": "FP32", "data": [1]}]});
    assert!(
        server
            .post_json("/v2/models/iris/infer", &negative)
            .error(400)
            .contains("negative")
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        server.post("/v2/models/iris/infer", deep.as_bytes()).status,
        400
    );
    // The module's own exit-2 message for a value outside its range.
    let mut flower = iris_inputs()[0].clone();
    flower["petal_width"] = json!(-3.0);
    let reply = server.post_json(
        "/v2/models/iris/infer",
        &field_request(&[flower.clone()], &datatype),
    );
    let message = reply.error(400);
    assert!(
        message.contains("row 0 of the request") && message.contains("petal_width"),
        "{message}"
    );
    let plain = server.post("/models/iris", flower.to_string().as_bytes());
    assert!(plain.error(400).contains("petal_width"));
    let bad_header = server.post_with(
        "/v2/models/iris/infer",
        b"{}",
        &[("Inference-Header-Content-Length", "lots".to_owned())],
    );
    assert!(
        bad_header
            .error(400)
            .contains("Inference-Header-Content-Length")
    );
    // 65 MiB is over the default 64 MiB body limit: refused before it is read.
    let (status, body) = server.post_announcing("/v2/models/iris/infer", 65 << 20);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("larger than the server's limit"), "{body}");
    assert_eq!(server.get("/v2/nothing/here").status, 404);
}

#[test]
fn metrics_count_requests_by_model_and_status() {
    let server = &server();
    let flower = iris_inputs()[0].clone();
    assert_eq!(
        server
            .post("/models/iris", flower.to_string().as_bytes())
            .status,
        200
    );
    let text = server.get("/metrics").text();
    assert!(
        text.contains("model_server_requests_total{model=\"iris\",status=\"200\"}"),
        "{text}"
    );
    for family in [
        "model_server_request_duration_seconds_bucket",
        "model_server_instantiation_seconds_count",
        "model_server_run_seconds_count",
        "model_server_fuel_used_sum",
        "model_server_memory_bytes_sum",
    ] {
        assert!(text.contains(family), "{family} in {text}");
    }
}

#[test]
fn the_repository_unloads_and_loads_models_and_restarts_from_the_cache() {
    let files = project_files(&["iris"]);
    let server = Server::start(&files, &[]);
    let flower = iris_inputs()[50].to_string();
    assert_eq!(server.post("/models/iris", flower.as_bytes()).status, 200);
    assert_eq!(
        server.post("/v2/repository/models/iris/unload", b"").status,
        200
    );
    let reply = server.post("/models/iris", flower.as_bytes());
    assert!(reply.error(503).contains("not ready: unloaded"));
    let ready = server.get("/v2/models/iris/ready");
    assert_eq!(
        (ready.status, ready.json()["ready"].clone()),
        (503, json!(false))
    );
    let index = server.post("/v2/repository/index", b"").json();
    assert_eq!(index[0]["state"], "UNAVAILABLE");
    assert_eq!(index[0]["reason"], "unloaded");
    assert_eq!(
        server.post("/v2/repository/models/iris/load", b"").status,
        200
    );
    assert_eq!(
        server.post("/models/iris", flower.as_bytes()).text(),
        "Iris-versicolor\n"
    );
    assert!(
        server
            .post("/v2/repository/models/nope/load", b"")
            .error(404)
            .contains("nope")
    );
    assert!(
        server
            .post("/v2/repository/models/nope/unload", b"")
            .error(404)
            .contains("nope")
    );
    // The compiled, pre-initialised module is in the cache, for the next start to map.
    let module = std::fs::read(test_kit::process::wasm_module("iris-inference")).unwrap();
    let digest = module_kit::digest::sha256_hex(&module);
    let cached: Vec<String> = std::fs::read_dir(&server.cache)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&digest))
        .collect();
    assert_eq!(cached.len(), 1, "one cached iris module: {cached:?}");
    assert!(cached[0].ends_with("-preinit.cwasm"), "{cached:?}");
}

#[test]
fn shutdown_finishes_the_request_in_flight() {
    let server = Server::start(&project_files(&["mnist"]), &[]);
    let batch = serde_json::to_string(&mnist_inputs(1000)).unwrap();
    let url = format!("{}/models/mnist", server.url);
    let in_flight = std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent.post(&url).send(batch.as_bytes()).unwrap();
        (
            response.status().as_u16(),
            response.body_mut().read_to_string().unwrap(),
        )
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    let status = server.terminate();
    let (code, body) = in_flight.join().unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(body.lines().count(), 1000);
    assert!(status.success(), "a clean exit after SIGTERM: {status:?}");
}
