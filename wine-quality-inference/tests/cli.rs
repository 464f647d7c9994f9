//! The module's contract, under the wasmtime CLI and natively: answers on the 0-10 scale,
//! formats, bad input (including physically impossible values), agreement between wasm and
//! native on every wine of the test split, and the module's imports.

use module_kit::cli::InferenceModel;
use test_kit::named::assert_named_module_agrees;
use test_kit::process::expect_success;
use test_kit::training::{committed_dir, read_json};
use train_kit::paths::resolve_data_dir;
use wine_quality::config::WineConfig;
use wine_quality::data::{RED_WINES, WHITE_WINES, load_items, split};
use wine_quality::inference::WinePredictor;
use wine_quality::input::{FEATURES, WineInput, WineType};

const SAMPLE: &str = <WinePredictor>::EXAMPLE;

// The example is the first red of the UCI file, rated 5 by the experts.
test_kit::inference_cli_tests! {
    predictor: WinePredictor, algorithm: "wine-quality", example answer: "4.9",
    runtime calls: [
        ["-"] stdin &SAMPLE.replace(r#""red""#, r#""rosé""#),
        ["--json", &SAMPLE.replace(r#""red""#, r#""white""#)] stdin "",
    ],
}

fn both(args: &[&str], stdin: &str) -> std::process::Output {
    module().both(args, stdin)
}

/// The sample with one field replaced by `value` (raw JSON).
fn sample_with(field: &str, value: &str) -> String {
    let mut sample: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(SAMPLE).unwrap();
    sample.insert(field.into(), serde_json::from_str(value).unwrap());
    serde_json::to_string(&sample).unwrap()
}

fn assert_quality_line(line: &str) -> f64 {
    let (whole, decimal) = line.split_once('.').expect("one decimal");
    assert!(
        whole.chars().all(|c| c.is_ascii_digit()) && decimal.len() == 1,
        "{line}"
    );
    let quality: f64 = line.parse().unwrap();
    assert!((0.0..=10.0).contains(&quality), "{line}");
    quality
}

#[test]
fn the_readme_sample_prints_a_quality_with_one_decimal() {
    let answer = expect_success(&both(&[SAMPLE], ""));
    let quality = assert_quality_line(answer.trim_end());
    // This wine (the first red of the UCI file) was rated 5 by the experts.
    assert!(
        (4.5..=6.0).contains(&quality),
        "a plausible score: {quality}"
    );
}

#[test]
fn batch_stdin_and_json_output() {
    let white = sample_with("type", r#""white""#);
    let batch = format!("[{SAMPLE}, {white}]");
    let lines = expect_success(&both(&["-"], &batch));
    assert_eq!(lines.lines().count(), 2);
    lines.lines().for_each(|line| {
        assert_quality_line(line);
    });
    let json = expect_success(&both(&["--json", &batch], ""));
    for line in json.lines() {
        let answer: serde_json::Value = serde_json::from_str(line).unwrap();
        let quality = answer["quality"].as_f64().unwrap();
        assert_eq!(answer["grade"].as_f64().unwrap(), quality.round());
    }
}

#[test]
fn info_shows_every_measurement_and_the_type() {
    let info: serde_json::Value =
        serde_json::from_str(&expect_success(&both(&["--info"], ""))).unwrap();
    for feature in FEATURES {
        assert_eq!(info["input_schema"][feature.key]["type"], "number");
    }
    assert_eq!(
        info["input_schema"]["type"]["enum"],
        serde_json::json!(["red", "white"])
    );
    assert!(
        info["training"]["evaluation"]["test"]["rmse"]
            .as_f64()
            .is_some()
    );
}

#[test]
fn bad_and_impossible_input_is_one_line_with_exit_code_2() {
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![r#"{"alcohol": 9.4}"#.into()], "missing field"),
        (vec![sample_with("colour", "1")], "unknown field `colour`"),
        (
            vec![sample_with("alcohol", r#""strong""#)],
            "invalid type: string",
        ),
        (
            vec![sample_with("type", r#""rose""#)],
            "unknown variant `rose`",
        ),
        (
            vec![sample_with("chlorides", "-0.1")],
            "'chlorides' is -0.1, outside the possible range",
        ),
        (
            vec![sample_with("density", "1.5")],
            "'density' is 1.5, outside the possible range 0.9 to 1.1",
        ),
        (
            vec![sample_with("ph", "15")],
            "'ph' is 15, outside the possible range 0 to 14",
        ),
        (
            vec![sample_with("alcohol", "1e39")],
            "the number 1e39 is beyond ±2^53",
        ),
    ];
    for (args, expected) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        module().refuses(&args, "", expected);
    }
}

/// Every wine of the committed model's test split in one batch: wasm and native print
/// identical lines, and the answers are as good as `metrics.json` says.
#[test]
fn wasm_and_native_agree_on_the_whole_test_split() {
    let (test, inputs) = test_split();
    let batch = serde_json::to_string(&inputs).unwrap();
    let answers = module().both_on_batch(&batch);
    let answers: Vec<f64> = answers.lines().map(assert_quality_line).collect();
    assert_eq!(answers.len(), test.len());
    let mae = answers
        .iter()
        .zip(&test)
        .map(|(a, item)| (a - f64::from(item.quality)).abs())
        .sum::<f64>()
        / test.len() as f64;
    assert!(
        mae <= 0.56,
        "the printed (rounded) answers keep the MAE bar: {mae}"
    );
}

/// The named-graph module (no weights; the host's graph `wine-quality`) answers the whole test
/// split as this module does, through `model-server run` and over the server's HTTP API.
#[test]
fn the_named_module_answers_the_whole_test_split_as_this_one() {
    let (test, inputs) = test_split();
    let lines =
        assert_named_module_agrees("wine-quality", &[serde_json::to_string(&inputs).unwrap()]);
    assert_eq!(lines.len(), test.len());
}

/// The committed model's test split, and its wines as the module's inputs.
fn test_split() -> (Vec<wine_quality::data::WineItem>, Vec<WineInput>) {
    let config: WineConfig = read_json(&committed_dir("wine-quality").join("config.json"));
    let data_dir = resolve_data_dir(None).path;
    let mut items = load_items(&RED_WINES.fetch(&data_dir).unwrap().path, WineType::Red).unwrap();
    items.extend(load_items(&WHITE_WINES.fetch(&data_dir).unwrap().path, WineType::White).unwrap());
    let test = split(items, config.training.seed).test;
    let inputs: Vec<WineInput> = test.iter().map(|item| item.input).collect();
    (test, inputs)
}
