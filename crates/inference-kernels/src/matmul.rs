//! The one product every layer is made of: `out[r][j] = Σ_k x[r][k] · w[k][j]`.
//!
//! Each output is summed from `k = 0` upwards, one multiply and one add at a time, whatever the
//! blocking: the compiler may not reorder or fuse floating-point operations, so a wasm module
//! and a native build compute the same bits, and a row's answer does not depend on the rows
//! beside it in a batch. The speed comes from the memory layout and blocking, not from
//! reassociation:
//!
//! - the weights are packed once, when a layer is loaded, into panels of [`COLUMNS`] columns
//!   (`[k][COLUMNS]`, contiguous; the last panel padded with zeros whose sums are dropped), and
//!   each product packs its input rows into blocks of [`ROWS`] (`[k][ROWS]`), so the inner loop
//!   reads both operands in order with no index arithmetic or bounds checks;
//! - a block of [`ROWS`] x [`COLUMNS`] outputs stays in vector registers (SIMD128 in the
//!   modules, written out in [`crate::lanes`]; SSE natively: the same four-lane width) while
//!   `k` runs, so each weight is loaded once per [`ROWS`] rows;
//! - panels are the outer loop, so one panel (`k` x [`COLUMNS`] weights, 100 KB at most in
//!   these networks) stays in cache while every row block runs over it. (Slicing `k` as well,
//!   to keep a whole pass in L1, measured no faster on MNIST's batches of 1,000.)

use crate::lanes::F32x4;

/// Rows summed together: each weight vector loaded serves this many rows.
const ROWS: usize = 6;
/// Columns summed together: two four-lane vectors per row, so the 6 x 8 block is twelve
/// accumulators beside two weight registers and an input (16 vector registers on x86-64).
const COLUMNS: usize = 8;

/// A `k` x `n` weight matrix packed for [`PackedWeights::multiply`].
#[derive(Debug, Clone)]
pub struct PackedWeights {
    k: usize,
    n: usize,
    /// `n.div_ceil(COLUMNS)` panels, each `k` rows of [`COLUMNS`] values.
    panels: Vec<[f32; COLUMNS]>,
}

impl PackedWeights {
    /// Packs `w` (`k` x `n`, row-major).
    ///
    /// # Panics
    /// When `w` does not hold `k * n` values: the layers check shapes when they load.
    pub fn pack(w: &[f32], k: usize, n: usize) -> Self {
        assert_eq!(w.len(), k * n, "a weight matrix's size");
        let mut panels = vec![[0.0; COLUMNS]; n.div_ceil(COLUMNS) * k];
        for (p, panel) in panels.chunks_exact_mut(k.max(1)).enumerate() {
            let first = p * COLUMNS;
            let width = COLUMNS.min(n - first);
            for (kk, lanes) in panel.iter_mut().enumerate().take(k) {
                lanes[..width].copy_from_slice(&w[kk * n + first..kk * n + first + width]);
            }
        }
        Self { k, n, panels }
    }

    /// Rows of the product (`k`, its inputs).
    pub fn inputs(&self) -> usize {
        self.k
    }

    /// Columns of the product (`n`, its outputs).
    pub fn outputs(&self) -> usize {
        self.n
    }

    /// `out` (`rows` x `n`) = `x` (`rows` x `k`) · the weights, row-major.
    ///
    /// # Panics
    /// When `x` or `out` does not have `rows` rows: the layers size their own buffers.
    pub fn multiply(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        let (k, n) = (self.k, self.n);
        assert!(
            x.len() == rows * k && out.len() == rows * n,
            "a product's sizes"
        );
        if k == 0 {
            out.fill(0.0);
            return;
        }
        let blocks = RowBlocks::pack(x, rows, k);
        for (p, panel) in self.panels.chunks_exact(k).enumerate() {
            let columns = p * COLUMNS..(p * COLUMNS + COLUMNS).min(n);
            for (b, block) in blocks.full.chunks_exact(k).enumerate() {
                let sums = block_sums::<ROWS>(block.as_flattened(), panel);
                store(&sums, b * ROWS, n, &columns, out);
            }
            let first = blocks.full.len() / k * ROWS;
            let rest = &blocks.rest;
            match rest.len() / k {
                0 => {}
                1 => store(&block_sums::<1>(rest, panel), first, n, &columns, out),
                2 => store(&block_sums::<2>(rest, panel), first, n, &columns, out),
                3 => store(&block_sums::<3>(rest, panel), first, n, &columns, out),
                4 => store(&block_sums::<4>(rest, panel), first, n, &columns, out),
                _ => store(&block_sums::<5>(rest, panel), first, n, &columns, out),
            }
        }
    }
}

/// The input rows in blocks of [`ROWS`], each `[k][ROWS]`; the last `rows % ROWS` rows in one
/// smaller block, `[k][rows % ROWS]`, in `rest`.
struct RowBlocks {
    full: Vec<[f32; ROWS]>,
    rest: Vec<f32>,
}

impl RowBlocks {
    fn pack(x: &[f32], rows: usize, k: usize) -> Self {
        let full_rows = rows - rows % ROWS;
        let mut full = vec![[0.0; ROWS]; full_rows / ROWS * k];
        for (b, block) in full.chunks_exact_mut(k).enumerate() {
            for (i, row) in x[b * ROWS * k..(b + 1) * ROWS * k]
                .chunks_exact(k)
                .enumerate()
            {
                for (lanes, &value) in block.iter_mut().zip(row) {
                    lanes[i] = value;
                }
            }
        }
        let left = rows - full_rows;
        let mut rest = vec![0.0; left * k];
        for (i, row) in x[full_rows * k..].chunks_exact(k).enumerate() {
            for (kk, &value) in row.iter().enumerate() {
                rest[kk * left + i] = value;
            }
        }
        Self { full, rest }
    }
}

/// The `R` x [`COLUMNS`] sums of one row block (`[k][R]`, flat) over one panel, each summed
/// from `k = 0` upwards in registers: per row, two four-lane sums.
#[inline(always)]
fn block_sums<const R: usize>(block: &[f32], panel: &[[f32; COLUMNS]]) -> [[f32; COLUMNS]; R] {
    let (inputs, _) = block.as_chunks::<R>();
    let mut acc = [[F32x4::splat(0.0); 2]; R];
    for (inputs, weights) in inputs.iter().zip(panel) {
        let (low, high) = weights.split_at(4);
        let low = F32x4::load(low.try_into().expect("four lanes"));
        let high = F32x4::load(high.try_into().expect("four lanes"));
        for (acc_row, input) in acc.iter_mut().zip(splats(inputs)) {
            acc_row[0] = acc_row[0].add_product(input, low);
            acc_row[1] = acc_row[1].add_product(input, high);
        }
    }
    acc.map(|[low, high]| {
        let mut sums = [0.0; COLUMNS];
        sums[..4].copy_from_slice(&low.to_array());
        sums[4..].copy_from_slice(&high.to_array());
        sums
    })
}

/// Each of a block's `R` inputs at one depth in all four lanes. From four inputs on, they are
/// loaded as vectors (the first four and the last four) and each lane spread by a shuffle.
#[inline(always)]
fn splats<const R: usize>(inputs: &[f32; R]) -> [F32x4; R] {
    if R < 4 {
        return std::array::from_fn(|i| F32x4::splat_from(&inputs[i]));
    }
    let first = F32x4::load(inputs[..4].try_into().expect("four lanes"));
    let last = F32x4::load(inputs[R - 4..].try_into().expect("four lanes"));
    std::array::from_fn(|i| {
        if i < 4 {
            first.lane_splat(i)
        } else {
            last.lane_splat(i + 4 - R)
        }
    })
}

/// Writes a block's sums for `columns` into rows `first..` of `out`.
#[inline(always)]
fn store<const R: usize>(
    sums: &[[f32; COLUMNS]; R],
    first: usize,
    n: usize,
    columns: &std::ops::Range<usize>,
    out: &mut [f32],
) {
    let width = columns.len();
    for (i, row) in sums.iter().enumerate() {
        let at = (first + i) * n + columns.start;
        out[at..at + width].copy_from_slice(&row[..width]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng as StdRng;

    fn naive(x: &[f32], rows: usize, k: usize, w: &[f32], n: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; rows * n];
        for r in 0..rows {
            for j in 0..n {
                let mut acc = 0.0f32;
                for kk in 0..k {
                    acc += x[r * k + kk] * w[kk * n + j];
                }
                out[r * n + j] = acc;
            }
        }
        out
    }

    #[test]
    fn every_shape_sums_in_the_same_order_as_the_naive_product() {
        let mut rng = StdRng::seed_from_u64(7);
        // MNIST's depths (k up to 3,136) in miniature, and row counts around the block size.
        let shapes = [
            (1, 1),
            (4, 3),
            (3, 8),
            (25, 32),
            (7, 17),
            (12, 16),
            (5, 9),
            (0, 4),
        ];
        let deep = [(256, 8), (257, 9), (549, 17)];
        for rows in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 49, 53] {
            for (k, n) in shapes.into_iter().chain(deep) {
                let x: Vec<f32> = (0..rows * k).map(|_| rng.random_range(-3.0..3.0)).collect();
                let w: Vec<f32> = (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect();
                let mut out = vec![f32::NAN; rows * n];
                PackedWeights::pack(&w, k, n).multiply(&x, rows, &mut out);
                // Bit for bit: the same additions in the same order.
                assert_eq!(out, naive(&x, rows, k, &w, n), "{rows}x{k} by {k}x{n}");
            }
        }
    }

    #[test]
    fn a_row_does_not_depend_on_its_batch() {
        let mut rng = StdRng::seed_from_u64(8);
        let (k, n) = (33, 24);
        let x: Vec<f32> = (0..7 * k).map(|_| rng.random_range(-3.0..3.0)).collect();
        let w: Vec<f32> = (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let weights = PackedWeights::pack(&w, k, n);
        let mut batch = vec![0.0; 7 * n];
        weights.multiply(&x, 7, &mut batch);
        for r in 0..7 {
            let mut one = vec![0.0; n];
            weights.multiply(&x[r * k..(r + 1) * k], 1, &mut one);
            assert_eq!(one, batch[r * n..(r + 1) * n]);
        }
    }

    #[test]
    fn packing_keeps_the_shape() {
        let weights = PackedWeights::pack(&[1.0; 30], 3, 10);
        assert_eq!((weights.inputs(), weights.outputs()), (3, 10));
    }
}
