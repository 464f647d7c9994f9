//! Per-epoch curves read back from burn's metric logs, and the training chart of a
//! classifier.

use std::path::Path;

use anyhow::{Result, anyhow};
use burn::train::LearnerSummary;

use crate::plot::{Panel, Series, draw_png};

/// Per-epoch means of each metric, read back from burn's metric logs.
pub struct EpochCurves {
    pub summary: LearnerSummary,
}

impl std::fmt::Debug for EpochCurves {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EpochCurves({} epochs)", self.summary.epochs)
    }
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
        Panel::over_epochs("Loss", "cross-entropy", curves.series("Loss")),
        Panel::over_epochs("Accuracy", "accuracy (%)", curves.series("Accuracy")),
    ];
    draw_png(&dir.join("training.png"), title, &panels)
        .map_err(|e| anyhow!("cannot draw training.png: {e:#}"))
}
