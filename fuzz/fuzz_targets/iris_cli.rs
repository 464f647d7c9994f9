//! The Iris inference command line on made-up input: an answer or one bad-input line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let model = fuzz_targets::committed_model!(iris::inference::IrisPredictor, "iris");
    fuzz_targets::inference_cli(model, data);
});
