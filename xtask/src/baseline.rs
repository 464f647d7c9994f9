//! `cargo xtask baseline`: the AG News scikit-learn baseline, in a virtual environment of its own.

use std::process::Command;

use anyhow::Result;

use crate::paths::{target_dir, workspace_root};
use crate::process::{run, succeeds};

/// scikit-learn, pinned so the recorded baseline can be reproduced.
const SCIKIT_LEARN: &str = "scikit-learn==1.7.2";

pub(crate) fn baseline() -> Result<()> {
    let venv = target_dir().join("python-baseline");
    let python = venv.join("bin/python");
    if !python.is_file() {
        println!(
            "baseline: creating a virtual environment in {}",
            venv.display()
        );
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    if !succeeds(Command::new(&python).args(["-c", "import sklearn"])) {
        println!("baseline: installing {SCIKIT_LEARN}");
        run(Command::new(&python).args(["-m", "pip", "install", "--quiet", SCIKIT_LEARN]))?;
    }
    run(Command::new(&python)
        .arg(workspace_root().join("bench/ag_news_baseline.py"))
        .current_dir(workspace_root()))
}
