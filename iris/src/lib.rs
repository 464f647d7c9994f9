//! Iris species classification, in the shape every algorithm crate has (ARCHITECTURE.md):
//! `model`, `input`, `config`, `graph` and `inference` always (the wasm module uses them); `data`,
//! `evaluation` and `training` with the `train` feature.

pub mod config;
pub mod graph;
pub mod inference;
pub mod input;
pub mod model;

#[cfg(feature = "train")]
pub mod data;
#[cfg(feature = "train")]
pub mod evaluation;
#[cfg(feature = "train")]
pub mod training;
