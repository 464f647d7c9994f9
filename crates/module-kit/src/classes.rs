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

/// Softmax over row-major `[batch, classes]` logits, one answer per row: the same decoding
/// whether the network ran in the module or in the host.
pub fn classify(logits: &[f32], labels: &'static [&'static str]) -> Vec<ClassPrediction> {
    logits
        .chunks_exact(labels.len())
        .map(|row| ClassPrediction::from_probabilities(labels, &softmax(row)))
        .collect()
}

/// Probabilities from one row of logits, shifted by the maximum so no exponential overflows.
fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|&e| e / sum).collect()
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
    fn classify_decodes_each_row_of_logits() {
        const LABELS: [&str; 3] = ["a", "b", "c"];
        let answers = classify(&[0.0, 0.0, 0.0, 1000.0, 0.0, -1000.0], &LABELS);
        assert_eq!(answers.len(), 2);
        assert!(
            answers[0]
                .probabilities
                .iter()
                .all(|&p| (p - 1.0 / 3.0).abs() < 1e-6)
        );
        assert_eq!(answers[1].class(), "a");
        assert_eq!(answers[1].probabilities, vec![1.0, 0.0, 0.0]);
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
