//! Trains on the real Iris data through the real binaries, and checks the committed model.
//! Data comes from `$DATASETS_DIR` (CI: the verified copies) or is downloaded and verified.

use std::fs;
use std::path::Path;
use std::process::Command;

use iris::config::IrisConfig;
use iris::data::{IRIS_DATA, load_items, split};
use iris::evaluation::{IrisEvaluation, evaluate};
use iris::training::ALGORITHM;
use module_kit::digest::sha256_hex;
use module_kit::settings::TrainingReport;
use test_kit::cocos::CocosDir;
use test_kit::training::{
    TempRun, assert_complete_artifacts, assert_reproducible_from_config,
    assert_resume_survives_kills, assert_same_seed_same_bytes, assert_says,
    assert_trained_with_defaults, assert_wrong_checksum_refused, load_committed, read_report,
    train_in_temp, train_refused,
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
    let TempRun { dir, output, .. } =
        &train_in_temp(CPU, &["--epochs", "20", "--backend", "flex"], "iris");
    assert_complete_artifacts(dir, &[]);
    assert!(dir.join("valid/epoch-1/Accuracy.log").is_file());
    let report = report(dir);
    assert_eq!(report.backend, "flex");
    assert_eq!(report.epochs_run, 20);
    assert_eq!(
        report.datasets[IRIS_DATA.relative_path].sha256,
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
    assert_says(&output.stdout, "epoch  20/20", "one line per epoch");
    assert_says(&output.stdout, "Learner Summary", "the summary is printed");
    assert_says(&output.stderr, "backend flex", "logs the backend");
}

#[test]
fn ndarray_backend_trains_too() {
    let run = train_in_temp(CPU, &["--epochs", "20", "--backend", "ndarray"], "iris");
    let report = report(&run.dir);
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
    assert_wrong_checksum_refused(CPU, &data_dir, &temp.path().join("out"), IRIS_DATA.url);
}

/// UCI's `iris.data`, from the data directory (verified).
fn uci_iris_data() -> String {
    let path = IRIS_DATA.fetch(&resolve_data_dir(None).path).unwrap().path;
    String::from_utf8(fs::read(path).unwrap()).unwrap()
}

/// `uci` rewritten with `header` and `row(number, measurements, class)`, as the copies users
/// upload are.
fn relayout(uci: &str, header: &str, row: impl Fn(usize, &str, &str) -> String) -> String {
    let mut text = format!("{header}\n");
    for (index, line) in uci.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let (measurements, class) = line.rsplit_once(',').unwrap();
        text.push_str(&row(index + 1, measurements, class));
        text.push('\n');
    }
    text
}

/// Trains on one uploaded file the Cocos AI way; returns the run's directory and stdout.
fn train_uploaded(name: &str, bytes: &[u8]) -> (CocosDir, String, String) {
    let cocos = CocosDir::new();
    let dataset = cocos.upload(name, bytes);
    let stdout = cocos.train_ok(CPU, &[&dataset], &["--epochs", "5"]);
    assert_complete_artifacts(&cocos.results(), &[]);
    (cocos, dataset, stdout)
}

/// The three layouts of the same 150 flowers give the same rows in the same order, so the
/// same seed trains the same model bytes; each run says what it detected and records the file
/// under its given path with the digests of its bytes.
#[test]
fn cocos_kaggle_seaborn_and_uci_files_train_the_same_model() {
    let uci = uci_iris_data();
    let kaggle = relayout(
        &uci,
        "Id,SepalLengthCm,SepalWidthCm,PetalLengthCm,PetalWidthCm,Species",
        |id, measurements, class| format!("{id},{measurements},{class}"),
    );
    let seaborn = relayout(
        &uci,
        "sepal_length,sepal_width,petal_length,petal_width,species",
        |_, measurements, class| format!("{measurements},{}", class.trim_start_matches("Iris-")),
    );
    let mut models = Vec::new();
    for (name, bytes, layout) in [
        (
            "iris.data",
            uci.as_bytes(),
            "UCI iris.data (no header), 150 flowers",
        ),
        (
            "Iris.csv",
            kaggle.as_bytes(),
            "Kaggle Iris.csv (header, Id column), 150 flowers",
        ),
        (
            "iris.csv",
            seaborn.as_bytes(),
            "seaborn iris.csv (header, classes setosa/versicolor/virginica), 150 flowers",
        ),
    ] {
        let (cocos, dataset, stdout) = train_uploaded(name, bytes);
        assert!(
            stdout.contains(&format!("iris: {dataset}: read as {layout}")),
            "the detected layout is logged:\n{stdout}"
        );
        let records = cocos.assert_recorded::<IrisEvaluation>(&[&dataset]);
        assert_eq!(records[0].layout, layout);
        let report = report(&cocos.results());
        assert_eq!(report.datasets.len(), 1, "{:?}", report.datasets);
        assert_eq!(report.evaluation.examples, 30);
        models.push(fs::read(cocos.results().join("model.bpk")).unwrap());
    }
    assert_eq!(
        models[0], models[1],
        "Kaggle's Iris.csv trains the model UCI's iris.data trains"
    );
    assert_eq!(
        models[0], models[2],
        "seaborn's iris.csv trains the model UCI's iris.data trains"
    );
}

/// A file in no accepted layout (a wine CSV), two files, or a folder: one line naming what
/// was given, what was found and what is accepted, and an empty results/.
#[test]
fn cocos_files_iris_cannot_read_are_refused_in_one_line() {
    let cocos = CocosDir::new();
    let wine = cocos.upload(
        "winequality-red.csv",
        b"\"fixed acidity\";\"volatile acidity\";\"citric acid\";\"residual sugar\";\
          \"chlorides\";\"free sulfur dioxide\";\"total sulfur dioxide\";\"density\";\"pH\";\
          \"sulphates\";\"alcohol\";\"quality\"\n7.4;0.7;0;1.9;0.076;11;34;0.9978;3.51;0.56;9.4;5\n",
    );
    let line = cocos.train_refused(CPU, &[&wine], &["--epochs", "1"]);
    assert!(
        line.contains("iris-ndarray: error: datasets/winequality-red.csv: a first line")
            && line.contains("fixed acidity")
            && line.contains("neither an Iris header nor a flower")
            && line.contains("; accepted: UCI iris.data")
            && line.contains("Kaggle Iris.csv")
            && line.contains("seaborn iris.csv"),
        "{line}"
    );
    let iris = cocos.upload("iris.data", uci_iris_data().as_bytes());
    let line = cocos.train_refused(CPU, &[&iris, &iris], &["--epochs", "1"]);
    assert!(
        line.contains("iris trains on one file, but --dataset was given 2 times"),
        "{line}"
    );
    let line = cocos.train_refused(CPU, &["datasets"], &["--epochs", "1"]);
    assert!(line.contains("datasets is a directory"), "{line}");
    let unknown = cocos.upload(
        "iris-bad.csv",
        b"5.1,3.5,1.4,0.2,Iris-setosa\n5.0,3.6,1.4,0.2,Iris-rosa\n",
    );
    let line = cocos.train_refused(CPU, &[&unknown], &["--epochs", "1"]);
    assert!(
        line.contains("datasets/iris-bad.csv line 2: unknown class 'Iris-rosa'"),
        "{line}"
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
        let run = train_in_temp(
            wgpu_binary(),
            &["--adapter", "cpu", "--epochs", "20"],
            "iris",
        );
        let report = report(&run.dir);
        assert!(report.backend.starts_with("wgpu ("), "{}", report.backend);
        assert!(
            report.evaluation.accuracy >= SHORT_RUN_BAR,
            "{:?}",
            report.evaluation
        );
        assert_says(&run.output.stderr, "backend wgpu (", "logs the adapter");
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

/// Killed with SIGKILL (mid-epoch and while the artifacts are written), `--resume` gives the model of an uninterrupted run, on
/// flex and ndarray, and the previous artifacts stay intact until then.
#[test]
fn a_killed_run_resumes_to_the_same_model_bytes() {
    assert_resume_survives_kills(CPU, &["--epochs", "4"], &["epoch:3", "artifacts"]);
}
