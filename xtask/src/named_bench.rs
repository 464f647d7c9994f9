//! `cargo xtask bench named`: the named-graph modules against the self-contained ones, side by
//! side in one run: per-request latency and throughput under wrk of `<algo>` (the weights and
//! the inference kernels in the module), `<algo>-named` with the graph in the server's process, and
//! `<algo>-named` with the graph in worker processes (`--graph-workers`), for Iris, MNIST (one
//! image, and a batch of 100) and AG News; and the module sizes of both kinds. With
//! `BENCH_GRAPH_ADAPTER` set (`best` on a machine with a GPU; `cpu` is lavapipe), the MNIST
//! cases also with the graph on wgpu (`--graph-device wgpu`, model-server built with
//! `--features wgpu`).

use std::fmt::Write as _;
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::paths::workspace_root;
use crate::process::{cargo, run, stdout_of};
use crate::serve_bench::{LOAD_SECONDS, prepare_serving, start_model_server, wrk};
use crate::wasm::wasm_output_dir;

/// (graph, request body file, what one request is).
const CASES: [(&str, &str, &str); 4] = [
    ("iris", "iris.json", "one flower"),
    ("mnist", "mnist.json", "one image"),
    ("mnist", "mnist-100.json", "100 images"),
    ("ag-news", "ag-news.json", "one article"),
];
/// Worker processes per graph in the isolated configuration.
const WORKERS: usize = 2;

pub(crate) fn named_section(machine_cores: usize) -> Result<String> {
    let (bodies, _floor) = prepare_serving()?;
    write_mnist_batch(&bodies, 100)?;
    let graphs: Vec<String> = ["iris", "mnist", "ag-news"]
        .iter()
        .flat_map(|g| {
            [
                "--graph".to_owned(),
                format!(
                    "{g}={}",
                    workspace_root().join("artifacts").join(g).display()
                ),
            ]
        })
        .collect();
    let graph_args: Vec<&str> = graphs.iter().map(String::as_str).collect();
    let many = 2 * machine_cores;
    let mut text = String::new();
    writeln!(
        text,
        "\n### Named graphs (wasi-nn)\n\nThe same Open Inference Protocol request (JSON tensors) to `<algo>` (self-contained: the weights and the inference kernels inside the module) and to `<algo>-named` (the module asks the host for the graph by name; Burn runs natively), with the graph in the server's process and in {WORKERS} worker processes per graph (`--graph-workers {WORKERS}`, one pipe round trip per batch). `wrk --latency -d {LOAD_SECONDS}s` over loopback at one connection and {many}. The MNIST batch is the example image 100 times, one request.\n"
    )?;
    writeln!(
        text,
        "| model | request | self-contained p50, c=1 | req/s c=1 | req/s c={many} | named in-process p50, c=1 | req/s c=1 | req/s c={many} | named in workers p50, c=1 | req/s c=1 | req/s c={many} |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )?;
    let mut in_process = Vec::new();
    {
        let server = start_model_server(&graph_args)?;
        for (graph, body, _) in CASES {
            let body = bodies.join(body);
            let url = |model: &str| format!("{}/v2/models/{model}/infer", server.1);
            let own = (wrk(&url(graph), &body, 1)?, wrk(&url(graph), &body, many)?);
            let named_model = format!("{graph}-named");
            let named = (
                wrk(&url(&named_model), &body, 1)?,
                wrk(&url(&named_model), &body, many)?,
            );
            in_process.push((own, named));
        }
    }
    let mut with_workers = graph_args.clone();
    let workers = WORKERS.to_string();
    with_workers.extend(["--graph-workers", workers.as_str()]);
    let server = start_model_server(&with_workers)?;
    for ((graph, body, what), (own, named)) in CASES.iter().zip(&in_process) {
        let body = bodies.join(body);
        let url = format!("{}/v2/models/{graph}-named/infer", server.1);
        let isolated = (wrk(&url, &body, 1)?, wrk(&url, &body, many)?);
        writeln!(
            text,
            "| {graph} | {what} | {:.3} ms | {:.0} | {:.0} | {:.3} ms | {:.0} | {:.0} | {:.3} ms | {:.0} | {:.0} |",
            own.0.p50_ms,
            own.0.requests_per_second,
            own.1.requests_per_second,
            named.0.p50_ms,
            named.0.requests_per_second,
            named.1.requests_per_second,
            isolated.0.p50_ms,
            isolated.0.requests_per_second,
            isolated.1.requests_per_second,
        )?;
    }
    drop(server);
    text.push_str(&wgpu_rows(&bodies, many)?);
    text.push_str(&sizes()?);
    Ok(text)
}

/// The MNIST cases with the graph on wgpu, when `BENCH_GRAPH_ADAPTER` names an adapter.
fn wgpu_rows(bodies: &std::path::Path, many: usize) -> Result<String> {
    let adapter = std::env::var("BENCH_GRAPH_ADAPTER").unwrap_or_default();
    if adapter.is_empty() {
        return Ok("\nThe graphs on wgpu: not measured in this run (set `BENCH_GRAPH_ADAPTER=best` on a machine with a GPU).\n".to_owned());
    }
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "model-server",
        "--features",
        "wgpu",
    ]))?;
    let graph = format!(
        "mnist={}",
        workspace_root().join("artifacts/mnist").display()
    );
    let server = start_model_server(&[
        "--graph",
        &graph,
        "--graph-device",
        "wgpu",
        "--graph-adapter",
        &adapter,
    ])?;
    let index: Value = serde_json::from_str(
        &stdout_of(Command::new("curl").args(["-sf", &format!("{}/v2/graphs", server.1)]))
            .context("cannot read the graph index")?,
    )?;
    let device = index["graphs"][0]["device"]
        .as_str()
        .unwrap_or("wgpu")
        .to_owned();
    let mut text = format!(
        "\nThe MNIST graph on wgpu (`--graph-device wgpu --graph-adapter {adapter}`: {device}), in the server's process, same requests:\n\n| request | p50, c=1 | req/s c=1 | req/s c={many} |\n| --- | ---: | ---: | ---: |\n"
    );
    for (graph, body, what) in CASES.iter().filter(|(graph, ..)| *graph == "mnist") {
        let url = format!("{}/v2/models/{graph}-named/infer", server.1);
        let body = bodies.join(body);
        let (one, all) = (wrk(&url, &body, 1)?, wrk(&url, &body, many)?);
        writeln!(
            text,
            "| {what} | {:.3} ms | {:.0} | {:.0} |",
            one.p50_ms, one.requests_per_second, all.requests_per_second
        )?;
    }
    Ok(text)
}

/// The MNIST example request with its image repeated `count` times.
fn write_mnist_batch(bodies: &std::path::Path, count: usize) -> Result<()> {
    let one: Value = serde_json::from_str(&std::fs::read_to_string(bodies.join("mnist.json"))?)?;
    let mut batch = one.clone();
    let input = &one["inputs"][0];
    let data: Vec<Value> = (0..count)
        .flat_map(|_| input["data"].as_array().cloned().unwrap_or_default())
        .collect();
    batch["inputs"][0]["data"] = data.into();
    batch["inputs"][0]["shape"][0] = count.into();
    std::fs::write(
        bodies.join(format!("mnist-{count}.json")),
        serde_json::to_vec(&batch)?,
    )?;
    Ok(())
}

/// Sizes of both kinds of every module.
fn sizes() -> Result<String> {
    let mut text =
        String::from("\n| module | self-contained | named-graph |\n| --- | ---: | ---: |\n");
    for algorithm in ["iris", "wine-quality", "mnist", "ag-news"] {
        let size = |name: &str| -> Result<f64> {
            let path = wasm_output_dir().join(format!("{name}.wasm"));
            Ok(std::fs::metadata(&path)
                .with_context(|| format!("{} is missing", path.display()))?
                .len() as f64
                / 1e3)
        };
        let own = size(&format!("{algorithm}-inference"))?;
        let named = size(&format!("{algorithm}-inference-named"))?;
        writeln!(text, "| {algorithm} | {own:.0} KB | {named:.0} KB |")?;
    }
    Ok(text)
}
