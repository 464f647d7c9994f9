//! The inference module's model: the command-line contract's examples and `--info`, and the
//! answers (the topic and its probabilities).

use module_kit::artifacts::{Artifacts, LoadError, ModelCard};
use module_kit::classes::{ClassPrediction, classify};
use module_kit::cli::InferenceModel;
use module_kit::graph::{Forward, GraphError};
use module_kit::oip::{Inputs, Signature, TensorSpec};
use serde_json::{Value, json};

use crate::config::AgNewsModuleConfig;
pub use crate::graph::VOCAB_JSON;
use crate::graph::{AgNewsKernels, GRAPH, text_rows};
use crate::input::{AgNewsInput, CLASSES, MAX_TEXT_BYTES};

/// The trained model, ready to answer; the tokenizer and the network run in `F`: the embedded
/// [`AgNewsKernels`], Burn's [`crate::graph::AgNewsGraph`], or the host's named graph.
#[derive(Debug)]
pub struct AgNewsPredictor<F = AgNewsKernels> {
    card: ModelCard<AgNewsModuleConfig>,
    network: F,
}

impl<F: Forward> InferenceModel for AgNewsPredictor<F> {
    type Input = AgNewsInput;
    type Output = ClassPrediction;

    const NAME: &'static str = "ag-news-inference";
    const ABOUT: &'static str = "classifies a news article as World, Sports, Business or Sci/Tech";
    const EXAMPLE: &'static str = r#"{"title": "Fed raises interest rates again", "description": "The Federal Reserve lifted its benchmark rate by a quarter point, citing strong growth and rising prices."}"#;
    const JSON_OUTPUT: &'static str = r#"{"class": "...", "probabilities": {"World": p, ...}}"#;

    /// One `text` tensor (BYTES, UTF-8); `title` and `description` tensors are read too.
    fn signature() -> Signature {
        Signature {
            inputs: Inputs::Fields(vec![TensorSpec::per_input("text", "BYTES")]),
            outputs: module_kit::classes::oip_outputs(&CLASSES),
        }
    }

    fn load(artifacts: &Artifacts<'static>) -> Result<Self, LoadError> {
        Ok(Self {
            card: ModelCard::load(artifacts)?,
            network: F::load(artifacts, &GRAPH)?,
        })
    }

    fn info(&self) -> Value {
        let options = &self.card.config.training.options;
        let vocab_size = self.card.config.model.vocab_size;
        self.card.info(
            "ag-news",
            json!({
                "classes": CLASSES,
                "input_schema": {
                    "title": {"type": "string", "optional": true},
                    "description": {"type": "string", "optional": true},
                    "text": {"type": "string", "optional": true, "note": "instead of title and description"},
                    "max_text_bytes": MAX_TEXT_BYTES,
                },
                "tokenizer": {
                    "words": vocab_size.saturating_sub(1 + options.bigram_buckets as usize),
                    "vocab_size": vocab_size,
                },
            }),
        )
    }

    fn predict(&self, inputs: &[AgNewsInput]) -> Result<Vec<ClassPrediction>, GraphError> {
        let texts: Vec<String> = inputs.iter().map(AgNewsInput::text).collect();
        Ok(classify(
            &self.network.forward(text_rows(&texts))?,
            &CLASSES,
        ))
    }
}
