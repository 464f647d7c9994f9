//! The page that runs the inference modules in the browser (`web/static/`), put together as one
//! static directory that any web server can serve, and the router `model-server --web` and
//! `cargo xtask web` serve it with.
//!
//! The assembled directory holds the page, the WASI shim it imports (npm
//! `@bjorn3/browser_wasi_shim`, installed by `cargo xtask setup` into `web/node_modules/`), the
//! self-contained modules and `convert-image.wasm` under `modules/`, and each model's training
//! curve under `curves/`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use axum::Router;
use http::{HeaderName, HeaderValue};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// The algorithms on the page.
pub const ALGORITHMS: &[&str] = &["mnist", "iris", "wine-quality", "ag-news"];
/// The module that prepares a picture for MNIST, as the `convert-image` binary does.
pub const CONVERT_IMAGE: &str = "convert-image";

/// The page's sources in the repository.
pub fn static_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("static")
}

/// Where `npm ci` in `web/` puts the shim's files.
pub fn shim_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/@bjorn3/browser_wasi_shim/dist")
}

/// The trained artifacts, for the training curves.
fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../artifacts")
}

/// Puts the page together in `site` from the modules in `modules` and `convert-image.wasm` in
/// `modules/tools` (where `cargo xtask wasm` leaves them). The directory is built beside `site` and renamed into place, so a failure
/// leaves the previous page whole. The error names the missing file and how to make it.
pub fn assemble(site: &Path, modules: &Path) -> Result<(), String> {
    let building = site.with_extension("building");
    let _ = fs::remove_dir_all(&building);
    let result = fill(&building, modules).and_then(|()| {
        let _ = fs::remove_dir_all(site);
        fs::rename(&building, site)
            .map_err(|e| format!("cannot move the page into {}: {e}", site.display()))
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&building);
    }
    result
}

fn fill(site: &Path, modules: &Path) -> Result<(), String> {
    copy_dir(&static_dir(), site, "")?;
    copy_dir(
        &shim_dir(),
        &site.join("vendor/browser_wasi_shim"),
        "; install it with `cargo xtask setup` (npm ci in web/)",
    )?;
    let module_files = ALGORITHMS
        .iter()
        .map(|algo| format!("{algo}-inference.wasm"))
        .chain([format!("tools/{CONVERT_IMAGE}.wasm")]);
    for file in module_files {
        let name = file.trim_start_matches("tools/");
        copy(
            &modules.join(&file),
            &site.join(format!("modules/{name}")),
            "; build the modules with `cargo xtask wasm`",
        )?;
    }
    for algo in ALGORITHMS {
        copy(
            &artifacts_dir().join(algo).join("training.png"),
            &site.join(format!("curves/{algo}.png")),
            "",
        )?;
    }
    Ok(())
}

fn copy(from: &Path, to: &Path, fix: &str) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {}: {e}{fix}", from.display()))
}

/// Copies the files of `from` (not its subdirectories: the shim's `dist/` and the page's
/// sources are flat) that a browser loads.
fn copy_dir(from: &Path, to: &Path, fix: &str) -> Result<(), String> {
    let entries =
        fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}{fix}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e: io::Error| format!("cannot read {}: {e}", from.display()))?;
        let path = entry.path();
        let served = path
            .extension()
            .is_some_and(|ext| ["html", "js", "css"].iter().any(|e| ext == *e));
        if path.is_file() && served {
            copy(&path, &to.join(entry.file_name()), fix)?;
        }
    }
    Ok(())
}

/// What the page may do, enforced by the browser: scripts and modules from this origin only
/// (`wasm-unsafe-eval` lets it compile WebAssembly, nothing else), no connection anywhere but
/// here (input never leaves the tab), no plugins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     connect-src 'self' blob:; img-src 'self' blob: data:; style-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Serves the assembled page in `site` at `/`, with MIME types from the file names
/// (`application/wasm`, which `WebAssembly.compileStreaming` requires) and the page's
/// security headers. Unknown paths are 404.
pub fn router(site: &Path) -> Router {
    let headers = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-embedder-policy", "require-corp"),
        ("cross-origin-resource-policy", "same-origin"),
        ("referrer-policy", "no-referrer"),
        // A rebuilt module is fetched again, not taken from a stale cache.
        ("cache-control", "no-cache"),
    ];
    let mut router = Router::new().fallback_service(ServeDir::new(site));
    for (name, value) in headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed assembly names what is missing and how to make it, and leaves the previous
    /// page as it was and nothing half-built beside it.
    #[test]
    fn a_failed_assembly_keeps_the_previous_page_and_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        fs::create_dir_all(&site).unwrap();
        fs::write(site.join("index.html"), "the previous page").unwrap();
        let no_modules = dir.path().join("modules");
        fs::create_dir_all(&no_modules).unwrap();
        let error = assemble(&site, &no_modules).unwrap_err();
        assert!(
            error.contains("cargo xtask wasm") || error.contains("cargo xtask setup"),
            "{error}"
        );
        assert_eq!(
            fs::read_to_string(site.join("index.html")).unwrap(),
            "the previous page"
        );
        assert!(!site.with_extension("building").exists());
    }
}
