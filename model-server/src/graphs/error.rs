//! What can fail in the named graphs: a `--graph` argument, loading a graph (in this process or
//! in worker processes), a forward pass, and a worker's pipe. Each message is one line; none
//! carries a source of its own, so that `{:#}` prints it once.

use module_kit::artifacts::LoadError;
use module_kit::graph::GraphError;

/// A `--graph NAME=DIR` that names no graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SourceError {
    #[error("'{0}' is not NAME=DIR (for example iris=artifacts/iris)")]
    NotNameDir(String),
    #[error("there is no Burn graph '{name}': the graphs are {known}")]
    Unknown { name: String, known: String },
}

/// Why the graphs could not be loaded; the first failure names the graph.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadGraphError {
    #[error("--graph {0} is given twice")]
    GivenTwice(String),
    #[error("there is no Burn graph '{0}'")]
    Unknown(String),
    #[error(
        "graph '{name}': cannot read {path} (an artifact directory as training writes it, e.g. artifacts/{name}): {error}"
    )]
    Read {
        name: String,
        path: String,
        error: std::io::Error,
    },
    /// The artifacts do not say which model they hold.
    #[error("graph '{name}': {error}")]
    Identity { name: String, error: LoadError },
    #[error("graph '{name}' from {dir}: {error}")]
    Load {
        name: String,
        dir: String,
        error: LoadError,
    },
    /// The wgpu device was asked for and none could be had.
    #[cfg(feature = "wgpu")]
    #[error("--graph-device wgpu: {0}, or use --graph-device flex")]
    Wgpu(String),
    #[cfg(not(feature = "wgpu"))]
    #[error(
        "--graph-device wgpu: this model-server is built without wgpu; rebuild it with \
         `cargo build --release -p model-server --features wgpu`, or use --graph-device flex"
    )]
    NoWgpu,
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(
        "graph '{name}': two workers loaded different models ({first} and {second}): the artifacts changed on disk"
    )]
    WorkersDisagree {
        name: String,
        first: String,
        second: String,
    },
}

/// Why a graph worker process did not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error("cannot find model-server's own binary: {0}")]
    OwnBinary(std::io::Error),
    #[error("cannot start a graph worker: {0}")]
    Spawn(std::io::Error),
    #[error("the worker's {0}")]
    NoPipe(&'static str),
    /// It died or refused before it said it had loaded its graph.
    #[error("graph '{name}': the worker did not start: {error:?}, {ended}{hint}")]
    NoGreeting {
        name: String,
        error: WorkerError,
        ended: String,
        hint: String,
    },
    #[error("the worker's greeting: {0}")]
    GreetingNotUtf8(std::string::FromUtf8Error),
    #[error("the worker's greeting is not a digest and a device")]
    BadGreeting,
}

/// Why one exchange with a worker failed; what [`RunError`] then says depends on which (its
/// `Debug` form is part of [`StartError::NoGreeting`]'s message).
#[derive(Debug)]
pub(crate) enum WorkerError {
    /// The worker answered that the input could not be computed; it is still alive.
    Refused(String),
    /// The pipe broke, the worker died, or it sent nonsense.
    Died(String),
    /// No answer within the deadline.
    Late,
}

/// A request frame on a worker's stdin that cannot be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Size(#[from] std::num::TryFromIntError),
    #[error("a tensor of rank {0}")]
    Rank(u32),
    #[error("a tensor of {0} bytes")]
    TooLarge(u64),
    #[error("tensor kind {0}")]
    Kind(u8),
}

/// Why a forward pass failed, wherever it ran; what a module's wasi-nn call is refused with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    /// The graph refused the input or could not compute it, in this process.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The worker refused it: its message.
    #[error("{0}")]
    Refused(String),
    /// The worker that replaces a dead one did not start.
    #[error(transparent)]
    Restart(#[from] StartError),
    #[error(
        "the restarted worker serves model {served}, not {expected}: the artifacts changed on disk"
    )]
    OtherModel { served: String, expected: String },
    #[error(
        "the worker process died ({why}; {ended}); this request failed, a new worker serves the next"
    )]
    Died { why: String, ended: String },
    #[error("the worker gave no answer within {millis} ms and was stopped")]
    Late { millis: u128 },
}
