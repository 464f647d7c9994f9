//! `metrics.json`: what a training run produced and how, in the same shape for every
//! algorithm. Inference modules embed it and show it with `--info`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The settings a model was trained with (the command-line options that shaped it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSettings {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

/// The report of one training run; `M` holds the algorithm's own evaluation figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingReport<M> {
    pub algorithm: String,
    /// Which backend and device trained it (`flex`, `ndarray`, `wgpu (llvmpipe, ...)`).
    pub backend: String,
    pub settings: TrainingSettings,
    /// Epochs actually run.
    pub epochs_run: usize,
    pub training_seconds: f64,
    /// SHA-256 of each dataset file used, by its path under the data directory.
    pub dataset_sha256: BTreeMap<String, String>,
    /// SHA-256 of `model.bpk`.
    pub model_sha256: String,
    pub evaluation: M,
}
