//! `cargo xtask baseline`: the AG News scikit-learn baseline, in a virtual environment of its own.

use std::process::Command;

use anyhow::Result;

use crate::paths::workspace_root;
use crate::process::{run, succeeds};
use crate::setup::ensure_venv;

/// scikit-learn, pinned so the recorded baseline can be reproduced.
const SCIKIT_LEARN: &str = "scikit-learn==1.7.2";

pub(crate) fn baseline() -> Result<()> {
    let python = ensure_venv("python-baseline", "baseline")?;
    if !succeeds(Command::new(&python).args(["-c", "import sklearn"])) {
        println!("baseline: installing {SCIKIT_LEARN}");
        run(Command::new(&python).args(["-m", "pip", "install", "--quiet", SCIKIT_LEARN]))?;
    }
    run(Command::new(&python)
        .arg(workspace_root().join("bench/ag_news_baseline.py"))
        .current_dir(workspace_root()))
}
