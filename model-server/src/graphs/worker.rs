//! Named graphs in worker processes (`--graph-workers N`): each graph's Burn code runs in N
//! processes of its own (`model-server graph-worker ALGO=DIR [--graph-device ...]`), so a fault in native model
//! code, or memory it leaks, ends a worker and fails only the requests it was serving. The
//! server starts a new worker for the next request. A request whose worker does not answer
//! within the deadline is failed and the worker killed. Each worker limits its own memory
//! (`RLIMIT_DATA`, `--graph-worker-memory-mib`) before it loads anything, so a leak or an
//! oversized computation ends that worker only.
//!
//! The pipe protocol, little-endian, one request at a time per worker:
//! - the worker, once loaded: status 0 and the model's SHA-256 (64 ASCII bytes), a newline and
//!   the device it computes on;
//! - a request: kind (u8: 0 F32, 1 U8), rank (u32), each axis (u64), data length (u64), data;
//! - a reply: status (u8: 0 the output as F32 values, 1 an error message in UTF-8), length
//!   (u64), payload.

use std::io::{BufReader, BufWriter, Read, Write};
use std::os::fd::AsFd;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use module_kit::graph::GraphInput;

use super::backend::{
    DeviceOptions, GraphSource, HostedGraph, RunGraph, WorkerSettings, load_in_process, spec_of,
};
use super::error::{FrameError, LoadGraphError, RunError, StartError, WorkerError};

/// Largest frame either side accepts: far above any batch a module's memory limit allows.
const MAX_FRAME_BYTES: u64 = 1 << 30;

/// Caps this process's heap and private writable mappings: an allocation beyond it fails, and
/// the worker aborts instead of taking the machine's memory.
fn limit_memory(mib: u64) -> Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    if mib == 0 {
        return Ok(());
    }
    let bytes = mib.saturating_mul(1 << 20);
    setrlimit(
        Resource::Data,
        Rlimit {
            current: Some(bytes),
            maximum: Some(bytes),
        },
    )
    .with_context(|| format!("cannot limit the worker's memory to {mib} MiB"))
}

/// `model-server graph-worker`'s arguments, as the server passes them.
#[derive(Debug, clap::Parser)]
#[command(name = "model-server graph-worker")]
struct WorkerArgs {
    source: GraphSource,
    #[command(flatten)]
    device: DeviceOptions,
    /// RLIMIT_DATA in MiB; 0: none.
    #[arg(long, default_value_t = 0)]
    memory_mib: u64,
}

/// `model-server graph-worker ALGO=DIR`: loads the graph, says so, answers until stdin ends.
pub(crate) fn serve_worker(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    use clap::Parser;
    let args = WorkerArgs::parse_from(args);
    match worker_loop(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("model-server graph-worker: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn worker_loop(args: &WorkerArgs) -> Result<()> {
    limit_memory(args.memory_mib)?;
    let graph = load_in_process(&args.source, &args.device.acquire()?)?;
    let mut input = BufReader::new(std::io::stdin().lock());
    let mut output = BufWriter::new(std::io::stdout().lock());
    let hello = format!("{}\n{}", graph.model_sha256, graph.device);
    write_reply(&mut output, 0, hello.as_bytes())?;
    loop {
        let request = match read_request(&mut input) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(error) => {
                write_reply(&mut output, 1, error.to_string().as_bytes())?;
                return Err(error.into());
            }
        };
        match graph.run(request) {
            Ok(values) => {
                let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                write_reply(&mut output, 0, &bytes)?;
            }
            Err(error) => write_reply(&mut output, 1, error.to_string().as_bytes())?,
        }
    }
}

fn write_reply(out: &mut impl Write, status: u8, payload: &[u8]) -> std::io::Result<()> {
    out.write_all(&[status])?;
    out.write_all(&(payload.len() as u64).to_le_bytes())?;
    out.write_all(payload)?;
    out.flush()
}

fn read_u64(input: &mut impl Read) -> std::io::Result<u64> {
    let mut bytes = [0u8; 8];
    input.read_exact(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

/// One request, or `None` at the end of stdin.
fn read_request(input: &mut impl Read) -> Result<Option<GraphInput>, FrameError> {
    let mut kind = [0u8; 1];
    if input.read(&mut kind)? == 0 {
        return Ok(None);
    }
    let mut rank = [0u8; 4];
    input.read_exact(&mut rank)?;
    let rank = u32::from_le_bytes(rank);
    if rank > 8 {
        return Err(FrameError::Rank(rank));
    }
    let shape = (0..rank)
        .map(|_| Ok(usize::try_from(read_u64(input)?)?))
        .collect::<Result<Vec<usize>, FrameError>>()?;
    let length = read_u64(input)?;
    if length > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge(length));
    }
    let mut data = vec![0u8; usize::try_from(length)?];
    input.read_exact(&mut data)?;
    Ok(Some(match kind[0] {
        0 => GraphInput::F32 {
            shape,
            values: data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        },
        1 => GraphInput::U8 {
            shape,
            values: data,
        },
        other => return Err(FrameError::Kind(other)),
    }))
}

fn write_request(out: &mut impl Write, input: &GraphInput) -> std::io::Result<()> {
    let kind = match input {
        GraphInput::F32 { .. } => 0u8,
        GraphInput::U8 { .. } => 1u8,
    };
    let mut frame = vec![kind];
    frame.extend((input.shape().len() as u32).to_le_bytes());
    for &axis in input.shape() {
        frame.extend((axis as u64).to_le_bytes());
    }
    let data = input.to_le_bytes();
    frame.extend((data.len() as u64).to_le_bytes());
    frame.extend(data);
    out.write_all(&frame)?;
    out.flush()
}

/// One worker process and its pipes.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Worker {
    /// Stops the worker (if it still runs) and says how it ended.
    fn end(&mut self) -> String {
        use std::os::unix::process::ExitStatusExt;
        // A worker whose pipe broke has usually died already: give it a moment to be reaped
        // with its own status; one still running is stopped here.
        let mut status = self.child.try_wait().ok().flatten();
        if status.is_none() {
            std::thread::sleep(Duration::from_millis(20));
            status = self.child.try_wait().ok().flatten();
        }
        let Some(status) = status else {
            let _ = self.child.kill();
            return "it was stopped".to_owned();
        };
        match (status.signal(), status.code()) {
            (Some(6), _) => "it aborted: out of memory, or a fault in native code".to_owned(),
            (Some(9), _) => "it was killed (SIGKILL)".to_owned(),
            (Some(signal), _) => format!("it was ended by signal {signal}"),
            (None, Some(code)) => format!("it exited with code {code}"),
            (None, None) => "it ended".to_owned(),
        }
    }

    /// Starts a worker; the model it serves and its device once it has loaded.
    fn spawn(
        source: &GraphSource,
        device: DeviceOptions,
        memory_mib: u64,
    ) -> Result<(Self, Hello), StartError> {
        let exe = std::env::current_exe().map_err(StartError::OwnBinary)?;
        let mut command = Command::new(exe);
        command
            .arg("graph-worker")
            .arg(format!("{}={}", source.name, source.dir.display()))
            .args(device.to_args())
            .arg(format!("--memory-mib={memory_mib}"))
            .env_clear();
        // A GPU driver finds its runtime directory there (the Vulkan loader warns without it).
        if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
            command.env("XDG_RUNTIME_DIR", dir);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(StartError::Spawn)?;
        let stdin = child.stdin.take().ok_or(StartError::NoPipe("stdin"))?;
        let stdout = child.stdout.take().ok_or(StartError::NoPipe("stdout"))?;
        let mut worker = Self {
            child,
            stdin,
            stdout,
        };
        // Loading is not held to the request deadline: a large model may take seconds.
        let hello = worker.reply(None).map_err(|error| {
            let ended = worker.end();
            let hint = match memory_mib {
                0 => String::new(),
                mib => format!(
                    " (with --graph-worker-memory-mib {mib}: raise it if the graph needs more)"
                ),
            };
            StartError::NoGreeting {
                name: source.name.clone(),
                error,
                ended,
                hint,
            }
        })?;
        let hello = String::from_utf8(hello).map_err(StartError::GreetingNotUtf8)?;
        let (model_sha256, device) = hello.split_once('\n').ok_or(StartError::BadGreeting)?;
        let hello = Hello {
            model_sha256: model_sha256.to_owned(),
            device: device.to_owned(),
        };
        Ok((worker, hello))
    }

    /// Waits up to `deadline` for the worker's output to become readable.
    fn wait_readable(&self, deadline: Duration) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let timeout = Timespec {
            tv_sec: deadline.as_secs() as i64,
            tv_nsec: i64::from(deadline.subsec_nanos()),
        };
        let fd = self.stdout.as_fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        matches!(poll(&mut fds, Some(&timeout)), Ok(n) if n > 0)
    }

    fn reply(&mut self, deadline: Option<Duration>) -> Result<Vec<u8>, WorkerError> {
        if let Some(deadline) = deadline
            && !self.wait_readable(deadline)
        {
            return Err(WorkerError::Late);
        }
        let died = |e: std::io::Error| WorkerError::Died(e.to_string());
        let mut status = [0u8; 1];
        self.stdout.read_exact(&mut status).map_err(died)?;
        let length = read_u64(&mut self.stdout).map_err(|e| WorkerError::Died(e.to_string()))?;
        if length > MAX_FRAME_BYTES {
            return Err(WorkerError::Died(format!("a reply of {length} bytes")));
        }
        let mut payload = vec![0u8; length as usize];
        self.stdout.read_exact(&mut payload).map_err(died)?;
        match status[0] {
            0 => Ok(payload),
            _ => Err(WorkerError::Refused(
                String::from_utf8_lossy(&payload).into_owned(),
            )),
        }
    }

    fn compute(&mut self, input: &GraphInput, deadline: Duration) -> Result<Vec<f32>, WorkerError> {
        write_request(&mut self.stdin, input).map_err(|e| WorkerError::Died(e.to_string()))?;
        let bytes = self.reply(Some(deadline))?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// What a worker says once it has loaded its graph.
struct Hello {
    model_sha256: String,
    device: String,
}

/// A graph's worker processes; a request takes a free one, or waits for its turn.
pub(crate) struct WorkerPool {
    source: GraphSource,
    device: DeviceOptions,
    memory_mib: u64,
    model_sha256: String,
    deadline: Duration,
    workers: Vec<Mutex<Option<Worker>>>,
    next: std::sync::atomic::AtomicUsize,
}

impl WorkerPool {
    /// Starts `count` workers for `source` and checks they serve the same model.
    pub(crate) fn start(
        source: &GraphSource,
        settings: WorkerSettings,
        device: DeviceOptions,
    ) -> Result<HostedGraph, LoadGraphError> {
        let spec =
            spec_of(&source.name).ok_or_else(|| LoadGraphError::Unknown(source.name.clone()))?;
        let mut workers = Vec::with_capacity(settings.count);
        let mut first: Option<Hello> = None;
        for _ in 0..settings.count.max(1) {
            let (worker, hello) = Worker::spawn(source, device, settings.memory_mib)?;
            if let Some(first) = &first
                && first.model_sha256 != hello.model_sha256
            {
                return Err(LoadGraphError::WorkersDisagree {
                    name: source.name.clone(),
                    first: first.model_sha256.clone(),
                    second: hello.model_sha256,
                });
            }
            first.get_or_insert(hello);
            workers.push(Mutex::new(Some(worker)));
        }
        let Hello {
            model_sha256,
            device: description,
        } = first.expect("at least one worker was started");
        let pool = Self {
            source: source.clone(),
            device,
            memory_mib: settings.memory_mib,
            model_sha256: model_sha256.clone(),
            deadline: settings.deadline,
            workers,
            next: std::sync::atomic::AtomicUsize::new(0),
        };
        Ok(HostedGraph::new(
            *spec,
            model_sha256,
            source.dir.clone(),
            format!(
                "{description}, in {} worker process(es)",
                pool.workers.len()
            ),
            Box::new(pool),
        ))
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Worker>> {
        for slot in &self.workers {
            if let Ok(guard) = slot.try_lock() {
                return guard;
            }
        }
        let turn = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let slot = &self.workers[turn % self.workers.len()];
        slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl RunGraph for WorkerPool {
    fn run(&self, input: GraphInput) -> Result<Vec<f32>, RunError> {
        let name = &self.source.name;
        let mut slot = self.slot();
        if slot.is_none() {
            let (worker, hello) = Worker::spawn(&self.source, self.device, self.memory_mib)?;
            if hello.model_sha256 != self.model_sha256 {
                return Err(RunError::OtherModel {
                    served: hello.model_sha256,
                    expected: self.model_sha256.clone(),
                });
            }
            tracing::info!(target: "graphs", "graph '{name}': a new worker (pid {}) replaces one that died", worker.child.id());
            *slot = Some(worker);
        }
        let worker = slot.as_mut().expect("a worker was just started");
        match worker.compute(&input, self.deadline) {
            Ok(values) => Ok(values),
            Err(WorkerError::Refused(message)) => Err(RunError::Refused(message)),
            Err(WorkerError::Died(why)) => {
                let ended = worker.end();
                *slot = None;
                Err(RunError::Died { why, ended })
            }
            Err(WorkerError::Late) => {
                *slot = None;
                Err(RunError::Late {
                    millis: self.deadline.as_millis(),
                })
            }
        }
    }
}
