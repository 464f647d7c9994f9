//! Wine quality regression. The model, its preprocessing and its input schema live here once;
//! `wine-quality-inference` depends on this crate with the `train` feature off.

pub mod inference;
pub mod model;

#[cfg(feature = "train")]
pub mod data;
#[cfg(feature = "train")]
pub mod training;
