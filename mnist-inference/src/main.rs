#![recursion_limit = "256"]
//! `mnist-inference '[0, 0, ..., 0]'` (784 grey levels, 0-255, row-major, light ink on a dark
//! background) prints the digit. The trained model is embedded at compile time, and the pixel
//! normalisation it was trained with is applied inside, by the same code as in training.

use mnist::inference::MnistPredictor;

static MODEL_BPK: &[u8] = include_bytes!("../../artifacts/mnist/model.bpk");
static CONFIG_JSON: &[u8] = include_bytes!("../../artifacts/mnist/config.json");
static METRICS_JSON: &[u8] = include_bytes!("../../artifacts/mnist/metrics.json");

fn main() -> std::process::ExitCode {
    common::inference_cli::main(|| {
        MnistPredictor::from_bytes(MODEL_BPK, CONFIG_JSON, Some(METRICS_JSON))
    })
}
