//! Named graphs: the project's trained artifacts run natively with Burn behind wasi-nn, for
//! the named-graph modules (`<algo>-inference-named.wasm`) that ask for them with
//! `load_by_name("<algo>")`. Each graph is loaded once (`--graph <algo>=<artifact dir>`) and
//! shared by every request's store, through `wasmtime-wasi-nn`'s public backend traits.
//!

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use module_kit::artifacts::{Artifacts, EMBEDDED_FILES};
use module_kit::device::Adapter;
use module_kit::graph::{
    Forward, GraphInput, GraphSpec, IDENTITY_BYTES, IDENTITY_OUTPUT, LoadOn, TensorKind,
};
use wasmtime_wasi_nn::backend::{
    BackendError, BackendExecutionContext, BackendGraph, Id, NamedTensor,
};
use wasmtime_wasi_nn::wit::TensorType;
use wasmtime_wasi_nn::{ExecutionContext, Graph, GraphRegistry, Tensor};

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
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let Some((name, dir)) = text.split_once('=') else {
            return Err(format!(
                "'{text}' is not NAME=DIR (for example iris=artifacts/iris)"
            ));
        };
        if !ALGORITHMS.contains(&name) {
            return Err(format!(
                "there is no Burn graph '{name}': the graphs are {}",
                ALGORITHMS.join(", ")
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            dir: PathBuf::from(dir),
        })
    }
}

/// A model's forward pass, wherever it runs.
pub(crate) trait RunGraph: Send + Sync {
    fn run(&self, input: GraphInput) -> Result<Vec<f32>, String>;
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
    pub(crate) fn run(&self, input: GraphInput) -> Result<Vec<f32>, String> {
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
    fn run(&self, input: GraphInput) -> Result<Vec<f32>, String> {
        self.0.forward(input).map_err(|e| e.to_string())
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
pub(crate) fn load_in_process(source: &GraphSource, device: &GraphDevice) -> Result<HostedGraph> {
    match source.name.as_str() {
        "iris" => load::<iris::graph::IrisGraph>(source, device, &[]),
        "wine-quality" => load::<wine_quality::graph::WineGraph>(source, device, &[]),
        "mnist" => load::<mnist::graph::MnistGraph>(source, device, &[]),
        "ag-news" => {
            load::<ag_news::graph::AgNewsGraph>(source, device, &[ag_news::graph::VOCAB_JSON])
        }
        other => bail!("there is no Burn graph '{other}'"),
    }
}

fn load<G: LoadOn + Send + Sync + 'static>(
    source: &GraphSource,
    device: &GraphDevice,
    extra: &[&str],
) -> Result<HostedGraph> {
    let spec = spec_of(&source.name).context("a known graph")?;
    let read = |name: &str| -> Result<Vec<u8>> {
        let path = source.dir.join(name);
        fs::read(&path).with_context(|| {
            format!(
                "graph '{}': cannot read {} (an artifact directory as training writes it, e.g. artifacts/{})",
                source.name,
                path.display(),
                source.name
            )
        })
    };
    let [model_bpk, config_json, metrics_json] = EMBEDDED_FILES.map(read);
    let (model_bpk, config_json, metrics_json) = (model_bpk?, config_json?, metrics_json?);
    let extra_bytes: Vec<(&str, Vec<u8>)> = extra
        .iter()
        .map(|&name| Ok((name, read(name)?)))
        .collect::<Result<_>>()?;
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
        .map_err(|e| anyhow::anyhow!("graph '{}': {e}", source.name))?;
    let network = G::load_on(&artifacts, device.device.clone()).map_err(|e| {
        anyhow::anyhow!("graph '{}' from {}: {e}", source.name, source.dir.display())
    })?;
    Ok(HostedGraph::new(
        *spec,
        model_sha256,
        source.dir.clone(),
        device.description.clone(),
        Box::new(InProcess(network)),
    ))
}

/// The graphs every store may ask for by name, shared: each store gets its own registry of
/// clones (an `Arc` each), as wasi-nn's `load_by_name` needs a registry it can borrow mutably.
#[derive(Clone, Default)]
pub(crate) struct Graphs {
    graphs: Arc<HashMap<String, Graph>>,
    hosted: Arc<Vec<Arc<HostedGraph>>>,
}

impl std::fmt::Debug for Graphs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.hosted.iter()).finish()
    }
}

impl Graphs {
    pub(crate) fn new(hosted: Vec<HostedGraph>) -> Self {
        let hosted: Vec<Arc<HostedGraph>> = hosted.into_iter().map(Arc::new).collect();
        let graphs = hosted
            .iter()
            .map(|graph| {
                let backend: Box<dyn BackendGraph> = Box::new(BurnGraph(graph.clone()));
                (graph.spec.name.to_owned(), Graph::from(backend))
            })
            .collect();
        Self {
            graphs: Arc::new(graphs),
            hosted: Arc::new(hosted),
        }
    }

    pub(crate) fn hosted(&self) -> &[Arc<HostedGraph>] {
        &self.hosted
    }

    /// A registry for one store.
    pub(crate) fn registry(&self) -> wasmtime_wasi_nn::Registry {
        StoreRegistry((*self.graphs).clone()).into()
    }
}

struct StoreRegistry(HashMap<String, Graph>);

impl GraphRegistry for StoreRegistry {
    fn get(&self, name: &str) -> Option<&Graph> {
        self.0.get(name)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Graph> {
        self.0.get_mut(name)
    }
}

/// A hosted graph as wasi-nn sees it.
struct BurnGraph(Arc<HostedGraph>);

impl BackendGraph for BurnGraph {
    fn init_execution_context(&self) -> Result<ExecutionContext, BackendError> {
        let context: Box<dyn BackendExecutionContext> = Box::new(BurnContext {
            graph: self.0.clone(),
            input: None,
            output: None,
        });
        Ok(ExecutionContext::from(context))
    }
}

/// One execution: the input set, the output once computed.
struct BurnContext {
    graph: Arc<HostedGraph>,
    input: Option<GraphInput>,
    output: Option<(usize, Vec<f32>)>,
}

/// A backend error the host logs; the guest sees wasi-nn's `runtime_error`.
fn refuse(graph: &str, message: impl std::fmt::Display) -> BackendError {
    let message = format!("graph '{graph}': {message}");
    tracing::warn!(target: "graphs", "{message}");
    BackendError::BackendAccess(wasmtime::Error::msg(message))
}

impl BackendExecutionContext for BurnContext {
    fn set_input(&mut self, id: Id, tensor: &Tensor) -> Result<(), BackendError> {
        let name = self.graph.spec.name;
        if id.index() != Some(0) {
            return Err(refuse(name, format!("it has one input, not {id:?}")));
        }
        let kind = match tensor.ty {
            TensorType::Fp32 => TensorKind::F32,
            TensorType::U8 => TensorKind::U8,
            other => return Err(refuse(name, format!("it takes no {other:?} tensor"))),
        };
        let shape = tensor.dimensions.iter().map(|&d| d as usize).collect();
        let input = GraphInput::from_le_bytes(&self.graph.spec.input, kind, shape, &tensor.data)
            .map_err(|e| refuse(name, e))?;
        self.input = Some(input);
        self.output = None;
        Ok(())
    }

    fn compute(
        &mut self,
        _inputs: Option<Vec<NamedTensor>>,
    ) -> Result<Option<Vec<NamedTensor>>, BackendError> {
        let name = self.graph.spec.name;
        let input = self
            .input
            .take()
            .ok_or_else(|| refuse(name, "compute before set_input"))?;
        let rows = input.rows();
        let output = self.graph.run(input).map_err(|e| refuse(name, e))?;
        let expected = rows * self.graph.spec.output_columns();
        if output.len() != expected {
            return Err(refuse(
                name,
                format!("the network gave {} values, not {expected}", output.len()),
            ));
        }
        self.output = Some((rows, output));
        Ok(None)
    }

    fn get_output(&mut self, id: Id) -> Result<Tensor, BackendError> {
        let name = self.graph.spec.name;
        match id.index() {
            Some(0) => {
                let (rows, values) = self
                    .output
                    .as_ref()
                    .ok_or_else(|| refuse(name, "get_output before compute"))?;
                let columns = self.graph.spec.output_columns();
                let dims = [*rows, columns].map(|d| u32::try_from(d).unwrap_or(u32::MAX));
                let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                Ok(Tensor::new(dims.to_vec(), TensorType::Fp32, data))
            }
            Some(IDENTITY_OUTPUT) => Ok(Tensor::new(
                vec![IDENTITY_BYTES as u32],
                TensorType::U8,
                self.graph.model_sha256.as_bytes().to_vec(),
            )),
            _ => Err(refuse(name, format!("it has outputs 0 and 1, not {id:?}"))),
        }
    }
}

/// Where the graphs' Burn code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    InProcess,
    Workers(WorkerSettings),
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

/// Loads every `--graph`; the first failure names the graph. In-process graphs share one
/// device, acquired only when there is a graph to run on it.
pub(crate) fn load_all(
    sources: &[GraphSource],
    placement: Placement,
    device: DeviceOptions,
) -> Result<Graphs> {
    let mut seen = std::collections::BTreeSet::new();
    for source in sources {
        if !seen.insert(source.name.clone()) {
            bail!("--graph {} is given twice", source.name);
        }
    }
    let hosted = match placement {
        _ if sources.is_empty() => Vec::new(),
        Placement::InProcess => {
            let device = device.acquire()?;
            sources
                .iter()
                .map(|source| load_in_process(source, &device))
                .collect::<Result<_>>()?
        }
        Placement::Workers(settings) => sources
            .iter()
            .map(|source| crate::graph_worker::WorkerPool::start(source, settings, device))
            .collect::<Result<_>>()?,
    };
    Ok(Graphs::new(hosted))
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
    pub(crate) fn acquire(self) -> Result<GraphDevice> {
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
fn wgpu_device(adapter: Adapter) -> Result<GraphDevice> {
    let found = module_kit::device::wgpu_device(adapter)
        .map_err(|e| anyhow::anyhow!("--graph-device wgpu: {e}, or use --graph-device flex"))?;
    if found.fell_back_to_software {
        tracing::warn!(target: "graphs", "no GPU adapter found: --graph-adapter {} fell back to {}", adapter.name(), found.description);
    }
    Ok(GraphDevice {
        device: found.device,
        description: found.description,
    })
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device(_adapter: Adapter) -> Result<GraphDevice> {
    bail!(
        "--graph-device wgpu: this model-server is built without wgpu; rebuild it with \
         `cargo build --release -p model-server --features wgpu`, or use --graph-device flex"
    )
}
