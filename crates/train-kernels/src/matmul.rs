//! One checked entry to gemm: every product of the ops is `dst (+)= lhs x rhs` on row-major
//! buffers read through strides, so a transposed operand is a swap of its strides, never a copy.

use rayon::prelude::*;

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
/// A large product is cut into one block of output columns (or rows, when the output is
/// taller than wide) per rayon thread, each a single-threaded gemm; where no such cut keeps
/// blocks of [`MIN_BLOCK`], gemm splits it itself. On this model's shapes (64 output rows:
/// the channels) two blocks side by side beat gemm's own two-thread split
/// (docs/benchmark-history.md, "gemm in blocks").
///
/// Every element comes out with the bits of the uncut single-threaded product, whatever the
/// thread count: the inner dimension is never split and blocks keep gemm's inner blocking
/// (tested below), so results are reproducible.
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
    let threads = rayon::current_num_threads();
    if m * n * k < PARALLEL_FROM || threads < 2 {
        gemm_block(&Block::whole(dst, m, n), lhs, rhs, accumulate, false);
        return;
    }
    if let Some(depth) = small_output_depth(m, n, k) {
        in_depth_chunks(dst, lhs, rhs, accumulate, depth);
        return;
    }
    let rows_split = m > n;
    let Some(size) = block_size(if rows_split { m } else { n }, threads) else {
        gemm_block(&Block::whole(dst, m, n), lhs, rhs, accumulate, true);
        return;
    };
    if rows_split {
        // Row blocks are contiguous runs of `dst`.
        dst.par_chunks_mut(size * n)
            .enumerate()
            .for_each(|(index, block)| {
                let lhs = lhs.rows_from(index * size, block.len() / n);
                gemm_block(
                    &Block::whole(block, lhs.rows, n),
                    lhs,
                    rhs,
                    accumulate,
                    false,
                );
            });
        return;
    }
    let columns = Columns::of(dst);
    (0..n.div_ceil(size)).into_par_iter().for_each(|index| {
        let first = index * size;
        let cols = size.min(n - first);
        let block = columns.block(m, n, first, cols);
        gemm_block(&block, lhs, rhs.cols_from(first, cols), accumulate, false);
    });
}

/// The shortest block gemm runs as it runs the whole product: below 65 rows and 65 columns it
/// takes another inner blocking (and below 2, matrix-vector kernels), which sums in another
/// order; blocks at least this long along the cut keep every element's bits those of the
/// uncut product, whatever the thread count.
const MIN_BLOCK: usize = 80;

/// The length of the blocks `len` rows or columns are cut into for `threads` threads: a
/// multiple of 16 (one AVX-512 register of f32), none shorter than [`MIN_BLOCK`]; `None` when
/// fewer than two such blocks fit.
fn block_size(len: usize, threads: usize) -> Option<usize> {
    (2..=threads.min(len / MIN_BLOCK)).rev().find_map(|blocks| {
        let size = len.div_ceil(blocks).next_multiple_of(16);
        let last = len - (len.div_ceil(size) - 1) * size;
        (last >= MIN_BLOCK).then_some(size)
    })
}

/// For a small output (at most 64 x 64, more than 16 x 16), gemm sums the inner dimension in
/// chunks of [`SMALL_OUTPUT_DEPTH`], each accumulated in registers from zero and then added
/// to the output in order; it never runs them side by side, and its split over the few
/// output tiles leaves the second core mostly idle (the MNIST CNN's first weight gradient,
/// 32 x 12544 x 25). The chunk length when such a product is long
/// enough to run its chunks in parallel ([`in_depth_chunks`]) with the same sums: `None`
/// for products gemm takes another path for (16 x 16 outputs or less use kernels of
/// 1024-long dot products; a last chunk of 1 or 2 a vector kernel).
fn small_output_depth(m: usize, n: usize, k: usize) -> Option<usize> {
    let small = m <= 64 && n <= 64 && m * n > 16 * 16;
    let last = k % SMALL_OUTPUT_DEPTH;
    (small && k >= 2 * SMALL_OUTPUT_DEPTH && !matches!(last, 1 | 2)).then_some(SMALL_OUTPUT_DEPTH)
}

/// gemm's inner blocking for outputs of at most 64 x 64 (`kc = min(k, 512)` in
/// `gemm-common`'s `gemm_basic_generic`, whatever the CPU).
const SMALL_OUTPUT_DEPTH: usize = 512;

/// `dst (+)= lhs x rhs` as one single-threaded gemm per `depth`-long chunk of the inner
/// dimension, in parallel, each into its own buffer, then added to `dst` in chunk order:
/// the additions gemm makes one after the other, so the bits are those of the uncut product.
fn in_depth_chunks(dst: &mut [f32], lhs: View<'_>, rhs: View<'_>, accumulate: bool, depth: usize) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    let partials: Vec<Vec<f32>> = (0..k.div_ceil(depth))
        .into_par_iter()
        .map(|index| {
            let (first, len) = (index * depth, depth.min(k - index * depth));
            let mut partial = vec![0.0; m * n];
            let (lhs, rhs) = (lhs.cols_from(first, len), rhs.rows_from(first, len));
            gemm_block(&Block::whole(&mut partial, m, n), lhs, rhs, false, false);
            partial
        })
        .collect();
    let mut partials = partials.into_iter();
    if !accumulate {
        let first = partials.next().expect("k >= depth: at least one chunk");
        dst.copy_from_slice(&first);
    }
    for partial in partials {
        for (out, value) in dst.iter_mut().zip(partial) {
            *out += value;
        }
    }
}

impl<'a> View<'a> {
    /// Rows `first..first + rows`.
    fn rows_from(self, first: usize, rows: usize) -> Self {
        Self {
            data: &self.data[first * self.row_stride..],
            rows,
            ..self
        }
    }

    /// Columns `first..first + cols`.
    fn cols_from(self, first: usize, cols: usize) -> Self {
        Self {
            data: &self.data[first * self.col_stride..],
            cols,
            ..self
        }
    }
}

/// Where one gemm writes: `rows x cols` elements from `ptr`, `row_stride` apart, inside a
/// buffer borrowed for `'a`.
struct Block<'a> {
    ptr: *mut f32,
    rows: usize,
    cols: usize,
    row_stride: usize,
    _borrow: std::marker::PhantomData<&'a mut [f32]>,
}

impl<'a> Block<'a> {
    /// All of a contiguous row-major `rows x cols` buffer.
    fn whole(dst: &'a mut [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(dst.len(), rows * cols, "matmul: a block of the wrong size");
        Self {
            ptr: dst.as_mut_ptr(),
            rows,
            cols,
            row_stride: cols,
            _borrow: std::marker::PhantomData,
        }
    }
}

/// A row-major output handed out in disjoint blocks of columns to parallel gemms: the
/// mutable borrow of the whole buffer is held while they run.
struct Columns<'a> {
    ptr: *mut f32,
    len: usize,
    _borrow: std::marker::PhantomData<&'a mut [f32]>,
}

// SAFETY: `block` hands out disjoint column ranges (each index once, from `matmul`'s loop),
// so no element is written by two threads, and nothing reads the buffer meanwhile.
#[allow(unsafe_code)]
unsafe impl Sync for Columns<'_> {}

impl<'a> Columns<'a> {
    fn of(dst: &'a mut [f32]) -> Self {
        Self {
            ptr: dst.as_mut_ptr(),
            len: dst.len(),
            _borrow: std::marker::PhantomData,
        }
    }

    /// Columns `first..first + cols` of the `rows x row_len` buffer.
    fn block(&self, rows: usize, row_len: usize, first: usize, cols: usize) -> Block<'_> {
        assert!(
            rows * row_len == self.len && first + cols <= row_len,
            "matmul: a column block outside the output"
        );
        Block {
            ptr: self.ptr.wrapping_add(first),
            rows,
            cols,
            row_stride: row_len,
            _borrow: std::marker::PhantomData,
        }
    }
}

/// One gemm into `block`: on the calling thread, or split by gemm itself over rayon's threads
/// when `gemm_threads`.
fn gemm_block(
    block: &Block<'_>,
    lhs: View<'_>,
    rhs: View<'_>,
    accumulate: bool,
    gemm_threads: bool,
) {
    assert!(
        block.rows == lhs.rows && block.cols == rhs.cols && lhs.cols == rhs.rows,
        "matmul: block and operands disagree"
    );
    assert!(
        lhs.fits() && rhs.fits(),
        "matmul: a view reaches past its buffer"
    );
    #[allow(unsafe_code)]
    // SAFETY: the asserts keep every element gemm reads inside its view's slice; `block` is
    // either a whole exclusively borrowed buffer or one of `Columns`' disjoint blocks, whose
    // last element (rows - 1) * row_stride + cols - 1 past `ptr` lies inside the buffer.
    unsafe {
        gemm::gemm(
            block.rows,
            block.cols,
            lhs.cols,
            block.ptr,
            1,
            block.row_stride as isize,
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
            if gemm_threads {
                gemm::Parallelism::Rayon(rayon::current_num_threads())
            } else {
                gemm::Parallelism::None
            },
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
    fn large_products_in_blocks_of_rows_or_columns_multiply_like_copies() {
        // Above PARALLEL_FROM, on three threads: ragged blocks both ways. The ramp's values
        // are quarters, so every sum is exact and any misplaced block shows.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for [m, k, n] in [[300, 30, 40], [24, 50, 300]] {
            assert!(m * k * n >= PARALLEL_FROM);
            let (a, b) = (ramp(m * k), ramp(k * n));
            for (lhs, rhs) in [
                (View::rows(&a, m, k), View::rows(&b, k, n)),
                (View::rows(&a, k, m).t(), View::rows(&b, n, k).t()),
            ] {
                let mut out = vec![9.0; m * n];
                pool.install(|| matmul(&mut out, lhs, rhs, false));
                assert_eq!(out, naive(lhs, rhs), "{m}x{k}x{n}");
                pool.install(|| matmul(&mut out, lhs, rhs, true));
                let twice: Vec<f32> = naive(lhs, rhs).iter().map(|v| v * 2.0).collect();
                assert_eq!(out, twice, "{m}x{k}x{n} accumulated");
            }
        }
    }

    /// Values that round in every product, unlike the ramp's quarters.
    fn rough(len: usize, salt: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (i * salt % 1000) as f32 / 997.0 - 0.5)
            .collect()
    }

    #[test]
    fn blocks_give_the_bits_of_the_uncut_product_on_any_thread_count() {
        // The MNIST CNN's products, one whose blocks would be too narrow to cut, small outputs
        // summed in chunks of the inner dimension (one with a last chunk of 1, left to gemm).
        for [m, k, n] in [
            [64, 288, 3136],
            [288, 64, 3136],
            [64, 3136, 288],
            [3136, 64, 128],
            [64, 3136, 128],
            [32, 25, 12544],
            [32, 12544, 25],
            [25, 12544, 32],
            [40, 1100, 60],
            [40, 1025, 60],
            [64, 3000, 150],
        ] {
            let (a, b) = (rough(m * k, 2_654_435_761), rough(k * n, 40_503));
            let start = rough(m * n, 7_919);
            // Both layouts of the right operand: the weight gradients read it transposed.
            for rhs in [View::rows(&b, k, n), View::rows(&b, n, k).t()] {
                let lhs = View::rows(&a, m, k);
                for accumulate in [false, true] {
                    let mut uncut = start.clone();
                    let whole = Block::whole(&mut uncut, m, n);
                    gemm_block(&whole, lhs, rhs, accumulate, false);
                    for threads in [2, 3, 5] {
                        let pool = rayon::ThreadPoolBuilder::new()
                            .num_threads(threads)
                            .build()
                            .unwrap();
                        let mut out = start.clone();
                        pool.install(|| matmul(&mut out, lhs, rhs, accumulate));
                        let differing = out.iter().zip(&uncut).filter(|(a, b)| a != b).count();
                        assert_eq!(
                            differing, 0,
                            "{m}x{k}x{n} on {threads} threads (accumulate: {accumulate})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn blocks_are_cut_at_least_min_block_long() {
        assert_eq!(block_size(3136, 2), Some(1568));
        assert_eq!(block_size(128, 2), None);
        assert_eq!(block_size(170, 2), None);
        assert_eq!(block_size(200, 2), Some(112));
        for len in 0..2000 {
            for threads in 1..9 {
                if let Some(size) = block_size(len, threads) {
                    let blocks = len.div_ceil(size);
                    assert!((2..=threads).contains(&blocks), "{len} on {threads}");
                    assert!(len - (blocks - 1) * size >= MIN_BLOCK, "{len} on {threads}");
                }
            }
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
