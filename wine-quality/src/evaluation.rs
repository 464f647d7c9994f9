//! The figures in `metrics.json`: the model on the held-out test split against predicting the
//! training mean, as Cortez et al. (2009) report them, and on the validation split.

use anyhow::{Result, anyhow};
use burn::prelude::*;
use module_kit::standardize::Standardizer;
use serde::{Deserialize, Serialize};

use crate::data::{DATA_PLAN, DataPlan, WineItem, WineSplits};
use crate::input::{TargetScale, WineInput, model_input};
use crate::model::WineModel;

/// Regression figures on one split.
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

/// The `evaluation` of `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WineEvaluation {
    /// Which wines the figures were measured on.
    pub data: DataPlan,
    /// The model on the held-out test split.
    pub test: RegressionFigures,
    /// Always predicting the training split's mean quality, on the same test split.
    pub mean_predictor: RegressionFigures,
    /// The model on the validation split (used while developing; test is touched once).
    pub validation: RegressionFigures,
    pub training_mean: f64,
    /// Wines in the test split.
    pub examples: usize,
}

/// The model's quality (0-10 scale) for each item.
pub fn predicted_qualities(
    model: &WineModel,
    preprocessing: &Standardizer,
    target: TargetScale,
    items: &[WineItem],
    device: &Device,
) -> Result<Vec<f32>> {
    let inputs: Vec<WineInput> = items.iter().map(|item| item.input).collect();
    let outputs = model
        .forward(model_input(&inputs, preprocessing, device))
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| anyhow!("cannot read the model's output: {e:?}"))?;
    Ok(outputs.into_iter().map(|o| target.to_quality(o)).collect())
}

/// The experts' scores of `items`.
fn qualities(items: &[WineItem]) -> Vec<f32> {
    items.iter().map(|item| f32::from(item.quality)).collect()
}

/// Test-split figures of the model and of predicting the training mean, plus validation.
pub fn evaluate(
    model: &WineModel,
    preprocessing: &Standardizer,
    target: TargetScale,
    splits: &WineSplits,
    device: &Device,
) -> Result<WineEvaluation> {
    let truth = qualities(&splits.test);
    let predictions = predicted_qualities(model, preprocessing, target, &splits.test, device)?;
    let valid_predictions =
        predicted_qualities(model, preprocessing, target, &splits.valid, device)?;
    let training_mean = {
        let train = qualities(&splits.train);
        train.iter().map(|&q| f64::from(q)).sum::<f64>() / train.len() as f64
    };
    let mean_predictions = vec![training_mean as f32; truth.len()];
    Ok(WineEvaluation {
        data: DATA_PLAN,
        test: RegressionFigures::compute(&predictions, &truth),
        mean_predictor: RegressionFigures::compute(&mean_predictions, &truth),
        validation: RegressionFigures::compute(&valid_predictions, &qualities(&splits.valid)),
        training_mean,
        examples: truth.len(),
    })
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
