//! Predictions from a saved model: loading the record and config, and the inference module's
//! command-line contract (input validation, output formats, `--info`).

use burn::tensor::activation::softmax;
use common::embed::LoadedModel;
use common::inference_cli::{InferenceModel, ModelInput, Prediction};
use common::report::TrainingReport;
use common::scores::{argmax, classification_json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::{
    CLASSES, DataSource, MAX_PIXEL, MnistArtifactConfig, MnistModel, PIXELS, SIDE, images_tensor,
};

/// Inputs up to 16 MiB: a batch of 1,000 images is about 4 MB of JSON written as `12, `
/// and up to about 9 MB with six-digit decimals, above the contract's default of 1 MiB.
pub const MAX_INPUT_BYTES: usize = 16 << 20;

/// Images per forward pass: bounds the convolutions' working memory whatever the batch size.
const CHUNK: usize = 100;

/// The evaluation figures in `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MnistEvaluation {
    /// What the figures were measured on.
    pub data: DataSource,
    /// Share of the test images classified correctly (0 to 1).
    pub test_accuracy: f64,
    /// Mean cross-entropy on the test images.
    pub test_loss: f64,
    pub test_examples: usize,
    /// `confusion[true][predicted]` counts, digits 0 to 9.
    pub confusion: Vec<Vec<usize>>,
    /// The same matrix as text, one line per true digit, for reading.
    pub confusion_table: Vec<String>,
}

/// The confusion matrix as aligned text lines: a header of predicted digits, then one line
/// per true digit.
pub fn confusion_table(confusion: &[Vec<usize>]) -> Vec<String> {
    let mut header = String::from("true\\predicted");
    for digit in CLASSES {
        header.push_str(&format!("{digit:>6}"));
    }
    let mut lines = vec![header];
    for (digit, row) in CLASSES.iter().zip(confusion) {
        let mut line = format!("{digit:>14}");
        for count in row {
            line.push_str(&format!("{count:>6}"));
        }
        lines.push(line);
    }
    lines
}

/// One image: `PIXELS` grey levels, row-major, 0 (background) to 255 (ink), as a JSON array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DigitImage(pub Vec<f32>);

impl ModelInput for DigitImage {
    fn validate(&self) -> Result<(), String> {
        if self.0.len() != PIXELS {
            return Err(format!(
                "expected {PIXELS} grey levels (a {SIDE}x{SIDE} image, row-major), found {}",
                self.0.len()
            ));
        }
        for (index, &value) in self.0.iter().enumerate() {
            if !value.is_finite() {
                return Err(format!("pixel {index} must be a finite number"));
            }
            if !(0.0..=MAX_PIXEL).contains(&value) {
                return Err(format!(
                    "pixel {index} is {value}, outside the grey levels 0 to 255"
                ));
            }
        }
        Ok(())
    }
}

/// The digit in one image and the probability of each digit.
#[derive(Debug, Clone, PartialEq)]
pub struct DigitPrediction {
    pub digit: usize,
    pub probabilities: [f32; 10],
}

impl Prediction for DigitPrediction {
    fn to_line(&self) -> String {
        self.digit.to_string()
    }

    fn to_json(&self) -> Value {
        classification_json(CLASSES[self.digit], &CLASSES, &self.probabilities)
    }
}

/// A trained model with its normalisation, ready to answer.
#[derive(Debug)]
pub struct MnistPredictor {
    embedded: LoadedModel<MnistModel, MnistArtifactConfig, TrainingReport<MnistEvaluation>>,
}

impl MnistPredictor {
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
            |config: &MnistArtifactConfig, device| config.model.init(device),
        )?;
        Ok(Self { embedded })
    }

    /// Digit probabilities for each image (grey levels 0-255, `PIXELS` per image).
    pub fn predict_pixels(&self, pixels: &[f32]) -> Result<Vec<DigitPrediction>, String> {
        let mut predictions = Vec::with_capacity(pixels.len() / PIXELS);
        for chunk in pixels.chunks(CHUNK * PIXELS) {
            let embedded = &self.embedded;
            let input = images_tensor(chunk, &embedded.config.normalization, &embedded.device);
            let probabilities = softmax(embedded.model.forward(input), 1)
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|e| format!("cannot read the model's output: {e:?}"))?;
            predictions.extend(probabilities.chunks_exact(CLASSES.len()).map(|p| {
                let mut probabilities = [0f32; 10];
                probabilities.copy_from_slice(p);
                DigitPrediction {
                    digit: argmax(&probabilities),
                    probabilities,
                }
            }));
        }
        Ok(predictions)
    }
}

impl InferenceModel for MnistPredictor {
    type Input = DigitImage;
    type Output = DigitPrediction;

    const NAME: &'static str = "mnist-inference";
    const ABOUT: &'static str = "reads the handwritten digit in a 28x28 grey image (784 levels, 0-255, \
         row-major, light ink on a dark background, as MNIST; convert-image prepares any picture)";
    const EXAMPLE: &'static str = EXAMPLE_SEVEN;
    const ERROR_EXAMPLE: &'static str = ERROR_EXAMPLE;
    const JSON_OUTPUT: &'static str = r#"{"class": "7", "probabilities": {"0": p, ..., "9": p}}"#;
    const MAX_INPUT_BYTES: usize = MAX_INPUT_BYTES;

    /// A single image is itself an array (of numbers); a batch is an array of arrays.
    fn is_batch(value: &Value) -> bool {
        value
            .as_array()
            .is_some_and(|items| items.first().is_none_or(Value::is_array))
    }

    fn info(&self) -> Value {
        json!({
            "model": "mnist",
            "model_sha256": self.embedded.model_sha256,
            "classes": CLASSES,
            "input_schema": {
                "type": "array",
                "length": PIXELS,
                "items": {"type": "number", "minimum": 0.0, "maximum": MAX_PIXEL},
                "layout": format!("{SIDE}x{SIDE} grey levels, row-major, 0 = background, 255 = ink"),
                "batch": "an array of such arrays",
                "max_input_bytes": MAX_INPUT_BYTES,
            },
            "normalization": self.embedded.config.normalization,
            "training": self.embedded.report,
        })
    }

    fn predict(&self, inputs: &[DigitImage]) -> Result<Vec<DigitPrediction>, String> {
        let pixels: Vec<f32> = inputs
            .iter()
            .flat_map(|image| image.0.iter().copied())
            .collect();
        self.predict_pixels(&pixels)
    }
}

/// The first image of the official test set (a 7), the example in help and error messages.
/// The example quoted in input errors, elided to stay on one readable line: `--help` shows
/// the whole 784-number image, and `convert-image digit.png` prints one.
pub const ERROR_EXAMPLE: &str = "[0, 0, 0, ..., 0]";

pub const EXAMPLE_SEVEN: &str = "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,84,185,159,151,60,36,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,222,254,254,254,254,241,198,198,198,198,198,198,198,198,170,52,0,0,0,0,0,0,0,0,0,0,0,0,67,114,72,114,163,227,254,225,254,254,254,250,229,254,254,140,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,17,66,14,67,67,67,59,21,236,254,106,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,83,253,209,18,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,22,233,255,83,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,129,254,238,44,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,59,249,254,62,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,133,254,187,5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,9,205,248,58,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,126,254,182,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,75,251,240,57,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,19,221,254,166,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,3,203,254,219,35,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,38,254,254,77,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,31,224,254,115,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,133,254,254,52,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,61,242,254,254,52,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,121,254,254,219,40,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,121,254,207,18,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_a_valid_image() {
        let image: DigitImage = serde_json::from_str(EXAMPLE_SEVEN).unwrap();
        assert_eq!(image.validate(), Ok(()));
        assert!(!MnistPredictor::is_batch(
            &serde_json::from_str(EXAMPLE_SEVEN).unwrap()
        ));
    }

    #[test]
    fn arrays_of_arrays_are_batches() {
        let batch: Value = serde_json::from_str("[[1], [2]]").unwrap();
        assert!(MnistPredictor::is_batch(&batch));
        assert!(
            MnistPredictor::is_batch(&json!([])),
            "empty: reported as an empty batch"
        );
        assert!(!MnistPredictor::is_batch(&json!({"pixels": []})));
    }

    #[test]
    fn validation_names_the_pixel_and_the_length() {
        assert!(
            DigitImage(vec![0.0; 783])
                .validate()
                .unwrap_err()
                .contains("found 783")
        );
        let mut pixels = vec![0.0; PIXELS];
        pixels[5] = 256.0;
        assert!(
            DigitImage(pixels.clone())
                .validate()
                .unwrap_err()
                .contains("pixel 5 is 256")
        );
        pixels[5] = -0.5;
        assert!(
            DigitImage(pixels.clone())
                .validate()
                .unwrap_err()
                .contains("outside")
        );
        pixels[5] = f32::INFINITY;
        assert!(
            DigitImage(pixels)
                .validate()
                .unwrap_err()
                .contains("finite")
        );
    }

    #[test]
    fn the_confusion_table_has_a_header_and_a_line_per_digit() {
        let mut confusion = vec![vec![0usize; 10]; 10];
        confusion[3][5] = 12;
        let table = confusion_table(&confusion);
        assert_eq!(table.len(), 11);
        assert!(table[0].starts_with("true\\predicted"));
        assert!(table[4].trim_start().starts_with('3'));
        assert_eq!(table[4].split_whitespace().nth(6), Some("12"));
    }
}
