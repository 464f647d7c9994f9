//! The module's contract, under the wasmtime CLI and natively: the shared contract check, then
//! what is Iris' own: the probabilities, bad measurements, and agreement between wasm and
//! native on the whole dataset.

use iris::data::{IRIS_DATA, load_items};
use iris::inference::IrisPredictor;
use iris::input::{CLASSES, FEATURES, IrisInput};
use module_kit::cli::InferenceModel;
use test_kit::named::assert_named_module_agrees;
use test_kit::process::expect_success;
use train_kit::paths::resolve_data_dir;

const EXAMPLE: &str = <IrisPredictor>::EXAMPLE;

test_kit::inference_cli_tests! {
    predictor: IrisPredictor, algorithm: "iris", example answer: "Iris-versicolor",
    runtime calls: [
        [r#"{"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": "été"}"#] stdin "",
        ["--json", "-"] stdin r#"[{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]"#,
    ],
}

#[test]
fn a_batch_gives_one_line_per_flower() {
    let setosa =
        r#"{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}"#;
    let batch = format!("[{EXAMPLE}, {setosa}]");
    let expected = "Iris-versicolor\nIris-setosa\n";
    assert_eq!(expect_success(&module().both(&[&batch], "")), expected);
    assert_eq!(expect_success(&module().both(&["-"], &batch)), expected);
}

#[test]
fn json_output_has_the_class_and_every_probability() {
    let answer = module().json_answer(EXAMPLE, "Iris-versicolor");
    let probabilities = answer["probabilities"].as_object().unwrap();
    assert_eq!(probabilities.len(), 3);
    let best = probabilities
        .iter()
        .max_by(|a, b| a.1.as_f64().partial_cmp(&b.1.as_f64()).unwrap())
        .unwrap();
    assert_eq!(best.0, "Iris-versicolor");
}

#[test]
fn info_shows_the_metrics_and_every_feature() {
    let info: serde_json::Value =
        serde_json::from_str(&expect_success(&module().both(&["--info"], ""))).unwrap();
    assert!(info["training"]["evaluation"]["accuracy"].as_f64().unwrap() >= 0.967);
    for feature in FEATURES {
        assert_eq!(info["input_schema"][feature.key]["type"], "number");
        assert_eq!(info["input_schema"][feature.key]["unit"], "cm");
    }
}

/// The example with one field replaced by `value` (raw JSON).
fn example_with(field: &str, value: &str) -> String {
    let mut example: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(EXAMPLE).unwrap();
    example.insert(field.into(), serde_json::from_str(value).unwrap());
    serde_json::to_string(&example).unwrap()
}

#[test]
fn bad_measurements_are_one_line_with_exit_code_2_and_never_a_trap() {
    let cases = [
        (
            r#"{"sepal_length": 7.0}"#.to_owned(),
            "missing field `sepal_width`",
        ),
        (example_with("colour", "1"), "unknown field `colour`"),
        (
            example_with("sepal_length", r#""7""#),
            "invalid type: string",
        ),
        (
            example_with("sepal_length", "1e39"),
            "the number 1e39 is beyond ±2^53",
        ),
        (
            example_with("sepal_length", "-1"),
            "outside the possible range",
        ),
    ];
    for (input, expected) in &cases {
        module().refuses(&[input], "", expected);
    }
}

/// Every flower of the dataset in one batch: wasm and native print identical lines, plain
/// and with probabilities, and the answers are right for nearly all of them.
#[test]
fn wasm_and_native_agree_on_the_whole_dataset() {
    let data = IRIS_DATA.fetch(&resolve_data_dir(None).path).unwrap();
    let items = load_items(&data.path).unwrap();
    let inputs: Vec<IrisInput> = items.iter().map(|item| item.input).collect();
    let batch = serde_json::to_string(&inputs).unwrap();
    let plain = module().both_on_batch(&batch);
    let answers: Vec<&str> = plain.lines().collect();
    assert_eq!(answers.len(), items.len());
    let correct = answers
        .iter()
        .zip(&items)
        .filter(|(answer, item)| **answer == CLASSES[item.label])
        .count();
    assert!(correct >= 144, "at least 96% of all 150 flowers: {correct}");
}

/// The named-graph module (no weights; the host's graph `iris`) answers every flower of the
/// dataset as this module does, through `model-server run` and over the server's HTTP API.
#[test]
fn the_named_module_answers_the_whole_dataset_as_this_one() {
    let data = IRIS_DATA.fetch(&resolve_data_dir(None).path).unwrap();
    let items = load_items(&data.path).unwrap();
    let inputs: Vec<IrisInput> = items.iter().map(|item| item.input).collect();
    let lines = assert_named_module_agrees("iris", &[serde_json::to_string(&inputs).unwrap()]);
    assert_eq!(lines.len(), items.len());
}

/// A host serving another Iris model (trained here with another seed) is refused: the module's
/// preprocessing and `--info` describe the committed model, so it fails with exit 1 and one
/// line naming both models instead of answering.
#[test]
fn the_named_module_refuses_a_host_with_another_model() {
    let other = tempfile::tempdir().unwrap();
    let trained = std::process::Command::new(test_kit::named::workspace_binary("iris-ndarray"))
        .args(["--epochs", "2", "--seed", "7", "--artifact-dir"])
        .arg(other.path())
        .arg("--data-dir")
        .arg(resolve_data_dir(None).path)
        .output()
        .unwrap();
    assert!(
        trained.status.success(),
        "{}",
        test_kit::process::stderr(&trained)
    );
    let graph = format!("iris={}", other.path().display());
    let output = test_kit::named::run_named_with(&[graph], "iris-inference-named", &[EXAMPLE], "");
    assert_eq!(output.status.code(), Some(1));
    let message = test_kit::process::stderr(&output);
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    assert!(
        message.contains("but this module was built for model"),
        "{message}"
    );
    assert!(output.stdout.is_empty());
}
