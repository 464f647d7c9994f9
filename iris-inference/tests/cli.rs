//! The module's contract, under the wasmtime CLI and natively: answers, formats, bad input,
//! agreement between wasm and native on the whole dataset, and the module's imports.

use std::path::PathBuf;

use common::harness::{
    assert_only_wasi_imports, expect_bad_input, expect_success, run_both, run_native, run_wasm,
    wasm_module,
};
use common::paths::resolve_data_dir;
use iris::data::{IRIS_DATA, load_items};
use iris::model::{CLASSES, FEATURES};

const SAMPLE: &str =
    r#"{"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}"#;
const NATIVE: &str = env!("CARGO_BIN_EXE_iris-inference");

fn module() -> PathBuf {
    wasm_module("iris-inference")
}

fn both(args: &[&str], stdin: &str) -> std::process::Output {
    run_both(&module(), NATIVE, args, stdin)
}

#[test]
fn the_readme_sample_is_versicolor() {
    assert_eq!(expect_success(&both(&[SAMPLE], "")), "Iris-versicolor\n");
}

#[test]
fn a_batch_gives_one_line_per_flower_and_stdin_works() {
    let batch = format!(
        r#"[{SAMPLE}, {{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}}]"#
    );
    assert_eq!(
        expect_success(&both(&[&batch], "")),
        "Iris-versicolor\nIris-setosa\n"
    );
    assert_eq!(
        expect_success(&both(&["-"], &batch)),
        "Iris-versicolor\nIris-setosa\n"
    );
}

#[test]
fn json_output_has_the_class_and_every_probability() {
    let line = expect_success(&both(&["--json", SAMPLE], ""));
    let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(answer["class"], "Iris-versicolor");
    let probabilities = answer["probabilities"].as_object().unwrap();
    assert_eq!(probabilities.len(), 3);
    let total: f64 = probabilities.values().map(|p| p.as_f64().unwrap()).sum();
    assert!(
        (total - 1.0).abs() < 1e-4,
        "probabilities sum to 1: {total}"
    );
    let best = probabilities
        .iter()
        .max_by(|a, b| a.1.as_f64().partial_cmp(&b.1.as_f64()).unwrap())
        .unwrap();
    assert_eq!(best.0, "Iris-versicolor");
}

#[test]
fn info_shows_the_model_hash_metrics_and_schema() {
    let info: serde_json::Value =
        serde_json::from_str(&expect_success(&both(&["--info"], ""))).unwrap();
    let committed = std::fs::read(common::paths::workspace_root().join("artifacts/iris/model.bpk"));
    assert_eq!(
        info["model_sha256"],
        common::digest::sha256_hex(&committed.unwrap()),
        "the hash of the embedded model"
    );
    assert!(
        info["training"]["evaluation"]["validation_accuracy"]
            .as_f64()
            .unwrap()
            >= 0.967
    );
    for feature in FEATURES {
        assert_eq!(info["input_schema"][feature]["type"], "number");
    }
}

#[test]
fn help_explains_usage() {
    let help = expect_success(&both(&["--help"], ""));
    assert!(
        help.contains("Usage: iris-inference") && help.contains("--json"),
        "{help}"
    );
}

#[test]
fn bad_input_is_one_line_with_exit_code_2_and_never_a_trap() {
    let cases: &[(&[&str], &str, &str)] = &[
        (&[], "", "no input given"),
        (&["{"], "", "malformed JSON"),
        (
            &[r#"{"sepal_length": 7.0}"#],
            "",
            "missing field `sepal_width`",
        ),
        (
            &[
                r#"{"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4, "colour": 1}"#,
            ],
            "",
            "unknown field `colour`",
        ),
        (
            &[
                r#"{"sepal_length": "7", "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}"#,
            ],
            "",
            "invalid type: string",
        ),
        (
            &[
                r#"{"sepal_length": NaN, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}"#,
            ],
            "",
            "no NaN or Infinity",
        ),
        (
            &[
                r#"{"sepal_length": 1e39, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}"#,
            ],
            "",
            "'sepal_length' must be a finite number",
        ),
        (
            &[
                r#"{"sepal_length": -1, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}"#,
            ],
            "",
            "outside the possible range",
        ),
        (&["[]"], "", "empty array"),
        (&["-"], "", "the input is empty"),
        (&["--verbose", SAMPLE], "", "unknown option '--verbose'"),
    ];
    for (args, stdin, expected) in cases {
        for output in [
            run_wasm(&module(), args, stdin),
            run_native(NATIVE, args, stdin),
        ] {
            expect_bad_input(&output, expected, SAMPLE);
        }
    }
}

/// Every flower of the dataset in one batch: wasm and native print identical lines, plain
/// and with probabilities, and the answers are right for nearly all of them.
#[test]
fn wasm_and_native_agree_on_the_whole_dataset() {
    let data = IRIS_DATA.fetch(&resolve_data_dir(None).path).unwrap();
    let items = load_items(&data.path).unwrap();
    let batch: Vec<serde_json::Value> = items
        .iter()
        .map(|item| {
            FEATURES
                .iter()
                .zip(item.features)
                .map(|(name, value)| ((*name).to_owned(), serde_json::json!(value)))
                .collect::<serde_json::Map<_, _>>()
                .into()
        })
        .collect();
    let batch = serde_json::to_string(&batch).unwrap();
    let plain = expect_success(&both(&["-"], &batch));
    expect_success(&both(&["--json", "-"], &batch));
    let answers: Vec<&str> = plain.lines().collect();
    assert_eq!(answers.len(), items.len());
    let correct = answers
        .iter()
        .zip(&items)
        .filter(|(answer, item)| **answer == CLASSES[item.label])
        .count();
    assert!(correct >= 144, "at least 96% of all 150 flowers: {correct}");
}

#[test]
fn the_module_imports_only_wasi_preview1() {
    assert_only_wasi_imports(&module());
}
