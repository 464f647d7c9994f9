//! Plumbing shared by every algorithm crate, written once.
//!
//! Always available (and wasm-friendly): the inference modules' command-line contract,
//! SHA-256 identities, the build-time artifact check; with `embed`, reading embedded records. With the `train` feature: data-dir resolution, verified downloads,
//! atomic artifacts, the training command line, the per-epoch log and the charts.

pub mod digest;
pub mod embed;
pub mod inference_cli;
pub mod report;
pub mod scores;
pub mod standardize;

#[cfg(feature = "train")]
pub mod artifact;
#[cfg(feature = "train")]
pub mod download;
#[cfg(feature = "harness")]
pub mod harness;
#[cfg(feature = "train")]
pub mod paths;
#[cfg(feature = "train")]
pub mod plot;
#[cfg(feature = "train")]
pub mod split;
#[cfg(feature = "train")]
pub mod train_cli;
#[cfg(feature = "train")]
pub mod training;
