//! The network as a graph of plain tensors: its signature and its two forward passes, on the
//! `kernels` crate's layers (what the self-contained module runs inside the sandbox) and on Burn
//! (what training evaluates and what a wasi-nn host runs for the named graph `iris`). The tests
//! check that the two agree on the committed model.

use burn::tensor::Device;
use inference_kernels::{Perceptron, Record};
use module_kit::artifacts::{Artifacts, LoadError, LoadedModel};
use module_kit::graph::{
    Forward, GraphError, GraphInput, GraphSpec, LoadOn, TensorDesc, TensorKind,
};

use crate::config::{IrisConfig, IrisModuleConfig};

/// Standardised measurements in, class logits out.
pub const GRAPH: GraphSpec = GraphSpec {
    name: "iris",
    input: TensorDesc {
        name: "features",
        kind: TensorKind::F32,
        shape: &[-1, 4],
    },
    output: TensorDesc {
        name: "logits",
        kind: TensorKind::F32,
        shape: &[-1, 3],
    },
};

/// The trained network, loaded from its artifacts.
#[derive(Debug)]
pub struct IrisGraph {
    loaded: LoadedModel<IrisConfig>,
}

impl LoadOn for IrisGraph {
    fn load_on(artifacts: &Artifacts<'_>, device: Device) -> Result<Self, LoadError> {
        LoadedModel::load_on(artifacts, device).map(|loaded| Self { loaded })
    }
}

impl Forward for IrisGraph {
    fn load(artifacts: &Artifacts<'static>, _spec: &GraphSpec) -> Result<Self, LoadError> {
        Self::load_on(artifacts, Device::flex())
    }

    fn forward(&self, input: GraphInput) -> Result<Vec<f32>, GraphError> {
        let features = module_kit::graph::f32_tensor(input, &self.loaded.device)?;
        module_kit::graph::output_values(self.loaded.model.forward(features))
    }
}

/// The trained network on the `kernels` crate's layers: what the self-contained module runs.
#[derive(Debug)]
pub struct IrisKernels {
    layers: Perceptron,
}

impl Forward for IrisKernels {
    fn load(artifacts: &Artifacts<'static>, _spec: &GraphSpec) -> Result<Self, LoadError> {
        let IrisModuleConfig { model, .. } = artifacts.config()?;
        let record =
            Record::parse(artifacts.model_bpk).map_err(|e| LoadError::Record(e.to_string()))?;
        let (features, hidden) = (model.num_features, model.hidden_size);
        let layers = Perceptron::load(
            &record,
            &[
                ("input", features, hidden),
                ("hidden", hidden, hidden),
                ("output", hidden, model.num_classes),
            ],
        )
        .map_err(|e| LoadError::Record(e.to_string()))?;
        Ok(Self { layers })
    }

    fn forward(&self, input: GraphInput) -> Result<Vec<f32>, GraphError> {
        let (rows, features) = input.into_f32_rows(self.layers.inputs())?;
        Ok(self.layers.forward(&features, rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_kit::forwards::{assert_forwards_agree, random_input};

    const COMMITTED: Artifacts<'static> = module_kit::embedded_artifacts!("iris");

    #[test]
    fn the_kernels_compute_what_burn_computes_on_the_committed_model() {
        let input = random_input(&[2000, 4], (-4.0, 4.0), (0.0, 0.0), 1);
        assert_forwards_agree::<IrisKernels, IrisGraph>(&COMMITTED, &GRAPH, input);
    }
}
