//! `cargo xtask web [--build-only] [--listen ADDR]`: builds the modules, puts the browser page
//! together in `target/web/` (the page, its WASI shim, the modules, the training curves) and
//! serves it on loopback, printing its URL. `--build-only` stops after putting it together
//! (for `model-server --web target/web`, or any static web server).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use crate::paths::workspace_root;
use crate::setup::{ensure_web_packages, wasm_toolchain};
use crate::wasm::{build_wasm_with, wasm_output_dir};

/// Where the assembled page lands.
pub(crate) fn site_dir() -> PathBuf {
    workspace_root().join("target").join("web")
}

/// Builds the modules and puts the page together; returns its directory.
pub(crate) fn build_site() -> Result<PathBuf> {
    ensure_web_packages()?;
    build_wasm_with(wasm_toolchain()?, &[])?;
    let site = site_dir();
    web::assemble(&site, &wasm_output_dir()).map_err(|e| anyhow!("web: {e}"))?;
    println!("web: the page is in {}", site.display());
    Ok(site)
}

pub(crate) fn web_command(args: &[String]) -> Result<()> {
    let mut build_only = false;
    let mut listen: SocketAddr = ([127, 0, 0, 1], 8080).into();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--build-only" => build_only = true,
            "--listen" => {
                let value = args
                    .next()
                    .context("--listen needs an address (127.0.0.1:8080)")?;
                listen = value.parse().with_context(|| {
                    format!("--listen {value}: not an address like 127.0.0.1:8080")
                })?;
            }
            other => bail!("unknown option '{other}' (known: --build-only, --listen ADDR)"),
        }
    }
    let site = build_site()?;
    if build_only {
        return Ok(());
    }
    serve(&site, listen)
}

#[tokio::main(flavor = "current_thread")]
async fn serve(site: &Path, listen: SocketAddr) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (choose another with --listen)"))?;
    let address = listener.local_addr()?;
    println!("web: serving the page on http://{address}/ (Ctrl-C stops)");
    axum::serve(listener, web::router(site))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("the page's web server failed")
}
