//! What the model reads and answers: the topics, the JSON input (an article), and
//! [`model_input`], the one path from token lists to the model's input in training,
//! evaluation and inference.

use burn::prelude::*;
use module_kit::cli::ModelInput;
use serde::{Deserialize, Serialize};

use crate::tokenizer::{PADDING, Tokenizer, article_text};

/// Class labels in the order of the model's outputs (`classes.txt` of the release).
pub const CLASSES: [&str; 4] = ["World", "Sports", "Business", "Sci/Tech"];

/// Longest text accepted per article, in bytes (news articles are far shorter).
pub const MAX_TEXT_BYTES: usize = 32 * 1024;

/// One article: `title` and `description` as in the release, or one `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgNewsInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl AgNewsInput {
    /// The text the model reads, built exactly as in training.
    pub fn text(&self) -> String {
        match &self.text {
            Some(text) => text.clone(),
            None => article_text(
                self.title.as_deref().unwrap_or_default(),
                self.description.as_deref().unwrap_or_default(),
            ),
        }
    }
}

impl ModelInput for AgNewsInput {
    fn validate(&self) -> Result<(), String> {
        let has_parts = self.title.is_some() || self.description.is_some();
        if self.text.is_some() && has_parts {
            return Err("give either \"text\" or \"title\"/\"description\", not both".into());
        }
        if self.text.is_none() && !has_parts {
            return Err("give \"title\" and \"description\", or \"text\"".into());
        }
        let text = self.text();
        if text.trim().is_empty() {
            return Err("the article text is empty".into());
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(format!(
                "the article text is {} bytes, more than the {MAX_TEXT_BYTES}-byte limit",
                text.len()
            ));
        }
        Ok(())
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
pub fn model_input(token_lists: &[Vec<u32>], tokenizer: &Tokenizer, device: &Device) -> TokenBatch {
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
