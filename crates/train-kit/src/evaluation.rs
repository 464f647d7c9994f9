//! A classifier's evaluation figures, computed the same way for every classifier: accuracy,
//! mean cross-entropy and the confusion matrix, from the model's logits batch by batch.

use anyhow::{Result, anyhow};
use burn::tensor::Tensor;
use burn::tensor::activation::log_softmax;
use module_kit::classes::argmax;
use serde::{Deserialize, Serialize};

/// The `evaluation` of a classifier's `metrics.json`; `D` says what it was measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationEvaluation<D> {
    /// Which examples the figures were measured on.
    pub data: D,
    /// Share classified correctly (0 to 1).
    pub accuracy: f64,
    /// Mean cross-entropy.
    pub loss: f64,
    pub examples: usize,
    /// `confusion[true][predicted]` counts, classes in the model's output order.
    pub confusion: Vec<Vec<usize>>,
    /// The same matrix as aligned text, one line per true class, for reading.
    pub confusion_table: Vec<String>,
}

/// Accumulates a classifier's answers over batches.
#[derive(Debug, Clone)]
pub struct ClassificationTally {
    labels: &'static [&'static str],
    confusion: Vec<Vec<usize>>,
    loss_sum: f64,
    examples: usize,
}

impl ClassificationTally {
    pub fn new(labels: &'static [&'static str]) -> Self {
        Self {
            labels,
            confusion: vec![vec![0; labels.len()]; labels.len()],
            loss_sum: 0.0,
            examples: 0,
        }
    }

    /// Adds one batch: `[batch, classes]` logits and each row's true class.
    pub fn add(&mut self, logits: Tensor<2>, truth: &[usize]) -> Result<()> {
        let log_probabilities = log_softmax(logits, 1)
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| anyhow!("cannot read the model's output: {e:?}"))?;
        for (scores, &label) in log_probabilities.chunks_exact(self.labels.len()).zip(truth) {
            self.loss_sum -= f64::from(scores[label]);
            self.confusion[label][argmax(scores)] += 1;
            self.examples += 1;
        }
        Ok(())
    }

    /// The figures, labelled with what they were measured on.
    pub fn finish<D>(self, data: D) -> ClassificationEvaluation<D> {
        let correct: usize = (0..self.labels.len()).map(|c| self.confusion[c][c]).sum();
        let examples = self.examples.max(1) as f64;
        ClassificationEvaluation {
            data,
            accuracy: correct as f64 / examples,
            loss: self.loss_sum / examples,
            examples: self.examples,
            confusion_table: confusion_table(self.labels, &self.confusion),
            confusion: self.confusion,
        }
    }
}

/// The confusion matrix as aligned text lines: a header of predicted classes, then one line
/// per true class.
pub fn confusion_table(labels: &[&str], confusion: &[Vec<usize>]) -> Vec<String> {
    const CORNER: &str = "true\\predicted";
    let longest = labels.iter().map(|l| l.len()).max().unwrap_or(0);
    let column = longest.max(4) + 2;
    let first = longest.max(CORNER.len());
    let mut header = format!("{CORNER:>first$}");
    for label in labels {
        header.push_str(&format!("{label:>column$}"));
    }
    let mut lines = vec![header];
    for (label, row) in labels.iter().zip(confusion) {
        let mut line = format!("{label:>first$}");
        for count in row {
            line.push_str(&format!("{count:>column$}"));
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    #[test]
    fn the_confusion_table_has_a_header_and_a_line_per_class() {
        let mut confusion = vec![vec![0usize; 10]; 10];
        confusion[3][5] = 12;
        let table = confusion_table(&DIGITS, &confusion);
        assert_eq!(table.len(), 11);
        assert!(table[0].starts_with("true\\predicted"));
        assert_eq!(table[0].len(), 14 + 10 * 6);
        assert!(table[4].trim_start().starts_with('3'));
        assert_eq!(table[4].split_whitespace().nth(6), Some("12"));
    }

    #[test]
    fn tallies_accuracy_loss_and_confusion() {
        const LABELS: [&str; 2] = ["no", "yes"];
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![0.0f32, 0.0, 5.0, -5.0, -5.0, 5.0], [3, 2]),
            &device,
        );
        let mut tally = ClassificationTally::new(&LABELS);
        tally.add(logits, &[1, 0, 0]).unwrap();
        let evaluation = tally.finish("toy");
        assert_eq!(evaluation.examples, 3);
        assert_eq!(evaluation.confusion, vec![vec![1, 1], vec![1, 0]]);
        assert!((evaluation.accuracy - 1.0 / 3.0).abs() < 1e-12);
        // ln 2 for the tie, ~0 for the right answer, ~10 for the confident wrong one.
        let expected = (2f64.ln() + 10.0) / 3.0;
        assert!((evaluation.loss - expected).abs() < 1e-3, "{evaluation:?}");
    }
}
