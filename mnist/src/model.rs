//! The MNIST classifier and everything that turns an image into its input: the image format,
//! the pixel normalisation, the class labels and the saved configuration. Training, evaluation
//! and the inference module all build their input tensors with [`images_tensor`].

use burn::module::{ParamId, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu,
};
use burn::prelude::*;
use common::report::TrainingSettings;
use serde::{Deserialize, Serialize};

/// Class labels in the order of the model's outputs.
pub const CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Images are `SIDE` x `SIDE` grey levels, row-major, 0 (background) to 255 (ink).
pub const SIDE: usize = 28;
/// Pixels per image.
pub const PIXELS: usize = SIDE * SIDE;
/// The largest grey level.
pub const MAX_PIXEL: f32 = 255.0;

/// The network's shape.
#[derive(Config, Debug)]
pub struct MnistModelConfig {
    /// Channels of the first convolution (5x5, stride 2: 28x28 to 14x14).
    #[config(default = 32)]
    pub conv1_channels: usize,
    /// Channels of the second convolution (3x3, stride 2: 14x14 to 7x7).
    #[config(default = 64)]
    pub conv2_channels: usize,
    /// Width of the hidden fully connected layer.
    #[config(default = 128)]
    pub hidden_size: usize,
    #[config(default = 10)]
    pub num_classes: usize,
    /// Dropout on the hidden layer's output (training only).
    #[config(default = 0.25)]
    pub dropout: f64,
}

/// Two strided convolutions, each followed by batch norm and ReLU, then a small perceptron;
/// outputs class logits.
///
/// The convolutions downsample by themselves instead of convolving at full resolution and
/// max-pooling: on burn's CPU backends the elementwise layers (batch norm, ReLU, pooling and
/// their backward passes) on full-resolution feature maps cost more than the convolutions,
/// and a training step of this net takes a quarter of the time of the conv-pool version of
/// the same widths, for 99.4% test accuracy in 8 epochs (measurements in BENCHMARKS.md).
#[derive(Module, Debug)]
pub struct MnistModel {
    conv1: Conv2d,
    norm1: BatchNorm,
    conv2: Conv2d,
    norm2: BatchNorm,
    dropout: Dropout,
    hidden: Linear,
    output: Linear,
    activation: Relu,
}

/// A `kernel` x `kernel` convolution with stride 2 and the padding that halves the size; no
/// bias, as the batch norm after it has its own shift.
fn strided_conv(channels: [usize; 2], kernel: usize, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device)
}

/// Batch norm whose running statistics carry fixed ids. burn draws those ids at random (the
/// weights' ids are not random), so without this two runs with the same seed would train the
/// same weights but write different `model.bpk` bytes. `layer` keeps the ids distinct.
fn batch_norm(channels: usize, layer: u64, device: &Device) -> BatchNorm {
    let mut norm = BatchNormConfig::new(channels).init(device);
    let id = |statistic: u64| ParamId::from(RUNNING_STATE_IDS + 2 * layer + statistic);
    norm.running_mean = RunningState::with_id(id(0), norm.running_mean.value());
    norm.running_var = RunningState::with_id(id(1), norm.running_var.value());
    norm
}

/// Base of the running statistics' ids: far above the small ids burn numbers weights with.
const RUNNING_STATE_IDS: u64 = 0x6d6e_6973_7400_0000;

impl MnistModelConfig {
    /// Side of the feature maps after both convolutions (28 / 2 / 2).
    const FEATURE_SIDE: usize = SIDE / 4;

    pub fn init(&self, device: &Device) -> MnistModel {
        let flat = self.conv2_channels * Self::FEATURE_SIDE * Self::FEATURE_SIDE;
        MnistModel {
            conv1: strided_conv([1, self.conv1_channels], 5, device),
            norm1: batch_norm(self.conv1_channels, 1, device),
            conv2: strided_conv([self.conv1_channels, self.conv2_channels], 3, device),
            norm2: batch_norm(self.conv2_channels, 2, device),
            dropout: DropoutConfig::new(self.dropout).init(),
            hidden: LinearConfig::new(flat, self.hidden_size).init(device),
            output: LinearConfig::new(self.hidden_size, self.num_classes).init(device),
            activation: Relu::new(),
        }
    }
}

impl MnistModel {
    /// `[batch, 1, 28, 28]` normalised images to `[batch, 10]` logits.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self
            .activation
            .forward(self.norm1.forward(self.conv1.forward(images)));
        let x = self
            .activation
            .forward(self.norm2.forward(self.conv2.forward(x)));
        let [batch, channels, height, width] = x.dims();
        let x = x.reshape([batch, channels * height * width]);
        let x = self.activation.forward(self.hidden.forward(x));
        self.output.forward(self.dropout.forward(x))
    }
}

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

/// Where the images came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The four official IDX files: 60,000 training and 10,000 test images.
    OfficialIdx,
    /// `mnist_png/train` to train, `mnist_png/valid` to evaluate.
    PngFolders,
}

impl std::fmt::Display for DataSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DataSource::OfficialIdx => "the official IDX files",
            DataSource::PngFolders => "the PNG folders mnist_png/{train,valid}",
        })
    }
}

/// `config.json`: the network's shape, the pixel normalisation fitted on the training images,
/// and the settings that trained it. Embedded by the inference module next to `model.bpk`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MnistArtifactConfig {
    pub model: MnistModelConfig,
    pub normalization: PixelNormalization,
    pub training: TrainingSettings,
}

/// Model input for a batch of images given as grey levels (0-255, `PIXELS` per image,
/// row-major): the one preprocessing path for training, evaluation and inference.
pub fn images_tensor(
    pixels: &[f32],
    normalization: &PixelNormalization,
    device: &Device,
) -> Tensor<4> {
    let count = pixels.len() / PIXELS;
    let values: Vec<f32> = pixels[..count * PIXELS]
        .iter()
        .map(|&p| normalization.apply(p))
        .collect();
    Tensor::from_data(TensorData::new(values, [count, 1, SIDE, SIDE]), device)
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

    #[test]
    fn the_model_maps_images_to_ten_logits() {
        let device = Device::flex();
        let model = MnistModelConfig::new().init(&device);
        let normalization = PixelNormalization {
            mean: 0.1307,
            std: 0.3081,
        };
        let pixels = vec![0.0; 3 * PIXELS];
        let logits = model.forward(images_tensor(&pixels, &normalization, &device));
        assert_eq!(logits.dims(), [3, 10]);
    }
}
