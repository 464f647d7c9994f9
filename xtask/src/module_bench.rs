//! The modules' part of `cargo xtask bench`: for every inference module, its size against the
//! data it embeds, and the wall time of one call and of a batch natively and under every
//! engine (wasmtime compiling at every run, with its cache, precompiled; wasmi; Node.js), so
//! start-up and per-item cost can be told apart.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::paths::{target_dir, workspace_root};
use crate::process::{cargo, run, stdout_of};
use crate::setup::{ensure_node, ensure_wasmi, ensure_wasmtime};
use crate::wasm::{build_wasm, precompile_module};

/// Timed runs of each call; the median is reported.
const RUNS: usize = 7;

/// A module, the files it embeds, and the batch size its per-item cost is measured on.
struct ModuleSpec {
    algorithm: &'static str,
    embedded: &'static [&'static str],
    batch: usize,
}

const EMBEDDED: [&str; 3] = ["model.bpk", "config.json", "metrics.json"];

const MODULES: [ModuleSpec; 4] = [
    ModuleSpec {
        algorithm: "iris",
        embedded: &EMBEDDED,
        batch: 1000,
    },
    ModuleSpec {
        algorithm: "wine-quality",
        embedded: &EMBEDDED,
        batch: 1000,
    },
    ModuleSpec {
        algorithm: "mnist",
        embedded: &EMBEDDED,
        batch: 1000,
    },
    ModuleSpec {
        algorithm: "ag-news",
        embedded: &["model.bpk", "config.json", "metrics.json", "vocab.json"],
        batch: 1000,
    },
];

/// How one call is started: natively or under an engine.
struct Runner {
    label: &'static str,
    command: Box<dyn Fn() -> Command>,
}

/// The generated Markdown section for every module.
pub(crate) fn modules_section() -> Result<String> {
    let wasmtime = ensure_wasmtime()?;
    let wasmi = ensure_wasmi()?;
    let node = ensure_node()?;
    let crates: Vec<String> = MODULES
        .iter()
        .map(|m| format!("{}-inference", m.algorithm))
        .collect();
    let modules = build_wasm(&crates)?;
    let mut build_native = cargo();
    build_native.args(["build", "--release"]);
    for name in &crates {
        build_native.args(["-p", name]);
    }
    run(&mut build_native)?;

    let mut sizes = String::from(
        "| module | size | embedded data | code and the rest | precompiled `.cwasm` |\n\
         | --- | ---: | ---: | ---: | ---: |\n",
    );
    let mut timings = String::new();
    for (spec, module) in MODULES.iter().zip(&modules) {
        let name = format!("{}-inference", spec.algorithm);
        println!("bench: {name}");
        let cwasm = precompile_module(&wasmtime, module)?;
        let size = megabytes(module)?;
        let data = embedded_megabytes(spec)?;
        sizes += &format!(
            "| `{name}.wasm` | {size:.2} MB | {data:.2} MB | {:.2} MB | {:.2} MB |\n",
            size - data,
            megabytes(&cwasm)?
        );
        let native = target_dir().join("release").join(&name);
        let example = module_example(&native)?;
        let runners = runners(&native, module, &cwasm, &wasmtime, &wasmi, &node);
        timings += &timing_table(&name, &example, spec.batch, &runners)?;
    }
    Ok(format!(
        "### Inference modules\n\n\
         Sizes of the modules `cargo xtask wasm` builds (`wasm` profile: LTO, one codegen unit, \
         stripped, SIMD128). \"Embedded data\" is the bytes of the artifacts each one embeds \
         (`model.bpk`, `config.json`, `metrics.json`, AG News' `vocab.json`).\n\n\
         {sizes}\n\
         Wall time of one process answering from stdin (median of {RUNS} runs): start-up, \
         parsing, the model and the answer. \"Per extra item\" is (batch - one) / (N - 1): the \
         cost of each input beyond the first. wasmtime *cold* compiles the module at every run \
         (`-C cache=n`), *cached* reuses its compilation cache, *precompiled* runs the `.cwasm` \
         of `cargo xtask wasm --precompile` (`--allow-precompiled`).\n\n\
         {timings}"
    ))
}

fn runners(
    native: &Path,
    module: &Path,
    cwasm: &Path,
    wasmtime: &Path,
    wasmi: &Path,
    node: &Path,
) -> Vec<Runner> {
    let with = |program: &Path, args: Vec<String>| -> Box<dyn Fn() -> Command> {
        let program = program.to_path_buf();
        Box::new(move || {
            let mut command = Command::new(&program);
            command.args(&args);
            command
        })
    };
    let path = |p: &Path| p.display().to_string();
    let runner = workspace_root().join("runners/node-wasi.mjs");
    vec![
        Runner {
            label: "native",
            command: with(native, vec![]),
        },
        Runner {
            label: "wasmtime, cold",
            command: with(
                wasmtime,
                vec!["run".into(), "-C".into(), "cache=n".into(), path(module)],
            ),
        },
        Runner {
            label: "wasmtime, cached",
            command: with(wasmtime, vec!["run".into(), path(module)]),
        },
        Runner {
            label: "wasmtime, precompiled",
            command: with(
                wasmtime,
                vec!["run".into(), "--allow-precompiled".into(), path(cwasm)],
            ),
        },
        Runner {
            label: "wasmi (interpreter)",
            command: with(wasmi, vec![path(module)]),
        },
        Runner {
            label: "Node.js WASI (V8)",
            command: with(
                node,
                vec!["--no-warnings".into(), path(&runner), path(module)],
            ),
        },
    ]
}

fn timing_table(name: &str, example: &str, batch: usize, runners: &[Runner]) -> Result<String> {
    let many = format!("[{}]", vec![example; batch].join(","));
    let mut rows = String::new();
    let mut per_item = Vec::new();
    for runner in runners {
        // One unmeasured run fills caches (wasmtime's compilation cache, the page cache).
        median_ms(&*runner.command, example, 1)?;
        let one = median_ms(&*runner.command, example, RUNS)?;
        let all = median_ms(&*runner.command, &many, RUNS)?;
        let extra = (all - one) / (batch - 1) as f64;
        rows += &format!(
            "| {} | {one:.1} ms | {all:.1} ms | {extra:.3} ms |\n",
            runner.label
        );
        per_item.push((runner.label, extra));
    }
    Ok(format!(
        "#### {name}\n\n| | one input | batch of {batch} | per extra item |\n\
         | --- | ---: | ---: | ---: |\n{rows}\n{}",
        wasm_to_native(&per_item)
    ))
}

/// The per-item cost of the precompiled module under wasmtime against the native build's, as
/// a sentence (empty when either is missing or the native cost is within noise of zero).
fn wasm_to_native(per_item: &[(&str, f64)]) -> String {
    let cost = |label: &str| {
        per_item
            .iter()
            .find(|(l, _)| *l == label)
            .map(|&(_, cost)| cost)
    };
    match (cost("wasmtime, precompiled"), cost("native")) {
        (Some(wasm), Some(native)) if native > 0.01 => format!(
            "Per extra item, wasmtime (precompiled) / native: **{:.2}x**.\n\n",
            wasm / native
        ),
        _ => String::new(),
    }
}

/// The example input a module's `--help` shows.
fn module_example(native: &Path) -> Result<String> {
    let help = stdout_of(Command::new(native).arg("--help"))
        .with_context(|| format!("{} --help", native.display()))?;
    let mut lines = help.lines();
    lines
        .by_ref()
        .find(|line| line.trim() == "Example:")
        .context("no Example: in --help")?;
    let line = lines.next().context("no example line in --help")?;
    let start = line.find('\'').context("example not quoted")? + 1;
    let end = line.rfind('\'').context("example not quoted")?;
    Ok(line[start..end].to_owned())
}

fn megabytes(path: &Path) -> Result<f64> {
    let bytes = fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    Ok(bytes as f64 / 1e6)
}

fn embedded_megabytes(spec: &ModuleSpec) -> Result<f64> {
    let dir: PathBuf = workspace_root().join("artifacts").join(spec.algorithm);
    spec.embedded
        .iter()
        .map(|file| megabytes(&dir.join(file)))
        .sum()
}

/// Median wall time of `command - < stdin` over `runs` runs; every run must succeed.
pub(crate) fn median_ms(command: &dyn Fn() -> Command, stdin: &str, runs: usize) -> Result<f64> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = command()
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        if let Some(mut pipe) = child.stdin.take() {
            std::io::Write::write_all(&mut pipe, stdin.as_bytes())?;
        }
        let status = child.wait()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if !status.success() {
            bail!("{:?} failed ({status})", command());
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[runs / 2])
}
