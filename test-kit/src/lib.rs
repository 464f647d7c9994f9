//! Test support, a dev-dependency only: nothing here ships in a module or a training binary.
//!
//! - [`process`]: a module under the wasmtime CLI and its native build, side by side, and the
//!   assertions on what comes out (answers, the bad-input line, the imports);
//! - [`contract`]: the one check of the inference CLI contract that every module's tests call;
//! - [`training`]: running training binaries, reading their reports, and checking the committed
//!   artifacts (complete, trained with the defaults, reproducible from `config.json`).

pub mod contract;
pub mod process;
pub mod training;
