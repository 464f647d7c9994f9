//! The AG News inference command line on made-up input: an answer or one bad-input line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let model = fuzz_targets::committed_model!(ag_news::inference::AgNewsPredictor, "ag-news", "vocab.json");
    fuzz_targets::inference_cli(model, data);
});
