//! Training: the algorithm as its binaries present it, the learner's steps for the CNN, and
//! the run that writes `artifacts/mnist/`.

use std::time::Instant;

use anyhow::Result;
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric};
use module_kit::settings::{Optimizer, Schedule};
use train_kit::cli::{TrainAlgorithm, TrainDefaults, TrainRun};
use train_kit::finish::TrainedRun;
use train_kit::loader::EpochLoader;
use train_kit::resume::TrainingSession;
use train_kit::runner::{launch, learner};
use train_kit::save::RunInfo;

use crate::config::{MnistConfig, MnistOptions};
use crate::data::{MnistBatch, MnistBatcher, RandomShift, load, load_datasets};
use crate::evaluation::{EVALUATION_BATCH, evaluate};
use crate::input::PixelNormalization;
use crate::model::{MnistModel, MnistModelConfig};

/// The committed model was trained with these defaults (and seed 42). Cosine decay from the
/// peak rate to 1% of it over the whole run.
pub const ALGORITHM: TrainAlgorithm = TrainAlgorithm {
    name: "mnist",
    model: "the MNIST digit classifier",
    defaults: TrainDefaults {
        epochs: 8,
        batch_size: 64,
        learning_rate: 0.002,
        optimizer: Optimizer::ADAM,
        schedule: Schedule::Cosine {
            final_divisor: 100.0,
        },
    },
};

train_kit::impl_classification_steps!(MnistModel, MnistBatch);

/// Trains with `run`'s settings and replaces the artifact directory with the results.
pub fn train(run: &TrainRun<MnistOptions>) -> Result<()> {
    let started = Instant::now();
    let settings = &run.settings;
    let limit = settings.options.limit.map(|n| n as usize);
    // `--dataset` files are read as given (layouts detected and announced); without them,
    // the canonical files under the data directory, verified against their checksums.
    let data = if run.datasets.is_empty() {
        load(&run.data_dir.path)?
    } else {
        load_datasets(&run.datasets)?
    }
    .limit(limit);
    println!(
        "mnist: {} training and {} test images from {}{}",
        data.train.len(),
        data.test.len(),
        data.plan,
        limit.map_or(String::new(), |n| format!(" (--limit {n})"))
    );
    let normalization = PixelNormalization::fit(data.train.iter().map(|item| &item.pixels));
    let max_shift = settings.options.max_shift as usize;
    let seed = settings.seed;
    let augmentation = (max_shift > 0).then(|| RandomShift::new(max_shift, seed));
    let train_batcher = MnistBatcher {
        normalization,
        augmentation: augmentation.clone(),
    };
    let test_batcher = MnistBatcher {
        normalization,
        augmentation: None,
    };

    let session = TrainingSession::open(run, &data.datasets)?;
    run.device.seed(settings.seed);
    let model_config = MnistModelConfig::new();
    // Parameters are created where gradients are tracked: on the autodiff device.
    let model = model_config.init(&run.device.clone().autodiff());
    let steps_per_epoch = data.train.len().div_ceil(settings.batch_size.max(1));
    let train = (data.train.clone(), settings.batch_size);
    let train_loader = session.train_loader(train_batcher, train, &run.device);
    // The shifts of epoch e are drawn from (seed, e), like its order and its dropout.
    let train_loader = match augmentation {
        Some(shifts) => train_loader.on_epoch(move |epoch| shifts.reseed_for_epoch(seed, epoch)),
        None => train_loader,
    };
    // The test images are the validation split: the curves watch them, but nothing is chosen
    // by them (no early stopping, the last epoch's model is kept).
    let valid = (data.test.clone(), EVALUATION_BATCH);
    let valid_loader = EpochLoader::validation(test_batcher, valid, &run.device);

    let training = session
        .training(train_loader, valid_loader)?
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metric_train_numeric(LearningRateMetric::new())
        .num_epochs(settings.epochs);
    let learner = learner(model, settings, settings.epochs * steps_per_epoch)?;
    let training_started = Instant::now();
    let model = launch(training, learner)?;
    let training_seconds = training_started.elapsed().as_secs_f64();

    let trained = TrainedRun::classifier(session, "MNIST training")?;
    let device = run.device.clone().inner();
    let evaluation = evaluate(&model, &normalization, &data.test, data.plan, &device)?;

    let config = MnistConfig {
        model: model_config,
        normalization,
        training: settings.clone(),
    };
    let info = RunInfo::new(run, started, data.datasets.clone());
    let epochs_run = trained.epochs();
    let (report, destination) = trained.save(model, &config, info, evaluation)?;
    let images = (data.train.len() + data.test.len()) * epochs_run;
    println!(
        "mnist: {epochs_run} epochs in {training_seconds:.0} s ({:.0} images/s, training and \
         validation passes together)",
        images as f64 / training_seconds.max(1e-9)
    );
    let evaluation = &report.evaluation;
    println!("{}", evaluation.confusion_table.join("\n"));
    println!(
        "mnist: test accuracy {:.2}% (loss {:.4}) on {} images; artifacts in {}",
        evaluation.accuracy * 100.0,
        evaluation.loss,
        evaluation.examples,
        destination.display()
    );
    Ok(())
}
