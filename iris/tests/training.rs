//! Trains on the real Iris data through the real binaries, and checks the committed model.
//! Data comes from `$DATASETS_DIR` (CI: the verified copies) or is downloaded and verified.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::digest::sha256_hex;
use common::harness::{load_committed, read_report, train_ok};
use common::paths::resolve_data_dir;
use common::report::TrainingReport;
use iris::data::{IRIS_DATA, load_items, split};
use iris::inference::IrisEvaluation;
use iris::model::IrisArtifactConfig;
use iris::training::{DEFAULTS, evaluate};

/// Accuracy the committed model must reach on its validation split (29 of 30 flowers).
const COMMITTED_BAR: f64 = 0.967;
/// Accuracy a short CI run (20 epochs) must reach.
const SHORT_RUN_BAR: f64 = 0.9;

fn train(binary: &str, args: &[&str], artifact_dir: &Path) -> Output {
    train_ok(binary, args, artifact_dir)
}

fn report(dir: &Path) -> TrainingReport<IrisEvaluation> {
    read_report(dir)
}

fn cpu_binary() -> &'static str {
    env!("CARGO_BIN_EXE_iris-ndarray")
}

fn assert_complete_artifacts(dir: &Path) {
    for name in ["model.bpk", "config.json", "metrics.json", "training.png"] {
        assert!(dir.join(name).is_file(), "{name} is written");
    }
    assert!(
        dir.join("train/epoch-1/Loss.log").is_file(),
        "burn's metric logs are kept"
    );
    assert!(dir.join("valid/epoch-1/Accuracy.log").is_file());
    let parent = dir.parent().unwrap();
    let leftovers: Vec<PathBuf> = fs::read_dir(parent)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no staging leftovers: {leftovers:?}");
}

#[test]
fn short_flex_run_learns_and_writes_every_artifact() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("iris");
    let output = train(cpu_binary(), &["--epochs", "20", "--backend", "flex"], &dir);
    assert_complete_artifacts(&dir);
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
        report.evaluation.validation_accuracy >= SHORT_RUN_BAR,
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
    train(
        cpu_binary(),
        &["--epochs", "20", "--backend", "ndarray"],
        &dir,
    );
    let report = report(&dir);
    assert_eq!(report.backend, "ndarray");
    assert!(
        report.evaluation.validation_accuracy >= SHORT_RUN_BAR,
        "{:?}",
        report.evaluation
    );
}

#[test]
fn same_seed_gives_the_same_model_bytes_on_each_cpu_backend() {
    let temp = tempfile::tempdir().unwrap();
    for backend in ["flex", "ndarray"] {
        let model = |name: &str, seed: &str| {
            let dir = temp.path().join(format!("{backend}-{name}"));
            train(
                cpu_binary(),
                &["--epochs", "5", "--backend", backend, "--seed", seed],
                &dir,
            );
            fs::read(dir.join("model.bpk")).unwrap()
        };
        let first = model("a", "7");
        assert_eq!(first, model("b", "7"), "{backend}: same seed, same bytes");
        assert_ne!(
            first,
            model("c", "8"),
            "{backend}: another seed, another model"
        );
    }
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
    let artifacts = temp.path().join("out");
    let output = Command::new(cpu_binary())
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--artifact-dir")
        .arg(&artifacts)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not the expected") && stderr.contains(IRIS_DATA.url),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!artifacts.exists());
}

#[test]
fn bad_options_are_refused_by_the_command_line() {
    let output = Command::new(cpu_binary())
        .args(["--backend", "tpu"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value 'tpu'"));
}

/// The committed `artifacts/iris` is what the committed defaults produce, its report tells
/// the truth about the committed model, and that model clears the bar.
#[test]
fn committed_model_matches_its_report_and_clears_the_bar() {
    let (committed, report) =
        load_committed::<_, IrisArtifactConfig, IrisEvaluation>("iris", |config, device| {
            config.model.init(device)
        });
    let config = &committed.config;
    assert_eq!(report.settings, config.training);
    assert_eq!(
        (
            config.training.epochs,
            config.training.batch_size,
            config.training.learning_rate
        ),
        (DEFAULTS.epochs, DEFAULTS.batch_size, DEFAULTS.learning_rate),
        "trained with the committed defaults"
    );

    let (model, device) = (&committed.model, &committed.device);
    let data = IRIS_DATA.fetch(&resolve_data_dir(None).path).unwrap();
    let (_, valid) = split(load_items(&data.path).unwrap(), config.training.seed);
    let evaluation = evaluate(model, &config.preprocessing, &valid, device).unwrap();
    assert_eq!(
        evaluation.validation_accuracy, report.evaluation.validation_accuracy,
        "metrics.json reports the committed model's accuracy"
    );
    assert!((evaluation.validation_loss - report.evaluation.validation_loss).abs() < 1e-5);
    assert!(
        evaluation.validation_accuracy >= COMMITTED_BAR,
        "committed model: {evaluation:?}"
    );
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
        let output = train(wgpu_binary(), &["--adapter", "cpu", "--epochs", "20"], &dir);
        let report = report(&dir);
        assert!(report.backend.starts_with("wgpu ("), "{}", report.backend);
        assert!(
            report.evaluation.validation_accuracy >= SHORT_RUN_BAR,
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
