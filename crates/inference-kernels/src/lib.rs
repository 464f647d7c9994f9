//! The self-contained inference modules' forward passes, in plain Rust: the trained record
//! ([`record`]: `model.bpk` read in place) and the layers the four networks are made of
//! ([`layers`], on one product, [`matmul`]).
//!
//! Why the modules do not run Burn itself: Burn 0.22 dispatches every tensor operation on the
//! device and the dtype at run time, so a module linked the CPU backend's kernels for every
//! dtype, whatever the model used (BENCHMARKS.md has the sizes). Training and the host's
//! named graphs keep Burn; each algorithm's `graph.rs` builds its network from these layers, and
//! its tests check the two forward passes agree on the committed model.
//!
//! Every output is summed in one fixed order with no fused multiply-add, so the wasm module
//! and the native build give bit-identical answers.

mod lanes;
pub mod layers;
pub mod matmul;
pub mod record;

pub use layers::{BatchNorm, Conv2d, ConvShape, Dense, Embedding, FeatureMap, Perceptron, relu};
pub use record::{F32View, Record, RecordError};
