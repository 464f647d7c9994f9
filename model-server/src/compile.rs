//! From a module file to code ready to instantiate: its imports checked against the
//! allow-list, pre-initialised (the model decoded once, the instance's memory snapshotted), and
//! compiled once, with the result cached on disk under the module's SHA-256 and the engine's
//! settings so that a restart maps the cached code instead of compiling again.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use wasmtime::Module;
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

use crate::options::Limits;
use crate::sandbox::{Outcome, Sandbox};

/// The export a module names to be pre-initialised (`module_kit::inference_module!`).
pub(crate) const PREINIT_EXPORT: &str = "wizer-initialize";
/// Largest module file the server reads.
const MAX_MODULE_BYTES: u64 = 256 << 20;

/// A module compiled and ready, and how it got there.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) module: Module,
    pub(crate) sha256: String,
    /// Whether instances start from the pre-initialised snapshot.
    pub(crate) preinitialized: bool,
    /// Why a module was served without pre-initialisation.
    pub(crate) preinit_note: Option<String>,
    /// Whether the code came from the on-disk cache.
    pub(crate) from_cache: bool,
}

/// Reads, checks, pre-initialises and compiles the module at `path`.
pub(crate) fn compile(
    sandbox: &Sandbox,
    path: &Path,
    cache_dir: Option<&Path>,
    preinit: bool,
    limits: &Limits,
) -> Result<Compiled> {
    let wasm = read_module(path)?;
    check_imports(&wasm)?;
    let sha256 = hex(&Sha256::digest(&wasm));
    let offers_preinit = preinit && exports(&wasm, PREINIT_EXPORT);
    let cache_file = cache_dir.map(|dir| cache_path(sandbox, dir, &sha256, offers_preinit));
    if let Some(module) = cache_file
        .as_deref()
        .and_then(|file| load_cached(sandbox, file))
    {
        return Ok(Compiled {
            module,
            sha256,
            preinitialized: offers_preinit,
            preinit_note: None,
            from_cache: true,
        });
    }
    let (serving_wasm, preinitialized, preinit_note) = if offers_preinit {
        let snapshot = preinitialize(sandbox, &wasm, limits)
            .with_context(|| format!("pre-initialising the model ({PREINIT_EXPORT})"))?;
        (snapshot, true, None)
    } else {
        let note = if preinit {
            format!("the module exports no {PREINIT_EXPORT}")
        } else {
            "pre-initialisation is off (--no-preinit)".to_owned()
        };
        (wasm, false, Some(note))
    };
    let module = Module::new(&sandbox.engine, &serving_wasm)
        .map_err(anyhow::Error::from)
        .context("compiling the module")?;
    if let Some(file) = &cache_file {
        store_cached(&module, file);
    }
    Ok(Compiled {
        module,
        sha256,
        preinitialized,
        preinit_note,
        from_cache: false,
    })
}

fn read_module(path: &Path) -> Result<Vec<u8>> {
    let size = fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size > MAX_MODULE_BYTES {
        bail!("the module is {size} bytes, more than the {MAX_MODULE_BYTES} this server reads");
    }
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Refuses a module that imports anything but the WASI functions a model may use.
pub(crate) fn check_imports(wasm: &[u8]) -> Result<()> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| anyhow!("not a valid WebAssembly module ({e})"))?;
        match payload {
            wasmparser::Payload::Version {
                encoding: wasmparser::Encoding::Component,
                ..
            } => bail!("a component, not a core module; serve a wasm32-wasip1 command"),
            wasmparser::Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import =
                        import.map_err(|e| anyhow!("not a valid WebAssembly module ({e})"))?;
                    let is_function = matches!(import.ty, wasmparser::TypeRef::Func(_));
                    if !is_function {
                        bail!(
                            "imports {}::{}, which is not a function; a model imports only WASI functions",
                            import.module,
                            import.name
                        );
                    }
                    if let Some(reason) =
                        module_kit::wasi::refuse_import(import.module, import.name)
                    {
                        bail!("{reason}");
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn exports(wasm: &[u8], name: &str) -> bool {
    wasmparser::Parser::new(0)
        .parse_all(wasm)
        .filter_map(Result::ok)
        .any(|payload| match payload {
            wasmparser::Payload::ExportSection(reader) => reader
                .into_iter()
                .filter_map(Result::ok)
                .any(|export| export.name == name),
            _ => false,
        })
}

/// Runs the module's initialiser once, under the model's limits, and snapshots its memory and
/// globals into a new module (Wizer): instances of it start with the model decoded.
fn preinitialize(sandbox: &Sandbox, wasm: &[u8], limits: &Limits) -> Result<Vec<u8>> {
    let wizer = Wizer::new();
    let (context, instrumented) = wizer.instrument(wasm)?;
    let module = Module::new(&sandbox.engine, &instrumented)
        .map_err(anyhow::Error::from)
        .context("compiling the module")?;
    let pre = sandbox.prepare(&module)?;
    let mut run = sandbox.store(&["preinit".to_owned()], Bytes::new(), limits)?;
    let (result, _) = block_on(run.call_in_place(&pre, PREINIT_EXPORT));
    match result {
        Ok(0) => {}
        Ok(code) => bail!("the initialiser exited with code {code}"),
        Err(stopped) => bail!("the initialiser {stopped}"),
    }
    let instance = run.instance.context("the initialiser left no instance")?;
    let mut state = Snapshotted {
        store: &mut run.store,
        instance,
    };
    Ok(block_on(wizer.snapshot(&context, &mut state))?)
}

/// The instance Wizer reads the initialised state from.
struct Snapshotted<'a> {
    store: &'a mut wasmtime::Store<crate::sandbox::Guest>,
    instance: wasmtime::Instance,
}

impl InstanceState for Snapshotted<'_> {
    async fn global_get(&mut self, name: &str, _type_hint: ValType) -> SnapshotVal {
        let global = self
            .instance
            .get_global(&mut *self.store, name)
            .expect("Wizer asks only for the globals it exported");
        match global.get(&mut *self.store) {
            wasmtime::Val::I32(x) => SnapshotVal::I32(x),
            wasmtime::Val::I64(x) => SnapshotVal::I64(x),
            wasmtime::Val::F32(x) => SnapshotVal::F32(x),
            wasmtime::Val::F64(x) => SnapshotVal::F64(x),
            wasmtime::Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => panic!("a global of type {other:?} cannot be snapshotted"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self
            .instance
            .get_memory(&mut *self.store, name)
            .expect("Wizer asks only for the memories it exported");
        contents(memory.data(&*self.store));
    }
}

/// Drives a load-time future to its end on the loading thread (a run whose WASI calls never
/// wait: memory pipes and frozen clocks; Wizer's snapshot).
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds")
        .block_on(future)
}

/// `<cache>/<module sha256>-<engine hash>[-preinit].cwasm`.
fn cache_path(sandbox: &Sandbox, dir: &Path, sha256: &str, preinit: bool) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    sandbox
        .engine
        .precompile_compatibility_hash()
        .hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    let suffix = if preinit { "-preinit" } else { "" };
    dir.join(format!("{sha256}-{:016x}{suffix}.cwasm", hasher.finish()))
}

fn load_cached(sandbox: &Sandbox, file: &Path) -> Option<Module> {
    if !file.is_file() {
        return None;
    }
    // SAFETY: the cache directory holds only what `store_cached` wrote, renamed into place
    // whole, and is as trusted as this binary (see --cache-dir); wasmtime checks the file's
    // header and that it was compiled by this engine's version and settings.
    #[allow(unsafe_code)]
    let module = unsafe { Module::deserialize_file(&sandbox.engine, file) };
    module.ok()
}

/// Best effort: a cache that cannot be written costs a compilation at the next start, nothing
/// else.
fn store_cached(module: &Module, file: &Path) {
    let Ok(bytes) = module.serialize() else {
        return;
    };
    let Some(dir) = file.parent() else {
        return;
    };
    let partial = file.with_extension(format!("partial-{}", std::process::id()));
    let written = fs::create_dir_all(dir)
        .and_then(|()| fs::write(&partial, bytes))
        .and_then(|()| fs::rename(&partial, file));
    if written.is_err() {
        let _ = fs::remove_file(&partial);
    }
}

/// The model's metadata, asked of the module itself (`--oip-metadata`) under its limits.
pub(crate) fn query_metadata(
    sandbox: &Sandbox,
    pre: &wasmtime::InstancePre<crate::sandbox::Guest>,
    limits: &Limits,
) -> Result<serde_json::Value> {
    let args = ["model".to_owned(), "--oip-metadata".to_owned()];
    let run = sandbox.store(&args, Bytes::new(), limits)?;
    let (outcome, _) = block_on(run.call(pre, "_start"));
    let stdout = match outcome {
        Outcome::Exited {
            code: 0, stdout, ..
        } => stdout,
        Outcome::Exited { code, stderr, .. } => bail!(
            "--oip-metadata exited with code {code}: {}",
            first_line(&stderr)
        ),
        Outcome::Stopped(stopped) => bail!("--oip-metadata {stopped}"),
    };
    crate::metadata::validate(&stdout)
}

/// The first line of a module's stderr, for an error message.
pub(crate) fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        "(no message)".to_owned()
    } else {
        line.chars().take(1000).collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
