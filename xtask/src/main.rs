//! Project automation, run as `cargo xtask <command>` (the alias is in `.cargo/config.toml`).
//!
//! It installs only what is missing, says what it did, and stops at the first failure. Each
//! command is a module of its own; this file only dispatches.

use std::env;
use std::process::ExitCode;

use anyhow::anyhow;

mod accuracy_bench;
mod baseline;
mod bench;
mod bench_common;
mod demo;
mod fuzz;
mod module_bench;
mod named_bench;
mod paths;
mod process;
mod serve;
mod serve_bench;
mod setup;
mod test;
mod wasm;
mod web;

const HELP: &str = "\
Usage: cargo xtask <command>

Commands:
  setup            install what is missing: the wasm32-wasip1 toolchain, the wasmtime CLI
                   (pinned), wasmi, Node.js, lavapipe (software Vulkan) for the wgpu tests,
                   the OIP clients (tritonclient, kserve) in a virtual environment, the
                   page's npm packages (web/node_modules) and Chromium for its tests
  wasm [--precompile] [CRATE...]
                   build inference modules (default: all) to
                   target/wasm32-wasip1/release/<crate>.wasm and, the named-graph kind,
                   <crate>-named.wasm, and print their SHA-256 and SHA3-256; --precompile
                   also writes <crate>.cwasm with `wasmtime compile`
  demo             the main job: set up, train Iris on the CPU into target/demo/iris (the
                   committed artifacts are only read), build its wasm module and predict a
                   sample under wasmtime
  test             set up, check formatting and lints, build the wasm modules, run every
                   test (unit, training on real data, the modules under wasmtime), then the
                   short fuzz pass (FUZZ_SECONDS per target, default 10)
  baseline         the AG News TF-IDF + logistic-regression baseline (scikit-learn, installed
                   into a virtual environment under the target directory) on the committed
                   model's split; writes artifacts/ag-news/baseline.json
  bench [training|modules|serve|named]
                   MNIST training throughput (flex with and without train-ops, ndarray,
                   PyTorch CPU when installed: BENCH_PYTHON), the time burn and PyTorch
                   take to reach 99.2% test accuracy with the committed recipe (two full
                   trainings) and where a step's time goes (`training`: only these);
                   every inference module's size,
                   start-up and per-item cost natively and under wasmtime, wasmi and Node.js
                   (`modules`: only these); the model server under wrk beside `wasmtime run`
                   per request, MLServer and the in-process floor (`serve`: only this);
                   the named-graph modules beside the self-contained ones, with the graph
                   in the server and in worker processes (`named`: only this);
                   writes BENCHMARKS.md
  fuzz [--short] [SECONDS]
                   every cargo-fuzz target (fuzz/fuzz_targets/) for SECONDS each (default
                   60, nightly toolchain), then MALFORMED_INPUTS (default 100000) generated
                   hostile inputs through every wasm module, compared with the native build;
                   --short: only the targets without training code, as `test` runs them
  serve [OPTIONS]  build the modules, the browser page and the model server and serve them
                   (Open Inference Protocol and the page on http://127.0.0.1:8000); OPTIONS go
                   to model-server (--help)
  web [--build-only] [--listen ADDR]
                   build the modules and put the browser page together in target/web (the
                   page, its WASI shim, the modules, the training curves), then serve it on
                   http://127.0.0.1:8080/ (a static server; the modules run in the browser)
  help             print this help

Environment:
  DATASETS_DIR           where datasets are read from (default: datasets/ in the workspace;
                         missing files are downloaded and checksum-verified)
  CARGO_TARGET_DIR       build directory (CI keeps it outside the clone)
  XTASK_WASM_TOOLCHAIN   force `rustup` or `build-std` instead of choosing by itself
  FUZZ_SECONDS           seconds per fuzz target in `test` (default 10)
  GRAPH_WGPU_ADAPTER     the wgpu adapter `test` checks the named graphs on (default cpu:
                         lavapipe; best on a machine with a GPU)
  BENCH_GRAPH_ADAPTER    `bench named` also measures the MNIST graph on this wgpu adapter
  BENCH_TIME_TO_ACCURACY 0: `bench` skips the two time-to-accuracy trainings
  MALFORMED_INPUTS       generated hostile inputs per module (default 100000)
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::setup().map(|_| ()),
        Some("wasm") => wasm::wasm_command(&args[1..]),
        Some("web") => web::web_command(&args[1..]),
        Some("demo") => demo::demo(),
        Some("test") => test::test(),
        Some("baseline") => baseline::baseline(),
        Some("bench") => bench::bench(&args[1..]),
        Some("fuzz") => fuzz::fuzz_command(&args[1..]),
        Some("serve") => serve::serve(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(anyhow!("unknown command '{other}'; run `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
