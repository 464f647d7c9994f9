//! The one driver every serving test uses: the real `model-server` binary on an ephemeral
//! loopback port over a directory of module files, and a plain HTTP client for it.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use test_kit::server::{RunningServer, body_bytes};
use train_kit::paths::resolve_data_dir;

/// A running server, stopped (SIGTERM, then killed) when dropped.
pub struct Server {
    process: RunningServer,
    pub url: String,
    /// The models directory it serves.
    pub models: tempfile::TempDir,
    pub cache: PathBuf,
}

/// An answer: status, headers we look at, body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub header_length: Option<usize>,
    pub retry_after: Option<String>,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(500)])
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `{"error": ...}` of an error answer, asserting the status.
    pub fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("an error body: {}", self.text()))
            .to_owned()
    }
}

/// One compilation cache for every test's server: the first compiles each module, the others
/// map it (writes are atomic renames, so servers sharing it never see half a file).
pub fn shared_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-server-cache")
}

/// The module files `cargo xtask wasm` built.
pub fn project_module(algo: &str) -> PathBuf {
    test_kit::process::wasm_module(&format!("{algo}-inference"))
}

/// A models directory with these files: (file name, bytes).
pub fn models_dir(files: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

pub fn project_files(algos: &[&str]) -> Vec<(String, Vec<u8>)> {
    algos
        .iter()
        .map(|algo| {
            (
                format!("{algo}-inference.wasm"),
                std::fs::read(project_module(algo)).unwrap(),
            )
        })
        .collect()
}

impl Server {
    /// Starts the server on `files` with extra arguments and waits until it is ready.
    pub fn start(files: &[(String, Vec<u8>)], args: &[&str]) -> Self {
        let borrowed: Vec<(&str, Vec<u8>)> =
            files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
        let models = models_dir(&borrowed);
        Self::start_in(models, shared_cache(), args)
    }

    pub fn start_in(models: tempfile::TempDir, cache: PathBuf, args: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_model-server"));
        command
            .arg("--models")
            .arg(models.path())
            .arg("--cache-dir")
            .arg(&cache)
            .args(args);
        let process = RunningServer::start(command, Duration::from_secs(120));
        Self {
            url: process.url.clone(),
            process,
            models,
            cache,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        let response = self
            .process
            .agent
            .get(&format!("{}{path}", self.url))
            .call();
        reply(response)
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Reply {
        self.post_with(path, body, &[])
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.post_with(path, body.to_string().as_bytes(), &[])
    }

    pub fn post_with(&self, path: &str, body: &[u8], headers: &[(&str, String)]) -> Reply {
        let mut request = self.process.agent.post(&format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        reply(request.send(body))
    }

    /// A POST that announces `content_length` bytes and sends none of them, over a raw
    /// connection: the status and body the server answers with from the headers alone.
    pub fn post_announcing(&self, path: &str, content_length: usize) -> (u16, String) {
        use std::io::{Read, Write};
        let address = self.url.strip_prefix("http://").unwrap();
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {content_length}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("an HTTP answer: {answer:?}"));
        let body = answer
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        (status, body)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(self) -> std::process::ExitStatus {
        self.process.terminate()
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn models_path(&self) -> &Path {
        self.models.path()
    }
}

fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = response.expect("the server answers");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let header_length = header("inference-header-content-length").map(|v| v.parse().unwrap());
    let retry_after = header("retry-after");
    let content_type = header("content-type").unwrap_or_default();
    let status = response.status().as_u16();
    let body = body_bytes(&mut response, 256 << 20);
    Reply {
        status,
        header_length,
        retry_after,
        content_type,
        body,
    }
}

/// An OIP request with one tensor per key of the modules' JSON objects (Iris, Wine, AG News).
pub fn field_request(inputs: &[Value], datatypes: &dyn Fn(&str) -> &'static str) -> Value {
    let keys: Vec<String> = inputs[0].as_object().unwrap().keys().cloned().collect();
    let tensors: Vec<Value> = keys
        .iter()
        .map(|key| {
            let data: Vec<Value> = inputs.iter().map(|input| input[key].clone()).collect();
            serde_json::json!({
                "name": key, "shape": [inputs.len()], "datatype": datatypes(key), "data": data
            })
        })
        .collect();
    serde_json::json!({ "inputs": tensors })
}

/// The answer lines a module prints under the wasmtime CLI for a batch.
pub fn cli_answers(algo: &str, batch: &str) -> Vec<String> {
    let output = test_kit::process::run_wasm(&project_module(algo), &["-"], batch);
    test_kit::process::expect_success(&output)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every flower of the Iris file, as the module's JSON.
pub fn iris_inputs() -> Vec<Value> {
    let data = iris::data::IRIS_DATA
        .fetch(&resolve_data_dir(None).path)
        .unwrap();
    iris::data::load_items(&data.path)
        .unwrap()
        .iter()
        .map(|item| serde_json::to_value(item.input).unwrap())
        .collect()
}

/// The committed Wine Quality model's test split.
pub fn wine_inputs() -> Vec<Value> {
    use wine_quality::data::{RED_WINES, WHITE_WINES, load_items, split};
    use wine_quality::input::WineType;
    let config: wine_quality::config::WineConfig = test_kit::training::read_json(
        &test_kit::training::committed_dir("wine-quality").join("config.json"),
    );
    let dir = resolve_data_dir(None).path;
    let mut items = load_items(&RED_WINES.fetch(&dir).unwrap().path, WineType::Red).unwrap();
    items.extend(load_items(&WHITE_WINES.fetch(&dir).unwrap().path, WineType::White).unwrap());
    split(items, config.training.seed)
        .test
        .iter()
        .map(|item| serde_json::to_value(item.input).unwrap())
        .collect()
}

/// The first `count` MNIST test images.
pub fn mnist_inputs(count: usize) -> Vec<Value> {
    mnist::data::load_test_set(&resolve_data_dir(None).path)
        .unwrap()
        .iter()
        .take(count)
        .map(|item| json!(item.pixels.to_vec()))
        .collect()
}

/// The committed AG News model's evaluation articles.
pub fn ag_news_inputs() -> Vec<Value> {
    use ag_news::data::{TEST_CSV, load_items, single_file_split};
    let config: ag_news::config::AgNewsConfig = test_kit::training::read_json(
        &test_kit::training::committed_dir("ag-news").join("config.json"),
    );
    let test = load_items(&TEST_CSV.fetch(&resolve_data_dir(None).path).unwrap().path).unwrap();
    let evaluation = match config.training.options.single_file_split {
        Some(_) => single_file_split(test, config.training.seed).1,
        None => test,
    };
    evaluation
        .iter()
        .map(|item| json!({"title": item.title, "description": item.description}))
        .collect()
}

const METADATA: &str = r#"{\"name\": \"hostile\", \"platform\": \"wat\", \"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [-1]}], \"outputs\": [{\"name\": \"y\", \"datatype\": \"FP32\", \"shape\": [-1]}]}"#;

/// A hostile module written for the purpose: its `_start` prints valid metadata for `--oip-metadata` and otherwise runs `body`.
pub fn hostile(body: &str) -> Vec<u8> {
    hostile_with("", body)
}

/// [`hostile`] with more imports.
pub fn hostile_with(imports: &str, body: &str) -> Vec<u8> {
    let length = METADATA.replace("\\\"", "\"").len();
    let wat = format!(
        r#"(module
  {imports}
  (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 4096) "{METADATA}")
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 16) (local.get $ptr))
    (i32.store (i32.const 20) (local.get $len))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 32))))
  (func $is_metadata (result i32)
    (drop (call $args (i32.const 64) (i32.const 1024)))
    ;; argv[1][5] is '-' for --oip-metadata, the end of the string for --oip
    (i32.eq (i32.load8_u (i32.add (i32.load (i32.const 68)) (i32.const 5))) (i32.const 45)))
  (func (export "_start")
    (if (call $is_metadata) (then (call $print (i32.const 4096) (i32.const {length})) (return)))
    {body}))"#
    );
    wat::parse_str(&wat).expect("the test module is valid WAT")
}
