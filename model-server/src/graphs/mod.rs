//! Named graphs: the project's trained artifacts run natively with Burn behind wasi-nn, for
//! the named-graph modules (`<algo>-inference-named.wasm`) that ask for them with
//! `load_by_name("<algo>")`. Each graph is loaded once (`--graph <algo>=<artifact dir>`) and
//! shared by every request's store, through `wasmtime-wasi-nn`'s public backend traits.
//!
//! [`backend`] holds what a graph is wherever it runs, [`worker`] runs graphs in processes of
//! their own; this module makes either a wasi-nn graph. Imports run that way only.

mod backend;
mod error;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use module_kit::graph::{GraphError, GraphInput, IDENTITY_BYTES, IDENTITY_OUTPUT, TensorKind};
use wasmtime_wasi_nn::backend::{
    BackendError, BackendExecutionContext, BackendGraph, Id, NamedTensor,
};
use wasmtime_wasi_nn::wit::TensorType;
use wasmtime_wasi_nn::{ExecutionContext, Graph, GraphRegistry, Tensor};

pub(crate) use backend::{DeviceOptions, GraphSource, HostedGraph, WorkerSettings};
pub(crate) use error::LoadGraphError;
pub(crate) use worker::serve_worker;

use backend::load_in_process;
use error::RunError;
use worker::WorkerPool;

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

/// Why a wasi-nn call on a graph was refused.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("it has one input, not {0:?}")]
    NoSuchInput(Id),
    #[error("it takes no {0:?} tensor")]
    TensorType(TensorType),
    #[error(transparent)]
    Input(#[from] GraphError),
    #[error("compute before set_input")]
    NoInput,
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("the network gave {got} values, not {expected}")]
    OutputLength { got: usize, expected: usize },
    #[error("get_output before compute")]
    NoOutput,
    #[error("it has outputs 0 and 1, not {0:?}")]
    NoSuchOutput(Id),
}

/// A backend error the host logs; the guest sees wasi-nn's `runtime_error`.
fn refuse(graph: &str, error: &CallError) -> BackendError {
    let message = format!("graph '{graph}': {error}");
    tracing::warn!(target: "graphs", "{message}");
    BackendError::BackendAccess(wasmtime::Error::msg(message))
}

impl BackendExecutionContext for BurnContext {
    fn set_input(&mut self, id: Id, tensor: &Tensor) -> Result<(), BackendError> {
        let name = self.graph.spec.name;
        if id.index() != Some(0) {
            return Err(refuse(name, &CallError::NoSuchInput(id)));
        }
        let kind = match tensor.ty {
            TensorType::Fp32 => TensorKind::F32,
            TensorType::U8 => TensorKind::U8,
            other => return Err(refuse(name, &CallError::TensorType(other))),
        };
        let shape = tensor.dimensions.iter().map(|&d| d as usize).collect();
        let input = GraphInput::from_le_bytes(&self.graph.spec.input, kind, shape, &tensor.data)
            .map_err(|e| refuse(name, &e.into()))?;
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
            .ok_or_else(|| refuse(name, &CallError::NoInput))?;
        let rows = input.rows();
        let output = self.graph.run(input).map_err(|e| refuse(name, &e.into()))?;
        let expected = rows * self.graph.spec.output_columns();
        if output.len() != expected {
            return Err(refuse(
                name,
                &CallError::OutputLength {
                    got: output.len(),
                    expected,
                },
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
                    .ok_or_else(|| refuse(name, &CallError::NoOutput))?;
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
            _ => Err(refuse(name, &CallError::NoSuchOutput(id))),
        }
    }
}

/// Where the graphs' Burn code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    InProcess,
    Workers(WorkerSettings),
}

/// Loads every `--graph`; the first failure names the graph. In-process graphs share one
/// device, acquired only when there is a graph to run on it.
pub(crate) fn load_all(
    sources: &[GraphSource],
    placement: Placement,
    device: DeviceOptions,
) -> Result<Graphs, LoadGraphError> {
    let mut seen = std::collections::BTreeSet::new();
    for source in sources {
        if !seen.insert(source.name.clone()) {
            return Err(LoadGraphError::GivenTwice(source.name.clone()));
        }
    }
    let hosted = match placement {
        _ if sources.is_empty() => Vec::new(),
        Placement::InProcess => {
            let device = device.acquire()?;
            sources
                .iter()
                .map(|source| load_in_process(source, &device))
                .collect::<Result<_, _>>()?
        }
        Placement::Workers(settings) => sources
            .iter()
            .map(|source| WorkerPool::start(source, settings, device))
            .collect::<Result<_, _>>()?,
    };
    Ok(Graphs::new(hosted))
}
