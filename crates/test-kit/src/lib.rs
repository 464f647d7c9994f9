//! Test support, a dev-dependency only: nothing here ships in a module or a training binary.
//!
//! - [`process`]: a module under the wasmtime CLI and its native build, side by side, and the
//!   assertions on what comes out (answers, the bad-input line, the imports);
//! - [`cocos`]: a training binary run in a `/cocos`-like working directory, as Cocos AI runs it;
//! - [`contract`]: the one check of the inference CLI contract that every module's tests call;
//! - [`forwards`]: a network's two forward passes (the modules' kernels, Burn) compared;
//! - [`malformed`]: generated hostile inputs for a module, from its own example;
//! - [`named`]: a named-graph module against its self-contained one, through `model-server`;
//! - [`server`]: the real `model-server` on an ephemeral port, started and waited for;
//! - [`runtimes`]: the same module file under wasmtime, wasmi and Node.js, compared;
//! - [`training`]: running training binaries, reading their reports, and checking the committed
//!   artifacts (complete, trained with the defaults, reproducible from `config.json`).

pub mod cocos;
pub mod contract;
pub mod forwards;
pub mod malformed;
pub mod named;
pub mod process;
pub mod runtimes;
pub mod server;
pub mod training;
