//! The network: two strided convolutions with batch norm, then a small perceptron, over
//! normalised 28x28 images.

use burn::module::{ParamId, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu,
};
use burn::prelude::*;
use module_kit::layers::{Initialized, Layers};

use crate::input::SIDE;

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

/// Side of the first convolution's kernel.
pub const CONV1_KERNEL: usize = 5;
/// Side of the second convolution's kernel.
pub const CONV2_KERNEL: usize = 3;
/// Both convolutions' stride: each halves the image's side.
pub const CONV_STRIDE: usize = 2;

/// The zero padding that, with [`CONV_STRIDE`], halves the side for a `kernel` of odd side.
pub const fn conv_padding(kernel: usize) -> usize {
    kernel / 2
}

/// A `kernel` x `kernel` convolution with stride 2 and the padding that halves the size; no
/// bias, as the batch norm after it has its own shift.
fn strided_conv(channels: [usize; 2], kernel: usize, layers: &impl Layers) -> Conv2d {
    let pad = conv_padding(kernel);
    layers.conv2d(
        &Conv2dConfig::new(channels, [kernel, kernel])
            .with_stride([CONV_STRIDE, CONV_STRIDE])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .with_bias(false),
    )
}

/// Batch norm whose running statistics carry fixed ids. burn draws those ids at random (the
/// weights' ids are not random), so without this two runs with the same seed would train the
/// same weights but write different `model.bpk` bytes. `layer` keeps the ids distinct.
fn batch_norm(channels: usize, layer: u64, layers: &impl Layers) -> BatchNorm {
    let mut norm = layers.batch_norm(&BatchNormConfig::new(channels));
    let id = |statistic: u64| ParamId::from(RUNNING_STATE_IDS + 2 * layer + statistic);
    norm.running_mean = RunningState::with_id(id(0), norm.running_mean.value());
    norm.running_var = RunningState::with_id(id(1), norm.running_var.value());
    norm
}

/// Base of the running statistics' ids: far above the small ids burn numbers weights with.
const RUNNING_STATE_IDS: u64 = 0x6d6e_6973_7400_0000;

impl MnistModelConfig {
    /// Side of the feature maps after both convolutions (28 / 2 / 2).
    pub const FEATURE_SIDE: usize = SIDE / (CONV_STRIDE * CONV_STRIDE);

    /// The network with burn's initial weights, to train.
    pub fn init(&self, device: &Device) -> MnistModel {
        self.build(&Initialized(device))
    }

    /// The network with its layers made by `layers`.
    pub fn build(&self, layers: &impl Layers) -> MnistModel {
        let flat = self.conv2_channels * Self::FEATURE_SIDE * Self::FEATURE_SIDE;
        MnistModel {
            conv1: strided_conv([1, self.conv1_channels], CONV1_KERNEL, layers),
            norm1: batch_norm(self.conv1_channels, 1, layers),
            conv2: strided_conv(
                [self.conv1_channels, self.conv2_channels],
                CONV2_KERNEL,
                layers,
            ),
            norm2: batch_norm(self.conv2_channels, 2, layers),
            dropout: DropoutConfig::new(self.dropout).init(),
            hidden: layers.linear(&LinearConfig::new(flat, self.hidden_size)),
            output: layers.linear(&LinearConfig::new(self.hidden_size, self.num_classes)),
            activation: Relu::new(),
        }
    }
}

impl MnistModel {
    /// `[batch, 1, 28, 28]` normalised images to `[batch, 10]` logits.
    ///
    /// In training builds the layers run through `train_kernels`, which on burn's flex backend
    /// under autodiff replaces them with kernels that have their own backward passes (faster
    /// training, BENCHMARKS.md) and elsewhere calls the same layers.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = ops::batch_norm_relu(&self.norm1, ops::conv2d(&self.conv1, images));
        let x = ops::batch_norm_relu(&self.norm2, ops::conv2d(&self.conv2, x));
        let [batch, channels, height, width] = x.dims();
        let x = x.reshape([batch, channels * height * width]);
        let x = self.activation.forward(ops::linear(&self.hidden, x));
        ops::linear(&self.output, self.dropout.forward(x))
    }
}

/// The layers' forward passes: `train_kernels`' in training builds, burn's own elsewhere (the
/// host's named graphs, builds without `train`), which do not build the training kernels.
#[cfg(feature = "train")]
use train_kernels as ops;

#[cfg(not(feature = "train"))]
mod ops {
    use burn::nn::conv::Conv2d;
    use burn::nn::{BatchNorm, Linear, Relu};
    use burn::prelude::*;

    pub(super) fn conv2d(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
        layer.forward(x)
    }

    pub(super) fn batch_norm_relu(norm: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
        Relu::new().forward(norm.forward(x))
    }

    pub(super) fn linear(layer: &Linear, x: Tensor<2>) -> Tensor<2> {
        layer.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{PIXELS, PixelNormalization, model_input};

    #[test]
    fn the_model_maps_images_to_ten_logits() {
        let device = Device::flex();
        let model = MnistModelConfig::new().init(&device);
        let normalization = PixelNormalization {
            mean: 0.1307,
            std: 0.3081,
        };
        let pixels = vec![0.0; 3 * PIXELS];
        let logits = model.forward(model_input(&pixels, &normalization, &device));
        assert_eq!(logits.dims(), [3, 10]);
    }
}
