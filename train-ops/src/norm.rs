//! Batch normalisation with batch statistics, fused with the ReLU after it, and its backward
//! pass: two passes over the activations each way instead of burn's chain of a dozen generic
//! ops (swap, reshape, mean, subtract, square, mean, ... each with its own backward).

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

    /// One channel's values, image by image.
    fn channel<'a>(&self, data: &'a [f32], channel: usize) -> impl Iterator<Item = &'a [f32]> {
        data.chunks_exact(self.channels * self.plane)
            .map(move |image| &image[channel * self.plane..][..self.plane])
    }
}

/// What the forward pass returns and keeps.
#[derive(Debug)]
pub(crate) struct Forward {
    /// `relu(gamma * x̂ + beta)`.
    pub(crate) output: Vec<f32>,
    /// `x̂ = (x - mean) / sqrt(var + eps)`, kept for the backward pass.
    pub(crate) normalized: Vec<f32>,
    /// Per-channel batch mean and (biased) variance, for the running statistics.
    pub(crate) mean: Vec<f32>,
    pub(crate) variance: Vec<f32>,
    /// `1 / sqrt(var + eps)` per channel.
    pub(crate) inv_std: Vec<f32>,
}

/// Forward pass.
pub(crate) fn forward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
    shape: &Shape,
) -> Forward {
    let n = shape.samples() as f64;
    // Each plane sums in f32 (vectorised), planes add up in f64: exact enough, same order
    // every run.
    let (mean, variance): (Vec<f32>, Vec<f32>) = (0..shape.channels)
        .into_par_iter()
        .map(|channel| {
            let sum: f64 = shape
                .channel(x, channel)
                .map(|plane| f64::from(lane_sum(plane, |v| v)))
                .sum();
            let mean = (sum / n) as f32;
            let squares: f64 = shape
                .channel(x, channel)
                .map(|plane| f64::from(lane_sum(plane, |v| (v - mean) * (v - mean))))
                .sum();
            (mean, (squares / n) as f32)
        })
        .unzip();
    let inv_std: Vec<f32> = variance
        .iter()
        .map(|&v| (1.0 / (f64::from(v) + epsilon).sqrt()) as f32)
        .collect();
    let mut normalized = vec![0.0; x.len()];
    let mut output = vec![0.0; x.len()];
    normalized
        .par_chunks_mut(shape.plane)
        .zip(output.par_chunks_mut(shape.plane))
        .zip(x.par_chunks(shape.plane))
        .enumerate()
        .for_each(|(index, ((normalized, output), x))| {
            let c = index % shape.channels;
            for ((n, o), &v) in normalized.iter_mut().zip(output.iter_mut()).zip(x) {
                *n = (v - mean[c]) * inv_std[c];
                *o = activated(gamma[c], *n, beta[c]);
            }
        });
    Forward {
        output,
        normalized,
        mean,
        variance,
        inv_std,
    }
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

/// Gradients of the input, `gamma` and `beta` from the output's gradient and what the forward
/// pass kept.
pub(crate) fn backward(
    grad_out: &[f32],
    normalized: &[f32],
    gamma: &[f32],
    beta: &[f32],
    inv_std: &[f32],
    shape: &Shape,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    // The ReLU's gradient first: zero where the output was clamped.
    let mut g = vec![0.0; grad_out.len()];
    g.par_chunks_mut(shape.plane)
        .zip(grad_out.par_chunks(shape.plane))
        .zip(normalized.par_chunks(shape.plane))
        .enumerate()
        .for_each(|(index, ((g, d), xn))| {
            let c = index % shape.channels;
            for ((g, &d), &xn) in g.iter_mut().zip(d).zip(xn) {
                *g = if activated(gamma[c], xn, beta[c]) > 0.0 {
                    d
                } else {
                    0.0
                };
            }
        });
    // dbeta = Σ g, dgamma = Σ g x̂, per channel.
    let (grad_beta, grad_gamma): (Vec<f32>, Vec<f32>) = (0..shape.channels)
        .into_par_iter()
        .map(|channel| {
            let (mut sum, mut dot) = (0f64, 0f64);
            for (g, xn) in shape
                .channel(&g, channel)
                .zip(shape.channel(normalized, channel))
            {
                sum += f64::from(lane_sum(g, |g| g));
                dot += f64::from(lane_dot(g, xn));
            }
            (sum as f32, dot as f32)
        })
        .unzip();
    // dx = gamma / std * (g - mean(g) - x̂ mean(g x̂)).
    let n = shape.samples() as f32;
    let mut grad_x = g;
    grad_x
        .par_chunks_mut(shape.plane)
        .zip(normalized.par_chunks(shape.plane))
        .enumerate()
        .for_each(|(index, (g, xn))| {
            let c = index % shape.channels;
            let scale = gamma[c] * inv_std[c];
            let (mean_g, mean_gx) = (grad_beta[c] / n, grad_gamma[c] / n);
            for (g, &xn) in g.iter_mut().zip(xn) {
                *g = scale * (*g - mean_g - xn * mean_gx);
            }
        });
    (grad_x, grad_gamma, grad_beta)
}
