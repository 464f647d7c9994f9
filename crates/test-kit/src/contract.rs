//! The inference CLI contract, checked the same way for every module, under the wasmtime CLI
//! and natively: the model's own example answers, batches and stdin, `--json`, `--info`,
//! `--help`, the bad input every module must refuse, and the imports.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use module_kit::cli::InferenceModel;
use module_kit::digest::sha256_hex;
use serde_json::Value;

use crate::process::{
    assert_only_wasi_imports, expect_bad_input, expect_success, run_both, run_native, run_wasm,
    run_with_stdin, stderr, stdout, wasm_module, wasmtime,
};
use crate::runtimes::{Call, assert_engines_agree, assert_late_stdin_is_read};
use crate::training::committed_dir;

/// An inference module under test.
#[derive(Debug, Clone)]
pub struct ModuleUnderTest {
    /// `iris`: the module is `iris-inference`, it embeds `artifacts/iris/`.
    pub algorithm: &'static str,
    /// The native build, `env!("CARGO_BIN_EXE_iris-inference")`.
    pub native: &'static str,
    /// The model's own example input ([`InferenceModel::EXAMPLE`]).
    pub example: &'static str,
    /// The line it answers for it.
    pub example_answer: &'static str,
    /// What error lines quote ([`InferenceModel::ERROR_EXAMPLE`]).
    pub error_example: &'static str,
    pub max_input_bytes: usize,
}

impl ModuleUnderTest {
    /// The module of predictor `M`, whose example must answer `example_answer`.
    pub fn of<M: InferenceModel>(
        algorithm: &'static str,
        native: &'static str,
        example_answer: &'static str,
    ) -> Self {
        Self {
            algorithm,
            native,
            example: M::EXAMPLE,
            example_answer,
            error_example: M::ERROR_EXAMPLE,
            max_input_bytes: M::MAX_INPUT_BYTES,
        }
    }

    /// `<algorithm>-inference`.
    pub fn name(&self) -> String {
        format!("{}-inference", self.algorithm)
    }

    /// The wasm module `cargo xtask wasm` built.
    pub fn wasm(&self) -> PathBuf {
        wasm_module(&self.name())
    }

    /// The same call under wasmtime and natively, asserting the same outcome; the wasm run.
    pub fn both(&self, args: &[&str], stdin: &str) -> Output {
        run_both(&self.wasm(), self.native, args, stdin)
    }

    /// Asserts wasm and native answer `batch` on stdin alike, plain and with `--json`;
    /// returns the plain answer lines.
    pub fn both_on_batch(&self, batch: &str) -> String {
        let plain = expect_success(&self.both(&["-"], batch));
        expect_success(&self.both(&["--json", "-"], batch));
        plain
    }

    /// The `--json` answer to `input` (wasm and native alike), asserting its `class` and that
    /// its probabilities sum to 1.
    pub fn json_answer(&self, input: &str, class: &str) -> Value {
        let line = expect_success(&self.both(&["--json", input], ""));
        let answer: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(answer["class"], class);
        let probabilities = answer["probabilities"].as_object().unwrap();
        let total: f64 = probabilities.values().map(|p| p.as_f64().unwrap()).sum();
        assert!(
            (total - 1.0).abs() < 1e-4,
            "probabilities sum to 1: {total}"
        );
        answer
    }

    /// Asserts both builds refuse the call as bad input, naming `expected`.
    pub fn refuses(&self, args: &[&str], stdin: &str, expected: &str) {
        for output in [
            run_wasm(&self.wasm(), args, stdin),
            run_native(self.native, args, stdin),
        ] {
            expect_bad_input(&output, expected, self.error_example);
        }
    }
}

/// Checks every part of the contract that is the same for all modules.
pub fn check_contract(module: &ModuleUnderTest) {
    answers_its_example_alone_in_a_batch_and_on_stdin(module);
    json_answers_are_objects(module);
    info_identifies_the_embedded_model(module);
    help_shows_usage_and_the_example(module);
    refuses_generic_bad_input(module);
    writes_output_files_only_where_granted(module);
    answers_open_inference_protocol_requests(module);
    assert_only_wasi_imports(&module.wasm());
}

/// `--oip-metadata` describes the model, and `--oip` answers the example, sent as the
/// protocol's tensors (one per JSON key, or the image), with the example's answer; a bad
/// request is bad input. Under wasmtime and natively alike.
fn answers_open_inference_protocol_requests(module: &ModuleUnderTest) {
    let metadata = expect_success(&module.both(&["--oip-metadata"], ""));
    let metadata: Value = serde_json::from_str(&metadata).expect("--oip-metadata prints JSON");
    assert_eq!(metadata["name"], module.algorithm);
    let outputs = metadata["outputs"]
        .as_array()
        .expect("metadata lists outputs");
    let example: Value = serde_json::from_str(module.example).unwrap();
    let inputs: Vec<Value> = match &example {
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| {
                let datatype = if value.is_string() { "BYTES" } else { "FP32" };
                serde_json::json!({"name": key, "shape": [1], "datatype": datatype, "data": [value]})
            })
            .collect(),
        image => vec![serde_json::json!({
            "name": metadata["inputs"][0]["name"], "shape": [1, 28, 28], "datatype": "FP32", "data": image
        })],
    };
    let request = serde_json::json!({"id": "contract", "inputs": inputs}).to_string();
    let response = expect_success(&run_wasm(&module.wasm(), &["--oip"], &request));
    let native = expect_success(&run_native(module.native, &["--oip"], &request));
    let (response, native): (Value, Value) = (
        serde_json::from_str(&response).expect("--oip prints one JSON line"),
        serde_json::from_str(&native).unwrap(),
    );
    assert_eq!(response["id"], "contract");
    assert_eq!(response["model_name"], module.algorithm);
    assert_eq!(response["outputs"].as_array().unwrap().len(), outputs.len());
    let first = &response["outputs"][0];
    assert_eq!(first["name"], outputs[0]["name"]);
    assert_eq!(
        first["data"][0], native["outputs"][0]["data"][0],
        "wasm and native agree"
    );
    let answer = match &first["data"][0] {
        Value::String(label) => label.clone(),
        number => format!("{:.1}", (number.as_f64().unwrap() * 10.0).round() / 10.0),
    };
    assert_eq!(answer, module.example_answer, "--oip answers the example");
    for output in [
        run_wasm(&module.wasm(), &["--oip"], "{\"inputs\": 7}"),
        run_native(module.native, &["--oip"], "{\"inputs\": 7}"),
    ] {
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        let message = stderr(&output);
        assert!(message.contains("malformed inference request"), "{message}");
        assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    }
}

/// Checks that wasmi and Node.js's WASI give exactly what the wasmtime CLI gives for the calls
/// every module answers (its example in argv, on stdin, as `--json`, `--info`, `--help`, bad
/// and non-ASCII input) and for the module's own `calls`.
pub fn check_independent_runtimes(module: &ModuleUnderTest, calls: &[Call<'_>]) {
    let batch = format!("[{}, {}]", module.example, module.example);
    let common = [
        Call {
            args: &[module.example],
            stdin: "",
        },
        Call {
            args: &["--json", module.example],
            stdin: "",
        },
        Call {
            args: &["-"],
            stdin: &batch,
        },
        Call {
            args: &["--json", "-"],
            stdin: &batch,
        },
        Call {
            args: &["--info"],
            stdin: "",
        },
        Call {
            args: &["--help"],
            stdin: "",
        },
        Call {
            args: &["{"],
            stdin: "",
        },
        Call {
            args: &["-"],
            stdin: "[",
        },
        Call {
            args: &["--naïve"],
            stdin: "",
        },
        Call {
            args: &[r#"{"größe": "日本語"}"#],
            stdin: "",
        },
        Call {
            args: &["-"],
            stdin: r#"[{"größe": "日本語"}]"#,
        },
    ];
    assert_engines_agree(&module.wasm(), &common);
    assert_engines_agree(&module.wasm(), calls);
    assert_late_stdin_is_read(&module.wasm(), &["-"], &batch);
}

fn answers_its_example_alone_in_a_batch_and_on_stdin(module: &ModuleUnderTest) {
    let one = format!("{}\n", module.example_answer);
    assert_eq!(expect_success(&module.both(&[module.example], "")), one);
    let batch = format!("[{}, {}]", module.example, module.example);
    let two = one.repeat(2);
    assert_eq!(expect_success(&module.both(&[&batch], "")), two);
    assert_eq!(expect_success(&module.both(&["-"], &batch)), two);
}

fn json_answers_are_objects(module: &ModuleUnderTest) {
    let lines = expect_success(&module.both(&["--json", module.example], ""));
    let answer: Value = serde_json::from_str(lines.trim_end()).expect("one JSON line");
    assert!(answer.is_object(), "{answer}");
}

fn info_identifies_the_embedded_model(module: &ModuleUnderTest) {
    let info: Value = serde_json::from_str(&expect_success(&module.both(&["--info"], "")))
        .expect("--info prints JSON");
    let committed = fs::read(committed_dir(module.algorithm).join("model.bpk"))
        .expect("the committed model.bpk is readable");
    let sha256 = sha256_hex(&committed);
    assert_eq!(info["model"], module.algorithm);
    assert_eq!(
        info["model_sha256"], sha256,
        "the hash of the embedded model"
    );
    assert_eq!(info["training"]["model_sha256"], sha256, "its own report");
    assert!(info["training"]["evaluation"].is_object(), "{info}");
    assert!(info["input_schema"].is_object(), "{info}");
}

fn help_shows_usage_and_the_example(module: &ModuleUnderTest) {
    let help = expect_success(&module.both(&["--help"], ""));
    let usage = format!("Usage: {}", module.name());
    for expected in [usage.as_str(), "--json", "--info", module.example] {
        assert!(help.contains(expected), "help shows {expected}:\n{help}");
    }
}

/// The module under `wasmtime run` with `dir` granted as its working directory, as Cocos AI
/// runs wasm algorithms (`wasmedge --dir .:results` there, `--dir HOST::.` here).
fn run_in_dir(module: &Path, dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(wasmtime());
    command
        .arg("run")
        .arg("--dir")
        .arg(format!("{}::.", dir.display()))
        .arg(module)
        .args(args);
    run_with_stdin(command, "")
}

fn writes_output_files_only_where_granted(module: &ModuleUnderTest) {
    let results = tempfile::tempdir().expect("temporary directory");
    let wasm = module.wasm();
    let expected = expect_success(&run_native(module.native, &[module.example], ""));

    let output = run_in_dir(
        &wasm,
        results.path(),
        &["--output", "results.txt", module.example],
    );
    assert_eq!(
        expect_success(&output),
        "",
        "nothing on stdout with --output"
    );
    let written = fs::read_to_string(results.path().join("results.txt")).expect("results.txt");
    assert_eq!(written, expected, "the file holds what stdout would");
    let names: Vec<_> = fs::read_dir(results.path()).unwrap().flatten().collect();
    assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");

    let output = run_in_dir(&wasm, results.path(), &["--output", "bad.txt", "{"]);
    expect_bad_input(&output, "malformed JSON", module.error_example);
    assert!(
        !results.path().join("bad.txt").exists(),
        "bad input writes no file"
    );

    let output = run_wasm(&wasm, &["--output", "results.txt", module.example], "");
    let message = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "no directory granted: {message}"
    );
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    assert_eq!(message.trim_end().lines().count(), 1, "one line: {message}");
    assert!(
        message.contains("granted this module no directory") && message.contains("--dir"),
        "says what to grant: {message}"
    );
}

fn refuses_generic_bad_input(module: &ModuleUnderTest) {
    let two_inputs = [module.example, module.example];
    let cases: [(&[&str], &str, &str); 8] = [
        (&[], "", "no input given"),
        (&["{"], "", "malformed JSON"),
        (&["[]"], "", "empty array"),
        (&["-"], "", "the input is empty"),
        (&["   "], "", "the input is empty"),
        (
            &["--verbose", module.example],
            "",
            "unknown option '--verbose'",
        ),
        (&two_inputs, "", "more than one input"),
        (&["[NaN]"], "", "no NaN or Infinity"),
    ];
    for (args, stdin, expected) in cases {
        module.refuses(args, stdin, expected);
    }
    let oversized = " ".repeat(module.max_input_bytes + 1);
    module.refuses(&["-"], &oversized, "larger than");
}

/// What every inference module's `tests/cli.rs` begins with: `fn module()`, the module under
/// test that its own tests call, and the tests that are the same for all modules: the shared
/// contract check, the same answers under every runtime (the common calls and the module's own
/// `runtime calls`, with non-ASCII text), and the named-graph module's imports.
///
/// ```ignore
/// test_kit::inference_cli_tests! {
///     predictor: IrisPredictor, algorithm: "iris", example answer: "Iris-versicolor",
///     runtime calls: [
///         ["--json", "-"] stdin r#"[{"sepal_length": 5.1, ...}]"#,
///     ],
/// }
/// ```
#[macro_export]
macro_rules! inference_cli_tests {
    (
        predictor: $predictor:ty, algorithm: $algorithm:literal, example answer: $answer:expr,
        runtime calls: [ $( [$($arg:expr),* $(,)?] stdin $stdin:expr ),* $(,)? ] $(,)?
    ) => {
        /// The module under test; its example must answer the example answer.
        fn module() -> $crate::contract::ModuleUnderTest {
            $crate::contract::ModuleUnderTest::of::<$predictor>(
                $algorithm,
                env!(concat!("CARGO_BIN_EXE_", $algorithm, "-inference")),
                $answer,
            )
        }

        #[test]
        fn the_module_keeps_the_cli_contract() {
            $crate::contract::check_contract(&module());
        }

        /// The same module file under wasmtime, wasmi and Node.js's WASI: the same lines,
        /// messages and exit codes, with non-ASCII text.
        #[test]
        fn the_module_answers_the_same_under_every_runtime() {
            $crate::contract::check_independent_runtimes(
                &module(),
                &[$($crate::runtimes::Call { args: &[$($arg),*], stdin: $stdin }),*],
            );
        }

        /// The named-graph module imports wasi-nn's by-name calls and nothing it may not, and
        /// without the host's graph it fails with one line naming the graph.
        #[test]
        fn the_named_module_asks_only_for_its_graph() {
            $crate::named::assert_named_module_asks_only_for_its_graph(
                $algorithm,
                module().example,
            );
        }
    };
}
