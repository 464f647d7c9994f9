//! The module's contract, under the wasmtime CLI and natively: the shared contract check, then
//! what is MNIST's own: real test images one by one and in batches, the probabilities, bad
//! grey levels and image lengths, the raised input size limit, and agreement between wasm and
//! native on all 10,000 test images.

use mnist::data::{MnistItem, load_test_set};
use mnist::evaluation::MnistEvaluation;
use mnist::inference::{EXAMPLE_SEVEN, MAX_INPUT_BYTES, MnistPredictor};
use mnist::input::PIXELS;
use test_kit::named::assert_named_module_agrees;
use test_kit::process::expect_success;
use test_kit::training::{committed_dir, read_json, read_report};
use train_kit::paths::resolve_data_dir;

test_kit::inference_cli_tests! {
    predictor: MnistPredictor, algorithm: "mnist", example answer: "7",
    runtime calls: [
        ["--json", "-"] stdin &format!("[{EXAMPLE_SEVEN}, {EXAMPLE_SEVEN}, {EXAMPLE_SEVEN}]"),
        ["[1, 2, 3]"] stdin "",
    ],
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

/// The committed `metrics.json`, as the module embeds it.
fn metrics() -> serde_json::Value {
    read_json(&committed_dir("mnist").join("metrics.json"))
}

/// The contract check sees the example read as a 7; it is the first official test image.
#[test]
fn the_example_is_the_first_test_image_a_seven() {
    let first = &test_set()[0];
    let example: Vec<u8> = serde_json::from_str(EXAMPLE_SEVEN).unwrap();
    assert_eq!(example, first.pixels.to_vec());
    assert_eq!(first.label, 7);
}

#[test]
fn a_batch_gives_one_line_per_image_and_stdin_works() {
    let items = &test_set()[..5];
    let expected: String = items
        .iter()
        .map(|item| format!("{}\n", item.label))
        .collect();
    let batch = batch_json(items);
    assert_eq!(expect_success(&module().both(&[&batch], "")), expected);
    assert_eq!(expect_success(&module().both(&["-"], &batch)), expected);
    let fractional = format!("[{}]", EXAMPLE_SEVEN.replace(",0,", ",0.25,"));
    assert_eq!(expect_success(&module().both(&[&fractional], "")), "7\n");
}

#[test]
fn json_output_has_the_digit_and_ten_probabilities() {
    let answer = module().json_answer(EXAMPLE_SEVEN, "7");
    let probabilities = answer["probabilities"].as_object().unwrap();
    let digits: Vec<&String> = probabilities.keys().collect();
    assert_eq!(digits, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    assert!(probabilities["7"].as_f64().unwrap() > 0.9, "{answer}");
}

#[test]
fn info_shows_the_metrics_schema_and_normalisation() {
    let info: serde_json::Value =
        serde_json::from_str(&expect_success(&module().both(&["--info"], ""))).unwrap();
    assert_eq!(
        info["training"]["evaluation"]["accuracy"],
        metrics()["evaluation"]["accuracy"]
    );
    assert_eq!(info["input_schema"]["length"], PIXELS);
    assert_eq!(info["input_schema"]["max_input_bytes"], MAX_INPUT_BYTES);
    assert!(info["normalization"]["std"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_images_are_one_line_with_exit_code_2_and_never_a_trap() {
    let short = format!("[{}]", vec!["0"; PIXELS - 1].join(","));
    let cases: Vec<(String, &str)> = vec![
        (short.clone(), "expected 784 grey levels"),
        (
            image_with(100, "256"),
            "pixel 100 is 256, outside the grey levels 0 to 255",
        ),
        (image_with(3, "-1"), "pixel 3 is -1"),
        (image_with(5, "NaN"), "no NaN or Infinity"),
        (image_with(5, "1e39"), "the number 1e39 is beyond ±2^53"),
        (image_with(7, "\"12\""), "invalid type: string"),
        (image_with(7, "null"), "invalid type: null"),
        ("{}".into(), "invalid type: map"),
        ("7".into(), "invalid type: integer"),
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
        module().refuses(&[input], "", expected);
    }
}

/// The limit is raised from the contract's 1 MiB so that a batch of 1,000 images fits, and
/// still enforced above it.
#[test]
fn the_input_limit_takes_a_thousand_images_and_refuses_more_than_sixteen_mib() {
    const { assert!(MAX_INPUT_BYTES >= 1000 * PIXELS * 5) };
    let oversized = format!("[{}]", " ".repeat(MAX_INPUT_BYTES));
    module().refuses(&["-"], &oversized, "larger than 16777216 bytes");
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
        let answers = expect_success(&module().both(&["-"], &batch));
        assert_eq!(answers.lines().count(), chunk.len());
        correct += answers
            .lines()
            .zip(chunk)
            .filter(|(answer, item)| *answer == item.label.to_string())
            .count();
    }
    let accuracy = correct as f64 / items.len() as f64;
    let reported = read_report::<MnistEvaluation>(&committed_dir("mnist"))
        .evaluation
        .accuracy;
    assert!(
        (accuracy - reported).abs() < 1e-9,
        "module {accuracy} vs metrics.json {reported}"
    );
    expect_success(&module().both(&["--json", "-"], &batch_json(&items[..1000])));
}

/// The named-graph module (no weights; the host's graph `mnist`) answers all 10,000 test
/// images as this module does, through `model-server run` and over the server's HTTP API.
#[test]
fn the_named_module_answers_all_ten_thousand_test_images_as_this_one() {
    let items = test_set();
    let batches: Vec<String> = items.chunks(1000).map(batch_json).collect();
    let lines = assert_named_module_agrees("mnist", &batches);
    assert_eq!(lines.len(), items.len());
}
