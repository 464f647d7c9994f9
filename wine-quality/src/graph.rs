//! The network as a graph of plain tensors: its signature, and its forward pass on Burn (what
//! the self-contained module runs inside the sandbox, and what a wasi-nn host runs for the
//! named graph `wine-quality`).

use runtime::artifacts::{Artifacts, LoadedModel};
use runtime::graph::{Forward, GraphInput, GraphSpec, TensorDesc, TensorKind};

use crate::config::WineConfig;
use crate::input::NUM_INPUTS;

/// Standardised measurements and the type flag in, the standardised quality out.
pub const GRAPH: GraphSpec = GraphSpec {
    name: "wine-quality",
    input: TensorDesc {
        name: "features",
        kind: TensorKind::F32,
        shape: &[-1, NUM_INPUTS as i64],
    },
    output: TensorDesc {
        name: "scaled_quality",
        kind: TensorKind::F32,
        shape: &[-1, 1],
    },
};

/// The trained network, loaded from its artifacts.
#[derive(Debug)]
pub struct WineGraph {
    loaded: LoadedModel<WineConfig>,
}

impl Forward for WineGraph {
    fn load(artifacts: &Artifacts<'_>, _spec: &GraphSpec) -> Result<Self, String> {
        LoadedModel::load(artifacts).map(|loaded| Self { loaded })
    }

    fn forward(&self, input: GraphInput) -> Result<Vec<f32>, String> {
        let features = runtime::graph::f32_tensor(input, &self.loaded.device)?;
        runtime::graph::output_values(self.loaded.model.forward(features))
    }
}
