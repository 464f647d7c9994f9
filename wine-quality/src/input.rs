//! What the model reads and answers: the eleven measurements (listed once, in [`FEATURES`]),
//! the wine type, the JSON input, [`model_input`] (the one path from inputs to the model's
//! tensor in training, evaluation and inference), and the scale of its answer.

use burn::prelude::*;
use module_kit::cli::ModelInput;
use module_kit::features::{Feature, features_json, keys, refuse_unknown, take_features};
use module_kit::graph::GraphInput;
use module_kit::standardize::Standardizer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Generous upper bound for the concentrations (g/dm3, mg/dm3): nothing drinkable exceeds it.
const MAX_CONCENTRATION: f32 = 10_000.0;

const fn concentration(key: &'static str, unit: &'static str) -> Feature {
    Feature {
        key,
        unit,
        min: 0.0,
        max: MAX_CONCENTRATION,
    }
}

/// The physicochemical measurements in the order the model reads them. Each key is the UCI
/// file's column name in snake_case (`fixed acidity` is `fixed_acidity`, `pH` is `ph`).
/// Concentrations are not negative; density, pH and alcohol have their physical ranges.
pub const FEATURES: [Feature; 11] = [
    concentration("fixed_acidity", "g(tartaric acid)/dm3"),
    concentration("volatile_acidity", "g(acetic acid)/dm3"),
    concentration("citric_acid", "g/dm3"),
    concentration("residual_sugar", "g/dm3"),
    concentration("chlorides", "g(sodium chloride)/dm3"),
    concentration("free_sulfur_dioxide", "mg/dm3"),
    concentration("total_sulfur_dioxide", "mg/dm3"),
    Feature {
        key: "density",
        unit: "g/cm3",
        min: 0.9,
        max: 1.1,
    },
    Feature {
        key: "ph",
        unit: "pH",
        min: 0.0,
        max: 14.0,
    },
    concentration("sulphates", "g(potassium sulphate)/dm3"),
    Feature {
        key: "alcohol",
        unit: "% vol",
        min: 0.0,
        max: 100.0,
    },
];

/// The JSON key of the wine type.
pub const TYPE_KEY: &str = "type";

/// Model inputs per wine: the measurements plus the wine type (1 for red, 0 for white).
pub const NUM_INPUTS: usize = FEATURES.len() + 1;

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

/// One wine: its measurements in [`FEATURES`] order and its type. In JSON, an object with one
/// number per feature and `"type": "red"` or `"white"`, checked as it is read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct WineInput {
    pub measurements: [f32; 11],
    pub wine_type: WineType,
}

impl WineInput {
    /// The model's raw input row: measurements, then the type indicator.
    pub fn row(&self) -> [f32; NUM_INPUTS] {
        let mut row = [0f32; NUM_INPUTS];
        row[..FEATURES.len()].copy_from_slice(&self.measurements);
        row[FEATURES.len()] = self.wine_type.indicator();
        row
    }
}

impl TryFrom<Map<String, Value>> for WineInput {
    type Error = String;

    fn try_from(mut object: Map<String, Value>) -> Result<Self, String> {
        let measurements = take_features(&mut object, &FEATURES)?;
        let wine_type = object
            .remove(TYPE_KEY)
            .ok_or_else(|| format!("missing field `{TYPE_KEY}`"))?;
        let wine_type = serde_json::from_value(wine_type).map_err(|e| e.to_string())?;
        refuse_unknown(&object, keys(&FEATURES).into_iter().chain([TYPE_KEY]))?;
        Ok(Self {
            measurements,
            wine_type,
        })
    }
}

impl From<WineInput> for Map<String, Value> {
    fn from(input: WineInput) -> Self {
        let mut object = features_json(&FEATURES, &input.measurements);
        object.insert(TYPE_KEY.into(), json!(input.wine_type));
        object
    }
}

/// Ranges are checked as the input is read.
impl ModelInput for WineInput {}

/// The model's input for a batch of wines: rows standardised with the training statistics.
pub fn graph_input(inputs: &[WineInput], preprocessing: &Standardizer) -> GraphInput {
    let values: Vec<f32> = inputs
        .iter()
        .flat_map(|input| preprocessing.apply(&input.row()))
        .collect();
    GraphInput::F32 {
        shape: vec![inputs.len(), NUM_INPUTS],
        values,
    }
}

/// [`graph_input`] as a Burn tensor, for training and evaluation.
pub fn model_input(
    inputs: &[WineInput],
    preprocessing: &Standardizer,
    device: &Device,
) -> Tensor<2> {
    module_kit::graph::f32_tensor(graph_input(inputs, preprocessing), device)
        .expect("graph_input makes a rank-2 F32 tensor")
}

/// How the quality score is scaled for the model (fitted on the training split).
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
