//! Predictions from a saved model: loading the record and config, the evaluation figures, and
//! the inference module's command-line contract (input validation, output formats, `--info`).

use common::embed::LoadedModel;
use common::inference_cli::{InferenceModel, ModelInput, Prediction, require_range};
use common::report::TrainingReport;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::{MEASUREMENTS, WineArtifactConfig, WineModel, WineSample, inputs_tensor};

/// Regression figures on one split, as Cortez et al. (2009) report them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionFigures {
    pub rmse: f64,
    pub mae: f64,
    pub r2: f64,
    /// Share of predictions within 0.5 of the true score.
    pub within_0_5: f64,
    /// Share of predictions within 1.0 of the true score.
    pub within_1_0: f64,
}

impl RegressionFigures {
    pub fn compute(predictions: &[f32], truth: &[f32]) -> Self {
        let n = truth.len().max(1) as f64;
        let errors: Vec<f64> = predictions
            .iter()
            .zip(truth)
            .map(|(&p, &t)| f64::from(p) - f64::from(t))
            .collect();
        let mean_truth = truth.iter().map(|&t| f64::from(t)).sum::<f64>() / n;
        let total_variance: f64 = truth
            .iter()
            .map(|&t| (f64::from(t) - mean_truth).powi(2))
            .sum();
        let squared: f64 = errors.iter().map(|e| e * e).sum();
        let share =
            |tolerance: f64| errors.iter().filter(|e| e.abs() <= tolerance).count() as f64 / n;
        Self {
            rmse: (squared / n).sqrt(),
            mae: errors.iter().map(|e| e.abs()).sum::<f64>() / n,
            r2: 1.0 - squared / total_variance.max(f64::MIN_POSITIVE),
            within_0_5: share(0.5),
            within_1_0: share(1.0),
        }
    }
}

/// The figures in `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WineEvaluation {
    /// The model on the held-out test split.
    pub test: RegressionFigures,
    /// Always predicting the training split's mean quality, on the same test split.
    pub mean_predictor: RegressionFigures,
    /// The model on the validation split (used while developing; test is touched once).
    pub validation: RegressionFigures,
    pub training_mean: f64,
    pub test_examples: usize,
}

/// A trained model with its preprocessing, ready to answer.
#[derive(Debug)]
pub struct WinePredictor {
    embedded: LoadedModel<WineModel, WineArtifactConfig, TrainingReport<WineEvaluation>>,
}

/// The predicted quality of one wine on the 0-10 scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityPrediction {
    pub quality: f32,
}

impl WinePredictor {
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
            |config: &WineArtifactConfig, device| config.model.init(device),
        )?;
        Ok(Self { embedded })
    }

    pub fn predict_batch(&self, inputs: &[WineSample]) -> Result<Vec<QualityPrediction>, String> {
        let rows: Vec<_> = inputs.iter().map(WineSample::input_row).collect();
        let input = inputs_tensor(
            &rows,
            &self.embedded.config.preprocessing,
            &self.embedded.device,
        );
        let outputs = self
            .embedded
            .model
            .forward(input)
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| format!("cannot read the model's output: {e:?}"))?;
        Ok(outputs
            .into_iter()
            .map(|o| QualityPrediction {
                quality: self.embedded.config.target.to_quality(o),
            })
            .collect())
    }
}

/// Physical limits: concentrations are not negative, and nothing drinkable lies outside these.
const DENSITY_RANGE: (f32, f32) = (0.9, 1.1);
const PH_RANGE: (f32, f32) = (0.0, 14.0);
const MAX_ALCOHOL_PERCENT: f32 = 100.0;
/// Generous upper bound for the other measurements (g/dm3, mg/dm3).
const MAX_CONCENTRATION: f32 = 10_000.0;

fn limits(field: &str) -> (f32, f32) {
    match field {
        "density" => DENSITY_RANGE,
        "ph" => PH_RANGE,
        "alcohol" => (0.0, MAX_ALCOHOL_PERCENT),
        _ => (0.0, MAX_CONCENTRATION),
    }
}

impl ModelInput for WineSample {
    fn validate(&self) -> Result<(), String> {
        for (field, value) in MEASUREMENTS.iter().zip(self.measurements()) {
            let (min, max) = limits(field);
            require_range(field, value, min, max)?;
        }
        Ok(())
    }
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
}

impl InferenceModel for WinePredictor {
    type Input = WineSample;
    type Output = QualityPrediction;

    const NAME: &'static str = "wine-quality-inference";
    const ABOUT: &'static str =
        "predicts a wine's quality (0-10) from its physicochemical analysis";
    const EXAMPLE: &'static str = r#"{"fixed_acidity": 7.4, "volatile_acidity": 0.7, "citric_acid": 0.0, "residual_sugar": 1.9, "chlorides": 0.076, "free_sulfur_dioxide": 11, "total_sulfur_dioxide": 34, "density": 0.9978, "ph": 3.51, "sulphates": 0.56, "alcohol": 9.4, "type": "red"}"#;
    const JSON_OUTPUT: &'static str = r#"{"quality": 5.3, "grade": 5}"#;

    fn info(&self) -> Value {
        let mut schema: serde_json::Map<String, Value> = MEASUREMENTS
            .iter()
            .map(|field| {
                let (min, max) = limits(field);
                (
                    (*field).to_owned(),
                    json!({"type": "number", "minimum": min, "maximum": max}),
                )
            })
            .collect();
        schema.insert(
            "type".into(),
            json!({"type": "string", "enum": ["red", "white"]}),
        );
        json!({
            "model": "wine-quality",
            "model_sha256": self.embedded.model_sha256,
            "output": "quality on the 0-10 scale, one decimal",
            "input_schema": schema,
            "preprocessing": self.embedded.config.preprocessing,
            "target": self.embedded.config.target,
            "training": self.embedded.report,
        })
    }

    fn predict(&self, inputs: &[WineSample]) -> Result<Vec<QualityPrediction>, String> {
        self.predict_batch(inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_of_a_perfect_and_a_constant_predictor() {
        let truth = [5.0, 6.0, 7.0];
        let perfect = RegressionFigures::compute(&truth, &truth);
        assert_eq!((perfect.rmse, perfect.mae, perfect.r2), (0.0, 0.0, 1.0));
        let constant = RegressionFigures::compute(&[6.0; 3], &truth);
        assert!((constant.rmse - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((constant.mae - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(constant.r2, 0.0);
        assert!((constant.within_0_5 - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(constant.within_1_0, 1.0);
    }
}
