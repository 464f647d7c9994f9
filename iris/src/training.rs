//! Training: the learner's steps for the model, and the run that writes `artifacts/iris/`.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{ClassificationOutput, Learner, SupervisedTraining};
use common::artifact::StagedDir;
use common::scores::argmax;
use common::standardize::Standardizer;
use common::train_cli::{NoExtraArgs, TrainBinary, TrainDefaults, TrainRun};
use common::training::{EpochCurves, RunInfo, draw_classification_chart, launch, save_run};

use crate::data::{
    IRIS_DATA, IrisBatch, IrisBatcher, IrisItem, fit_preprocessing, load_items, split,
};
use crate::inference::IrisEvaluation;
use crate::model::{CLASSES, IrisArtifactConfig, IrisModel, IrisModelConfig};

/// The committed model was trained with these (and seed 42).
pub const DEFAULTS: TrainDefaults = TrainDefaults {
    epochs: 60,
    batch_size: 16,
    learning_rate: 0.005,
};

pub const CPU_BINARY: TrainBinary = TrainBinary {
    algorithm: "iris",
    binary: "iris-ndarray",
    about: "Trains the Iris classifier on the CPU and writes artifacts/iris/",
    defaults: DEFAULTS,
};

pub const WGPU_BINARY: TrainBinary = TrainBinary {
    algorithm: "iris",
    binary: "iris-wgpu",
    about: "Trains the Iris classifier on a GPU through wgpu and writes artifacts/iris/",
    defaults: DEFAULTS,
};

impl IrisModel {
    fn forward_classification(&self, batch: IrisBatch) -> ClassificationOutput {
        let logits = self.forward(batch.features);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

common::impl_supervised_steps!(
    IrisModel,
    IrisBatch,
    ClassificationOutput,
    forward_classification
);

/// Accuracy and mean cross-entropy of `model` on `items`.
pub fn evaluate(
    model: &IrisModel,
    preprocessing: &Standardizer,
    items: &[IrisItem],
    device: &Device,
) -> Result<IrisEvaluation> {
    let batch = IrisBatcher {
        preprocessing: preprocessing.clone(),
    }
    .batch(items.to_vec(), device);
    let logits = model.forward(batch.features);
    let loss = CrossEntropyLossConfig::new()
        .init(device)
        .forward(logits.clone(), batch.targets)
        .into_scalar::<f32>();
    let scores = logits
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("cannot read the model's output: {e:?}"))?;
    let correct = scores
        .chunks_exact(CLASSES.len())
        .zip(items)
        .filter(|(s, item)| argmax(s) == item.label)
        .count();
    Ok(IrisEvaluation {
        validation_accuracy: correct as f64 / items.len() as f64,
        validation_loss: f64::from(loss),
        validation_examples: items.len(),
    })
}

/// Trains with `run`'s settings and replaces the artifact directory with the results.
pub fn train(run: TrainRun<NoExtraArgs>) -> Result<()> {
    let started = Instant::now();
    let args = &run.args;
    let data = IRIS_DATA.fetch(&run.data_dir.path)?;
    let (train_items, valid_items) = split(load_items(&data.path)?, args.seed);
    println!(
        "iris: {} training and {} validation flowers (stratified, seed {})",
        train_items.len(),
        valid_items.len(),
        args.seed
    );
    let preprocessing = fit_preprocessing(&train_items);
    let batcher = IrisBatcher {
        preprocessing: preprocessing.clone(),
    };

    run.device.seed(args.seed);
    let model_config = IrisModelConfig::new();
    // Parameters are created where gradients are tracked: on the autodiff device.
    let model = model_config.init(&run.device.clone().autodiff());
    let train_loader = DataLoaderBuilder::new(batcher.clone())
        .batch_size(args.batch_size)
        .shuffle(args.seed)
        .build(InMemDataset::new(train_items));
    let valid_loader = DataLoaderBuilder::new(batcher)
        .batch_size(args.batch_size)
        .build(InMemDataset::new(valid_items.clone()));

    let stage = StagedDir::new(&run.artifact_dir)?;
    let training = SupervisedTraining::new(stage.path(), train_loader, valid_loader)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .num_epochs(args.epochs);
    let learner = Learner::new(model, AdamConfig::new().init(), args.learning_rate);
    let model = launch(training, learner)?;

    let curves = EpochCurves::read(stage.path(), &["Loss", "Accuracy"])?;
    println!("{}", curves.summary);
    draw_classification_chart(stage.path(), "Iris training", &curves)?;
    let evaluation = evaluate(
        &model,
        &preprocessing,
        &valid_items,
        &run.device.clone().inner(),
    )?;

    let settings = args.settings();
    let config = IrisArtifactConfig {
        model: model_config,
        preprocessing,
        training: settings.clone(),
    };
    let info = RunInfo {
        algorithm: "iris",
        backend: run.backend.clone(),
        settings,
        started,
        dataset_sha256: BTreeMap::from([(IRIS_DATA.relative_path.to_owned(), data.sha256)]),
    };
    let (report, destination) = save_run(
        stage,
        model,
        &config,
        info,
        curves.summary.epochs,
        evaluation,
    )?;
    println!(
        "iris: validation accuracy {:.2}% (loss {:.4}) on {} flowers; artifacts in {}",
        report.evaluation.validation_accuracy * 100.0,
        report.evaluation.validation_loss,
        report.evaluation.validation_examples,
        destination.display()
    );
    Ok(())
}
