//! `config.json`: the network's shape, the preprocessing fitted on the training split, and
//! every training setting; embedded by the inference module next to `model.bpk`, and enough
//! to train the same model again (`iris-ndarray --config config.json`).

use module_kit::artifacts::ArtifactConfig;
use module_kit::layers::Layers;
use module_kit::settings::{InferenceSettings, NoOptions, TrainingSettings};
use module_kit::standardize::Standardizer;
use serde::{Deserialize, Serialize};

use crate::model::{IrisModel, IrisModelConfig};

/// Iris has no options beside the common ones.
pub type IrisOptions = NoOptions;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IrisConfig<T = TrainingSettings<IrisOptions>> {
    pub model: IrisModelConfig,
    /// Standardisation statistics of the training split.
    pub preprocessing: Standardizer,
    /// Every training setting ([`TrainingSettings`]); what a module reads of them in
    /// [`IrisModuleConfig`].
    pub training: T,
}

/// `config.json` as the inference module reads it: the network, its preprocessing and the
/// algorithm's options, without the optimiser and schedule only training uses.
pub type IrisModuleConfig = IrisConfig<InferenceSettings<IrisOptions>>;

impl ArtifactConfig for IrisConfig {
    type Model = IrisModel;

    fn build_model(&self, layers: &impl Layers) -> IrisModel {
        self.model.build(layers)
    }
}
