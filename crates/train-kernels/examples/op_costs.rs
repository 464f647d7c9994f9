#![recursion_limit = "256"]
//! Each op of the training kernels beside the burn layer it replaces, forward and backward on the
//! shapes of the MNIST CNN's training step (batch 64), alternating in one process; prints a
//! Markdown table. The figures behind "what each op bought" in BENCHMARKS.md:
//!
//! ```sh
//! cargo run --release -p train-kernels --example op_costs
//! ```

use std::time::Instant;

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::relu;

/// Timed repetitions per measurement, after as many warm-up runs.
const REPEATS: usize = 100;

/// Milliseconds per call of `step`.
fn per_call(mut step: impl FnMut()) -> f64 {
    for _ in 0..REPEATS / 10 {
        step();
    }
    let started = Instant::now();
    for _ in 0..REPEATS {
        step();
    }
    started.elapsed().as_secs_f64() * 1000.0 / REPEATS as f64
}

fn conv(channels: [usize; 2], kernel: usize, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device)
}

fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

fn main() -> anyhow::Result<()> {
    train_kernels::flush_denormals()?;
    let device = Device::flex().autodiff();
    device.seed(1);
    let (conv1, conv2) = (conv([1, 32], 5, &device), conv([32, 64], 3, &device));
    let (norm1, norm2): (BatchNorm, BatchNorm) = (
        BatchNormConfig::new(32).init(&device),
        BatchNormConfig::new(64).init(&device),
    );
    let hidden: Linear = LinearConfig::new(3136, 128).init(&device);
    // The images need no gradient; every later activation does, as in the model.
    let images = random([64, 1, 28, 28], &device);
    let maps1 = random([64, 32, 14, 14], &device).require_grad();
    let maps2 = random([64, 64, 7, 7], &device).require_grad();
    let features = random([64, 3136], &device).require_grad();

    type Layer<'a> = (&'a str, Box<dyn Fn() -> Tensor<1> + 'a>);
    let layers: Vec<Layer<'_>> = vec![
        (
            "conv 5x5/2 1->32 (images)",
            Box::new(|| conv1.forward(images.clone()).sum()),
        ),
        (
            "conv 3x3/2 32->64",
            Box::new(|| conv2.forward(maps1.clone()).sum()),
        ),
        (
            "batch norm + ReLU, 32x14x14",
            Box::new(|| relu(norm1.forward(maps1.clone())).sum()),
        ),
        (
            "batch norm + ReLU, 64x7x7",
            Box::new(|| relu(norm2.forward(maps2.clone())).sum()),
        ),
        (
            "dense 3136->128",
            Box::new(|| hidden.forward(features.clone()).sum()),
        ),
    ];
    let ours: Vec<Layer<'_>> = vec![
        (
            "",
            Box::new(|| train_kernels::conv2d(&conv1, images.clone()).sum()),
        ),
        (
            "",
            Box::new(|| train_kernels::conv2d(&conv2, maps1.clone()).sum()),
        ),
        (
            "",
            Box::new(|| train_kernels::batch_norm_relu(&norm1, maps1.clone()).sum()),
        ),
        (
            "",
            Box::new(|| train_kernels::batch_norm_relu(&norm2, maps2.clone()).sum()),
        ),
        (
            "",
            Box::new(|| train_kernels::linear(&hidden, features.clone()).sum()),
        ),
    ];
    println!(
        "| layer (batch 64, forward + backward) | burn's layer ms | train-ops ms | speed-up |"
    );
    println!("| --- | ---: | ---: | ---: |");
    for ((name, burns), (_, train_kernels)) in layers.iter().zip(&ours) {
        let burn_ms = per_call(|| drop(burns().backward()));
        let ours_ms = per_call(|| drop(train_kernels().backward()));
        println!(
            "| {name} | {burn_ms:.2} | {ours_ms:.2} | {:.1}x |",
            burn_ms / ours_ms
        );
    }
    let (burn_ms, ours_ms) = (
        adam_step_ms(AdamConfig::new().init(), &device),
        adam_step_ms(train_kernels::Adam::new(0.9, 0.999, 1e-5).init(), &device),
    );
    println!(
        "| Adam step, the model's 422,442 parameters | {burn_ms:.2} | {ours_ms:.2} | {:.1}x |",
        burn_ms / ours_ms
    );
    Ok(())
}

/// The MNIST CNN's parameters (its layers, so the optimizer walks the same module tree).
#[derive(Module, Debug)]
struct Parameters {
    conv1: Conv2d,
    norm1: BatchNorm,
    conv2: Conv2d,
    norm2: BatchNorm,
    hidden: Linear,
    output: Linear,
}

/// Milliseconds per optimizer step on [`Parameters`], the gradients made outside the timing.
fn adam_step_ms(mut optimizer: ModuleOptimizer, device: &Device) -> f64 {
    let mut params = Parameters {
        conv1: conv([1, 32], 5, device),
        norm1: BatchNormConfig::new(32).init(device),
        conv2: conv([32, 64], 3, device),
        norm2: BatchNormConfig::new(64).init(device),
        hidden: LinearConfig::new(3136, 128).init(device),
        output: LinearConfig::new(128, 10).init(device),
    };
    let mut timed = std::time::Duration::ZERO;
    for step in 0..REPEATS + REPEATS / 10 {
        let loss = params.conv1.weight.val().powf_scalar(2.0).sum()
            + params.conv2.weight.val().powf_scalar(2.0).sum()
            + params.norm1.gamma.val().sum()
            + params.norm2.beta.val().sum()
            + params.hidden.weight.val().powf_scalar(2.0).sum()
            + params.output.weight.val().sum();
        let grads = GradientsParams::from_grads(loss.backward(), &params);
        let started = Instant::now();
        params = optimizer.step(1e-3, params, grads);
        if step >= REPEATS / 10 {
            timed += started.elapsed();
        }
    }
    timed.as_secs_f64() * 1000.0 / REPEATS as f64
}
