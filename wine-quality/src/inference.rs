//! The inference module's model: the command-line contract's examples and `--info`, and the
//! answers (the quality on the 0-10 scale).

use module_kit::artifacts::{Artifacts, LoadError, ModelCard};
use module_kit::cli::{InferenceModel, Prediction};
use module_kit::features::{oip_inputs, schema};
use module_kit::graph::{Forward, GraphError};
use module_kit::oip::{Inputs, OutputRow, Signature, TensorSpec};
use serde_json::{Value, json};

use crate::config::WineModuleConfig;
use crate::graph::{GRAPH, WineKernels};
use crate::input::{FEATURES, TYPE_KEY, WineInput, graph_input};

/// The trained model with its preprocessing, ready to answer; the network runs in `F`: the
/// embedded [`WineKernels`], Burn's [`crate::graph::WineGraph`], or the host's named graph.
#[derive(Debug)]
pub struct WinePredictor<F = WineKernels> {
    card: ModelCard<WineModuleConfig>,
    network: F,
}

/// The predicted quality of one wine on the 0-10 scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityPrediction {
    pub quality: f32,
}

impl QualityPrediction {
    /// One decimal, as printed.
    pub fn rounded(&self) -> f64 {
        (f64::from(self.quality) * 10.0).round() / 10.0
    }
}

impl Prediction for QualityPrediction {
    fn to_line(&self) -> String {
        format!("{:.1}", self.rounded())
    }

    fn to_json(&self) -> Value {
        json!({ "quality": self.rounded(), "grade": self.quality.round() as u8 })
    }

    /// The quality unrounded, and the grade.
    fn output_row(&self) -> Vec<OutputRow> {
        vec![
            OutputRow::Fp32(vec![self.quality]),
            OutputRow::Int64(self.quality.round() as i64),
        ]
    }
}

impl<F: Forward> InferenceModel for WinePredictor<F> {
    type Input = WineInput;
    type Output = QualityPrediction;

    const NAME: &'static str = "wine-quality-inference";
    const ABOUT: &'static str =
        "predicts a wine's quality (0-10) from its physicochemical analysis";
    const EXAMPLE: &'static str = r#"{"fixed_acidity": 7.4, "volatile_acidity": 0.7, "citric_acid": 0.0, "residual_sugar": 1.9, "chlorides": 0.076, "free_sulfur_dioxide": 11, "total_sulfur_dioxide": 34, "density": 0.9978, "ph": 3.51, "sulphates": 0.56, "alcohol": 9.4, "type": "red"}"#;
    const JSON_OUTPUT: &'static str = r#"{"quality": 5.3, "grade": 5}"#;

    /// The eleven measurements as FP32 tensors and `type` as BYTES (`red` or `white`).
    fn signature() -> Signature {
        let mut inputs = oip_inputs(&FEATURES);
        inputs.push(TensorSpec::per_input(TYPE_KEY, "BYTES"));
        Signature {
            inputs: Inputs::Fields(inputs),
            outputs: vec![
                TensorSpec::per_input("quality", "FP32"),
                TensorSpec::per_input("grade", "INT64"),
            ],
        }
    }

    fn load(artifacts: &Artifacts<'static>) -> Result<Self, LoadError> {
        Ok(Self {
            card: ModelCard::load(artifacts)?,
            network: F::load(artifacts, &GRAPH)?,
        })
    }

    fn info(&self) -> Value {
        let mut input_schema = schema(&FEATURES);
        input_schema.insert(
            TYPE_KEY.into(),
            json!({"type": "string", "enum": ["red", "white"]}),
        );
        self.card.info(
            "wine-quality",
            json!({
                "output": "quality on the 0-10 scale, one decimal",
                "input_schema": input_schema,
                "preprocessing": self.card.config.preprocessing,
                "target": self.card.config.target,
            }),
        )
    }

    fn predict(&self, inputs: &[WineInput]) -> Result<Vec<QualityPrediction>, GraphError> {
        let input = graph_input(inputs, &self.card.config.preprocessing);
        let outputs = self.network.forward(input)?;
        let target = self.card.config.target;
        Ok(outputs
            .into_iter()
            .map(|output| QualityPrediction {
                quality: target.to_quality(output),
            })
            .collect())
    }
}
