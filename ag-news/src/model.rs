//! The AG News classifier: a fastText-style bag of word and bigram embeddings, averaged and
//! fed to a linear layer. Its labels and saved configuration live here too; training and
//! inference both use this file.

use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig,
};
use burn::prelude::*;
use common::report::TrainingSettings;
use serde::{Deserialize, Serialize};

use crate::tokenizer::{PADDING, Tokenizer};

/// Class labels in the order of the model's outputs (`classes.txt` of the release).
pub const CLASSES: [&str; 4] = ["World", "Sports", "Business", "Sci/Tech"];

/// The release numbers classes 1 to 4; the model's outputs are 0 to 3.
pub fn label_from_class_index(class_index: u32) -> Option<usize> {
    (1..=CLASSES.len() as u32)
        .contains(&class_index)
        .then(|| class_index as usize - 1)
}

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
    pub fn init(&self, device: &Device) -> AgNewsModel {
        AgNewsModel {
            embedding: EmbeddingConfig::new(self.vocab_size, self.embedding_dim)
                .with_initializer(Initializer::Normal {
                    mean: 0.0,
                    std: self.init_std,
                })
                .init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(self.embedding_dim, self.num_classes).init(device),
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

/// A batch of articles as the model reads them.
#[derive(Debug, Clone)]
pub struct TokenBatch {
    /// `[batch, tokens]`, padded with [`PADDING`] to the longest article.
    pub ids: Tensor<2, Int>,
    /// `[batch, tokens]`, each id's tokenizer weight; 0 for padding.
    pub weights: Tensor<2>,
}

/// Token-id lists as the model's input, with the tokenizer's weights: the one batching path
/// for training, evaluation and inference.
pub fn token_batch(token_lists: &[Vec<u32>], tokenizer: &Tokenizer, device: &Device) -> TokenBatch {
    let longest = token_lists.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut ids = vec![PADDING as i64; token_lists.len() * longest];
    let mut weights = vec![0f32; token_lists.len() * longest];
    let rows = ids
        .chunks_exact_mut(longest)
        .zip(weights.chunks_exact_mut(longest));
    for ((id_row, weight_row), tokens) in rows.zip(token_lists) {
        for ((id_slot, weight_slot), &id) in
            id_row.iter_mut().zip(weight_row.iter_mut()).zip(tokens)
        {
            *id_slot = i64::from(id);
            *weight_slot = tokenizer.weight(id);
        }
    }
    let shape = [token_lists.len(), longest];
    TokenBatch {
        ids: Tensor::from_data(TensorData::new(ids, shape), device),
        weights: Tensor::from_data(TensorData::new(weights, shape), device),
    }
}

/// `config.json`: the network's shape and the settings that trained it. The tokenizer is
/// saved beside it as `vocab.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgNewsArtifactConfig {
    pub model: AgNewsModelConfig,
    pub training: TrainingSettings,
    /// What the model was trained and evaluated on.
    pub data: DataPlan,
}

/// Which files trained and evaluated the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataPlan {
    /// The release's split: train.csv to train, all of test.csv to evaluate.
    OfficialSplit,
    /// A seeded, stratified 80/20 split of one file.
    SingleFileSplit { file: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_indices_one_to_four_map_to_labels_zero_to_three() {
        assert_eq!(label_from_class_index(1), Some(0));
        assert_eq!(CLASSES[label_from_class_index(3).unwrap()], "Business");
        assert_eq!(CLASSES[label_from_class_index(4).unwrap()], "Sci/Tech");
        assert_eq!(label_from_class_index(0), None);
        assert_eq!(label_from_class_index(5), None);
    }
}
