//! Batches for the model: images normalised (and shifted when training with augmentation)
//! and stacked, with their class indices.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use train_kit::classifier::ClassBatch;

use super::MnistItem;
use super::augment::{RandomShift, shift};
use crate::input::{PIXELS, PixelNormalization, model_input};

/// A batch ready for the model: normalised images and class indices.
pub type MnistBatch = ClassBatch<Tensor<4>>;

/// Normalises and stacks items; with `augmentation`, shifts each training image first.
#[derive(Debug, Clone)]
pub struct MnistBatcher {
    pub normalization: PixelNormalization,
    pub augmentation: Option<RandomShift>,
}

impl Batcher<MnistItem, MnistBatch> for MnistBatcher {
    fn batch(&self, items: Vec<MnistItem>, device: &Device) -> MnistBatch {
        let shifts = match &self.augmentation {
            Some(augmentation) if augmentation.max_shift > 0 => augmentation.draw(items.len()),
            _ => vec![(0, 0); items.len()],
        };
        let mut pixels = Vec::with_capacity(items.len() * PIXELS);
        for (item, (dx, dy)) in items.iter().zip(shifts) {
            let image = if (dx, dy) == (0, 0) {
                item.pixels
            } else {
                shift(&item.pixels, dx, dy)
            };
            pixels.extend(image.iter().map(|&p| f32::from(p)));
        }
        let labels: Vec<i64> = items.iter().map(|item| i64::from(item.label)).collect();
        let inputs = model_input(&pixels, &self.normalization, device);
        ClassBatch::new(inputs, labels, device)
    }
}
