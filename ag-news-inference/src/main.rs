#![recursion_limit = "256"]
//! `ag-news-inference '{"title": "...", "description": "..."}'` prints the article's topic
//! (World, Sports, Business or Sci/Tech). The model and its vocabulary are embedded at compile
//! time.

module_kit::inference_module!(ag_news::inference::AgNewsPredictor, "ag-news", "vocab.json");
