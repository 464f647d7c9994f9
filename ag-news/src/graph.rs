//! The network as a graph of plain tensors: its signature, and its forward pass on Burn (what
//! the self-contained module runs inside the sandbox, and what a wasi-nn host runs for the
//! named graph `ag-news`).
//!
//! The graph starts at the article text, not at token ids: the vocabulary (337 KB) is part of
//! the trained model and stays with it, so a named-graph module carries none of it.

use burn::tensor::Device;
use runtime::artifacts::{Artifacts, LoadedModel};
use runtime::graph::{Forward, GraphInput, GraphSpec, LoadOn, TensorDesc, TensorKind};

use crate::config::AgNewsConfig;
use crate::input::model_input;
use crate::tokenizer::Tokenizer;

/// The vocabulary file beside the files every model has.
pub const VOCAB_JSON: &str = "vocab.json";

/// Article texts in (UTF-8, one row each, padded with zero bytes), topic logits out.
pub const GRAPH: GraphSpec = GraphSpec {
    name: "ag-news",
    input: TensorDesc {
        name: "text",
        kind: TensorKind::U8,
        shape: &[-1, -1],
    },
    output: TensorDesc {
        name: "logits",
        kind: TensorKind::F32,
        shape: &[-1, 4],
    },
};

/// The texts of a batch as the graph's input: one zero-padded row of UTF-8 per article.
/// Padding cannot change an answer: a zero byte separates words like any other non-letter.
pub fn text_rows(texts: &[String]) -> GraphInput {
    let width = texts.iter().map(String::len).max().unwrap_or(0).max(1);
    let mut values = vec![0u8; texts.len() * width];
    for (row, text) in values.chunks_exact_mut(width).zip(texts) {
        row[..text.len()].copy_from_slice(text.as_bytes());
    }
    GraphInput::U8 {
        shape: vec![texts.len(), width],
        values,
    }
}

/// The trained network with its tokenizer, loaded from its artifacts.
#[derive(Debug)]
pub struct AgNewsGraph {
    loaded: LoadedModel<AgNewsConfig>,
    tokenizer: Tokenizer,
}

impl LoadOn for AgNewsGraph {
    fn load_on(artifacts: &Artifacts<'_>, device: Device) -> Result<Self, String> {
        let loaded = LoadedModel::load_on(artifacts, device)?;
        let tokenizer: Tokenizer = serde_json::from_slice(artifacts.extra(VOCAB_JSON)?)
            .map_err(|e| format!("the embedded {VOCAB_JSON} is invalid: {e}"))?;
        Ok(Self { loaded, tokenizer })
    }
}

impl Forward for AgNewsGraph {
    fn load(artifacts: &Artifacts<'_>, _spec: &GraphSpec) -> Result<Self, String> {
        Self::load_on(artifacts, Device::flex())
    }

    fn forward(&self, input: GraphInput) -> Result<Vec<f32>, String> {
        let GraphInput::U8 { shape, values } = input else {
            return Err("the graph takes the texts as a U8 tensor".into());
        };
        let width = shape.get(1).copied().unwrap_or(0).max(1);
        let token_lists = values
            .chunks(width)
            .take(shape.first().copied().unwrap_or(0))
            .map(|row| {
                let text = std::str::from_utf8(row)
                    .map_err(|e| format!("an article text is not UTF-8: {e}"))?;
                Ok(self.tokenizer.encode(text))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let batch = model_input(&token_lists, &self.tokenizer, &self.loaded.device);
        runtime::graph::output_values(self.loaded.model.forward(batch))
    }
}
