//! The module's contract, under the wasmtime CLI and natively: the README example, both input
//! shapes, formats, bad input, text in any script, agreement between wasm and native on every
//! article of the evaluation split, and the module's imports.

use ag_news::config::AgNewsConfig;
use ag_news::data::{TEST_CSV, load_items, single_file_split};
use ag_news::inference::AgNewsPredictor;
use ag_news::input::{AgNewsInput, CLASSES, MAX_TEXT_BYTES};
use module_kit::cli::InferenceModel;
use test_kit::named::assert_named_module_agrees;
use test_kit::process::expect_success;
use test_kit::training::{committed_dir, read_json};
use train_kit::paths::resolve_data_dir;

const SAMPLE: &str = <AgNewsPredictor>::EXAMPLE;

test_kit::inference_cli_tests! {
    predictor: AgNewsPredictor, algorithm: "ag-news", example answer: "Business",
    runtime calls: [
        [r#"{"title": "Zürich: Börse schließt höher", "description": "日本の株価が上昇し、ユーロも堅調 — «très bien»"}"#] stdin "",
        ["--json", "-"] stdin r#"{"title": "Ölpreis fällt 🛢️", "description": "Förderländer erhöhen die Produktion"}"#,
    ],
}

fn both(args: &[&str], stdin: &str) -> std::process::Output {
    module().both(args, stdin)
}

#[test]
fn text_input_batches_stdin_and_json() {
    let batch = r#"[{"text": "The striker scored twice as the home team won the cup final"}, {"text": "Scientists unveil a faster chip for laptops and smartphones, software makers react"}]"#;
    assert_eq!(expect_success(&both(&["-"], batch)), "Sports\nSci/Tech\n");
    let answer = module().json_answer(SAMPLE, "Business");
    assert_eq!(answer["probabilities"].as_object().unwrap().len(), 4);
}

#[test]
fn text_in_any_script_does_not_crash_it() {
    for text in [
        "Ελλάδα εκλογές κυβέρνηση",
        "東京 株価 上昇",
        "مرحبا بالعالم",
        "🚀🔥💯",
        "\u{0}\u{200b}x",
        "ÅÄÖ ñ ß",
    ] {
        let input = serde_json::json!({ "text": text }).to_string();
        let answer = expect_success(&both(&[&input], ""));
        assert!(CLASSES.contains(&answer.trim_end()), "{text}: {answer}");
    }
}

#[test]
fn info_shows_the_classes_and_the_text_limit() {
    let info: serde_json::Value =
        serde_json::from_str(&expect_success(&both(&["--info"], ""))).unwrap();
    assert_eq!(info["classes"], serde_json::json!(CLASSES));
    assert_eq!(info["input_schema"]["max_text_bytes"], MAX_TEXT_BYTES);
}

#[test]
fn bad_input_is_one_line_with_exit_code_2() {
    let huge = serde_json::json!({ "text": "word ".repeat(MAX_TEXT_BYTES / 5 + 1) }).to_string();
    let cases: Vec<(String, &str)> = vec![
        (
            "{}".into(),
            "give \"title\" and \"description\", or \"text\"",
        ),
        (r#"{"text": "   "}"#.into(), "the article text is empty"),
        (
            r#"{"title": "", "description": ""}"#.into(),
            "the article text is empty",
        ),
        (
            r#"{"text": 42}"#.into(),
            "invalid type: integer `42`, expected a string",
        ),
        (
            r#"{"title": ["a"], "description": "b"}"#.into(),
            "invalid type: sequence",
        ),
        (r#"{"text": "a", "title": "b"}"#.into(), "not both"),
        (r#"{"body": "a"}"#.into(), "unknown field `body`"),
        (huge, "-byte limit"),
    ];
    for (input, expected) in &cases {
        module().refuses(&[input], "", expected);
    }
}

/// Every article of the committed model's evaluation split in one batch: wasm and native print
/// identical lines (plain and with probabilities), as accurate as `metrics.json` says.
#[test]
fn wasm_and_native_agree_on_the_whole_evaluation_split() {
    let (evaluation, inputs) = evaluation_split();
    let batch = serde_json::to_string(&inputs).unwrap();
    let answers = module().both_on_batch(&batch);
    let correct = answers
        .lines()
        .zip(&evaluation)
        .filter(|(answer, item)| *answer == CLASSES[item.label])
        .count();
    assert_eq!(answers.lines().count(), evaluation.len());
    let accuracy = correct as f64 / evaluation.len() as f64;
    let report: serde_json::Value = read_json(&committed_dir("ag-news").join("metrics.json"));
    let reported = report["evaluation"]["accuracy"].as_f64().unwrap();
    assert!(
        (accuracy - reported).abs() < 1e-9,
        "module {accuracy} vs metrics.json {reported}"
    );
}

/// The committed model's evaluation split, and its articles as the module's inputs.
fn evaluation_split() -> (Vec<ag_news::data::AgNewsItem>, Vec<AgNewsInput>) {
    let config: AgNewsConfig = read_json(&committed_dir("ag-news").join("config.json"));
    let data_dir = resolve_data_dir(None).path;
    let test = load_items(&TEST_CSV.fetch(&data_dir).unwrap().path).unwrap();
    let evaluation = match config.training.options.single_file_split.as_deref() {
        Some(file) => {
            assert_eq!(
                file, "test.csv",
                "the committed model was trained on a split of test.csv"
            );
            single_file_split(test, config.training.seed).1
        }
        None => test,
    };
    let inputs: Vec<AgNewsInput> = evaluation
        .iter()
        .map(|item| AgNewsInput {
            title: Some(item.title.clone()),
            description: Some(item.description.clone()),
            text: None,
        })
        .collect();
    (evaluation, inputs)
}

/// The named-graph module (no weights, no vocabulary; the host's graph `ag-news`) answers the
/// whole evaluation split as this module does, through `model-server run` and over HTTP.
#[test]
fn the_named_module_answers_the_whole_evaluation_split_as_this_one() {
    let (evaluation, inputs) = evaluation_split();
    let lines = assert_named_module_agrees("ag-news", &[serde_json::to_string(&inputs).unwrap()]);
    assert_eq!(lines.len(), evaluation.len());
}
