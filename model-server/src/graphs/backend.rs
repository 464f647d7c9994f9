//! What the in-process graphs and the worker processes share: the `--graph` and device options,
//! a graph's signature and loaded form ([`HostedGraph`]), the forward pass behind it
//! ([`RunGraph`]), and loading a graph in this process (what a worker does too).

use std::fs;
use std::path::PathBuf;

use burn::tensor::Device;
use module_kit::artifacts::{Artifacts, EMBEDDED_FILES};
use module_kit::device::Adapter;
use module_kit::graph::{Forward, GraphInput, GraphSpec, IDENTITY_BYTES, LoadOn};

use super::error::{LoadGraphError, RunError, SourceError};

/// The algorithms a graph can be: each algorithm crate's graph, with the files beside the ones
/// every model has.
pub(crate) const ALGORITHMS: &[&str] = &["iris", "wine-quality", "mnist", "ag-news"];

/// `--graph NAME=DIR`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GraphSource {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
}

impl std::str::FromStr for GraphSource {
    type Err = SourceError;

    fn from_str(text: &str) -> Result<Self, SourceError> {
        let Some((name, dir)) = text.split_once('=') else {
            return Err(SourceError::NotNameDir(text.to_owned()));
        };
        if !ALGORITHMS.contains(&name) {
            return Err(SourceError::Unknown {
                name: name.to_owned(),
                known: ALGORITHMS.join(", "),
            });
        }
        Ok(Self {
            name: name.to_owned(),
            dir: PathBuf::from(dir),
        })
    }
}

/// A model's forward pass, wherever it runs.
pub(crate) trait RunGraph: Send + Sync {
    fn run(&self, input: GraphInput) -> Result<Vec<f32>, RunError>;
}

/// One loaded graph: its signature, its model's identity and its forward pass.
pub(crate) struct HostedGraph {
    pub(crate) spec: GraphSpec,
    pub(crate) model_sha256: String,
    pub(crate) dir: PathBuf,
    /// The Burn device its forward pass runs on (`flex`, `wgpu (NAME, Vulkan, DiscreteGpu)`).
    pub(crate) device: String,
    runner: Box<dyn RunGraph>,
}

impl std::fmt::Debug for HostedGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedGraph")
            .field("name", &self.spec.name)
            .field("model_sha256", &self.model_sha256)
            .finish_non_exhaustive()
    }
}

impl HostedGraph {
    pub(crate) fn new(
        spec: GraphSpec,
        model_sha256: String,
        dir: PathBuf,
        device: String,
        runner: Box<dyn RunGraph>,
    ) -> Self {
        Self {
            spec,
            model_sha256,
            dir,
            device,
            runner,
        }
    }

    /// The forward pass, wherever it runs.
    pub(crate) fn run(&self, input: GraphInput) -> Result<Vec<f32>, RunError> {
        self.runner.run(input)
    }

    /// The graph's signature for the graph index (`GET /v2/graphs`).
    pub(crate) fn describe(&self) -> serde_json::Value {
        let tensor = |t: &module_kit::graph::TensorDesc| serde_json::json!({"name": t.name, "datatype": t.kind.name(), "shape": t.shape});
        serde_json::json!({
            "name": self.spec.name,
            "artifacts": self.dir.display().to_string(),
            "model_sha256": self.model_sha256,
            "device": self.device,
            "inputs": [tensor(&self.spec.input)],
            "outputs": [
                tensor(&self.spec.output),
                {"name": "model_sha256", "datatype": "U8", "shape": [IDENTITY_BYTES]},
            ],
        })
    }
}

/// A graph run by its algorithm crate's own code, in this process.
struct InProcess<G>(G);

impl<G: Forward + Send + Sync> RunGraph for InProcess<G> {
    fn run(&self, input: GraphInput) -> Result<Vec<f32>, RunError> {
        Ok(self.0.forward(input)?)
    }
}

/// The signature of the graph `name`.
pub(crate) fn spec_of(name: &str) -> Option<&'static GraphSpec> {
    Some(match name {
        "iris" => &iris::graph::GRAPH,
        "wine-quality" => &wine_quality::graph::GRAPH,
        "mnist" => &mnist::graph::GRAPH,
        "ag-news" => &ag_news::graph::GRAPH,
        _ => return None,
    })
}

/// Loads the graph `source` in this process onto `device`: the artifacts read once, the
/// network built.
pub(crate) fn load_in_process(
    source: &GraphSource,
    device: &GraphDevice,
) -> Result<HostedGraph, LoadGraphError> {
    match source.name.as_str() {
        "iris" => load::<iris::graph::IrisGraph>(source, device, &[]),
        "wine-quality" => load::<wine_quality::graph::WineGraph>(source, device, &[]),
        "mnist" => load::<mnist::graph::MnistGraph>(source, device, &[]),
        "ag-news" => {
            load::<ag_news::graph::AgNewsGraph>(source, device, &[ag_news::graph::VOCAB_JSON])
        }
        other => Err(LoadGraphError::Unknown(other.to_owned())),
    }
}

fn load<G: LoadOn + Send + Sync + 'static>(
    source: &GraphSource,
    device: &GraphDevice,
    extra: &[&str],
) -> Result<HostedGraph, LoadGraphError> {
    let spec = spec_of(&source.name).ok_or_else(|| LoadGraphError::Unknown(source.name.clone()))?;
    let read = |name: &str| -> Result<Vec<u8>, LoadGraphError> {
        let path = source.dir.join(name);
        fs::read(&path).map_err(|error| LoadGraphError::Read {
            name: source.name.clone(),
            path: path.display().to_string(),
            error,
        })
    };
    let [model_bpk, config_json, metrics_json] = EMBEDDED_FILES.map(read);
    let (model_bpk, config_json, metrics_json) = (model_bpk?, config_json?, metrics_json?);
    let extra_bytes: Vec<(&str, Vec<u8>)> = extra
        .iter()
        .map(|&name| Ok((name, read(name)?)))
        .collect::<Result<_, LoadGraphError>>()?;
    let extra_refs: Vec<(&str, &[u8])> = extra_bytes
        .iter()
        .map(|(name, bytes)| (*name, bytes.as_slice()))
        .collect();
    let artifacts = Artifacts {
        model_bpk: &model_bpk,
        config_json: &config_json,
        metrics_json: &metrics_json,
        extra: &extra_refs,
    };
    let model_sha256 = artifacts
        .model_sha256()
        .map_err(|error| LoadGraphError::Identity {
            name: source.name.clone(),
            error,
        })?;
    let network =
        G::load_on(&artifacts, device.device.clone()).map_err(|error| LoadGraphError::Load {
            name: source.name.clone(),
            dir: source.dir.display().to_string(),
            error,
        })?;
    Ok(HostedGraph::new(
        *spec,
        model_sha256,
        source.dir.clone(),
        device.description.clone(),
        Box::new(InProcess(network)),
    ))
}

/// Graph worker processes (`--graph-workers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WorkerSettings {
    /// Worker processes per graph.
    pub(crate) count: usize,
    /// How long an answer is awaited before the worker is stopped.
    pub(crate) deadline: std::time::Duration,
    /// Memory each worker may use (`RLIMIT_DATA`), in MiB; 0: no limit.
    pub(crate) memory_mib: u64,
}

/// The Burn backend the graphs compute on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Backend {
    /// burn's pure-Rust CPU backend (the modules' own)
    #[default]
    Flex,
    /// a GPU through wgpu (model-server built with `--features wgpu`)
    Wgpu,
}

/// `--graph-device`, `--graph-adapter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::Args)]
pub(crate) struct DeviceOptions {
    /// The Burn backend the named graphs compute on.
    #[arg(long = "graph-device", value_enum, default_value_t)]
    pub(crate) backend: Backend,
    /// The wgpu adapter for --graph-device wgpu (`cpu`: a software Vulkan device).
    #[arg(long = "graph-adapter", value_enum, default_value_t)]
    pub(crate) adapter: Adapter,
}

/// A device acquired for the graphs, and what it is.
#[derive(Debug, Clone)]
pub(crate) struct GraphDevice {
    pub(crate) device: Device,
    pub(crate) description: String,
}

impl DeviceOptions {
    /// The options as a graph worker's arguments.
    pub(crate) fn to_args(self) -> [String; 4] {
        use clap::ValueEnum;
        let name = |value: Option<clap::builder::PossibleValue>| {
            value.map(|v| v.get_name().to_owned()).unwrap_or_default()
        };
        [
            "--graph-device".into(),
            name(self.backend.to_possible_value()),
            "--graph-adapter".into(),
            self.adapter.name().into(),
        ]
    }

    /// Acquires the device up front: a missing GPU is a one-line error at start, not a panic
    /// at the first request.
    pub(crate) fn acquire(self) -> Result<GraphDevice, LoadGraphError> {
        match self.backend {
            Backend::Flex => Ok(GraphDevice {
                device: Device::flex(),
                description: "flex".into(),
            }),
            Backend::Wgpu => wgpu_device(self.adapter),
        }
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_device(adapter: Adapter) -> Result<GraphDevice, LoadGraphError> {
    let found = module_kit::device::wgpu_device(adapter).map_err(LoadGraphError::Wgpu)?;
    if found.fell_back_to_software {
        tracing::warn!(target: "graphs", "no GPU adapter found: --graph-adapter {} fell back to {}", adapter.name(), found.description);
    }
    Ok(GraphDevice {
        device: found.device,
        description: found.description,
    })
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device(_adapter: Adapter) -> Result<GraphDevice, LoadGraphError> {
    Err(LoadGraphError::NoWgpu)
}
