//! Refuses to build without the trained artifacts the module embeds, and says how to make them.

fn main() {
    common::embed::require_artifacts(env!("CARGO_MANIFEST_DIR"), "mnist", "mnist-ndarray");
}
