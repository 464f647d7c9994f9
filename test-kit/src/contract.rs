//! The inference CLI contract, checked the same way for every module, under the wasmtime CLI
//! and natively: the model's own example answers, batches and stdin, `--json`, `--info`,
//! `--help`, the bad input every module must refuse, and the imports.

use std::path::PathBuf;
use std::process::Output;

use runtime::cli::InferenceModel;
use runtime::digest::sha256_hex;
use serde_json::Value;

use crate::process::{
    assert_only_wasi_imports, expect_bad_input, expect_success, run_both, run_native, run_wasm,
    wasm_module,
};
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
    assert_only_wasi_imports(&module.wasm());
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
    let committed = std::fs::read(committed_dir(module.algorithm).join("model.bpk"))
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
