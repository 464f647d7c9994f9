//! The trained files an inference module embeds from `artifacts/<algorithm>/`: the build-time
//! check that they exist, the macro that embeds them, and (feature `burn`) loading them into a
//! ready model. The same for every algorithm.

use std::path::Path;

#[cfg(feature = "burn")]
pub use loaded::{ArtifactConfig, LoadedModel};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::digest::sha256_hex;

/// Why a model could not be loaded from its artifacts: each names the file at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("the embedded config.json is invalid: {0}")]
    Config(String),
    #[error("the embedded metrics.json is invalid: {0}")]
    Metrics(String),
    #[error("the embedded metrics.json names no model_sha256")]
    NoModelSha256,
    #[error("{0} is not among the embedded artifacts")]
    MissingFile(String),
    /// One of the algorithm's own files (AG News' vocabulary) does not parse.
    #[error("the embedded {name} is invalid: {error}")]
    File { name: String, error: String },
    #[error("the embedded model.bpk is empty")]
    EmptyModel,
    /// `model.bpk` is not a record Burn reads.
    #[error("the embedded model.bpk is invalid: {0}")]
    Model(String),
    /// Burn's record lacks a tensor the network of `config.json` has, or has one of another
    /// shape.
    #[error("the embedded model.bpk does not fit config.json: {0}")]
    ModelConfig(String),
    /// The record as the kernels read it: a missing tensor, one of another shape or type
    /// (the kernels' own message, which names `model.bpk`).
    #[error("{0}")]
    Record(String),
}

impl LoadError {
    /// The kernels' error reading `model.bpk`, for `map_err`.
    pub fn record(error: impl std::fmt::Display) -> Self {
        LoadError::Record(error.to_string())
    }
}

/// The files every inference module embeds; an algorithm may add its own (AG News' vocabulary).
pub const EMBEDDED_FILES: [&str; 3] = ["model.bpk", "config.json", "metrics.json"];

/// A model's trained files as bytes: embedded by [`embedded_artifacts!`] in a module, read from
/// disk by the tests.
#[derive(Debug, Clone, Copy)]
pub struct Artifacts<'a> {
    pub model_bpk: &'a [u8],
    pub config_json: &'a [u8],
    pub metrics_json: &'a [u8],
    /// Files of the algorithm's own, by name.
    pub extra: &'a [(&'a str, &'a [u8])],
}

impl<'a> Artifacts<'a> {
    /// SHA-256 of the model: of `model.bpk` when it is embedded, else (a named-graph module)
    /// the digest `metrics.json` records for the model the module was built with.
    pub fn model_sha256(&self) -> Result<String, LoadError> {
        if !self.model_bpk.is_empty() {
            return Ok(sha256_hex(self.model_bpk));
        }
        let report: Value = serde_json::from_slice(self.metrics_json)
            .map_err(|e| LoadError::Metrics(e.to_string()))?;
        report["model_sha256"]
            .as_str()
            .map(str::to_owned)
            .ok_or(LoadError::NoModelSha256)
    }

    /// `config.json` as the algorithm's config type.
    pub fn config<C: DeserializeOwned>(&self) -> Result<C, LoadError> {
        serde_json::from_slice(self.config_json).map_err(|e| LoadError::Config(e.to_string()))
    }

    /// `config.json` as the algorithm's config type, and `metrics.json`.
    pub fn config_and_report<C: DeserializeOwned>(&self) -> Result<(C, Value), LoadError> {
        let config = self.config()?;
        let report = serde_json::from_slice(self.metrics_json)
            .map_err(|e| LoadError::Metrics(e.to_string()))?;
        Ok((config, report))
    }

    /// One of the algorithm's own files; an error naming it when it was not embedded.
    pub fn extra(&self, name: &str) -> Result<&'a [u8], LoadError> {
        self.extra
            .iter()
            .find(|(file, _)| *file == name)
            .map(|&(_, bytes)| bytes)
            .ok_or_else(|| LoadError::MissingFile(name.to_owned()))
    }
}

/// `embedded_artifacts!("iris")` or `embedded_artifacts!("ag-news", "vocab.json")`: the files
/// of `artifacts/<algorithm>/` compiled into the calling crate, which must sit at the
/// workspace's top level.
#[macro_export]
macro_rules! embedded_artifacts {
    ($algorithm:literal $(, $extra:literal)* $(,)?) => {
        $crate::artifacts::Artifacts {
            model_bpk: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"), "/../artifacts/", $algorithm, "/model.bpk"
            )),
            config_json: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"), "/../artifacts/", $algorithm, "/config.json"
            )),
            metrics_json: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"), "/../artifacts/", $algorithm, "/metrics.json"
            )),
            extra: &[$((
                $extra,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"), "/../artifacts/", $algorithm, "/", $extra
                )),
            )),*],
        }
    };
}

/// `named_artifacts!("iris")`: what a named-graph module embeds: `config.json` (its
/// preprocessing) and `metrics.json` (`--info`, and the model it expects of the host), no
/// weights, no extra files (AG News' vocabulary stays with the host's graph).
#[macro_export]
macro_rules! named_artifacts {
    ($algorithm:literal $(, $extra:literal)* $(,)?) => {
        $crate::artifacts::Artifacts {
            model_bpk: b"",
            config_json: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../artifacts/",
                $algorithm,
                "/config.json"
            )),
            metrics_json: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../artifacts/",
                $algorithm,
                "/metrics.json"
            )),
            extra: &[],
        }
    };
}

/// What every predictor keeps of its artifacts whatever runs the network: the parsed
/// `config.json`, the training report and the model's identity.
#[derive(Debug, Clone)]
pub struct ModelCard<C> {
    /// `config.json`: the network's shape, its preprocessing, its training settings.
    pub config: C,
    /// `metrics.json` as written by training, shown by `--info`.
    pub report: Value,
    /// The embedded `model.bpk`, hashed only when `--info` asks: hashing it on every run cost
    /// AG News (5.7 MB) more than the rest of its start-up.
    model_bpk: &'static [u8],
    /// The model's SHA-256 when it is known without hashing (a named-graph module's, from
    /// `metrics.json`).
    recorded_sha256: Option<String>,
}

impl<C: DeserializeOwned> ModelCard<C> {
    pub fn load(artifacts: &Artifacts<'static>) -> Result<Self, LoadError> {
        let (config, report) = artifacts.config_and_report()?;
        let recorded_sha256 = if artifacts.model_bpk.is_empty() {
            Some(artifacts.model_sha256()?)
        } else {
            None
        };
        Ok(Self {
            config,
            report,
            model_bpk: artifacts.model_bpk,
            recorded_sha256,
        })
    }

    /// SHA-256 of `model.bpk`.
    pub fn model_sha256(&self) -> String {
        self.recorded_sha256
            .clone()
            .unwrap_or_else(|| sha256_hex(self.model_bpk))
    }

    /// `--info`: the model's name and identity, `details` of its own (input schema,
    /// classes, preprocessing), and the training report.
    pub fn info(&self, model: &str, details: Value) -> Value {
        let mut info = serde_json::Map::new();
        info.insert("model".into(), model.into());
        info.insert("model_sha256".into(), self.model_sha256().into());
        if let Value::Object(details) = details {
            info.extend(details);
        }
        info.insert("training".into(), self.report.clone());
        Value::Object(info)
    }
}

/// For an inference crate's `build.rs`: fails the build with instructions when the trained
/// artifacts are missing, and rebuilds when they change. The crate's directory is read when the
/// script runs, not baked in when it is compiled: cargo reuses a compiled build script across
/// checkouts that share a target directory.
pub fn require_artifacts(algorithm: &str, extra: &[&str]) {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .expect("cargo sets CARGO_MANIFEST_DIR for build scripts");
    let dir = Path::new(&manifest_dir)
        .join("..")
        .join("artifacts")
        .join(algorithm);
    for name in EMBEDDED_FILES.iter().chain(extra) {
        let path = dir.join(name);
        println!("cargo::rerun-if-changed={}", path.display());
        if !path.is_file() {
            panic!(
                "{} is missing: train the model first with `cargo run --release --bin {algorithm}-ndarray`",
                path.display()
            );
        }
    }
}

#[cfg(feature = "burn")]
mod loaded {
    use burn::module::Module;
    use burn::store::ModuleRecord;
    use burn::tensor::{Bytes, Device};
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    use super::{Artifacts, LoadError};
    use crate::layers::{Empty, Layers};

    /// `config.json` of an algorithm: it knows the network it describes.
    pub trait ArtifactConfig: DeserializeOwned {
        type Model: Module;

        /// The network of this shape with its layers made by `layers`: empty ones to load the
        /// record into.
        fn build_model(&self, layers: &impl Layers) -> Self::Model;
    }

    /// A model loaded from its artifacts, with what came with it.
    #[derive(Debug)]
    pub struct LoadedModel<C: ArtifactConfig> {
        pub model: C::Model,
        /// `config.json`: the network's shape, its preprocessing, its training settings.
        pub config: C,
        /// `metrics.json` as written by training, shown by `--info`.
        pub report: Value,
        /// SHA-256 of `model.bpk`.
        pub model_sha256: String,
        /// Where the network lives: burn's pure-Rust flex backend, or the device a host chose
        /// for its graphs.
        pub device: Device,
    }

    impl<C: ArtifactConfig> LoadedModel<C> {
        /// Parses the artifacts and loads the record into the network the config describes, on
        /// flex. Every failure is an error naming the artifact, never a panic.
        pub fn load(artifacts: &Artifacts<'_>) -> Result<Self, LoadError> {
            Self::load_on(artifacts, Device::flex())
        }

        /// [`LoadedModel::load`] onto `device`.
        pub fn load_on(artifacts: &Artifacts<'_>, device: Device) -> Result<Self, LoadError> {
            if artifacts.model_bpk.is_empty() {
                return Err(LoadError::EmptyModel);
            }
            let (config, report) = artifacts.config_and_report::<C>()?;
            let record =
                ModuleRecord::from_bytes(Bytes::from_bytes_vec(artifacts.model_bpk.to_vec()))
                    .map_err(|e| LoadError::Model(e.to_string()))?;
            let model = config
                .build_model(&Empty(&device))
                .try_load_record(record)
                .map_err(|e| LoadError::ModelConfig(e.to_string()))?;
            Ok(Self {
                model,
                config,
                report,
                model_sha256: artifacts.model_sha256()?,
                device,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extra_file_is_found_by_name_or_named_when_missing() {
        let artifacts = Artifacts {
            model_bpk: b"",
            config_json: b"",
            metrics_json: b"",
            extra: &[("vocab.json", b"{}")],
        };
        assert_eq!(artifacts.extra("vocab.json"), Ok(&b"{}"[..]));
        assert!(
            artifacts
                .extra("other.json")
                .unwrap_err()
                .to_string()
                .contains("other.json")
        );
    }
}
