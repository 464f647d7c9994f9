//! Refuses to build without the trained artifacts the module embeds, and says how to make them.

fn main() {
    module_kit::artifacts::require_artifacts("mnist", &[]);
}
