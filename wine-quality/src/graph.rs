//! The network as a graph of plain tensors: its signature and its two forward passes, on the
//! `inference-kernels` crate's layers (what the self-contained module runs inside the sandbox) and
//! on Burn (what training evaluates and what a wasi-nn host runs for the named graph
//! `wine-quality`). The tests check that the two agree on the committed model.

use burn::tensor::Tensor;
use inference_kernels::{Perceptron, Record};
use module_kit::artifacts::{Artifacts, LoadError};
use module_kit::graph::{
    BurnGraph, BurnNetwork, Forward, GraphError, GraphInput, GraphSpec, TensorDesc,
};

use crate::config::{WineConfig, WineModuleConfig};
use crate::input::NUM_INPUTS;
use crate::model::WineModel;

/// Standardised measurements and the type flag in, the standardised quality out.
pub const GRAPH: GraphSpec = GraphSpec {
    name: "wine-quality",
    input: TensorDesc::f32("features", &[-1, NUM_INPUTS as i64]),
    output: TensorDesc::f32("scaled_quality", &[-1, 1]),
};

/// The trained network on Burn, loaded from its artifacts.
pub type WineGraph = BurnGraph<WineConfig, 2>;

impl BurnNetwork<2> for WineModel {
    fn forward_tensor(&self, features: Tensor<2>) -> Tensor<2> {
        self.forward(features)
    }
}

/// The trained network on the `inference-kernels` crate's layers: what the self-contained
/// module runs.
#[derive(Debug)]
pub struct WineKernels {
    layers: Perceptron,
}

impl Forward for WineKernels {
    fn load(artifacts: &Artifacts<'static>, _spec: &GraphSpec) -> Result<Self, LoadError> {
        let WineModuleConfig { model, .. } = artifacts.config()?;
        let record = Record::parse(artifacts.model_bpk).map_err(LoadError::record)?;
        let hidden = model.hidden_size;
        let layers = Perceptron::load(
            &record,
            &[
                ("input", model.num_inputs, hidden),
                ("hidden", hidden, hidden),
                ("hidden2", hidden, hidden),
                ("output", hidden, 1),
            ],
        )
        .map_err(LoadError::record)?;
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

    const COMMITTED: Artifacts<'static> = module_kit::embedded_artifacts!("wine-quality");

    #[test]
    fn the_kernels_compute_what_burn_computes_on_the_committed_model() {
        let input = random_input(&[2000, NUM_INPUTS], (-4.0, 4.0), (0.0, 0.0), 2);
        assert_forwards_agree::<WineKernels, WineGraph>(&COMMITTED, &GRAPH, input);
    }
}
