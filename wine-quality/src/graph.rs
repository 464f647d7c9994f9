//! The network as a graph of plain tensors: its signature, and its forward pass on Burn (what
//! the self-contained module runs inside the sandbox, and what a wasi-nn host runs for the
//! named graph `wine-quality`).

use burn::tensor::Device;
use runtime::artifacts::{Artifacts, LoadedModel};
use runtime::graph::{Forward, GraphInput, GraphSpec, LoadOn, TensorDesc, TensorKind};

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

impl LoadOn for WineGraph {
    fn load_on(artifacts: &Artifacts<'_>, device: Device) -> Result<Self, String> {
        LoadedModel::load_on(artifacts, device).map(|loaded| Self { loaded })
    }
}

impl Forward for WineGraph {
    fn load(artifacts: &Artifacts<'_>, _spec: &GraphSpec) -> Result<Self, String> {
        Self::load_on(artifacts, Device::flex())
    }

    fn forward(&self, input: GraphInput) -> Result<Vec<f32>, String> {
        let features = runtime::graph::f32_tensor(input, &self.loaded.device)?;
        runtime::graph::output_values(self.loaded.model.forward(features))
    }
}
