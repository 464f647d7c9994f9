//! The MNIST inference command line on made-up input: an answer or one bad-input line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let model = fuzz_targets::committed_model!(mnist::inference::MnistPredictor, "mnist");
    fuzz_targets::inference_cli(model, data);
});
