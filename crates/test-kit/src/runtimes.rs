//! The same module file under three independent engines: the wasmtime CLI (Cranelift), wasmi
//! (a pure-Rust interpreter) and Node.js's built-in WASI (V8), through the runner kept in
//! `runners/node-wasi.mjs`. What a user sees must not depend on the engine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use train_kit::paths::workspace_root;

use crate::process::{run_with_stdin, stderr, stdout, wasmtime};

/// A WebAssembly engine that runs WASI preview 1 commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Wasmtime,
    Wasmi,
    Node,
}

/// Every engine the modules are checked under; the first is the reference.
pub const ENGINES: [Engine; 3] = [Engine::Wasmtime, Engine::Wasmi, Engine::Node];

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Wasmtime => "wasmtime",
            Engine::Wasmi => "wasmi",
            Engine::Node => "node",
        }
    }

    /// The command that runs `module` with `args`, granting nothing but argv and the
    /// standard streams.
    pub fn command(self, module: &Path, args: &[&str]) -> Command {
        let mut command = match self {
            Engine::Wasmtime => {
                let mut command = Command::new(wasmtime());
                command.arg("run");
                command
            }
            Engine::Wasmi => Command::new(wasmi()),
            Engine::Node => {
                let mut command = Command::new(node());
                command.arg("--no-warnings").arg(node_runner());
                command
            }
        };
        command.arg(module).args(args);
        command
    }

    pub fn run(self, module: &Path, args: &[&str], stdin: &str) -> Output {
        run_with_stdin(self.command(module, args), stdin)
    }
}

/// wasmi's CLI: `$WASMI`, else `wasmi` on the PATH (`cargo xtask setup` installs it).
pub fn wasmi() -> PathBuf {
    std::env::var_os("WASMI")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("wasmi"))
}

/// Node.js: `$NODE`, else `node` on the PATH.
pub fn node() -> PathBuf {
    std::env::var_os("NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("node"))
}

/// The project's runner for Node.js's WASI.
pub fn node_runner() -> PathBuf {
    workspace_root().join("runners/node-wasi.mjs")
}

/// One call: arguments and stdin.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub args: &'a [&'a str],
    pub stdin: &'a str,
}

/// Asserts that every engine gives the same stdout, stderr and exit code as wasmtime for each
/// call, and that none traps.
pub fn assert_engines_agree(module: &Path, calls: &[Call<'_>]) {
    for call in calls {
        let reference = Engine::Wasmtime.run(module, call.args, call.stdin);
        assert_no_trap(Engine::Wasmtime, call, &reference);
        for engine in &ENGINES[1..] {
            let output = engine.run(module, call.args, call.stdin);
            assert_no_trap(*engine, call, &output);
            let engine = engine.name();
            assert_eq!(
                output.status.code(),
                reference.status.code(),
                "{engine} exit code for {call:?}: {}",
                stderr(&output)
            );
            assert_eq!(
                stdout(&output),
                stdout(&reference),
                "{engine} stdout for {call:?}"
            );
            assert_eq!(
                stderr(&output),
                stderr(&reference),
                "{engine} stderr for {call:?}"
            );
        }
    }
}

/// Asserts that every engine answers `stdin` the same when it arrives late (the writer waits
/// before writing), as input from a slow producer does: a runtime must block, not fail.
pub fn assert_late_stdin_is_read(module: &Path, args: &[&str], stdin: &str) {
    let expected = stdout(&Engine::Wasmtime.run(module, args, stdin));
    for engine in ENGINES {
        let mut child = engine
            .command(module, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", engine.name()));
        std::thread::sleep(Duration::from_millis(300));
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(stdin.as_bytes())
            .expect("the module reads stdin");
        drop(pipe);
        let output = child.wait_with_output().expect("the process finishes");
        assert!(
            output.status.success(),
            "{} with late stdin: {}",
            engine.name(),
            stderr(&output)
        );
        assert_eq!(
            stdout(&output),
            expected,
            "{} with late stdin",
            engine.name()
        );
    }
}

fn assert_no_trap(engine: Engine, call: &Call<'_>, output: &Output) {
    let message = stderr(output);
    for sign in ["trap", "panicked", "RuntimeError", "unreachable"] {
        assert!(
            !message.contains(sign),
            "{} shows '{sign}' for {call:?}: {message}",
            engine.name()
        );
    }
    assert!(
        matches!(output.status.code(), Some(0..=2)),
        "{} exit code {:?} for {call:?}: {message}",
        engine.name(),
        output.status.code()
    );
}
