//! The command-line contract shared by every inference module (natively and under wasmtime):
//!
//! ```text
//! <module> [--json] '<JSON object or array>'   one answer line per input
//! <module> [--json] -                          the same JSON read from stdin
//! <module> --info                              model sha256, metrics, input schema
//! <module> --help
//! <module> --output FILE ...                    write what would be printed to FILE
//! <module> --oip [--inference-header-content-length N] < request
//!                                              an Open Inference Protocol request on stdin,
//!                                              its response on stdout (see [`crate::oip`])
//! <module> --oip-metadata                      the model's OIP metadata
//! ```
//!
//! `--output` is for hosts where only files reach the user (Cocos AI runs a module with its
//! results directory as the guest's `.`): the answers are written to a temporary file beside
//! FILE and renamed into place, so FILE is whole or absent. Writing there is the module's only
//! use of the filesystem; it reads no file.
//!
//! Bad input never panics (a panic would surface as a wasm trap): it is reported as one line on
//! stderr that names the problem and shows a valid example, with exit code 2.

use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::artifacts::{Artifacts, LoadError};
use crate::graph::GraphError;
use crate::oip::{self, OutputRow, Signature};

/// Exit code for a bad command line or bad input: the caller can fix it.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for a failure that is not the caller's (an unreadable embedded model, a closed stdout).
pub const EXIT_FAILURE: u8 = 1;

/// One input the model answers for, as it arrives in JSON.
pub trait ModelInput: DeserializeOwned {
    /// Checks what deserialisation did not (finite numbers, physical ranges).
    /// The error is a short phrase naming the field and the allowed values.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// One answer, printed as a plain line or, with `--json`, as one JSON object per line.
pub trait Prediction {
    fn to_line(&self) -> String;
    fn to_json(&self) -> Value;
    /// The answer's share of each output tensor of [`InferenceModel::signature`], in order.
    fn output_row(&self) -> Vec<OutputRow>;
}

/// What an inference module plugs into [`main`]: an algorithm's predictor.
pub trait InferenceModel: Sized {
    type Input: ModelInput;
    type Output: Prediction;

    /// The binary's name, used in messages (`iris-inference`).
    const NAME: &'static str;
    /// One line saying what the module answers.
    const ABOUT: &'static str;
    /// A valid single input, shown in help and in every input error.
    const EXAMPLE: &'static str;
    /// The example quoted in input errors: [`Self::EXAMPLE`] unless that is too long for a
    /// one-line message, when a short description that points to `--help` reads better.
    const ERROR_EXAMPLE: &'static str = Self::EXAMPLE;
    /// What `--json` prints, for the help text.
    const JSON_OUTPUT: &'static str;
    /// Inputs larger than this are refused before parsing.
    const MAX_INPUT_BYTES: usize = 1 << 20;

    /// Whether a JSON value is a batch of inputs rather than one input. Most inputs are objects,
    /// so any array is a batch; models whose single input is an array override this.
    fn is_batch(value: &Value) -> bool {
        value.is_array()
    }

    /// The model's tensors under the Open Inference Protocol (`--oip`, `--oip-metadata`).
    fn signature() -> Signature;

    /// Loads the model from its trained files.
    /// Modules load from their embedded (static) files, which the network may keep borrowing.
    fn load(artifacts: &Artifacts<'static>) -> Result<Self, LoadError>;

    /// `--info`: the embedded model's identity, metrics and input schema.
    fn info(&self) -> Value;

    /// Answers for validated inputs: only the forward pass can fail.
    fn predict(&self, inputs: &[Self::Input]) -> Result<Vec<Self::Output>, GraphError>;
}

/// Why a run failed; the message is always a single line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    Failure(String),
}

impl CliError {
    /// The message without the example [`bad_input`] appends.
    fn problem(&self) -> &str {
        match self {
            CliError::BadInput(message) | CliError::Failure(message) => {
                message.split(". Example: ").next().unwrap_or(message)
            }
        }
    }

    fn exit_code(&self) -> u8 {
        match self {
            CliError::BadInput(_) => EXIT_BAD_INPUT,
            CliError::Failure(_) => EXIT_FAILURE,
        }
    }
}

/// What the command line asks for, and where the result goes.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    action: Action,
    /// `--output FILE`: a file instead of stdout.
    output: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Action {
    Help,
    Info,
    Predict {
        source: InputSource,
        json: bool,
    },
    /// `--oip`: an inference request on stdin.
    Oip {
        header_length: Option<usize>,
    },
    /// `--oip-metadata`.
    OipMetadata,
}

#[derive(Debug, PartialEq, Eq)]
enum InputSource {
    Argument(String),
    Stdin,
}

/// The whole program of an inference module: parses argv, takes the model from `load` (which
/// loads it, or hands over the one [`inference_module!`](crate::inference_module) preloaded),
/// prints the answers.
pub fn main<'m, M: InferenceModel + 'm>(load: impl FnOnce() -> Result<&'m M, String>) -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match run::<M>(&args, load, &mut stdin.lock(), &mut stdout.lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}: {}", M::NAME, error);
            ExitCode::from(error.exit_code())
        }
    }
}

/// Answers the model's example once and leaves heap room, so a snapshot taken after it holds
/// a memory already as large as a request needs: a request that grows memory costs the host a
/// page-protection change, a TLB flush on every core, when its instance is reset.
pub fn warm_up<M: InferenceModel>(model: &M) {
    /// Room beyond the example's peak, for requests a little larger than the example.
    const HEADROOM_BYTES: usize = 1 << 20;
    if let Ok(inputs) = parse_inputs::<M>(M::EXAMPLE) {
        let _ = model
            .predict(&inputs)
            .map(|answers| render_answers(&answers, true));
    }
    drop(std::hint::black_box(Vec::<u8>::with_capacity(
        HEADROOM_BYTES,
    )));
}

/// The model's short name (`iris` for `iris-inference`), as `--oip` answers under.
pub fn model_name<M: InferenceModel>() -> &'static str {
    M::NAME.strip_suffix("-inference").unwrap_or(M::NAME)
}

/// [`main`] without the process: testable with in-memory stdin and stdout.
pub fn run<'m, M: InferenceModel + 'm>(
    args: &[OsString],
    load: impl FnOnce() -> Result<&'m M, String>,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
) -> Result<(), CliError> {
    let request = parse_args::<M>(args)?;
    let output = match request.action {
        Action::Help => usage::<M>().into_bytes(),
        Action::Info => {
            let model = load().map_err(CliError::Failure)?;
            format!("{}\n", pretty_json(&model.info())).into_bytes()
        }
        Action::Predict { source, json } => {
            let text = read_source::<M>(source, stdin)?;
            let inputs = parse_inputs::<M>(&text)?;
            let model = load().map_err(CliError::Failure)?;
            let answers = model
                .predict(&inputs)
                .map_err(|e| CliError::Failure(e.to_string()))?;
            render_answers(&answers, json).into_bytes()
        }
        Action::OipMetadata => {
            format!("{}\n", oip::metadata(model_name::<M>(), &M::signature())).into_bytes()
        }
        Action::Oip { header_length } => answer_oip::<M>(header_length, load, stdin)?,
    };
    match request.output {
        Some(file) => write_output_file(Path::new(&file), &output),
        None => stdout
            .write_all(&output)
            .and_then(|()| stdout.flush())
            .map_err(|e| CliError::Failure(format!("cannot write the answer to stdout: {e}"))),
    }
}

/// `--oip`: reads the request body from stdin, answers it through the same parsing and
/// validation as a command-line input, and returns the response body.
fn answer_oip<'m, M: InferenceModel + 'm>(
    header_length: Option<usize>,
    load: impl FnOnce() -> Result<&'m M, String>,
    stdin: &mut dyn Read,
) -> Result<Vec<u8>, CliError> {
    let limit = oip_max_bytes::<M>();
    let mut body = Vec::new();
    stdin
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| CliError::Failure(format!("cannot read stdin: {e}")))?;
    if body.len() > limit {
        return Err(oip_bad_input::<M>(&format!(
            "the request is larger than {limit} bytes; split it into several requests"
        )));
    }
    let signature = M::signature();
    let request =
        oip::read_request(&body, header_length, &signature).map_err(|e| oip_bad_input::<M>(&e))?;
    let inputs = request
        .inputs
        .iter()
        .enumerate()
        .map(|(row, value)| {
            parse_one::<M>(value.clone(), None).map_err(|e| {
                oip_bad_input::<M>(&format!("row {row} of the request: {}", e.problem()))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let model = load().map_err(CliError::Failure)?;
    let answers = model
        .predict(&inputs)
        .map_err(|e| CliError::Failure(e.to_string()))?;
    let rows: Vec<Vec<OutputRow>> = answers.iter().map(Prediction::output_row).collect();
    Ok(oip::write_response(
        model_name::<M>(),
        &request,
        &signature,
        &rows,
    ))
}

/// A request body may be this large: the binary encoding is compact, but JSON tensors spell
/// every number out, so four times the command line's limit.
fn oip_max_bytes<M: InferenceModel>() -> usize {
    M::MAX_INPUT_BYTES.saturating_mul(4)
}

fn oip_bad_input<M: InferenceModel>(problem: &str) -> CliError {
    let problem = one_short_line(problem);
    CliError::BadInput(format!(
        "{problem} (the model's inputs: {} --oip-metadata, or GET /v2/models/{})",
        M::NAME,
        model_name::<M>()
    ))
}

/// Writes `text` to `path` whole or not at all: into a temporary file beside it, then renamed
/// over it; on any failure the temporary file is removed.
fn write_output_file(path: &Path, text: &[u8]) -> Result<(), CliError> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let partial = path.with_file_name(format!(".{name}.partial"));
    let written = fs::write(&partial, text).and_then(|()| fs::rename(&partial, path));
    let Err(error) = written else {
        return Ok(());
    };
    // Best effort: the write may have failed before the file existed.
    let _ = fs::remove_file(&partial);
    Err(CliError::Failure(output_error(path, &error)))
}

/// Why `--output` could not write, and what to do about it.
fn output_error(path: &Path, error: &std::io::Error) -> String {
    let shown = path.display();
    // Without a granted directory, WASI's libc finds no preopen to resolve the path through.
    let no_directory = cfg!(target_os = "wasi")
        && (error.kind() == std::io::ErrorKind::NotFound
            || error.to_string().contains("pre-opened"));
    if no_directory {
        return format!(
            "cannot write {shown}: the runtime granted this module no directory to write to; \
             grant one as the module's working directory (wasmtime run --dir HOST_DIR::. or \
             wasmedge --dir .:HOST_DIR)"
        );
    }
    let error = error.to_string().replace('\n', " ");
    format!("cannot write {shown}: {error}; give --output a file in a writable directory")
}

fn parse_args<M: InferenceModel>(args: &[OsString]) -> Result<Request, CliError> {
    let mut json = false;
    let mut info = false;
    let mut oip = false;
    let mut oip_metadata = false;
    let mut header_length: Option<usize> = None;
    let mut output: Option<String> = None;
    let mut positional: Option<String> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let Some(arg) = arg.to_str() else {
            return Err(bad_input::<M>("an argument is not valid UTF-8"));
        };
        match arg {
            "-h" | "--help" => {
                return Ok(Request {
                    action: Action::Help,
                    output: None,
                });
            }
            "--info" => info = true,
            "--json" => json = true,
            "--oip" => oip = true,
            "--oip-metadata" => oip_metadata = true,
            "--inference-header-content-length" => {
                let length = args.next().and_then(|n| n.to_str()?.parse().ok());
                header_length = Some(length.ok_or_else(|| {
                    bad_input::<M>("--inference-header-content-length needs a byte count")
                })?);
            }
            "--output" => {
                let file = args.next().and_then(|f| f.to_str());
                output = Some(output_file::<M>(file, output.is_some())?);
            }
            flag if flag.starts_with("--output=") => {
                let file = flag.strip_prefix("--output=");
                output = Some(output_file::<M>(file, output.is_some())?);
            }
            flag if flag.starts_with("--") => {
                return Err(bad_input::<M>(&format!(
                    "unknown option '{flag}' (known: --json, --info, --output, --oip, --oip-metadata, --help)"
                )));
            }
            value if positional.is_none() => positional = Some(value.to_owned()),
            _ => {
                return Err(bad_input::<M>(
                    "more than one input argument; pass several inputs as one JSON array",
                ));
            }
        }
    }
    let action = if oip_metadata {
        Action::OipMetadata
    } else if oip {
        if positional.as_deref().is_some_and(|p| p != "-") || json || info {
            return Err(bad_input::<M>(
                "--oip reads its request from stdin (-) and takes no input argument, --json or --info",
            ));
        }
        Action::Oip { header_length }
    } else if header_length.is_some() {
        return Err(bad_input::<M>(
            "--inference-header-content-length belongs to --oip",
        ));
    } else if info {
        Action::Info
    } else {
        let source = match positional.as_deref() {
            None => return Err(bad_input::<M>("no input given")),
            Some("-") => InputSource::Stdin,
            Some(text) => InputSource::Argument(text.to_owned()),
        };
        Action::Predict { source, json }
    };
    Ok(Request { action, output })
}

/// The file `--output` names: a UTF-8 path to a file, given once.
fn output_file<M: InferenceModel>(file: Option<&str>, repeated: bool) -> Result<String, CliError> {
    if repeated {
        return Err(bad_input::<M>("--output given twice; give one file"));
    }
    let Some(file) = file.filter(|f| !f.is_empty() && !f.starts_with("--")) else {
        return Err(bad_input::<M>(
            "--output needs a file name (--output results.txt)",
        ));
    };
    if file.ends_with('/') || matches!(file, "." | "..") {
        return Err(bad_input::<M>(&format!(
            "--output '{file}' names a directory; give a file name (--output results.txt)"
        )));
    }
    Ok(file.to_owned())
}

fn read_source<M: InferenceModel>(
    source: InputSource,
    stdin: &mut dyn Read,
) -> Result<String, CliError> {
    let text = match source {
        InputSource::Argument(text) => text,
        InputSource::Stdin => {
            let mut bytes = Vec::new();
            stdin
                .take(M::MAX_INPUT_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| CliError::Failure(format!("cannot read stdin: {e}")))?;
            String::from_utf8(bytes).map_err(|_| bad_input::<M>("stdin is not valid UTF-8"))?
        }
    };
    if text.len() > M::MAX_INPUT_BYTES {
        return Err(bad_input::<M>(&format!(
            "input is larger than {} bytes; split it into several calls",
            M::MAX_INPUT_BYTES
        )));
    }
    Ok(text)
}

/// Parses one input or a batch, validating each; errors name the item of a batch.
fn parse_inputs<M: InferenceModel>(text: &str) -> Result<Vec<M::Input>, CliError> {
    if text.trim().is_empty() {
        return Err(bad_input::<M>("the input is empty"));
    }
    let value = crate::strict_json::from_str(text).map_err(|e| {
        let hint = if ["NaN", "Infinity"].iter().any(|w| text.contains(w)) {
            "; JSON has no NaN or Infinity, give finite numbers"
        } else {
            ""
        };
        bad_input::<M>(&format!("malformed JSON ({e}){hint}"))
    })?;
    if !M::is_batch(&value) {
        return Ok(vec![parse_one::<M>(value, None)?]);
    }
    let Value::Array(items) = value else {
        return Err(bad_input::<M>("a batch must be a JSON array"));
    };
    if items.is_empty() {
        return Err(bad_input::<M>("empty array; give at least one input"));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| parse_one::<M>(item, Some(index)))
        .collect()
}

fn parse_one<M: InferenceModel>(value: Value, index: Option<usize>) -> Result<M::Input, CliError> {
    let place = index.map_or(String::new(), |i| format!("item {i} of the array: "));
    let input: M::Input =
        serde_json::from_value(value).map_err(|e| bad_input::<M>(&format!("{place}{e}")))?;
    input
        .validate()
        .map_err(|e| bad_input::<M>(&format!("{place}{e}")))?;
    Ok(input)
}

fn render_answers<P: Prediction>(answers: &[P], json: bool) -> String {
    answers
        .iter()
        .map(|answer| {
            if json {
                answer.to_json().to_string()
            } else {
                answer.to_line()
            }
        })
        .fold(String::new(), |mut out, line| {
            out.push_str(&line);
            out.push('\n');
            out
        })
}

fn bad_input<M: InferenceModel>(problem: &str) -> CliError {
    let problem = one_short_line(problem);
    CliError::BadInput(format!(
        "{problem}. Example: {} '{}' (see --help)",
        M::NAME,
        M::ERROR_EXAMPLE
    ))
}

/// Longest problem a message repeats: serde's messages quote the offending value, which may be
/// a megabyte of the input.
const MAX_PROBLEM_CHARS: usize = 300;

/// `problem` on one line, cut to [`MAX_PROBLEM_CHARS`] characters.
fn one_short_line(problem: &str) -> String {
    let line = problem.replace(['\n', '\r'], " ");
    match line.char_indices().nth(MAX_PROBLEM_CHARS) {
        Some((cut, _)) => format!("{}... ({} bytes)", &line[..cut], line.len()),
        None => line,
    }
}

fn pretty_json(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn usage<M: InferenceModel>() -> String {
    format!(
        "{name}: {about}

Usage: {name} [--json] [--output FILE] <INPUT>
       {name} --info [--output FILE]
       {name} --oip [--inference-header-content-length N] < REQUEST
       {name} --oip-metadata
       {name} --help

INPUT is one JSON input, a JSON array of inputs (one answer line each),
or - to read the JSON from stdin (at most {max} bytes).

Example:
  {name} '{example}'

Options:
  --json      print {json_output} per input
  --info      print the embedded model's sha256, its metrics and the input schema
  --output FILE
              write to FILE instead of stdout, whole or not at all (under wasm,
              FILE is in the directory the runtime granted, e.g. Cocos AI's results/)
  --oip       answer an Open Inference Protocol (KServe v2) inference request
              read from stdin: JSON tensors, or the binary tensor extension with
              --inference-header-content-length N (the JSON header's length);
              the response is one JSON line followed by any binary outputs
  --oip-metadata
              print the model's OIP metadata (its input and output tensors)
  -h, --help  print this help

Exit codes: 0 answered, 2 bad input or usage (one line on stderr), 1 other failure.
",
        name = M::NAME,
        about = M::ABOUT,
        example = M::EXAMPLE,
        json_output = M::JSON_OUTPUT,
        max = M::MAX_INPUT_BYTES,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::require_range;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Point {
        x: f32,
    }

    impl ModelInput for Point {
        fn validate(&self) -> Result<(), String> {
            require_range("x", self.x, 0.0, 10.0)
        }
    }

    struct Doubler;

    struct Doubled(f32);

    impl Prediction for Doubled {
        fn to_line(&self) -> String {
            format!("{}", self.0)
        }
        fn to_json(&self) -> Value {
            serde_json::json!({ "value": self.0 })
        }
        fn output_row(&self) -> Vec<OutputRow> {
            vec![OutputRow::Fp32(vec![self.0])]
        }
    }

    impl InferenceModel for Doubler {
        type Input = Point;
        type Output = Doubled;
        const NAME: &'static str = "doubler";
        const ABOUT: &'static str = "doubles x";
        const EXAMPLE: &'static str = r#"{"x": 1.5}"#;
        const JSON_OUTPUT: &'static str = r#"{"value": ...}"#;
        const MAX_INPUT_BYTES: usize = 64;

        fn signature() -> Signature {
            Signature {
                inputs: oip::Inputs::Fields(vec![oip::TensorSpec::per_input("x", "FP32")]),
                outputs: vec![oip::TensorSpec::per_input("value", "FP32")],
            }
        }

        fn load(_: &Artifacts<'static>) -> Result<Self, LoadError> {
            Ok(Doubler)
        }

        fn info(&self) -> Value {
            serde_json::json!({ "model": "doubler" })
        }

        fn predict(&self, inputs: &[Point]) -> Result<Vec<Doubled>, GraphError> {
            Ok(inputs.iter().map(|p| Doubled(p.x * 2.0)).collect())
        }
    }

    fn call(args: &[&str], stdin: &str) -> Result<String, CliError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let mut out = Vec::new();
        run::<Doubler>(&args, || Ok(&Doubler), &mut stdin.as_bytes(), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn bad(args: &[&str], stdin: &str) -> String {
        match call(args, stdin) {
            Err(CliError::BadInput(message)) => {
                assert!(!message.contains('\n'), "one line: {message}");
                assert!(
                    message.contains(r#"'{"x": 1.5}'"#),
                    "shows the example: {message}"
                );
                message
            }
            other => panic!("expected bad input, got {other:?}"),
        }
    }

    #[test]
    fn answers_one_object_and_a_batch() {
        assert_eq!(call(&[r#"{"x": 2}"#], "").unwrap(), "4\n");
        assert_eq!(call(&[r#"[{"x": 1}, {"x": 3}]"#], "").unwrap(), "2\n6\n");
        assert_eq!(
            call(&["--json", r#"{"x": 1}"#], "").unwrap(),
            "{\"value\":2.0}\n"
        );
    }

    #[test]
    fn reads_stdin_with_dash() {
        assert_eq!(call(&["-"], r#"{"x": 5}"#).unwrap(), "10\n");
    }

    #[test]
    fn help_and_info_do_not_need_input() {
        assert!(call(&["--help"], "").unwrap().contains("Usage: doubler"));
        assert!(
            call(&["--info"], "")
                .unwrap()
                .contains("\"model\": \"doubler\"")
        );
    }

    #[test]
    fn rejects_bad_input_with_one_line_naming_the_problem() {
        assert!(bad(&[], "").contains("no input given"));
        assert!(bad(&["{"], "").contains("malformed JSON"));
        assert!(bad(&["{}"], "").contains("missing field `x`"));
        assert!(bad(&[r#"{"x": 1, "y": 2}"#], "").contains("unknown field `y`"));
        assert!(bad(&[r#"{"x": "one"}"#], "").contains("invalid type"));
        assert!(bad(&[r#"{"x": NaN}"#], "").contains("no NaN or Infinity"));
        assert!(bad(&[r#"{"x": 1e39}"#], "").contains("beyond ±2^53"));
        assert!(bad(&[r#"{"x": 11}"#], "").contains("outside the possible range"));
        assert!(bad(&["[]"], "").contains("empty array"));
        assert!(bad(&[r#"[{"x": 1}, {"z": 1}]"#], "").contains("item 1 of the array"));
        assert!(bad(&["--frobnicate"], "").contains("unknown option"));
        assert!(bad(&["{}", "{}"], "").contains("more than one input"));
        assert!(bad(&["-"], &" ".repeat(100)).contains("larger than 64 bytes"));
        assert!(bad(&["   "], "").contains("the input is empty"));
        // A message quotes at most a few hundred characters of the input.
        let long = one_short_line(&format!("invalid type: string \"{}\"", "é".repeat(100_000)));
        assert!(
            long.chars().count() < 330 && long.ends_with("(200023 bytes)"),
            "{long}"
        );
        assert_eq!(one_short_line("a\nb\rc"), "a b c");
        // Input that JSON readers could understand two ways is refused, not answered.
        assert!(bad(&[r#"{"x": 1, "x": 9}"#], "").contains("\"x\" appears twice"));
        assert!(bad(&[r#"{"x": 9007199254740993}"#], "").contains("beyond ±2^53"));
    }

    #[test]
    fn output_writes_the_answers_to_a_file_and_nothing_to_stdout() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("results.txt");
        let file_arg = file.to_str().unwrap();
        assert_eq!(
            call(&["--output", file_arg, r#"[{"x": 1}, {"x": 3}]"#], "").unwrap(),
            ""
        );
        assert_eq!(fs::read_to_string(&file).unwrap(), "2\n6\n");
        let flag = format!("--output={file_arg}");
        assert_eq!(call(&["--json", &flag, r#"{"x": 1}"#], "").unwrap(), "");
        assert_eq!(fs::read_to_string(&file).unwrap(), "{\"value\":2.0}\n");
        assert_eq!(call(&["--info", "--output", file_arg], "").unwrap(), "");
        assert!(fs::read_to_string(&file).unwrap().contains("doubler"));
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn output_is_not_created_for_bad_input_and_its_own_errors_are_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("results.txt");
        let file_arg = file.to_str().unwrap();
        assert!(bad(&["--output", file_arg, "{"], "").contains("malformed JSON"));
        assert!(!file.exists(), "bad input writes no file");
        assert!(bad(&["--output"], "").contains("--output needs a file name"));
        assert!(bad(&["--output", "--json", "{}"], "").contains("--output needs a file name"));
        assert!(bad(&["--output", "a", "--output", "b", "{}"], "").contains("given twice"));
        assert!(bad(&["--output", "out/", "{}"], "").contains("names a directory"));
        let missing = dir.path().join("no/such/dir/results.txt");
        let result = call(&["--output", missing.to_str().unwrap(), r#"{"x": 1}"#], "");
        match result {
            Err(CliError::Failure(message)) => {
                assert!(message.starts_with("cannot write "), "{message}");
                assert!(!message.contains('\n'), "{message}");
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_model_that_fails_to_load_is_a_failure_not_bad_input() {
        let args = vec![OsString::from(r#"{"x": 1}"#)];
        let result = run::<Doubler>(
            &args,
            || Err("corrupt".into()),
            &mut "".as_bytes(),
            &mut Vec::new(),
        );
        assert_eq!(result, Err(CliError::Failure("corrupt".into())));
    }

    #[test]
    fn oip_answers_a_request_through_the_same_validation() {
        let request = r#"{"id": "a", "inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 4]}]}"#;
        let body = call(&["--oip"], request).unwrap();
        let response: Value = serde_json::from_str(body.trim_end()).unwrap();
        assert_eq!(response["model_name"], "doubler");
        assert_eq!(response["id"], "a");
        assert_eq!(
            response["outputs"][0]["data"],
            serde_json::json!([2.0, 8.0])
        );
        let out_of_range =
            r#"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [11]}]}"#;
        match call(&["--oip"], out_of_range) {
            Err(CliError::BadInput(message)) => {
                assert!(message.contains("row 0 of the request"), "{message}");
                assert!(message.contains("outside the possible range"), "{message}");
                assert!(message.contains("--oip-metadata"), "{message}");
            }
            other => panic!("expected bad input, got {other:?}"),
        }
        assert!(bad(&["--oip", "{}"], "").contains("takes no input argument"));
        assert!(
            bad(&["--inference-header-content-length", "3", "{}"], "").contains("belongs to --oip")
        );
        let metadata: Value =
            serde_json::from_str(&call(&["--oip-metadata"], "").unwrap()).unwrap();
        assert_eq!(metadata["inputs"][0]["name"], "x");
        assert_eq!(metadata["outputs"][0]["shape"], serde_json::json!([-1]));
    }
}
