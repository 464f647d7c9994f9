//! 2-D convolution as im2col and one gemm over the whole batch, and its backward pass from the
//! same patch matrix.
//!
//! burn's flex backend convolves forward with im2col too, but its backward is burn's generic
//! one: the weight gradient as a second convolution with the batch as channels (through tiled
//! transposes) and the input gradient as a transposed convolution. Here the forward keeps its
//! patch matrix, and both gradients are one gemm each on it: `dW = dZ x patchesᵀ`,
//! `d(patches) = Wᵀ x dZ`, folded back onto the input (col2im).

use rayon::prelude::*;

use crate::matmul::{View, matmul};

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

/// Forward pass: the `[batch, out, oh, ow]` output and the patch matrix the backward pass
/// reads.
///
/// The patch matrix is `[in * kh * kw, batch * oh * ow]`, row-major: row `(c, ky, kx)` holds
/// what that kernel tap sees at every output position of every image, so im2col writes and
/// col2im reads long contiguous runs, and the product `W x patches` comes out channel-major
/// (`[out, batch * oh * ow]`), one contiguous copy per image and channel from NCHW.
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
    (to_images(&z, geometry), patches)
}

/// The gradients a backward pass asks for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wanted {
    pub(crate) input: bool,
    pub(crate) weight: bool,
}

/// Gradients of the input and the weights (each when wanted) from the output's gradient.
///
/// `patches` is the forward pass's patch matrix; once the weights' gradient has read it, the
/// patches' gradient is written over it (same size), saving a multi-MB buffer per step.
pub(crate) fn backward(
    grad_out: &[f32],
    patches: &mut [f32],
    weight: &[f32],
    geometry: &Geometry,
    wanted: Wanted,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let columns = geometry.columns();
    let (patch, channels_out) = (geometry.patch(), geometry.channels_out);
    let dz = from_images(grad_out, geometry);
    let dz = View::rows(&dz, channels_out, columns);
    let grad_weight = wanted.weight.then(|| {
        let mut dw = vec![0.0; channels_out * patch];
        matmul(&mut dw, dz, View::rows(patches, patch, columns).t(), false);
        dw
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
/// in parallel.
fn im2col(x: &[f32], geometry: &Geometry) -> Vec<f32> {
    let [height, width] = geometry.input;
    let [kh, kw] = geometry.kernel;
    let (positions, columns) = (geometry.positions(), geometry.columns());
    let taps = geometry.taps();
    let mut patches = vec![0.0; geometry.patch() * columns];
    patches
        .par_chunks_mut(columns)
        .enumerate()
        .for_each(|(row, out)| {
            let (channel, tap) = (row / (kh * kw), row % (kh * kw));
            let reads = &taps[tap * positions..][..positions];
            for (image, out) in x
                .chunks_exact(geometry.image())
                .zip(out.chunks_exact_mut(positions))
            {
                let plane = &image[channel * height * width..][..height * width];
                for (value, &read) in out.iter_mut().zip(reads) {
                    *value = plane.get(read as usize).copied().unwrap_or(0.0);
                }
            }
        });
    patches
}

/// col2im: every patch element's gradient added back onto the input element it was read
/// from. Each input plane (image, channel) gathers its own taps in a fixed order, so planes
/// run in parallel and the sums are reproducible.
fn col2im(d_patches: &[f32], geometry: &Geometry) -> Vec<f32> {
    let [height, width] = geometry.input;
    let [kh, kw] = geometry.kernel;
    let (positions, columns) = (geometry.positions(), geometry.columns());
    let taps = geometry.taps();
    let mut grad = vec![0.0; geometry.batch * geometry.image()];
    grad.par_chunks_mut(height * width)
        .enumerate()
        .for_each(|(index, plane)| {
            let (image, channel) = (index / geometry.channels_in, index % geometry.channels_in);
            for (tap, reads) in taps.chunks_exact(positions).enumerate() {
                let row = (channel * kh * kw + tap) * columns + image * positions;
                for (&value, &read) in d_patches[row..][..positions].iter().zip(reads) {
                    if let Some(target) = plane.get_mut(read as usize) {
                        *target += value;
                    }
                }
            }
        });
    grad
}

/// `[out, batch * positions]` (the product) to NCHW `[batch, out, positions]`.
fn to_images(z: &[f32], geometry: &Geometry) -> Vec<f32> {
    let (positions, channels) = (geometry.positions(), geometry.channels_out);
    let columns = geometry.columns();
    let mut out = vec![0.0; z.len()];
    out.par_chunks_mut(positions)
        .enumerate()
        .for_each(|(index, plane)| {
            let (image, channel) = (index / channels, index % channels);
            plane.copy_from_slice(&z[channel * columns + image * positions..][..positions]);
        });
    out
}

/// NCHW `[batch, out, positions]` to `[out, batch * positions]`.
fn from_images(grad: &[f32], geometry: &Geometry) -> Vec<f32> {
    let (positions, channels) = (geometry.positions(), geometry.channels_out);
    let mut dz = vec![0.0; grad.len()];
    dz.par_chunks_mut(positions)
        .enumerate()
        .for_each(|(index, run)| {
            let (channel, image) = (index / geometry.batch, index % geometry.batch);
            run.copy_from_slice(&grad[(image * channels + channel) * positions..][..positions]);
        });
    dz
}
