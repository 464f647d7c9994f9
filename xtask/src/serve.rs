//! `cargo xtask serve [OPTIONS]`: builds the inference modules, the browser page and the model
//! server, then runs the server on them (`--models target/wasm32-wasip1/release --web
//! target/web`); options go to the server.

use anyhow::Result;

use crate::process::{cargo, run};
use crate::wasm::wasm_output_dir;
use crate::web::build_site;

pub(crate) fn serve(args: &[String]) -> Result<()> {
    let site = build_site()?;
    run(cargo()
        .args(["run", "--release", "--package", "model-server", "--"])
        .arg("--models")
        .arg(wasm_output_dir())
        .arg("--web")
        .arg(site)
        .args(args))
}
