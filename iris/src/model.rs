//! The network: a two-hidden-layer perceptron over standardised measurements.

use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::*;
use module_kit::layers::{Initialized, Layers};

/// The network's shape.
#[derive(Config, Debug)]
pub struct IrisModelConfig {
    #[config(default = 4)]
    pub num_features: usize,
    #[config(default = 16)]
    pub hidden_size: usize,
    #[config(default = 3)]
    pub num_classes: usize,
}

/// Outputs class logits.
#[derive(Module, Debug)]
pub struct IrisModel {
    input: Linear,
    hidden: Linear,
    output: Linear,
    activation: Relu,
}

impl IrisModelConfig {
    /// The network with burn's initial weights, to train.
    pub fn init(&self, device: &Device) -> IrisModel {
        self.build(&Initialized(device))
    }

    /// The network with its layers made by `layers`.
    pub fn build(&self, layers: &impl Layers) -> IrisModel {
        IrisModel {
            input: layers.linear(&LinearConfig::new(self.num_features, self.hidden_size)),
            hidden: layers.linear(&LinearConfig::new(self.hidden_size, self.hidden_size)),
            output: layers.linear(&LinearConfig::new(self.hidden_size, self.num_classes)),
            activation: Relu::new(),
        }
    }
}

impl IrisModel {
    /// `[batch, 4]` standardised features to `[batch, 3]` logits.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        let x = self.activation.forward(self.input.forward(features));
        let x = self.activation.forward(self.hidden.forward(x));
        self.output.forward(x)
    }
}
