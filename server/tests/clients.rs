//! Independent clients: `tritonclient[http]` (its defaults, and `binary_data=False`) and the
//! kserve SDK's REST client, installed by `cargo xtask setup` into a virtual environment
//! (`$MODEL_SERVER_PYTHON`), get the wasmtime CLI's answers from the server; and the KServe
//! manifests under `deploy/` load as the SDK's typed models.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Server, cli_answers, project_files};
use serde_json::{Value, json};
use train_kit::paths::{resolve_data_dir, workspace_root};

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
    let dir = resolve_data_dir(None).path;
    let iris: Vec<Value> = iris::data::load_items(&iris::data::IRIS_DATA.fetch(&dir).unwrap().path)
        .unwrap()
        .iter()
        .map(|item| serde_json::to_value(item.input).unwrap())
        .collect();
    let mnist: Vec<Value> = mnist::data::load_test_set(&dir)
        .unwrap()
        .iter()
        .take(1000)
        .map(|item| json!(item.pixels.to_vec()))
        .collect();
    let wine: Vec<Value> = {
        use wine_quality::data::{RED_WINES, WHITE_WINES, load_items, split};
        use wine_quality::input::WineType;
        let config: wine_quality::config::WineConfig = test_kit::training::read_json(
            &test_kit::training::committed_dir("wine-quality").join("config.json"),
        );
        let mut items = load_items(&RED_WINES.fetch(&dir).unwrap().path, WineType::Red).unwrap();
        items.extend(load_items(&WHITE_WINES.fetch(&dir).unwrap().path, WineType::White).unwrap());
        split(items, config.training.seed)
            .test
            .iter()
            .map(|item| serde_json::to_value(item.input).unwrap())
            .collect()
    };
    let ag_news: Vec<Value> = {
        use ag_news::data::{TEST_CSV, load_items, single_file_split};
        let config: ag_news::config::AgNewsConfig = test_kit::training::read_json(
            &test_kit::training::committed_dir("ag-news").join("config.json"),
        );
        let test = load_items(&TEST_CSV.fetch(&dir).unwrap().path).unwrap();
        let rows = match config.training.options.single_file_split {
            Some(_) => single_file_split(test, config.training.seed).1,
            None => test,
        };
        rows.iter()
            .map(|item| json!({"title": item.title, "description": item.description}))
            .collect()
    };
    vec![
        case("iris", &iris),
        case("mnist", &mnist),
        case("wine-quality", &wine),
        case("ag-news", &ag_news),
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
    let script = workspace_root().join("server/tests/clients/oip_clients.py");
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
