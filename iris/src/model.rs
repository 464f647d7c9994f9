//! The Iris classifier and everything that turns a flower into its input: feature order,
//! class labels and the saved configuration. Training and inference both use this file.

use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;
use common::report::TrainingSettings;
use common::standardize::Standardizer;
use serde::{Deserialize, Serialize};

/// Class labels in the order of the model's outputs (the UCI file's names).
pub const CLASSES: [&str; 3] = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"];

/// Input features in the order the model reads them (centimetres).
pub const FEATURES: [&str; 4] = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

/// The network's shape.
#[derive(Config, Debug)]
pub struct IrisModelConfig {
    #[config(default = 4)]
    pub num_features: usize,
    #[config(default = 16)]
    pub hidden_size: usize,
    #[config(default = 3)]
    pub num_classes: usize,
}

/// A two-hidden-layer perceptron over standardised measurements; outputs class logits.
#[derive(Module, Debug)]
pub struct IrisModel {
    input: Linear,
    hidden: Linear,
    output: Linear,
    activation: Relu,
}

impl IrisModelConfig {
    pub fn init(&self, device: &Device) -> IrisModel {
        IrisModel {
            input: LinearConfig::new(self.num_features, self.hidden_size).init(device),
            hidden: LinearConfig::new(self.hidden_size, self.hidden_size).init(device),
            output: LinearConfig::new(self.hidden_size, self.num_classes).init(device),
            activation: Relu::new(),
        }
    }
}

impl IrisModel {
    /// `[batch, 4]` standardised features to `[batch, 3]` logits.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        let x = self.activation.forward(self.input.forward(features));
        let x = self.activation.forward(self.hidden.forward(x));
        self.output.forward(x)
    }
}

/// `config.json`: the network's shape, the preprocessing fitted on the training split, and
/// the settings that trained it. Embedded by the inference module next to `model.bpk`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IrisArtifactConfig {
    pub model: IrisModelConfig,
    pub preprocessing: Standardizer,
    pub training: TrainingSettings,
}

/// One flower's measurements, in centimetres; the JSON input of the inference module.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IrisFeatures {
    pub sepal_length: f32,
    pub sepal_width: f32,
    pub petal_length: f32,
    pub petal_width: f32,
}

impl IrisFeatures {
    /// The measurements in [`FEATURES`] order.
    pub fn to_array(&self) -> [f32; 4] {
        [
            self.sepal_length,
            self.sepal_width,
            self.petal_length,
            self.petal_width,
        ]
    }
}

/// Model input for a batch of raw measurements: standardised with the training statistics,
/// the one preprocessing path for training, evaluation and inference.
pub fn features_tensor(
    rows: &[[f32; 4]],
    preprocessing: &Standardizer,
    device: &Device,
) -> Tensor<2> {
    let values: Vec<f32> = rows
        .iter()
        .flat_map(|row| preprocessing.apply(row))
        .collect();
    Tensor::from_data(
        TensorData::new(values, [rows.len(), FEATURES.len()]),
        device,
    )
}
