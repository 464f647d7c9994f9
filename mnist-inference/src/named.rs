#![recursion_limit = "256"]
//! `mnist-inference-named`: the same command line as `mnist-inference`, with no weights inside:
//! the network is the host's wasi-nn graph `mnist` (`model-server run --graph mnist=artifacts/mnist`).

module_kit::named_module!(
    mnist::inference::MnistPredictor<module_kit::named::HostGraph>,
    "mnist"
);
