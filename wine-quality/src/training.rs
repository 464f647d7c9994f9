//! Training: the learner's steps for the model, the evaluation against the mean predictor,
//! and the run that writes `artifacts/wine-quality/`.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::nn::loss::{MseLoss, Reduction};
use burn::train::RegressionOutput;
use burn::train::metric::LossMetric;
use module_kit::settings::{Optimizer, Schedule};
use train_kit::cli::{TrainAlgorithm, TrainDefaults, TrainRun};
use train_kit::dataset::{DatasetRecords, announce, dataset_name};
use train_kit::finish::TrainedRun;
use train_kit::loader::EpochLoader;
use train_kit::plot::{Panel, PanelKind, Series, draw_png};
use train_kit::resume::TrainingSession;
use train_kit::runner::{launch, learner};
use train_kit::save::RunInfo;

use crate::config::{WineConfig, WineOptions};
use crate::data::{
    RED_WINES, WHITE_WINES, WineBatch, WineBatcher, WineFile, WineItem, combine, fit_preprocessing,
    read_wines, split, types_used, wine_file,
};
use crate::evaluation::{evaluate, predicted_qualities};
use crate::input::WineType;
use crate::model::{WineModel, WineModelConfig};

/// The committed model was trained with these defaults (and seed 42). Cosine decay to a
/// tenth of the peak over the whole run settles the weights at the end.
pub const ALGORITHM: TrainAlgorithm = TrainAlgorithm {
    name: "wine-quality",
    model: "the wine-quality regressor",
    defaults: TrainDefaults {
        epochs: 120,
        batch_size: 64,
        learning_rate: 0.001,
        optimizer: Optimizer::adamw(1e-4),
        schedule: Schedule::Cosine {
            final_divisor: 10.0,
        },
    },
};

impl WineModel {
    fn forward_regression(&self, batch: WineBatch) -> RegressionOutput {
        let output = self.forward(batch.inputs);
        let loss = MseLoss::new().forward(output.clone(), batch.targets.clone(), Reduction::Mean);
        RegressionOutput::new(loss, output, batch.targets)
    }
}

train_kit::impl_supervised_steps!(WineModel, WineBatch, RegressionOutput, forward_regression);

/// The wines to train on (red first) and the record of every file they came from, by its name
/// in `metrics.json`: the `--dataset` files as given (one per type, or one with a type column),
/// else UCI's two files under the data directory (downloaded and verified when missing).
fn read_data(run: &TrainRun<WineOptions>) -> Result<(DatasetRecords, Vec<WineItem>)> {
    let named: Vec<(String, WineFile)> = if run.datasets.is_empty() {
        [RED_WINES, WHITE_WINES]
            .iter()
            .map(|file| {
                let verified = file.fetch(&run.data_dir.path)?;
                Ok((
                    file.relative_path.to_owned(),
                    wine_file(verified.into_dataset(), None)?,
                ))
            })
            .collect::<Result<_>>()?
    } else {
        run.datasets
            .iter()
            .map(|path| Ok((dataset_name(path), read_wines(path)?)))
            .collect::<Result<_>>()?
    };
    let mut records = DatasetRecords::new();
    for (name, file) in &named {
        let description = file.description();
        announce(ALGORITHM.name, &file.path, &description);
        records.insert(name.clone(), file.digests.record(description));
    }
    let items = combine(named.into_iter().map(|(_, file)| file).collect())?;
    Ok((records, items))
}

/// Trains with `run`'s settings and replaces the artifact directory with the results.
pub fn train(run: &TrainRun<WineOptions>) -> Result<()> {
    let started = Instant::now();
    let settings = &run.settings;
    let (datasets, items) = read_data(run)?;
    println!(
        "wine-quality: wine types used: {} ({} wines)",
        types_used(&items),
        items.len()
    );
    let splits = split(items, settings.seed);
    println!(
        "wine-quality: {} training, {} validation, {} test wines (stratified by type and quality, seed {})",
        splits.train.len(),
        splits.valid.len(),
        splits.test.len(),
        settings.seed
    );
    if splits.train.is_empty() || splits.valid.is_empty() || splits.test.is_empty() {
        bail!(
            "{} wines are too few for a training, a validation and a test share",
            splits.train.len() + splits.valid.len() + splits.test.len()
        );
    }
    let (preprocessing, target) = fit_preprocessing(&splits.train);
    let batcher = WineBatcher {
        preprocessing: preprocessing.clone(),
        target,
    };

    let session = TrainingSession::open(run, &datasets)?;
    run.device.seed(settings.seed);
    let model_config = WineModelConfig::new();
    // Parameters are created where gradients are tracked: on the autodiff device.
    let model = model_config.init(&run.device.clone().autodiff());
    let steps_per_epoch = splits.train.len().div_ceil(settings.batch_size);
    let batch_size = settings.batch_size;
    let train = (splits.train.clone(), batch_size);
    let train_loader = session.train_loader(batcher.clone(), train, &run.device);
    let valid = (splits.valid.clone(), batch_size);
    let valid_loader = EpochLoader::validation(batcher, valid, &run.device);
    let training = session
        .training(train_loader, valid_loader)?
        .metrics((LossMetric::new(),))
        .num_epochs(settings.epochs);
    // One step more than the run takes: the schedule the committed model was trained with.
    let learner = learner(model, settings, settings.epochs * steps_per_epoch + 1)?;
    let model = launch(training, learner)?;

    let trained = TrainedRun::stage(session, &["Loss"])?;
    let device = run.device.clone().inner();
    let evaluation = evaluate(&model, &preprocessing, target, &splits, &device)?;
    let test_predictions =
        predicted_qualities(&model, &preprocessing, target, &splits.test, &device)?;
    draw_charts(&trained, &splits.test, &test_predictions)?;

    let config = WineConfig {
        model: model_config,
        preprocessing,
        target,
        training: settings.clone(),
    };
    let info = RunInfo::new(run, started, datasets);
    let (report, destination) = trained.save(model, &config, info, evaluation)?;
    let test = &report.evaluation.test;
    let baseline = &report.evaluation.mean_predictor;
    println!(
        "wine-quality: test RMSE {:.3} (mean predictor {:.3}, {:.0}% lower), MAE {:.3}, R2 {:.3}, \
         within 0.5: {:.1}%, within 1.0: {:.1}%; artifacts in {}",
        test.rmse,
        baseline.rmse,
        (1.0 - test.rmse / baseline.rmse) * 100.0,
        test.mae,
        test.r2,
        test.within_0_5 * 100.0,
        test.within_1_0 * 100.0,
        destination.display()
    );
    Ok(())
}

fn draw_charts(trained: &TrainedRun, test: &[WineItem], predictions: &[f32]) -> Result<()> {
    let (stage, curves) = (&trained.stage, &trained.curves);
    let loss = Panel {
        title: "Loss".into(),
        x_label: "epoch".into(),
        y_label: "mean squared error (scaled quality)".into(),
        kind: PanelKind::Lines,
        series: curves.series("Loss"),
    };
    draw_png(
        &stage.path().join("training.png"),
        "Wine quality training",
        &[loss],
    )
    .context("cannot draw training.png")?;
    let by_type = |wine_type: WineType, label: &str| Series {
        label: label.into(),
        points: test
            .iter()
            .zip(predictions)
            .filter(|(item, _)| item.input.wine_type == wine_type)
            .map(|(item, &p)| (f64::from(item.quality), f64::from(p)))
            .collect(),
    };
    let scatter = Panel {
        title: "Test split: predicted vs true quality".into(),
        x_label: "true quality".into(),
        y_label: "predicted quality".into(),
        kind: PanelKind::ScatterWithDiagonal,
        series: [
            by_type(WineType::Red, "red"),
            by_type(WineType::White, "white"),
        ]
        .into_iter()
        .filter(|series| !series.points.is_empty())
        .collect(),
    };
    draw_png(
        &stage.path().join("predictions.png"),
        "Wine quality predictions",
        &[scatter],
    )
    .context("cannot draw predictions.png")
}
