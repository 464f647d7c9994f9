//! `model-server run [--graph ALGO=DIR]... MODULE.wasm [ARGS]...`: one run of one module, as
//! `wasmtime run` would do it, but with the server's sandbox: its limits, its frozen clocks, no
//! files, and the named graphs for wasi-nn. The module's stdout and stderr are passed through
//! and its exit code is this process's.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use bytes::Bytes;

use crate::compile::compile;
use crate::graphs;
use crate::options::{Limits, RunOptions};
use crate::sandbox::{Outcome, Sandbox};

/// Exit code when the host stopped the module (a limit, a trap): as `wasmtime run` does.
const EXIT_STOPPED: u8 = 134;

pub(crate) fn run_once(options: &RunOptions) -> Result<ExitCode> {
    let limits = Limits::from_options(&options.limits, 1);
    let graphs = graphs::load_all(
        &options.graphs,
        graphs::Placement::InProcess,
        options.graph_device,
    )?;
    let sandbox = Sandbox::new(2, 0, crate::options::Profiler::None)?.with_graphs(graphs);
    sandbox.start_epoch_ticker();
    let compiled = compile(&sandbox, &options.module, None, false, &limits)?;
    let pre = sandbox.prepare(&compiled.module)?;
    let mut stdin = Vec::new();
    std::io::stdin()
        .take(limits.body_bytes as u64 + 1)
        .read_to_end(&mut stdin)
        .context("cannot read stdin")?;
    if stdin.len() > limits.body_bytes {
        anyhow::bail!(
            "stdin is larger than the {} KiB input limit; raise it with --max-body-kib",
            limits.body_bytes >> 10
        );
    }
    let program = options
        .module
        .file_stem()
        .map_or_else(|| "module".into(), |s| s.to_string_lossy().into_owned());
    let mut argv = vec![program];
    argv.extend(options.args.iter().cloned());
    let run = sandbox.store(&argv, Bytes::from(stdin), &limits)?;
    let (outcome, _) = crate::compile::block_on(run.call(&pre, "_start"));
    match outcome {
        Outcome::Exited {
            code,
            stdout,
            stderr,
        } => {
            std::io::stdout().write_all(&stdout)?;
            std::io::stderr().write_all(&stderr)?;
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
        Outcome::Stopped(stopped) => {
            eprintln!("model-server: {} {stopped}", options.module.display());
            Ok(ExitCode::from(EXIT_STOPPED))
        }
    }
}
