//! `config.json`: the network's shape, the input standardisation and target scale fitted on
//! the training split, and every training setting; embedded by the inference module next to
//! `model.bpk`, and enough to train the same model again
//! (`wine-quality-ndarray --config config.json`).

use module_kit::settings::NoOptions;
use module_kit::standardize::Standardizer;

use crate::input::TargetScale;
use crate::model::{WineModel, WineModelConfig};

/// Wine Quality has no options beside the common ones.
pub type WineOptions = NoOptions;

module_kit::algorithm_config! {
    WineConfig (module WineModuleConfig, options WineOptions) {
        model: WineModelConfig => WineModel,
        /// Standardisation statistics of the training split's inputs.
        preprocessing: Standardizer,
        target: TargetScale,
    }
}
