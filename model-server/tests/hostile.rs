//! Hostile modules, written for the purpose in WAT: each answers its metadata like a model and
//! then misbehaves in one way. Each fails only its own request, with the reason, while the real
//! models go on answering correctly; modules that misbehave while loading are marked not ready
//! and the server starts anyway.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Server, cli_answers, hostile, hostile_with, project_files};
use serde_json::json;

fn loops_forever() -> Vec<u8> {
    hostile("(loop $l (br $l))")
}

fn grows_memory_forever() -> Vec<u8> {
    hostile("(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable")
}

fn floods_stdout() -> Vec<u8> {
    hostile("(loop $l (call $print (i32.const 0) (i32.const 65536)) (br $l))")
}

fn traps() -> Vec<u8> {
    hostile("unreachable")
}

/// Asks wasi-nn for a graph whose name lies outside its memory: wasmtime-wasi-nn's glue panics
/// on it instead of returning an error.
fn abuses_wasi_nn() -> Vec<u8> {
    hostile_with(
        r#"(import "wasi_ephemeral_nn" "load_by_name" (func $load (param i32 i32 i32) (result i32)))"#,
        "(drop (call $load (i32.const 131000) (i32.const 4096) (i32.const 0)))",
    )
}

/// A module that runs `body` always, metadata or not: it misbehaves while loading.
fn misbehaves_at_load(body: &str, imports: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module
  {imports}
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hello")
  (func (export "_start")
    (i32.store (i32.const 16) (i32.const 100))
    (i32.store (i32.const 20) (i32.const 5))
    {body}))"#
    );
    wat::parse_str(&wat).unwrap()
}

fn files() -> Vec<(String, Vec<u8>)> {
    let mut files = project_files(&["iris", "mnist"]);
    files.extend([
        ("loop.wasm".to_owned(), loops_forever()),
        ("spin.wasm".to_owned(), loops_forever()),
        ("balloon.wasm".to_owned(), grows_memory_forever()),
        ("flood.wasm".to_owned(), floods_stdout()),
        ("trap.wasm".to_owned(), traps()),
        ("nn-abuse.wasm".to_owned(), abuses_wasi_nn()),
        ("hang-at-load.wasm".to_owned(), misbehaves_at_load("(loop $l (br $l))", "")),
        ("trap-at-load.wasm".to_owned(), misbehaves_at_load("unreachable", "")),
        (
            "nonsense-metadata.wasm".to_owned(),
            misbehaves_at_load("(drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 32)))", ""),
        ),
        (
            "reads-files.wasm".to_owned(),
            misbehaves_at_load(
                "",
                r#"(import "wasi_snapshot_preview1" "path_filestat_get" (func (param i32 i32 i32 i32 i32) (result i32)))"#,
            ),
        ),
        (
            "opens-sockets.wasm".to_owned(),
            misbehaves_at_load(
                "",
                r#"(import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32)))"#,
            ),
        ),
        ("not-wasm.wasm".to_owned(), b"\0asm but not really".to_vec()),
    ]);
    files
}

fn start() -> Server {
    Server::start(
        &files(),
        &[
            "--deadline-ms",
            "300",
            "--model-limit",
            "spin:fuel=1000000",
            "--model-limit",
            "spin:deadline-ms=60000",
            "--model-limit",
            "balloon:memory-mib=64",
            "--model-limit",
            "flood:output-kib=1024",
            "--model-limit",
            "iris:deadline-ms=10000",
            "--model-limit",
            "mnist:deadline-ms=10000",
        ],
    )
}

const REQUEST: &str =
    r#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}"#;

#[test]
fn each_hostile_model_fails_only_its_own_request_with_the_reason() {
    let server = start();
    for (model, reason) in [
        ("loop", "ran past its deadline of 300 ms"),
        ("spin", "used up its fuel (1000000 units)"),
        ("balloon", "beyond its limit of 64 MiB"),
        ("flood", "more than its output limit of 1048576 bytes"),
        ("trap", "trapped"),
        ("nn-abuse", "made a host call fail"),
    ] {
        let reply = server.post(&format!("/v2/models/{model}/infer"), REQUEST.as_bytes());
        let message = reply.error(500);
        assert!(message.contains(reason), "{model}: {message}");
        assert!(message.contains(&format!("model '{model}'")), "{message}");
    }
    let metrics = server.get("/metrics").text();
    assert!(metrics.contains("model_server_requests_total{model=\"loop\",status=\"500\"}"));
}

#[test]
fn models_that_misbehave_while_loading_are_not_ready_and_say_why() {
    let server = start();
    let index = server.post("/v2/repository/index", b"").json();
    let state = |name: &str| {
        index
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {index}"))
            .clone()
    };
    for (name, reason) in [
        ("hang-at-load", "--oip-metadata ran past its deadline"),
        ("trap-at-load", "--oip-metadata trapped"),
        (
            "nonsense-metadata",
            "not Open Inference Protocol model metadata",
        ),
        (
            "reads-files",
            "path_filestat_get, which is not among the WASI functions",
        ),
        ("opens-sockets", "sock_accept"),
        ("not-wasm", "not a valid WebAssembly module"),
    ] {
        let row = state(name);
        assert_eq!(row["state"], "UNAVAILABLE", "{row}");
        assert!(
            row["reason"].as_str().unwrap().contains(reason),
            "{name}: {row}"
        );
        let reply = server.post(&format!("/v2/models/{name}/infer"), REQUEST.as_bytes());
        assert!(reply.error(503).contains("is not ready"));
    }
    for name in ["iris", "mnist", "loop", "flood"] {
        assert_eq!(state(name)["state"], "READY", "{name}");
    }
}

/// While every hostile model is hammered from several threads, concurrent requests to the real
/// models all succeed with the CLI's answers.
#[test]
fn real_models_answer_correctly_while_hostile_ones_are_hammered() {
    let server = Arc::new(start());
    let flower =
        r#"{"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}"#;
    let digit = mnist::inference::EXAMPLE_SEVEN;
    assert_eq!(cli_answers("iris", flower), ["Iris-versicolor"]);
    assert_eq!(cli_answers("mnist", digit), ["7"]);
    let hostile_failures = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = ["loop", "balloon", "flood", "trap", "spin", "loop"]
        .into_iter()
        .map(|model| {
            let server = server.clone();
            let failures = hostile_failures.clone();
            std::thread::spawn(move || {
                for _ in 0..8 {
                    let reply =
                        server.post(&format!("/v2/models/{model}/infer"), REQUEST.as_bytes());
                    assert!(
                        matches!(reply.status, 500 | 503),
                        "{model}: {}",
                        reply.status
                    );
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut answered = 0;
    for round in 0..40 {
        let (path, body, expected) = if round % 2 == 0 {
            ("/models/iris", flower, "Iris-versicolor\n")
        } else {
            ("/models/mnist", digit, "7\n")
        };
        let reply = server.post(path, body.as_bytes());
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (200, expected),
            "round {round}"
        );
        answered += 1;
    }
    for attacker in attackers {
        attacker.join().unwrap();
    }
    assert_eq!(answered, 40);
    assert_eq!(hostile_failures.load(Ordering::Relaxed), 48);
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let server = Arc::new(Server::start(
        &[("loop.wasm".to_owned(), loops_forever())],
        &[
            "--deadline-ms",
            "1500",
            "--concurrency",
            "1",
            "--queue",
            "1",
        ],
    ));
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let server = server.clone();
            std::thread::spawn(move || {
                server
                    .post("/v2/models/loop/infer", REQUEST.as_bytes())
                    .status
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let reply = server.post("/v2/models/loop/infer", REQUEST.as_bytes());
    assert!(
        reply
            .error(503)
            .contains("at its limit of 1 running and 1 waiting"),
        "{}",
        reply.text()
    );
    assert_eq!(reply.retry_after.as_deref(), Some("1"));
    for request in busy {
        assert_eq!(
            request.join().unwrap(),
            500,
            "the deadline stops the looping ones"
        );
    }
    let _ = json!({});
}
