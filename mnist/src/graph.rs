//! The network as a graph of plain tensors: its signature and its two forward passes, on the
//! `inference-kernels` crate's layers (what the self-contained module runs inside the sandbox) and
//! on Burn (what training evaluates and what a wasi-nn host runs for the named graph `mnist`). The
//! tests check that the two agree on the committed model.

use burn::nn::BatchNormConfig;
use burn::tensor::Tensor;
use inference_kernels::{
    BatchNorm, Conv2d, ConvShape, Dense, FeatureMap, Record, RecordError, relu,
};
use module_kit::artifacts::{Artifacts, LoadError};
use module_kit::graph::{
    BurnGraph, BurnNetwork, Forward, GraphError, GraphInput, GraphSpec, TensorDesc,
};

use crate::config::{MnistConfig, MnistModuleConfig};
use crate::input::{PIXELS, SIDE};
use crate::model::{
    CONV_STRIDE, CONV1_KERNEL, CONV2_KERNEL, MnistModel, MnistModelConfig, conv_padding,
};

/// Normalised grey levels in, digit logits out.
pub const GRAPH: GraphSpec = GraphSpec {
    name: "mnist",
    input: TensorDesc::f32("image", &[-1, 1, SIDE as i64, SIDE as i64]),
    output: TensorDesc::f32("logits", &[-1, 10]),
};

/// The trained network on Burn, loaded from its artifacts.
pub type MnistGraph = BurnGraph<MnistConfig, 4>;

impl BurnNetwork<4> for MnistModel {
    fn forward_tensor(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward(images)
    }
}

/// The trained network on the `inference-kernels` crate's layers: what the self-contained
/// module runs.
#[derive(Debug)]
pub struct MnistKernels {
    conv1: Conv2d,
    norm1: BatchNorm,
    conv2: Conv2d,
    norm2: BatchNorm,
    hidden: Dense,
    output: Dense,
}

impl MnistKernels {
    fn from_record(record: &Record<'_>, model: &MnistModelConfig) -> Result<Self, RecordError> {
        let (c1, c2) = (model.conv1_channels, model.conv2_channels);
        let conv = |name, shape: [usize; 2], kernel| {
            let shape = ConvShape {
                in_channels: shape[0],
                out_channels: shape[1],
                kernel,
                stride: CONV_STRIDE,
                padding: conv_padding(kernel),
            };
            Conv2d::load(record, name, shape)
        };
        // The epsilon model.rs builds its batch norms with.
        let norm = |name, channels| {
            BatchNorm::load(
                record,
                name,
                channels,
                BatchNormConfig::new(channels).epsilon,
            )
        };
        let side = MnistModelConfig::FEATURE_SIDE;
        Ok(Self {
            conv1: conv("conv1", [1, c1], CONV1_KERNEL)?,
            norm1: norm("norm1", c1)?,
            conv2: conv("conv2", [c1, c2], CONV2_KERNEL)?,
            norm2: norm("norm2", c2)?,
            hidden: Dense::load(record, "hidden", c2 * side * side, model.hidden_size)?,
            output: Dense::load(record, "output", model.hidden_size, model.num_classes)?,
        })
    }

    /// One normalised image to the hidden layer's input: both convolutions with their batch
    /// norms and ReLUs, flattened in burn's channels-first order.
    fn features(&self, image: &[f32]) -> Vec<f32> {
        let mut x = self
            .conv1
            .forward(&FeatureMap::from_channels_first(image, 1, SIDE, SIDE));
        self.norm1.forward(&mut x);
        relu(&mut x.values);
        let mut x = self.conv2.forward(&x);
        self.norm2.forward(&mut x);
        relu(&mut x.values);
        x.to_channels_first()
    }
}

impl Forward for MnistKernels {
    fn load(artifacts: &Artifacts<'static>, _spec: &GraphSpec) -> Result<Self, LoadError> {
        let MnistModuleConfig { model, .. } = artifacts.config()?;
        let record = Record::parse(artifacts.model_bpk).map_err(LoadError::record)?;
        Self::from_record(&record, &model).map_err(LoadError::record)
    }

    fn forward(&self, input: GraphInput) -> Result<Vec<f32>, GraphError> {
        let (images, pixels) = input.into_f32_rows(PIXELS)?;
        let mut features = Vec::new();
        for image in pixels.chunks_exact(PIXELS) {
            features.extend(self.features(image));
        }
        let mut x = self.hidden.forward(&features, images);
        relu(&mut x);
        // Dropout does nothing at inference.
        Ok(self.output.forward(&x, images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_kit::forwards::{assert_forwards_agree, random_input};

    const COMMITTED: Artifacts<'static> = module_kit::embedded_artifacts!("mnist");

    #[test]
    fn the_kernels_compute_what_burn_computes_on_the_committed_model() {
        // Normalised strokes on background (pixel 0 is about -0.42 after normalisation).
        let input = random_input(&[37, 1, SIDE, SIDE], (-0.42, 2.82), (-0.4242, 0.8), 3);
        assert_forwards_agree::<MnistKernels, MnistGraph>(&COMMITTED, &GRAPH, input);
    }
}
