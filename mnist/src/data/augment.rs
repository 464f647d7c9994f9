//! Training augmentation: seeded random shifts of the images.

use std::sync::{Arc, Mutex};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::input::{PIXELS, SIDE};

/// The augmentation's stream among an epoch's random streams (see `train_kit::loader`).
const SHIFT_STREAM: u64 = 3;

/// Random translations of training images by up to `max_shift` pixels each way, drawn from
/// one seeded generator, restarted from `(seed, epoch)` at every epoch. The data loader asks
/// for batches one after another, so the same seed gives the same shifts.
#[derive(Debug, Clone)]
pub struct RandomShift {
    pub max_shift: usize,
    rng: Arc<Mutex<ChaCha8Rng>>,
}

impl RandomShift {
    pub fn new(max_shift: usize, seed: u64) -> Self {
        Self {
            max_shift,
            rng: Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed))),
        }
    }

    /// Restarts the generator from `(seed, epoch)`: an epoch's shifts do not depend on the
    /// epochs before it, so a run resumed after epoch N draws the same shifts for epoch N+1.
    pub fn reseed_for_epoch(&self, seed: u64, epoch: usize) {
        let seed = train_kit::loader::epoch_seed(seed, epoch, SHIFT_STREAM);
        // A poisoned lock only means another batch panicked; the generator is replaced anyway.
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = ChaCha8Rng::seed_from_u64(seed);
    }

    /// One `(dx, dy)` per image.
    pub(super) fn draw(&self, count: usize) -> Vec<(isize, isize)> {
        let max = self.max_shift as i32;
        // A poisoned lock only means another batch panicked; its generator state is still valid.
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let mut offset = || rng.random_range(-max..=max) as isize;
        (0..count).map(|_| (offset(), offset())).collect()
    }
}

/// `image` moved `dx` pixels right and `dy` down, with background filling the gap.
pub fn shift(image: &[u8; PIXELS], dx: isize, dy: isize) -> [u8; PIXELS] {
    let mut out = [0u8; PIXELS];
    let side = SIDE as isize;
    for y in 0..side {
        let source_y = y - dy;
        if !(0..side).contains(&source_y) {
            continue;
        }
        for x in 0..side {
            let source_x = x - dx;
            if (0..side).contains(&source_x) {
                out[(y * side + x) as usize] = image[(source_y * side + source_x) as usize];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_files::digit_image;
    use super::*;

    #[test]
    fn shifting_moves_ink_and_fills_with_background() {
        let image = digit_image(200);
        let moved = shift(&image, 2, -1);
        assert_eq!(moved[SIDE * 13 + 16], 200);
        assert_eq!(moved.iter().filter(|&&p| p > 0).count(), 1);
        let mut corner = [0u8; PIXELS];
        corner[0] = 9;
        assert!(shift(&corner, -1, 0).iter().all(|&p| p == 0), "moved out");
    }

    #[test]
    fn the_same_seed_draws_the_same_shifts() {
        let a = RandomShift::new(2, 5).draw(100);
        assert_eq!(a, RandomShift::new(2, 5).draw(100));
        assert_ne!(a, RandomShift::new(2, 6).draw(100));
        assert!(a.iter().all(|&(dx, dy)| dx.abs() <= 2 && dy.abs() <= 2));
        assert!(a.iter().any(|&(dx, _)| dx == -2) && a.iter().any(|&(dx, _)| dx == 2));
    }
}
