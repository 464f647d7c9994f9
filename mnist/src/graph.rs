//! The network as a graph of plain tensors: its signature, and its forward pass on Burn (what
//! the self-contained module runs inside the sandbox, and what a wasi-nn host runs for the
//! named graph `mnist`).

use burn::tensor::Device;
use runtime::artifacts::{Artifacts, LoadedModel};
use runtime::graph::{Forward, GraphInput, GraphSpec, LoadOn, TensorDesc, TensorKind};

use crate::config::MnistConfig;
use crate::input::SIDE;

/// Normalised grey levels in, digit logits out.
pub const GRAPH: GraphSpec = GraphSpec {
    name: "mnist",
    input: TensorDesc {
        name: "image",
        kind: TensorKind::F32,
        shape: &[-1, 1, SIDE as i64, SIDE as i64],
    },
    output: TensorDesc {
        name: "logits",
        kind: TensorKind::F32,
        shape: &[-1, 10],
    },
};

/// The trained network, loaded from its artifacts.
#[derive(Debug)]
pub struct MnistGraph {
    loaded: LoadedModel<MnistConfig>,
}

impl LoadOn for MnistGraph {
    fn load_on(artifacts: &Artifacts<'_>, device: Device) -> Result<Self, String> {
        LoadedModel::load_on(artifacts, device).map(|loaded| Self { loaded })
    }
}

impl Forward for MnistGraph {
    fn load(artifacts: &Artifacts<'_>, _spec: &GraphSpec) -> Result<Self, String> {
        Self::load_on(artifacts, Device::flex())
    }

    fn forward(&self, input: GraphInput) -> Result<Vec<f32>, String> {
        let images = runtime::graph::f32_tensor(input, &self.loaded.device)?;
        runtime::graph::output_values(self.loaded.model.forward(images))
    }
}
