//! Predictions from a saved model: loading the record and config, and the inference
//! module's command-line contract (input validation, output formats, `--info`).

use burn::tensor::activation::softmax;
use common::embed::LoadedModel;
use common::inference_cli::{InferenceModel, ModelInput, Prediction, require_range};
use common::report::TrainingReport;
use common::scores::{argmax, classification_json};
use serde_json::{Value, json};

use crate::model::{
    CLASSES, FEATURES, IrisArtifactConfig, IrisFeatures, IrisModel, features_tensor,
};

/// The validation figures in `metrics.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IrisEvaluation {
    /// Share of the validation split classified correctly (0 to 1).
    pub validation_accuracy: f64,
    /// Mean cross-entropy on the validation split.
    pub validation_loss: f64,
    pub validation_examples: usize,
}

/// A trained model with its preprocessing, ready to answer.
#[derive(Debug)]
pub struct IrisPredictor {
    embedded: LoadedModel<IrisModel, IrisArtifactConfig, TrainingReport<IrisEvaluation>>,
}

/// The class of one flower and the probability of each class.
#[derive(Debug, Clone, PartialEq)]
pub struct IrisPrediction {
    pub class: &'static str,
    pub probabilities: [f32; 3],
}

impl IrisPredictor {
    /// Loads `model.bpk` and `config.json` (and, for `--info`, `metrics.json`) from bytes.
    pub fn from_bytes(
        model_bpk: &[u8],
        config_json: &[u8],
        metrics_json: Option<&[u8]>,
    ) -> Result<Self, String> {
        let embedded = LoadedModel::load(
            model_bpk,
            config_json,
            metrics_json,
            |config: &IrisArtifactConfig, device| config.model.init(device),
        )?;
        Ok(Self { embedded })
    }

    /// Class probabilities for each flower.
    pub fn predict_batch(&self, inputs: &[IrisFeatures]) -> Result<Vec<IrisPrediction>, String> {
        let rows: Vec<[f32; 4]> = inputs.iter().map(IrisFeatures::to_array).collect();
        let input = features_tensor(
            &rows,
            &self.embedded.config.preprocessing,
            &self.embedded.device,
        );
        let probabilities = softmax(self.embedded.model.forward(input), 1)
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| format!("cannot read the model's output: {e:?}"))?;
        Ok(probabilities
            .chunks_exact(CLASSES.len())
            .map(|p| {
                let probabilities = [p[0], p[1], p[2]];
                IrisPrediction {
                    class: CLASSES[argmax(&probabilities)],
                    probabilities,
                }
            })
            .collect())
    }
}

/// Measurements must be positive lengths no flower exceeds.
const MAX_CENTIMETRES: f32 = 100.0;

impl ModelInput for IrisFeatures {
    fn validate(&self) -> Result<(), String> {
        for (name, value) in FEATURES.iter().zip(self.to_array()) {
            require_range(name, value, 0.0, MAX_CENTIMETRES)?;
        }
        Ok(())
    }
}

impl Prediction for IrisPrediction {
    fn to_line(&self) -> String {
        self.class.to_owned()
    }

    fn to_json(&self) -> Value {
        classification_json(self.class, &CLASSES, &self.probabilities)
    }
}

impl InferenceModel for IrisPredictor {
    type Input = IrisFeatures;
    type Output = IrisPrediction;

    const NAME: &'static str = "iris-inference";
    const ABOUT: &'static str =
        "classifies an iris flower from its sepal and petal measurements (cm)";
    const EXAMPLE: &'static str =
        r#"{"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}"#;
    const JSON_OUTPUT: &'static str =
        r#"{"class": "...", "probabilities": {"Iris-setosa": p, ...}}"#;

    fn info(&self) -> Value {
        let schema: serde_json::Map<String, Value> = FEATURES
            .iter()
            .map(|name| {
                let field = json!({"type": "number", "unit": "cm", "minimum": 0.0, "maximum": MAX_CENTIMETRES});
                ((*name).to_owned(), field)
            })
            .collect();
        json!({
            "model": "iris",
            "model_sha256": self.embedded.model_sha256,
            "classes": CLASSES,
            "input_schema": schema,
            "preprocessing": self.embedded.config.preprocessing,
            "training": self.embedded.report,
        })
    }

    fn predict(&self, inputs: &[IrisFeatures]) -> Result<Vec<IrisPrediction>, String> {
        self.predict_batch(inputs)
    }
}
