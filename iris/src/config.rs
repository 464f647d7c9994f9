//! `config.json`: the network's shape, the preprocessing fitted on the training split, and
//! every training setting; embedded by the inference module next to `model.bpk`, and enough
//! to train the same model again (`iris-ndarray --config config.json`).

use module_kit::settings::NoOptions;
use module_kit::standardize::Standardizer;

use crate::model::{IrisModel, IrisModelConfig};

/// Iris has no options beside the common ones.
pub type IrisOptions = NoOptions;

module_kit::algorithm_config! {
    IrisConfig (module IrisModuleConfig, options IrisOptions) {
        model: IrisModelConfig => IrisModel,
        /// Standardisation statistics of the training split.
        preprocessing: Standardizer,
    }
}
