//! The named models: found in the models directory, loaded apart from requests (checked,
//! pre-initialised, compiled or taken from the cache, asked for their metadata), and the state
//! the repository index reports. A model that fails any step is kept as unavailable with the
//! reason, and the others are served.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use anyhow::{Result, bail};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Semaphore;
use wasmtime::InstancePre;

use crate::compile::{self, Compiled};
use crate::options::Limits;
use crate::sandbox::{Guest, Outcome, Sandbox, Usage};

/// A model ready to answer.
pub(crate) struct Model {
    pub(crate) name: String,
    pub(crate) pre: InstancePre<Guest>,
    pub(crate) metadata: Value,
    pub(crate) limits: Limits,
    pub(crate) compiled: Compiled,
    /// Turns to run, and places to wait for one: a full queue answers 503.
    pub(crate) running: Semaphore,
    pub(crate) admitted: Semaphore,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.name)
            .field("limits", &self.limits)
            .field("compiled", &self.compiled)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Guest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guest").finish_non_exhaustive()
    }
}

/// Where a model stands, as the repository index says.
#[derive(Debug, Clone)]
pub(crate) enum State {
    Ready(Arc<Model>),
    Unavailable(String),
}

#[derive(Debug, Clone)]
struct Entry {
    state: State,
}

/// One row of `POST /v2/repository/index`.
#[derive(Debug, Serialize)]
pub(crate) struct IndexRow {
    pub(crate) name: String,
    pub(crate) version: &'static str,
    pub(crate) state: &'static str,
    pub(crate) reason: String,
}

/// Where the models are found and how they are loaded, as the server was started.
#[derive(Debug)]
pub(crate) struct Settings {
    /// The models directory.
    pub(crate) dir: PathBuf,
    /// Where compiled code is kept between starts, if anywhere.
    pub(crate) cache_dir: Option<PathBuf>,
    /// Whether modules are pre-initialised.
    pub(crate) preinit: bool,
    pub(crate) default_limits: Limits,
    /// Limits of the models given their own.
    pub(crate) model_limits: BTreeMap<String, Limits>,
}

/// Every model the server knows, by name.
#[derive(Debug)]
pub(crate) struct Repository {
    sandbox: Sandbox,
    settings: Settings,
    entries: RwLock<BTreeMap<String, Entry>>,
    /// Loads one at a time: they compile with every core already.
    loading: std::sync::Mutex<()>,
}

/// The name a module file is served under: `<algo>-inference.wasm` is `<algo>`, and the
/// named-graph kind `<algo>-inference-named.wasm` is `<algo>-named`.
pub(crate) fn model_name(file: &Path) -> Option<String> {
    if file.extension().is_none_or(|e| e != "wasm") {
        return None;
    }
    let stem = file.file_stem()?.to_str()?;
    let stem = match stem.strip_suffix("-inference-named") {
        Some(algorithm) => return valid_name(&format!("{algorithm}-named")),
        None => stem,
    };
    valid_name(stem.strip_suffix("-inference").unwrap_or(stem))
}

fn valid_name(name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    valid.then(|| name.to_owned())
}

impl Repository {
    /// The named graphs its modules' stores may ask for.
    pub(crate) fn graphs(&self) -> &crate::graphs::Graphs {
        self.sandbox.graphs()
    }

    pub(crate) fn new(sandbox: Sandbox, settings: Settings) -> Self {
        Self {
            sandbox,
            settings,
            entries: RwLock::new(BTreeMap::new()),
            loading: std::sync::Mutex::new(()),
        }
    }

    pub(crate) fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// The module files of the models directory, by model name.
    pub(crate) fn scan(&self) -> Result<BTreeMap<String, PathBuf>> {
        let mut found = BTreeMap::new();
        let entries = std::fs::read_dir(&self.settings.dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the models directory {}: {e}",
                self.settings.dir.display()
            )
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if let Some(name) = model_name(&path) {
                found.insert(name, path);
            }
        }
        Ok(found)
    }

    /// Loads every model of the directory; returns one line per model for the log.
    pub(crate) fn load_all(&self) -> Result<Vec<String>> {
        let found = self.scan()?;
        if found.is_empty() {
            bail!(
                "no *.wasm in the models directory {}; build the modules with `cargo xtask wasm`",
                self.settings.dir.display()
            );
        }
        Ok(found
            .into_iter()
            .map(|(name, file)| self.load_file(&name, &file))
            .collect())
    }

    /// (Re)loads one model by name from the models directory.
    pub(crate) fn load(&self, name: &str) -> Result<String, LoadError> {
        let file = self
            .scan()
            .map_err(|e| LoadError::Failed(e.to_string()))?
            .remove(name)
            .ok_or_else(|| LoadError::NotFound(name.to_owned()))?;
        let line = self.load_file(name, &file);
        match self.state(name) {
            Some(State::Ready(_)) => Ok(line),
            Some(State::Unavailable(reason)) => Err(LoadError::Failed(reason)),
            None => Err(LoadError::NotFound(name.to_owned())),
        }
    }

    /// Marks a model unloaded: new requests get 503, running ones finish.
    pub(crate) fn unload(&self, name: &str) -> bool {
        let mut entries = self
            .entries
            .write()
            .expect("the repository lock is not poisoned");
        match entries.get_mut(name) {
            Some(entry) => {
                entry.state = State::Unavailable("unloaded".into());
                true
            }
            None => false,
        }
    }

    fn load_file(&self, name: &str, file: &Path) -> String {
        let _one_at_a_time = self.loading.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let limits = self.limits_of(name);
        let (state, line) = match self.prepare(name, file, limits) {
            Ok(model) => {
                let how = match (model.compiled.preinitialized, model.compiled.from_cache) {
                    (true, true) => "pre-initialised, from the cache",
                    (true, false) => "pre-initialised and compiled",
                    (false, true) => "from the cache",
                    (false, false) => "compiled",
                };
                let note = model
                    .compiled
                    .preinit_note
                    .as_deref()
                    .map_or(String::new(), |n| format!("; {n}"));
                let line = format!(
                    "{name}: ready ({how} in {} ms{note}; sha256 {})",
                    started.elapsed().as_millis(),
                    &model.compiled.sha256[..16]
                );
                (State::Ready(Arc::new(model)), line)
            }
            Err(error) => {
                let reason = format!("{error:#}").replace('\n', " ");
                let line = format!("{name}: not ready: {reason}");
                (State::Unavailable(reason), line)
            }
        };
        self.entries
            .write()
            .expect("the repository lock is not poisoned")
            .insert(name.to_owned(), Entry { state });
        line
    }

    fn limits_of(&self, name: &str) -> Limits {
        self.settings
            .model_limits
            .get(name)
            .copied()
            .unwrap_or(self.settings.default_limits)
    }

    fn prepare(&self, name: &str, file: &Path, limits: Limits) -> Result<Model> {
        let compiled = compile::compile(
            &self.sandbox,
            file,
            self.settings.cache_dir.as_deref(),
            self.settings.preinit,
            &limits,
        )?;
        let pre = self.sandbox.prepare(&compiled.module)?;
        let metadata = compile::query_metadata(&self.sandbox, &pre, &limits)?;
        Ok(Model {
            name: name.to_owned(),
            pre,
            metadata: crate::metadata::named(&metadata, name),
            limits,
            compiled,
            running: Semaphore::new(limits.concurrency),
            admitted: Semaphore::new(limits.concurrency + limits.queue),
        })
    }

    pub(crate) fn state(&self, name: &str) -> Option<State> {
        self.entries
            .read()
            .expect("the repository lock is not poisoned")
            .get(name)
            .map(|entry| entry.state.clone())
    }

    pub(crate) fn index(&self, ready_only: bool) -> Vec<IndexRow> {
        self.entries
            .read()
            .expect("the repository lock is not poisoned")
            .iter()
            .filter(|(_, entry)| !ready_only || matches!(entry.state, State::Ready(_)))
            .map(|(name, entry)| {
                let (state, reason) = match &entry.state {
                    State::Ready(_) => ("READY", String::new()),
                    State::Unavailable(reason) => ("UNAVAILABLE", reason.clone()),
                };
                IndexRow {
                    name: name.clone(),
                    version: "1",
                    state,
                    reason,
                }
            })
            .collect()
    }
}

/// Why `load` did not make a model ready.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("no module for model '{0}' in the models directory")]
    NotFound(String),
    #[error("{0}")]
    Failed(String),
}

impl Model {
    /// One run of the module in a fresh instance.
    pub(crate) async fn run(
        &self,
        sandbox: &Sandbox,
        args: &[String],
        stdin: Bytes,
    ) -> (Outcome, Usage) {
        let mut argv = Vec::with_capacity(args.len() + 1);
        argv.push(self.name.clone());
        argv.extend_from_slice(args);
        match sandbox.store(&argv, stdin, &self.limits) {
            Ok(run) => run.call(&self.pre, "_start").await,
            Err(error) => (
                Outcome::Stopped(crate::sandbox::Stopped::Instantiate(error.to_string())),
                Usage::default(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_files_are_named_after_their_algorithm() {
        for (file, name) in [
            ("d/iris-inference.wasm", Some("iris")),
            ("d/wine-quality-inference.wasm", Some("wine-quality")),
            ("d/iris-inference-named.wasm", Some("iris-named")),
            ("d/loop.wasm", Some("loop")),
            ("d/iris.cwasm", None),
            ("d/a b.wasm", None),
        ] {
            assert_eq!(model_name(Path::new(file)).as_deref(), name, "{file}");
        }
    }
}
