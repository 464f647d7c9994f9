//! `config.json`: the network's shape, the input standardisation and target scale fitted on
//! the training split, and every training setting; embedded by the inference module next to
//! `model.bpk`, and enough to train the same model again
//! (`wine-quality-ndarray --config config.json`).

use runtime::artifacts::ArtifactConfig;
use runtime::layers::Layers;
use runtime::settings::{NoOptions, TrainingSettings};
use runtime::standardize::Standardizer;
use serde::{Deserialize, Serialize};

use crate::input::TargetScale;
use crate::model::{WineModel, WineModelConfig};

/// Wine Quality has no options beside the common ones.
pub type WineOptions = NoOptions;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WineConfig {
    pub model: WineModelConfig,
    /// Standardisation statistics of the training split's inputs.
    pub preprocessing: Standardizer,
    pub target: TargetScale,
    pub training: TrainingSettings<WineOptions>,
}

impl ArtifactConfig for WineConfig {
    type Model = WineModel;

    fn build_model(&self, layers: &impl Layers) -> WineModel {
        self.model.build(layers)
    }
}
