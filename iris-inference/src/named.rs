#![recursion_limit = "256"]
//! `iris-inference-named`: the same command line as `iris-inference`, with no weights inside:
//! the network is the host's wasi-nn graph `iris` (`model-server run --graph iris=artifacts/iris`).

module_kit::named_module!(
    iris::inference::IrisPredictor<module_kit::named::HostGraph>,
    "iris"
);
