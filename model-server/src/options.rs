//! The command line: where the models are, where to listen, and the limits every request is
//! held to (server-wide defaults, overridden per model with `--model-limit`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Parser;

use crate::graphs::{DeviceOptions, GraphSource};

/// Serves the project's inference modules as named models over the Open Inference Protocol
/// (KServe v2 REST), one fresh sandboxed wasmtime instance per request.
#[derive(Debug, Clone, Parser)]
#[command(name = "model-server", version, about, long_about = None)]
pub(crate) struct Options {
    /// Directory of models: every `*.wasm` in it is served, `<algo>-inference.wasm` as `<algo>`
    /// and any other `<name>.wasm` as `<name>`.
    #[arg(long, value_name = "DIR")]
    pub(crate) models: PathBuf,

    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "ADDR")]
    pub(crate) listen: SocketAddr,

    /// Where compiled (and pre-initialised) modules are cached, keyed by the module's SHA-256
    /// and the engine's settings, so a restart does not compile again. The directory must be as
    /// trusted as this binary: its files are mapped as native code.
    #[arg(long, value_name = "DIR", env = "MODEL_SERVER_CACHE")]
    pub(crate) cache_dir: Option<PathBuf>,

    /// Do not pre-initialise modules: every request then decodes the embedded model itself.
    #[arg(long)]
    pub(crate) no_preinit: bool,

    /// Requests that run at once, over all models (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    pub(crate) workers: Option<usize>,

    /// Memory each instance slot keeps resident between requests, in MiB: the pages a request
    /// wrote are restored from the model's snapshot by copying (found with Linux's
    /// PAGEMAP_SCAN) instead of being unmapped, so the next request takes no page faults.
    /// Costs up to this much RAM per slot (4 slots per worker); 0 unmaps after every request.
    #[arg(long, default_value_t = 16, value_name = "MIB")]
    pub(crate) resident_mib: u64,

    /// A named graph for the named-graph modules (`<algo>-inference-named.wasm`, served as
    /// `<algo>-named`): the algorithm and its artifact directory, loaded once at start and run
    /// natively with Burn behind wasi-nn (`--graph mnist=artifacts/mnist`). Repeatable.
    #[arg(long = "graph", value_name = "ALGO=DIR")]
    pub(crate) graphs: Vec<GraphSource>,

    /// Run each graph's Burn code in N worker processes of its own instead of in the server:
    /// a crash or a leak in native model code then ends a worker, which is replaced, and fails
    /// only the requests it was serving; an answer later than --deadline-ms stops the worker.
    /// 0: in the server's process (the fastest; native code is not interruptible there).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub(crate) graph_workers: usize,

    /// Memory each graph worker process may use, in MiB: its heap and private mappings
    /// (RLIMIT_DATA), set by the worker on itself before it loads the graph. A worker that
    /// needs more (a leak, an input too large for its graph) dies, fails only the request it
    /// was serving, and is replaced. 0: no limit.
    #[arg(long, default_value_t = 4096, value_name = "MIB")]
    pub(crate) graph_worker_memory_mib: u64,

    #[command(flatten)]
    pub(crate) graph_device: DeviceOptions,

    /// Serve the browser page assembled in DIR (`cargo xtask web --build-only` puts it in
    /// target/web) at `/`: the modules run in the visitor's browser, not in the server.
    #[arg(long, value_name = "DIR")]
    pub(crate) web: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) limits: LimitOptions,

    /// A limit for one model: NAME:KEY=VALUE with a KEY of the limit options above without
    /// their leading dashes (`--model-limit mnist:memory-mib=256`). Repeatable.
    #[arg(long = "model-limit", value_name = "NAME:KEY=VALUE")]
    pub(crate) model_limits: Vec<String>,

    /// Tell a native profiler about the models' compiled code: `perfmap` writes
    /// /tmp/perf-<pid>.map for `perf report`, `jitdump` writes jit-<pid>.dump for `perf inject`.
    #[arg(long, value_enum, default_value_t = Profiler::None)]
    pub(crate) profiler: Profiler,

    /// Log format: one JSON object per line (`json`) or plain text (`text`).
    #[arg(long, default_value = "json", value_parser = ["json", "text"])]
    pub(crate) log_format: String,
}

/// `model-server run [--graph ALGO=DIR]... MODULE.wasm [ARGS]...`: one run of one module, like
/// `wasmtime run`, with its stdin, stdout, stderr and exit code, under the server's limits.
#[derive(Debug, Clone, Parser)]
#[command(name = "model-server run", version, about = "Runs one module once, like `wasmtime run`, with named graphs for wasi-nn", long_about = None)]
pub(crate) struct RunOptions {
    /// A named graph the module may ask for: ALGO=DIR (`--graph iris=artifacts/iris`).
    /// Repeatable.
    #[arg(long = "graph", value_name = "ALGO=DIR")]
    pub(crate) graphs: Vec<GraphSource>,

    #[command(flatten)]
    pub(crate) graph_device: DeviceOptions,

    #[command(flatten)]
    pub(crate) limits: LimitOptions,

    /// The module to run.
    #[arg(value_name = "MODULE.wasm")]
    pub(crate) module: PathBuf,

    /// Its arguments.
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub(crate) args: Vec<String>,
}

/// Which native profiler is told about compiled code (`--profiler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Profiler {
    None,
    Perfmap,
    Jitdump,
}

/// The server-wide defaults of every limit.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct LimitOptions {
    /// Wall-clock deadline of one request's run, in milliseconds (epoch interruption).
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub(crate) deadline_ms: u64,
    /// WebAssembly fuel of one run (about one unit per instruction).
    #[arg(long, default_value_t = 50_000_000_000, value_name = "UNITS")]
    pub(crate) fuel: u64,
    /// Linear memory one instance may grow to, in MiB.
    #[arg(long, default_value_t = 512, value_name = "MIB")]
    pub(crate) memory_mib: u64,
    /// Bytes a run may write to stdout (its answer), in KiB.
    #[arg(long, default_value_t = 16 * 1024, value_name = "KIB")]
    pub(crate) output_kib: u64,
    /// Largest request body, in KiB (413 beyond it).
    #[arg(long, default_value_t = 64 * 1024, value_name = "KIB")]
    pub(crate) max_body_kib: u64,
    /// Requests of one model that run at once (default: --workers).
    #[arg(long, value_name = "N")]
    pub(crate) concurrency: Option<usize>,
    /// Requests of one model that may wait for a turn; beyond them, 503 with Retry-After.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub(crate) queue: usize,
}

/// The limits of one model, as enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) deadline: Duration,
    pub(crate) fuel: u64,
    pub(crate) memory_bytes: usize,
    pub(crate) output_bytes: usize,
    pub(crate) body_bytes: usize,
    pub(crate) concurrency: usize,
    pub(crate) queue: usize,
}

impl Limits {
    pub(crate) fn from_options(options: &LimitOptions, workers: usize) -> Self {
        Self {
            deadline: Duration::from_millis(options.deadline_ms),
            fuel: options.fuel,
            memory_bytes: mib_bytes(options.memory_mib),
            output_bytes: kib(options.output_kib),
            body_bytes: kib(options.max_body_kib),
            concurrency: options.concurrency.unwrap_or(workers).max(1),
            queue: options.queue,
        }
    }

    /// Applies one `KEY=VALUE` of `--model-limit`.
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let Ok(number) = value.parse::<u64>() else {
            bail!("--model-limit {key}={value}: the value is not a whole number");
        };
        match key {
            "deadline-ms" => self.deadline = Duration::from_millis(number),
            "fuel" => self.fuel = number,
            "memory-mib" => self.memory_bytes = mib_bytes(number),
            "output-kib" => self.output_bytes = kib(number),
            "max-body-kib" => self.body_bytes = kib(number),
            "concurrency" => self.concurrency = usize::try_from(number.max(1))?,
            "queue" => self.queue = usize::try_from(number)?,
            other => bail!(
                "--model-limit: unknown limit '{other}' (deadline-ms, fuel, memory-mib, output-kib, max-body-kib, concurrency, queue)"
            ),
        }
        Ok(())
    }
}

/// `n` MiB in bytes, saturating.
pub(crate) fn mib_bytes(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
}

fn kib(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1 << 10)).unwrap_or(usize::MAX)
}

/// One `--model-limit NAME:KEY=VALUE`, split.
pub(crate) fn parse_model_limit(spec: &str) -> Result<(&str, &str, &str)> {
    let Some((name, setting)) = spec.split_once(':') else {
        bail!("--model-limit '{spec}': write NAME:KEY=VALUE (mnist:memory-mib=256)");
    };
    let Some((key, value)) = setting.split_once('=') else {
        bail!("--model-limit '{spec}': write NAME:KEY=VALUE (mnist:memory-mib=256)");
    };
    Ok((name, key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_limits_override_the_defaults_by_name() {
        let options = Options::parse_from(["model-server", "--models", "m", "--fuel", "5"]);
        let mut limits = Limits::from_options(&options.limits, 2);
        assert_eq!(limits.fuel, 5);
        assert_eq!(limits.concurrency, 2);
        let (name, key, value) = parse_model_limit("mnist:memory-mib=256").unwrap();
        assert_eq!(name, "mnist");
        limits.set(key, value).unwrap();
        assert_eq!(limits.memory_bytes, 256 << 20);
        assert!(limits.set("speed", "1").is_err());
        assert!(limits.set("fuel", "lots").is_err());
        assert!(parse_model_limit("mnist").is_err());
    }
}
