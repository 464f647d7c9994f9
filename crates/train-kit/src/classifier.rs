//! What the classifiers' training runs share beyond burn's steps
//! ([`impl_classification_steps!`](crate::impl_classification_steps)): the share of each class
//! held out, and their batches.

use burn::prelude::*;

use crate::split::stratified_split;

/// The seeded, stratified split of `items` into (kept, held out): `fraction` of each class
/// (`class`) is held out.
pub fn hold_out<T>(
    items: Vec<T>,
    class: impl Fn(&T) -> usize,
    fraction: f64,
    seed: u64,
) -> (Vec<T>, Vec<T>) {
    let mut parts = stratified_split(items, class, &[1.0 - fraction, fraction], seed).into_iter();
    (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    )
}

/// A batch ready for a classifier: what its `forward` takes, and each item's class index.
#[derive(Debug, Clone)]
pub struct ClassBatch<I> {
    pub inputs: I,
    pub targets: Tensor<1, Int>,
}

impl<I> ClassBatch<I> {
    /// `inputs` with `labels`, one class index per item, as targets on `device`.
    pub fn new(inputs: I, labels: Vec<i64>, device: &Device) -> Self {
        let count = labels.len();
        Self {
            inputs,
            targets: Tensor::from_data(TensorData::new(labels, [count]), device),
        }
    }
}
