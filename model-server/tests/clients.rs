//! Independent clients: `tritonclient[http]` (its defaults, and `binary_data=False`) and the
//! kserve SDK's REST client, installed by `cargo xtask setup` into a virtual environment
//! (`$MODEL_SERVER_PYTHON`), get the wasmtime CLI's answers from the server; and the KServe
//! manifests under `deploy/` load as the SDK's typed models.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{
    Server, ag_news_inputs, cli_answers, iris_inputs, mnist_inputs, project_files, wine_inputs,
};
use serde_json::{Value, json};
use train_kit::paths::workspace_root;

/// The interpreter of the clients' virtual environment; the test fails, naming the fix, when
/// it is not set up.
fn python() -> PathBuf {
    let python = std::env::var_os("MODEL_SERVER_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "MODEL_SERVER_PYTHON is not set: run `cargo xtask test`, or `cargo xtask setup` and \
             set it to the printed interpreter"
        )
    });
    assert!(
        python.is_file(),
        "{} is missing: run `cargo xtask setup`",
        python.display()
    );
    python
}

fn case(model: &str, inputs: &[Value]) -> Value {
    let expected = cli_answers(model, &serde_json::to_string(inputs).unwrap());
    json!({"model": model, "inputs": inputs, "expected": expected})
}

fn samples() -> Vec<Value> {
    vec![
        case("iris", &iris_inputs()),
        case("mnist", &mnist_inputs(1000)),
        case("wine-quality", &wine_inputs()),
        case("ag-news", &ag_news_inputs()),
    ]
}

#[test]
fn tritonclient_and_the_kserve_sdk_get_the_clis_answers() {
    let python = python();
    let server = Server::start(
        &project_files(&["iris", "mnist", "wine-quality", "ag-news"]),
        &[],
    );
    let cases = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cases.path(), serde_json::to_vec(&samples()).unwrap()).unwrap();
    let script = workspace_root().join("model-server/tests/clients/oip_clients.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(&server.url)
        .arg(cases.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the clients' checks failed:\n{stdout}"
    );
    assert!(stdout.contains("12 passed, 0 failed"), "{stdout}");
}

#[test]
fn the_kserve_manifests_load_as_the_sdks_typed_models() {
    let output = Command::new(python())
        .arg(workspace_root().join("deploy/check_manifests.py"))
        .arg(workspace_root().join("deploy/kserve"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ServingRuntime model-server"), "{stdout}");
    assert!(stdout.contains("InferenceService iris"), "{stdout}");
}
