//! What the MNIST benchmarks share ([`crate::bench`], [`crate::accuracy_bench`]): the
//! figures read from a benchmark's JSON lines, and the PyTorch interpreter and thread count
//! they are compared under.

use std::ffi::OsString;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use serde_json::Value;

/// PyTorch's side of the training comparison, relative to the workspace.
pub(crate) const PYTORCH_SCRIPT: &str = "bench/mnist_pytorch.py";

/// The JSON objects a benchmark printed, one a line; its other lines are ignored.
pub(crate) fn json_lines(stdout: &[u8]) -> Result<Vec<Value>> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).context("unreadable benchmark output"))
        .collect()
}

/// `$BENCH_PYTHON` (default `python3`) when it imports torch, else why PyTorch is not measured.
pub(crate) fn torch_python() -> Result<OsString, String> {
    let python = std::env::var_os("BENCH_PYTHON").unwrap_or_else(|| "python3".into());
    let imports = Command::new(&python)
        .args(["-c", "import torch"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !imports {
        return Err(format!(
            "not measured: `{}` cannot import torch (install it, e.g. in a virtual \
             environment, and point BENCH_PYTHON at that interpreter)",
            python.to_string_lossy()
        ));
    }
    Ok(python)
}

/// The cores of this machine: every framework computes on that many threads.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The number at `path` in a JSON line of `benchmark`; missing or not a number is an error.
pub(crate) fn number(value: &Value, path: &[&str], benchmark: &str) -> Result<f64> {
    figure(value, path, benchmark, "number", Value::as_f64)
}

/// The string at `path` in a JSON line of `benchmark`; missing or not a string is an error.
pub(crate) fn string<'a>(value: &'a Value, path: &[&str], benchmark: &str) -> Result<&'a str> {
    figure(value, path, benchmark, "string", Value::as_str)
}

/// What `read` makes of the value at `path`, or an error naming `benchmark` and the path.
fn figure<'a, T>(
    value: &'a Value,
    path: &[&str],
    benchmark: &str,
    kind: &str,
    read: impl FnOnce(&'a Value) -> Option<T>,
) -> Result<T> {
    let found = path.iter().try_fold(value, |v, key| v.get(key));
    found.and_then(read).with_context(|| {
        let found = found.map_or_else(|| "missing".to_owned(), |v| format!("found {v}"));
        format!(
            "benchmark `{benchmark}`: no {kind} at `{}` ({found})",
            path.join(".")
        )
    })
}
