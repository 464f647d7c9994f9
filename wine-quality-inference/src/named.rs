#![recursion_limit = "256"]
//! `wine-quality-inference-named`: the same command line as `wine-quality-inference`, with no weights inside:
//! the network is the host's wasi-nn graph `wine-quality` (`model-server run --graph wine-quality=artifacts/wine-quality`).

module_kit::named_module!(
    wine_quality::inference::WinePredictor<module_kit::named::HostGraph>,
    "wine-quality"
);
