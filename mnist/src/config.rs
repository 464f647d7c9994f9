//! `config.json`: the network's shape, the pixel normalisation fitted on the training images,
//! and every training setting; embedded by the inference module next to `model.bpk`, and
//! enough to train the same model again (`mnist-ndarray --config config.json`).

use serde::{Deserialize, Serialize};

use crate::input::PixelNormalization;
use crate::model::{MnistModel, MnistModelConfig};

/// MNIST options beside the common ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "train", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct MnistOptions {
    /// Train and validate on the first N images of each split only, for quick runs
    #[cfg_attr(feature = "train", arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..)))]
    pub limit: Option<u64>,
    /// Shift each training image by up to this many pixels in x and y (seeded); 0 turns
    /// augmentation off
    #[cfg_attr(feature = "train", arg(long, value_name = "PIXELS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=4)))]
    pub max_shift: u64,
}

module_kit::algorithm_config! {
    MnistConfig (module MnistModuleConfig, options MnistOptions) {
        model: MnistModelConfig => MnistModel,
        /// Pixel statistics of the training images.
        normalization: PixelNormalization,
    }
}
