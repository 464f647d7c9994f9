//! AG News topic classification. The model, its tokenizer and its labels live here once;
//! `ag-news-inference` depends on this crate with the `train` feature off.

pub mod inference;
pub mod model;
pub mod tokenizer;

#[cfg(feature = "train")]
pub mod data;
#[cfg(feature = "train")]
pub mod training;
