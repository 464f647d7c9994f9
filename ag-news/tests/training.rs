//! Trains on real AG News data through the real binaries (a split of test.csv: train.csv is
//! not needed), checks that nothing falls back silently, and checks the committed model
//! against its report and against the TF-IDF + logistic-regression baseline.

use std::fs;
use std::path::Path;

use ag_news::config::AgNewsConfig;
use ag_news::data::{ACCEPTED, DataPlan, TEST_CSV, load_items, single_file_split};
use ag_news::evaluation::{AgNewsEvaluation, evaluate};
use ag_news::tokenizer::Tokenizer;
use ag_news::training::ALGORITHM;
use module_kit::digest::sha256_hex;
use module_kit::settings::TrainingReport;
use test_kit::cocos::CocosDir;
use test_kit::training::{
    assert_complete_artifacts, assert_resume_survives_kills, assert_trained_with_defaults,
    committed_dir, load_committed, read_report, train_in_temp, train_ok, train_refused,
};
use train_kit::paths::resolve_data_dir;

const CPU: &str = env!("CARGO_BIN_EXE_ag-news-ndarray");

fn report(dir: &Path) -> TrainingReport<AgNewsEvaluation> {
    read_report(dir)
}

/// `--single-file-split test.csv` and `args`: a run that needs only test.csv.
fn single_file_split_and<'a>(args: &[&'a str]) -> Vec<&'a str> {
    [&["--single-file-split", "test.csv"][..], args].concat()
}

#[test]
fn short_single_file_run_learns_and_says_what_it_trained_on() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ag-news");
    let output = train_ok(
        CPU,
        &["--single-file-split", "test.csv", "--epochs", "2"],
        &dir,
    );
    assert_complete_artifacts(&dir, &["vocab.json", "evaluation_rows.json"]);
    let report = report(&dir);
    assert_eq!(report.evaluation.examples, 1520, "20% of 7600");
    assert_eq!(
        report.evaluation.data,
        DataPlan::SingleFileSplit {
            file: "test.csv".into()
        }
    );
    assert!(
        report.evaluation.accuracy >= 0.8,
        "two epochs reach 80%: {}",
        report.evaluation.accuracy
    );
    let confusion_total: usize = report.evaluation.confusion.iter().flatten().sum();
    assert_eq!(confusion_total, 1520);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("SINGLE-FILE SPLIT"), "{stdout}");
}

#[test]
fn without_train_csv_it_fails_and_names_the_option_instead_of_falling_back() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    fs::create_dir_all(data_dir.join("ag-news")).unwrap();
    // A corrupt train.csv stands in for a missing one without reaching for the network.
    fs::write(data_dir.join("ag-news/train.csv"), "\"1\",\"t\",\"d\"\n").unwrap();
    let data_dir = data_dir.to_str().unwrap();
    let out = temp.path().join("out");
    let stderr = train_refused(CPU, &["--data-dir", data_dir], &out, 1);
    assert!(stderr.contains("--single-file-split test.csv"), "{stderr}");
    assert!(stderr.contains("has md5"), "{stderr}");
}

/// The release's test.csv, as the canonical data directory holds it.
fn test_csv() -> Vec<u8> {
    fs::read(TEST_CSV.fetch(&resolve_data_dir(None).path).unwrap().path).unwrap()
}

/// Cocos AI: test.csv uploaded under another name is detected, split 80/20 as
/// `--single-file-split test.csv` splits it (the same evaluation rows), said so, and recorded.
#[test]
fn cocos_one_uploaded_csv_is_split_and_said_so() {
    let cocos = CocosDir::new();
    let dataset = cocos.upload("ag_news_test.csv", &test_csv());
    let stdout = cocos.train_ok(CPU, &[&dataset], &["--epochs", "1"]);
    let layout = "AG News release CSV (no header), 7600 articles, split 80/20: 6080 training, \
                  1520 evaluation";
    assert!(
        stdout.contains(&format!("ag-news: {dataset}: read as {layout}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("SINGLE-FILE SPLIT (one --dataset file)"),
        "{stdout}"
    );
    assert_complete_artifacts(&cocos.results(), &["vocab.json", "evaluation_rows.json"]);
    let records = cocos.assert_recorded::<AgNewsEvaluation>(&[&dataset]);
    assert_eq!(records[0].layout, layout);
    let report = report(&cocos.results());
    assert_eq!(report.datasets.len(), 1);
    assert_eq!(
        report.evaluation.data,
        DataPlan::DatasetSplit { file: dataset }
    );
    assert_eq!(report.evaluation.examples, 1520);
    let rows: Vec<usize> =
        serde_json::from_slice(&fs::read(cocos.results().join("evaluation_rows.json")).unwrap())
            .unwrap();
    let test = load_items(&TEST_CSV.fetch(&resolve_data_dir(None).path).unwrap().path).unwrap();
    let expected: Vec<usize> = single_file_split(test, 42)
        .1
        .iter()
        .map(|i| i.row)
        .collect();
    assert_eq!(
        rows, expected,
        "the rows --single-file-split test.csv evaluates on"
    );
}

/// Cocos AI: a train and a test file, told apart by their names; the Kaggle copy's header
/// row is detected and said.
#[test]
fn cocos_train_and_test_uploads_are_told_apart_by_name() {
    let test_csv = String::from_utf8(test_csv()).unwrap();
    let lines: Vec<&str> = test_csv.lines().collect();
    let kaggle_train = format!(
        "Class Index,Title,Description\n{}\n",
        lines[..6000].join("\n")
    );
    let cocos = CocosDir::new();
    let datasets = [
        cocos.upload(
            "news_test_part.csv",
            format!("{}\n", lines[6000..].join("\n")).as_bytes(),
        ),
        cocos.upload("Kaggle train.csv", kaggle_train.as_bytes()),
    ];
    let datasets: Vec<&str> = datasets.iter().map(String::as_str).collect();
    let stdout = cocos.train_ok(CPU, &datasets, &["--epochs", "1"]);
    let layouts = [
        "AG News release CSV (no header), 1600 articles, evaluation",
        "AG News CSV with the header Class Index,Title,Description, 6000 articles, training",
    ];
    let records = cocos.assert_recorded::<AgNewsEvaluation>(&datasets);
    for ((dataset, record), layout) in datasets.iter().zip(&records).zip(layouts) {
        assert_eq!(record.layout, layout);
        assert!(
            stdout.contains(&format!("ag-news: {dataset}: read as {layout}")),
            "{stdout}"
        );
    }
    assert_complete_artifacts(&cocos.results(), &["vocab.json"]);
    assert!(!cocos.results().join("evaluation_rows.json").exists());
    let report = report(&cocos.results());
    assert_eq!(
        report.evaluation.data,
        DataPlan::DatasetFiles {
            train: datasets[1].into(),
            test: datasets[0].into()
        }
    );
    assert_eq!(report.evaluation.examples, 1600);
}

/// Cocos AI: a CSV of another data set, or names that do not say which file trains, get one
/// line naming what was found and what is accepted; nothing is written.
#[test]
fn cocos_uploads_that_are_not_ag_news_are_refused_in_one_line() {
    let cocos = CocosDir::new();
    // The first rows of UCI's iris.data: inline, as the iris data need not be at hand.
    let iris = b"5.1,3.5,1.4,0.2,Iris-setosa\n4.9,3.0,1.4,0.2,Iris-setosa\n";
    let other = cocos.upload("news.csv", iris);
    let line = cocos.train_refused(CPU, &[&other], &[]);
    assert!(
        line.ends_with(&format!(
            "error: datasets/news.csv: a first row of 5 fields ('5.1,3.5,1.4,0.2,Iris-setosa'), \
             not 3 (class, title, description); accepted: {ACCEPTED}"
        )),
        "{line}"
    );
    let a = cocos.upload("a.csv", &test_csv());
    let b = cocos.upload("b.csv", &test_csv());
    let line = cocos.train_refused(CPU, &[&a, &b], &[]);
    assert!(
        line.contains("cannot tell which of datasets/a.csv (AG News release CSV (no header), 7600 articles) and datasets/b.csv"),
        "{line}"
    );
    let line = cocos.train_refused(CPU, &[&a, &b], &["--single-file-split", "test.csv"]);
    assert!(
        line.contains("--single-file-split test.csv splits one file"),
        "{line}"
    );
}

#[test]
fn ndarray_backend_trains_too() {
    let args = ["--epochs", "1", "--backend", "ndarray"];
    let run = train_in_temp(CPU, &single_file_split_and(&args), "ag-news");
    assert_eq!(report(&run.dir).backend, "ndarray");
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_trains_on_a_software_adapter() {
    let args = single_file_split_and(&["--epochs", "1", "--adapter", "cpu"]);
    let run = train_in_temp(env!("CARGO_BIN_EXE_ag-news-wgpu"), &args, "ag-news");
    let report = report(&run.dir);
    assert!(report.backend.starts_with("wgpu ("), "{}", report.backend);
    assert!(
        report.evaluation.accuracy >= 0.6,
        "{}",
        report.evaluation.accuracy
    );
}

/// The committed model's report tells the truth, and the model beats the TF-IDF + logistic
/// regression baseline (`bench/ag_news_baseline.py`) trained on the same split.
#[test]
fn committed_model_matches_its_report_and_beats_the_baseline() {
    let dir = committed_dir("ag-news");
    let (committed, report) = load_committed::<AgNewsConfig, AgNewsEvaluation>("ag-news");
    let config = &committed.config;
    let tokenizer: Tokenizer =
        serde_json::from_slice(&fs::read(dir.join("vocab.json")).unwrap()).unwrap();
    assert_trained_with_defaults(&config.training, &ALGORITHM);
    let plan = DataPlan::SingleFileSplit {
        file: "test.csv".into(),
    };
    assert_eq!(
        config.training.options.single_file_split.as_deref(),
        Some("test.csv")
    );
    assert_eq!(report.evaluation.data, plan);

    let (model, device) = (&committed.model, &committed.device);
    let test = load_items(&TEST_CSV.fetch(&resolve_data_dir(None).path).unwrap().path).unwrap();
    let (_, evaluation_items) = single_file_split(test, config.training.seed);
    let rows: Vec<usize> =
        serde_json::from_slice(&fs::read(dir.join("evaluation_rows.json")).unwrap()).unwrap();
    assert_eq!(
        rows,
        evaluation_items
            .iter()
            .map(|item| item.row)
            .collect::<Vec<_>>()
    );
    let evaluation = evaluate(model, &tokenizer, &evaluation_items, plan, device).unwrap();
    assert_eq!(evaluation.confusion, report.evaluation.confusion);
    assert_eq!(evaluation.accuracy, report.evaluation.accuracy);

    let baseline: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("baseline.json")).unwrap()).unwrap();
    assert_eq!(
        baseline["evaluation_rows_sha256"],
        sha256_hex(&fs::read(dir.join("evaluation_rows.json")).unwrap())
    );
    let baseline_accuracy = baseline["accuracy"].as_f64().unwrap();
    assert!(
        evaluation.accuracy > baseline_accuracy,
        "model {} must beat TF-IDF + logistic regression {baseline_accuracy}",
        evaluation.accuracy
    );
}

/// Killed with SIGKILL (mid-epoch), `--resume` gives the model of an uninterrupted run, on
/// flex and ndarray, and the previous artifacts stay intact until then.
#[test]
fn a_killed_run_resumes_to_the_same_model_bytes() {
    let args = single_file_split_and(&["--epochs", "2"]);
    assert_resume_survives_kills(CPU, &args, &["epoch:2"]);
}
