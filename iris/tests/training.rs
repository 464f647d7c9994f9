//! Trains on the real Iris data through the real binaries, and checks the committed model.
//! Data comes from `$DATASETS_DIR` (CI: the verified copies) or is downloaded and verified.

use std::fs;
use std::path::Path;
use std::process::Command;

use iris::config::IrisConfig;
use iris::data::{IRIS_DATA, load_items, split};
use iris::evaluation::{IrisEvaluation, evaluate};
use iris::training::ALGORITHM;
use runtime::digest::sha256_hex;
use runtime::settings::TrainingReport;
use test_kit::training::{
    assert_complete_artifacts, assert_reproducible_from_config, assert_same_seed_same_bytes,
    assert_trained_with_defaults, load_committed, read_report, train_ok, train_refused,
};
use train_kit::paths::resolve_data_dir;

/// Accuracy the committed model must reach on its validation split (29 of 30 flowers).
const COMMITTED_BAR: f64 = 0.967;
/// Accuracy a short CI run (20 epochs) must reach.
const SHORT_RUN_BAR: f64 = 0.9;

const CPU: &str = env!("CARGO_BIN_EXE_iris-ndarray");

fn report(dir: &Path) -> TrainingReport<IrisEvaluation> {
    read_report(dir)
}

#[test]
fn short_flex_run_learns_and_writes_every_artifact() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("iris");
    let output = train_ok(CPU, &["--epochs", "20", "--backend", "flex"], &dir);
    assert_complete_artifacts(&dir, &[]);
    assert!(dir.join("valid/epoch-1/Accuracy.log").is_file());
    let report = report(&dir);
    assert_eq!(report.backend, "flex");
    assert_eq!(report.epochs_run, 20);
    assert_eq!(
        report.dataset_sha256[IRIS_DATA.relative_path],
        "6f608b71a7317216319b4d27b4d9bc84e6abd734eda7872b71a458569e2656c0"
    );
    assert_eq!(
        report.model_sha256,
        sha256_hex(&fs::read(dir.join("model.bpk")).unwrap())
    );
    assert!(
        report.evaluation.accuracy >= SHORT_RUN_BAR,
        "20 epochs reach {SHORT_RUN_BAR}: {:?}",
        report.evaluation
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("epoch  20/20"),
        "one line per epoch:\n{stdout}"
    );
    assert!(
        stdout.contains("Learner Summary"),
        "the summary is printed:\n{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("backend flex"),
        "logs the backend:\n{stderr}"
    );
}

#[test]
fn ndarray_backend_trains_too() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("iris");
    train_ok(CPU, &["--epochs", "20", "--backend", "ndarray"], &dir);
    let report = report(&dir);
    assert_eq!(report.backend, "ndarray");
    assert!(
        report.evaluation.accuracy >= SHORT_RUN_BAR,
        "{:?}",
        report.evaluation
    );
}

#[test]
fn same_seed_gives_the_same_model_bytes_on_each_cpu_backend() {
    assert_same_seed_same_bytes(CPU, &["--epochs", "5"]);
}

#[test]
fn a_dataset_with_the_wrong_checksum_is_refused_and_nothing_is_written() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    fs::create_dir_all(data_dir.join("iris")).unwrap();
    fs::write(
        data_dir.join("iris/iris.csv"),
        "5.1,3.5,1.4,0.2,Iris-setosa\n",
    )
    .unwrap();
    let data_dir = data_dir.to_str().unwrap();
    let stderr = train_refused(CPU, &["--data-dir", data_dir], &temp.path().join("out"), 1);
    assert!(
        stderr.contains("not the expected") && stderr.contains(IRIS_DATA.url),
        "{stderr}"
    );
}

#[test]
fn bad_options_are_refused_by_the_command_line() {
    let output = Command::new(CPU)
        .args(["--backend", "tpu"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value 'tpu'"));
}

/// `--config` takes every setting from a config.json, so no training option may be given
/// beside it; `--weight-decay` applies to AdamW only, and Iris trains with Adam.
#[test]
fn settings_that_cannot_be_used_are_refused_before_training() {
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("out");
    let config = test_kit::training::committed_dir("iris").join("config.json");
    let config = config.to_str().unwrap();
    let message = train_refused(CPU, &["--config", config, "--epochs", "3"], &out, 2);
    assert!(
        message.contains("--epochs cannot be combined with --config"),
        "{message}"
    );
    let message = train_refused(CPU, &["--weight-decay", "0.1"], &out, 2);
    assert!(
        message.contains("--weight-decay applies to AdamW"),
        "{message}"
    );
    let message = train_refused(CPU, &["--config", "/nonexistent/config.json"], &out, 2);
    assert!(
        message.contains("cannot read /nonexistent/config.json"),
        "{message}"
    );
    let metrics = test_kit::training::committed_dir("iris").join("metrics.json");
    let message = train_refused(CPU, &["--config", metrics.to_str().unwrap()], &out, 2);
    assert!(
        message.contains("is not a config.json of this algorithm"),
        "{message}"
    );
}

/// The committed `artifacts/iris` is what the committed defaults produce, its report tells
/// the truth about the committed model, and that model clears the bar.
#[test]
fn committed_model_matches_its_report_and_clears_the_bar() {
    let (committed, report) = load_committed::<IrisConfig, IrisEvaluation>("iris");
    let config = &committed.config;
    assert_trained_with_defaults(&config.training, &ALGORITHM);

    let (model, device) = (&committed.model, &committed.device);
    let data = IRIS_DATA.fetch(&resolve_data_dir(None).path).unwrap();
    let (_, valid) = split(load_items(&data.path).unwrap(), config.training.seed);
    let evaluation = evaluate(model, &config.preprocessing, &valid, device).unwrap();
    assert_eq!(
        evaluation.accuracy, report.evaluation.accuracy,
        "metrics.json reports the committed model's accuracy"
    );
    assert_eq!(evaluation.confusion, report.evaluation.confusion);
    assert!((evaluation.loss - report.evaluation.loss).abs() < 1e-5);
    assert!(
        evaluation.accuracy >= COMMITTED_BAR,
        "committed model: {evaluation:?}"
    );
}

/// Every setting that shaped the committed model is in its config.json.
#[test]
fn the_committed_model_is_reproduced_from_its_config_alone() {
    assert_reproducible_from_config(CPU, "iris");
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use super::*;

    fn wgpu_binary() -> &'static str {
        env!("CARGO_BIN_EXE_iris-wgpu")
    }

    /// lavapipe, a software Vulkan device, stands in for a GPU on machines without one.
    #[test]
    fn trains_on_a_software_adapter() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("iris");
        let output = train_ok(wgpu_binary(), &["--adapter", "cpu", "--epochs", "20"], &dir);
        let report = report(&dir);
        assert!(report.backend.starts_with("wgpu ("), "{}", report.backend);
        assert!(
            report.evaluation.accuracy >= SHORT_RUN_BAR,
            "{:?}",
            report.evaluation
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("backend wgpu ("),
            "logs the adapter:\n{stderr}"
        );
    }

    /// With every Vulkan driver hidden there is no adapter: a clear error, not a panic.
    #[test]
    fn no_adapter_is_a_clear_error() {
        let temp = tempfile::tempdir().unwrap();
        let output = Command::new(wgpu_binary())
            .args(["--adapter", "cpu", "--epochs", "1", "--artifact-dir"])
            .arg(temp.path().join("iris"))
            .env("VK_ICD_FILENAMES", "/nonexistent.json")
            .env("VK_DRIVER_FILES", "/nonexistent.json")
            // ... and every EGL vendor, so the OpenGL path finds no software renderer either.
            .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent.json")
            .env("__EGL_VENDOR_LIBRARY_DIRS", "/nonexistent")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("no usable wgpu adapter"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(
            stderr
                .trim()
                .lines()
                .last()
                .unwrap()
                .matches("error")
                .count(),
            1
        );
    }
}
