//! The named-graph module of an algorithm (`<algo>-inference-named.wasm`) against its
//! self-contained module (`<algo>-inference.wasm`, under the wasmtime CLI), on the same
//! batches: through `model-server run --graph <algo>=artifacts/<algo>` and through the model
//! server's HTTP API (both kinds served side by side). The answer lines must be identical and
//! every probability within [`PROBABILITY_TOLERANCE`]. With `GRAPH_WGPU_ADAPTER` set (`cpu`
//! for lavapipe, as `cargo xtask test` does; `best` on a machine with a GPU) the host's graph
//! is also run on wgpu (`--graph-device wgpu`), held to the same bar.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};

use crate::process::{
    PROBABILITY_TOLERANCE, expect_success, run_wasm, run_with_stdin, same_answer, stderr,
    wasm_module,
};
use crate::server::RunningServer;
use crate::training::committed_dir;

/// A binary of the workspace beside the running test (cargo builds every workspace binary
/// into the same directory before it runs any test).
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from <target>/<profile>/deps");
    let binary = dir.join(name);
    assert!(
        binary.is_file(),
        "{} is missing: build it with `cargo build --release --workspace`",
        binary.display()
    );
    binary
}

/// The `model-server` binary beside the running test (cargo builds every workspace binary
/// into the same directory before it runs any test), or `$MODEL_SERVER`.
pub fn model_server() -> PathBuf {
    match std::env::var_os("MODEL_SERVER") {
        Some(path) => PathBuf::from(path),
        None => workspace_binary("model-server"),
    }
}

/// `model-server run` with the given `--graph` arguments (none: a host without graphs).
pub fn run_named_with(graphs: &[String], module: &str, args: &[&str], stdin: &str) -> Output {
    run_named_on(&[], graphs, module, args, stdin)
}

/// [`run_named_with`] with host options (`--graph-device wgpu ...`) before the graphs.
pub fn run_named_on(
    host: &[&str],
    graphs: &[String],
    module: &str,
    args: &[&str],
    stdin: &str,
) -> Output {
    let mut command = Command::new(model_server());
    command.arg("run").args(host);
    for graph in graphs {
        command.arg("--graph").arg(graph);
    }
    command.arg(wasm_module(module)).args(args);
    run_with_stdin(command, stdin)
}

/// Asserts the named-graph module imports only allowed WASI functions and the wasi-nn calls
/// that run a graph by name (never `load`, which would hand the host a model), and that a
/// host without its graph gets exit 1 and one line naming the graph and the fix.
pub fn assert_named_module_asks_only_for_its_graph(algorithm: &str, example: &str) {
    let module = format!("{algorithm}-inference-named");
    let imports = crate::process::wasm_imports(&wasm_module(&module));
    assert!(
        imports
            .iter()
            .any(|(from, name)| from == module_kit::wasi::NN_MODULE && name == "load_by_name"),
        "{imports:?}"
    );
    for (from, name) in &imports {
        assert_eq!(
            module_kit::wasi::refuse_import(from, name),
            None,
            "{module} imports {from}::{name}"
        );
    }
    let alone = run_named_with(&[], &module, &[example], "");
    assert_eq!(alone.status.code(), Some(1), "{}", stderr(&alone));
    let message = stderr(&alone);
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    assert!(
        message.contains(&format!("no graph named '{algorithm}'"))
            && message.contains(&format!("--graph {algorithm}=")),
        "{message}"
    );
    assert!(alone.stdout.is_empty());
}

/// `model-server run [HOST OPTIONS] --graph <algo>=artifacts/<algo> MODULE args` with `stdin`.
pub fn run_named(host: &[&str], algorithm: &str, args: &[&str], stdin: &str) -> Output {
    let graph = format!("{algorithm}={}", committed_dir(algorithm).display());
    run_named_on(
        host,
        &[graph],
        &format!("{algorithm}-inference-named"),
        args,
        stdin,
    )
}

/// The wgpu adapter to check the graphs on as well (`GRAPH_WGPU_ADAPTER`), if any.
pub fn wgpu_adapter() -> Option<String> {
    std::env::var("GRAPH_WGPU_ADAPTER")
        .ok()
        .filter(|adapter| !adapter.is_empty())
}

/// Asserts that the named-graph module answers every batch (JSON arrays of the module's
/// inputs) exactly as the self-contained one: plain lines identical, `--json` within the
/// tolerance, under `model-server run` and over HTTP. Returns the plain answer lines.
pub fn assert_named_module_agrees(algorithm: &str, batches: &[String]) -> Vec<String> {
    let self_contained = wasm_module(&format!("{algorithm}-inference"));
    let mut lines = Vec::new();
    let adapter = wgpu_adapter();
    let on_wgpu = adapter
        .as_deref()
        .map(|adapter| ["--graph-device", "wgpu", "--graph-adapter", adapter]);
    for batch in batches {
        for args in [&["-"][..], &["--json", "-"][..]] {
            let expected = expect_success(&run_wasm(&self_contained, args, batch));
            let json = args[0] == "--json";
            assert_same_lines(&run_named(&[], algorithm, args, batch), &expected, json);
            if let Some(host) = on_wgpu.as_ref().filter(|_| json) {
                assert_same_lines(&run_named(host, algorithm, args, batch), &expected, json);
            }
            if !json {
                lines.extend(expected.lines().map(str::to_owned));
            }
        }
    }
    if adapter.is_none() {
        eprintln!("note: GRAPH_WGPU_ADAPTER is not set: the {algorithm} graph was not run on wgpu");
    }
    let server = Served::start(algorithm);
    for batch in batches {
        let request = oip_request(&server, algorithm, batch);
        let expected = server.infer(algorithm, &request);
        let named = server.infer(&format!("{algorithm}-named"), &request);
        assert_outputs_agree(&expected, &named);
    }
    lines
}

/// Asserts a named module's run succeeded with the self-contained module's answer lines.
fn assert_same_lines(named: &Output, expected: &str, json: bool) {
    assert_eq!(
        named.status.code(),
        Some(0),
        "the named module failed: {}",
        stderr(named)
    );
    let named = std::str::from_utf8(&named.stdout).expect("UTF-8 answers");
    assert_eq!(named.lines().count(), expected.lines().count());
    for (n, e) in named.lines().zip(expected.lines()) {
        assert!(same_answer(json, n, e), "named {n} vs self-contained {e}");
    }
}

/// Both kinds of one algorithm behind a model server with the algorithm's graph.
struct Served {
    server: RunningServer,
    _models: tempfile::TempDir,
}

impl Served {
    fn start(algorithm: &str) -> Self {
        let models = tempfile::tempdir().expect("a temporary directory");
        for kind in [
            format!("{algorithm}-inference"),
            format!("{algorithm}-inference-named"),
        ] {
            std::fs::copy(
                wasm_module(&kind),
                models.path().join(format!("{kind}.wasm")),
            )
            .expect("the module copies");
        }
        let mut command = Command::new(model_server());
        command
            .arg("--models")
            .arg(models.path())
            .arg("--graph")
            .arg(format!(
                "{algorithm}={}",
                committed_dir(algorithm).display()
            ))
            .args(["--log-format", "text"])
            .env("MODEL_SERVER_LOG", "warn");
        Self {
            server: RunningServer::start(command, Duration::from_secs(300)),
            _models: models,
        }
    }

    fn get_json(&self, path: &str) -> Value {
        let mut response = self
            .server
            .agent
            .get(&format!("{}{path}", self.server.url))
            .call()
            .expect("the server answers");
        response.body_mut().read_json().expect("a JSON body")
    }

    fn infer(&self, model: &str, request: &Value) -> Value {
        let mut response = self
            .server
            .agent
            .post(&format!("{}/v2/models/{model}/infer", self.server.url))
            .send_json(request)
            .expect("the server answers");
        let status = response.status().as_u16();
        let body: Value = response.body_mut().read_json().expect("a JSON body");
        assert_eq!(status, 200, "{model}: {body}");
        body
    }
}

/// An inference request for a batch, built from the model's metadata: one tensor per JSON
/// key (FP32 for numbers, BYTES for strings), or, for inputs that are arrays (MNIST), the
/// model's one input tensor `[N, 28, 28]`.
fn oip_request(server: &Served, algorithm: &str, batch: &str) -> Value {
    let metadata = server.get_json(&format!("/v2/models/{algorithm}"));
    let rows: Vec<Value> = serde_json::from_str(batch).expect("a batch is a JSON array");
    let inputs: Vec<Value> = match rows.first() {
        Some(Value::Object(first)) => first
            .iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(key, value)| {
                let datatype = if value.is_string() { "BYTES" } else { "FP32" };
                let data: Vec<Value> = rows.iter().map(|row| row[key].clone()).collect();
                json!({"name": key, "shape": [rows.len()], "datatype": datatype, "data": data})
            })
            .collect(),
        _ => {
            let data: Vec<Value> = rows
                .iter()
                .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                .collect();
            vec![json!({
                "name": metadata["inputs"][0]["name"], "shape": [rows.len(), 28, 28],
                "datatype": "FP32", "data": data
            })]
        }
    };
    json!({"id": "named", "inputs": inputs})
}

/// The same outputs: names, shapes and labels identical, numbers within the tolerance.
fn assert_outputs_agree(expected: &Value, named: &Value) {
    let (expected, named) = (&expected["outputs"], &named["outputs"]);
    let expected_outputs = expected.as_array().expect("outputs");
    assert_eq!(expected_outputs.len(), named.as_array().map_or(0, Vec::len));
    for (e, n) in expected_outputs.iter().zip(named.as_array().unwrap()) {
        assert_eq!(e["name"], n["name"]);
        assert_eq!(e["shape"], n["shape"]);
        let (e_data, n_data) = (e["data"].as_array().unwrap(), n["data"].as_array().unwrap());
        assert_eq!(e_data.len(), n_data.len());
        for (a, b) in e_data.iter().zip(n_data) {
            match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => assert!(
                    (a - b).abs() <= PROBABILITY_TOLERANCE,
                    "{}: {a} vs {b}",
                    e["name"]
                ),
                _ => assert_eq!(a, b, "{}", e["name"]),
            }
        }
    }
}
