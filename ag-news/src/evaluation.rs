//! The figures in `metrics.json`: accuracy, mean cross-entropy and confusion matrix on the
//! evaluation articles.

use anyhow::Result;
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use train_kit::evaluation::{ClassificationEvaluation, ClassificationTally};

use crate::data::{AgNewsBatcher, AgNewsItem, DataPlan, encode_items};
use crate::input::CLASSES;
use crate::model::AgNewsModel;
use crate::tokenizer::Tokenizer;

pub type AgNewsEvaluation = ClassificationEvaluation<DataPlan>;

/// Articles per forward pass: only memory bounds it, as no gradients are kept.
const EVALUATION_BATCH: usize = 512;

/// The figures of `model` on `items`, which `plan` says what they are.
pub fn evaluate(
    model: &AgNewsModel,
    tokenizer: &Tokenizer,
    items: &[AgNewsItem],
    plan: DataPlan,
    device: &Device,
) -> Result<AgNewsEvaluation> {
    let encoded = encode_items(items, tokenizer);
    let batcher = AgNewsBatcher {
        tokenizer: tokenizer.clone(),
    };
    let mut tally = ClassificationTally::new(&CLASSES);
    for chunk in encoded.chunks(EVALUATION_BATCH) {
        let labels: Vec<usize> = chunk.iter().map(|item| item.label).collect();
        let batch = batcher.batch(chunk.to_vec(), device);
        tally.add(model.forward(batch.inputs), &labels)?;
    }
    Ok(tally.finish(plan))
}
