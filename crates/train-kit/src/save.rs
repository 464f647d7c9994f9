//! Writing a trained model: `model.bpk` with deterministic bytes, `config.json` and
//! `metrics.json`, next to whatever else the run staged, swapped in as the artifact directory.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, anyhow};
use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::tensor::{Bool, Int, Tensor};
use module_kit::digest::sha256_hex;
use module_kit::settings::TrainingReport;
use serde::Serialize;

use crate::artifact::{StagedDir, write_atomic, write_json_atomic};
use crate::cli::TrainRun;
use crate::dataset::DatasetRecords;
use crate::interrupt::{StopPoint, stop_point};
use crate::resume::TrainingSession;

/// What every training run records besides the model and its evaluation.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub algorithm: &'static str,
    pub backend: String,
    pub started: Instant,
    /// Every dataset file read: digests and the layout detected.
    pub datasets: DatasetRecords,
}

impl RunInfo {
    /// What `run` trained on and with, for a run that started at `started`.
    pub fn new<O>(run: &TrainRun<O>, started: Instant, datasets: DatasetRecords) -> Self {
        Self {
            algorithm: run.algorithm.name,
            backend: run.backend.clone(),
            started,
            datasets,
        }
    }
}

/// Writes `model.bpk`, `config.json` and `metrics.json` into `stage` (next to whatever the
/// algorithm already put there: charts, burn's logs), swaps the stage in as the artifact
/// directory and removes the session's working directory. Returns the report and where the
/// artifacts now live.
pub fn save_run<M: Module, C: Serialize, E: Serialize>(
    (session, stage): (TrainingSession, StagedDir),
    model: M,
    config: &C,
    info: RunInfo,
    epochs_run: usize,
    evaluation: E,
) -> Result<(TrainingReport<E>, PathBuf)> {
    let model_bytes = model
        .map(&mut SequentialParamIds::default())
        .into_record()
        .into_bytes()
        .map_err(|e| anyhow!("cannot serialise the model: {e}"))?;
    write_atomic(&stage.path().join("model.bpk"), &model_bytes)?;
    write_json_atomic(&stage.path().join("config.json"), config)?;
    stop_point(StopPoint::Artifacts);
    let report = TrainingReport {
        algorithm: info.algorithm.to_owned(),
        backend: info.backend,
        epochs_run,
        training_seconds: info.started.elapsed().as_secs_f64(),
        datasets: info.datasets,
        model_sha256: sha256_hex(&model_bytes),
        evaluation,
    };
    write_json_atomic(&stage.path().join("metrics.json"), &report)?;
    let destination = stage.commit()?;
    session.finish()?;
    Ok((report, destination))
}

/// Renumbers parameters 1, 2, 3... in module order. burn draws parameter ids at random and
/// saves them in the record; fixed ids make the same seed give the same `model.bpk` bytes.
#[derive(Default)]
struct SequentialParamIds {
    next: u64,
}

impl SequentialParamIds {
    fn renumber<T: burn::module::ParameterValue>(&mut self, param: Param<T>) -> Param<T> {
        let (_, value, mapper) = param.consume();
        self.next += 1;
        Param::from_mapped_value(ParamId::from(self.next), value, mapper)
    }
}

impl ModuleMapper for SequentialParamIds {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        self.renumber(param)
    }

    fn map_int<const D: usize>(&mut self, param: Param<Tensor<D, Int>>) -> Param<Tensor<D, Int>> {
        self.renumber(param)
    }

    fn map_bool<const D: usize>(
        &mut self,
        param: Param<Tensor<D, Bool>>,
    ) -> Param<Tensor<D, Bool>> {
        self.renumber(param)
    }
}
