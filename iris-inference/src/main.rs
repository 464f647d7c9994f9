#![recursion_limit = "256"]
//! `iris-inference '{"sepal_length": 7.0, "sepal_width": 3.2, "petal_length": 4.7, "petal_width": 1.4}'`
//! prints `Iris-versicolor`. The trained model is embedded at compile time.

module_kit::inference_module!(iris::inference::IrisPredictor, "iris");
