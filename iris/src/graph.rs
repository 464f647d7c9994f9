//! The network as a graph of plain tensors: its signature and its two forward passes, on the
//! `inference-kernels` crate's layers (what the self-contained module runs inside the sandbox) and
//! on Burn (what training evaluates and what a wasi-nn host runs for the named graph `iris`). The
//! tests check that the two agree on the committed model.

use burn::tensor::Tensor;
use inference_kernels::{Perceptron, Record};
use module_kit::artifacts::{Artifacts, LoadError};
use module_kit::graph::{
    BurnGraph, BurnNetwork, Forward, GraphError, GraphInput, GraphSpec, TensorDesc,
};

use crate::config::{IrisConfig, IrisModuleConfig};
use crate::model::IrisModel;

/// Standardised measurements in, class logits out.
pub const GRAPH: GraphSpec = GraphSpec {
    name: "iris",
    input: TensorDesc::f32("features", &[-1, 4]),
    output: TensorDesc::f32("logits", &[-1, 3]),
};

/// The trained network on Burn, loaded from its artifacts.
pub type IrisGraph = BurnGraph<IrisConfig, 2>;

impl BurnNetwork<2> for IrisModel {
    fn forward_tensor(&self, features: Tensor<2>) -> Tensor<2> {
        self.forward(features)
    }
}

/// The trained network on the `inference-kernels` crate's layers: what the self-contained
/// module runs.
#[derive(Debug)]
pub struct IrisKernels {
    layers: Perceptron,
}

impl Forward for IrisKernels {
    fn load(artifacts: &Artifacts<'static>, _spec: &GraphSpec) -> Result<Self, LoadError> {
        let IrisModuleConfig { model, .. } = artifacts.config()?;
        let record = Record::parse(artifacts.model_bpk).map_err(LoadError::record)?;
        let (features, hidden) = (model.num_features, model.hidden_size);
        let layers = Perceptron::load(
            &record,
            &[
                ("input", features, hidden),
                ("hidden", hidden, hidden),
                ("output", hidden, model.num_classes),
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

    const COMMITTED: Artifacts<'static> = module_kit::embedded_artifacts!("iris");

    #[test]
    fn the_kernels_compute_what_burn_computes_on_the_committed_model() {
        let input = random_input(&[2000, 4], (-4.0, 4.0), (0.0, 0.0), 1);
        assert_forwards_agree::<IrisKernels, IrisGraph>(&COMMITTED, &GRAPH, input);
    }
}
