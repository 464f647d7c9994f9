//! What an inference module may ask of its host: the WASI preview 1 functions it may import,
//! and for a named-graph module the wasi-nn functions that run the host's graph.
//! The tests check every module against this list, and `model-server` refuses at load any
//! module that imports anything else.

/// The module every import must come from.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// Arguments, environment (std's start-up reads it; hosts pass none), the standard streams,
/// exit, the clock and random source std may ask for, and what `--output FILE` needs to write
/// one file into a directory the runtime granted (finding the preopened directory, opening the
/// file for writing, renaming it into place, removing it after a failed write). Nothing that
/// lists, inspects or links files, and no sockets.
pub const ALLOWED_IMPORTS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "fd_read",
    "fd_write",
    "fd_fdstat_get",
    "fd_close",
    "fd_seek",
    "proc_exit",
    "clock_time_get",
    "random_get",
    "sched_yield",
    // --output FILE
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "path_open",
    "path_rename",
    "path_unlink_file",
];

/// The wasi-nn module a named-graph module imports from (the witx ABI of wasm32-wasip1).
pub const NN_MODULE: &str = "wasi_ephemeral_nn";

/// What a named-graph module may ask of wasi-nn: a graph by name, and running it. Not `load`:
/// a module never hands the host a model of its own to compile.
pub const NN_IMPORTS: &[&str] = &[
    "load_by_name",
    "init_execution_context",
    "set_input",
    "compute",
    "get_output",
];

/// Why an import is not allowed, or `None` when it is.
pub fn refuse_import(module: &str, name: &str) -> Option<String> {
    if module == NN_MODULE {
        return (!NN_IMPORTS.contains(&name)).then(|| {
            format!(
                "imports {NN_MODULE}::{name}, which is not among the wasi-nn functions a model may use ({})",
                NN_IMPORTS.join(", ")
            )
        });
    }
    if module != MODULE {
        return Some(format!(
            "imports {module}::{name}, from outside WASI preview 1 ({MODULE})"
        ));
    }
    if !ALLOWED_IMPORTS.contains(&name) {
        return Some(format!(
            "imports {MODULE}::{name}, which is not among the WASI functions a model may use ({})",
            ALLOWED_IMPORTS.join(", ")
        ));
    }
    None
}
