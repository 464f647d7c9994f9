//! What the model reads and answers: the class labels, the image format, the pixel
//! normalisation, the JSON input, and [`model_input`], the one path from grey levels to the
//! model's tensor in training, evaluation and inference.

use burn::prelude::*;
use module_kit::cli::ModelInput;
use module_kit::graph::GraphInput;
use serde::{Deserialize, Serialize};

/// Class labels in the order of the model's outputs.
pub const CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Images are `SIDE` x `SIDE` grey levels, row-major, 0 (background) to 255 (ink).
pub const SIDE: usize = 28;
/// Pixels per image.
pub const PIXELS: usize = SIDE * SIDE;
/// The largest grey level.
pub const MAX_PIXEL: f32 = 255.0;

/// The pixel statistics the model's input is standardised with: grey levels are scaled to
/// 0..1, then `(x - mean) / std`. Fitted on the training images and saved in `config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PixelNormalization {
    pub mean: f32,
    pub std: f32,
}

impl PixelNormalization {
    /// Mean and standard deviation of every pixel of `images` (grey levels 0-255).
    pub fn fit<'a>(images: impl IntoIterator<Item = &'a [u8; PIXELS]>) -> Self {
        let (mut count, mut sum, mut sum_squares) = (0f64, 0f64, 0f64);
        for image in images {
            for &pixel in image {
                let x = f64::from(pixel) / f64::from(MAX_PIXEL);
                count += 1.0;
                sum += x;
                sum_squares += x * x;
            }
        }
        let mean = if count > 0.0 { sum / count } else { 0.0 };
        let variance = if count > 0.0 {
            (sum_squares / count - mean * mean).max(0.0)
        } else {
            0.0
        };
        // A blank training set has no spread; 1 keeps the transform defined.
        let std = if variance > 0.0 { variance.sqrt() } else { 1.0 };
        Self {
            mean: mean as f32,
            std: std as f32,
        }
    }

    /// One grey level (0-255) as the model sees it.
    pub fn apply(&self, pixel: f32) -> f32 {
        (pixel / MAX_PIXEL - self.mean) / self.std
    }
}

/// One image: `PIXELS` grey levels, row-major, 0 (background) to 255 (ink), as a JSON array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MnistInput(pub Vec<f32>);

impl ModelInput for MnistInput {
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

/// Model input for a batch of images given as grey levels (0-255, `PIXELS` per image,
/// row-major): the one preprocessing path for training, evaluation and inference.
pub fn graph_input(pixels: &[f32], normalization: &PixelNormalization) -> GraphInput {
    let count = pixels.len() / PIXELS;
    let values: Vec<f32> = pixels[..count * PIXELS]
        .iter()
        .map(|&p| normalization.apply(p))
        .collect();
    GraphInput::F32 {
        shape: vec![count, 1, SIDE, SIDE],
        values,
    }
}

/// [`graph_input`] as a Burn tensor, for training and evaluation.
pub fn model_input(
    pixels: &[f32],
    normalization: &PixelNormalization,
    device: &Device,
) -> Tensor<4> {
    module_kit::graph::f32_tensor(graph_input(pixels, normalization), device)
        .expect("graph_input makes a rank-4 F32 tensor")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_is_fitted_on_scaled_grey_levels() {
        let black = [0u8; PIXELS];
        let white = [255u8; PIXELS];
        let fitted = PixelNormalization::fit([&black, &white]);
        assert!((fitted.mean - 0.5).abs() < 1e-6);
        assert!((fitted.std - 0.5).abs() < 1e-6);
        assert!((fitted.apply(255.0) - 1.0).abs() < 1e-6);
        assert!((fitted.apply(0.0) + 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_blank_training_set_keeps_the_transform_finite() {
        let fitted = PixelNormalization::fit([&[0u8; PIXELS]]);
        assert_eq!(fitted.std, 1.0);
        assert!(fitted.apply(17.0).is_finite());
    }
}
