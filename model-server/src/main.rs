//! `model-server --models DIR`: the project's inference modules as named models behind the
//! Open Inference Protocol (KServe v2 REST), each request in a fresh sandboxed instance.
//! `main` only dispatches; each concern has its module.

mod api;
mod compile;
mod graphs;
#[cfg(test)]
mod malformed_inputs;
mod metadata;
mod metrics;
mod options;
mod repository;
mod run_once;
mod sandbox;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use clap::Parser;

use crate::options::{Limits, Options, RunOptions, mib_bytes, parse_model_limit};
use crate::repository::{Repository, Settings};
use crate::sandbox::Sandbox;

/// Instance slots per worker (see `serve`).
const SLOTS_PER_WORKER: usize = 4;

fn main() -> ExitCode {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "graph-worker")
    {
        return graphs::serve_worker(std::env::args_os().skip(1));
    }
    if std::env::args_os().nth(1).is_some_and(|a| a == "run") {
        let options = RunOptions::parse_from(std::env::args_os().skip(1));
        init_logging("text");
        return run_once::run_once(&options).unwrap_or_else(|error| {
            eprintln!("model-server: {error:#}");
            ExitCode::FAILURE
        });
    }
    let options = Options::parse();
    init_logging(&options.log_format);
    match serve(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("model-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MODEL_SERVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn serve(options: &Options) -> Result<()> {
    let workers = options
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .max(1);
    if let Some(site) = &options.web
        && !site.join("index.html").is_file()
    {
        anyhow::bail!(
            "--web {}: there is no index.html there; build the page with `cargo xtask web --build-only` (it lands in target/web)",
            site.display()
        );
    }
    let default_limits = Limits::from_options(&options.limits, workers);
    let model_limits = model_limits(options, default_limits)?;
    // The HTTP layer reads bodies up to the largest limit; each model's own is checked after.
    let max_body = model_limits
        .values()
        .map(|limits| limits.body_bytes)
        .fold(default_limits.body_bytes, usize::max);
    // One instance slot per worker and one for loading, times spares: a freed slot stays
    // mapped to its model's snapshot, so with a few per worker each model keeps warm slots of
    // its own. A slot is address space; only what a request wrote stays resident.
    let slots =
        u32::try_from((workers + 1) * SLOTS_PER_WORKER).context("--workers is too large")?;
    let placement = match options.graph_workers {
        0 => graphs::Placement::InProcess,
        count => graphs::Placement::Workers(graphs::WorkerSettings {
            count,
            deadline: default_limits.deadline,
            memory_mib: options.graph_worker_memory_mib,
        }),
    };
    let graphs = graphs::load_all(&options.graphs, placement, options.graph_device)?;
    for graph in graphs.hosted() {
        tracing::info!(target: "graphs", "graph '{}' loaded from {} (model {}) on {}", graph.spec.name, graph.dir.display(), graph.model_sha256, graph.device);
    }
    let sandbox =
        Sandbox::new(slots, mib_bytes(options.resident_mib), options.profiler)?.with_graphs(graphs);
    sandbox.start_epoch_ticker();
    let cache_dir = options.cache_dir.clone().or_else(default_cache_dir);
    let settings = Settings {
        dir: options.models.clone(),
        cache_dir,
        preinit: !options.no_preinit,
        default_limits,
        model_limits,
    };
    let repository = Arc::new(Repository::new(sandbox, settings));
    repository.scan()?;
    let state = Arc::new(api::AppState {
        repository: repository.clone(),
        metrics: metrics::Metrics::new(),
        workers: tokio::sync::Semaphore::new(workers),
        loaded: AtomicBool::new(false),
    });
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let address = listener.local_addr()?;
    println!("model-server: listening on http://{address}");
    let loading = state.clone();
    tokio::task::spawn_blocking(move || {
        match loading.repository.load_all() {
            Ok(lines) => lines
                .iter()
                .for_each(|line| tracing::info!(target: "repository", "{line}")),
            Err(error) => tracing::error!(target: "repository", "{error:#}"),
        }
        loading.loaded.store(true, Ordering::Release);
        tracing::info!(target: "repository", "models loaded; the server is ready");
    });
    let app = api::router(state, max_body, options.web.as_deref());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed")?;
    tracing::info!("shut down; in-flight requests were answered");
    Ok(())
}

/// `--model-limit` settings applied over the defaults, by model name.
fn model_limits(options: &Options, defaults: Limits) -> Result<BTreeMap<String, Limits>> {
    let mut limits = BTreeMap::new();
    for spec in &options.model_limits {
        let (name, key, value) = parse_model_limit(spec)?;
        limits
            .entry(name.to_owned())
            .or_insert(defaults)
            .set(key, value)?;
    }
    Ok(limits)
}

fn default_cache_dir() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache")))?;
    Some(base.join("model-server"))
}

/// Ctrl-C or SIGTERM: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: no new connections, finishing in-flight requests");
}
