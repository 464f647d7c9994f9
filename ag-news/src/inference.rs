//! The inference module's model: the command-line contract's examples and `--info`, and the
//! answers (the topic and its probabilities).

use runtime::artifacts::{Artifacts, LoadedModel};
use runtime::classes::{ClassPrediction, classify};
use runtime::cli::InferenceModel;
use runtime::oip::{Inputs, Signature, TensorSpec};
use serde_json::{Value, json};

use crate::config::AgNewsConfig;
use crate::input::{AgNewsInput, CLASSES, MAX_TEXT_BYTES, model_input};
use crate::tokenizer::Tokenizer;

/// The embedded vocabulary, beside the files every module embeds.
pub const VOCAB_JSON: &str = "vocab.json";

/// The trained model with its tokenizer, ready to answer.
#[derive(Debug)]
pub struct AgNewsPredictor {
    loaded: LoadedModel<AgNewsConfig>,
    tokenizer: Tokenizer,
}

impl InferenceModel for AgNewsPredictor {
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
            outputs: runtime::classes::oip_outputs(&CLASSES),
        }
    }

    fn load(artifacts: &Artifacts<'_>) -> Result<Self, String> {
        let loaded = LoadedModel::load(artifacts)?;
        let tokenizer: Tokenizer = serde_json::from_slice(artifacts.extra(VOCAB_JSON)?)
            .map_err(|e| format!("the embedded {VOCAB_JSON} is invalid: {e}"))?;
        Ok(Self { loaded, tokenizer })
    }

    fn info(&self) -> Value {
        self.loaded.info(
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
                    "words": self.tokenizer.num_words(),
                    "vocab_size": self.tokenizer.vocab_size(),
                },
            }),
        )
    }

    fn predict(&self, inputs: &[AgNewsInput]) -> Result<Vec<ClassPrediction>, String> {
        let token_lists: Vec<Vec<u32>> = inputs
            .iter()
            .map(|input| self.tokenizer.encode(&input.text()))
            .collect();
        let batch = model_input(&token_lists, &self.tokenizer, &self.loaded.device);
        classify(self.loaded.model.forward(batch), &CLASSES)
    }
}
