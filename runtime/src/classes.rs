//! A classifier's answer, decoded from its logits the same way in every module: the most
//! probable class, and every class's probability for `--json`.

use serde_json::{Value, json};

use crate::cli::Prediction;
use crate::oip::{OutputRow, TensorSpec};

/// A classifier's output tensors under the Open Inference Protocol: `class` (the label) and
/// `probabilities` (one per class, in the order of `labels`).
pub fn oip_outputs(labels: &[&str]) -> Vec<TensorSpec> {
    vec![
        TensorSpec::per_input("class", "BYTES"),
        TensorSpec {
            name: "probabilities",
            datatype: "FP32",
            shape: vec![-1, labels.len() as i64],
        },
    ]
}

/// Index of the largest value; the first one on ties, so the answer is deterministic.
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// A probability rounded to six decimals for JSON output: enough to rank classes, and short.
pub fn round6(p: f32) -> f64 {
    (f64::from(p) * 1e6).round() / 1e6
}

/// The class of one input and the probability of each class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassPrediction {
    /// Class names in the order of the model's outputs.
    pub labels: &'static [&'static str],
    /// Index of the most probable class.
    pub index: usize,
    pub probabilities: Vec<f32>,
}

impl ClassPrediction {
    /// The answer for one row of probabilities.
    pub fn from_probabilities(labels: &'static [&'static str], probabilities: &[f32]) -> Self {
        Self {
            labels,
            index: argmax(probabilities),
            probabilities: probabilities.to_vec(),
        }
    }

    pub fn class(&self) -> &'static str {
        self.labels[self.index]
    }
}

impl Prediction for ClassPrediction {
    fn to_line(&self) -> String {
        self.class().to_owned()
    }

    /// `{"class": ..., "probabilities": {label: p, ...}}`.
    fn to_json(&self) -> Value {
        let probabilities: serde_json::Map<String, Value> = self
            .labels
            .iter()
            .zip(&self.probabilities)
            .map(|(label, &p)| ((*label).to_owned(), json!(round6(p))))
            .collect();
        json!({ "class": self.class(), "probabilities": probabilities })
    }

    /// The label, and the probabilities unrounded.
    fn output_row(&self) -> Vec<OutputRow> {
        vec![
            OutputRow::Bytes(self.class().to_owned()),
            OutputRow::Fp32(self.probabilities.clone()),
        ]
    }
}

/// Softmax over `[batch, classes]` logits, one answer per row.
#[cfg(feature = "burn")]
pub fn classify(
    logits: burn::tensor::Tensor<2>,
    labels: &'static [&'static str],
) -> Result<Vec<ClassPrediction>, String> {
    let probabilities = burn::tensor::activation::softmax(logits, 1)
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| format!("cannot read the model's output: {e:?}"))?;
    Ok(probabilities
        .chunks_exact(labels.len())
        .map(|row| ClassPrediction::from_probabilities(labels, row))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_of_equal_maxima() {
        assert_eq!(argmax(&[0.1, 0.7, 0.2]), 1);
        assert_eq!(argmax(&[0.5, 0.5]), 0);
    }

    #[test]
    fn round6_keeps_six_decimals() {
        assert_eq!(round6(0.123_456_78), 0.123457);
    }

    #[test]
    fn a_prediction_prints_its_class_and_every_probability() {
        const LABELS: [&str; 2] = ["cat", "dog"];
        let answer = ClassPrediction::from_probabilities(&LABELS, &[0.25, 0.75]);
        assert_eq!(answer.to_line(), "dog");
        assert_eq!(
            answer.to_json(),
            json!({"class": "dog", "probabilities": {"cat": 0.25, "dog": 0.75}})
        );
    }
}
