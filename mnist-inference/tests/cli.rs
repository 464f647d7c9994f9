//! The module's contract, under the wasmtime CLI and natively: answers, formats, bad input,
//! the input size limit, agreement between wasm and native on all 10,000 test images, and the
//! module's imports.

use std::path::PathBuf;

use common::harness::{
    assert_only_wasi_imports, expect_bad_input, expect_success, run_both, run_native, run_wasm,
    wasm_module,
};
use common::paths::{resolve_data_dir, workspace_root};
use mnist::data::{MnistItem, load_test_set};
use mnist::inference::{ERROR_EXAMPLE, EXAMPLE_SEVEN, MAX_INPUT_BYTES};
use mnist::model::PIXELS;

const NATIVE: &str = env!("CARGO_BIN_EXE_mnist-inference");

fn module() -> PathBuf {
    wasm_module("mnist-inference")
}

fn both(args: &[&str], stdin: &str) -> std::process::Output {
    run_both(&module(), NATIVE, args, stdin)
}

fn test_set() -> Vec<MnistItem> {
    load_test_set(&resolve_data_dir(None).path).unwrap()
}

/// Images as the module's JSON: one array of grey levels each, in one batch.
fn batch_json(items: &[MnistItem]) -> String {
    let images: Vec<&[u8]> = items.iter().map(|item| &item.pixels[..]).collect();
    serde_json::to_string(&images).unwrap()
}

/// `[0, 0, ..., 0]` with one value replaced.
fn image_with(index: usize, value: &str) -> String {
    let mut values = vec!["0".to_owned(); PIXELS];
    values[index] = value.to_owned();
    format!("[{}]", values.join(", "))
}

fn metrics() -> serde_json::Value {
    let path = workspace_root().join("artifacts/mnist/metrics.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn the_example_is_the_first_test_image_and_reads_seven() {
    let first = &test_set()[0];
    let example: Vec<u8> = serde_json::from_str(EXAMPLE_SEVEN).unwrap();
    assert_eq!(example, first.pixels.to_vec());
    assert_eq!(first.label, 7);
    assert_eq!(expect_success(&both(&[EXAMPLE_SEVEN], "")), "7\n");
}

#[test]
fn a_batch_gives_one_line_per_image_and_stdin_works() {
    let items = &test_set()[..5];
    let expected: String = items
        .iter()
        .map(|item| format!("{}\n", item.label))
        .collect();
    let batch = batch_json(items);
    assert_eq!(expect_success(&both(&[&batch], "")), expected);
    assert_eq!(expect_success(&both(&["-"], &batch)), expected);
    let fractional = format!("[{}]", EXAMPLE_SEVEN.replace(",0,", ",0.25,"));
    assert_eq!(expect_success(&both(&[&fractional], "")), "7\n");
}

#[test]
fn json_output_has_the_digit_and_ten_probabilities() {
    let line = expect_success(&both(&["--json", EXAMPLE_SEVEN], ""));
    let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(answer["class"], "7");
    let probabilities = answer["probabilities"].as_object().unwrap();
    let digits: Vec<&String> = probabilities.keys().collect();
    assert_eq!(digits, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    let total: f64 = probabilities.values().map(|p| p.as_f64().unwrap()).sum();
    assert!(
        (total - 1.0).abs() < 1e-4,
        "probabilities sum to 1: {total}"
    );
    assert!(probabilities["7"].as_f64().unwrap() > 0.9, "{answer}");
}

#[test]
fn info_shows_the_model_hash_metrics_schema_and_normalisation() {
    let info: serde_json::Value =
        serde_json::from_str(&expect_success(&both(&["--info"], ""))).unwrap();
    let committed = std::fs::read(workspace_root().join("artifacts/mnist/model.bpk")).unwrap();
    assert_eq!(info["model_sha256"], common::digest::sha256_hex(&committed));
    assert_eq!(
        info["training"]["evaluation"]["test_accuracy"],
        metrics()["evaluation"]["test_accuracy"]
    );
    assert_eq!(info["input_schema"]["length"], PIXELS);
    assert_eq!(info["input_schema"]["max_input_bytes"], MAX_INPUT_BYTES);
    assert!(info["normalization"]["std"].as_f64().unwrap() > 0.0);
}

#[test]
fn help_explains_usage() {
    let help = expect_success(&both(&["--help"], ""));
    assert!(
        help.contains("Usage: mnist-inference") && help.contains("--json"),
        "{help}"
    );
}

#[test]
fn bad_input_is_one_line_with_exit_code_2_and_never_a_trap() {
    let short = format!("[{}]", vec!["0"; PIXELS - 1].join(","));
    let cases: Vec<(String, &str)> = vec![
        ("[".into(), "malformed JSON"),
        (short.clone(), "expected 784 grey levels"),
        (
            image_with(100, "256"),
            "pixel 100 is 256, outside the grey levels 0 to 255",
        ),
        (image_with(3, "-1"), "pixel 3 is -1"),
        (image_with(5, "NaN"), "no NaN or Infinity"),
        (image_with(5, "1e39"), "pixel 5 must be a finite number"),
        (image_with(7, "\"12\""), "invalid type: string"),
        (image_with(7, "null"), "invalid type: null"),
        ("{}".into(), "invalid type: map"),
        ("7".into(), "invalid type: integer"),
        ("[]".into(), "empty array"),
        (
            format!("[{EXAMPLE_SEVEN}, {short}]"),
            "item 1 of the array: expected 784",
        ),
        (
            format!("[{EXAMPLE_SEVEN}, 3]"),
            "item 1 of the array: invalid type: integer",
        ),
    ];
    for (input, expected) in &cases {
        for output in [
            run_wasm(&module(), &[input], ""),
            run_native(NATIVE, &[input], ""),
        ] {
            expect_bad_input(&output, expected, ERROR_EXAMPLE);
        }
    }
    for (args, expected) in [
        (&[][..], "no input given"),
        (
            &["--verbose", EXAMPLE_SEVEN][..],
            "unknown option '--verbose'",
        ),
        (&["-"][..], "the input is empty"),
    ] {
        expect_bad_input(&run_wasm(&module(), args, ""), expected, ERROR_EXAMPLE);
    }
}

/// The limit is raised from the contract's 1 MiB so that a batch of 1,000 images fits, and
/// still enforced above it.
#[test]
fn the_input_limit_takes_a_thousand_images_and_refuses_more_than_sixteen_mib() {
    const { assert!(MAX_INPUT_BYTES >= 1000 * PIXELS * 5) };
    let oversized = format!("[{}]", " ".repeat(MAX_INPUT_BYTES));
    for output in [
        run_wasm(&module(), &["-"], &oversized),
        run_native(NATIVE, &["-"], &oversized),
    ] {
        expect_bad_input(&output, "larger than 16777216 bytes", ERROR_EXAMPLE);
    }
}

/// All 10,000 test images in batches of 1,000 (each about 2 MB of JSON, over the contract's
/// default limit): wasm and native print identical lines, exactly as accurate as
/// `metrics.json` says, and the same probabilities to within the harness's tolerance.
#[test]
fn wasm_and_native_agree_on_all_ten_thousand_test_images() {
    let items = test_set();
    let mut correct = 0;
    for chunk in items.chunks(1000) {
        let batch = batch_json(chunk);
        let answers = expect_success(&both(&["-"], &batch));
        assert_eq!(answers.lines().count(), chunk.len());
        correct += answers
            .lines()
            .zip(chunk)
            .filter(|(answer, item)| *answer == item.label.to_string())
            .count();
    }
    let accuracy = correct as f64 / items.len() as f64;
    let reported = metrics()["evaluation"]["test_accuracy"].as_f64().unwrap();
    assert!(
        (accuracy - reported).abs() < 1e-9,
        "module {accuracy} vs metrics.json {reported}"
    );
    expect_success(&both(&["--json", "-"], &batch_json(&items[..1000])));
}

#[test]
fn the_module_imports_only_wasi_preview1() {
    assert_only_wasi_imports(&module());
}
