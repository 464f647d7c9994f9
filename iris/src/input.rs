//! What the model reads and answers: the class labels, the measurements (listed once, in
//! [`FEATURES`]), the JSON input, and [`model_input`], the one path from inputs to the model's
//! tensor in training, evaluation and inference.

use burn::prelude::*;
use module_kit::cli::ModelInput;
use module_kit::features::{Feature, features_json, keys, refuse_unknown, take_features};
use module_kit::graph::GraphInput;
use module_kit::standardize::Standardizer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Class labels in the order of the model's outputs (the UCI file's names).
pub const CLASSES: [&str; 3] = ["Iris-setosa", "Iris-versicolor", "Iris-virginica"];

/// Positive lengths no flower exceeds.
const MAX_CENTIMETRES: f32 = 100.0;

const fn centimetres(key: &'static str) -> Feature {
    Feature {
        key,
        unit: "cm",
        min: 0.0,
        max: MAX_CENTIMETRES,
    }
}

/// The measurements in the order the model reads them: the JSON keys, in the UCI file's
/// column order.
pub const FEATURES: [Feature; 4] = [
    centimetres("sepal_length"),
    centimetres("sepal_width"),
    centimetres("petal_length"),
    centimetres("petal_width"),
];

/// One flower: its measurements in [`FEATURES`] order. In JSON, an object with one number
/// per feature, checked against the feature's range when it is read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct IrisInput {
    pub measurements: [f32; 4],
}

impl TryFrom<Map<String, Value>> for IrisInput {
    type Error = String;

    fn try_from(mut object: Map<String, Value>) -> Result<Self, String> {
        let measurements = take_features(&mut object, &FEATURES)?;
        refuse_unknown(&object, keys(&FEATURES))?;
        Ok(Self { measurements })
    }
}

impl From<IrisInput> for Map<String, Value> {
    fn from(input: IrisInput) -> Self {
        features_json(&FEATURES, &input.measurements)
    }
}

/// Ranges are checked as the input is read.
impl ModelInput for IrisInput {}

/// The graph's input for a batch of flowers: measurements standardised with the training
/// statistics, `[batch, 4]`.
pub fn graph_input(inputs: &[IrisInput], preprocessing: &Standardizer) -> GraphInput {
    let values: Vec<f32> = inputs
        .iter()
        .flat_map(|input| preprocessing.apply(&input.measurements))
        .collect();
    GraphInput::F32 {
        shape: vec![inputs.len(), FEATURES.len()],
        values,
    }
}

/// [`graph_input`] as a Burn tensor, for training and evaluation.
pub fn model_input(
    inputs: &[IrisInput],
    preprocessing: &Standardizer,
    device: &Device,
) -> Tensor<2> {
    module_kit::graph::f32_tensor(graph_input(inputs, preprocessing), device)
        .expect("graph_input makes a rank-2 F32 tensor")
}
