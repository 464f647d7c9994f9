//! Generated hostile inputs (`test_kit::malformed`) through every inference module as this
//! server runs it, a fresh pre-initialised instance per input under the default limits, each
//! compared with the native build of the same command line on the same input: no trap, no
//! limit hit, no exit code but 0 and 2; every refusal one stderr line, the native build's very
//! message; every answer the native build's (probabilities within the tolerance).
//!
//! `MALFORMED_INPUTS` cases per module (default 100,000).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Instant;

use ag_news::inference::AgNewsPredictor;
use bytes::Bytes;
use clap::Parser;
use iris::inference::IrisPredictor;
use mnist::inference::MnistPredictor;
use module_kit::cli::{CliError, InferenceModel, run};
use test_kit::malformed::{Case, cases};
use test_kit::process::{same_answer, wasm_module};
use wine_quality::inference::WinePredictor;

use crate::compile::compile;
use crate::options::{Limits, Options, Profiler};
use crate::sandbox::{Outcome, Sandbox};

const DEFAULT_CASES: usize = 100_000;
const THREADS: u64 = 2;

/// What the cases of one kind came to.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    answered: usize,
    refused: usize,
}

/// A case whose two builds disagreed, or whose wasm run broke the contract.
#[derive(Debug)]
struct Broken {
    kind: &'static str,
    args: Vec<String>,
    stdin: String,
    problem: String,
}

fn case_count() -> usize {
    std::env::var("MALFORMED_INPUTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn check_module<M: InferenceModel + Sync>(crate_name: &str, model: &M) {
    let count = case_count();
    let options = Options::parse_from(["model-server", "--models", "."]);
    let limits = Limits::from_options(&options.limits, 2);
    let sandbox = Sandbox::new(4, 16 << 20, Profiler::None).unwrap();
    let compiled = compile(&sandbox, &wasm_module(crate_name), None, true, &limits).unwrap();
    assert!(compiled.preinitialized, "served from the snapshot");
    let pre = sandbox.prepare(&compiled.module).unwrap();
    let started = Instant::now();
    let per_thread = count.div_ceil(THREADS as usize);
    let results: Vec<(BTreeMap<&'static str, Tally>, Vec<Broken>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (sandbox, pre, limits) = (&sandbox, &pre, &limits);
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    let mut tallies = BTreeMap::new();
                    let mut broken = Vec::new();
                    for case in cases::<M>(per_thread, 0x5eed + thread) {
                        let (wasm, _) = runtime.block_on(async {
                            let mut argv = vec![M::NAME.to_owned()];
                            argv.extend(case.args.iter().cloned());
                            let stdin = Bytes::from(case.stdin.clone());
                            sandbox
                                .store(&argv, stdin, limits)
                                .unwrap()
                                .call(pre, "_start")
                                .await
                        });
                        let tally: &mut Tally = tallies.entry(case.kind).or_default();
                        match compare::<M>(model, &case, wasm) {
                            Ok(true) => tally.answered += 1,
                            Ok(false) => tally.refused += 1,
                            Err(problem) => broken.push(Broken {
                                kind: case.kind,
                                args: case.args.iter().map(|a| shorten(a)).collect(),
                                stdin: shorten(&String::from_utf8_lossy(&case.stdin)),
                                problem,
                            }),
                        }
                    }
                    (tallies, broken)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut tallies: BTreeMap<&'static str, Tally> = BTreeMap::new();
    let mut broken = Vec::new();
    for (thread_tallies, thread_broken) in results {
        for (kind, tally) in thread_tallies {
            let total = tallies.entry(kind).or_default();
            total.answered += tally.answered;
            total.refused += tally.refused;
        }
        broken.extend(thread_broken);
    }
    let (answered, refused) = tallies
        .values()
        .fold((0, 0), |(a, r), t| (a + t.answered, r + t.refused));
    println!(
        "malformed inputs: {crate_name}: {} cases in {:.1} s: {answered} answered as natively, {refused} refused with one line, {} broken",
        answered + refused + broken.len(),
        started.elapsed().as_secs_f64(),
        broken.len()
    );
    for (kind, tally) in &tallies {
        println!(
            "malformed inputs: {crate_name}:   {kind}: {} answered, {} refused",
            tally.answered, tally.refused
        );
    }
    let first: Vec<String> = broken
        .iter()
        .take(5)
        .map(|b| {
            format!(
                "{} {:?}, stdin {:?}: {}",
                b.kind, b.args, b.stdin, b.problem
            )
        })
        .collect();
    assert!(
        broken.is_empty(),
        "{} of {count} cases broke the contract; the first ones:\n{}",
        broken.len(),
        first.join("\n")
    );
}

/// `Ok(true)`: both answered alike; `Ok(false)`: both refused with the same one line.
fn compare<M: InferenceModel>(model: &M, case: &Case, wasm: Outcome) -> Result<bool, String> {
    let args: Vec<OsString> = case.args.iter().map(OsString::from).collect();
    let mut native_out = Vec::new();
    let native = run::<M>(&args, || Ok(model), &mut &case.stdin[..], &mut native_out);
    let (code, stdout, stderr) = match wasm {
        Outcome::Exited {
            code,
            stdout,
            stderr,
        } => (code, stdout, stderr),
        Outcome::Stopped(stopped) => return Err(format!("the wasm run {stopped}")),
    };
    let stderr = String::from_utf8_lossy(&stderr);
    match (code, native) {
        (0, Ok(())) => {
            let (wasm_text, native_text) = (
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&native_out),
            );
            let json = case.args.iter().any(|a| a == "--json" || a == "--oip");
            let same = wasm_text.lines().count() == native_text.lines().count()
                && wasm_text
                    .lines()
                    .zip(native_text.lines())
                    .all(|(w, n)| same_answer(json, w, n));
            if !same {
                return Err(format!(
                    "answers differ:\n wasm:   {}\n native: {}",
                    shorten(&wasm_text),
                    shorten(&native_text)
                ));
            }
            Ok(true)
        }
        (2, Err(CliError::BadInput(message))) => {
            let expected = format!("{}: {message}\n", M::NAME);
            if stderr != expected {
                return Err(format!(
                    "refusals differ:\n wasm:   {stderr:?}\n native: {expected:?}"
                ));
            }
            if !stdout.is_empty() {
                return Err("refused, yet wrote to stdout".into());
            }
            Ok(false)
        }
        (code, native) => Err(format!(
            "wasm exited {code} ({}), native gave {native:?}",
            shorten(&stderr)
        )),
    }
}

fn shorten(text: &str) -> String {
    if text.len() <= 300 {
        return text.to_owned();
    }
    let cut = (0..=300)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}... ({} bytes)", &text[..cut], text.len())
}

/// One test per inference module: `test: predictor, algorithm (, files embedded beside it)`.
macro_rules! module_tests {
    ($($test:ident: $predictor:ty, $algorithm:literal $(, $extra:literal)*;)+) => {$(
        #[test]
        fn $test() {
            let model = module_kit::load_embedded!($predictor, $algorithm $(, $extra)*).unwrap();
            check_module::<$predictor>(concat!($algorithm, "-inference"), &model);
        }
    )+};
}

module_tests! {
    iris_refuses_or_answers_as_natively: IrisPredictor, "iris";
    wine_quality_refuses_or_answers_as_natively: WinePredictor, "wine-quality";
    mnist_refuses_or_answers_as_natively: MnistPredictor, "mnist";
    ag_news_refuses_or_answers_as_natively: AgNewsPredictor, "ag-news", "vocab.json";
}
