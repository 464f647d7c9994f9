//! Trains on the real MNIST data through the real binaries (short runs with `--limit`), reads
//! the PNG-folder layout, refuses bad data, and checks the committed model against its report.
//! Data comes from `$DATASETS_DIR` (CI: the verified copies) or is downloaded and verified.

use std::fs;
use std::path::Path;
use std::process::Command;

use mnist::config::MnistConfig;
use mnist::data::{
    DataPlan, IDX_FILES, MnistItem, PNG_ROOT, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS,
    load_idx, load_test_set,
};
use mnist::evaluation::{MnistEvaluation, evaluate};
use mnist::idx::read_gzip;
use mnist::input::{CLASSES, SIDE};
use mnist::training::ALGORITHM;
use module_kit::digest::sha256_hex;
use module_kit::settings::TrainingReport;
use test_kit::cocos::CocosDir;
use test_kit::training::{
    TempRun, assert_complete_artifacts, assert_resume_survives_kills, assert_same_seed_same_bytes,
    assert_says, assert_trained_with_defaults, assert_wrong_checksum_refused, load_committed,
    read_report, train_in_temp, train_ok,
};
use train_kit::download::RemoteFile;
use train_kit::paths::resolve_data_dir;

/// Test accuracy the committed model must reach on the 10,000 official test images.
const COMMITTED_BAR: f64 = 0.992;
/// One epoch on the first 5,000 training images, scored on the first 5,000 test images
/// (measured: 91.6%).
const SHORT_RUN_BAR: f64 = 0.88;
/// One epoch on 1,000 images (measured: 74-75% on flex and ndarray).
const TINY_RUN_BAR: f64 = 0.6;

const CPU: &str = env!("CARGO_BIN_EXE_mnist-ndarray");

fn report(dir: &Path) -> TrainingReport<MnistEvaluation> {
    read_report(dir)
}

/// One epoch on 1,000 images already clears [`TINY_RUN_BAR`].
fn assert_tiny_run_learned(report: &TrainingReport<MnistEvaluation>) {
    assert!(
        report.evaluation.accuracy >= TINY_RUN_BAR,
        "{}",
        report.evaluation.accuracy
    );
}

fn assert_consistent_confusion(evaluation: &MnistEvaluation) {
    let total: usize = evaluation.confusion.iter().flatten().sum();
    assert_eq!(total, evaluation.examples);
    let correct: usize = (0..CLASSES.len()).map(|c| evaluation.confusion[c][c]).sum();
    assert_eq!(correct as f64 / total as f64, evaluation.accuracy);
    assert_eq!(evaluation.confusion_table.len(), CLASSES.len() + 1);
}

#[test]
fn short_flex_run_learns_and_writes_every_artifact() {
    let args = ["--limit", "5000", "--epochs", "1", "--backend", "flex"];
    let TempRun { dir, output, .. } = &train_in_temp(CPU, &args, "mnist");
    assert_complete_artifacts(dir, &[]);
    assert!(dir.join("valid/epoch-1/Accuracy.log").is_file());
    let report = report(dir);
    assert_eq!(report.backend, "flex");
    assert_eq!(report.epochs_run, 1);
    assert_eq!(report.evaluation.data, DataPlan::OfficialIdx);
    assert_eq!(report.evaluation.examples, 5000);
    for file in IDX_FILES {
        assert!(
            report.datasets.contains_key(file.relative_path),
            "{}",
            file.relative_path
        );
    }
    assert_eq!(
        report.model_sha256,
        sha256_hex(&fs::read(dir.join("model.bpk")).unwrap())
    );
    assert_consistent_confusion(&report.evaluation);
    assert!(
        report.evaluation.accuracy >= SHORT_RUN_BAR,
        "one epoch on 5,000 images reaches {SHORT_RUN_BAR}: {}",
        report.evaluation.accuracy
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("5000 training and 5000 test images"),
        "{stdout}"
    );
    assert_says(&output.stdout, "epoch   1/1", "one line per epoch");
    assert_says(&output.stdout, "Learner Summary", "the summary is printed");
    assert_says(
        &output.stdout,
        "true\\predicted",
        "the confusion matrix is printed",
    );
    assert_says(&output.stderr, "backend flex", "logs the backend");
}

#[test]
fn ndarray_backend_trains_too() {
    let args = ["--limit", "1000", "--epochs", "1", "--backend", "ndarray"];
    let report = report(&train_in_temp(CPU, &args, "mnist").dir);
    assert_eq!(report.backend, "ndarray");
    assert_tiny_run_learned(&report);
}

/// Initialisation, shuffling, dropout and the random shifts are all seeded.
#[test]
fn same_seed_gives_the_same_model_bytes_on_each_cpu_backend() {
    assert_same_seed_same_bytes(CPU, &["--limit", "300", "--epochs", "1"]);
}

fn write_png(path: &Path, item: &MnistItem) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_raw(SIDE as u32, SIDE as u32, item.pixels.to_vec())
        .unwrap()
        .save(path)
        .unwrap();
}

/// The layout the earlier workspace documented, `mnist_png/{train,valid}/<digit>/<n>.png`,
/// is read when the IDX files are absent.
#[test]
fn trains_from_png_folders_when_the_idx_files_are_absent() {
    let data = load_idx(&resolve_data_dir(None).path).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("data").join(PNG_ROOT);
    for (split, items) in [("train", &data.train[..1000]), ("valid", &data.test[..200])] {
        for (index, item) in items.iter().enumerate() {
            write_png(
                &root.join(format!("{split}/{}/{index}.png", item.label)),
                item,
            );
        }
    }
    let dir = temp.path().join("mnist");
    let data_dir = temp.path().join("data");
    let args = ["--epochs", "1", "--data-dir", data_dir.to_str().unwrap()];
    let output = train_ok(CPU, &args, &dir);
    assert_says(
        &output.stdout,
        "1000 training and 200 test images from the PNG folders",
        "what it read",
    );
    let report = report(&dir);
    assert_eq!(report.evaluation.data, DataPlan::PngFolders);
    assert_eq!(report.evaluation.examples, 200);
    let keys: Vec<&String> = report.datasets.keys().collect();
    assert_eq!(keys, ["mnist_png/train", "mnist_png/valid"]);
    assert_tiny_run_learned(&report);
}

#[test]
fn a_dataset_with_the_wrong_checksum_is_refused_and_nothing_is_written() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    fs::create_dir_all(data_dir.join("mnist")).unwrap();
    for file in IDX_FILES {
        let source = resolve_data_dir(None).path.join(file.relative_path);
        fs::copy(source, data_dir.join(file.relative_path)).unwrap();
    }
    // A truncated copy: it would also fail the reader's size check, but never gets that far.
    let bytes = fs::read(data_dir.join(TRAIN_IMAGES.relative_path)).unwrap();
    fs::write(
        data_dir.join(TRAIN_IMAGES.relative_path),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    let out = temp.path().join("out");
    assert_wrong_checksum_refused(CPU, &data_dir, &out, TRAIN_IMAGES.url);
}

/// Cocos AI: the four official files uploaded under the uploader's names, in no particular
/// order, three of them gunzipped; the binary pairs them by their headers and counts, says
/// what it found, trains, and records each upload with its digests.
#[test]
fn cocos_idx_uploads_under_other_names_are_detected_paired_and_recorded() {
    let data_dir = resolve_data_dir(None).path;
    let read = |file: RemoteFile| file.fetch(&data_dir).unwrap().path;
    let cocos = CocosDir::new();
    let datasets = [
        cocos.upload("labels-b", &read_gzip(&read(TRAIN_LABELS)).unwrap()),
        cocos.upload("digits.idx", &read_gzip(&read(TEST_IMAGES)).unwrap()),
        cocos.upload("mnist_part_4.gz", &fs::read(read(TEST_LABELS)).unwrap()),
        cocos.upload("pixels", &read_gzip(&read(TRAIN_IMAGES)).unwrap()),
    ];
    let datasets: Vec<&str> = datasets.iter().map(String::as_str).collect();
    let stdout = cocos.train_ok(CPU, &datasets, &["--limit", "500", "--epochs", "1"]);
    assert_complete_artifacts(&cocos.results(), &[]);
    let layouts = [
        "IDX labels, 60000 digits, training",
        "IDX images, 10000 x 28x28, test",
        "IDX labels (gzipped), 10000 digits, test",
        "IDX images, 60000 x 28x28, training",
    ];
    let records = cocos.assert_recorded::<MnistEvaluation>(&datasets);
    for ((dataset, record), layout) in datasets.iter().zip(&records).zip(layouts) {
        assert_eq!(record.layout, layout, "{dataset}");
        assert!(
            stdout.contains(&format!("mnist: {dataset}: read as {layout}")),
            "announces {dataset}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains(
            "training pair datasets/pixels + datasets/labels-b, test pair datasets/digits.idx \
             + datasets/mnist_part_4.gz (told apart by their counts"
        ),
        "{stdout}"
    );
    let report = report(&cocos.results());
    assert_eq!(report.datasets.len(), 4);
    assert_eq!(report.evaluation.data, DataPlan::DatasetIdx);
    assert_eq!(report.evaluation.examples, 500);
}

/// Cocos AI: a file that is no MNIST layout gets one line naming it, what it holds and what
/// is accepted; nothing is written.
#[test]
fn cocos_garbage_upload_is_refused_in_one_line() {
    let cocos = CocosDir::new();
    let garbage = cocos.upload("mnist.csv", b"label,1x1,1x2\n5,0,0\n");
    let line = cocos.train_refused(CPU, &[&garbage], &[]);
    assert!(
        line.ends_with(&format!(
            "error: datasets/mnist.csv: text starting 'label,1x1,1x2'; accepted: {}",
            mnist::data::ACCEPTED
        )),
        "{line}"
    );
}

/// Cocos AI with `--decompress`: a zipped `mnist_png/` unpacked into `datasets/`, with the
/// Kaggle copy's split names; `--dataset datasets` finds the splits one folder down.
#[test]
fn cocos_png_tree_unpacked_from_a_zip_trains_and_says_which_folders_it_used() {
    let data = load_idx(&resolve_data_dir(None).path).unwrap();
    let cocos = CocosDir::new();
    for (split, items) in [
        ("training", &data.train[..300]),
        ("testing", &data.test[..100]),
    ] {
        for (index, item) in items.iter().enumerate() {
            let path = cocos.path().join(format!(
                "datasets/mnist_png/{split}/{}/{index}.png",
                item.label
            ));
            write_png(&path, item);
        }
    }
    let stdout = cocos.train_ok(CPU, &["datasets"], &["--epochs", "1"]);
    let splits = ["datasets/mnist_png/training", "datasets/mnist_png/testing"];
    let records = cocos.assert_recorded::<MnistEvaluation>(&splits);
    for ((split, record), (count, role)) in splits
        .iter()
        .zip(&records)
        .zip([(300, "training"), (100, "test")])
    {
        let layout = format!(
            "PNG folder tree <digit>/*.png, {count} images, {role} (digests of the sha256sum \
             listing of its PNG files, sorted by path)"
        );
        assert_eq!(record.layout, layout);
        assert!(
            stdout.contains(&format!("mnist: {split}: read as {layout}")),
            "{stdout}"
        );
    }
    let report = report(&cocos.results());
    assert_eq!(report.evaluation.data, DataPlan::DatasetPng);
    assert_eq!(report.evaluation.examples, 100);
}

#[test]
fn bad_options_are_refused_by_the_command_line() {
    for args in [
        &["--limit", "0"][..],
        &["--max-shift", "9"][..],
        &["--backend", "tpu"][..],
    ] {
        let output = Command::new(CPU).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value"));
    }
}

/// The committed `artifacts/mnist` is what the committed defaults produce, its report tells
/// the truth about the committed model on all 10,000 test images, and it clears the bar.
#[test]
fn committed_model_matches_its_report_and_clears_the_bar() {
    let (committed, report) = load_committed::<MnistConfig, MnistEvaluation>("mnist");
    let config = &committed.config;
    assert_trained_with_defaults(&config.training, &ALGORITHM);
    assert_eq!(report.epochs_run, ALGORITHM.defaults.epochs);

    let (model, device) = (&committed.model, &committed.device);
    let test = load_test_set(&resolve_data_dir(None).path).unwrap();
    let evaluation = evaluate(
        model,
        &config.normalization,
        &test,
        DataPlan::OfficialIdx,
        device,
    )
    .unwrap();
    assert_eq!(evaluation.examples, 10_000);
    assert_eq!(evaluation.confusion, report.evaluation.confusion);
    assert_eq!(
        evaluation.accuracy, report.evaluation.accuracy,
        "metrics.json reports the committed model's accuracy"
    );
    assert!((evaluation.loss - report.evaluation.loss).abs() < 1e-5);
    assert_eq!(
        evaluation.confusion_table,
        report.evaluation.confusion_table
    );
    assert!(
        evaluation.accuracy >= COMMITTED_BAR,
        "committed model: {}",
        evaluation.accuracy
    );
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use super::*;

    /// lavapipe, a software Vulkan device, stands in for a GPU on machines without one.
    #[test]
    fn trains_on_a_software_adapter() {
        let args = ["--adapter", "cpu", "--limit", "1000", "--epochs", "1"];
        let run = train_in_temp(env!("CARGO_BIN_EXE_mnist-wgpu"), &args, "mnist");
        let report = report(&run.dir);
        assert!(report.backend.starts_with("wgpu ("), "{}", report.backend);
        assert_tiny_run_learned(&report);
        assert_says(&run.output.stderr, "backend wgpu (", "logs the adapter");
    }
}

/// Killed with SIGKILL (mid-epoch (the random shifts are drawn per epoch too)), `--resume` gives the model of an uninterrupted run, on
/// flex and ndarray, and the previous artifacts stay intact until then.
#[test]
fn a_killed_run_resumes_to_the_same_model_bytes() {
    assert_resume_survives_kills(CPU, &["--limit", "300", "--epochs", "2"], &["epoch:2"]);
}
