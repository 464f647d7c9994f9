//! The network: a three-hidden-layer perceptron over standardised inputs; it outputs the
//! standardised quality.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, Relu};
use burn::prelude::*;
use module_kit::layers::{Initialized, Layers};

/// The network's shape.
#[derive(Config, Debug)]
pub struct WineModelConfig {
    #[config(default = 12)]
    pub num_inputs: usize,
    #[config(default = 128)]
    pub hidden_size: usize,
    #[config(default = 0.1)]
    pub dropout: f64,
}

#[derive(Module, Debug)]
pub struct WineModel {
    input: Linear,
    hidden: Linear,
    hidden2: Linear,
    output: Linear,
    activation: Relu,
    dropout: Dropout,
}

impl WineModelConfig {
    /// The network with burn's initial weights, to train.
    pub fn init(&self, device: &Device) -> WineModel {
        self.build(&Initialized(device))
    }

    /// The network with its layers made by `layers`.
    pub fn build(&self, layers: &impl Layers) -> WineModel {
        WineModel {
            input: layers.linear(&LinearConfig::new(self.num_inputs, self.hidden_size)),
            hidden: layers.linear(&LinearConfig::new(self.hidden_size, self.hidden_size)),
            hidden2: layers.linear(&LinearConfig::new(self.hidden_size, self.hidden_size)),
            output: layers.linear(&LinearConfig::new(self.hidden_size, 1)),
            activation: Relu::new(),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl WineModel {
    /// `[batch, 12]` standardised inputs to `[batch, 1]` standardised quality.
    pub fn forward(&self, inputs: Tensor<2>) -> Tensor<2> {
        let x = self
            .dropout
            .forward(self.activation.forward(self.input.forward(inputs)));
        let x = self
            .dropout
            .forward(self.activation.forward(self.hidden.forward(x)));
        let x = self
            .dropout
            .forward(self.activation.forward(self.hidden2.forward(x)));
        self.output.forward(x)
    }
}
