//! Batch normalisation with batch statistics, fused with the ReLU after it, and its backward
//! pass: one task per channel that reads its planes three times forward and twice backward
//! while they are in the core's cache, instead of burn's chain of a dozen generic ops (swap,
//! reshape, mean, subtract, square, mean, ... each with its own backward). In inference, the
//! running statistics folded into one scale and shift per channel, with the ReLU, in one pass.

use rayon::prelude::*;

/// An NCHW activation's sizes: `batch` images of `channels` planes of `plane` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) batch: usize,
    pub(crate) channels: usize,
    pub(crate) plane: usize,
}

impl Shape {
    fn samples(&self) -> usize {
        self.batch * self.plane
    }

    /// How far apart consecutive images' and channels' planes lie in a buffer of `layout`.
    fn strides(&self, layout: Layout) -> [usize; 2] {
        match layout {
            Layout::Nchw => [self.channels * self.plane, self.plane],
            Layout::ChannelMajor => [self.plane, self.batch * self.plane],
        }
    }
}

/// How the planes of an NCHW-shaped activation lie in its buffer, each plane's values
/// contiguous either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Image by image, each image channel by channel.
    Nchw,
    /// Channel by channel, each channel image by image (`[channels, batch, plane]`): how a
    /// convolution's product comes out of its gemm, and what its backward pass multiplies.
    /// Batch norm reads and writes it as well as NCHW, so no copy sits between the two.
    ChannelMajor,
}

/// An activation's values and their [`Layout`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Planes<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) layout: Layout,
}

impl<'a> Planes<'a> {
    /// One channel's planes, image by image.
    fn channel(self, shape: &Shape, channel: usize) -> impl Iterator<Item = &'a [f32]> {
        let [image_stride, channel_stride] = shape.strides(self.layout);
        (0..shape.batch).map(move |image| {
            &self.data[image * image_stride + channel * channel_stride..][..shape.plane]
        })
    }
}

/// What the forward pass returns and keeps.
#[derive(Debug)]
pub(crate) struct Forward {
    /// `relu(gamma * x̂ + beta)`, `x̂ = (x - mean) / sqrt(var + eps)`.
    pub(crate) output: Vec<f32>,
    /// Per-channel batch mean and (biased) variance, for the running statistics.
    pub(crate) mean: Vec<f32>,
    pub(crate) variance: Vec<f32>,
    /// `1 / sqrt(var + eps)` per channel.
    pub(crate) inv_std: Vec<f32>,
}

/// The planes of `data` (laid out as `layout`) grouped by channel, image by image: what one
/// channel's task writes.
pub(crate) fn channel_planes_mut<'a>(
    data: &'a mut [f32],
    shape: &Shape,
    layout: Layout,
) -> Vec<Vec<&'a mut [f32]>> {
    if layout == Layout::ChannelMajor {
        return data
            .chunks_exact_mut(shape.samples())
            .map(|channel| channel.chunks_exact_mut(shape.plane).collect())
            .collect();
    }
    let mut channels: Vec<Vec<&mut [f32]>> = (0..shape.channels)
        .map(|_| Vec::with_capacity(shape.batch))
        .collect();
    for (index, plane) in data.chunks_exact_mut(shape.plane).enumerate() {
        channels[index % shape.channels].push(plane);
    }
    channels
}

/// Forward pass of `x` (either layout) into an NCHW output. One task per channel reads that
/// channel's planes three times (sum, squared deviations, output) while they are still in
/// the core's cache.
pub(crate) fn forward(
    x: Planes<'_>,
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
    shape: &Shape,
) -> Forward {
    let n = shape.samples() as f64;
    let mut output = vec![0.0; x.data.len()];
    // Each plane sums in f32 (vectorised), planes add up in f64: exact enough, same order
    // every run.
    let statistics: Vec<[f32; 3]> = channel_planes_mut(&mut output, shape, Layout::Nchw)
        .into_par_iter()
        .enumerate()
        .map(|(channel, planes)| {
            let sum: f64 = x
                .channel(shape, channel)
                .map(|plane| f64::from(lane_sum(plane, |v| v)))
                .sum();
            let mean = (sum / n) as f32;
            let squares: f64 = x
                .channel(shape, channel)
                .map(|plane| f64::from(lane_sum(plane, |v| (v - mean) * (v - mean))))
                .sum();
            let variance = (squares / n) as f32;
            let inv_std = (1.0 / (f64::from(variance) + epsilon).sqrt()) as f32;
            let (gamma, beta) = (gamma[channel], beta[channel]);
            for (out, x) in planes.into_iter().zip(x.channel(shape, channel)) {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = activated(gamma, (v - mean) * inv_std, beta);
                }
            }
            [mean, variance, inv_std]
        })
        .collect();
    let column = |i: usize| statistics.iter().map(|s| s[i]).collect();
    Forward {
        output,
        mean: column(0),
        variance: column(1),
        inv_std: column(2),
    }
}

/// Inference: `relu(scale * x + shift)` per channel, with `scale` and `shift` folded from the
/// running statistics (see `crate::batch_norm_relu`), for `x` in either layout into an NCHW
/// output. One task per channel, one pass.
pub(crate) fn scale_shift_relu(
    x: Planes<'_>,
    scale: &[f32],
    shift: &[f32],
    shape: &Shape,
) -> Vec<f32> {
    let mut output = vec![0.0; x.data.len()];
    channel_planes_mut(&mut output, shape, Layout::Nchw)
        .into_par_iter()
        .enumerate()
        .for_each(|(channel, planes)| {
            let (scale, shift) = (scale[channel], shift[channel]);
            for (out, x) in planes.into_iter().zip(x.channel(shape, channel)) {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = (v * scale + shift).max(0.0);
                }
            }
        });
    output
}

/// Lanes of the sums below: independent partial sums the compiler keeps in one vector
/// register, instead of one chain of dependent additions.
const LANES: usize = 8;

/// `Σ f(v)`, in [`LANES`] partial sums added at the end: a fixed order, so reproducible.
fn lane_sum(values: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += f(v);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `Σ a b`, in lanes like [`lane_sum`].
fn lane_dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in chunks_a.zip(chunks_b) {
        for ((lane, &a), &b) in lanes.iter_mut().zip(a).zip(b) {
            *lane += a * b;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `relu(gamma * x̂ + beta)`: the forward and the backward pass's mask compute it alike.
fn activated(gamma: f32, normalized: f32, beta: f32) -> f32 {
    let y = gamma * normalized + beta;
    if y > 0.0 { y } else { 0.0 }
}

/// What the backward pass reads besides the output's gradient: the forward pass's input and
/// per-channel figures (`x̂` is recomputed from them exactly as the forward pass computed it,
/// rather than kept as another activation-sized buffer).
#[derive(Clone, Debug)]
pub(crate) struct Saved<'a> {
    pub(crate) x: Planes<'a>,
    pub(crate) mean: &'a [f32],
    pub(crate) inv_std: &'a [f32],
    pub(crate) gamma: &'a [f32],
    pub(crate) beta: &'a [f32],
}

/// Gradients of the input (in the input's layout), `gamma` and `beta` from the output's
/// gradient (either layout). One task per channel: the ReLU's mask and both sums in one pass
/// over its planes, the input's gradient in a second while they are still in cache.
pub(crate) fn backward(
    grad_out: Planes<'_>,
    saved: &Saved<'_>,
    shape: &Shape,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = shape.samples() as f32;
    let mut grad_x = vec![0.0; grad_out.data.len()];
    let sums: Vec<[f32; 2]> = channel_planes_mut(&mut grad_x, shape, saved.x.layout)
        .into_par_iter()
        .enumerate()
        .map(|(c, mut planes)| {
            let (mean, inv_std) = (saved.mean[c], saved.inv_std[c]);
            let (gamma, beta) = (saved.gamma[c], saved.beta[c]);
            let normalize = |v: f32| (v - mean) * inv_std;
            let x = || saved.x.channel(shape, c);
            // dbeta = Σ g, dgamma = Σ g x̂, where g is the gradient zeroed where the ReLU
            // clamped.
            let mut normalized = vec![0.0; shape.plane];
            let (mut sum, mut dot) = (0f64, 0f64);
            for ((g, d), x) in planes.iter_mut().zip(grad_out.channel(shape, c)).zip(x()) {
                for ((xn, g), (&d, &v)) in
                    normalized.iter_mut().zip(g.iter_mut()).zip(d.iter().zip(x))
                {
                    *xn = normalize(v);
                    *g = if activated(gamma, *xn, beta) > 0.0 {
                        d
                    } else {
                        0.0
                    };
                }
                sum += f64::from(lane_sum(g, |g| g));
                dot += f64::from(lane_dot(g, &normalized));
            }
            let (grad_beta, grad_gamma) = (sum as f32, dot as f32);
            // dx = gamma / std * (g - mean(g) - x̂ mean(g x̂)).
            let scale = gamma * inv_std;
            let (mean_g, mean_gx) = (grad_beta / n, grad_gamma / n);
            for (g, x) in planes.iter_mut().zip(x()) {
                for (g, &v) in g.iter_mut().zip(x) {
                    *g = scale * (*g - mean_g - normalize(v) * mean_gx);
                }
            }
            [grad_beta, grad_gamma]
        })
        .collect();
    let (grad_beta, grad_gamma) = sums.iter().map(|&[b, g]| (b, g)).unzip();
    (grad_x, grad_gamma, grad_beta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_shift_relu_scales_each_channel_by_its_own_figures() {
        let shape = Shape {
            batch: 2,
            channels: 3,
            plane: 2,
        };
        let x: Vec<f32> = (0..12).map(|i| i as f32 - 5.0).collect();
        let (scale, shift) = ([1.0, -2.0, 0.5], [0.5, 1.0, -1.0]);
        let expected: Vec<f32> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let c = i / shape.plane % shape.channels;
                (v * scale[c] + shift[c]).max(0.0)
            })
            .collect();
        let x = Planes {
            data: &x,
            layout: Layout::Nchw,
        };
        assert_eq!(scale_shift_relu(x, &scale, &shift, &shape), expected);
    }

    /// `nchw` laid out channel by channel.
    fn channel_major(nchw: &[f32], shape: &Shape) -> Vec<f32> {
        let planes: Vec<&[f32]> = nchw.chunks_exact(shape.plane).collect();
        (0..shape.channels)
            .flat_map(|c| (0..shape.batch).map(move |n| n * shape.channels + c))
            .flat_map(|index| planes[index].iter().copied())
            .collect()
    }

    #[test]
    fn both_layouts_give_the_same_bits_forward_and_backward() {
        let shape = Shape {
            batch: 3,
            channels: 4,
            plane: 13,
        };
        let len = shape.batch * shape.channels * shape.plane;
        let wave = |salt: usize| -> Vec<f32> {
            (0..len)
                .map(|i| ((i * salt % 101) as f32 / 37.0 - 1.3).sin())
                .collect()
        };
        let (x, grad_out) = (wave(17), wave(29));
        let (gamma, beta) = ([1.5, -0.5, 0.8, 1.0], [0.1, 0.3, -0.2, 0.0]);
        let (x_cm, grad_cm) = (channel_major(&x, &shape), channel_major(&grad_out, &shape));
        let nchw = |data| Planes {
            data,
            layout: Layout::Nchw,
        };
        let cm = |data| Planes {
            data,
            layout: Layout::ChannelMajor,
        };
        let forward_nchw = forward(nchw(&x), &gamma, &beta, 1e-5, &shape);
        let forward_cm = forward(cm(&x_cm), &gamma, &beta, 1e-5, &shape);
        assert_eq!(
            forward_cm.output, forward_nchw.output,
            "outputs are NCHW both times"
        );
        assert_eq!(forward_cm.mean, forward_nchw.mean);
        assert_eq!(forward_cm.variance, forward_nchw.variance);
        let saved = |x| Saved {
            x,
            mean: &forward_nchw.mean,
            inv_std: &forward_nchw.inv_std,
            gamma: &gamma,
            beta: &beta,
        };
        let (dx, dgamma, dbeta) = backward(nchw(&grad_out), &saved(nchw(&x)), &shape);
        for grad in [nchw(&grad_out), cm(&grad_cm)] {
            let (dx_cm, dgamma_cm, dbeta_cm) = backward(grad, &saved(cm(&x_cm)), &shape);
            assert_eq!(dx_cm, channel_major(&dx, &shape), "in the input's layout");
            assert_eq!((&dgamma_cm, &dbeta_cm), (&dgamma, &dbeta));
        }
        assert!(
            dx.iter().any(|&g| g != 0.0),
            "a gradient that says something"
        );
    }
}
