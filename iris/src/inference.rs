//! The inference module's model: the command-line contract's examples and `--info`, and the
//! answers.

use runtime::artifacts::{Artifacts, LoadedModel};
use runtime::classes::{ClassPrediction, classify};
use runtime::cli::InferenceModel;
use runtime::features::{oip_inputs, schema};
use runtime::oip::{Inputs, Signature};
use serde_json::{Value, json};

use crate::config::IrisConfig;
use crate::input::{CLASSES, FEATURES, IrisInput, model_input};

/// The trained model with its preprocessing, ready to answer.
#[derive(Debug)]
pub struct IrisPredictor {
    loaded: LoadedModel<IrisConfig>,
}

impl InferenceModel for IrisPredictor {
    type Input = IrisInput;
    type Output = ClassPrediction;

    const NAME: &'static str = "iris-inference";
    const ABOUT: &'static str =
        "classifies an iris flower from its sepal and petal measurements (cm)";
    const EXAMPLE: &'static str =
        r#"{"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}"#;
    const JSON_OUTPUT: &'static str =
        r#"{"class": "...", "probabilities": {"Iris-setosa": p, ...}}"#;

    fn signature() -> Signature {
        Signature {
            inputs: Inputs::Fields(oip_inputs(&FEATURES)),
            outputs: runtime::classes::oip_outputs(&CLASSES),
        }
    }

    fn load(artifacts: &Artifacts<'_>) -> Result<Self, String> {
        LoadedModel::load(artifacts).map(|loaded| Self { loaded })
    }

    fn info(&self) -> Value {
        self.loaded.info(
            "iris",
            json!({
                "classes": CLASSES,
                "input_schema": schema(&FEATURES),
                "preprocessing": self.loaded.config.preprocessing,
            }),
        )
    }

    fn predict(&self, inputs: &[IrisInput]) -> Result<Vec<ClassPrediction>, String> {
        let loaded = &self.loaded;
        let input = model_input(inputs, &loaded.config.preprocessing, &loaded.device);
        classify(loaded.model.forward(input), &CLASSES)
    }
}
