#![recursion_limit = "256"]
//! `mnist-inference '[0, 0, ..., 0]'` (784 grey levels, 0-255, row-major, light ink on a dark
//! background) prints the digit. The trained model is embedded at compile time, and the pixel
//! normalisation it was trained with is applied inside, by the same code as in training.

module_kit::inference_module!(mnist::inference::MnistPredictor, "mnist");
