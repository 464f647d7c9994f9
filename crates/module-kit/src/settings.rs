//! What a training run records, in the same shape for every algorithm: every setting that
//! shaped the model (`config.json`'s `training`, enough to train it again with
//! `--config config.json`), and what the run produced (`metrics.json`). Inference modules embed
//! both and show them with `--info`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Every setting of a training run; `O` holds the algorithm's own options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSettings<O> {
    pub epochs: usize,
    pub batch_size: usize,
    /// The peak learning rate.
    pub learning_rate: f64,
    /// Seeds initialisation, splits, shuffling, dropout and augmentation.
    pub seed: u64,
    pub optimizer: Optimizer,
    pub schedule: Schedule,
    /// The algorithm's own options (the command-line options beside the common ones).
    pub options: O,
}

/// What an inference module reads of `config.json`'s `training`: the algorithm's own options
/// (AG News' tokenizer is shaped by them), not the optimiser or the schedule. Their
/// deserialisers (internally tagged enums) would weigh on every module, for settings only
/// training uses. Each algorithm's config is generic over its `training`, with
/// [`TrainingSettings`] the default and this for the modules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InferenceSettings<O> {
    pub options: O,
}

/// The optimiser and its hyper-parameters (burn's defaults unless an algorithm says otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Optimizer {
    Adam {
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
    },
    /// Adam with decoupled weight decay.
    #[serde(rename = "adamw")]
    AdamW {
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        weight_decay: f32,
    },
}

impl Optimizer {
    /// burn's `AdamConfig` defaults.
    pub const ADAM: Optimizer = Optimizer::Adam {
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-5,
    };

    /// burn's `AdamWConfig` defaults, with the given weight decay.
    pub const fn adamw(weight_decay: f32) -> Optimizer {
        Optimizer::AdamW {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
            weight_decay,
        }
    }
}

/// How the learning rate moves over the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Schedule {
    /// The learning rate throughout.
    Constant,
    /// Cosine decay over the whole run, from the learning rate to the learning rate divided
    /// by `final_divisor`.
    Cosine { final_divisor: f64 },
}

/// The options of an algorithm that has none beside the common ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// One dataset file a run read: both digests (SHA3-256 is what Cocos AI manifests pin) and
/// the layout that was detected in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRecord {
    pub sha256: String,
    pub sha3_256: String,
    /// What the file was read as (`UCI iris.data: no header, 150 rows`).
    pub layout: String,
}

/// `metrics.json`: what one training run produced; `E` holds the algorithm's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingReport<E> {
    pub algorithm: String,
    /// Which backend and device trained it (`flex`, `ndarray`, `wgpu (llvmpipe, ...)`).
    pub backend: String,
    /// Epochs actually run.
    pub epochs_run: usize,
    pub training_seconds: f64,
    /// Every dataset file the run read, by its path under the data directory (or as given
    /// with `--dataset`).
    pub datasets: BTreeMap<String, DatasetRecord>,
    /// SHA-256 of `model.bpk`.
    pub model_sha256: String,
    pub evaluation: E,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_a_json_round_trip() {
        let settings = TrainingSettings {
            epochs: 3,
            batch_size: 16,
            learning_rate: 0.005,
            seed: 42,
            optimizer: Optimizer::adamw(1e-4),
            schedule: Schedule::Cosine {
                final_divisor: 10.0,
            },
            options: NoOptions {},
        };
        let json = serde_json::to_string(&settings).unwrap();
        assert!(json.contains(r#""optimizer":{"name":"adamw""#), "{json}");
        assert_eq!(
            serde_json::from_str::<TrainingSettings<NoOptions>>(&json).unwrap(),
            settings
        );
        // A module reads the options alone from the same text.
        assert_eq!(
            serde_json::from_str::<InferenceSettings<NoOptions>>(&json).unwrap(),
            InferenceSettings {
                options: NoOptions {}
            }
        );
    }
}
