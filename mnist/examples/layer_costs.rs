#![recursion_limit = "256"]
//! Where a CPU training step's time goes: forward plus backward of single layers on a batch
//! of 64 full-resolution feature maps, and whole training steps (Adam included) of the usual
//! conv-pool design next to cheaper variants, down to the committed strided one. The figures
//! chose the committed architecture; `cargo xtask bench` prints them in BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release -p mnist --example layer_costs -- --backend flex
//! ```
//! Prints one JSON object per line.

use std::time::Instant;

use anyhow::{Result, bail};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d, Relu,
};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;
use serde_json::json;

const BATCH: usize = 64;
const REPEATS: usize = 10;

/// A convolution (stride 1 or 2), optional batch norm, ReLU, optional 2x2 max pooling before
/// or after the norm.
#[derive(Module, Debug)]
struct Block {
    conv: Conv2d,
    norm: Option<BatchNorm>,
    pool: Option<MaxPool2d>,
    pool_first: bool,
}

struct BlockSpec {
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    pool: Option<Pool>,
    norm: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Pool {
    AfterActivation,
    BeforeNorm,
}

impl BlockSpec {
    fn init(&self, device: &Device) -> Block {
        let pad = self.kernel / 2;
        Block {
            conv: Conv2dConfig::new(self.channels, [self.kernel, self.kernel])
                .with_stride([self.stride, self.stride])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .with_bias(!self.norm)
                .init(device),
            norm: self
                .norm
                .then(|| BatchNormConfig::new(self.channels[1]).init(device)),
            pool: self.pool.map(|_| MaxPool2dConfig::new([2, 2]).init()),
            pool_first: self.pool == Some(Pool::BeforeNorm),
        }
    }
}

impl Block {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = self.conv.forward(x);
        if self.pool_first
            && let Some(pool) = &self.pool
        {
            x = pool.forward(x);
        }
        if let Some(norm) = &self.norm {
            x = norm.forward(x);
        }
        x = Relu::new().forward(x);
        if !self.pool_first
            && let Some(pool) = &self.pool
        {
            x = pool.forward(x);
        }
        x
    }
}

/// Convolution blocks, then `flat -> 128 -> 10` with dropout, as in the committed model.
#[derive(Module, Debug)]
struct Net {
    blocks: Vec<Block>,
    hidden: Linear,
    dropout: Dropout,
    output: Linear,
}

impl Net {
    fn new(blocks: &[BlockSpec], flat: usize, device: &Device) -> Self {
        Self {
            blocks: blocks.iter().map(|b| b.init(device)).collect(),
            hidden: LinearConfig::new(flat, 128).init(device),
            dropout: DropoutConfig::new(0.25).init(),
            output: LinearConfig::new(128, 10).init(device),
        }
    }

    fn forward(&self, mut x: Tensor<4>) -> Tensor<2> {
        for block in &self.blocks {
            x = block.forward(x);
        }
        let [n, c, h, w] = x.dims();
        let x = Relu::new().forward(self.hidden.forward(x.reshape([n, c * h * w])));
        self.output.forward(self.dropout.forward(x))
    }
}

fn block(channels: [usize; 2], kernel: usize, stride: usize, pool: Option<Pool>) -> BlockSpec {
    BlockSpec {
        channels,
        kernel,
        stride,
        pool,
        norm: true,
    }
}

fn architectures() -> Vec<(&'static str, Vec<BlockSpec>, usize)> {
    use Pool::*;
    vec![
        (
            "conv3x3(32) BN ReLU pool, conv3x3(64) BN ReLU pool (the usual design)",
            vec![
                block([1, 32], 3, 1, Some(AfterActivation)),
                block([32, 64], 3, 1, Some(AfterActivation)),
            ],
            3136,
        ),
        (
            "the same, pooling right after each conv (BN and ReLU on a quarter of the pixels)",
            vec![
                block([1, 32], 3, 1, Some(BeforeNorm)),
                block([32, 64], 3, 1, Some(BeforeNorm)),
            ],
            3136,
        ),
        (
            "conv5x5/2(32) BN ReLU, conv3x3(64) pool BN ReLU",
            vec![
                block([1, 32], 5, 2, None),
                block([32, 64], 3, 1, Some(BeforeNorm)),
            ],
            3136,
        ),
        (
            "conv5x5/2(32) BN ReLU, conv3x3/2(64) BN ReLU (committed)",
            vec![block([1, 32], 5, 2, None), block([32, 64], 3, 2, None)],
            3136,
        ),
    ]
}

fn milliseconds<T>(mut f: impl FnMut() -> T) -> f64 {
    let _ = f();
    let started = Instant::now();
    for _ in 0..REPEATS {
        let _ = f();
    }
    started.elapsed().as_secs_f64() * 1000.0 / REPEATS as f64
}

/// `[BATCH, channels, 28, 28]` standard normal values.
fn random_images(channels: usize, device: &Device) -> Tensor<4> {
    Tensor::random(
        [BATCH, channels, 28, 28],
        Distribution::Normal(0.0, 1.0),
        device,
    )
}

/// One layer's forward pass, boxed so different layers fit one list.
type Layer<'a> = Box<dyn Fn(Tensor<4>) -> Tensor<4> + 'a>;

/// Forward plus backward of single layers on `[64, 32, 28, 28]`, on the autodiff device.
fn layer_costs(device: &Device) {
    let autodiff = device.clone().autodiff();
    let x = random_images(32, &autodiff).require_grad();
    let conv = Conv2dConfig::new([32, 32], [3, 3])
        .with_padding(PaddingConfig2d::Same)
        .with_bias(false)
        .init(&autodiff);
    let strided = Conv2dConfig::new([32, 32], [3, 3])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(false)
        .init(&autodiff);
    let norm = BatchNormConfig::new(32).init(&autodiff);
    let pool = MaxPool2dConfig::new([2, 2]).init();
    let layers: Vec<(&str, Layer<'_>)> = vec![
        (
            "identity (the sum and backward around every layer)",
            Box::new(|x| x),
        ),
        ("relu", Box::new(|x| Relu::new().forward(x))),
        ("batch norm (training)", Box::new(|x| norm.forward(x))),
        ("max pool 2x2", Box::new(|x| pool.forward(x))),
        ("conv 3x3 32->32", Box::new(|x| conv.forward(x))),
        ("conv 3x3 32->32 stride 2", Box::new(|x| strided.forward(x))),
    ];
    for (name, layer) in layers {
        let ms = milliseconds(|| {
            let grads = layer(x.clone()).sum().backward();
            x.grad(&grads).map(|g| g.into_data())
        });
        println!(
            "{}",
            json!({"kind": "layer", "name": name, "input": "[64, 32, 28, 28]", "ms": ms})
        );
    }
}

/// Whole training steps (forward, cross-entropy, backward, Adam) on random images.
fn architecture_costs(device: &Device) {
    let autodiff = device.clone().autodiff();
    let images = random_images(1, &autodiff);
    let labels: Vec<i64> = (0..BATCH as i64).map(|i| i % 10).collect();
    let targets = Tensor::<1, Int>::from_data(TensorData::new(labels, [BATCH]), &autodiff);
    let loss = CrossEntropyLossConfig::new().init(&autodiff);
    for (name, blocks, flat) in architectures() {
        let mut net = Net::new(&blocks, flat, &autodiff);
        let parameters = net.num_params();
        let mut optimizer = AdamConfig::new().init();
        let ms = milliseconds(|| {
            let value = loss.forward(net.forward(images.clone()), targets.clone());
            let grads = GradientsParams::from_grads(value.backward(), &net);
            net = optimizer.step(1e-3, net.clone(), grads);
        });
        println!(
            "{}",
            json!({
                "kind": "architecture",
                "name": name,
                "parameters": parameters,
                "step_ms": ms,
                "train_images_per_second": (BATCH as f64 * 1000.0 / ms).round(),
            })
        );
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let backend = match args.as_slice() {
        [] => "flex",
        [flag, value] if flag == "--backend" => value.as_str(),
        _ => bail!("usage: layer_costs [--backend flex|ndarray]"),
    };
    let device = match backend {
        "flex" => Device::flex(),
        #[allow(deprecated)] // measured on purpose, next to flex
        "ndarray" => Device::ndarray(),
        other => bail!("unknown backend {other} (flex or ndarray)"),
    };
    device.seed(42);
    layer_costs(&device);
    architecture_costs(&device);
    Ok(())
}
