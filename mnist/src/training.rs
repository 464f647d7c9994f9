//! Training: the learner's steps for the CNN, the evaluation on the test images and the run
//! that writes `artifacts/mnist/`.

use std::time::Instant;

use anyhow::{Result, anyhow};
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric};
use burn::train::{ClassificationOutput, Learner, SupervisedTraining};
use clap::Args;
use common::artifact::StagedDir;
use common::scores::argmax;
use common::train_cli::{TrainBinary, TrainDefaults, TrainRun};
use common::training::{EpochCurves, RunInfo, draw_classification_chart, launch, save_run};

use crate::data::{MnistBatch, MnistBatcher, MnistItem, RandomShift, load};
use crate::inference::{MnistEvaluation, confusion_table};
use crate::model::{
    CLASSES, DataSource, MnistArtifactConfig, MnistModel, MnistModelConfig, PixelNormalization,
};

/// The committed model was trained with these (and seed 42).
pub const DEFAULTS: TrainDefaults = TrainDefaults {
    epochs: 8,
    batch_size: 64,
    learning_rate: 0.002,
};

/// Images per batch when evaluating: only memory bounds it, as no gradients are kept.
const EVALUATION_BATCH: usize = 500;

pub const CPU_BINARY: TrainBinary = TrainBinary {
    algorithm: "mnist",
    binary: "mnist-ndarray",
    about: "Trains the MNIST digit classifier on the CPU and writes artifacts/mnist/",
    defaults: DEFAULTS,
};

pub const WGPU_BINARY: TrainBinary = TrainBinary {
    algorithm: "mnist",
    binary: "mnist-wgpu",
    about: "Trains the MNIST digit classifier on a GPU through wgpu and writes artifacts/mnist/",
    defaults: DEFAULTS,
};

/// MNIST options beside the common ones.
#[derive(Debug, Clone, Args)]
pub struct MnistArgs {
    /// Train and validate on the first N images of each split only, for quick runs
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Shift each training image by up to this many pixels in x and y (seeded); 0 turns
    /// augmentation off
    #[arg(long, value_name = "PIXELS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=4))]
    pub max_shift: u64,
}

impl MnistModel {
    fn forward_classification(&self, batch: MnistBatch) -> ClassificationOutput {
        let logits = self.forward(batch.images);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

common::impl_supervised_steps!(
    MnistModel,
    MnistBatch,
    ClassificationOutput,
    forward_classification
);

/// Accuracy, mean cross-entropy and confusion matrix of `model` on `items`.
pub fn evaluate(
    model: &MnistModel,
    normalization: &PixelNormalization,
    items: &[MnistItem],
    data: DataSource,
    device: &Device,
) -> Result<MnistEvaluation> {
    let batcher = MnistBatcher {
        normalization: *normalization,
        augmentation: None,
    };
    let mut confusion = vec![vec![0usize; CLASSES.len()]; CLASSES.len()];
    let mut loss_sum = 0f64;
    for chunk in items.chunks(EVALUATION_BATCH) {
        let batch = batcher.batch(chunk.to_vec(), device);
        let log_probabilities = log_softmax(model.forward(batch.images), 1)
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| anyhow!("cannot read the model's output: {e:?}"))?;
        for (scores, item) in log_probabilities.chunks_exact(CLASSES.len()).zip(chunk) {
            let label = usize::from(item.label);
            loss_sum -= f64::from(scores[label]);
            confusion[label][argmax(scores)] += 1;
        }
    }
    let correct: usize = (0..CLASSES.len()).map(|c| confusion[c][c]).sum();
    let examples = items.len().max(1) as f64;
    Ok(MnistEvaluation {
        data,
        test_accuracy: correct as f64 / examples,
        test_loss: loss_sum / examples,
        test_examples: items.len(),
        confusion_table: confusion_table(&confusion),
        confusion,
    })
}

/// Trains with `run`'s settings and replaces the artifact directory with the results.
pub fn train(run: TrainRun<MnistArgs>) -> Result<()> {
    let started = Instant::now();
    let args = &run.args;
    let limit = run.extra.limit.map(|n| n as usize);
    let data = load(&run.data_dir.path)?.limit(limit);
    println!(
        "mnist: {} training and {} test images from {}{}",
        data.train.len(),
        data.test.len(),
        data.source,
        limit.map_or(String::new(), |n| format!(" (--limit {n})"))
    );
    let normalization = PixelNormalization::fit(data.train.iter().map(|item| &item.pixels));
    let max_shift = run.extra.max_shift as usize;
    let train_batcher = MnistBatcher {
        normalization,
        augmentation: Some(RandomShift::new(max_shift, args.seed)),
    };
    let test_batcher = MnistBatcher {
        normalization,
        augmentation: None,
    };

    run.device.seed(args.seed);
    let model_config = MnistModelConfig::new();
    // Parameters are created where gradients are tracked: on the autodiff device.
    let model = model_config.init(&run.device.clone().autodiff());
    let steps_per_epoch = data.train.len().div_ceil(args.batch_size.max(1));
    let train_loader = DataLoaderBuilder::new(train_batcher)
        .batch_size(args.batch_size)
        .shuffle(args.seed)
        .build(InMemDataset::new(data.train.clone()));
    // The test images are the validation split: the curves watch them, but nothing is chosen
    // by them (no early stopping, the last epoch's model is kept).
    let valid_loader = DataLoaderBuilder::new(test_batcher)
        .batch_size(EVALUATION_BATCH)
        .build(InMemDataset::new(data.test.clone()));

    let stage = StagedDir::new(&run.artifact_dir)?;
    let training = SupervisedTraining::new(stage.path(), train_loader, valid_loader)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metric_train_numeric(LearningRateMetric::new())
        .num_epochs(args.epochs);
    // Cosine decay from the peak rate to 1% of it over the whole run.
    let schedule = CosineAnnealingLrSchedulerConfig::new(
        args.learning_rate,
        (args.epochs * steps_per_epoch).max(1),
    )
    .with_min_lr(args.learning_rate / 100.0)
    .init()
    .map_err(|e| anyhow!("invalid learning-rate schedule: {e}"))?;
    let learner = Learner::new(model, AdamConfig::new().init(), schedule);
    let training_started = Instant::now();
    let model = launch(training, learner)?;
    let training_seconds = training_started.elapsed().as_secs_f64();

    let curves = EpochCurves::read(stage.path(), &["Loss", "Accuracy"])?;
    println!("{}", curves.summary);
    draw_classification_chart(stage.path(), "MNIST training", &curves)?;
    let device = run.device.clone().inner();
    let evaluation = evaluate(&model, &normalization, &data.test, data.source, &device)?;

    let settings = args.settings();
    let config = MnistArtifactConfig {
        model: model_config,
        normalization,
        training: settings.clone(),
    };
    let info = RunInfo {
        algorithm: "mnist",
        backend: run.backend.clone(),
        settings,
        started,
        dataset_sha256: data.sha256.clone(),
    };
    let epochs_run = curves.summary.epochs;
    let (report, destination) = save_run(stage, model, &config, info, epochs_run, evaluation)?;
    let images = (data.train.len() + data.test.len()) * epochs_run;
    println!(
        "mnist: {epochs_run} epochs in {training_seconds:.0} s ({:.0} images/s, training and \
         validation passes together)",
        images as f64 / training_seconds.max(1e-9)
    );
    println!("{}", report.evaluation.confusion_table.join("\n"));
    println!(
        "mnist: test accuracy {:.2}% (loss {:.4}) on {} images; artifacts in {}",
        report.evaluation.test_accuracy * 100.0,
        report.evaluation.test_loss,
        report.evaluation.test_examples,
        destination.display()
    );
    Ok(())
}
