//! One run of a module in a fresh instance: the engine every model shares (pooling allocator,
//! copy-on-write memory images, epoch interruption and fuel), the capabilities a run gets
//! (its arguments, stdin, capped stdout and stderr, frozen clocks; no files, sockets or
//! environment), and what became of it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, ProfilingStrategy, ResourceLimiter, Store, Trap,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, I32Exit, WasiCtxBuilder};
use wasmtime_wasi_nn::witx::WasiNnCtx;

use crate::graphs::Graphs;

use crate::options::{Limits, Profiler};

/// How often the engine's epoch advances: the granularity of every deadline (a finer tick
/// costs a core's time in wake-ups).
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Fuel between a run's yields to the worker it runs on, so the connections that worker also
/// serves are not held up behind a long model (about a millisecond of guest code).
const FUEL_YIELD_INTERVAL: u64 = 5_000_000;
/// What a run may write to stderr; its first line is the error message.
const STDERR_BYTES: usize = 64 << 10;
/// Largest linear memory any model may be given: the pooling allocator reserves this much
/// address space (not memory) per instance slot.
pub(crate) const MAX_MEMORY_BYTES: usize = 4 << 30;

/// What one instance's host side holds: its WASI context and its memory accounting.
pub(crate) struct Guest {
    wasi: WasiP1Ctx,
    /// The named graphs it may ask for (wasi-nn); a module without wasi-nn imports never can.
    nn: WasiNnCtx,
    limiter: MemoryLimiter,
}

/// Caps linear memory growth and remembers the peak and whether growth was refused.
#[derive(Debug)]
struct MemoryLimiter {
    max_bytes: usize,
    peak_bytes: usize,
    refused: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.refused = true;
            return Ok(false);
        }
        self.peak_bytes = self.peak_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// A clock that never moves: a run is given no time of day and no way to measure time.
#[derive(Debug, Clone, Copy)]
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// The engine and linker every model shares.
#[derive(Clone)]
pub(crate) struct Sandbox {
    pub(crate) engine: Engine,
    linker: Arc<Linker<Guest>>,
    graphs: Graphs,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").finish_non_exhaustive()
    }
}

impl Sandbox {
    /// An engine with room for `slots` instances at once, each slot keeping up to
    /// `resident_bytes` of what its last request wrote (reset by copying, not unmapping), its
    /// code announced to `profiler`.
    pub(crate) fn new(slots: u32, resident_bytes: usize, profiler: Profiler) -> Result<Self> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(slots)
            .linear_memory_keep_resident(resident_bytes)
            .table_keep_resident(resident_bytes.min(1 << 20))
            .pagemap_scan(Enabled::Auto)
            .total_memories(slots)
            .total_tables(slots)
            .total_stacks(slots)
            .max_memory_size(MAX_MEMORY_BYTES)
            .max_core_instance_size(4 << 20);
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .consume_fuel(true)
            .memory_init_cow(true)
            .profiler(match profiler {
                Profiler::None => ProfilingStrategy::None,
                Profiler::Perfmap => ProfilingStrategy::PerfMap,
                Profiler::Jitdump => ProfilingStrategy::JitDump,
            })
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("cannot create the wasmtime engine")?;
        let mut linker = Linker::new(&engine);
        // Asynchronous WASI: a run is a future polled on the request's own task (its guest on a
        // fiber stack from the pool), so serving a request wakes no other thread; see
        // `FUEL_YIELD_INTERVAL` for how a long run still lets the worker's other tasks on.
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |guest: &mut Guest| &mut guest.wasi)?;
        // wasi-nn's calls are synchronous: a graph computes on the request's own thread.
        wasmtime_wasi_nn::witx::add_to_linker(&mut linker, |guest: &mut Guest| &mut guest.nn)?;
        Ok(Self {
            engine,
            linker: Arc::new(linker),
            graphs: Graphs::default(),
        })
    }

    /// The same engine, its stores given `graphs` to ask for by name.
    pub(crate) fn with_graphs(mut self, graphs: Graphs) -> Self {
        self.graphs = graphs;
        self
    }

    pub(crate) fn graphs(&self) -> &Graphs {
        &self.graphs
    }

    /// Advances the epoch forever on a thread of its own: deadlines count these ticks.
    pub(crate) fn start_epoch_ticker(&self) {
        let engine = self.engine.clone();
        std::thread::Builder::new()
            .name("epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("the epoch thread starts");
    }

    /// Links a module against WASI once, so each request only instantiates.
    pub(crate) fn prepare(&self, module: &Module) -> Result<InstancePre<Guest>> {
        Ok(self.linker.instantiate_pre(module)?)
    }

    /// A store for one run, its capabilities and limits set.
    pub(crate) fn store(&self, args: &[String], stdin: Bytes, limits: &Limits) -> Result<Run> {
        // One byte beyond the limit: a pipe filled to it holds a cut-off answer.
        let stdout = MemoryOutputPipe::new(limits.output_bytes.saturating_add(1));
        let stderr = MemoryOutputPipe::new(STDERR_BYTES);
        let wasi = WasiCtxBuilder::new()
            .args(args)
            .stdin(MemoryInputPipe::new(stdin))
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .build_p1();
        let guest = Guest {
            wasi,
            nn: WasiNnCtx::new(Vec::new(), self.graphs.registry()),
            limiter: MemoryLimiter {
                max_bytes: limits.memory_bytes,
                peak_bytes: 0,
                refused: false,
            },
        };
        let mut store = Store::new(&self.engine, guest);
        store.limiter(|guest| &mut guest.limiter);
        store.set_fuel(limits.fuel)?;
        store.fuel_async_yield_interval(Some(FUEL_YIELD_INTERVAL))?;
        let ticks = limits.deadline.as_millis().div_ceil(EPOCH_TICK.as_millis());
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX).max(1));
        store.epoch_deadline_trap();
        Ok(Run {
            store,
            stdout,
            stderr,
            limits: *limits,
            instance: None,
        })
    }
}

/// A store about to run, with its output pipes.
pub(crate) struct Run {
    pub(crate) store: Store<Guest>,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    limits: Limits,
    /// The instance once [`Run::call_in_place`] made it, for snapshots.
    pub(crate) instance: Option<wasmtime::Instance>,
}

/// What a run cost.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    pub(crate) instantiate: Duration,
    pub(crate) run: Duration,
    pub(crate) fuel: u64,
    pub(crate) memory_bytes: usize,
}

/// How a run ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The module exited by itself.
    Exited {
        code: i32,
        stdout: Bytes,
        stderr: Bytes,
    },
    /// The host stopped it, or it trapped.
    Stopped(Stopped),
}

/// Why the host stopped a run: each is the model's fault and fails only this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stopped {
    Deadline(Duration),
    Fuel(u64),
    Memory(usize),
    Output(usize),
    Trap(String),
    Instantiate(String),
    /// A host call panicked on what the module passed it (wasmtime-wasi-nn's witx glue does on
    /// some bad guest pointers).
    HostPanic(String),
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::Deadline(d) => write!(f, "ran past its deadline of {} ms", d.as_millis()),
            Stopped::Fuel(fuel) => write!(f, "used up its fuel ({fuel} units)"),
            Stopped::Memory(bytes) => write!(
                f,
                "tried to grow its memory beyond its limit of {} MiB",
                bytes >> 20
            ),
            Stopped::Output(bytes) => {
                write!(f, "wrote more than its output limit of {bytes} bytes")
            }
            Stopped::Trap(message) => write!(f, "trapped: {message}"),
            Stopped::Instantiate(message) => write!(f, "could not be instantiated: {message}"),
            Stopped::HostPanic(message) => {
                write!(f, "made a host call fail ({message})")
            }
        }
    }
}

impl Run {
    /// Instantiates `pre` in this store and calls `entry` (`_start`, or an initialiser). A host
    /// call that panics fails this run only: the store, and the instance with it, are dropped.
    pub(crate) async fn call(mut self, pre: &InstancePre<Guest>, entry: &str) -> (Outcome, Usage) {
        let (result, usage) = match catch_panic(self.call_in_place(pre, entry)).await {
            Ok(finished) => finished,
            Err(message) => (Err(Stopped::HostPanic(message)), Usage::default()),
        };
        // WASI writes stop at the pipe's capacity (the guest sees an error and may loop, exit
        // or trap): a full pipe means the answer was cut off, whatever happened next.
        let stdout = self.stdout.contents();
        if stdout.len() > self.limits.output_bytes {
            return (
                Outcome::Stopped(Stopped::Output(self.limits.output_bytes)),
                usage,
            );
        }
        let outcome = match result {
            Ok(code) => Outcome::Exited {
                code,
                stdout,
                stderr: self.stderr.contents(),
            },
            Err(stopped) => Outcome::Stopped(stopped),
        };
        (outcome, usage)
    }

    /// [`Run::call`], keeping the instance for the caller (who snapshots it).
    pub(crate) async fn call_in_place(
        &mut self,
        pre: &InstancePre<Guest>,
        entry: &str,
    ) -> (Result<i32, Stopped>, Usage) {
        let mut usage = Usage::default();
        let started = Instant::now();
        let instance = match pre.instantiate_async(&mut self.store).await {
            Ok(instance) => instance,
            Err(error) => return (Err(self.classify(&error)), usage),
        };
        usage.instantiate = started.elapsed();
        let result = match instance.get_typed_func::<(), ()>(&mut self.store, entry) {
            Ok(func) => func.call_async(&mut self.store, ()).await,
            Err(error) => Err(error),
        };
        usage.run = started.elapsed() - usage.instantiate;
        usage.fuel = self.limits.fuel - self.store.get_fuel().unwrap_or(0);
        usage.memory_bytes = self.store.data().limiter.peak_bytes;
        self.instance = Some(instance);
        let result = match result {
            Ok(()) => Ok(0),
            Err(error) => match error.downcast_ref::<I32Exit>() {
                Some(exit) => Ok(exit.0),
                None => Err(self.classify(&error)),
            },
        };
        (result, usage)
    }

    fn classify(&self, error: &wasmtime::Error) -> Stopped {
        if self.store.data().limiter.refused {
            return Stopped::Memory(self.limits.memory_bytes);
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => return Stopped::Deadline(self.limits.deadline),
            Some(Trap::OutOfFuel) => return Stopped::Fuel(self.limits.fuel),
            _ => {}
        }
        let message = format!("{error:#}");
        let first_line = message.lines().next().unwrap_or_default().to_owned();
        if error.downcast_ref::<Trap>().is_some() || message.contains("wasm trap") {
            Stopped::Trap(first_line)
        } else {
            Stopped::Instantiate(first_line)
        }
    }
}

/// `future`'s output, or the message of a panic raised while it was polled.
async fn catch_panic<F: Future>(future: F) -> Result<F::Output, String> {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::task::Poll;
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|context| {
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(context))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    })
    .await
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}
