#![recursion_limit = "256"]
//! `wine-quality-inference '{"fixed_acidity": 7.4, ..., "type": "red"}'` prints the predicted
//! quality on the 0-10 scale with one decimal. The trained model is embedded at compile time.

module_kit::inference_module!(wine_quality::inference::WinePredictor, "wine-quality");
