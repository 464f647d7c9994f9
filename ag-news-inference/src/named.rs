#![recursion_limit = "256"]
//! `ag-news-inference-named`: the same command line as `ag-news-inference`, with no weights inside:
//! the network is the host's wasi-nn graph `ag-news` (`model-server run --graph ag-news=artifacts/ag-news`).

module_kit::named_module!(
    ag_news::inference::AgNewsPredictor<module_kit::named::HostGraph>,
    "ag-news"
);
