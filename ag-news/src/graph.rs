//! The network as a graph of plain tensors: its signature and its two forward passes, on the
//! `inference-kernels` crate's layers (what the self-contained module runs inside the sandbox) and
//! on Burn (what training evaluates and what a wasi-nn host runs for the named graph `ag-news`).
//! The tests check that the two agree on the committed model.
//!
//! The graph starts at the article text, not at token ids: the vocabulary (337 KB) is part of the
//! trained model and stays with it, so a named-graph module carries none of it.

use burn::tensor::Device;
use inference_kernels::{Dense, Embedding, Record};
use module_kit::artifacts::{Artifacts, LoadError, LoadedModel};
use module_kit::graph::{Forward, GraphError, GraphInput, GraphSpec, LoadOn, TensorDesc};

use crate::config::{AgNewsConfig, AgNewsModuleConfig};
use crate::input::model_input;
use crate::tokenizer::Tokenizer;

/// The vocabulary file beside the files every model has.
pub const VOCAB_JSON: &str = "vocab.json";

/// Article texts in (UTF-8, one row each, padded with zero bytes), topic logits out.
pub const GRAPH: GraphSpec = GraphSpec {
    name: "ag-news",
    input: TensorDesc::u8("text", &[-1, -1]),
    output: TensorDesc::f32("logits", &[-1, 4]),
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

/// The rows of a U8 text batch as UTF-8 articles, each its token ids.
fn token_lists(input: GraphInput, tokenizer: &Tokenizer) -> Result<Vec<Vec<u32>>, GraphError> {
    let GraphInput::U8 { shape, values } = input else {
        return Err(GraphError::Input(
            "the graph takes the texts as a U8 tensor".into(),
        ));
    };
    let width = shape.get(1).copied().unwrap_or(0).max(1);
    values
        .chunks(width)
        .take(shape.first().copied().unwrap_or(0))
        .map(|row| {
            let text = std::str::from_utf8(row)
                .map_err(|e| GraphError::Input(format!("an article text is not UTF-8: {e}")))?;
            Ok(tokenizer.encode(text))
        })
        .collect()
}

fn load_tokenizer(artifacts: &Artifacts<'_>) -> Result<Tokenizer, LoadError> {
    serde_json::from_slice(artifacts.extra(VOCAB_JSON)?).map_err(|e| LoadError::File {
        name: VOCAB_JSON.into(),
        error: e.to_string(),
    })
}

/// The trained network with its tokenizer, loaded from its artifacts.
#[derive(Debug)]
pub struct AgNewsGraph {
    loaded: LoadedModel<AgNewsConfig>,
    tokenizer: Tokenizer,
}

impl LoadOn for AgNewsGraph {
    fn load_on(artifacts: &Artifacts<'_>, device: Device) -> Result<Self, LoadError> {
        let loaded = LoadedModel::load_on(artifacts, device)?;
        let tokenizer = load_tokenizer(artifacts)?;
        Ok(Self { loaded, tokenizer })
    }
}

impl Forward for AgNewsGraph {
    fn load(artifacts: &Artifacts<'static>, _spec: &GraphSpec) -> Result<Self, LoadError> {
        Self::load_on(artifacts, Device::flex())
    }

    fn forward(&self, input: GraphInput) -> Result<Vec<f32>, GraphError> {
        let token_lists = token_lists(input, &self.tokenizer)?;
        let batch = model_input(&token_lists, &self.tokenizer, &self.loaded.device);
        module_kit::graph::output_values(self.loaded.model.forward(batch))
    }
}

/// The trained network on the `inference-kernels` crate's layers, with its tokenizer: what the
/// self-contained module runs. The embedding table stays in the embedded record; an article
/// reads only its own tokens' rows.
#[derive(Debug)]
pub struct AgNewsKernels {
    embedding: Embedding<'static>,
    output: Dense,
    tokenizer: Tokenizer,
}

impl Forward for AgNewsKernels {
    fn load(artifacts: &Artifacts<'static>, _spec: &GraphSpec) -> Result<Self, LoadError> {
        let AgNewsModuleConfig { model, .. } = artifacts.config()?;
        let record = Record::parse(artifacts.model_bpk).map_err(LoadError::record)?;
        let dim = model.embedding_dim;
        Ok(Self {
            embedding: Embedding::load(&record, "embedding", model.vocab_size, dim)
                .map_err(LoadError::record)?,
            output: Dense::load(&record, "output", dim, model.num_classes)
                .map_err(LoadError::record)?,
            tokenizer: load_tokenizer(artifacts)?,
        })
    }

    fn forward(&self, input: GraphInput) -> Result<Vec<f32>, GraphError> {
        let token_lists = token_lists(input, &self.tokenizer)?;
        let mut means = Vec::with_capacity(token_lists.len() * self.embedding.dim());
        for tokens in &token_lists {
            let weights: Vec<f32> = tokens.iter().map(|&id| self.tokenizer.weight(id)).collect();
            let mean = self
                .embedding
                .weighted_mean(tokens, &weights)
                .ok_or_else(|| {
                    GraphError::Network(
                        "the tokenizer gave an id outside the embedding table".into(),
                    )
                })?;
            means.extend(mean);
        }
        // Dropout does nothing at inference.
        Ok(self.output.forward(&means, token_lists.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_kit::forwards::assert_forwards_agree;

    const COMMITTED: Artifacts<'static> = module_kit::embedded_artifacts!("ag-news", "vocab.json");

    #[test]
    fn the_kernels_compute_what_burn_computes_on_the_committed_model() {
        let texts: Vec<String> = [
            "Stocks fall as oil prices climb to a record high",
            "Champions League: late goal sends holders through",
            "New chip promises faster phones and longer battery life",
            "Peace talks resume after ceasefire holds for a week",
            "",
            "¿Qué pasa? Zürich – naïve café, 東京 and emoji 🎉",
            "the the the the the",
            "zzqxj wvkp unknownwords only",
        ]
        .map(String::from)
        .to_vec();
        // Every batch size from one up: padding must not change an answer.
        for end in 1..=texts.len() {
            assert_forwards_agree::<AgNewsKernels, AgNewsGraph>(
                &COMMITTED,
                &GRAPH,
                text_rows(&texts[..end]),
            );
        }
    }
}
