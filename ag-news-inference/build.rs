//! Refuses to build without the trained artifacts the module embeds, and says how to make them.

fn main() {
    common::embed::require_artifacts(env!("CARGO_MANIFEST_DIR"), "ag-news", "ag-news-ndarray");
    let vocab = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../artifacts/ag-news/vocab.json"
    );
    println!("cargo::rerun-if-changed={vocab}");
}
