//! The wine-quality regressor and everything that turns a wine into its input: feature
//! order, the wine-type encoding, target scaling and the saved configuration. Training and
//! inference both use this file.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, Relu};
use burn::prelude::*;
use common::report::TrainingSettings;
use common::standardize::Standardizer;
use serde::{Deserialize, Serialize};

/// The eleven physicochemical measurements, in the order the model reads them, as JSON keys.
pub const MEASUREMENTS: [&str; 11] = [
    "fixed_acidity",
    "volatile_acidity",
    "citric_acid",
    "residual_sugar",
    "chlorides",
    "free_sulfur_dioxide",
    "total_sulfur_dioxide",
    "density",
    "ph",
    "sulphates",
    "alcohol",
];

/// Model inputs per wine: the measurements plus the wine type (1 for red, 0 for white).
pub const NUM_INPUTS: usize = MEASUREMENTS.len() + 1;

/// Red or white: the two UCI files, and an input of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WineType {
    Red,
    White,
}

impl WineType {
    fn indicator(self) -> f32 {
        match self {
            WineType::Red => 1.0,
            WineType::White => 0.0,
        }
    }
}

/// One wine as the inference module receives it (the earlier workspace's snake_case keys).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WineSample {
    pub fixed_acidity: f32,
    pub volatile_acidity: f32,
    pub citric_acid: f32,
    pub residual_sugar: f32,
    pub chlorides: f32,
    pub free_sulfur_dioxide: f32,
    pub total_sulfur_dioxide: f32,
    pub density: f32,
    pub ph: f32,
    pub sulphates: f32,
    pub alcohol: f32,
    #[serde(rename = "type")]
    pub wine_type: WineType,
}

impl WineSample {
    /// The measurements in [`MEASUREMENTS`] order.
    pub fn measurements(&self) -> [f32; 11] {
        [
            self.fixed_acidity,
            self.volatile_acidity,
            self.citric_acid,
            self.residual_sugar,
            self.chlorides,
            self.free_sulfur_dioxide,
            self.total_sulfur_dioxide,
            self.density,
            self.ph,
            self.sulphates,
            self.alcohol,
        ]
    }

    /// The model's raw input row: measurements, then the type indicator.
    pub fn input_row(&self) -> [f32; NUM_INPUTS] {
        let mut row = [0f32; NUM_INPUTS];
        row[..MEASUREMENTS.len()].copy_from_slice(&self.measurements());
        row[MEASUREMENTS.len()] = self.wine_type.indicator();
        row
    }
}

/// The network's shape.
#[derive(Config, Debug)]
pub struct WineModelConfig {
    #[config(default = 12)]
    pub num_inputs: usize,
    #[config(default = 128)]
    pub hidden_size: usize,
    #[config(default = 0.1)]
    pub dropout: f64,
}

/// A three-hidden-layer perceptron over standardised inputs; outputs the standardised quality.
#[derive(Module, Debug)]
pub struct WineModel {
    input: Linear,
    hidden: Linear,
    hidden2: Linear,
    output: Linear,
    activation: Relu,
    dropout: Dropout,
}

impl WineModelConfig {
    pub fn init(&self, device: &Device) -> WineModel {
        WineModel {
            input: LinearConfig::new(self.num_inputs, self.hidden_size).init(device),
            hidden: LinearConfig::new(self.hidden_size, self.hidden_size).init(device),
            hidden2: LinearConfig::new(self.hidden_size, self.hidden_size).init(device),
            output: LinearConfig::new(self.hidden_size, 1).init(device),
            activation: Relu::new(),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl WineModel {
    /// `[batch, 12]` standardised inputs to `[batch, 1]` standardised quality.
    pub fn forward(&self, inputs: Tensor<2>) -> Tensor<2> {
        let x = self
            .dropout
            .forward(self.activation.forward(self.input.forward(inputs)));
        let x = self
            .dropout
            .forward(self.activation.forward(self.hidden.forward(x)));
        let x = self
            .dropout
            .forward(self.activation.forward(self.hidden2.forward(x)));
        self.output.forward(x)
    }
}

/// How the quality score is scaled for training (fitted on the training split).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TargetScale {
    pub mean: f32,
    pub std: f32,
}

impl TargetScale {
    pub fn to_model(&self, quality: f32) -> f32 {
        (quality - self.mean) / self.std
    }

    /// The model's output back on the 0-10 scale, clamped to it.
    pub fn to_quality(&self, output: f32) -> f32 {
        (output * self.std + self.mean).clamp(0.0, 10.0)
    }
}

/// `config.json`: the network's shape, the preprocessing and target scale fitted on the
/// training split, and the settings that trained it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WineArtifactConfig {
    pub model: WineModelConfig,
    pub preprocessing: Standardizer,
    pub target: TargetScale,
    pub training: TrainingSettings,
}

/// Model input for a batch of raw rows, standardised with the training statistics: the one
/// preprocessing path for training, evaluation and inference.
pub fn inputs_tensor(
    rows: &[[f32; NUM_INPUTS]],
    preprocessing: &Standardizer,
    device: &Device,
) -> Tensor<2> {
    let values: Vec<f32> = rows
        .iter()
        .flat_map(|row| preprocessing.apply(row))
        .collect();
    Tensor::from_data(TensorData::new(values, [rows.len(), NUM_INPUTS]), device)
}
