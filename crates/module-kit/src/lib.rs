//! The wasm-safe layer: what an inference module runs, and the data shapes training shares
//! with it. Nothing here touches files, sockets, clocks or the environment.
//!
//! - [`cli`]: the inference modules' command-line contract, and the macros a module's whole
//!   `main.rs` is written with ([`inference_module!`], [`named_module!`], [`load_embedded!`]);
//! - [`oip`]: the Open Inference Protocol's requests and responses, read and written inside the
//!   module (`--oip`);
//! - [`artifacts`]: the trained files a module embeds, checked at build time and loaded at
//!   run time (feature `burn`);
//! - [`classes`]: a classifier's answer and its `--json` shape;
//! - [`graph`]: the forward pass as a function of plain tensors, embedded or the host's
//!   named graph ([`named`], feature `named`: wasi-nn's `load_by_name`);
//! - [`device`]: the Burn device a native forward pass or training uses (flex, or wgpu);
//! - [`features`]: inputs made of named, range-checked numbers, listed once per model;
//! - [`settings`]: what `config.json` and `metrics.json` record about a training run, and
//!   [`algorithm_config!`], the shape every algorithm's `config.json` type shares;
//! - [`strict_json`]: JSON read so that no input can be understood two ways;
//! - [`wasi`]: the WASI functions a module may import;
//! - [`standardize`], [`digest`]: preprocessing statistics and SHA-256 identities.

mod algorithm_config;
pub mod artifacts;
pub mod classes;
pub mod cli;
#[cfg(feature = "burn")]
pub mod device;
pub mod digest;
pub mod features;
pub mod graph;
#[cfg(feature = "burn")]
pub mod layers;
mod macros;
#[cfg(feature = "named")]
pub mod named;
pub mod oip;
pub mod settings;
pub mod standardize;
pub mod strict_json;
pub mod wasi;
