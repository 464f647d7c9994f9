//! Running burn's learner the same way for every algorithm: the optimiser and learning-rate
//! schedule built from the recorded settings, burn's TUI in a terminal and one clean line per
//! epoch otherwise, no global logger, and errors returned instead of printed.

use std::io::IsTerminal;

use anyhow::{Result, anyhow, bail};
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::optim::AdamWConfig;
use burn::train::{Learner, LearnerModel, SupervisedTraining};
use module_kit::settings::{Optimizer, Schedule, TrainingSettings};

use crate::epoch_log::EpochLog;

/// Implements burn's `TrainStep` and `InferenceStep` for `$model`, whose method `$forward`
/// turns a `$batch` into a `$output` that carries the loss (`ClassificationOutput`,
/// `RegressionOutput`): training steps backpropagate that loss, validation steps only report it.
#[macro_export]
macro_rules! impl_supervised_steps {
    ($model:ty, $batch:ty, $output:ty, $forward:ident) => {
        impl ::burn::train::TrainStep for $model {
            type Input = $batch;
            type Output = $output;

            fn step(&self, batch: $batch) -> ::burn::train::TrainOutput<$output> {
                let item = self.$forward(batch);
                ::burn::train::TrainOutput::new(self, item.loss.backward(), item)
            }
        }

        impl ::burn::train::InferenceStep for $model {
            type Input = $batch;
            type Output = $output;

            fn step(&self, batch: $batch) -> $output {
                self.$forward(batch)
            }
        }
    };
}

/// Implements burn's steps for a classifier `$model` whose `$batch` has `inputs` (what the
/// model's `forward` takes) and `targets` (class indices): cross-entropy on the logits.
#[macro_export]
macro_rules! impl_classification_steps {
    ($model:ty, $batch:ty) => {
        impl $model {
            fn forward_classification(&self, batch: $batch) -> ::burn::train::ClassificationOutput {
                let logits = self.forward(batch.inputs);
                let loss = ::burn::nn::loss::CrossEntropyLossConfig::new()
                    .init(&logits.device())
                    .forward(logits.clone(), batch.targets.clone());
                ::burn::train::ClassificationOutput::new(loss, logits, batch.targets)
            }
        }

        $crate::impl_supervised_steps!(
            $model,
            $batch,
            ::burn::train::ClassificationOutput,
            forward_classification
        );
    };
}

/// A learner for `model` with the optimiser and schedule of `settings`; `iterations` is the
/// number of optimisation steps the schedule spans.
pub fn learner<M: LearnerModel, O>(
    model: M,
    settings: &TrainingSettings<O>,
    iterations: usize,
) -> Result<Learner<M>> {
    let optimizer = match settings.optimizer {
        Optimizer::Adam {
            beta_1,
            beta_2,
            epsilon,
        } => train_kernels::Adam::new(beta_1, beta_2, epsilon).init(),
        Optimizer::AdamW {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
        } => AdamWConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay)
            .init(),
    };
    let peak = settings.learning_rate;
    Ok(match settings.schedule {
        Schedule::Constant => Learner::new(model, optimizer, peak),
        Schedule::Cosine { final_divisor } => {
            let schedule = CosineAnnealingLrSchedulerConfig::new(peak, iterations.max(1))
                .with_min_lr(peak / final_divisor)
                .init()
                .map_err(|e| anyhow!("invalid learning-rate schedule: {e}"))?;
            Learner::new(model, optimizer, schedule)
        }
    })
}

/// Trains `learner` with `training` and returns the trained model (already in inference
/// mode). The metric logs land in the directory `training` was created with.
pub fn launch<M: LearnerModel>(training: SupervisedTraining<M>, learner: Learner<M>) -> Result<M> {
    let training = training.with_application_logger(None);
    let training = if std::io::stdout().is_terminal() {
        training
    } else {
        training.renderer(Box::new(EpochLog::default()))
    };
    let result = training.launch(learner);
    if let Some(error) = result.error {
        bail!("training failed: {error}");
    }
    if result.interrupted.is_some() {
        bail!("training was interrupted");
    }
    drop(result.renderer);
    Ok(result.model)
}
