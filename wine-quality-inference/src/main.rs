#![recursion_limit = "256"]
//! `wine-quality-inference '{"fixed_acidity": 7.4, ..., "type": "red"}'` prints the predicted
//! quality on the 0-10 scale with one decimal. The trained model is embedded at compile time.

use wine_quality::inference::WinePredictor;

static MODEL_BPK: &[u8] = include_bytes!("../../artifacts/wine-quality/model.bpk");
static CONFIG_JSON: &[u8] = include_bytes!("../../artifacts/wine-quality/config.json");
static METRICS_JSON: &[u8] = include_bytes!("../../artifacts/wine-quality/metrics.json");

fn main() -> std::process::ExitCode {
    common::inference_cli::main(|| {
        WinePredictor::from_bytes(MODEL_BPK, CONFIG_JSON, Some(METRICS_JSON))
    })
}
