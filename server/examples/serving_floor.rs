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

use runtime::artifacts::Artifacts;
use runtime::cli::InferenceModel;
use serde_json::{Value, json};

fn committed(algorithm: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../artifacts")
        .join(algorithm)
}

/// The OIP request for one input, the model's example, with one tensor per JSON key (or the
/// image tensor).
fn request_for(example: &Value) -> Value {
    match example {
        Value::Array(pixels) => json!({"inputs": [{
            "name": "image", "shape": [1, 28, 28], "datatype": "FP32", "data": pixels}]}),
        Value::Object(fields) => {
            let inputs: Vec<Value> = fields
                .iter()
                .map(|(key, value)| {
                    let datatype = if value.is_string() { "BYTES" } else { "FP32" };
                    json!({"name": key, "shape": [1], "datatype": datatype, "data": [value]})
                })
                .collect();
            json!({ "inputs": inputs })
        }
        other => panic!("an example is an object or an image: {other}"),
    }
}

fn measure<M: InferenceModel>(algorithm: &str, extra: &[&str], out: &Path) -> (String, f64) {
    let dir = committed(algorithm);
    let read = |name: &str| std::fs::read(dir.join(name)).expect("the committed artifacts");
    let (bpk, config, metrics) = (read("model.bpk"), read("config.json"), read("metrics.json"));
    let extra_bytes: Vec<(&str, Vec<u8>)> = extra.iter().map(|n| (*n, read(n))).collect();
    let extra_refs: Vec<(&str, &[u8])> = extra_bytes.iter().map(|(n, b)| (*n, &b[..])).collect();
    let artifacts = Artifacts {
        model_bpk: &bpk,
        config_json: &config,
        metrics_json: &metrics,
        extra: &extra_refs,
    };
    let model = M::load(&artifacts).expect("the committed model loads");
    let example: Value = serde_json::from_str(M::EXAMPLE).unwrap();
    let body = request_for(&example).to_string();
    let name = runtime::cli::model_name::<M>().to_owned();
    std::fs::write(out.join(format!("{name}.json")), &body).unwrap();
    let args = [OsString::from("--oip")];
    let mut times = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        let mut answer = Vec::new();
        runtime::cli::run::<M>(&args, || Ok(&model), &mut body.as_bytes(), &mut answer)
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
        measure::<iris::inference::IrisPredictor>("iris", &[], &out),
        measure::<wine_quality::inference::WinePredictor>("wine-quality", &[], &out),
        measure::<mnist::inference::MnistPredictor>("mnist", &[], &out),
        measure::<ag_news::inference::AgNewsPredictor>("ag-news", &["vocab.json"], &out),
    ];
    let object: serde_json::Map<String, Value> = figures
        .into_iter()
        .map(|(name, micros)| (name, json!(micros)))
        .collect();
    println!("{}", Value::Object(object));
}
