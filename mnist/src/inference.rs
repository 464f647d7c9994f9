//! The inference module's model: the command-line contract's examples and `--info`, and the
//! answers (the digit, and with `--json` every digit's probability).

use module_kit::artifacts::{Artifacts, LoadError, ModelCard};
use module_kit::classes::{ClassPrediction, classify};
use module_kit::cli::InferenceModel;
use module_kit::graph::{Forward, GraphError};
use module_kit::oip::{Inputs, Signature, TensorSpec};
use serde_json::{Value, json};

use crate::config::MnistModuleConfig;
use crate::graph::{GRAPH, MnistKernels};
use crate::input::{CLASSES, MAX_PIXEL, MnistInput, PIXELS, SIDE, graph_input};

/// Inputs up to 16 MiB: a batch of 1,000 images is about 4 MB of JSON written as `12, `
/// and up to about 9 MB with six-digit decimals, above the contract's default of 1 MiB.
pub const MAX_INPUT_BYTES: usize = 16 << 20;

/// Images per forward pass: bounds the convolutions' working memory whatever the batch size.
const CHUNK: usize = 100;

/// The trained model with its normalisation, ready to answer; the network runs in `F`: the
/// embedded [`MnistKernels`], Burn's [`crate::graph::MnistGraph`], or the host's named graph.
#[derive(Debug)]
pub struct MnistPredictor<F = MnistKernels> {
    card: ModelCard<MnistModuleConfig>,
    network: F,
}

impl<F: Forward> InferenceModel for MnistPredictor<F> {
    type Input = MnistInput;
    type Output = ClassPrediction;

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

    /// One `image` tensor of grey levels, `[N, 28, 28]` (`[N, 784]` is read too).
    fn signature() -> Signature {
        Signature {
            inputs: Inputs::Rows(TensorSpec {
                name: "image",
                datatype: "FP32",
                shape: vec![-1, SIDE as i64, SIDE as i64],
            }),
            outputs: module_kit::classes::oip_outputs(&CLASSES),
        }
    }

    fn load(artifacts: &Artifacts<'static>) -> Result<Self, LoadError> {
        Ok(Self {
            card: ModelCard::load(artifacts)?,
            network: F::load(artifacts, &GRAPH)?,
        })
    }

    fn info(&self) -> Value {
        self.card.info(
            "mnist",
            json!({
                "classes": CLASSES,
                "input_schema": {
                    "type": "array",
                    "length": PIXELS,
                    "items": {"type": "number", "minimum": 0.0, "maximum": MAX_PIXEL},
                    "layout": format!("{SIDE}x{SIDE} grey levels, row-major, 0 = background, 255 = ink"),
                    "batch": "an array of such arrays",
                    "max_input_bytes": MAX_INPUT_BYTES,
                },
                "normalization": self.card.config.normalization,
            }),
        )
    }

    /// The images go through the model `CHUNK` at a time.
    fn predict(&self, inputs: &[MnistInput]) -> Result<Vec<ClassPrediction>, GraphError> {
        let mut predictions = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(CHUNK) {
            let pixels: Vec<f32> = chunk
                .iter()
                .flat_map(|image| image.0.iter().copied())
                .collect();
            let input = graph_input(&pixels, &self.card.config.normalization);
            predictions.extend(classify(&self.network.forward(input)?, &CLASSES));
        }
        Ok(predictions)
    }
}

/// The example quoted in input errors, elided to stay on one readable line: `--help` shows
/// the whole 784-number image, and `convert-image digit.png` prints one.
pub const ERROR_EXAMPLE: &str = "[0, 0, 0, ..., 0]";

/// The first image of the official test set (a 7), the example in help and error messages.
pub const EXAMPLE_SEVEN: &str = "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,84,185,159,151,60,36,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,222,254,254,254,254,241,198,198,198,198,198,198,198,198,170,52,0,0,0,0,0,0,0,0,0,0,0,0,67,114,72,114,163,227,254,225,254,254,254,250,229,254,254,140,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,17,66,14,67,67,67,59,21,236,254,106,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,83,253,209,18,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,22,233,255,83,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,129,254,238,44,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,59,249,254,62,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,133,254,187,5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,9,205,248,58,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,126,254,182,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,75,251,240,57,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,19,221,254,166,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,3,203,254,219,35,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,38,254,254,77,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,31,224,254,115,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,133,254,254,52,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,61,242,254,254,52,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,121,254,254,219,40,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,121,254,207,18,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]";

#[cfg(test)]
mod tests {
    use super::*;
    use module_kit::cli::ModelInput;

    #[test]
    fn the_example_is_a_valid_image() {
        let image: MnistInput = serde_json::from_str(EXAMPLE_SEVEN).unwrap();
        assert_eq!(image.validate(), Ok(()));
        assert!(!<MnistPredictor>::is_batch(
            &serde_json::from_str(EXAMPLE_SEVEN).unwrap()
        ));
    }

    #[test]
    fn arrays_of_arrays_are_batches() {
        let batch: Value = serde_json::from_str("[[1], [2]]").unwrap();
        assert!(<MnistPredictor>::is_batch(&batch));
        assert!(
            <MnistPredictor>::is_batch(&json!([])),
            "empty: reported as an empty batch"
        );
        assert!(!<MnistPredictor>::is_batch(&json!({"pixels": []})));
    }

    #[test]
    fn validation_names_the_pixel_and_the_length() {
        assert!(
            MnistInput(vec![0.0; 783])
                .validate()
                .unwrap_err()
                .contains("found 783")
        );
        let mut pixels = vec![0.0; PIXELS];
        pixels[5] = 256.0;
        assert!(
            MnistInput(pixels.clone())
                .validate()
                .unwrap_err()
                .contains("pixel 5 is 256")
        );
        pixels[5] = -0.5;
        assert!(
            MnistInput(pixels.clone())
                .validate()
                .unwrap_err()
                .contains("outside")
        );
        pixels[5] = f32::INFINITY;
        assert!(
            MnistInput(pixels)
                .validate()
                .unwrap_err()
                .contains("finite")
        );
    }
}
