//! The one product every layer is made of: `out[r][j] = Σ_k x[r][k] · w[k][j]`.
//!
//! Each output is summed from `k = 0` upwards, one multiply and one add at a time, whatever the
//! blocking: the compiler may not reorder or fuse floating-point operations, so a wasm module
//! and a native build compute the same bits, and a row's answer does not depend on the rows
//! beside it in a batch. The speed comes from blocking, not from reassociation: a block of
//! [`ROWS`] x [`COLUMNS`] outputs stays in vector registers (SIMD128 in the modules, SSE
//! natively: the same four-lane width) while `k` runs, so each weight is loaded once per
//! [`ROWS`] rows.

/// Rows summed together: each weight vector loaded serves this many rows.
const ROWS: usize = 6;
/// Columns summed together: two four-lane vectors per row, so the 6 x 8 block is twelve
/// accumulators beside two weight registers and an input (16 vector registers on x86-64).
const COLUMNS: usize = 8;

/// `out` (`rows` x `n`) = `x` (`rows` x `k`) · `w` (`k` x `n`), all row-major.
///
/// # Panics
/// When a slice is shorter than its shape: the layers size their own buffers.
pub fn matmul(x: &[f32], rows: usize, k: usize, w: &[f32], n: usize, out: &mut [f32]) {
    assert!(x.len() >= rows * k && w.len() >= k * n && out.len() >= rows * n);
    let full_columns = n - n % COLUMNS;
    let mut r = 0;
    while r + ROWS <= rows {
        for c in (0..full_columns).step_by(COLUMNS) {
            block::<ROWS>(x, r, k, w, n, c, out);
        }
        for row in r..r + ROWS {
            columns_one_by_one(x, row, k, w, n, full_columns, out);
        }
        r += ROWS;
    }
    for row in r..rows {
        for c in (0..full_columns).step_by(COLUMNS) {
            block::<1>(x, row, k, w, n, c, out);
        }
        columns_one_by_one(x, row, k, w, n, full_columns, out);
    }
}

/// Outputs `[r, r + R) x [c, c + COLUMNS)`.
#[inline(always)]
fn block<const R: usize>(
    x: &[f32],
    r: usize,
    k: usize,
    w: &[f32],
    n: usize,
    c: usize,
    out: &mut [f32],
) {
    let mut acc = [[0.0f32; COLUMNS]; R];
    let x_rows: [&[f32]; R] = std::array::from_fn(|i| &x[(r + i) * k..(r + i + 1) * k]);
    for kk in 0..k {
        let weights: &[f32; COLUMNS] = w[kk * n + c..kk * n + c + COLUMNS]
            .try_into()
            .expect("a block of columns");
        for (acc_row, x_row) in acc.iter_mut().zip(&x_rows) {
            let input = x_row[kk];
            for (a, &weight) in acc_row.iter_mut().zip(weights) {
                *a += input * weight;
            }
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        out[(r + i) * n + c..(r + i) * n + c + COLUMNS].copy_from_slice(acc_row);
    }
}

/// Outputs `[row] x [from, n)`, the columns left over after the blocks.
fn columns_one_by_one(
    x: &[f32],
    row: usize,
    k: usize,
    w: &[f32],
    n: usize,
    from: usize,
    out: &mut [f32],
) {
    let x_row = &x[row * k..(row + 1) * k];
    for j in from..n {
        let mut acc = 0.0f32;
        for (kk, &input) in x_row.iter().enumerate() {
            acc += input * w[kk * n + j];
        }
        out[row * n + j] = acc;
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
        for rows in [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13] {
            for (k, n) in [(1, 1), (4, 3), (3, 8), (25, 32), (7, 17), (12, 16), (5, 9)] {
                let x: Vec<f32> = (0..rows * k).map(|_| rng.random_range(-3.0..3.0)).collect();
                let w: Vec<f32> = (0..k * n).map(|_| rng.random_range(-1.0..1.0)).collect();
                let mut out = vec![f32::NAN; rows * n];
                matmul(&x, rows, k, &w, n, &mut out);
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
        let mut batch = vec![0.0; 7 * n];
        matmul(&x, 7, k, &w, n, &mut batch);
        for r in 0..7 {
            let mut one = vec![0.0; n];
            matmul(&x[r * k..(r + 1) * k], 1, k, &w, n, &mut one);
            assert_eq!(one, batch[r * n..(r + 1) * n]);
        }
    }
}
