#![recursion_limit = "256"]
//! `iris-inference '{"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}'`
//! prints `Iris-versicolor`. The trained model is embedded at compile time.

use iris::inference::IrisPredictor;

static MODEL_BPK: &[u8] = include_bytes!("../../artifacts/iris/model.bpk");
static CONFIG_JSON: &[u8] = include_bytes!("../../artifacts/iris/config.json");
static METRICS_JSON: &[u8] = include_bytes!("../../artifacts/iris/metrics.json");

fn main() -> std::process::ExitCode {
    common::inference_cli::main(|| {
        IrisPredictor::from_bytes(MODEL_BPK, CONFIG_JSON, Some(METRICS_JSON))
    })
}
