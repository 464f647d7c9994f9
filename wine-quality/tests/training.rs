//! Trains on the real Wine Quality data through the real binaries, and checks the committed
//! model against its report and the bars: RMSE at least 20% below the mean predictor's and
//! MAE at most 0.55 on the held-out test split.

use std::path::Path;

use runtime::settings::TrainingReport;
use test_kit::training::{
    assert_complete_artifacts, assert_reproducible_from_config, assert_trained_with_defaults,
    load_committed, read_report, train_ok,
};
use train_kit::paths::resolve_data_dir;
use wine_quality::config::WineConfig;
use wine_quality::data::{RED_WINES, WHITE_WINES, load_items, split};
use wine_quality::evaluation::{WineEvaluation, evaluate};
use wine_quality::input::WineType;
use wine_quality::training::ALGORITHM;

const CPU: &str = env!("CARGO_BIN_EXE_wine-quality-ndarray");

fn report(dir: &Path) -> TrainingReport<WineEvaluation> {
    read_report(dir)
}

/// A short run already beats the mean predictor clearly.
fn assert_short_run_learned(report: &TrainingReport<WineEvaluation>) {
    let e = &report.evaluation;
    assert!(e.test.rmse < 0.9 * e.mean_predictor.rmse, "{e:?}");
    assert!(e.test.r2 > 0.15, "{e:?}");
}

#[test]
fn short_flex_run_beats_the_mean_and_writes_every_artifact() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("wine-quality");
    let output = train_ok(CPU, &["--epochs", "8"], &dir);
    assert_complete_artifacts(&dir, &["predictions.png"]);
    let report = report(&dir);
    assert_eq!(report.backend, "flex");
    assert_eq!(report.dataset_sha256.len(), 2, "both wines are used");
    assert_short_run_learned(&report);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("epoch   8/8"), "{stdout}");
    assert!(stdout.contains("mean predictor"), "{stdout}");
}

#[test]
fn ndarray_backend_trains_too() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("wine-quality");
    let args = ["--epochs", "4", "--backend", "ndarray"];
    train_ok(CPU, &args, &dir);
    let report = report(&dir);
    assert_eq!(report.backend, "ndarray");
    assert_short_run_learned(&report);
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_trains_on_a_software_adapter() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("wine-quality");
    let args = ["--adapter", "cpu", "--epochs", "4"];
    train_ok(env!("CARGO_BIN_EXE_wine-quality-wgpu"), &args, &dir);
    let report = report(&dir);
    assert!(report.backend.starts_with("wgpu ("), "{}", report.backend);
    assert_short_run_learned(&report);
}

#[test]
fn committed_model_matches_its_report_and_clears_the_bars() {
    let (committed, report) = load_committed::<WineConfig, WineEvaluation>("wine-quality");
    let config = &committed.config;
    assert_trained_with_defaults(&config.training, &ALGORITHM);

    let (model, device) = (&committed.model, &committed.device);
    let data_dir = resolve_data_dir(None).path;
    let mut items = load_items(&RED_WINES.fetch(&data_dir).unwrap().path, WineType::Red).unwrap();
    items.extend(load_items(&WHITE_WINES.fetch(&data_dir).unwrap().path, WineType::White).unwrap());
    let splits = split(items, config.training.seed);
    let evaluation =
        evaluate(model, &config.preprocessing, config.target, &splits, device).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    assert!(
        close(evaluation.test.rmse, report.evaluation.test.rmse),
        "{evaluation:?}"
    );
    assert!(
        close(evaluation.test.mae, report.evaluation.test.mae),
        "{evaluation:?}"
    );
    assert_eq!(evaluation.mean_predictor, report.evaluation.mean_predictor);

    assert!(
        evaluation.test.rmse <= 0.8 * evaluation.mean_predictor.rmse,
        "RMSE at least 20% below the mean predictor's: {evaluation:?}"
    );
    assert!(
        evaluation.test.mae <= 0.55,
        "MAE at most 0.55: {evaluation:?}"
    );
}

/// Every setting that shaped the committed model is in its config.json.
#[test]
fn the_committed_model_is_reproduced_from_its_config_alone() {
    assert_reproducible_from_config(CPU, "wine-quality");
}
