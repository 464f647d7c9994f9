//! Data loaders whose every epoch is a function of the seed and the epoch number alone.
//!
//! burn's loader shuffles with one generator that advances from epoch to epoch, and dropout
//! draws from the backend's generator, which advances with every step. A run resumed from the
//! checkpoint of epoch N cannot recreate either state, so it would train a different model.
//! Here the training loader derives epoch e's order, and reseeds the backend (and whatever else
//! the algorithm draws from, through [`EpochLoader::on_epoch`]), from `(seed, e)`: epoch N+1
//! is the same whether it follows epoch N in one process or a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::tensor::Device;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::interrupt::{StopPoint, stop_point};

/// The seed of one random stream (`stream` tells streams apart) in epoch `epoch` of a run
/// seeded with `seed`: SplitMix64 over the three, so neighbouring epochs are unrelated.
pub fn epoch_seed(seed: u64, epoch: usize, stream: u64) -> u64 {
    let mut z = seed
        .wrapping_add((epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The streams each training epoch draws from.
const SHUFFLE_STREAM: u64 = 1;
const BACKEND_STREAM: u64 = 2;

/// Called with the epoch number before a training epoch's first batch is made.
pub type EpochHook = Arc<dyn Fn(usize) + Send + Sync>;

/// What the next `iter()` of a training loader is: shared by the loader burn moves to the
/// training device and the one the session keeps, so the session can say where a resumed run
/// starts after the loaders exist.
#[derive(Clone, Default, Debug)]
pub struct EpochCounter(Arc<AtomicUsize>);

impl EpochCounter {
    /// The next `iter()` makes epoch `epoch` (burn numbers epochs from 1).
    pub fn start_at(&self, epoch: usize) {
        self.0.store(epoch, Ordering::SeqCst);
    }

    fn take(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

/// How a loader walks its items.
#[derive(Clone)]
enum Order {
    /// Validation: the items as given, nothing reseeded.
    AsGiven,
    /// Training: a fresh order per epoch, the backend reseeded, and the algorithm's hook.
    EpochSeeded {
        seed: u64,
        epochs: EpochCounter,
        hook: Option<EpochHook>,
    },
}

/// A loader of `items` in batches of `batch_size`, made by `batcher` on `device`.
pub struct EpochLoader<I, O> {
    items: Arc<Vec<I>>,
    batcher: Arc<dyn Batcher<I, O>>,
    batch_size: usize,
    device: Device,
    order: Order,
}

impl<I, O> std::fmt::Debug for EpochLoader<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochLoader")
            .field("items", &self.items.len())
            .field("batch_size", &self.batch_size)
            .field("training", &matches!(self.order, Order::EpochSeeded { .. }))
            .finish()
    }
}

impl<I, O> Clone for EpochLoader<I, O> {
    fn clone(&self) -> Self {
        Self {
            items: self.items.clone(),
            batcher: self.batcher.clone(),
            batch_size: self.batch_size,
            device: self.device.clone(),
            order: self.order.clone(),
        }
    }
}

impl<I, O> EpochLoader<I, O> {
    /// A training loader on `device`: epoch e shuffles with `epoch_seed(seed, e, ..)` and
    /// reseeds the backend before its first batch. Its epochs are counted by `epochs`.
    pub fn training(
        batcher: impl Batcher<I, O> + 'static,
        (items, batch_size): (Vec<I>, usize),
        device: &Device,
        seed: u64,
        epochs: EpochCounter,
    ) -> Self {
        Self {
            order: Order::EpochSeeded {
                seed,
                epochs,
                hook: None,
            },
            ..Self::validation(batcher, (items, batch_size), device)
        }
    }

    /// A validation loader on `device`: the items in their order, nothing reseeded.
    pub fn validation(
        batcher: impl Batcher<I, O> + 'static,
        (items, batch_size): (Vec<I>, usize),
        device: &Device,
    ) -> Self {
        Self {
            items: Arc::new(items),
            batcher: Arc::new(batcher),
            batch_size: batch_size.max(1),
            device: device.clone(),
            order: Order::AsGiven,
        }
    }

    /// Also calls `hook(epoch)` at the start of every training epoch (an augmentation's
    /// generator reseeded from the epoch, say). No effect on a validation loader.
    pub fn on_epoch(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        if let Order::EpochSeeded { hook: slot, .. } = &mut self.order {
            *slot = Some(Arc::new(hook));
        }
        self
    }

    /// Batches per pass over the items.
    pub fn batches(&self) -> usize {
        self.items.len().div_ceil(self.batch_size)
    }

    /// The training epoch (`None` for validation) and the item indices of the next pass,
    /// after reseeding what the epoch draws from.
    fn next_pass(&self) -> (Option<usize>, Vec<usize>) {
        let mut indices: Vec<usize> = (0..self.items.len()).collect();
        let Order::EpochSeeded { seed, epochs, hook } = &self.order else {
            return (None, indices);
        };
        let epoch = epochs.take();
        let mut rng = ChaCha8Rng::seed_from_u64(epoch_seed(*seed, epoch, SHUFFLE_STREAM));
        indices.shuffle(&mut rng);
        self.device.seed(epoch_seed(*seed, epoch, BACKEND_STREAM));
        if let Some(hook) = hook {
            hook(epoch);
        }
        (Some(epoch), indices)
    }
}

impl<I, O> DataLoader<O> for EpochLoader<I, O>
where
    I: Send + Sync + Clone + 'static,
    O: Send + 'static,
{
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        let (epoch, indices) = self.next_pass();
        Box::new(Pass {
            loader: self,
            indices,
            position: 0,
            epoch,
        })
    }

    fn num_items(&self) -> usize {
        self.items.len()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<O>> {
        let mut moved = self.clone();
        moved.device = device.clone();
        Arc::new(moved)
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<O>> {
        let end = end.min(self.items.len());
        let start = start.min(end);
        let mut part = self.clone();
        part.items = Arc::new(self.items[start..end].to_vec());
        Arc::new(part)
    }
}

/// One pass over a loader's items.
struct Pass<'a, I, O> {
    loader: &'a EpochLoader<I, O>,
    indices: Vec<usize>,
    position: usize,
    /// The training epoch this pass is; `None` for validation.
    epoch: Option<usize>,
}

impl<I: Clone, O> Iterator for Pass<'_, I, O> {
    type Item = Result<O, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.position >= self.indices.len() {
            return None;
        }
        let end = (self.position + self.loader.batch_size).min(self.indices.len());
        if let Some(epoch) = self.epoch {
            let batch_size = self.loader.batch_size;
            stop_point(StopPoint::TrainingBatch {
                epoch,
                batch: self.position / batch_size + 1,
                batches: self.indices.len().div_ceil(batch_size),
            });
        }
        let items: Vec<I> = self.indices[self.position..end]
            .iter()
            .map(|&i| self.loader.items[i].clone())
            .collect();
        self.position = end;
        Some(Ok(self.loader.batcher.batch(items, &self.loader.device)))
    }
}

impl<I: Clone, O> DataLoaderIterator<O> for Pass<'_, I, O> {
    fn progress(&self) -> Progress {
        Progress::new(self.position, self.indices.len(), Some("items".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Collect;

    impl Batcher<u32, Vec<u32>> for Collect {
        fn batch(&self, items: Vec<u32>, _device: &Device) -> Vec<u32> {
            items
        }
    }

    fn cpu() -> Device {
        Device::default()
    }

    fn epoch_order(loader: &EpochLoader<u32, Vec<u32>>) -> Vec<u32> {
        loader.iter().flat_map(|batch| batch.unwrap()).collect()
    }

    #[test]
    fn an_epoch_order_depends_on_the_seed_and_the_epoch_only() {
        let items: Vec<u32> = (0..50).collect();
        let counter = EpochCounter::default();
        counter.start_at(1);
        let loader = EpochLoader::training(Collect, (items.clone(), 8), &cpu(), 7, counter);
        let first = epoch_order(&loader);
        let second = epoch_order(&loader);
        let third = epoch_order(&loader);
        assert_ne!(first, second, "every epoch has its own order");
        let mut sorted = second;
        sorted.sort();
        assert_eq!(sorted, items, "an epoch visits every item once");

        // A loader that starts at epoch 3, as a resumed run does, repeats epoch 3's order.
        let resumed = EpochCounter::default();
        resumed.start_at(3);
        let loader = EpochLoader::training(Collect, (items.clone(), 8), &cpu(), 7, resumed);
        assert_eq!(epoch_order(&loader), third);

        let other = EpochCounter::default();
        other.start_at(1);
        let loader = EpochLoader::training(Collect, (items, 8), &cpu(), 8, other);
        assert_ne!(epoch_order(&loader), first, "another seed, another order");
    }

    #[test]
    fn batches_cover_the_items_with_a_short_last_batch() {
        let loader = EpochLoader::validation(Collect, ((0..10).collect(), 4), &cpu());
        let sizes: Vec<usize> = loader.iter().map(|b| b.unwrap().len()).collect();
        assert_eq!(sizes, [4, 4, 2]);
        assert_eq!(loader.batches(), 3);
        assert_eq!(epoch_order(&loader), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn the_hook_sees_each_epoch_number_once() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let counter = EpochCounter::default();
        counter.start_at(4);
        let record = seen.clone();
        let loader = EpochLoader::training(Collect, ((0..3).collect(), 2), &cpu(), 1, counter)
            .on_epoch(move |epoch| record.lock().unwrap().push(epoch));
        epoch_order(&loader);
        epoch_order(&loader);
        assert_eq!(*seen.lock().unwrap(), [4, 5]);
    }
}
