//! MNIST handwritten digit recognition. The model, its normalisation and its labels live here
//! once; `mnist-inference` depends on this crate with the `train` feature off.

pub mod inference;
pub mod model;

#[cfg(feature = "train")]
pub mod data;
#[cfg(feature = "train")]
pub mod idx;
#[cfg(feature = "train")]
pub mod training;
