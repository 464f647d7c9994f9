//! AG News topic classification, in the shape every algorithm crate has (ARCHITECTURE.md):
//! `model`, `input`, `config` and `inference` always (the wasm module uses them); `data`,
//! `evaluation` and `training` with the `train` feature. Its own: `tokenizer`, the same code
//! in training and in the module.

pub mod config;
pub mod graph;
pub mod inference;
pub mod input;
pub mod model;
pub mod tokenizer;

#[cfg(feature = "train")]
pub mod data;
#[cfg(feature = "train")]
pub mod evaluation;
#[cfg(feature = "train")]
pub mod training;
