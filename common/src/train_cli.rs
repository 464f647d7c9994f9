//! The command line every training binary shares: `<algo>-ndarray [--backend flex|ndarray]`
//! and `<algo>-wgpu [--adapter best|discrete|integrated|cpu]`, with the same training options,
//! the same data-dir and artifact-dir resolution, and one-line errors.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use burn::tensor::Device;
use clap::{Args, FromArgMatches, Parser, ValueEnum};

use crate::paths::{DataDir, resolve_artifact_dir, resolve_data_dir};
use crate::report::TrainingSettings;

/// The defaults an algorithm trains with; shown in `--help` and reproduced by a bare run.
#[derive(Debug, Clone, Copy)]
pub struct TrainDefaults {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
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
    /// Dataset directory [default: $DATASETS_DIR, else datasets/ in the workspace]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where the model and its reports go [default: artifacts/<algorithm>/ in the workspace]
    #[arg(long, value_name = "DIR")]
    pub artifact_dir: Option<PathBuf>,
}

impl TrainArgs {
    /// The settings recorded with the model.
    pub fn settings(&self) -> TrainingSettings {
        TrainingSettings {
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            seed: self.seed,
        }
    }
}

/// For algorithms without options of their own.
#[derive(Debug, Clone, Args)]
pub struct NoExtraArgs {}

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

#[derive(Debug, Parser)]
struct CpuCli<E: Args> {
    /// CPU backend to train on
    #[arg(long, value_enum, default_value_t = CpuBackend::Flex)]
    backend: CpuBackend,
    #[command(flatten)]
    train: TrainArgs,
    #[command(flatten)]
    extra: E,
}

/// Everything a training function needs, resolved.
#[derive(Debug, Clone)]
pub struct TrainRun<E> {
    pub device: Device,
    /// Which backend and device ran, for logs and `metrics.json` (`flex`, `wgpu: llvmpipe ...`).
    pub backend: String,
    pub args: TrainArgs,
    pub extra: E,
    pub data_dir: DataDir,
    pub artifact_dir: PathBuf,
}

/// What a training binary is.
#[derive(Debug, Clone, Copy)]
pub struct TrainBinary {
    /// `iris`: names the default artifact directory.
    pub algorithm: &'static str,
    /// `iris-ndarray`: the program name in help and errors.
    pub binary: &'static str,
    pub about: &'static str,
    pub defaults: TrainDefaults,
}

/// `main` of an `<algo>-ndarray` binary.
pub fn cpu_main<E: Args + FromArgMatches + fmt::Debug>(
    binary: TrainBinary,
    train: impl FnOnce(TrainRun<E>) -> Result<()>,
) -> ExitCode {
    let cli: CpuCli<E> = parse(binary);
    let device = match cli.backend {
        CpuBackend::Flex => Device::flex(),
        #[allow(deprecated)] // kept on purpose: users compare the two CPU backends
        CpuBackend::Ndarray => Device::ndarray(),
    };
    let run = resolve(
        binary,
        device,
        cli.backend.to_string(),
        cli.train,
        cli.extra,
    );
    finish(binary, train(run))
}

fn parse<P: Parser>(binary: TrainBinary) -> P {
    let defaults = binary.defaults;
    let command = P::command()
        .name(binary.binary)
        .bin_name(binary.binary)
        .about(binary.about)
        .mut_arg("epochs", |a| with_default(a, defaults.epochs))
        .mut_arg("batch_size", |a| with_default(a, defaults.batch_size))
        .mut_arg("learning_rate", |a| with_default(a, defaults.learning_rate));
    let matches = command.get_matches();
    P::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The algorithm's default for an option the derive declared without one.
fn with_default(arg: clap::Arg, value: impl ToString) -> clap::Arg {
    arg.default_value(value.to_string()).required(false)
}

fn resolve<E>(
    binary: TrainBinary,
    device: Device,
    backend: String,
    args: TrainArgs,
    extra: E,
) -> TrainRun<E> {
    let data_dir = resolve_data_dir(args.data_dir.as_deref());
    let artifact_dir = resolve_artifact_dir(args.artifact_dir.as_deref(), binary.algorithm);
    eprintln!("{}: backend {backend}", binary.binary);
    eprintln!(
        "{}: data directory {} (from {})",
        binary.binary,
        data_dir.path.display(),
        data_dir.chosen_by
    );
    TrainRun {
        device,
        backend,
        args,
        extra,
        data_dir,
        artifact_dir,
    }
}

fn finish(binary: TrainBinary, result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}: error: {error:#}", binary.binary);
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "wgpu")]
pub use gpu::{Adapter, wgpu_main};

#[cfg(feature = "wgpu")]
mod gpu {
    use super::*;
    use anyhow::anyhow;
    use burn::tensor::DeviceKind;

    /// Which wgpu adapter to train on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
    pub enum Adapter {
        /// the best adapter the system offers (a discrete GPU first)
        Best,
        /// the first discrete GPU
        Discrete,
        /// the first integrated GPU
        Integrated,
        /// a software adapter (lavapipe / llvmpipe), for machines without a GPU
        Cpu,
    }

    #[derive(Debug, Parser)]
    struct WgpuCli<E: Args> {
        /// wgpu adapter to train on
        #[arg(long, value_enum, default_value_t = Adapter::Best)]
        adapter: Adapter,
        #[command(flatten)]
        train: TrainArgs,
        #[command(flatten)]
        extra: E,
    }

    /// `main` of an `<algo>-wgpu` binary.
    pub fn wgpu_main<E: Args + FromArgMatches + fmt::Debug>(
        binary: TrainBinary,
        train: impl FnOnce(TrainRun<E>) -> Result<()>,
    ) -> ExitCode {
        let cli: WgpuCli<E> = parse(binary);
        let (device, backend) = match wgpu_device(cli.adapter) {
            Ok(found) => found,
            Err(error) => return finish(binary, Err(error)),
        };
        let run = resolve(binary, device, backend, cli.train, cli.extra);
        finish(binary, train(run))
    }

    /// Acquires the adapter up front, so a machine without one gets a message instead of a
    /// panic at the first tensor operation.
    fn wgpu_device(adapter: Adapter) -> Result<(Device, String)> {
        let kind = match adapter {
            Adapter::Best => DeviceKind::DefaultDevice,
            Adapter::Discrete => DeviceKind::DiscreteGpu(0),
            Adapter::Integrated => DeviceKind::IntegratedGpu(0),
            Adapter::Cpu => DeviceKind::Cpu,
        };
        let flag = adapter
            .to_possible_value()
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default();
        let (device, setup) = Device::wgpu_options()
            .device_kind(kind)
            .init_with_setup()
            .map_err(|e| {
                anyhow!(
                    "no usable wgpu adapter for --adapter {flag} ({e}); install a GPU driver \
                     (Vulkan, Metal or DX12), or use --adapter cpu with a software Vulkan \
                     device (Debian: apt-get install mesa-vulkan-drivers), or train on the \
                     CPU with the -ndarray binary"
                )
            })?;
        let info = setup.adapter.get_info();
        if info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu && adapter != Adapter::Cpu
        {
            eprintln!(
                "note: no GPU adapter found; --adapter {flag} fell back to the software adapter {} \
                 (slower than the -ndarray binary)",
                info.name
            );
        }
        Ok((
            device,
            format!(
                "wgpu ({}, {:?}, {:?})",
                info.name, info.backend, info.device_type
            ),
        ))
    }
}
