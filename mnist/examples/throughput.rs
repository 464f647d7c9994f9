#![recursion_limit = "256"]
//! Training and evaluation throughput of the MNIST CNN on a CPU backend, measured on real
//! images with the training step the learner runs (forward, cross-entropy, backward, Adam),
//! without the learner's metric and logging threads. `cargo xtask bench` runs it.
//!
//! ```sh
//! cargo run --release -p mnist --example throughput -- --backend flex --steps 100
//! cargo run --release -p mnist --example throughput -- --layers burn   # without train-ops
//! ```
//! Prints one JSON object.

use std::time::Instant;

use anyhow::{Result, bail};
use burn::data::dataloader::batcher::Batcher;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::prelude::*;
use mnist::data::{MnistBatcher, MnistItem, RandomShift, load};
use mnist::input::PixelNormalization;
use mnist::model::{MnistModel, MnistModelConfig};
use mnist::training::ALGORITHM;
use serde_json::json;
use train_kit::paths::resolve_data_dir;

struct Options {
    backend: String,
    /// `train-ops` (the training kernels, what the binaries run) or `burn` (burn's layers).
    layers: String,
    batch_size: usize,
    steps: usize,
    warmup: usize,
}

fn options() -> Result<Options> {
    let mut options = Options {
        backend: "flex".into(),
        layers: "train-ops".into(),
        batch_size: ALGORITHM.defaults.batch_size,
        steps: 100,
        warmup: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--backend" => options.backend = value,
            "--layers" => options.layers = value,
            "--batch-size" => options.batch_size = value.parse()?,
            "--steps" => options.steps = value.parse()?,
            "--warmup" => options.warmup = value.parse()?,
            other => bail!(
                "unknown option {other} (--backend, --layers, --batch-size, --steps, --warmup)"
            ),
        }
    }
    Ok(options)
}

fn device(backend: &str) -> Result<Device> {
    Ok(match backend {
        "flex" => Device::flex(),
        #[allow(deprecated)] // measured on purpose, next to flex
        "ndarray" => Device::ndarray(),
        other => bail!("unknown backend {other} (flex or ndarray)"),
    })
}

fn main() -> Result<()> {
    // As the training binary does.
    train_kernels::flush_denormals()?;
    train_kernels::keep_freed_memory();
    let options = options()?;
    let device = device(&options.backend)?;
    match options.layers.as_str() {
        "train-ops" => {}
        "burn" => train_kernels::set_kernels_enabled(false),
        other => bail!("unknown layers {other} (train-ops or burn)"),
    }
    let data = load(&resolve_data_dir(None).path)?;
    let normalization = PixelNormalization::fit(data.train.iter().map(|item| &item.pixels));
    let batcher = MnistBatcher {
        normalization,
        augmentation: Some(RandomShift::new(2, 42)),
    };
    let autodiff = device.clone().autodiff();
    device.seed(42);
    let mut model = MnistModelConfig::new().init(&autodiff);
    let mut optimizer = train_kernels::Adam::new(0.9, 0.999, 1e-5).init();
    let loss = CrossEntropyLossConfig::new().init(&autodiff);
    let batches = data.train.chunks(options.batch_size).cycle();

    let (mut forward, mut backward, mut update) = (0f64, 0f64, 0f64);
    let mut measured = 0usize;
    for (step, chunk) in batches.take(options.warmup + options.steps).enumerate() {
        let batch = batcher.batch(chunk.to_vec(), &autodiff);
        let started = Instant::now();
        let value = loss.forward(model.forward(batch.inputs), batch.targets);
        // Reading the loss waits for the forward pass on backends that queue work.
        let _ = value.clone().into_scalar::<f32>();
        let forward_done = Instant::now();
        let grads = GradientsParams::from_grads(value.backward(), &model);
        let backward_done = Instant::now();
        model = optimizer.step(1e-3, model, grads);
        let done = Instant::now();
        if step >= options.warmup {
            forward += (forward_done - started).as_secs_f64();
            backward += (backward_done - forward_done).as_secs_f64();
            update += (done - backward_done).as_secs_f64();
            measured += chunk.len();
        }
    }
    let train_seconds = forward + backward + update;
    let train_rate = measured as f64 / train_seconds;
    let evaluation_rate = evaluation_rate(&model.valid(), &normalization, &data.test, &device)?;
    let epoch_seconds =
        data.train.len() as f64 / train_rate + data.test.len() as f64 / evaluation_rate;
    let per_step = |seconds: f64| seconds * 1000.0 / options.steps as f64;
    let report = json!({
        "backend": options.backend,
        "layers": options.layers,
        "batch_size": options.batch_size,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "steps": options.steps,
        "parameters": model.num_params(),
        "train_images_per_second": train_rate.round(),
        "step_ms": {"forward": per_step(forward), "backward": per_step(backward), "adam": per_step(update)},
        "evaluation_images_per_second": evaluation_rate.round(),
        "epoch_seconds_estimate": epoch_seconds.round(),
    });
    println!("{report}");
    Ok(())
}

/// Inference-mode forward passes over (at most 5,000 of) the test images, in batches of 500.
fn evaluation_rate(
    model: &MnistModel,
    normalization: &PixelNormalization,
    test: &[MnistItem],
    device: &Device,
) -> Result<f64> {
    let batcher = MnistBatcher {
        normalization: *normalization,
        augmentation: None,
    };
    let items = &test[..test.len().min(5000)];
    let started = Instant::now();
    for chunk in items.chunks(500) {
        let batch = batcher.batch(chunk.to_vec(), device);
        let _ = model.forward(batch.inputs).into_data();
    }
    Ok(items.len() as f64 / started.elapsed().as_secs_f64())
}
