//! A model's forward pass as a function of plain tensors, apart from where it runs: inside the
//! module on the weights it embeds, or in the host as a wasi-nn *named graph* that the module
//! asks for by name (`<algo>-inference-named.wasm`). Everything around it (parsing, validation,
//! preprocessing into the graph's input, decoding the output) is the same code either way.

use crate::artifacts::{Artifacts, LoadError};

/// Why a forward pass failed: an input that does not fit the graph, or a graph that could not
/// compute it (the embedded network's output, or the host's named graph).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("the graph takes an F32 tensor")]
    NotF32,
    #[error("the graph takes rows of {columns} values, not a tensor of shape {shape:?}")]
    RowWidth { columns: usize, shape: Vec<usize> },
    #[error("the graph takes a rank-{rank} tensor, not {shape:?}")]
    Rank { rank: usize, shape: Vec<usize> },
    #[error("input '{name}' must be {}, not {}", expected.name(), found.name())]
    InputKind {
        name: &'static str,
        expected: TensorKind,
        found: TensorKind,
    },
    #[error("input '{name}' has shape {shape:?}; the graph takes {expected:?} (-1: any)")]
    InputShape {
        name: &'static str,
        shape: Vec<usize>,
        expected: &'static [i64],
    },
    #[error("input '{name}' has an impossible shape {shape:?}")]
    ImpossibleShape {
        name: &'static str,
        shape: Vec<usize>,
    },
    #[error("input '{name}' of shape {shape:?} needs {needed} bytes, got {got}")]
    InputBytes {
        name: &'static str,
        shape: Vec<usize>,
        needed: usize,
        got: usize,
    },
    /// An input the algorithm's own graph refuses (an article that is not UTF-8).
    #[error("{0}")]
    Input(String),
    /// The network gave what could not be read back (Burn's data error, in its debug form).
    #[error("cannot read the model's output: {0}")]
    Output(String),
    /// The network broke a promise of its own (a token id outside the embedding table).
    #[error("{0}")]
    Network(String),
    /// The host serves no graph by this name.
    #[error(
        "the host has no graph named '{name}': this module asks its host for the model; run it with `model-server run --graph {name}=artifacts/{name} MODULE ...`"
    )]
    NotServed { name: &'static str },
    /// A wasi-nn call to the host's graph failed at `step` (`load`, `compute`, ...).
    #[error("the host's graph '{name}' failed to {step}: {error}")]
    Host {
        name: &'static str,
        step: &'static str,
        error: String,
    },
    /// The host's graph is another model than the one the module was built for.
    #[error(
        "the host's graph '{name}' is model {served}, but this module was built for model {expected}: serve the artifacts it was built with"
    )]
    OtherModel {
        name: &'static str,
        served: String,
        expected: String,
    },
}

/// The element type of a graph tensor (wasi-nn's `tensor-type` values the graphs use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorKind {
    F32,
    U8,
}

impl TensorKind {
    pub fn name(self) -> &'static str {
        match self {
            TensorKind::F32 => "F32",
            TensorKind::U8 => "U8",
        }
    }
}

/// One tensor of a graph's signature; `-1` in `shape` is the batch (or another free) axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorDesc {
    pub name: &'static str,
    pub kind: TensorKind,
    pub shape: &'static [i64],
}

impl TensorDesc {
    /// An F32 tensor of this shape.
    pub const fn f32(name: &'static str, shape: &'static [i64]) -> Self {
        Self {
            name,
            kind: TensorKind::F32,
            shape,
        }
    }

    /// A U8 tensor of this shape.
    pub const fn u8(name: &'static str, shape: &'static [i64]) -> Self {
        Self {
            name,
            kind: TensorKind::U8,
            shape,
        }
    }
}

/// What a named graph takes and gives: one input tensor and one F32 output of
/// `output_columns` values per input row. A host also gives output 1, [`IDENTITY_OUTPUT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphSpec {
    /// The graph's name, `load_by_name`'s argument: the algorithm (`iris`).
    pub name: &'static str,
    pub input: TensorDesc,
    pub output: TensorDesc,
}

impl GraphSpec {
    /// Values per input row in the output (the output's last axis).
    pub fn output_columns(&self) -> usize {
        self.output
            .shape
            .last()
            .map_or(1, |&n| usize::try_from(n).unwrap_or(1))
    }
}

/// Output index 1 of every named graph: the SHA-256 (64 hex digits, ASCII) of the `model.bpk`
/// the host serves, so a module refuses a host whose model is not the one its preprocessing
/// and `--info` were built for, instead of answering wrongly.
pub const IDENTITY_OUTPUT: u32 = 1;
/// Length of the identity output.
pub const IDENTITY_BYTES: usize = 64;

/// A graph's input: the preprocessed batch, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum GraphInput {
    F32 { shape: Vec<usize>, values: Vec<f32> },
    U8 { shape: Vec<usize>, values: Vec<u8> },
}

impl GraphInput {
    pub fn shape(&self) -> &[usize] {
        match self {
            GraphInput::F32 { shape, .. } | GraphInput::U8 { shape, .. } => shape,
        }
    }

    pub fn kind(&self) -> TensorKind {
        match self {
            GraphInput::F32 { .. } => TensorKind::F32,
            GraphInput::U8 { .. } => TensorKind::U8,
        }
    }

    /// Rows in the batch (the first axis).
    pub fn rows(&self) -> usize {
        self.shape().first().copied().unwrap_or(0)
    }

    /// An F32 batch of rows `columns` wide, whatever its rank (an image is one row of
    /// pixels): the row count and the values.
    pub fn into_f32_rows(self, columns: usize) -> Result<(usize, Vec<f32>), GraphError> {
        let GraphInput::F32 { shape, values } = self else {
            return Err(GraphError::NotF32);
        };
        let rows = shape.first().copied().unwrap_or(0);
        if columns == 0 || values.len() != rows * columns {
            return Err(GraphError::RowWidth { columns, shape });
        }
        Ok((rows, values))
    }

    /// The elements as little-endian bytes, wasi-nn's tensor data.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            GraphInput::F32 { values, .. } => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            GraphInput::U8 { values, .. } => values.clone(),
        }
    }

    /// Reads a tensor received as wasi-nn data, checking it against `desc`: its type, its rank,
    /// its fixed axes, and that the data fills the shape exactly.
    pub fn from_le_bytes(
        desc: &TensorDesc,
        kind: TensorKind,
        shape: Vec<usize>,
        data: &[u8],
    ) -> Result<Self, GraphError> {
        if kind != desc.kind {
            return Err(GraphError::InputKind {
                name: desc.name,
                expected: desc.kind,
                found: kind,
            });
        }
        let fits = shape.len() == desc.shape.len()
            && shape
                .iter()
                .zip(desc.shape)
                .all(|(&got, &want)| want < 0 || i64::try_from(got) == Ok(want));
        if !fits {
            return Err(GraphError::InputShape {
                name: desc.name,
                shape,
                expected: desc.shape,
            });
        }
        let Some(elements) = shape
            .iter()
            .try_fold(1usize, |n, &axis| n.checked_mul(axis))
        else {
            return Err(GraphError::ImpossibleShape {
                name: desc.name,
                shape,
            });
        };
        let width = match kind {
            TensorKind::F32 => 4,
            TensorKind::U8 => 1,
        };
        if elements.checked_mul(width) != Some(data.len()) {
            return Err(GraphError::InputBytes {
                name: desc.name,
                shape,
                needed: elements.saturating_mul(width),
                got: data.len(),
            });
        }
        Ok(match kind {
            TensorKind::F32 => GraphInput::F32 {
                shape,
                values: data
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            },
            TensorKind::U8 => GraphInput::U8 {
                shape,
                values: data.to_vec(),
            },
        })
    }
}

/// Where a predictor's forward pass runs: the embedded network (each algorithm's `*Graph`, on
/// Burn) or the host's named graph ([`crate::named::HostGraph`]). A predictor is generic over
/// it, so a module built with the host's graph contains no network code and no weights.
pub trait Forward: Sized {
    /// Made ready from the module's artifacts (the embedded kind loads the weights; the named
    /// kind only remembers which model it was built for).
    fn load(artifacts: &Artifacts<'static>, spec: &GraphSpec) -> Result<Self, LoadError>;

    /// The output for `input`: `input.rows() * spec.output_columns()` values.
    fn forward(&self, input: GraphInput) -> Result<Vec<f32>, GraphError>;
}

/// An embedded network that a native host can load onto the Burn device it chose (flex, or a
/// wgpu adapter); [`Forward::load`] is this on flex.
#[cfg(feature = "burn")]
pub trait LoadOn: Forward {
    fn load_on(artifacts: &Artifacts<'_>, device: burn::tensor::Device) -> Result<Self, LoadError>;
}

/// A graph input as a Burn tensor of rank `D`, for the embedded networks.
#[cfg(feature = "burn")]
pub fn f32_tensor<const D: usize>(
    input: GraphInput,
    device: &burn::tensor::Device,
) -> Result<burn::tensor::Tensor<D>, GraphError> {
    let GraphInput::F32 { shape, values } = input else {
        return Err(GraphError::NotF32);
    };
    if shape.len() != D {
        return Err(GraphError::Rank { rank: D, shape });
    }
    Ok(burn::tensor::Tensor::from_data(
        burn::tensor::TensorData::new(values, shape),
        device,
    ))
}

/// A Burn network from one F32 tensor of rank `D` to rows of outputs: what [`BurnGraph`]
/// runs. Each algorithm's model implements it with its own `forward`.
#[cfg(feature = "burn")]
pub trait BurnNetwork<const D: usize> {
    fn forward_tensor(&self, input: burn::tensor::Tensor<D>) -> burn::tensor::Tensor<2>;
}

/// An embedded network on Burn, loaded from its artifacts, whose graph input is one F32
/// tensor of rank `D`: what training evaluates and what a wasi-nn host runs for the named
/// graph. The same for every algorithm whose input is numbers (AG News' starts at text).
#[cfg(feature = "burn")]
#[derive(Debug)]
pub struct BurnGraph<C: crate::artifacts::ArtifactConfig, const D: usize> {
    loaded: crate::artifacts::LoadedModel<C>,
}

#[cfg(feature = "burn")]
impl<C, const D: usize> LoadOn for BurnGraph<C, D>
where
    C: crate::artifacts::ArtifactConfig,
    C::Model: BurnNetwork<D>,
{
    fn load_on(artifacts: &Artifacts<'_>, device: burn::tensor::Device) -> Result<Self, LoadError> {
        crate::artifacts::LoadedModel::load_on(artifacts, device).map(|loaded| Self { loaded })
    }
}

#[cfg(feature = "burn")]
impl<C, const D: usize> Forward for BurnGraph<C, D>
where
    C: crate::artifacts::ArtifactConfig,
    C::Model: BurnNetwork<D>,
{
    fn load(artifacts: &Artifacts<'static>, _spec: &GraphSpec) -> Result<Self, LoadError> {
        Self::load_on(artifacts, burn::tensor::Device::flex())
    }

    fn forward(&self, input: GraphInput) -> Result<Vec<f32>, GraphError> {
        let input = f32_tensor(input, &self.loaded.device)?;
        output_values(self.loaded.model.forward_tensor(input))
    }
}

/// A network's output tensor as row-major values.
#[cfg(feature = "burn")]
pub fn output_values<const D: usize>(
    output: burn::tensor::Tensor<D>,
) -> Result<Vec<f32>, GraphError> {
    output
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| GraphError::Output(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESC: TensorDesc = TensorDesc::f32("features", &[-1, 2]);

    #[test]
    fn a_tensor_round_trips_through_its_bytes() {
        let input = GraphInput::F32 {
            shape: vec![2, 2],
            values: vec![1.0, -2.5, 3.25, 0.0],
        };
        let back =
            GraphInput::from_le_bytes(&DESC, TensorKind::F32, vec![2, 2], &input.to_le_bytes());
        assert_eq!(back, Ok(input));
    }

    #[test]
    fn a_tensor_that_does_not_fit_the_graph_is_named() {
        let bytes = [0u8; 12];
        let wrong_type = GraphInput::from_le_bytes(&DESC, TensorKind::U8, vec![1, 2], &bytes);
        assert!(wrong_type.unwrap_err().to_string().contains("must be F32"));
        let wrong_axis = GraphInput::from_le_bytes(&DESC, TensorKind::F32, vec![1, 3], &bytes);
        assert!(wrong_axis.unwrap_err().to_string().contains("shape [1, 3]"));
        let short = GraphInput::from_le_bytes(&DESC, TensorKind::F32, vec![2, 2], &bytes);
        assert!(
            short
                .unwrap_err()
                .to_string()
                .contains("needs 16 bytes, got 12")
        );
        let huge = GraphInput::from_le_bytes(&DESC, TensorKind::F32, vec![usize::MAX, 2], &bytes);
        assert!(huge.unwrap_err().to_string().contains("impossible shape"));
    }
}
