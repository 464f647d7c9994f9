//! `config.json`: the network's shape, the input standardisation and target scale fitted on
//! the training split, and every training setting; embedded by the inference module next to
//! `model.bpk`, and enough to train the same model again
//! (`wine-quality-ndarray --config config.json`).

use module_kit::artifacts::ArtifactConfig;
use module_kit::layers::Layers;
use module_kit::settings::{InferenceSettings, NoOptions, TrainingSettings};
use module_kit::standardize::Standardizer;
use serde::{Deserialize, Serialize};

use crate::input::TargetScale;
use crate::model::{WineModel, WineModelConfig};

/// Wine Quality has no options beside the common ones.
pub type WineOptions = NoOptions;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WineConfig<T = TrainingSettings<WineOptions>> {
    pub model: WineModelConfig,
    /// Standardisation statistics of the training split's inputs.
    pub preprocessing: Standardizer,
    pub target: TargetScale,
    /// Every training setting ([`TrainingSettings`]); what a module reads of them in
    /// [`WineModuleConfig`].
    pub training: T,
}

/// `config.json` as the inference module reads it: the network, its preprocessing and the
/// algorithm's options, without the optimiser and schedule only training uses.
pub type WineModuleConfig = WineConfig<InferenceSettings<WineOptions>>;

impl ArtifactConfig for WineConfig {
    type Model = WineModel;

    fn build_model(&self, layers: &impl Layers) -> WineModel {
        self.model.build(layers)
    }
}
