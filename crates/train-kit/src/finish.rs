//! The end every training run shares once burn's learner returns: the artifact directory
//! staged with burn's logs, the curves read back from them, and [`save_run`] with the number
//! of epochs those curves hold.

use std::path::PathBuf;

use anyhow::Result;
use burn::module::Module;
use module_kit::settings::TrainingReport;
use serde::Serialize;

use crate::artifact::StagedDir;
use crate::curves::{EpochCurves, draw_classification_chart};
use crate::resume::TrainingSession;
use crate::save::{RunInfo, save_run};

/// A run whose training is done: what the algorithm adds to `stage` (charts, its own files)
/// goes in with the model when it is saved.
#[derive(Debug)]
pub struct TrainedRun {
    session: TrainingSession,
    pub stage: StagedDir,
    pub curves: EpochCurves,
}

impl TrainedRun {
    /// Stages the artifact directory and reads the `metrics` curves from burn's logs; prints
    /// their summary.
    pub fn stage(session: TrainingSession, metrics: &[&str]) -> Result<Self> {
        let stage = session.stage()?;
        let curves = EpochCurves::read(stage.path(), metrics)?;
        println!("{}", curves.summary);
        Ok(Self {
            session,
            stage,
            curves,
        })
    }

    /// [`TrainedRun::stage`] for a classifier: its loss and accuracy, drawn as `title`.
    pub fn classifier(session: TrainingSession, title: &str) -> Result<Self> {
        let run = Self::stage(session, &["Loss", "Accuracy"])?;
        draw_classification_chart(run.stage.path(), title, &run.curves)?;
        Ok(run)
    }

    /// The number of epochs the curves hold: the run's, resumed ones included.
    pub fn epochs(&self) -> usize {
        self.curves.summary.epochs
    }

    /// [`save_run`] for this run.
    pub fn save<M: Module, C: Serialize, E: Serialize>(
        self,
        model: M,
        config: &C,
        info: RunInfo,
        evaluation: E,
    ) -> Result<(TrainingReport<E>, PathBuf)> {
        let epochs_run = self.epochs();
        save_run(
            (self.session, self.stage),
            model,
            config,
            info,
            epochs_run,
            evaluation,
        )
    }
}
