//! What the classifiers' training runs share beyond burn's steps
//! ([`impl_classification_steps!`](crate::impl_classification_steps)): their batches.

use burn::prelude::*;

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
