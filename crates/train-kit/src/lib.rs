//! The training layer: what every `<algo>-ndarray` / `<algo>-wgpu` binary shares, written once.
//!
//! - [`cli`]: the command line, the algorithm's description and defaults, `--config`;
//! - [`paths`], [`download`], [`dataset`], [`artifact`]: where data and artifacts live, verified
//!   dataset files, files users name with `--dataset` and what was detected in them, files and
//!   directories written whole or not at all;
//! - [`split`]: seeded, stratified splits;
//! - [`runner`]: burn's learner with the recorded optimiser and schedule, the supervised steps;
//! - [`classifier`]: what the classifiers' runs share: the share held out, their batches;
//! - [`loader`], [`resume`], [`interrupt`]: epochs drawn from `(seed, epoch)` alone, the
//!   working directory with a checkpoint per epoch that `--resume` continues, and the points
//!   where the resume tests kill a run;
//! - [`epoch_log`], [`curves`], [`plot`]: one line per epoch, the curves, the charts;
//! - [`evaluation`]: a classifier's accuracy, loss and confusion matrix;
//! - [`save`]: `model.bpk` with deterministic bytes, `config.json`, `metrics.json`;
//! - [`finish`]: the end every run shares: the artifacts staged, the curves read, the save.

pub mod artifact;
pub mod classifier;
pub mod cli;
pub mod curves;
pub mod dataset;
pub mod download;
pub mod epoch_log;
pub mod evaluation;
pub mod finish;
pub mod interrupt;
pub mod loader;
pub mod paths;
pub mod plot;
pub mod resume;
pub mod runner;
pub mod save;
pub mod split;
