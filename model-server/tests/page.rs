//! The browser page end to end: put together from the built modules, served by the real
//! `model-server --web`, driven in Debian's Chromium by `web/tests/page.mjs` (playwright-core)
//! as a person would use it, and every answer it showed checked against the `wasmtime` CLI on
//! the very input the page gave its modules.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, project_files};
use serde_json::Value;
use test_kit::process::{run_wasm, run_with_stdin_bytes, wasm_module, wasmtime};
use test_kit::server::body_bytes;
use train_kit::paths::workspace_root;

/// Where the browser run leaves its screenshots and results (`WEB_TEST_OUTPUT`, which
/// `cargo xtask test` points into the target directory): kept for people, not committed.
fn output_dir() -> PathBuf {
    std::env::var_os("WEB_TEST_OUTPUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/web-test"))
}

fn modules_dir() -> PathBuf {
    wasm_module("mnist-inference")
        .parent()
        .expect("the modules' directory")
        .to_owned()
}

/// What the `wasmtime` CLI prints (stdout, then stderr) and its exit code for one module run.
struct Cli {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Cli {
    fn printed(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

fn cli(output: std::process::Output) -> Cli {
    let std::process::Output {
        status,
        stdout,
        stderr,
    } = output;
    Cli {
        code: status.code(),
        stdout: String::from_utf8(stdout).expect("the module prints UTF-8"),
        stderr: String::from_utf8(stderr).expect("the module's messages are UTF-8"),
    }
}

/// `wasmtime convert-image.wasm - < PICTURE | wasmtime mnist-inference.wasm --json -`, as the
/// page says it ran; the conversion's output when it refuses the picture.
fn cli_for_picture(picture: &Path) -> Cli {
    let bytes = std::fs::read(picture).unwrap();
    let mut convert = Command::new(wasmtime());
    convert
        .arg("run")
        .arg(modules_dir().join("tools/convert-image.wasm"))
        .arg("-");
    let converted = cli(run_with_stdin_bytes(convert, &bytes));
    if converted.code != Some(0) {
        return converted;
    }
    cli(run_wasm(
        &wasm_module("mnist-inference"),
        &["--json", "-"],
        &converted.stdout,
    ))
}

fn text<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key].as_str().unwrap_or_default()
}

/// One case the browser ran: what the page showed equals what the CLI printed.
fn check_case(case: &Value, out: &Path) {
    let name = text(case, "name");
    let algo = text(case, "algo");
    let expected = match case["picture"].as_str() {
        Some(picture) => cli_for_picture(&out.join(picture)),
        None => {
            let stdin = case["stdin"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: the page recorded no stdin"));
            cli(run_wasm(
                &wasm_module(&format!("{algo}-inference")),
                &["--json", "-"],
                stdin,
            ))
        }
    };
    assert_eq!(
        text(case, "output"),
        expected.printed(),
        "{name}: the page's module output differs from the wasmtime CLI's"
    );
    match expected.code {
        Some(0) => {
            let answer: Value = serde_json::from_str(&expected.stdout).unwrap();
            let shown = text(case, "answer");
            match answer["class"].as_str() {
                Some(class) => {
                    assert_eq!(shown, class, "{name}");
                    let classes = answer["probabilities"].as_object().unwrap().len();
                    assert_eq!(case["bars"], classes, "{name}: a bar per class");
                }
                None => assert_eq!(
                    shown,
                    // One decimal, as the module's line output prints it.
                    format!(
                        "quality {:.1} (grade {})",
                        answer["quality"].as_f64().expect("a number"),
                        answer["grade"]
                    ),
                    "{name}"
                ),
            }
            assert_eq!(text(case, "state"), "answered", "{name}");
            assert_eq!(text(case, "error"), "", "{name}");
            if let Some(digit) = case["expected"].as_str() {
                assert_eq!(shown, digit, "{name}: the digit is read right");
            }
        }
        code => {
            assert_eq!(
                code,
                Some(2),
                "{name}: bad input is exit 2: {}",
                expected.stderr
            );
            assert_eq!(text(case, "state"), "refused", "{name}");
            let line = expected.stderr.lines().next().unwrap_or_default();
            assert!(!line.is_empty(), "{name}");
            assert_eq!(text(case, "error"), line, "{name}: the module's own line");
            assert_eq!(text(case, "answer"), "", "{name}");
        }
    }
}

/// The page's files come with the MIME types and headers it needs, and the modules it serves
/// are byte for byte the built ones.
fn check_serving(url: &str) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let index = agent.get(&format!("{url}/")).call().unwrap();
    assert_eq!(index.status(), 200);
    let header = |response: &ureq::http::Response<ureq::Body>, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header(&index, "content-type").starts_with("text/html"));
    assert_eq!(
        header(&index, "content-security-policy"),
        web::CONTENT_SECURITY_POLICY
    );
    assert_eq!(header(&index, "x-content-type-options"), "nosniff");
    for name in ["mnist-inference", "iris-inference", "convert-image"] {
        let mut module = agent
            .get(&format!("{url}/modules/{name}.wasm"))
            .call()
            .unwrap();
        assert_eq!(module.status(), 200, "{name}");
        assert_eq!(
            header(&module, "content-type"),
            "application/wasm",
            "{name}"
        );
        let bytes = body_bytes(&mut module, 64 << 20);
        let built = match name {
            "convert-image" => modules_dir().join("tools/convert-image.wasm"),
            _ => wasm_module(name),
        };
        assert!(
            bytes == std::fs::read(built).unwrap(),
            "{name}: the built file"
        );
    }
    let script = agent.get(&format!("{url}/app.js")).call().unwrap();
    assert!(header(&script, "content-type").starts_with("text/javascript"));
    let missing = agent.get(&format!("{url}/no-such-page")).call().unwrap();
    assert_eq!(missing.status(), 404);
    // The API is still the API beside the page.
    let live = agent.get(&format!("{url}/v2/health/live")).call().unwrap();
    assert_eq!(live.status(), 200);
}

#[test]
fn the_page_answers_as_the_wasmtime_cli_in_a_real_browser() {
    let site = tempfile::tempdir().unwrap();
    let site = site.path().join("site");
    web::assemble(&site, &modules_dir()).unwrap();
    let server = Server::start(
        &project_files(&["iris"]),
        &["--web", site.to_str().unwrap()],
    );
    check_serving(&server.url);

    let out = output_dir();
    let _ = std::fs::remove_dir_all(&out);
    let driver = workspace_root().join("web/tests/page.mjs");
    let status = Command::new(test_kit::runtimes::node())
        .arg(&driver)
        .arg(format!("{}/", server.url))
        .arg(&out)
        .status()
        .expect("node runs the browser driver");
    assert!(status.success(), "{} failed", driver.display());
    let results: Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(
        results["problems"],
        Value::Array(vec![]),
        "no console error, no failed request"
    );
    let cases = results["cases"].as_array().unwrap();
    let digits: Vec<&str> = cases
        .iter()
        .filter(|case| text(case, "name").starts_with("drawn "))
        .map(|case| text(case, "answer"))
        .collect();
    assert_eq!(digits, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    assert!(cases.len() >= 26, "every case ran: {}", cases.len());
    let refused = cases
        .iter()
        .filter(|case| text(case, "state") == "refused")
        .count();
    assert!(refused >= 6, "the bad inputs were refused: {refused}");
    for case in cases {
        check_case(case, &out);
    }
    for shot in ["page.png", "mnist-drawn.png", "mnist-photo.png", "iris.png"] {
        assert!(out.join(shot).is_file(), "{shot}");
    }
}
