//! The checks every fuzz target shares: what a parser of outside bytes promises, asserted for
//! each input libFuzzer makes up. A broken promise is a panic, which libFuzzer reports with
//! the input that caused it.
//!
//! - [`inference_cli`]: an inference module's whole command line (argument, stdin, a batch,
//!   `--json`, `--oip` with and without binary tensors, any other flags) answers, or fails
//!   with one line saying the input was bad; the model itself never fails.
//! - [`one_line_error`]: a loader's error is one line.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use module_kit::cli::{CliError, InferenceModel, run};
use serde_json::Value;

/// Runs `data` through the inference CLI of `model` the way the first byte chooses, and checks
/// the contract.
pub fn inference_cli<M: InferenceModel>(model: &M, data: &[u8]) {
    let Some((&mode, payload)) = data.split_first() else {
        return;
    };
    let json = mode & 0x10 != 0;
    let (mut args, stdin): (Vec<OsString>, &[u8]) = match mode % 4 {
        // The input as the command-line argument.
        0 => (vec![OsString::from_vec(payload.to_vec())], &[]),
        // The input on stdin.
        1 => (vec!["-".into()], payload),
        // An Open Inference Protocol request on stdin; with 0x20, its first two bytes give the
        // length of a JSON header followed by binary tensors.
        2 => oip_args(mode, payload),
        // Any arguments, NUL-separated (never `--output`: the fuzzer writes no files).
        _ => (raw_args(payload), &[]),
    };
    if json && mode % 4 < 2 {
        args.insert(0, "--json".into());
    }
    let mut stdin_reader = stdin;
    let mut out = Vec::new();
    let result = run::<M>(&args, || Ok(model), &mut stdin_reader, &mut out);
    match result {
        Ok(()) => check_answer(&args, &out),
        Err(CliError::BadInput(message)) => {
            assert!(
                !message.is_empty() && !message.contains('\n'),
                "a bad-input message is one line: {message:?}"
            );
            assert!(out.is_empty(), "bad input, yet something was written");
        }
        Err(CliError::Failure(message)) => {
            panic!("the model failed instead of refusing the input: {message}")
        }
    }
}

fn oip_args(mode: u8, payload: &[u8]) -> (Vec<OsString>, &[u8]) {
    let mut args: Vec<OsString> = vec!["--oip".into()];
    if mode & 0x20 != 0 && payload.len() >= 2 {
        let length = usize::from(u16::from_le_bytes([payload[0], payload[1]]));
        args.push("--inference-header-content-length".into());
        args.push(length.to_string().into());
        return (args, &payload[2..]);
    }
    (args, payload)
}

fn raw_args(payload: &[u8]) -> Vec<OsString> {
    payload
        .split(|&b| b == 0)
        .filter(|arg| !arg.starts_with(b"--output"))
        .map(|arg| OsString::from_vec(arg.to_vec()))
        .collect()
}

/// An answer is text lines (JSON ones under `--json`), or an OIP response: a JSON header line
/// naming its outputs, then any binary tensors.
fn check_answer(args: &[OsString], out: &[u8]) {
    assert!(out.ends_with(b"\n") || is_oip(args), "an answer ends its line");
    if is_oip(args) {
        let end = out.iter().position(|&b| b == b'\n').expect("a header line");
        let header: Value = serde_json::from_slice(&out[..end]).expect("the header is JSON");
        assert!(header["outputs"].is_array(), "the response names its outputs");
        return;
    }
    let text = std::str::from_utf8(out).expect("answers are UTF-8");
    let informational = args
        .iter()
        .any(|a| a == "--help" || a == "-h" || a == "--info" || a == "--oip-metadata");
    if informational {
        return;
    }
    for line in text.lines() {
        assert!(!line.is_empty(), "no empty answer line in {text:?}");
        if args.iter().any(|a| a == "--json") {
            serde_json::from_str::<Value>(line).expect("--json lines are JSON");
        }
    }
}

fn is_oip(args: &[OsString]) -> bool {
    args.iter().any(|a| a == "--oip") && !args.iter().any(|a| a == "--oip-metadata")
}

/// A loader's refusal reads as one line (anyhow's `{:#}` joins the context chain).
pub fn one_line_error(error: &impl std::fmt::Display) {
    let message = error.to_string();
    assert!(
        !message.is_empty() && !message.contains('\n'),
        "an error is one line: {message:?}"
    );
}

/// Loads an algorithm's committed artifacts from `artifacts/<algorithm>/` the way its module
/// embeds them.
#[macro_export]
macro_rules! committed_model {
    ($predictor:ty, $algorithm:literal $(, $extra:literal)* $(,)?) => {{
        static MODEL: ::std::sync::LazyLock<$predictor> = ::std::sync::LazyLock::new(|| {
            ::module_kit::load_embedded!($predictor, $algorithm $(, $extra)*)
                .expect("the committed model loads")
        });
        &*MODEL
    }};
}
