//! Checks of training runs and of the committed artifacts, the same for every algorithm.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use module_kit::artifacts::{ArtifactConfig, Artifacts, LoadedModel};
use module_kit::settings::{TrainingReport, TrainingSettings};
use serde::de::DeserializeOwned;
use train_kit::cli::TrainAlgorithm;
use train_kit::paths::workspace_root;

use crate::process::{stderr, stdout};

/// The seed every committed model was trained with.
pub const COMMITTED_SEED: u64 = 42;

/// Runs a training binary with `args` and `--artifact-dir artifact_dir`.
fn train(binary: &str, args: &[&str], artifact_dir: &Path) -> Output {
    Command::new(binary)
        .args(args)
        .arg("--artifact-dir")
        .arg(artifact_dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"))
}

/// Runs a training binary with `args` and `--artifact-dir artifact_dir`, asserting success
/// (the failure message carries both output streams).
pub fn train_ok(binary: &str, args: &[&str], artifact_dir: &Path) -> Output {
    let output = train(binary, args, artifact_dir);
    assert!(
        output.status.success(),
        "{binary} {args:?} failed:\n{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    output
}

/// A training run into `<a temporary directory>/<name>`; the directory lives as long as this.
#[derive(Debug)]
pub struct TempRun {
    _temp: tempfile::TempDir,
    /// The artifact directory.
    pub dir: PathBuf,
    /// What the binary printed.
    pub output: Output,
}

/// [`train_ok`] into a fresh temporary artifact directory named `name`.
pub fn train_in_temp(binary: &str, args: &[&str], name: &str) -> TempRun {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = temp.path().join(name);
    let output = train_ok(binary, args, &dir);
    TempRun {
        _temp: temp,
        dir,
        output,
    }
}

/// Asserts `printed` (a run's stdout or stderr) holds `needle`; a failure says `what` and
/// shows all that was printed.
pub fn assert_says(printed: &[u8], needle: &str, what: &str) {
    let printed = String::from_utf8_lossy(printed);
    assert!(printed.contains(needle), "{what}:\n{printed}");
}

/// Runs a training binary expecting it to refuse: exit code `code`, no panic, and nothing
/// written to `artifact_dir`. Returns stderr.
pub fn train_refused(binary: &str, args: &[&str], artifact_dir: &Path, code: i32) -> String {
    let output = train(binary, args, artifact_dir);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {message}");
    assert!(!message.contains("panicked"), "{message}");
    assert!(!artifact_dir.exists(), "nothing is written on refusal");
    message
}

/// Asserts a run on `data_dir`, where a dataset file is not the verified one, is refused
/// with exit 1 naming the file's `url`, and writes nothing to `out`.
pub fn assert_wrong_checksum_refused(binary: &str, data_dir: &Path, out: &Path, url: &str) {
    let data_dir = data_dir.to_str().expect("a UTF-8 path");
    let stderr = train_refused(binary, &["--data-dir", data_dir], out, 1);
    assert!(
        stderr.contains("not the expected") && stderr.contains(url),
        "{stderr}"
    );
}

/// The `metrics.json` of an artifact directory.
pub fn read_report<E: DeserializeOwned>(dir: &Path) -> TrainingReport<E> {
    read_json(&dir.join("metrics.json"))
}

/// A JSON file, parsed; panics naming the file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> T {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is invalid: {e}", path.display()))
}

/// Asserts a training run wrote its artifacts whole: the common files and the algorithm's
/// `extra` ones, burn's metric logs, and no staging leftovers beside the directory.
pub fn assert_complete_artifacts(dir: &Path, extra: &[&str]) {
    let common = ["model.bpk", "config.json", "metrics.json", "training.png"];
    for name in common.iter().chain(extra) {
        assert!(dir.join(name).is_file(), "{name} is written");
    }
    assert!(
        dir.join("train/epoch-1/Loss.log").is_file(),
        "burn's metric logs are kept"
    );
    let parent = dir.parent().expect("an artifact directory has a parent");
    let leftovers: Vec<PathBuf> = fs::read_dir(parent)
        .expect("the parent is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    assert!(leftovers.is_empty(), "no staging leftovers: {leftovers:?}");
}

/// Asserts that `settings` are the algorithm's defaults with the committed seed: what a bare
/// run of its training binary uses.
pub fn assert_trained_with_defaults<O>(settings: &TrainingSettings<O>, algorithm: &TrainAlgorithm) {
    let defaults = &algorithm.defaults;
    assert_eq!(
        (
            settings.epochs,
            settings.batch_size,
            settings.learning_rate,
            settings.seed
        ),
        (
            defaults.epochs,
            defaults.batch_size,
            defaults.learning_rate,
            COMMITTED_SEED
        ),
        "{}: trained with the committed defaults",
        algorithm.name
    );
    assert_eq!(settings.optimizer, defaults.optimizer, "{}", algorithm.name);
    assert_eq!(settings.schedule, defaults.schedule, "{}", algorithm.name);
}

/// Asserts that a CPU training binary is deterministic on each CPU backend: two runs with
/// `args` and the same seed write the same `model.bpk` bytes, another seed another model.
pub fn assert_same_seed_same_bytes(binary: &str, args: &[&str]) {
    let temp = tempfile::tempdir().expect("a temporary directory");
    for backend in ["flex", "ndarray"] {
        let model = |name: &str, seed: &str| {
            let dir = temp.path().join(format!("{backend}-{name}"));
            let mut all = args.to_vec();
            all.extend(["--backend", backend, "--seed", seed]);
            train_ok(binary, &all, &dir);
            fs::read(dir.join("model.bpk")).expect("model.bpk is written")
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

/// `artifacts/<algorithm>/` of the workspace.
pub fn committed_dir(algorithm: &str) -> PathBuf {
    workspace_root().join("artifacts").join(algorithm)
}

/// The committed model of `algorithm`, loaded as its inference module loads it, with its
/// `metrics.json`; asserts that the report describes this very `model.bpk` (same SHA-256).
pub fn load_committed<C, E>(algorithm: &str) -> (LoadedModel<C>, TrainingReport<E>)
where
    C: ArtifactConfig,
    E: DeserializeOwned,
{
    let dir = committed_dir(algorithm);
    let read = |name: &str| {
        let path = dir.join(name);
        fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    };
    let (model_bpk, config_json, metrics_json) =
        (read("model.bpk"), read("config.json"), read("metrics.json"));
    let artifacts = Artifacts {
        model_bpk: &model_bpk,
        config_json: &config_json,
        metrics_json: &metrics_json,
        extra: &[],
    };
    let committed = LoadedModel::<C>::load(&artifacts)
        .unwrap_or_else(|e| panic!("the committed {algorithm} model does not load: {e}"));
    let report: TrainingReport<E> = read_report(&dir);
    assert_eq!(
        report.model_sha256, committed.model_sha256,
        "metrics.json describes the committed model.bpk"
    );
    (committed, report)
}

/// Trains again with `--config artifacts/<algorithm>/config.json` and asserts the run
/// reproduces the committed `model.bpk` and `config.json` byte for byte: every setting that
/// shaped the model is recorded.
pub fn assert_reproducible_from_config(binary: &str, algorithm: &str) {
    let committed = committed_dir(algorithm);
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = temp.path().join(algorithm);
    let config = committed.join("config.json");
    let config = config.to_str().expect("a UTF-8 path");
    train_ok(binary, &["--config", config], &dir);
    for name in ["model.bpk", "config.json"] {
        let read = |path: PathBuf| {
            fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        };
        assert!(
            read(dir.join(name)) == read(committed.join(name)),
            "{algorithm}: training again from config.json gives the committed {name}"
        );
    }
}

/// Every file under `dir` with its bytes, by path relative to `dir`.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, files: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let bytes = fs::read(&path).expect("a readable file");
                files.push((path.strip_prefix(root).unwrap().to_path_buf(), bytes));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    files
}

/// Runs a training binary with `args` and `--artifact-dir dir`, held at `point` (see
/// `train_kit::interrupt`), and kills it with SIGKILL once it says it is there and the epochs
/// before the point are on disk (see [`settle`]).
pub fn train_killed_at(binary: &str, args: &[&str], dir: &Path, point: &str) {
    use std::io::BufRead;
    let mut child = Command::new(binary)
        .args(args)
        .arg("--artifact-dir")
        .arg(dir)
        .env(train_kit::interrupt::STOP_AT_ENV, point)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut said = Vec::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.expect("stderr is text");
        let stopped = line.starts_with("stopped at");
        said.push(line);
        if stopped {
            settle(dir, point);
            // std's kill is SIGKILL on Unix: no handler, no destructor, no flush runs.
            child.kill().expect("the held run can be killed");
            child.wait().expect("the killed run is reaped");
            return;
        }
    }
    let status = child.wait().expect("the run is reaped");
    panic!(
        "{binary} {args:?} ended ({status}) without reaching {point}:\n{}",
        said.join("\n")
    );
}

/// Waits until the held run's last complete epoch is the one `point` comes after
/// (`train_kit::interrupt::epochs_done_at`). burn writes checkpoints and metric logs in
/// background threads, which go on while the training thread is held, so on a loaded machine
/// the run can reach the middle of epoch N before epoch N-1 is on disk; killed then, it would
/// rightly start over, and the test would not be testing a resume.
fn settle(dir: &Path, point: &str) {
    let Some(wanted) = train_kit::interrupt::epochs_done_at(point) else {
        return;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while train_kit::resume::last_complete_epoch(dir) < wanted {
        assert!(
            std::time::Instant::now() < deadline,
            "held at {point}, epoch {wanted} was not on disk after 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The resume contract, for one training binary on each CPU backend: killed with SIGKILL at
/// each of `points` (`epoch:N` halfway through epoch N, `checkpoint:N` right after epoch N's
/// checkpoint, `artifacts` while the artifacts are written, `commit` between swapping the new
/// artifact directory in and removing the old), the run leaves the previous artifacts intact
/// (or, at `commit`, the new ones whole), and `--resume` then writes the same `model.bpk`
/// bytes as a run that was never interrupted, leaving nothing behind. A `--resume` with other
/// settings than the interrupted run's is refused.
pub fn assert_resume_survives_kills(binary: &str, args: &[&str], points: &[&str]) {
    let temp = tempfile::tempdir().expect("a temporary directory");
    for backend in ["flex", "ndarray"] {
        let mut args = args.to_vec();
        args.extend(["--backend", backend]);
        let reference = temp.path().join(format!("{backend}-reference/model"));
        train_ok(binary, &args, &reference);
        let expected = fs::read(reference.join("model.bpk")).expect("model.bpk is written");

        let dir = temp.path().join(format!("{backend}-killed/model"));
        let previous = [("model.bpk", "the previous model"), ("metrics.json", "{}")];
        for point in points {
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("the artifact directory is created");
            for (name, contents) in previous {
                fs::write(dir.join(name), contents).expect("a previous artifact is written");
            }
            let before = snapshot(&dir);
            train_killed_at(binary, &args, &dir, point);
            let model = fs::read(dir.join("model.bpk")).expect("model.bpk is there");
            if *point == "commit" {
                assert_eq!(
                    model, expected,
                    "{backend} {point}: the new artifacts are whole"
                );
            } else {
                assert_eq!(
                    snapshot(&dir),
                    before,
                    "{backend} {point}: previous artifacts intact"
                );
            }

            let mut resumed = args.clone();
            resumed.push("--resume");
            let output = train_ok(binary, &resumed, &dir);
            let model = fs::read(dir.join("model.bpk")).expect("model.bpk is written");
            assert!(
                model == expected,
                "{backend} {point}: the resumed run writes the uninterrupted run's model.bpk\n{}",
                stdout(&output)
            );
            assert_complete_artifacts(&dir, &[]);
            if point.starts_with("epoch:") || point.starts_with("checkpoint:") {
                assert!(
                    stdout(&output).contains("resuming after epoch"),
                    "{backend} {point}: {}",
                    stdout(&output)
                );
            }
        }

        // A checkpoint continues only the run that wrote it.
        train_killed_at(binary, &args, &dir, "checkpoint:1");
        let before = snapshot(&dir);
        let mut other = args.clone();
        other.extend(["--resume", "--seed", "999"]);
        let output = train(binary, &other, &dir);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{message}");
        let refusals: Vec<&str> = message.lines().filter(|l| l.contains("--resume")).collect();
        assert!(
            refusals.len() == 1 && refusals[0].contains("settings"),
            "one line naming the option and what differs: {message}"
        );
        assert!(!message.contains("panicked"), "{message}");
        assert_eq!(snapshot(&dir), before, "a refused resume writes nothing");
    }
}
