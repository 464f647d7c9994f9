#![recursion_limit = "256"]
//! `ag-news-inference '{"title": "...", "description": "..."}'` prints the article's topic
//! (World, Sports, Business or Sci/Tech). The model and its vocabulary are embedded at compile
//! time.

use ag_news::inference::AgNewsPredictor;

static MODEL_BPK: &[u8] = include_bytes!("../../artifacts/ag-news/model.bpk");
static CONFIG_JSON: &[u8] = include_bytes!("../../artifacts/ag-news/config.json");
static VOCAB_JSON: &[u8] = include_bytes!("../../artifacts/ag-news/vocab.json");
static METRICS_JSON: &[u8] = include_bytes!("../../artifacts/ag-news/metrics.json");

fn main() -> std::process::ExitCode {
    common::inference_cli::main(|| {
        AgNewsPredictor::from_bytes(MODEL_BPK, CONFIG_JSON, VOCAB_JSON, Some(METRICS_JSON))
    })
}
