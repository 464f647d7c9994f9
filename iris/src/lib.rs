//! Iris species classification. The model, its preprocessing and its labels live here once;
//! `iris-inference` depends on this crate with the `train` feature off.

pub mod inference;
pub mod model;

#[cfg(feature = "train")]
pub mod data;
#[cfg(feature = "train")]
pub mod training;
