//! 2-D convolution as im2col and one gemm over the whole batch, and its backward pass from the
//! same patch matrix.
//!
//! burn's flex backend convolves forward with im2col too, but its backward is burn's generic
//! one: the weight gradient as a second convolution with the batch as channels (through tiled
//! transposes) and the input gradient as a transposed convolution. Here the forward keeps its
//! patch matrix, and both gradients are one gemm each on it: `dW = dZ x patchesᵀ` (computed
//! as its transpose), `d(patches) = Wᵀ x dZ`, folded back onto the input (col2im). The output
//! and its gradient stay channel-major, as the gemm writes and reads them.

use std::borrow::Cow;

use rayon::prelude::*;

use crate::matmul::{View, matmul};
use crate::norm::{Layout, Planes, Shape, channel_planes_mut};

/// The sizes of one convolution: NCHW input, `[out, in, kh, kw]` weights, no dilation, one
/// group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) batch: usize,
    pub(crate) channels_in: usize,
    pub(crate) input: [usize; 2],
    pub(crate) channels_out: usize,
    pub(crate) kernel: [usize; 2],
    pub(crate) stride: [usize; 2],
    /// Zeros before the first row and column (top, left).
    pub(crate) padding_start: [usize; 2],
    /// Zeros after the last row and column (bottom, right).
    pub(crate) padding_end: [usize; 2],
}

impl Geometry {
    /// Output height and width; `None` when the kernel does not fit the padded input or a
    /// stride is zero.
    pub(crate) fn output(&self) -> Option<[usize; 2]> {
        let side = |d: usize| {
            let padded = self.input[d] + self.padding_start[d] + self.padding_end[d];
            (self.stride[d] > 0 && padded >= self.kernel[d])
                .then(|| (padded - self.kernel[d]) / self.stride[d] + 1)
        };
        Some([side(0)?, side(1)?])
    }

    fn out(&self) -> [usize; 2] {
        self.output().expect("checked when the op was called")
    }

    /// Output positions per image.
    fn positions(&self) -> usize {
        let [oh, ow] = self.out();
        oh * ow
    }

    /// Output positions of the whole batch: the patch matrix's columns.
    pub(crate) fn columns(&self) -> usize {
        self.batch * self.positions()
    }

    /// Elements of one patch: one row of the patch matrix.
    pub(crate) fn patch(&self) -> usize {
        self.channels_in * self.kernel[0] * self.kernel[1]
    }

    fn image(&self) -> usize {
        self.channels_in * self.input[0] * self.input[1]
    }

    /// The input index a kernel tap reads at an output coordinate, or `None` in the padding.
    fn source(&self, dim: usize, out: usize, tap: usize) -> Option<usize> {
        (out * self.stride[dim] + tap)
            .checked_sub(self.padding_start[dim])
            .filter(|&i| i < self.input[dim])
    }

    /// For every kernel tap `(ky, kx)` in order, the index in an input plane that each
    /// output position reads, or [`PADDING`]: `kh * kw` runs of `oh * ow`. im2col and col2im
    /// follow it instead of working out strides and padding per short row (7 values at
    /// stride 2 in the MNIST net's second convolution).
    fn taps(&self) -> Vec<u32> {
        let [oh, ow] = self.out();
        let [kh, kw] = self.kernel;
        let width = self.input[1];
        let mut reads = Vec::with_capacity(kh * kw * oh * ow);
        for (ky, kx) in (0..kh).flat_map(|ky| (0..kw).map(move |kx| (ky, kx))) {
            for (oy, ox) in (0..oh).flat_map(|oy| (0..ow).map(move |ox| (oy, ox))) {
                let read = match (self.source(0, oy, ky), self.source(1, ox, kx)) {
                    (Some(iy), Some(ix)) => u32::try_from(iy * width + ix).unwrap_or(PADDING),
                    _ => PADDING,
                };
                reads.push(read);
            }
        }
        reads
    }
}

/// A tap that reads the zero padding: out of range of every plane (planes of 2^32 elements
/// are refused when the op is called).
const PADDING: u32 = u32::MAX;

/// Forward pass: the output, channel-major (`[out, batch, oh, ow]`, see
/// [`Layout::ChannelMajor`]), and the patch matrix the backward pass reads.
///
/// The patch matrix is `[in * kh * kw, batch * oh * ow]`, row-major: row `(c, ky, kx)` holds
/// what that kernel tap sees at every output position of every image, so im2col writes and
/// col2im reads long contiguous runs, and the product `W x patches` comes out channel-major
/// (`[out, batch * oh * ow]`). It stays so: batch norm reads it as it is, where a copy to
/// NCHW and one back for the backward pass were a measurable share of a training step.
pub(crate) fn forward(x: &[f32], weight: &[f32], geometry: &Geometry) -> (Vec<f32>, Vec<f32>) {
    let patches = im2col(x, geometry);
    let columns = geometry.columns();
    let (patch, channels_out) = (geometry.patch(), geometry.channels_out);
    let mut z = vec![0.0; channels_out * columns];
    matmul(
        &mut z,
        View::rows(weight, channels_out, patch),
        View::rows(&patches, patch, columns),
        false,
    );
    (z, patches)
}

/// The gradients a backward pass asks for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wanted {
    pub(crate) input: bool,
    pub(crate) weight: bool,
}

/// Gradients of the input (NCHW) and the weights (each when wanted) from the output's
/// gradient, channel-major (batch norm's backward pass writes it so) or NCHW (copied).
///
/// `patches` is the forward pass's patch matrix; once the weights' gradient has read it, the
/// patches' gradient is written over it (same size), saving a multi-MB buffer per step.
pub(crate) fn backward(
    grad_out: Planes<'_>,
    patches: &mut [f32],
    weight: &[f32],
    geometry: &Geometry,
    wanted: Wanted,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let columns = geometry.columns();
    let (patch, channels_out) = (geometry.patch(), geometry.channels_out);
    let dz = match grad_out.layout {
        Layout::ChannelMajor => Cow::Borrowed(grad_out.data),
        Layout::Nchw => Cow::Owned(from_images(grad_out.data, geometry)),
    };
    let dz = View::rows(&dz, channels_out, columns);
    let grad_weight = wanted.weight.then(|| {
        // `dWᵀ = patches x dZᵀ`, then transposed: both operands run along the batch's
        // positions, and gemm rearranges its right-hand operand in memory; the smaller `dZ`
        // is the cheaper one to rearrange (docs/benchmark-history.md). Same products, same
        // sums, same bits.
        let mut dw_t = vec![0.0; patch * channels_out];
        matmul(
            &mut dw_t,
            View::rows(patches, patch, columns),
            dz.t(),
            false,
        );
        transpose(&dw_t, patch, channels_out)
    });
    let grad_input = wanted.input.then(|| {
        let d_patches = patches;
        matmul(
            d_patches,
            View::rows(weight, channels_out, patch).t(),
            dz,
            false,
        );
        col2im(d_patches, geometry)
    });
    (grad_input, grad_weight)
}

/// The patch matrix (see [`forward`]), zeros in the padding. Rows are independent: they run
/// in parallel, each written once into memory that is not zeroed first: zeroing the whole
/// patch matrix first was a large share of im2col's time.
fn im2col(x: &[f32], geometry: &Geometry) -> Vec<f32> {
    let [height, width] = geometry.input;
    let [kh, kw] = geometry.kernel;
    let (positions, columns) = (geometry.positions(), geometry.columns());
    let taps = geometry.taps();
    let len = geometry.patch() * columns;
    assert_eq!(
        x.len(),
        geometry.batch * geometry.image(),
        "im2col: input of the wrong size"
    );
    let mut patches = Vec::with_capacity(len);
    patches.spare_capacity_mut()[..len]
        .par_chunks_mut(columns)
        .enumerate()
        .for_each(|(row, out)| {
            let (channel, tap) = (row / (kh * kw), row % (kh * kw));
            let reads = &taps[tap * positions..][..positions];
            // `batch` images of `positions` values: the whole row.
            for (image, out) in x
                .chunks_exact(geometry.image())
                .zip(out.chunks_exact_mut(positions))
            {
                let plane = &image[channel * height * width..][..height * width];
                for (value, &read) in out.iter_mut().zip(reads) {
                    value.write(plane.get(read as usize).copied().unwrap_or(0.0));
                }
            }
        });
    #[allow(unsafe_code)]
    // SAFETY: the rows cover the first `len` elements (`len` is `columns` per row), and each
    // row's loop writes all of its `batch * positions` (= `columns`) elements: `x` holds
    // `batch` images (asserted), `reads` `positions` taps.
    unsafe {
        patches.set_len(len);
    }
    patches
}

/// col2im: every patch element's gradient added back onto the input element it was read
/// from. Each input plane gathers its own taps in a fixed order, so the sums are
/// reproducible; one task per channel walks that channel's rows of `d_patches` front to back,
/// image by image, where a task per plane jumped between rows.
fn col2im(d_patches: &[f32], geometry: &Geometry) -> Vec<f32> {
    let [height, width] = geometry.input;
    let taps_per_channel = geometry.kernel[0] * geometry.kernel[1];
    let (positions, columns) = (geometry.positions(), geometry.columns());
    let taps = geometry.taps();
    let mut grad = vec![0.0; geometry.batch * geometry.image()];
    let shape = Shape {
        batch: geometry.batch,
        channels: geometry.channels_in,
        plane: height * width,
    };
    channel_planes_mut(&mut grad, &shape, Layout::Nchw)
        .into_par_iter()
        .enumerate()
        .for_each(|(channel, planes)| {
            let rows = &d_patches[channel * taps_per_channel * columns..];
            for (image, plane) in planes.into_iter().enumerate() {
                for (tap, reads) in taps.chunks_exact(positions).enumerate() {
                    let row = &rows[tap * columns + image * positions..][..positions];
                    for (&value, &read) in row.iter().zip(reads) {
                        if let Some(target) = plane.get_mut(read as usize) {
                            *target += value;
                        }
                    }
                }
            }
        });
    grad
}

/// NCHW `[batch, out, positions]` to `[out, batch * positions]`: one copy per plane into a
/// buffer that is not zeroed first (memory-bound: a second thread does not help).
fn from_images(grad: &[f32], geometry: &Geometry) -> Vec<f32> {
    let (positions, channels) = (geometry.positions(), geometry.channels_out);
    let mut dz = Vec::with_capacity(grad.len());
    for channel in 0..channels {
        for image in 0..geometry.batch {
            dz.extend_from_slice(&grad[(image * channels + channel) * positions..][..positions]);
        }
    }
    dz
}

/// The transpose of a row-major `rows x cols` matrix.
fn transpose(matrix: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; matrix.len()];
    for (r, row) in matrix.chunks_exact(cols).enumerate() {
        for (c, &value) in row.iter().enumerate() {
            out[c * rows + r] = value;
        }
    }
    out
}
