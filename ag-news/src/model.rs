//! The AG News classifier: a fastText-style bag of word and bigram embeddings, averaged and
//! fed to a linear layer. Its labels and saved configuration live here too; training and
//! inference both use this file.

use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::prelude::*;
use common::report::TrainingSettings;
use serde::{Deserialize, Serialize};

use crate::tokenizer::PADDING;

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
    #[config(default = 0.2)]
    pub dropout: f64,
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
            embedding: EmbeddingConfig::new(self.vocab_size, self.embedding_dim).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(self.embedding_dim, self.num_classes).init(device),
        }
    }
}

impl AgNewsModel {
    /// `[batch, tokens]` ids (0-padded) to `[batch, 4]` logits: the mean of the article's
    /// token embeddings, padding excluded, through a linear layer.
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<2> {
        let [batch, _] = tokens.dims();
        let mask = tokens.clone().not_equal_elem(PADDING as i64).float();
        let embedded = self.embedding.forward(tokens);
        let [_, _, dim] = embedded.dims();
        let summed = (embedded * mask.clone().unsqueeze_dim::<3>(2)).sum_dim(1).reshape([batch, dim]);
        let lengths = mask.sum_dim(1).clamp_min(1.0);
        let mean = summed / lengths;
        self.output.forward(self.dropout.forward(mean))
    }
}

/// A batch of token-id lists as the model's input: padded with [`PADDING`] to the longest.
pub fn tokens_tensor(token_lists: &[Vec<u32>], device: &Device) -> Tensor<2, Int> {
    let longest = token_lists.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut ids = vec![PADDING as i64; token_lists.len() * longest];
    for (row, tokens) in ids.chunks_exact_mut(longest).zip(token_lists) {
        for (slot, &id) in row.iter_mut().zip(tokens) {
            *slot = i64::from(id);
        }
    }
    Tensor::from_data(TensorData::new(ids, [token_lists.len(), longest]), device)
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
