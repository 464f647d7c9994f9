//! The module side of a named graph (feature `named`): the forward pass asked of the host
//! through wasi-nn (`load_by_name`, then one execution context per batch), with the host's
//! model checked against the one the module was built for.

use std::cell::OnceCell;

use crate::artifacts::{Artifacts, LoadError};
use crate::graph::{Forward, GraphError, GraphInput, GraphSpec};

/// The host's graph for one model, loaded by name on first use.
#[derive(Debug)]
pub struct HostGraph {
    spec: GraphSpec,
    /// `model_sha256` from the embedded `metrics.json`: the model the module was built for.
    model_sha256: String,
    #[cfg(target_os = "wasi")]
    graph: OnceCell<wasi_nn::Graph>,
    #[cfg(not(target_os = "wasi"))]
    graph: OnceCell<()>,
}

impl Forward for HostGraph {
    fn load(artifacts: &Artifacts<'static>, spec: &GraphSpec) -> Result<Self, LoadError> {
        let model_sha256 = artifacts.model_sha256()?;
        Ok(Self {
            spec: *spec,
            model_sha256,
            graph: OnceCell::new(),
        })
    }

    fn forward(&self, input: GraphInput) -> Result<Vec<f32>, GraphError> {
        self.compute(&input)
    }
}

impl HostGraph {
    fn not_found(&self) -> GraphError {
        GraphError::NotServed {
            name: self.spec.name,
        }
    }

    fn failed(&self, step: &'static str, error: impl std::fmt::Display) -> GraphError {
        GraphError::Host {
            name: self.spec.name,
            step,
            error: error.to_string(),
        }
    }

    fn identity_mismatch(&self, served: &str) -> GraphError {
        GraphError::OtherModel {
            name: self.spec.name,
            served: served.to_owned(),
            expected: self.model_sha256.clone(),
        }
    }
}

#[cfg(target_os = "wasi")]
impl HostGraph {
    fn graph(&self) -> Result<&wasi_nn::Graph, GraphError> {
        if let Some(graph) = self.graph.get() {
            return Ok(graph);
        }
        use wasi_nn::{ExecutionTarget, GraphBuilder, GraphEncoding};
        let graph = GraphBuilder::new(GraphEncoding::Autodetec, ExecutionTarget::CPU)
            .build_from_cache(self.spec.name)
            .map_err(|error| match error {
                // wasmtime's wasi-nn reports an unknown name as an unsupported operation.
                wasi_nn::Error::BackendError(ref backend)
                    if matches!(
                        format!("{backend:?}").as_str(),
                        "UnsupportedOperation" | "NotFound"
                    ) =>
                {
                    self.not_found()
                }
                other => self.failed("load", other),
            })?;
        self.check_identity(&graph)?;
        Ok(self.graph.get_or_init(|| graph))
    }

    /// Reads output 1 (the served model's SHA-256) and refuses a model other than the one the
    /// module's preprocessing and `--info` describe.
    fn check_identity(&self, graph: &wasi_nn::Graph) -> Result<(), GraphError> {
        use crate::graph::{IDENTITY_BYTES, IDENTITY_OUTPUT};
        let context = graph
            .init_execution_context()
            .map_err(|e| self.failed("start", e))?;
        let mut digest = [0u8; IDENTITY_BYTES];
        let written = context
            .get_output(IDENTITY_OUTPUT as usize, &mut digest)
            .map_err(|e| self.failed("name its model", e))?;
        let served = String::from_utf8_lossy(&digest[..written.min(IDENTITY_BYTES)]).into_owned();
        if served != self.model_sha256 {
            return Err(self.identity_mismatch(&served));
        }
        Ok(())
    }

    fn compute(&self, input: &GraphInput) -> Result<Vec<f32>, GraphError> {
        use wasi_nn::TensorType;
        let graph = self.graph()?;
        let mut context = graph
            .init_execution_context()
            .map_err(|e| self.failed("start", e))?;
        let kind = match input {
            GraphInput::F32 { .. } => TensorType::F32,
            GraphInput::U8 { .. } => TensorType::U8,
        };
        context
            .set_input(0, kind, input.shape(), input.to_le_bytes())
            .map_err(|e| self.failed("take the input", e))?;
        context.compute().map_err(|e| self.failed("compute", e))?;
        let expected = input.rows() * self.spec.output_columns();
        // One value of room beyond the expected output, so a longer answer is noticed.
        let mut output = vec![0f32; expected + 1];
        let bytes = context
            .get_output(0, &mut output)
            .map_err(|e| self.failed("give its output", e))?;
        if bytes != expected * 4 {
            return Err(self.failed(
                "give its output",
                format!("{bytes} bytes where {} were expected", expected * 4),
            ));
        }
        output.truncate(expected);
        Ok(output)
    }
}

#[cfg(not(target_os = "wasi"))]
impl HostGraph {
    fn compute(&self, _input: &GraphInput) -> Result<Vec<f32>, GraphError> {
        let _ = (&self.graph, Self::not_found, Self::identity_mismatch);
        Err(self.failed(
            "load",
            "a named-graph module runs only as wasm32-wasip1 under a wasi-nn host",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::TensorDesc;

    const SPEC: GraphSpec = GraphSpec {
        name: "iris",
        input: TensorDesc::f32("features", &[-1, 4]),
        output: TensorDesc::f32("logits", &[-1, 3]),
    };

    #[test]
    fn the_messages_name_the_graph_and_the_fix() {
        let artifacts = Artifacts {
            model_bpk: b"",
            config_json: b"{}",
            metrics_json: br#"{"model_sha256": "ab12"}"#,
            extra: &[],
        };
        let graph = HostGraph::load(&artifacts, &SPEC).unwrap();
        assert!(
            graph
                .not_found()
                .to_string()
                .contains("--graph iris=artifacts/iris")
        );
        let mismatch = graph.identity_mismatch("cd34").to_string();
        assert!(mismatch.contains("model cd34") && mismatch.contains("built for model ab12"));
        assert!(!mismatch.contains('\n'));
    }
}
