//! Running an inference module under the wasmtime CLI and its native build side by side, and
//! the assertions every module's tests make on what comes out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use train_kit::paths::workspace_root;

/// The wasm module `cargo xtask wasm` built for `crate_name`.
pub fn wasm_module(crate_name: &str) -> PathBuf {
    let dir = std::env::var_os("WASM_MODULE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/wasm32-wasip1/release"));
    let module = dir.join(format!("{crate_name}.wasm"));
    assert!(
        module.is_file(),
        "{} is missing: build it with `cargo xtask wasm {crate_name}` (or run `cargo xtask test`)",
        module.display()
    );
    module
}

/// The wasmtime CLI: `$WASMTIME`, else `wasmtime` on the PATH.
pub fn wasmtime() -> PathBuf {
    std::env::var_os("WASMTIME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("wasmtime"))
}

/// Runs `program args` with `stdin`, waiting for it to finish.
pub fn run_with_stdin(command: Command, stdin: &str) -> Output {
    run_with_stdin_bytes(command, stdin.as_bytes())
}

/// [`run_with_stdin`] with any bytes (a picture) on stdin.
pub fn run_with_stdin_bytes(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let mut pipe = child.stdin.take().expect("stdin is piped");
    // A module that rejects its input early may close stdin first: that is not an error here.
    let _ = pipe.write_all(stdin);
    drop(pipe);
    child.wait_with_output().expect("the process finishes")
}

/// The module under `wasmtime run`, with no capabilities but argv and the standard streams.
pub fn run_wasm(module: &Path, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(wasmtime());
    command.arg("run").arg(module).args(args);
    run_with_stdin(command, stdin)
}

/// The native build of the same inference crate.
pub fn run_native(binary: &str, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(binary);
    command.args(args);
    run_with_stdin(command, stdin)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn expect_success(output: &Output) -> String {
    assert!(
        output.status.success(),
        "expected success, got {:?}:\n{}",
        output.status,
        stderr(output)
    );
    stdout(output)
}

/// Asserts the bad-input contract: exit 2, nothing on stdout, one line on stderr that names
/// the problem (`expected`) and shows a valid example, no panic or trap.
pub fn expect_bad_input(output: &Output, expected: &str, example: &str) {
    let message = stderr(output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit code 2 for bad input: {message}"
    );
    assert!(
        output.stdout.is_empty(),
        "no answer on bad input: {}",
        stdout(output)
    );
    assert_eq!(message.trim_end().lines().count(), 1, "one line: {message}");
    assert!(
        message.contains(expected),
        "names the problem ({expected}): {message}"
    );
    assert!(
        message.contains(example),
        "shows a valid example: {message}"
    );
    for sign in ["panicked", "wasm trap", "backtrace"] {
        assert!(!message.contains(sign), "no {sign}: {message}");
    }
}

/// `(module, name)` of every import of a wasm module.
pub fn wasm_imports(module: &Path) -> Vec<(String, String)> {
    let bytes = std::fs::read(module).expect("the module is readable");
    let mut imports = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let Ok(wasmparser::Payload::ImportSection(reader)) = payload {
            for import in reader.into_imports().flatten() {
                imports.push((import.module.to_owned(), import.name.to_owned()));
            }
        }
    }
    imports
}

/// Probabilities may differ by this much between the wasm module and the native build: both
/// run the same code, but SIMD widths (and so float summation order) differ by platform.
pub const PROBABILITY_TOLERANCE: f64 = 1e-5;

/// Runs the same call under wasmtime and natively and asserts the same exit code, the same
/// message and the same answers: identical lines, except that under `--json` numbers may
/// differ by [`PROBABILITY_TOLERANCE`]. Returns the wasm run.
pub fn run_both(module: &Path, native: &str, args: &[&str], stdin: &str) -> Output {
    let wasm = run_wasm(module, args, stdin);
    let native = run_native(native, args, stdin);
    assert_eq!(
        wasm.status.code(),
        native.status.code(),
        "same exit code for {args:?}"
    );
    assert_eq!(stderr(&wasm), stderr(&native), "same message for {args:?}");
    let (wasm_out, native_out) = (stdout(&wasm), stdout(&native));
    assert_eq!(
        wasm_out.lines().count(),
        native_out.lines().count(),
        "same number of answers"
    );
    for (index, (w, n)) in wasm_out.lines().zip(native_out.lines()).enumerate() {
        assert!(
            same_answer(args.contains(&"--json"), w, n),
            "answer {index} differs for {args:?}:\n wasm:   {w}\n native: {n}"
        );
    }
    wasm
}

/// Whether two answer lines agree: identical, or under `--json` equal JSON with numbers within
/// [`PROBABILITY_TOLERANCE`].
pub fn same_answer(json: bool, wasm: &str, native: &str) -> bool {
    if json {
        json_close(&parse_json(wasm), &parse_json(native))
    } else {
        wasm == native
    }
}

fn parse_json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// Equal JSON, numbers within [`PROBABILITY_TOLERANCE`].
fn json_close(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() <= PROBABILITY_TOLERANCE,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_close(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_close(v, w)))
        }
        _ => a == b,
    }
}

/// The WASI functions a module may import (`module_kit::wasi`, shared with the model server's
/// load-time check).
pub use module_kit::wasi::ALLOWED_IMPORTS as ALLOWED_WASI_IMPORTS;

/// Asserts the module needs nothing from its host but WASI preview 1's arguments, standard
/// streams, exit, clock and random source, and writing the one file `--output` names.
pub fn assert_only_wasi_imports(module: &Path) {
    let imports = wasm_imports(module);
    assert!(
        !imports.is_empty(),
        "a WASI command imports at least fd_write"
    );
    for (from, name) in &imports {
        assert_eq!(
            from, "wasi_snapshot_preview1",
            "unexpected import {from}::{name}"
        );
        assert!(
            ALLOWED_WASI_IMPORTS.contains(&name.as_str()),
            "unexpected WASI capability {name}"
        );
    }
}
