//! The figures in `metrics.json`: accuracy, mean cross-entropy and confusion matrix on the
//! test images.

use anyhow::Result;
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use train_kit::evaluation::{ClassificationEvaluation, ClassificationTally};

use crate::data::{DataPlan, MnistBatcher, MnistItem};
use crate::input::{CLASSES, PixelNormalization};
use crate::model::MnistModel;

pub type MnistEvaluation = ClassificationEvaluation<DataPlan>;

/// Images per batch when evaluating: only memory bounds it, as no gradients are kept.
pub const EVALUATION_BATCH: usize = 500;

/// The figures of `model` on `items`, which `plan` says where they came from.
pub fn evaluate(
    model: &MnistModel,
    normalization: &PixelNormalization,
    items: &[MnistItem],
    plan: DataPlan,
    device: &Device,
) -> Result<MnistEvaluation> {
    let batcher = MnistBatcher {
        normalization: *normalization,
        augmentation: None,
    };
    let mut tally = ClassificationTally::new(&CLASSES);
    for chunk in items.chunks(EVALUATION_BATCH) {
        let labels: Vec<usize> = chunk.iter().map(|item| usize::from(item.label)).collect();
        let batch = batcher.batch(chunk.to_vec(), device);
        tally.add(model.forward(batch.inputs), &labels)?;
    }
    Ok(tally.finish(plan))
}
