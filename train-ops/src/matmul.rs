//! One checked entry to gemm: every product of the ops is `dst (+)= lhs x rhs` on row-major
//! buffers read through strides, so a transposed operand is a swap of its strides, never a copy.

/// A read-only matrix view: `rows x cols` elements of `data`, element `(r, c)` at
/// `r * row_stride + c * col_stride`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) row_stride: usize,
    pub(crate) col_stride: usize,
}

impl<'a> View<'a> {
    /// A contiguous row-major `rows x cols` matrix.
    pub(crate) fn rows(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, read from the same memory.
    pub(crate) fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Whether every element lies inside `data`.
    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
                < self.data.len()
    }
}

/// Products below this many multiply-adds run on the calling thread: splitting them costs more
/// than it saves.
const PARALLEL_FROM: usize = 1 << 18;

/// `dst = lhs x rhs`, or `dst += lhs x rhs` when `accumulate`; `dst` is row-major
/// `lhs.rows x rhs.cols`.
///
/// Each element's sum runs over the inner dimension in the same order whatever the thread
/// count (gemm splits the output, never the inner dimension), so results are reproducible.
///
/// # Panics
/// When the shapes disagree or a view reaches past its buffer: a bug in the caller.
pub(crate) fn matmul(dst: &mut [f32], lhs: View<'_>, rhs: View<'_>, accumulate: bool) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "matmul: inner dimensions differ");
    assert_eq!(dst.len(), m * n, "matmul: output buffer of the wrong size");
    assert!(
        lhs.fits() && rhs.fits(),
        "matmul: a view reaches past its buffer"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    let parallelism = if m * n * k >= PARALLEL_FROM {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    #[allow(unsafe_code)]
    // SAFETY: the asserts above keep every element gemm reads or writes inside its slice; the
    // output is exclusively borrowed and the inputs are shared borrows of other buffers.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(lhs: View<'_>, rhs: View<'_>) -> Vec<f32> {
        let mut out = vec![0.0; lhs.rows * rhs.cols];
        for r in 0..lhs.rows {
            for c in 0..rhs.cols {
                out[r * rhs.cols + c] = (0..lhs.cols)
                    .map(|i| {
                        lhs.data[r * lhs.row_stride + i * lhs.col_stride]
                            * rhs.data[i * rhs.row_stride + c * rhs.col_stride]
                    })
                    .sum();
            }
        }
        out
    }

    fn ramp(len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0)
            .collect()
    }

    #[test]
    fn transposed_views_multiply_like_copies() {
        let (a, b) = (ramp(5 * 3), ramp(3 * 4));
        for (lhs, rhs) in [
            (View::rows(&a, 5, 3), View::rows(&b, 3, 4)),
            (View::rows(&a, 3, 5).t(), View::rows(&b, 4, 3).t()),
        ] {
            let mut out = vec![9.0; 5 * 4];
            matmul(&mut out, lhs, rhs, false);
            assert_eq!(out, naive(lhs, rhs));
            matmul(&mut out, lhs, rhs, true);
            let twice: Vec<f32> = naive(lhs, rhs).iter().map(|v| v * 2.0).collect();
            assert_eq!(out, twice);
        }
    }

    #[test]
    #[should_panic(expected = "reaches past its buffer")]
    fn a_view_past_its_buffer_is_refused() {
        let a = ramp(6);
        let mut out = vec![0.0; 4];
        matmul(&mut out, View::rows(&a, 2, 4), View::rows(&a, 4, 2), false);
    }
}
