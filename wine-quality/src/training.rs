//! Training: the learner's steps for the model, the evaluation against the mean predictor,
//! and the run that writes `artifacts/wine-quality/`.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::nn::loss::{MseLoss, Reduction};
use burn::optim::AdamWConfig;
use burn::prelude::*;
use burn::train::metric::LossMetric;
use burn::train::{Learner, RegressionOutput, SupervisedTraining};
use common::artifact::StagedDir;
use common::plot::{Panel, PanelKind, Series, draw_png};
use common::train_cli::{NoExtraArgs, TrainBinary, TrainDefaults, TrainRun};
use common::training::{EpochCurves, RunInfo, launch, save_run};

use crate::data::{
    RED_WINES, WHITE_WINES, WineBatch, WineBatcher, WineItem, fit_preprocessing, load_items, split,
};
use crate::inference::{RegressionFigures, WineEvaluation};
use crate::model::{TargetScale, WineArtifactConfig, WineModel, WineModelConfig, WineType};
use common::standardize::Standardizer;

/// The committed model was trained with these (and seed 42).
pub const DEFAULTS: TrainDefaults = TrainDefaults {
    epochs: 120,
    batch_size: 64,
    learning_rate: 0.001,
};

pub const CPU_BINARY: TrainBinary = TrainBinary {
    algorithm: "wine-quality",
    binary: "wine-quality-ndarray",
    about: "Trains the wine-quality regressor on the CPU and writes artifacts/wine-quality/",
    defaults: DEFAULTS,
};

pub const WGPU_BINARY: TrainBinary = TrainBinary {
    algorithm: "wine-quality",
    binary: "wine-quality-wgpu",
    about: "Trains the wine-quality regressor on a GPU through wgpu and writes artifacts/wine-quality/",
    defaults: DEFAULTS,
};

impl WineModel {
    fn forward_regression(&self, batch: WineBatch) -> RegressionOutput {
        let output = self.forward(batch.inputs);
        let loss = MseLoss::new().forward(output.clone(), batch.targets.clone(), Reduction::Mean);
        RegressionOutput::new(loss, output, batch.targets)
    }
}

common::impl_supervised_steps!(WineModel, WineBatch, RegressionOutput, forward_regression);

/// Predicted quality (0-10 scale) for each item.
pub fn predict(
    model: &WineModel,
    preprocessing: &Standardizer,
    target: TargetScale,
    items: &[WineItem],
    device: &Device,
) -> Result<Vec<f32>> {
    let batch = WineBatcher {
        preprocessing: preprocessing.clone(),
        target,
    }
    .batch(items.to_vec(), device);
    let outputs = model
        .forward(batch.inputs)
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| anyhow!("cannot read the model's output: {e:?}"))?;
    Ok(outputs.into_iter().map(|o| target.to_quality(o)).collect())
}

fn qualities(items: &[WineItem]) -> Vec<f32> {
    items.iter().map(|item| f32::from(item.quality)).collect()
}

/// Trains with `run`'s settings and replaces the artifact directory with the results.
pub fn train(run: TrainRun<NoExtraArgs>) -> Result<()> {
    let started = Instant::now();
    let args = &run.args;
    let red = RED_WINES.fetch(&run.data_dir.path)?;
    let white = WHITE_WINES.fetch(&run.data_dir.path)?;
    let mut items = load_items(&red.path, WineType::Red)?;
    items.extend(load_items(&white.path, WineType::White)?);
    let splits = split(items, args.seed);
    println!(
        "wine-quality: {} training, {} validation, {} test wines (stratified by type and quality, seed {})",
        splits.train.len(),
        splits.valid.len(),
        splits.test.len(),
        args.seed
    );
    let (preprocessing, target) = fit_preprocessing(&splits.train);
    let batcher = WineBatcher {
        preprocessing: preprocessing.clone(),
        target,
    };

    run.device.seed(args.seed);
    let model_config = WineModelConfig::new();
    // Parameters are created where gradients are tracked: on the autodiff device.
    let model = model_config.init(&run.device.clone().autodiff());
    let steps_per_epoch = splits.train.len().div_ceil(args.batch_size);
    let train_loader = DataLoaderBuilder::new(batcher.clone())
        .batch_size(args.batch_size)
        .shuffle(args.seed)
        .build(InMemDataset::new(splits.train.clone()));
    let valid_loader = DataLoaderBuilder::new(batcher)
        .batch_size(args.batch_size)
        .build(InMemDataset::new(splits.valid.clone()));

    let stage = StagedDir::new(&run.artifact_dir)?;
    let training = SupervisedTraining::new(stage.path(), train_loader, valid_loader)
        .metrics((LossMetric::new(),))
        .num_epochs(args.epochs);
    // Cosine decay to a tenth of the peak over the whole run: settles the weights at the end.
    let schedule = CosineAnnealingLrSchedulerConfig::new(
        args.learning_rate,
        args.epochs * steps_per_epoch + 1,
    )
    .with_min_lr(args.learning_rate / 10.0)
    .init()
    .map_err(|e| anyhow!("invalid learning-rate schedule: {e}"))?;
    let learner = Learner::new(model, AdamWConfig::new().init(), schedule);
    let model = launch(training, learner)?;

    let curves = EpochCurves::read(stage.path(), &["Loss"])?;
    println!("{}", curves.summary);
    let device = run.device.clone().inner();
    let evaluation = evaluate(&model, &preprocessing, target, &splits, &device)?;
    let test_predictions = predict(&model, &preprocessing, target, &splits.test, &device)?;
    draw_charts(&stage, &curves, &splits.test, &test_predictions)?;

    let settings = args.settings();
    let config = WineArtifactConfig {
        model: model_config,
        preprocessing,
        target,
        training: settings.clone(),
    };
    let info = RunInfo {
        algorithm: "wine-quality",
        backend: run.backend.clone(),
        settings,
        started,
        dataset_sha256: BTreeMap::from([
            (RED_WINES.relative_path.to_owned(), red.sha256),
            (WHITE_WINES.relative_path.to_owned(), white.sha256),
        ]),
    };
    let (report, destination) = save_run(
        stage,
        model,
        &config,
        info,
        curves.summary.epochs,
        evaluation,
    )?;
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

/// Test-split figures of the model and of predicting the training mean, plus validation RMSE.
pub fn evaluate(
    model: &WineModel,
    preprocessing: &Standardizer,
    target: TargetScale,
    splits: &crate::data::WineSplits,
    device: &Device,
) -> Result<WineEvaluation> {
    let truth = qualities(&splits.test);
    let predictions = predict(model, preprocessing, target, &splits.test, device)?;
    let valid_predictions = predict(model, preprocessing, target, &splits.valid, device)?;
    let training_mean = {
        let train = qualities(&splits.train);
        train.iter().map(|&q| f64::from(q)).sum::<f64>() / train.len() as f64
    };
    let mean_predictions = vec![training_mean as f32; truth.len()];
    Ok(WineEvaluation {
        test: RegressionFigures::compute(&predictions, &truth),
        mean_predictor: RegressionFigures::compute(&mean_predictions, &truth),
        validation: RegressionFigures::compute(&valid_predictions, &qualities(&splits.valid)),
        training_mean,
        test_examples: truth.len(),
    })
}

fn draw_charts(
    stage: &StagedDir,
    curves: &EpochCurves,
    test: &[WineItem],
    predictions: &[f32],
) -> Result<()> {
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
            .filter(|(item, _)| item.sample.wine_type == wine_type)
            .map(|(item, &p)| (f64::from(item.quality), f64::from(p)))
            .collect(),
    };
    let scatter = Panel {
        title: "Test split: predicted vs true quality".into(),
        x_label: "true quality".into(),
        y_label: "predicted quality".into(),
        kind: PanelKind::ScatterWithDiagonal,
        series: vec![
            by_type(WineType::Red, "red"),
            by_type(WineType::White, "white"),
        ],
    };
    draw_png(
        &stage.path().join("predictions.png"),
        "Wine quality predictions",
        &[scatter],
    )
    .context("cannot draw predictions.png")
}
