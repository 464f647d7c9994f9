//! `config.json`: the network's shape and every training setting, the tokenizer's and the
//! data plan's included; embedded by the inference module next to `model.bpk` (the tokenizer
//! itself is `vocab.json`), and enough to train the same model again
//! (`ag-news-ndarray --config config.json`).

use serde::{Deserialize, Serialize};

use crate::model::{AgNewsModel, AgNewsModelConfig};

/// AG News options beside the common ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "train", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct AgNewsOptions {
    /// Train on a seeded, stratified 80% of this one release file and evaluate on the other
    /// 20%, instead of train.csv / test.csv (for machines without train.csv)
    #[cfg_attr(feature = "train", arg(long, value_name = "FILE", value_parser = ["test.csv", "train.csv"]))]
    pub single_file_split: Option<String>,
    /// Size of the word and bigram embeddings
    #[cfg_attr(feature = "train", arg(long, default_value_t = 32))]
    pub embedding_dim: usize,
    /// Hash buckets for word bigrams
    #[cfg_attr(feature = "train", arg(long, default_value_t = 1 << 15))]
    pub bigram_buckets: u32,
    /// Times a word must appear in the training text to get its own embedding
    #[cfg_attr(feature = "train", arg(long, default_value_t = 2))]
    pub min_count: usize,
    /// Tokens read per article at most
    #[cfg_attr(feature = "train", arg(long, default_value_t = 256))]
    pub max_tokens: usize,
    /// Dropout on the averaged embedding
    #[cfg_attr(feature = "train", arg(long, default_value_t = 0.5))]
    pub dropout: f64,
}

module_kit::algorithm_config! {
    AgNewsConfig (module AgNewsModuleConfig, options AgNewsOptions) {
        model: AgNewsModelConfig => AgNewsModel,
    }
}
