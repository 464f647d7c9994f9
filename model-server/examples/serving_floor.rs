//! The floor the serving benchmark compares with: each model's `--oip` answer computed
//! natively, in this process, with the model already loaded: no HTTP, no sandbox, no instance.
//! Also writes the request bodies the benchmark sends (one input each, from each model's
//! example).
//!
//! `cargo run --release -p model-server --example serving_floor -- OUT_DIR` prints one JSON
//! object: model name -> microseconds per request (median of 200).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use module_kit::artifacts::LoadError;
use module_kit::cli::InferenceModel;
use serde_json::{Value, json};
use test_kit::malformed::example_request;

fn measure<M: InferenceModel>(model: Result<M, LoadError>, out: &Path) -> (String, f64) {
    let model = model.expect("the committed model loads");
    let body = example_request::<M>().to_string();
    let name = module_kit::cli::model_name::<M>().to_owned();
    std::fs::write(out.join(format!("{name}.json")), &body).unwrap();
    let args = [OsString::from("--oip")];
    let mut times = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        let mut answer = Vec::new();
        module_kit::cli::run::<M>(&args, || Ok(&model), &mut body.as_bytes(), &mut answer)
            .expect("the example is answered");
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    (name, times[times.len() / 2])
}

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: serving_floor OUT_DIR"),
    );
    std::fs::create_dir_all(&out).unwrap();
    let figures = [
        measure(
            module_kit::load_embedded!(iris::inference::IrisPredictor, "iris"),
            &out,
        ),
        measure(
            module_kit::load_embedded!(wine_quality::inference::WinePredictor, "wine-quality"),
            &out,
        ),
        measure(
            module_kit::load_embedded!(mnist::inference::MnistPredictor, "mnist"),
            &out,
        ),
        measure(
            module_kit::load_embedded!(
                ag_news::inference::AgNewsPredictor,
                "ag-news",
                "vocab.json"
            ),
            &out,
        ),
    ];
    let object: serde_json::Map<String, Value> = figures
        .into_iter()
        .map(|(name, micros)| (name, json!(micros)))
        .collect();
    println!("{}", Value::Object(object));
}
