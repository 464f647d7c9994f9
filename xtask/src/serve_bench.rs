//! `cargo xtask bench serve`: the model server under a real load generator (wrk), loopback
//! only, bounded in time, side by side in one run with (a) a `wasmtime run` process per
//! request, (b) MLServer serving a scikit-learn Iris model through the same protocol and load
//! generator, and (c) the same answer computed natively in-process (the floor).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::module_bench::median_ms;
use crate::paths::{target_dir, workspace_root};
use crate::process::{cargo, run, stdout_of, succeeds};
use crate::setup::{ensure_venv, ensure_wasmtime, wasm_toolchain};
use crate::wasm::{build_wasm_with, wasm_output_dir};

/// How long each load runs; short enough for CI-sized runs, long enough for stable medians.
pub(crate) const LOAD_SECONDS: u32 = 5;
const MODELS: [&str; 4] = ["iris", "wine-quality", "mnist", "ag-news"];
const MLSERVER: &[&str] = &["mlserver==1.7.1", "mlserver-sklearn==1.7.1"];

/// One load run's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Load {
    pub(crate) requests_per_second: f64,
    pub(crate) mean_ms: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

/// A server process killed when dropped.
pub(crate) struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn serving_section(machine_cores: usize) -> Result<String> {
    let wasmtime = ensure_wasmtime()?;
    let (bodies, floor) = prepare_serving()?;
    let server = start_model_server(&[])?;
    let concurrency = [1, 2 * machine_cores];
    let mut text = String::new();
    writeln!(
        text,
        "\n### Serving\n\nOne request = one input (each model's example) over the Open Inference Protocol with JSON tensors, `POST /v2/models/<model>/infer`, answered in a fresh pre-initialised instance. Load: `wrk --latency -d {LOAD_SECONDS}s` over loopback, one connection (concurrency 1) and {} connections (2x cores). *Overhead* is the served p50 at concurrency 1 minus the in-process figure; *in the module* is the mean time a run spent in its instance at concurrency 1 (the server's `model_server_run_seconds`: the module parsing the request, the model in wasm, the answer written), and *host* the served mean minus it (HTTP, queueing, instantiation, reset).\n",
        2 * machine_cores
    )?;
    writeln!(
        text,
        "| model | in-process (floor) | `wasmtime run` per request | served p50, c=1 | req/s, c=1 | p99, c=1 | req/s, c={c} | p50, c={c} | p99, c={c} | overhead | in the module, mean | host, mean | p50, c=1, `--no-preinit` |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        c = 2 * machine_cores
    )?;
    let mut rows = Vec::new();
    for model in MODELS {
        let body = bodies.join(format!("{model}.json"));
        let url = format!("{}/v2/models/{model}/infer", server.1);
        let before = run_seconds(&server.1, model)?;
        let one = wrk(&url, &body, concurrency[0])?;
        let after_one = run_seconds(&server.1, model)?;
        let many = wrk(&url, &body, concurrency[1])?;
        let module_ms = 1e3 * (after_one.0 - before.0) / (after_one.1 - before.1).max(1.0);
        let floor_ms = floor[model]
            .as_f64()
            .with_context(|| format!("no in-process figure for {model}"))?
            / 1000.0;
        let module = wasm_output_dir().join(format!("{model}-inference.wasm"));
        let request = std::fs::read_to_string(&body)?;
        let process_ms = median_ms(
            &|| {
                let mut command = Command::new(&wasmtime);
                command.arg("run").arg(&module).arg("--oip");
                command
            },
            &request,
            11,
        )?;
        rows.push(format!(
            "| {model} | {floor_ms:.3} ms | {process_ms:.1} ms | {:.3} ms | {:.0} | {:.2} ms | {:.0} | {:.2} ms | {:.2} ms | {:.3} ms | {module_ms:.3} ms | {:.3} ms |",
            one.p50_ms,
            one.requests_per_second,
            one.p99_ms,
            many.requests_per_second,
            many.p50_ms,
            many.p99_ms,
            one.p50_ms - floor_ms,
            one.mean_ms - module_ms,
        ));
    }
    drop(server);
    // The same requests when every instance decodes its model itself.
    let plain = start_model_server(&["--no-preinit"])?;
    for (row, model) in rows.iter().zip(MODELS) {
        let body = bodies.join(format!("{model}.json"));
        let load = wrk(&format!("{}/v2/models/{model}/infer", plain.1), &body, 1)?;
        writeln!(text, "{row} {:.3} ms |", load.p50_ms)?;
    }
    drop(plain);
    text.push_str(&mlserver_rows(&concurrency)?);
    Ok(text)
}

/// What both serving benchmarks need: wrk, the modules, model-server and its examples built;
/// the request bodies written (by the in-process floor, which also gives its figures).
pub(crate) fn prepare_serving() -> Result<(PathBuf, Value)> {
    ensure_wrk()?;
    build_wasm_with(wasm_toolchain()?, &[])?;
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "model-server",
        "--examples",
        "--bins",
    ]))?;
    let bodies = target_dir().join("bench-serving");
    let floor: Value = serde_json::from_str(
        &stdout_of(Command::new(target_dir().join("release/examples/serving_floor")).arg(&bodies))
            .context("the in-process floor did not run")?,
    )?;
    Ok((bodies, floor))
}

/// model-server on a free loopback port over the built modules; (process, base URL).
pub(crate) fn start_model_server(extra: &[&str]) -> Result<(Process, String)> {
    let mut child = Command::new(target_dir().join("release/model-server"))
        .args(extra)
        .arg("--models")
        .arg(wasm_output_dir())
        .arg("--cache-dir")
        .arg(target_dir().join("model-server-cache"))
        .args(["--listen", "127.0.0.1:0", "--log-format", "text"])
        .env("MODEL_SERVER_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start model-server")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
    let url = line
        .trim()
        .strip_prefix("model-server: listening on ")
        .with_context(|| format!("unexpected first line {line:?}"))?
        .to_owned();
    let process = Process(child);
    wait_ready(&format!("{url}/v2/health/ready"))?;
    Ok((process, url))
}

/// The server's `model_server_run_seconds` sum and count for `model`.
fn run_seconds(base: &str, model: &str) -> Result<(f64, f64)> {
    let text = stdout_of(Command::new("curl").args(["-sf", &format!("{base}/metrics")]))
        .context("cannot read the server's /metrics")?;
    let value = |family: &str| {
        let key = format!("model_server_run_seconds_{family}{{model=\"{model}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&key))
            .map_or(Ok(0.0), |v| v.trim().parse::<f64>())
    };
    Ok((value("sum")?, value("count")?))
}

fn wait_ready(url: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        let ok = Command::new("curl")
            .args(["-sf", "-o", "/dev/null", url])
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("{url} did not become ready")
}

/// One bounded wrk run posting `body` to `url` with `connections` connections.
pub(crate) fn wrk(url: &str, body: &Path, connections: usize) -> Result<Load> {
    let script = target_dir().join("bench-serving/post.lua");
    std::fs::write(
        &script,
        "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
         local f = io.open(os.getenv(\"BENCH_BODY\"), \"rb\")\nwrk.body = f:read(\"*a\")\nf:close()\n",
    )?;
    let threads = connections.min(2);
    let output = Command::new("wrk")
        .args(["--latency", "-d", &format!("{LOAD_SECONDS}s")])
        .args(["-t", &threads.to_string(), "-c", &connections.to_string()])
        .arg("-s")
        .arg(&script)
        .arg(url)
        .env("BENCH_BODY", body)
        .output()
        .context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || text.contains("Non-2xx") {
        bail!("wrk on {url} failed or got errors:\n{text}");
    }
    parse_wrk(&text).with_context(|| format!("unexpected wrk output:\n{text}"))
}

fn parse_wrk(text: &str) -> Option<Load> {
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix))
            .map(str::trim)
    };
    let mean = field("Latency")?.split_whitespace().next()?;
    Some(Load {
        requests_per_second: field("Requests/sec:")?.parse().ok()?,
        mean_ms: duration_ms(mean)?,
        p50_ms: duration_ms(field("50%")?)?,
        p99_ms: duration_ms(field("99%")?)?,
    })
}

/// wrk's `345.00us`, `1.23ms`, `2.00s` in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e3)
    } else {
        return None;
    };
    number.trim().parse::<f64>().ok().map(|n| n * scale)
}

/// MLServer 1.7.1 serving scikit-learn's logistic regression on the same Iris file.
fn mlserver_rows(concurrency: &[usize]) -> Result<String> {
    let python = ensure_venv("python-mlserver", "bench")?;
    if !succeeds(Command::new(&python).args(["-c", "import mlserver, mlserver_sklearn"])) {
        println!("bench: installing {}", MLSERVER.join(" "));
        run(Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(MLSERVER))?;
    }
    let data_dir = std::env::var_os("DATASETS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("datasets"));
    let model_dir = target_dir().join("bench-serving/mlserver-iris");
    let (http, grpc, metrics) = ("18081", "18082", "18083");
    run(Command::new(&python)
        .arg(workspace_root().join("bench/mlserver_iris.py"))
        .arg(data_dir.join("iris/iris.csv"))
        .arg(&model_dir)
        .args([http, grpc, metrics]))?;
    let server = Process(
        Command::new(python.with_file_name("mlserver"))
            .arg("start")
            .arg(&model_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start mlserver")?,
    );
    let base = format!("http://127.0.0.1:{http}");
    wait_ready(&format!("{base}/v2/models/iris-sklearn/ready"))?;
    let body = target_dir().join("bench-serving/mlserver-iris.json");
    std::fs::write(
        &body,
        r#"{"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [[7.0, 3.2, 4.7, 1.4]]}]}"#,
    )?;
    let url = format!("{base}/v2/models/iris-sklearn/infer");
    let loads: Vec<Load> = concurrency
        .iter()
        .map(|&c| wrk(&url, &body, c))
        .collect::<Result<_>>()?;
    drop(server);
    let (one, many) = (loads[0], loads[1]);
    Ok(format!(
        "| MLServer 1.7.1, scikit-learn logistic regression on Iris (`parallel_workers: 0`, debug, metrics and gzip off) | | | {:.3} ms | {:.0} | {:.2} ms | {:.0} | {:.2} ms | {:.2} ms | | | | |\n",
        one.p50_ms,
        one.requests_per_second,
        one.p99_ms,
        many.requests_per_second,
        many.p50_ms,
        many.p99_ms
    ))
}

fn ensure_wrk() -> Result<()> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    crate::setup::ensure_debian_packages(&["wrk"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_figures_in_every_unit() {
        let text = "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   412.00us  100.00us   5.03ms   94.50%\n  Latency Distribution\n     50%  345.00us\n     75%  1.00ms\n     90%  1.10ms\n     99%    1.23ms\n  1000 requests in 5.00s\nRequests/sec:   2876.54\n";
        let load = parse_wrk(text).unwrap();
        assert!((load.mean_ms - 0.412).abs() < 1e-9);
        assert!((load.p50_ms - 0.345).abs() < 1e-9);
        assert!((load.p99_ms - 1.23).abs() < 1e-9);
        assert!((load.requests_per_second - 2876.54).abs() < 1e-9);
        assert_eq!(duration_ms("2.00s"), Some(2000.0));
        assert_eq!(parse_wrk("no figures"), None);
    }
}
