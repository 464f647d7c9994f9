//! The command line every training binary shares: `<algo>-ndarray [--backend flex|ndarray]`
//! and `<algo>-wgpu [--adapter best|discrete|integrated|cpu]`, with the same training options,
//! `--config FILE` to train again with every setting a committed `config.json` records, the
//! same data-dir and artifact-dir resolution, and one-line errors.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, FromArgMatches, Parser, ValueEnum};
use module_kit::settings::{Optimizer, Schedule, TrainingSettings};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::paths::{DataDir, resolve_artifact_dir, resolve_data_dir};

/// An algorithm as its two training binaries present it: written once per algorithm.
#[derive(Debug, Clone, Copy)]
pub struct TrainAlgorithm {
    /// `iris`: names the binaries (`iris-ndarray`, `iris-wgpu`) and `artifacts/iris/`.
    pub name: &'static str,
    /// What is trained, for the help text (`the Iris classifier`).
    pub model: &'static str,
    /// The settings the committed model was trained with (and seed 42).
    pub defaults: TrainDefaults,
}

/// An algorithm's default settings: shown in `--help` and reproduced by a bare run.
#[derive(Debug, Clone, Copy)]
pub struct TrainDefaults {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub optimizer: Optimizer,
    pub schedule: Schedule,
}

/// What an algorithm's own options must be: command-line options, and recorded in
/// `config.json`.
pub trait TrainOptions:
    Args + FromArgMatches + fmt::Debug + Clone + Serialize + DeserializeOwned
{
}

impl<T: Args + FromArgMatches + fmt::Debug + Clone + Serialize + DeserializeOwned> TrainOptions
    for T
{
}

/// Options every training binary takes.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Number of passes over the training data
    #[arg(long)]
    pub epochs: usize,
    /// Examples per optimisation step
    #[arg(long)]
    pub batch_size: usize,
    /// Peak learning rate of the optimiser
    #[arg(long)]
    pub learning_rate: f64,
    /// Seed for initialisation, splits, shuffling and dropout: same seed, same model
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Decoupled weight decay of an AdamW optimiser [default: the algorithm's]
    #[arg(long, value_name = "X")]
    pub weight_decay: Option<f32>,
    /// Train with every setting recorded in a model's config.json (its `training` section),
    /// to reproduce that model; no other training option may be given with it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Dataset directory [default: $DATASETS_DIR, else datasets/ in the workspace]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Train on this dataset file (or unpacked folder) instead of the data directory's, in any
    /// layout the algorithm accepts (Cocos AI: datasets/<file>); repeat it for an algorithm with
    /// several files
    #[arg(long = "dataset", value_name = "PATH", conflicts_with = "data_dir")]
    pub datasets: Vec<PathBuf>,
    /// Where the model and its reports go [default: artifacts/<algorithm>/ in the workspace]
    #[arg(long, value_name = "DIR")]
    pub artifact_dir: Option<PathBuf>,
    /// Continue a run that was killed, from the last epoch it finished (its checkpoints are in
    /// .<artifact folder>.training/ beside the artifact directory); the same options and data
    /// give the same model as a run that was never interrupted
    #[arg(long)]
    pub resume: bool,
}

/// Options that say where and on what a run trains, not how: allowed beside `--config`.
const PLACEMENT_OPTIONS: [&str; 7] = [
    "config",
    "data_dir",
    "datasets",
    "artifact_dir",
    "resume",
    "backend",
    "adapter",
];

/// The CPU backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CpuBackend {
    /// burn's pure-Rust SIMD CPU backend (fast)
    Flex,
    /// burn-ndarray (deprecated by burn, kept for comparison)
    Ndarray,
}

impl fmt::Display for CpuBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CpuBackend::Flex => "flex",
            CpuBackend::Ndarray => "ndarray",
        })
    }
}

/// What both kinds of binary take: the common options and the algorithm's own.
#[derive(Debug, Args)]
struct CommonArgs<O: Args> {
    #[command(flatten)]
    train: TrainArgs,
    #[command(flatten)]
    options: O,
}

#[derive(Debug, Parser)]
struct CpuCli<O: Args> {
    /// CPU backend to train on
    #[arg(long, value_enum, default_value_t = CpuBackend::Flex)]
    backend: CpuBackend,
    #[command(flatten)]
    common: CommonArgs<O>,
}

/// Everything a training function needs, resolved.
#[derive(Debug, Clone)]
pub struct TrainRun<O> {
    pub algorithm: TrainAlgorithm,
    pub device: Device,
    /// Which backend and device ran, for logs and `metrics.json` (`flex`, `wgpu: llvmpipe ...`).
    pub backend: String,
    /// Every setting of the run, recorded in `config.json`.
    pub settings: TrainingSettings<O>,
    pub data_dir: DataDir,
    /// Files named with `--dataset`: when any is given, the algorithm reads these (detecting
    /// their layout) instead of its canonical files under `data_dir`.
    pub datasets: Vec<PathBuf>,
    pub artifact_dir: PathBuf,
    /// `--resume`: continue the interrupted run in the artifact directory's working directory.
    pub resume: bool,
}

/// The parsed command line, and which training options were typed rather than defaulted.
struct Parsed<C> {
    cli: C,
    /// Training options given on the command line (not defaults).
    given: Vec<String>,
}

/// One training binary: its name (`iris-ndarray`) and the algorithm it trains.
struct Binary {
    name: String,
    algorithm: TrainAlgorithm,
}

impl Binary {
    fn new(algorithm: TrainAlgorithm, suffix: &str) -> Self {
        Self {
            name: format!("{}-{suffix}", algorithm.name),
            algorithm,
        }
    }

    /// Parses this binary's command line; `hardware` says where it trains, for the help text.
    fn parse<P: Parser>(&self, hardware: &str) -> Parsed<P> {
        let algorithm = self.algorithm;
        let about = format!(
            "Trains {} on {hardware} and writes artifacts/{}/",
            algorithm.model, algorithm.name
        );
        let defaults = algorithm.defaults;
        let command = P::command()
            .name(self.name.clone())
            .bin_name(self.name.clone())
            .about(about)
            .mut_arg("epochs", |a| with_default(a, defaults.epochs.to_string()))
            .mut_arg("batch_size", |a| {
                with_default(a, defaults.batch_size.to_string())
            })
            .mut_arg("learning_rate", |a| {
                with_default(a, defaults.learning_rate.to_string())
            });
        let options: Vec<String> = command
            .get_arguments()
            .map(|arg| arg.get_id().to_string())
            .collect();
        let matches = command.get_matches();
        let cli = P::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        Parsed {
            cli,
            given: given_training_options(&matches, &options),
        }
    }

    /// Resolves directories and settings, logs them, trains, and turns the outcome into an
    /// exit code: 0, 2 for settings that cannot be used, 1 for a failed run.
    fn run<O: TrainOptions>(
        &self,
        (device, backend): (Device, String),
        common: CommonArgs<O>,
        given: &[String],
        train: impl FnOnce(&TrainRun<O>) -> Result<()>,
    ) -> ExitCode {
        let args = &common.train;
        let settings = match resolve_settings(self.algorithm, args, common.options, given) {
            Ok(settings) => settings,
            Err(error) => return self.fail(&error, 2),
        };
        let data_dir = resolve_data_dir(args.data_dir.as_deref());
        let artifact_dir = resolve_artifact_dir(args.artifact_dir.as_deref(), self.algorithm.name);
        let binary = &self.name;
        eprintln!("{binary}: backend {backend}");
        if args.datasets.is_empty() {
            eprintln!(
                "{binary}: data directory {} (from {})",
                data_dir.path.display(),
                data_dir.chosen_by
            );
        }
        if let Some(config) = &args.config {
            eprintln!("{binary}: settings from {}", config.display());
        }
        let run = TrainRun {
            algorithm: self.algorithm,
            device,
            backend,
            settings,
            data_dir,
            datasets: args.datasets.clone(),
            artifact_dir,
            resume: args.resume,
        };
        match train(&run) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => self.fail(&error, 1),
        }
    }

    /// Prints `error` as one line and returns `code`.
    fn fail(&self, error: &anyhow::Error, code: u8) -> ExitCode {
        eprintln!("{}: error: {error:#}", self.name);
        ExitCode::from(code)
    }
}

/// `main` of an `<algo>-ndarray` binary.
pub fn cpu_main<O: TrainOptions>(
    algorithm: TrainAlgorithm,
    train: impl FnOnce(&TrainRun<O>) -> Result<()>,
) -> ExitCode {
    let binary = Binary::new(algorithm, "ndarray");
    let parsed: Parsed<CpuCli<O>> = binary.parse("the CPU");
    let cli = parsed.cli;
    let device = match cli.backend {
        CpuBackend::Flex => Device::flex(),
        #[allow(deprecated)] // kept on purpose: users compare the two CPU backends
        CpuBackend::Ndarray => Device::ndarray(),
    };
    let backend = cli.backend.to_string();
    binary.run((device, backend), cli.common, &parsed.given, train)
}

/// The algorithm's default for an option the derive declared without one.
fn with_default(arg: clap::Arg, value: String) -> clap::Arg {
    arg.default_value(value).required(false)
}

/// Training options (among `options`, the command's arguments) the user typed, as
/// `--kebab-case` names.
fn given_training_options(matches: &ArgMatches, options: &[String]) -> Vec<String> {
    options
        .iter()
        .map(String::as_str)
        .filter(|id| !PLACEMENT_OPTIONS.contains(id))
        .filter(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        .map(|id| format!("--{}", id.replace('_', "-")))
        .collect()
}

/// The settings of the run: from `--config`, or from the options and the algorithm's defaults.
fn resolve_settings<O: TrainOptions>(
    algorithm: TrainAlgorithm,
    args: &TrainArgs,
    options: O,
    given: &[String],
) -> Result<TrainingSettings<O>> {
    if let Some(path) = &args.config {
        if let Some(option) = given.first() {
            bail!(
                "{option} cannot be combined with --config, which takes every training setting \
                 from {}; drop {option}, or drop --config",
                path.display()
            );
        }
        return read_settings(path);
    }
    let optimizer = match (algorithm.defaults.optimizer, args.weight_decay) {
        (optimizer, None) => optimizer,
        (
            Optimizer::AdamW {
                beta_1,
                beta_2,
                epsilon,
                ..
            },
            Some(weight_decay),
        ) => Optimizer::AdamW {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
        },
        (Optimizer::Adam { .. }, Some(_)) => bail!(
            "--weight-decay applies to AdamW, and {} trains with Adam; drop --weight-decay",
            algorithm.name
        ),
    };
    Ok(TrainingSettings {
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        seed: args.seed,
        optimizer,
        schedule: algorithm.defaults.schedule,
        options,
    })
}

/// The `training` section of a `config.json`.
fn read_settings<O: TrainOptions>(path: &Path) -> Result<TrainingSettings<O>> {
    #[derive(serde::Deserialize)]
    struct ConfigFile<O> {
        training: TrainingSettings<O>,
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let config: ConfigFile<O> = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a config.json of this algorithm (give the config.json a training run \
             wrote)",
            path.display()
        )
    })?;
    Ok(config.training)
}

#[cfg(feature = "wgpu")]
pub use gpu::wgpu_main;
#[cfg(feature = "wgpu")]
pub use module_kit::device::Adapter;

#[cfg(feature = "wgpu")]
mod gpu {
    use super::*;
    use module_kit::device::{Adapter, wgpu_device};

    #[derive(Debug, Parser)]
    struct WgpuCli<O: Args> {
        /// wgpu adapter to train on
        #[arg(long, value_enum, default_value_t = Adapter::Best)]
        adapter: Adapter,
        #[command(flatten)]
        common: CommonArgs<O>,
    }

    /// `main` of an `<algo>-wgpu` binary.
    pub fn wgpu_main<O: TrainOptions>(
        algorithm: TrainAlgorithm,
        train: impl FnOnce(&TrainRun<O>) -> Result<()>,
    ) -> ExitCode {
        let binary = Binary::new(algorithm, "wgpu");
        let parsed: Parsed<WgpuCli<O>> = binary.parse("a GPU through wgpu");
        let cli = parsed.cli;
        match training_device(cli.adapter) {
            Ok(found) => binary.run(found, cli.common, &parsed.given, train),
            Err(error) => binary.fail(&error, 1),
        }
    }

    /// The adapter, acquired before anything else; a software fallback is said aloud.
    fn training_device(adapter: Adapter) -> Result<(Device, String)> {
        let found = wgpu_device(adapter)
            .map_err(|e| anyhow::anyhow!("{e}, or train on the CPU with the -ndarray binary"))?;
        if found.fell_back_to_software {
            eprintln!(
                "note: no GPU adapter found; --adapter {} fell back to the software adapter {} \
                 (slower than the -ndarray binary)",
                adapter.name(),
                found.description
            );
        }
        Ok((found.device, found.description))
    }
}
