//! Where things are, for every command: the workspace and its build directory.

use std::env;
use std::path::{Path, PathBuf};

/// The parent of xtask's directory as `cargo run` reports it (correct even when a build cache
/// shared by several checkouts hands over a binary built in another), else as compiled.
pub(crate) fn workspace_root() -> PathBuf {
    let xtask = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    xtask.parent().map(Path::to_path_buf).unwrap_or(xtask)
}

pub(crate) fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}
