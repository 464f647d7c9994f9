//! Refuses to build without the trained artifacts the module embeds, and says how to make them.

fn main() {
    runtime::artifacts::require_artifacts("mnist", &[]);
}
