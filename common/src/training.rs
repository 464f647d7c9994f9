//! Running burn's learner the same way for every algorithm: burn's TUI in a terminal, one
//! clean line per epoch otherwise, no global logger, errors returned instead of printed, and
//! the learner summary printed (and its curves kept) once training is over.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::tensor::{Bool, Int, Tensor};
use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};
use burn::train::{Learner, LearnerModel, LearnerSummary, SupervisedTraining};

use serde::Serialize;

use crate::artifact::{StagedDir, write_atomic, write_json_atomic};
use crate::digest::sha256_hex;
use crate::plot::{Panel, PanelKind, Series, draw_png};
use crate::report::{TrainingReport, TrainingSettings};

/// Implements burn's `TrainStep` and `InferenceStep` for `$model`, whose method `$forward`
/// turns a `$batch` into a `$output` that carries the loss (`ClassificationOutput`,
/// `RegressionOutput`): training steps backpropagate that loss, validation steps only report it.
#[macro_export]
macro_rules! impl_supervised_steps {
    ($model:ty, $batch:ty, $output:ty, $forward:ident) => {
        impl ::burn::train::TrainStep for $model {
            type Input = $batch;
            type Output = $output;

            fn step(&self, batch: $batch) -> ::burn::train::TrainOutput<$output> {
                let item = self.$forward(batch);
                ::burn::train::TrainOutput::new(self, item.loss.backward(), item)
            }
        }

        impl ::burn::train::InferenceStep for $model {
            type Input = $batch;
            type Output = $output;

            fn step(&self, batch: $batch) -> $output {
                self.$forward(batch)
            }
        }
    };
}

/// Trains `learner` with `training` and returns the trained model (already in inference
/// mode). The metric logs land in the directory `training` was created with.
pub fn launch<M: LearnerModel>(training: SupervisedTraining<M>, learner: Learner<M>) -> Result<M> {
    let training = training.with_application_logger(None);
    let training = if std::io::stdout().is_terminal() {
        training
    } else {
        training.renderer(Box::new(EpochLog::default()))
    };
    let result = training.launch(learner);
    if let Some(error) = result.error {
        bail!("training failed: {error}");
    }
    if result.interrupted.is_some() {
        bail!("training was interrupted");
    }
    drop(result.renderer);
    Ok(result.model)
}

/// What every training run records besides the model and its evaluation.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub algorithm: &'static str,
    pub backend: String,
    pub settings: TrainingSettings,
    pub started: Instant,
    /// SHA-256 of each dataset file used, by its path under the data directory.
    pub dataset_sha256: BTreeMap<String, String>,
}

/// Writes `model.bpk`, `config.json` and `metrics.json` into `stage` (next to whatever the
/// algorithm already put there: charts, burn's logs) and swaps the stage in as the artifact
/// directory. Returns the report and where it now lives.
pub fn save_run<M: Module, C: Serialize, E: Serialize>(
    stage: StagedDir,
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
    let report = TrainingReport {
        algorithm: info.algorithm.to_owned(),
        backend: info.backend,
        settings: info.settings,
        epochs_run,
        training_seconds: info.started.elapsed().as_secs_f64(),
        dataset_sha256: info.dataset_sha256,
        model_sha256: sha256_hex(&model_bytes),
        evaluation,
    };
    write_json_atomic(&stage.path().join("metrics.json"), &report)?;
    let destination = stage.commit()?;
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

/// Per-epoch means of each metric, read back from burn's metric logs.
pub struct EpochCurves {
    pub summary: LearnerSummary,
}

impl EpochCurves {
    /// Reads the logs under `dir` for the named metrics (`"Loss"`, `"Accuracy"`).
    pub fn read(dir: &Path, metrics: &[&str]) -> Result<Self> {
        let summary = LearnerSummary::new(dir, metrics).map_err(|e| anyhow!(e))?;
        Ok(Self { summary })
    }

    /// `(epoch, value)` points of one metric on one split (`train` or `valid`).
    pub fn points(&self, split: &str, metric: &str) -> Vec<(f64, f64)> {
        let metrics = match split {
            "train" => &self.summary.metrics.train,
            _ => &self.summary.metrics.valid,
        };
        metrics
            .iter()
            .find(|m| m.name == metric)
            .map(|m| m.entries.iter().map(|e| (e.step as f64, e.value)).collect())
            .unwrap_or_default()
    }

    /// The train and valid lines of one metric, for a chart.
    pub fn series(&self, metric: &str) -> Vec<Series> {
        ["train", "valid"]
            .into_iter()
            .map(|split| Series {
                label: split.to_owned(),
                points: self.points(split, metric),
            })
            .collect()
    }

    /// The last epoch's value of a metric on a split.
    pub fn last(&self, split: &str, metric: &str) -> Option<f64> {
        self.points(split, metric).last().map(|&(_, v)| v)
    }
}

/// `training.png` of a classifier: loss and accuracy per epoch, train vs validation.
pub fn draw_classification_chart(dir: &Path, title: &str, curves: &EpochCurves) -> Result<()> {
    let panels = [
        Panel {
            title: "Loss".into(),
            x_label: "epoch".into(),
            y_label: "cross-entropy".into(),
            kind: PanelKind::Lines,
            series: curves.series("Loss"),
        },
        Panel {
            title: "Accuracy".into(),
            x_label: "epoch".into(),
            y_label: "accuracy (%)".into(),
            kind: PanelKind::Lines,
            series: curves.series("Accuracy"),
        },
    ];
    draw_png(&dir.join("training.png"), title, &panels)
        .map_err(|e| anyhow!("cannot draw training.png: {e:#}"))
}

/// One line per epoch for pipes and CI: the epoch means of every metric, train and valid.
#[derive(Default)]
pub struct EpochLog {
    names: HashMap<MetricId, String>,
    train: BTreeMap<String, f64>,
    valid: BTreeMap<String, f64>,
    total_epochs: usize,
}

impl EpochLog {
    fn record(
        names: &HashMap<MetricId, String>,
        into: &mut BTreeMap<String, f64>,
        state: MetricState,
    ) {
        if let MetricState::Numeric(entry, Some(NumericEntry::Final(value))) = state {
            let name = names
                .get(&entry.metric_id)
                .cloned()
                .unwrap_or_else(|| "metric".into());
            into.insert(name, value);
        }
    }

    fn line(&self, epoch: usize) -> String {
        let mut line = format!("epoch {epoch:>3}/{}", self.total_epochs);
        for (split, values) in [("train", &self.train), ("valid", &self.valid)] {
            for (name, value) in values {
                let name = name.to_lowercase().replace(' ', "_");
                line.push_str(&format!("  {split}_{name} {value:.4}"));
            }
        }
        line
    }
}

impl MetricsRendererTraining for EpochLog {
    fn update_train(&mut self, state: MetricState) {
        Self::record(&self.names, &mut self.train, state);
    }

    fn update_valid(&mut self, state: MetricState) {
        Self::record(&self.names, &mut self.valid, state);
    }

    fn on_train_end(
        &mut self,
        _summary: Option<LearnerSummary>,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        Ok(())
    }
}

impl TrainingProgressLogger for EpochLog {
    fn start(
        &mut self,
        total_epochs: usize,
        _starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
    }

    fn update_epoch(&mut self, epoch: usize) {
        println!("{}", self.line(epoch));
        self.train.clear();
        self.valid.clear();
    }

    fn start_split(&mut self, _split: &str, _total_items: usize) {}
    fn update_split(&mut self, _items_processed: usize) {}
    fn end_split(&mut self) {}
    fn end(&mut self) {}
    fn log_event_training(&mut self, _event: String) {}
}

impl MetricsRendererEvaluation for EpochLog {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}

    fn on_test_end(
        &mut self,
        _summary: Option<LearnerSummary>,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        Ok(())
    }
}

impl EvaluationProgressLogger for EpochLog {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, _name: &str, _total_items: usize) {}
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for EpochLog {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id.clone(), definition.name.to_string());
    }
}
