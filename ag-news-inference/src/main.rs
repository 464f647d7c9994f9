#![recursion_limit = "256"]
//! `ag-news-inference '{"title": "...", "description": "..."}'` prints the article's topic
//! (World, Sports, Business or Sci/Tech). The model and its vocabulary are embedded at compile
//! time.

fn main() -> std::process::ExitCode {
    runtime::cli::main::<ag_news::inference::AgNewsPredictor>(&runtime::embedded_artifacts!(
        "ag-news",
        "vocab.json"
    ))
}
