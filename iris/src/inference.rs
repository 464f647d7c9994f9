//! The inference module's model: the command-line contract's examples and `--info`, and the
//! answers.

use module_kit::artifacts::{Artifacts, LoadError, ModelCard};
use module_kit::classes::{ClassPrediction, classify};
use module_kit::cli::InferenceModel;
use module_kit::features::{oip_inputs, schema};
use module_kit::graph::{Forward, GraphError};
use module_kit::oip::{Inputs, Signature};
use serde_json::{Value, json};

use crate::config::IrisModuleConfig;
use crate::graph::{GRAPH, IrisKernels};
use crate::input::{CLASSES, FEATURES, IrisInput, graph_input};

/// The trained model with its preprocessing, ready to answer; the network runs in `F`: the
/// embedded [`IrisKernels`], Burn's [`crate::graph::IrisGraph`], or the host's named graph.
#[derive(Debug)]
pub struct IrisPredictor<F = IrisKernels> {
    card: ModelCard<IrisModuleConfig>,
    network: F,
}

impl<F: Forward> InferenceModel for IrisPredictor<F> {
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
        self.card.info(
            "iris",
            json!({
                "classes": CLASSES,
                "input_schema": schema(&FEATURES),
                "preprocessing": self.card.config.preprocessing,
            }),
        )
    }

    fn predict(&self, inputs: &[IrisInput]) -> Result<Vec<ClassPrediction>, GraphError> {
        let input = graph_input(inputs, &self.card.config.preprocessing);
        Ok(classify(&self.network.forward(input)?, &CLASSES))
    }
}
