//! Embedding trained artifacts in an inference module: the build-time check that they exist,
//! and the run-time parsing of the embedded bytes (the same for every algorithm).

use std::path::Path;

#[cfg(feature = "embed")]
pub use record::LoadedModel;

/// The files an inference module embeds from `artifacts/<algorithm>/`.
pub const EMBEDDED_ARTIFACTS: [&str; 3] = ["model.bpk", "config.json", "metrics.json"];

/// For an inference crate's `build.rs`: fails the build with instructions when the trained
/// artifacts are missing, and rebuilds when they change.
pub fn require_artifacts(manifest_dir: &str, algorithm: &str, training_binary: &str) {
    let dir = Path::new(manifest_dir)
        .join("..")
        .join("artifacts")
        .join(algorithm);
    for name in EMBEDDED_ARTIFACTS {
        let path = dir.join(name);
        println!("cargo::rerun-if-changed={}", path.display());
        if !path.is_file() {
            panic!(
                "{} is missing: train the model first with `cargo run --release --bin {training_binary}`",
                path.display()
            );
        }
    }
}

#[cfg(feature = "embed")]
mod record {
    use burn::module::Module;
    use burn::store::ModuleRecord;
    use burn::tensor::{Bytes, Device};
    use serde::de::DeserializeOwned;

    use crate::digest::sha256_hex;

    /// A model loaded from the artifacts an inference module embeds, with what came with it.
    #[derive(Debug)]
    pub struct LoadedModel<M, C, R> {
        pub model: M,
        /// `config.json`: the model's shape and its preprocessing.
        pub config: C,
        /// `metrics.json`, when embedded (for `--info`).
        pub report: Option<R>,
        /// SHA-256 of the embedded `model.bpk`.
        pub model_sha256: String,
        /// Inference runs on burn's pure-Rust flex backend, natively and in wasm.
        pub device: Device,
    }

    impl<M: Module, C: DeserializeOwned, R: DeserializeOwned> LoadedModel<M, C, R> {
        /// Parses the embedded bytes and loads the record into the module `init` builds from
        /// the config. Every failure is a message naming the artifact, never a panic.
        pub fn load(
            model_bpk: &[u8],
            config_json: &[u8],
            metrics_json: Option<&[u8]>,
            init: impl FnOnce(&C, &Device) -> M,
        ) -> Result<Self, String> {
            let config: C = serde_json::from_slice(config_json)
                .map_err(|e| format!("the embedded config.json is invalid: {e}"))?;
            let report = metrics_json
                .map(serde_json::from_slice)
                .transpose()
                .map_err(|e| format!("the embedded metrics.json is invalid: {e}"))?;
            let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(model_bpk.to_vec()))
                .map_err(|e| format!("the embedded model.bpk is invalid: {e}"))?;
            let device = Device::flex();
            let model = init(&config, &device)
                .try_load_record(record)
                .map_err(|e| format!("the embedded model.bpk does not fit config.json: {e}"))?;
            Ok(Self {
                model,
                config,
                report,
                model_sha256: sha256_hex(model_bpk),
                device,
            })
        }
    }
}
