//! Training: the algorithm as its binaries present it, the learner's steps, and the run that
//! writes `artifacts/iris/`.

use std::time::Instant;

use anyhow::{Result, bail};
use burn::train::metric::{AccuracyMetric, LossMetric};
use module_kit::settings::{Optimizer, Schedule};
use train_kit::cli::{TrainAlgorithm, TrainDefaults, TrainRun};
use train_kit::dataset::{DatasetRecords, announce, dataset_name};
use train_kit::finish::TrainedRun;
use train_kit::loader::EpochLoader;
use train_kit::resume::TrainingSession;
use train_kit::runner::{launch, learner};
use train_kit::save::RunInfo;

use crate::config::{IrisConfig, IrisOptions};
use crate::data::{
    IRIS_DATA, IrisBatch, IrisBatcher, IrisFile, fit_preprocessing, iris_file, read_iris, split,
};
use crate::evaluation::evaluate;
use crate::model::{IrisModel, IrisModelConfig};

/// The committed model was trained with these defaults (and seed 42).
pub const ALGORITHM: TrainAlgorithm = TrainAlgorithm {
    name: "iris",
    model: "the Iris classifier",
    defaults: TrainDefaults {
        epochs: 60,
        batch_size: 16,
        learning_rate: 0.005,
        optimizer: Optimizer::ADAM,
        schedule: Schedule::Constant,
    },
};

train_kit::impl_classification_steps!(IrisModel, IrisBatch);

/// The file to train on and its name in logs and `metrics.json`: the one `--dataset` as
/// given, else UCI's file under the data directory (downloaded and verified when missing).
fn read_data(run: &TrainRun<IrisOptions>) -> Result<(String, IrisFile)> {
    match run.datasets.as_slice() {
        [] => {
            let verified = IRIS_DATA.fetch(&run.data_dir.path)?;
            Ok((
                IRIS_DATA.relative_path.to_owned(),
                iris_file(verified.into_dataset())?,
            ))
        }
        [path] => Ok((dataset_name(path), read_iris(path)?)),
        paths => {
            let names: Vec<String> = paths.iter().map(|p| dataset_name(p)).collect();
            bail!(
                "iris trains on one file, but --dataset was given {} times ({}); give one",
                paths.len(),
                names.join(", ")
            )
        }
    }
}

/// Trains with `run`'s settings and replaces the artifact directory with the results.
pub fn train(run: &TrainRun<IrisOptions>) -> Result<()> {
    let started = Instant::now();
    let settings = &run.settings;
    let (name, data) = read_data(run)?;
    let record = data.digests.record(data.description());
    announce(ALGORITHM.name, &data.path, &record.layout);
    let flowers = data.items.len();
    let (train_items, valid_items) = split(data.items, settings.seed);
    if train_items.is_empty() || valid_items.is_empty() {
        bail!("{name}: {flowers} flowers are too few to hold out a validation share of each class");
    }
    println!(
        "iris: {} training and {} validation flowers (stratified, seed {})",
        train_items.len(),
        valid_items.len(),
        settings.seed
    );
    let preprocessing = fit_preprocessing(&train_items);
    let batcher = IrisBatcher {
        preprocessing: preprocessing.clone(),
    };

    let datasets = DatasetRecords::from([(name, record)]);
    let session = TrainingSession::open(run, &datasets)?;
    run.device.seed(settings.seed);
    let model_config = IrisModelConfig::new();
    // Parameters are created where gradients are tracked: on the autodiff device.
    let model = model_config.init(&run.device.clone().autodiff());
    let steps_per_epoch = train_items.len().div_ceil(settings.batch_size);
    let batch_size = settings.batch_size;
    let train_loader =
        session.train_loader(batcher.clone(), (train_items, batch_size), &run.device);
    let valid_loader =
        EpochLoader::validation(batcher, (valid_items.clone(), batch_size), &run.device);
    let training = session
        .training(train_loader, valid_loader)?
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .num_epochs(settings.epochs);
    let learner = learner(model, settings, settings.epochs * steps_per_epoch)?;
    let model = launch(training, learner)?;

    let trained = TrainedRun::classifier(session, "Iris training")?;
    let device = run.device.clone().inner();
    let evaluation = evaluate(&model, &preprocessing, &valid_items, &device)?;

    let config = IrisConfig {
        model: model_config,
        preprocessing,
        training: settings.clone(),
    };
    let info = RunInfo::new(run, started, datasets);
    let (report, destination) = trained.save(model, &config, info, evaluation)?;
    let evaluation = &report.evaluation;
    println!(
        "iris: validation accuracy {:.2}% (loss {:.4}) on {} flowers; artifacts in {}",
        evaluation.accuracy * 100.0,
        evaluation.loss,
        evaluation.examples,
        destination.display()
    );
    Ok(())
}
