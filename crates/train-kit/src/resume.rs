//! Training that survives being killed: a run works in `.<name>.training/` beside its artifact
//! directory (burn's metric logs, one checkpoint per epoch, the run's identity), and only a
//! finished run replaces the artifacts. `--resume` continues an interrupted run from the last
//! epoch whose checkpoint and logs are complete; because every epoch draws only from
//! `(seed, epoch)` (see [`crate::loader`]), the resumed run writes the same `model.bpk` bytes
//! as one that was never interrupted.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use burn::data::dataloader::DataLoader;
use burn::lr_scheduler::LrSchedulerRecord;
use burn::optim::OptimizerRecord;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError, KeepLastNCheckpoints};
use burn::train::{InferenceStep, LearnerModel, SupervisedTraining, TrainStep};
use serde::Serialize;
use serde_json::Value;

use crate::artifact::{StagedDir, folder_of, parent_of, write_atomic, write_json_atomic};
use crate::cli::TrainRun;
use crate::dataset::DatasetRecords;
use crate::interrupt::{StopPoint, stop_point};
use crate::loader::{EpochCounter, EpochLoader};

/// The run's identity: a checkpoint continues only the run that wrote it.
const RUN_JSON: &str = "run.json";
const CHECKPOINT_DIR: &str = "checkpoint";
/// What a checkpoint is made of, as burn names the three records.
const RECORDS: [&str; 3] = ["model", "optim", "scheduler"];
/// burn's metric logs, one folder per epoch under each.
const SPLITS: [&str; 2] = ["train", "valid"];

/// One training run's working directory and where its epochs start.
#[derive(Debug)]
pub struct TrainingSession {
    name: &'static str,
    dir: PathBuf,
    artifact_dir: PathBuf,
    seed: u64,
    epochs: EpochCounter,
}

impl TrainingSession {
    /// Opens the working directory of `run`, which trains on `datasets`: a fresh one, or with
    /// `--resume` the interrupted run's when it was started with the same settings and data.
    pub fn open<O: Serialize>(run: &TrainRun<O>, datasets: &DatasetRecords) -> Result<Self> {
        let name = run.algorithm.name;
        let artifact_dir = run.artifact_dir.clone();
        let parent = parent_of(&artifact_dir);
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        StagedDir::remove_leftovers(&artifact_dir);
        let dir = working_dir(&artifact_dir);
        let identity = serde_json::json!({
            "algorithm": name,
            "backend": run.backend,
            "settings": run.settings,
            "datasets": datasets,
        });
        let session = Self {
            name,
            dir,
            artifact_dir,
            seed: run.settings.seed,
            epochs: EpochCounter::default(),
        };
        if run.resume && session.dir.join(RUN_JSON).is_file() {
            session.check_identity(&identity)?;
            return Ok(session);
        }
        if run.resume {
            println!(
                "{name}: --resume: no interrupted run in {}; training from the start",
                session.dir.display()
            );
        } else if session.dir.exists() {
            println!(
                "{name}: discarding the interrupted run in {} (--resume continues it instead)",
                session.dir.display()
            );
        }
        session.start_fresh(&identity)?;
        Ok(session)
    }

    fn start_fresh(&self, identity: &Value) -> Result<()> {
        if self.dir.exists() {
            fs::remove_dir_all(&self.dir)
                .with_context(|| format!("cannot remove {}", self.dir.display()))?;
        }
        fs::create_dir_all(self.dir.join(CHECKPOINT_DIR)).with_context(|| {
            format!(
                "cannot create the training directory {}: is {} writable?",
                self.dir.display(),
                self.dir.parent().unwrap_or(Path::new(".")).display()
            )
        })?;
        write_json_atomic(&self.dir.join(RUN_JSON), identity)
    }

    fn check_identity(&self, identity: &Value) -> Result<()> {
        let path = self.dir.join(RUN_JSON);
        let recorded: Value = fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or(Value::Null);
        if &recorded == identity {
            return Ok(());
        }
        let differing: Vec<&str> = ["algorithm", "backend", "settings", "datasets"]
            .into_iter()
            .filter(|key| recorded.get(key) != identity.get(key))
            .collect();
        bail!(
            "--resume: the interrupted run in {} was started with other {}; rerun with the \
             same options and data, or without --resume to start over",
            self.dir.display(),
            differing.join(" and ")
        )
    }

    /// The training loader of the run: its epochs counted from where the run starts.
    pub fn train_loader<I, O>(
        &self,
        batcher: impl burn::data::dataloader::batcher::Batcher<I, O> + 'static,
        items: (Vec<I>, usize),
        device: &burn::tensor::Device,
    ) -> EpochLoader<I, O> {
        EpochLoader::training(batcher, items, device, self.seed, self.epochs.clone())
    }

    /// burn's supervised training in the working directory, with a checkpoint per epoch, and
    /// continuing from the last complete one when resuming.
    pub fn training<M, IT, IV>(
        &self,
        train: EpochLoader<IT, <M as TrainStep>::Input>,
        valid: EpochLoader<IV, <M as InferenceStep>::Input>,
    ) -> Result<SupervisedTraining<M>>
    where
        M: LearnerModel + 'static,
        IT: Send + Sync + Clone + 'static,
        IV: Send + Sync + Clone + 'static,
        <M as TrainStep>::Input: Send + 'static,
        <M as InferenceStep>::Input: Send + 'static,
    {
        let complete = last_complete_epoch_in(&self.dir);
        self.forget_after(complete)?;
        self.epochs.start_at(complete + 1);
        if complete > 0 {
            println!(
                "{}: resuming after epoch {complete}, from {}",
                self.name,
                self.dir.display()
            );
        }
        let checkpoints = self.dir.join(CHECKPOINT_DIR);
        let train: Arc<dyn DataLoader<<M as TrainStep>::Input>> = Arc::new(train);
        let valid: Arc<dyn DataLoader<<M as InferenceStep>::Input>> = Arc::new(valid);
        let training = SupervisedTraining::new(&self.dir, train, valid)
            .with_custom_checkpointers(
                AtomicCheckpointer::new(&checkpoints, RECORDS[0]),
                AtomicCheckpointer::new(&checkpoints, RECORDS[1]),
                AtomicCheckpointer::new(&checkpoints, RECORDS[2]),
            )
            .with_checkpointing_strategy(KeepLastNCheckpoints::new(2));
        Ok(if complete > 0 {
            training.checkpoint(complete)
        } else {
            training
        })
    }

    /// Removes the logs and checkpoints of epochs after `complete`: what the interrupted run
    /// left half done is done again.
    fn forget_after(&self, complete: usize) -> Result<()> {
        for split in SPLITS {
            for entry in fs::read_dir(self.dir.join(split))
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = entry.file_name().to_string_lossy().into_owned();
                let later = name
                    .strip_prefix("epoch-")
                    .and_then(|n| n.parse::<usize>().ok())
                    .is_some_and(|n| n > complete);
                if later {
                    fs::remove_dir_all(entry.path())
                        .with_context(|| format!("cannot remove {}", entry.path().display()))?;
                }
            }
        }
        let checkpoints = self.dir.join(CHECKPOINT_DIR);
        for entry in fs::read_dir(&checkpoints).into_iter().flatten().flatten() {
            let later = checkpoint_epoch(&entry.file_name().to_string_lossy())
                .is_some_and(|n| n > complete);
            if later {
                fs::remove_file(entry.path())
                    .with_context(|| format!("cannot remove {}", entry.path().display()))?;
            }
        }
        Ok(())
    }

    /// Where burn's metric logs are: what curves are read from.
    pub fn logs(&self) -> &Path {
        &self.dir
    }

    /// A staging directory for the artifacts, holding a copy of burn's metric logs.
    pub fn stage(&self) -> Result<StagedDir> {
        let stage = StagedDir::new(&self.artifact_dir)?;
        for split in SPLITS {
            copy_tree(&self.dir.join(split), &stage.path().join(split))?;
        }
        Ok(stage)
    }

    /// After the artifacts are in place: the working directory is no longer needed.
    pub fn finish(self) -> Result<()> {
        fs::remove_dir_all(&self.dir)
            .with_context(|| format!("cannot remove {}", self.dir.display()))
    }
}

/// The working directory of the run whose artifacts go to `artifact_dir`.
fn working_dir(artifact_dir: &Path) -> PathBuf {
    parent_of(artifact_dir).join(format!(".{}.training", folder_of(artifact_dir)))
}

/// The last epoch that `--resume` would continue after for the run writing `artifact_dir`:
/// 0 when none is complete. burn writes checkpoints and metric logs in background threads,
/// so a run held mid-epoch may still be finishing the epoch before.
pub fn last_complete_epoch(artifact_dir: &Path) -> usize {
    last_complete_epoch_in(&working_dir(artifact_dir))
}

/// The last epoch in working directory `dir` whose checkpoint records all load and whose
/// metric logs all end with burn's `final` line; 0 when there is none.
fn last_complete_epoch_in(dir: &Path) -> usize {
    let checkpoints = dir.join(CHECKPOINT_DIR);
    let mut epochs: Vec<usize> = fs::read_dir(&checkpoints)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| checkpoint_epoch(&entry.file_name().to_string_lossy()))
        .collect();
    epochs.sort_unstable();
    epochs.dedup();
    epochs
        .into_iter()
        .rev()
        .find(|&epoch| checkpoint_loads(&checkpoints, epoch) && logs_complete(dir, epoch))
        .unwrap_or(0)
}

fn checkpoint_loads(checkpoints: &Path, epoch: usize) -> bool {
    let read = |record: &str| fs::read(checkpoint_file(checkpoints, record, epoch)).ok();
    let bytes = |record: &str| read(record).map(Bytes::from_bytes_vec);
    bytes(RECORDS[0]).is_some_and(|b| ModuleRecord::checkpoint_from_bytes(b).is_ok())
        && bytes(RECORDS[1]).is_some_and(|b| OptimizerRecord::checkpoint_from_bytes(b).is_ok())
        && bytes(RECORDS[2]).is_some_and(|b| LrSchedulerRecord::checkpoint_from_bytes(b).is_ok())
}

fn logs_complete(dir: &Path, epoch: usize) -> bool {
    SPLITS.iter().all(|split| {
        let dir = dir.join(split).join(format!("epoch-{epoch}"));
        let logs: Vec<PathBuf> = fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "log"))
            .collect();
        !logs.is_empty() && logs.iter().all(|log| ends_with_final_line(log))
    })
}

/// `<dir>/model-3.bpk`: how burn names a checkpoint record, and what [`checkpoint_epoch`] reads.
fn checkpoint_file(dir: &Path, record: &str, epoch: usize) -> PathBuf {
    dir.join(format!("{record}-{epoch}.bpk"))
}

/// `model-3.bpk` -> 3.
fn checkpoint_epoch(file_name: &str) -> Option<usize> {
    let stem = file_name.strip_suffix(".bpk")?;
    let (record, epoch) = stem.rsplit_once('-')?;
    RECORDS.contains(&record).then(|| epoch.parse().ok())?
}

/// Whether a metric log's last line is burn's end-of-epoch line.
fn ends_with_final_line(path: &Path) -> bool {
    let Ok(text) = fs::read_to_string(path) else {
        return false;
    };
    text.strip_suffix('\n')
        .and_then(|body| body.rsplit('\n').next())
        .is_some_and(|line| line.ends_with(",final"))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// burn's checkpointer, written whole or not at all (a temporary file and a rename), so a
/// checkpoint that exists is one that was finished.
struct AtomicCheckpointer {
    directory: PathBuf,
    record: &'static str,
}

impl AtomicCheckpointer {
    fn new(directory: &Path, record: &'static str) -> Self {
        Self {
            directory: directory.to_path_buf(),
            record,
        }
    }

    fn path(&self, epoch: usize) -> PathBuf {
        checkpoint_file(&self.directory, self.record, epoch)
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let bytes = record
            .checkpoint_into_bytes()
            .map_err(CheckpointerError::Record)?;
        write_atomic(&self.path(epoch), &bytes)
            .map_err(|e| CheckpointerError::Unknown(format!("{e:#}")))?;
        if self.record == RECORDS[2] {
            stop_point(StopPoint::Checkpoint(epoch));
        }
        Ok(())
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        match fs::remove_file(self.path(epoch)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointerError::IOError(e))
            }
            _ => Ok(()),
        }
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        let bytes = fs::read(self.path(epoch)).map_err(CheckpointerError::IOError)?;
        R::checkpoint_from_bytes(Bytes::from_bytes_vec(bytes)).map_err(CheckpointerError::Record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_files_are_told_by_record_and_epoch() {
        assert_eq!(checkpoint_epoch("model-3.bpk"), Some(3));
        assert_eq!(checkpoint_epoch("scheduler-12.bpk"), Some(12));
        assert_eq!(checkpoint_epoch("model-3.bpk.tmp"), None);
        assert_eq!(checkpoint_epoch("other-3.bpk"), None);
        assert_eq!(checkpoint_epoch(".tmpXYZ"), None);
    }

    #[test]
    fn only_a_log_ending_with_the_final_line_is_complete() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("Loss.log");
        for (text, complete) in [
            ("0.5,1\n0.4,final\n", true),
            ("0.5,1\n0.4,1\n", false),
            ("0.5,1\n0.4,fin", false),
            ("", false),
        ] {
            fs::write(&log, text).unwrap();
            assert_eq!(ends_with_final_line(&log), complete, "{text:?}");
        }
    }
}
