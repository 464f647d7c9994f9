//! The network: a fastText-style bag of word and bigram embeddings, averaged with the
//! tokenizer's weights and fed to a linear layer.

use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig,
};
use burn::prelude::*;
use module_kit::layers::{Initialized, Layers};

use crate::input::TokenBatch;

#[derive(Config, Debug)]
pub struct AgNewsModelConfig {
    /// Embedding rows: padding, words, bigram buckets (from the tokenizer).
    pub vocab_size: usize,
    #[config(default = 32)]
    pub embedding_dim: usize,
    #[config(default = 4)]
    pub num_classes: usize,
    #[config(default = 0.5)]
    pub dropout: f64,
    /// Standard deviation of the initial embeddings: small, so an article's average starts
    /// near zero instead of at the noise of a few unit-variance vectors.
    #[config(default = 0.1)]
    pub init_std: f64,
}

#[derive(Module, Debug)]
pub struct AgNewsModel {
    embedding: Embedding,
    dropout: Dropout,
    output: Linear,
}

impl AgNewsModelConfig {
    /// The network with burn's initial weights, to train.
    pub fn init(&self, device: &Device) -> AgNewsModel {
        self.build(&Initialized(device))
    }

    /// The network with its layers made by `layers`.
    pub fn build(&self, layers: &impl Layers) -> AgNewsModel {
        AgNewsModel {
            embedding: layers.embedding(
                &EmbeddingConfig::new(self.vocab_size, self.embedding_dim).with_initializer(
                    Initializer::Normal {
                        mean: 0.0,
                        std: self.init_std,
                    },
                ),
            ),
            dropout: DropoutConfig::new(self.dropout).init(),
            output: layers.linear(&LinearConfig::new(self.embedding_dim, self.num_classes)),
        }
    }
}

impl AgNewsModel {
    /// Token ids `[batch, tokens]` (0-padded) and their weights (0 for padding) to
    /// `[batch, 4]` logits: the weighted mean of the article's token embeddings through a
    /// linear layer.
    pub fn forward(&self, tokens: TokenBatch) -> Tensor<2> {
        let [batch, _] = tokens.ids.dims();
        let embedded = self.embedding.forward(tokens.ids);
        let [_, _, dim] = embedded.dims();
        let weights = tokens.weights;
        let summed = (embedded * weights.clone().unsqueeze_dim::<3>(2))
            .sum_dim(1)
            .reshape([batch, dim]);
        let total_weight = weights.sum_dim(1).clamp_min(1e-6);
        self.output
            .forward(self.dropout.forward(summed / total_weight))
    }
}
