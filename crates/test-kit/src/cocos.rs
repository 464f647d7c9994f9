//! Training binaries run the way Cocos AI runs a *binary* algorithm: from a working directory
//! that holds `datasets/` (files named by their uploader) and `results/` (the only thing the
//! user gets back), with relative paths on the command line.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use module_kit::settings::DatasetRecord;
use serde::de::DeserializeOwned;
use tempfile::TempDir;
use train_kit::dataset::FileDigests;

use crate::process::{stderr, stdout};
use crate::training::read_report;

/// A temporary `/cocos`-like working directory.
#[derive(Debug)]
pub struct CocosDir {
    root: TempDir,
}

impl CocosDir {
    /// An empty working directory with `datasets/` and `results/`.
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("temporary directory");
        fs::create_dir_all(root.path().join("datasets")).unwrap();
        fs::create_dir_all(root.path().join("results")).unwrap();
        Self { root }
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    pub fn results(&self) -> PathBuf {
        self.path().join("results")
    }

    /// Uploads `bytes` as `datasets/<name>` (a name may hold folders, as unpacked zips do);
    /// returns the relative path the algorithm is given.
    pub fn upload(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.path().join("datasets").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        format!("datasets/{name}")
    }

    /// Runs `binary` with cwd here, `--dataset` for each of `datasets`, `--artifact-dir results`
    /// and `args`.
    pub fn train(&self, binary: &str, datasets: &[&str], args: &[&str]) -> Output {
        let mut command = Command::new(binary);
        command.current_dir(self.path()).env_remove("DATASETS_DIR");
        for dataset in datasets {
            command.args(["--dataset", dataset]);
        }
        command
            .args(["--artifact-dir", "results"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"))
    }

    /// [`Self::train`], asserting success; returns stdout (where detected layouts are logged).
    pub fn train_ok(&self, binary: &str, datasets: &[&str], args: &[&str]) -> String {
        let output = self.train(binary, datasets, args);
        assert!(
            output.status.success(),
            "{binary} {datasets:?} {args:?} failed:\n{}\n{}",
            stdout(&output),
            stderr(&output)
        );
        stdout(&output)
    }

    /// [`Self::train`], asserting a one-line refusal with exit 1, no panic and an empty
    /// `results/`; returns the error line.
    pub fn train_refused(&self, binary: &str, datasets: &[&str], args: &[&str]) -> String {
        let output = self.train(binary, datasets, args);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{datasets:?}: {message}");
        assert!(!message.contains("panicked"), "{message}");
        let error_lines: Vec<&str> = message.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(error_lines.len(), 1, "one error line: {message}");
        assert_eq!(
            fs::read_dir(self.results()).unwrap().count(),
            0,
            "nothing is written into results/ on refusal"
        );
        error_lines[0].to_owned()
    }

    /// The dataset records of `results/metrics.json`, checking that every uploaded file named
    /// in `datasets` is recorded under its given path with the digests of its bytes.
    pub fn assert_recorded<E: DeserializeOwned>(&self, datasets: &[&str]) -> Vec<DatasetRecord> {
        let report = read_report::<E>(&self.results());
        datasets
            .iter()
            .map(|name| {
                let record = report
                    .datasets
                    .get(*name)
                    .unwrap_or_else(|| panic!("{name} is not in {:?}", report.datasets.keys()))
                    .clone();
                let path = self.path().join(name);
                if path.is_file() {
                    let digests = FileDigests::of(&fs::read(&path).unwrap());
                    assert_eq!(record.sha256, digests.sha256, "{name}");
                    assert_eq!(record.sha3_256, digests.sha3_256, "{name}");
                }
                record
            })
            .collect()
    }
}

impl Default for CocosDir {
    fn default() -> Self {
        Self::new()
    }
}
