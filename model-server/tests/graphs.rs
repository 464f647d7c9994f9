//! Named graphs behind wasi-nn: the graph index, and graphs in worker processes, where a
//! worker killed in the middle of a request fails that request only and is replaced.

mod common;

use std::time::Duration;

use common::Server;
use serde_json::{Value, json};

const IMAGE_SIDE: usize = 28;

fn mnist_named_server(args: &[&str]) -> Server {
    mnist_named_server_with(Vec::new(), args)
}

/// [`mnist_named_server`] serving `more` module files too.
fn mnist_named_server_with(more: Vec<(String, Vec<u8>)>, args: &[&str]) -> Server {
    let module = std::fs::read(test_kit::process::wasm_module("mnist-inference-named")).unwrap();
    let graph = format!(
        "mnist={}",
        test_kit::training::committed_dir("mnist").display()
    );
    let mut all = vec!["--graph", graph.as_str()];
    all.extend_from_slice(args);
    let mut files = vec![("mnist-inference-named.wasm".to_owned(), module)];
    files.extend(more);
    Server::start(&files, &all)
}

/// Images the hog hands the `mnist` graph in one tensor: their first convolution's output
/// alone is 250 MB.
const HOG_IMAGES: i32 = 10_000;

/// A hostile guest that asks the host's `mnist` graph for one computation on [`HOG_IMAGES`]
/// zero images at once (wasi-nn's witx ABI: the tensor record is dimensions (pointer,
/// length), type (u8, 1 = f32), data (pointer, length)), then traps.
fn graph_hog() -> Vec<u8> {
    let bytes = HOG_IMAGES * 28 * 28 * 4;
    let pages = bytes / 65_536 + 4;
    common::hostile_with(
        r#"(import "wasi_ephemeral_nn" "load_by_name" (func $load (param i32 i32 i32) (result i32)))
  (import "wasi_ephemeral_nn" "init_execution_context" (func $init (param i32 i32) (result i32)))
  (import "wasi_ephemeral_nn" "set_input" (func $set (param i32 i32 i32) (result i32)))
  (import "wasi_ephemeral_nn" "compute" (func $compute (param i32) (result i32)))"#,
        &format!(
            r#";; "mnist" at 8192, the graph at 8200, the context at 8204
    (i32.store (i32.const 8192) (i32.const 0x73696e6d))
    (i32.store8 (i32.const 8196) (i32.const 0x74))
    (drop (call $load (i32.const 8192) (i32.const 5) (i32.const 8200)))
    (drop (call $init (i32.load (i32.const 8200)) (i32.const 8204)))
    ;; dimensions [N, 1, 28, 28] at 8208; the tensor record at 8232, its data at 131072
    (i32.store (i32.const 8208) (i32.const {HOG_IMAGES}))
    (i32.store (i32.const 8212) (i32.const 1))
    (i32.store (i32.const 8216) (i32.const 28))
    (i32.store (i32.const 8220) (i32.const 28))
    (i32.store (i32.const 8232) (i32.const 8208))
    (i32.store (i32.const 8236) (i32.const 4))
    (i32.store8 (i32.const 8240) (i32.const 1))
    (i32.store (i32.const 8244) (i32.const 131072))
    (i32.store (i32.const 8248) (i32.const {bytes}))
    (drop (memory.grow (i32.const {pages})))
    (drop (call $set (i32.load (i32.const 8204)) (i32.const 0) (i32.const 8232)))
    (drop (call $compute (i32.load (i32.const 8204))))
    unreachable"#
        ),
    )
}

/// The first MNIST test image (a 7) as an inference request.
fn seven() -> Value {
    let image: Vec<f64> = serde_json::from_str(mnist::inference::EXAMPLE_SEVEN).unwrap();
    json!({"inputs": [{"name": "image", "shape": [1, IMAGE_SIDE, IMAGE_SIDE], "datatype": "FP32", "data": image}]})
}

fn answer(reply: &common::Reply) -> String {
    reply.json()["outputs"][0]["data"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The processes the server started (its graph workers).
fn children(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let path = task.unwrap().path().join("children");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        children.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    children
}

/// The server's one graph worker.
fn the_worker(server: &Server) -> u32 {
    let workers = children(server.pid());
    assert_eq!(workers.len(), 1, "one worker for one graph: {workers:?}");
    workers[0]
}

/// Asserts the server answers the first test image with 7; `context` begins the message.
fn assert_answers_seven(server: &Server, context: &str) {
    let reply = server.post_json("/v2/models/mnist-named/infer", &seven());
    assert_eq!(reply.status, 200, "{context}{}", reply.text());
    assert_eq!(answer(&reply), "7");
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_graph_index_states_each_graphs_tensors() {
    let server = mnist_named_server(&[]);
    let index = server.get("/v2/graphs").json();
    let graph = &index["graphs"][0];
    assert_eq!(graph["name"], "mnist");
    assert_eq!(graph["inputs"][0]["datatype"], "F32");
    assert_eq!(graph["inputs"][0]["shape"], json!([-1, 1, 28, 28]));
    assert_eq!(graph["outputs"][0]["shape"], json!([-1, 10]));
    assert_eq!(graph["outputs"][1]["name"], "model_sha256");
    assert_eq!(graph["device"], "flex");
    assert_answers_seven(&server, "");
}

/// A worker stopped, then killed, while it holds a request: that request fails with 500 and
/// a message saying the worker died; the server replaces the worker and the next requests are
/// answered.
#[test]
fn a_graph_worker_killed_mid_request_fails_only_that_request() {
    let server = mnist_named_server(&["--graph-workers", "1"]);
    let reply = server.post_json("/v2/models/mnist-named/infer", &seven());
    assert_eq!(reply.status, 200, "{}", reply.text());
    let worker = the_worker(&server);
    signal(worker, "STOP");
    let request = seven();
    let failed = std::thread::scope(|scope| {
        let in_flight = scope.spawn(|| server.post_json("/v2/models/mnist-named/infer", &request));
        // The request reaches the stopped worker and waits for it.
        std::thread::sleep(Duration::from_millis(500));
        signal(worker, "KILL");
        in_flight.join().unwrap()
    });
    assert_eq!(failed.status, 500, "{}", failed.text());
    let message = failed.error(500);
    assert!(message.contains("graph 'mnist' failed"), "{message}");
    for _ in 0..3 {
        assert_answers_seven(&server, "");
    }
    assert_ne!(the_worker(&server), worker, "a new worker");
}

/// `model-server run` refuses stdin beyond the input limit with one line naming the limit,
/// instead of handing the module a cut-off input.
#[test]
fn model_server_run_refuses_stdin_over_the_input_limit() {
    let graph = format!(
        "iris={}",
        test_kit::training::committed_dir("iris").display()
    );
    let output = test_kit::process::run_with_stdin(
        {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_model-server"));
            command
                .args(["run", "--max-body-kib", "1", "--graph", &graph])
                .arg(test_kit::process::wasm_module("iris-inference-named"))
                .arg("-");
            command
        },
        &" ".repeat(2048),
    );
    assert_eq!(output.status.code(), Some(1));
    let message = test_kit::process::stderr(&output);
    assert!(
        message.contains("larger than the 1 KiB input limit"),
        "{message}"
    );
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    assert!(output.stdout.is_empty());
}

/// With wgpu built in, graph workers compute on the adapter the server was given
/// (`GRAPH_WGPU_ADAPTER`, else lavapipe's `cpu`), and say so in the graph index.
#[cfg(feature = "wgpu")]
#[test]
fn graph_workers_compute_on_the_wgpu_adapter_given() {
    let adapter = test_kit::named::wgpu_adapter().unwrap_or_else(|| "cpu".to_owned());
    let server = mnist_named_server(&[
        "--graph-workers",
        "2",
        "--graph-device",
        "wgpu",
        "--graph-adapter",
        &adapter,
    ]);
    let index = server.get("/v2/graphs").json();
    let device = index["graphs"][0]["device"].as_str().unwrap_or_default();
    assert!(
        device.starts_with("wgpu (") && device.ends_with("in 2 worker process(es)"),
        "{device}"
    );
    for _ in 0..3 {
        assert_answers_seven(&server, "");
    }
}

/// Without wgpu built in, `--graph-device wgpu` is one line saying how to get it.
#[cfg(not(feature = "wgpu"))]
#[test]
fn graph_device_wgpu_without_the_feature_says_how_to_build_it() {
    let graph = format!(
        "iris={}",
        test_kit::training::committed_dir("iris").display()
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_model-server"))
        .args(["run", "--graph-device", "wgpu", "--graph", &graph])
        .arg(test_kit::process::wasm_module("iris-inference-named"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let message = test_kit::process::stderr(&output);
    assert!(message.contains("--features wgpu"), "{message}");
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
}

/// A guest that makes the graph need more memory than `--graph-worker-memory-mib` allows ends
/// that worker only: its request fails, the worker is replaced and the next requests are
/// answered. Without the limit the same computation succeeds in the same worker, so it was the
/// limit that ended it.
#[test]
fn a_graph_worker_over_its_memory_limit_fails_only_that_request() {
    for (limit, replaced) in [("128", true), ("0", false)] {
        let server = mnist_named_server_with(
            vec![("hog.wasm".to_owned(), graph_hog())],
            &[
                "--graph-workers",
                "1",
                "--graph-worker-memory-mib",
                limit,
                "--model-limit",
                "hog:deadline-ms=60000",
            ],
        );
        let worker = the_worker(&server);
        let request =
            r#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}"#;
        let hog = server.post("/v2/models/hog/infer", request.as_bytes());
        assert_eq!(hog.status, 500, "{}", hog.text());
        for _ in 0..2 {
            assert_answers_seven(&server, &format!("limit {limit}: "));
        }
        let now = the_worker(&server);
        assert_eq!(
            now != worker,
            replaced,
            "limit {limit}: {worker:?} then {now:?}"
        );
    }
}

/// A limit too small for the graph itself stops the server at start, naming the option.
#[test]
fn a_graph_worker_memory_limit_too_small_to_load_stops_the_server_naming_it() {
    let graph = format!(
        "mnist={}",
        test_kit::training::committed_dir("mnist").display()
    );
    let models = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_model-server"))
        .arg("--models")
        .arg(models.path())
        .args(["--listen", "127.0.0.1:0", "--graph", &graph])
        .args(["--graph-workers", "1", "--graph-worker-memory-mib", "1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let message = test_kit::process::stderr(&output);
    assert!(
        message.contains("the worker did not start")
            && message.contains("--graph-worker-memory-mib 1"),
        "{message}"
    );
}
