//! The figures in `metrics.json`: accuracy, mean cross-entropy and confusion matrix on the
//! validation flowers.

use anyhow::Result;
use burn::prelude::*;
use module_kit::standardize::Standardizer;
use train_kit::evaluation::{ClassificationEvaluation, ClassificationTally};

use crate::data::{DATA_PLAN, DataPlan, IrisItem};
use crate::input::{CLASSES, IrisInput, model_input};
use crate::model::IrisModel;

pub type IrisEvaluation = ClassificationEvaluation<DataPlan>;

/// The figures of `model` on `items` (one batch: Iris is small).
pub fn evaluate(
    model: &IrisModel,
    preprocessing: &Standardizer,
    items: &[IrisItem],
    device: &Device,
) -> Result<IrisEvaluation> {
    let inputs: Vec<IrisInput> = items.iter().map(|item| item.input).collect();
    let labels: Vec<usize> = items.iter().map(|item| item.label).collect();
    let mut tally = ClassificationTally::new(&CLASSES);
    tally.add(
        model.forward(model_input(&inputs, preprocessing, device)),
        &labels,
    )?;
    Ok(tally.finish(DATA_PLAN))
}
