//! Predictions from a saved model: loading the record, config and vocabulary, and the
//! inference module's command-line contract (input validation, output formats, `--info`).

use burn::tensor::activation::softmax;
use common::embed::LoadedModel;
use common::inference_cli::{InferenceModel, ModelInput, Prediction};
use common::report::TrainingReport;
use common::scores::{argmax, classification_json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::{AgNewsArtifactConfig, AgNewsModel, CLASSES, DataPlan, token_batch};
use crate::tokenizer::{Tokenizer, article_text};

/// Longest text accepted per article, in bytes (news articles are far shorter).
pub const MAX_TEXT_BYTES: usize = 32 * 1024;

/// The evaluation figures in `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgNewsEvaluation {
    /// What the figures were measured on.
    pub data: DataPlan,
    pub accuracy: f64,
    pub loss: f64,
    pub examples: usize,
    /// `confusion[true][predicted]` counts, classes in [`CLASSES`] order.
    pub confusion: Vec<Vec<usize>>,
}

/// One article: `title` and `description` as in the release, or one `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl ArticleInput {
    /// The text the model reads, built exactly as in training.
    pub fn text(&self) -> String {
        match &self.text {
            Some(text) => text.clone(),
            None => article_text(
                self.title.as_deref().unwrap_or_default(),
                self.description.as_deref().unwrap_or_default(),
            ),
        }
    }
}

impl ModelInput for ArticleInput {
    fn validate(&self) -> Result<(), String> {
        let has_parts = self.title.is_some() || self.description.is_some();
        if self.text.is_some() && has_parts {
            return Err("give either \"text\" or \"title\"/\"description\", not both".into());
        }
        if self.text.is_none() && !has_parts {
            return Err("give \"title\" and \"description\", or \"text\"".into());
        }
        let text = self.text();
        if text.trim().is_empty() {
            return Err("the article text is empty".into());
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(format!(
                "the article text is {} bytes, more than the {MAX_TEXT_BYTES}-byte limit",
                text.len()
            ));
        }
        Ok(())
    }
}

/// The topic of one article and the probability of each topic.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicPrediction {
    pub class: &'static str,
    pub probabilities: [f32; 4],
}

impl Prediction for TopicPrediction {
    fn to_line(&self) -> String {
        self.class.to_owned()
    }

    fn to_json(&self) -> Value {
        classification_json(self.class, &CLASSES, &self.probabilities)
    }
}

/// A trained model with its tokenizer, ready to answer.
#[derive(Debug)]
pub struct AgNewsPredictor {
    embedded: LoadedModel<AgNewsModel, AgNewsArtifactConfig, TrainingReport<AgNewsEvaluation>>,
    tokenizer: Tokenizer,
}

impl AgNewsPredictor {
    /// Loads `model.bpk`, `config.json`, `vocab.json` (and, for `--info`, `metrics.json`).
    pub fn from_bytes(
        model_bpk: &[u8],
        config_json: &[u8],
        vocab_json: &[u8],
        metrics_json: Option<&[u8]>,
    ) -> Result<Self, String> {
        let embedded = LoadedModel::load(
            model_bpk,
            config_json,
            metrics_json,
            |config: &AgNewsArtifactConfig, device| config.model.init(device),
        )?;
        let tokenizer: Tokenizer = serde_json::from_slice(vocab_json)
            .map_err(|e| format!("the embedded vocab.json is invalid: {e}"))?;
        Ok(Self {
            embedded,
            tokenizer,
        })
    }

    pub fn predict_texts(&self, texts: &[String]) -> Result<Vec<TopicPrediction>, String> {
        let token_lists: Vec<Vec<u32>> = texts.iter().map(|t| self.tokenizer.encode(t)).collect();
        let batch = token_batch(&token_lists, &self.tokenizer, &self.embedded.device);
        let logits = self.embedded.model.forward(batch);
        let probabilities = softmax(logits, 1)
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| format!("cannot read the model's output: {e:?}"))?;
        Ok(probabilities
            .chunks_exact(CLASSES.len())
            .map(|p| {
                let probabilities = [p[0], p[1], p[2], p[3]];
                TopicPrediction {
                    class: CLASSES[argmax(&probabilities)],
                    probabilities,
                }
            })
            .collect())
    }
}

impl InferenceModel for AgNewsPredictor {
    type Input = ArticleInput;
    type Output = TopicPrediction;

    const NAME: &'static str = "ag-news-inference";
    const ABOUT: &'static str = "classifies a news article as World, Sports, Business or Sci/Tech";
    const EXAMPLE: &'static str = r#"{"title": "Fed raises interest rates again", "description": "The Federal Reserve lifted its benchmark rate by a quarter point, citing strong growth and rising prices."}"#;
    const JSON_OUTPUT: &'static str = r#"{"class": "...", "probabilities": {"World": p, ...}}"#;

    fn info(&self) -> Value {
        json!({
            "model": "ag-news",
            "model_sha256": self.embedded.model_sha256,
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
            "training": self.embedded.report,
        })
    }

    fn predict(&self, inputs: &[ArticleInput]) -> Result<Vec<TopicPrediction>, String> {
        let texts: Vec<String> = inputs.iter().map(ArticleInput::text).collect();
        self.predict_texts(&texts)
    }
}
