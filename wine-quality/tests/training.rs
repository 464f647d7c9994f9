//! Trains on the real Wine Quality data through the real binaries, and checks the committed
//! model against its report and the bars: RMSE at least 20% below the mean predictor's and
//! MAE at most 0.55 on the held-out test split.

use std::fs;
use std::path::Path;

use module_kit::settings::TrainingReport;
use test_kit::cocos::CocosDir;
use test_kit::training::{
    assert_complete_artifacts, assert_reproducible_from_config, assert_resume_survives_kills,
    assert_says, assert_trained_with_defaults, load_committed, read_report, train_ok,
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
    assert_eq!(report.datasets.len(), 2, "both wines are used");
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

/// UCI's two files, from the data directory (verified): red, white.
fn uci_files() -> [String; 2] {
    let data_dir = resolve_data_dir(None).path;
    [RED_WINES, WHITE_WINES].map(|file| {
        String::from_utf8(fs::read(file.fetch(&data_dir).unwrap().path).unwrap()).unwrap()
    })
}

/// Both UCI files in Kaggle's winequalityN.csv layout: a type column, commas, white first.
fn winequality_n([red, white]: &[String; 2]) -> String {
    let header = red
        .lines()
        .next()
        .unwrap()
        .replace('"', "")
        .replace(';', ",");
    let mut text = format!("type,{header}\n");
    for (wine_type, file) in [("white", white), ("red", red)] {
        for line in file.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            text.push_str(&format!("{wine_type},{}\n", line.replace(';', ",")));
        }
    }
    text
}

const SHORT: [&str; 2] = ["--epochs", "2"];

fn model_bytes(dir: &Path) -> Vec<u8> {
    fs::read(dir.join("model.bpk")).unwrap()
}

/// Both UCI files uploaded under their names (in either order), and both in one winequalityN.csv,
/// give the rows of the canonical run in its order (red, then white), so the same settings
/// train the same model bytes; every file is logged with what was detected and recorded with
/// its digests.
#[test]
fn cocos_uploaded_files_train_the_model_of_the_canonical_files() {
    let temp = tempfile::tempdir().unwrap();
    let canonical = temp.path().join("wine-quality");
    let output = train_ok(CPU, &SHORT, &canonical);
    assert_says(
        &output.stdout,
        "wine types used: red and white (6497 wines)",
        "what it read",
    );
    let canonical_report = report(&canonical);
    assert_eq!(
        canonical_report.datasets[RED_WINES.relative_path].layout,
        "UCI semicolon CSV, red wines (type from the file name), 1599 wines"
    );

    let uci = uci_files();
    let cocos = CocosDir::new();
    let red = cocos.upload("winequality-red.csv", uci[0].as_bytes());
    let white = cocos.upload("winequality-white.csv", uci[1].as_bytes());
    let stdout = cocos.train_ok(CPU, &[&white, &red], &SHORT);
    for expected in [
        "wine-quality: datasets/winequality-red.csv: read as UCI semicolon CSV, red wines \
         (type from the file name), 1599 wines",
        "wine-quality: datasets/winequality-white.csv: read as UCI semicolon CSV, white wines \
         (type from the file name), 4898 wines",
        "wine-quality: wine types used: red and white (6497 wines)",
    ] {
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
    }
    assert_complete_artifacts(&cocos.results(), &["predictions.png"]);
    let records = cocos.assert_recorded::<WineEvaluation>(&[&red, &white]);
    assert_eq!(
        records[1].layout,
        canonical_report.datasets[WHITE_WINES.relative_path].layout
    );
    assert_eq!(
        model_bytes(&cocos.results()),
        model_bytes(&canonical),
        "the UCI files uploaded train the canonical run's model"
    );

    let cocos = CocosDir::new();
    let both = cocos.upload("winequalityN.csv", winequality_n(&uci).as_bytes());
    let stdout = cocos.train_ok(CPU, &[&both], &SHORT);
    let layout = "Kaggle winequalityN.csv (comma CSV, type column), 1599 red and 4898 white wines";
    assert!(
        stdout.contains(&format!("{both}: read as {layout}")),
        "{stdout}"
    );
    assert_eq!(
        cocos.assert_recorded::<WineEvaluation>(&[&both])[0].layout,
        layout
    );
    assert_eq!(
        model_bytes(&cocos.results()),
        model_bytes(&canonical),
        "winequalityN.csv trains the canonical run's model"
    );
}

/// One type alone trains (the split is stratified by type and quality), and says so.
#[test]
fn cocos_the_red_file_alone_trains_on_red_wines_only() {
    let [red, _] = uci_files();
    let cocos = CocosDir::new();
    let dataset = cocos.upload("winequality-red.csv", red.as_bytes());
    let stdout = cocos.train_ok(CPU, &[&dataset], &SHORT);
    assert!(
        stdout.contains("wine types used: red only (1599 wines)"),
        "{stdout}"
    );
    assert_complete_artifacts(&cocos.results(), &["predictions.png"]);
    let records = cocos.assert_recorded::<WineEvaluation>(&[&dataset]);
    assert_eq!(
        records[0].layout,
        "UCI semicolon CSV, red wines (type from the file name), 1599 wines"
    );
    let report = report(&cocos.results());
    assert_eq!(report.datasets.len(), 1);
    let red_items = load_items(&cocos.path().join(&dataset), WineType::Red).unwrap();
    let expected = split(red_items, test_kit::training::COMMITTED_SEED).test;
    assert_eq!(
        report.evaluation.examples,
        expected.len(),
        "15% of the red wines test"
    );
    assert!((230..=250).contains(&expected.len()), "{}", expected.len());
    assert!(
        report.evaluation.test.rmse.is_finite(),
        "{:?}",
        report.evaluation
    );
}

/// A file whose type cannot be told, the same type twice, a row with an empty field, a file of
/// another data set: one line saying what is wrong and how to fix it; results/ stays empty.
#[test]
fn cocos_files_wine_quality_cannot_use_are_refused_in_one_line() {
    let uci = uci_files();
    let cocos = CocosDir::new();
    let wines = cocos.upload("wines.csv", uci[0].as_bytes());
    let line = cocos.train_refused(CPU, &[&wines], &SHORT);
    assert!(
        line.contains("datasets/wines.csv: the wine type cannot be told")
            && line.contains("name the file with red or white as UCI does")
            && line.contains("or add a first column type holding red or white"),
        "{line}"
    );
    let red = cocos.upload("winequality-red.csv", uci[0].as_bytes());
    let red_copy = cocos.upload("red-copy.csv", uci[0].as_bytes());
    let line = cocos.train_refused(CPU, &[&red, &red_copy], &SHORT);
    assert!(
        line.contains("datasets/winequality-red.csv and datasets/red-copy.csv each hold red wines"),
        "{line}"
    );
    let with_gap = winequality_n(&uci).replacen(",0.27,", ",,", 1);
    let gap = cocos.upload("winequalityN.csv", with_gap.as_bytes());
    let line = cocos.train_refused(CPU, &[&gap], &SHORT);
    assert!(
        line.contains("datasets/winequalityN.csv line 2: field 3 (volatile acidity) is empty"),
        "{line}"
    );
    let iris = cocos.upload("red-iris.csv", b"5.1,3.5,1.4,0.2,Iris-setosa\n");
    let line = cocos.train_refused(CPU, &[&iris], &SHORT);
    assert!(
        line.contains("datasets/red-iris.csv: a first line '5.1,3.5,1.4,0.2,Iris-setosa'")
            && line.contains("; accepted: UCI's semicolon CSV"),
        "{line}"
    );
}

/// Killed with SIGKILL (every point a run can be killed at), `--resume` gives the model of an uninterrupted run, on
/// flex and ndarray, and the previous artifacts stay intact until then.
#[test]
fn a_killed_run_resumes_to_the_same_model_bytes() {
    let points = ["epoch:2", "checkpoint:2", "artifacts", "commit"];
    assert_resume_survives_kills(CPU, &["--epochs", "3"], &points);
}
