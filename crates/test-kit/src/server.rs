//! The real `model-server` binary on an ephemeral loopback port: started, its address read
//! from the first line it prints, waited for until ready, and killed when dropped. The
//! serving tests and the named-graph agreement check both start it here.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The line `model-server` prints first, before the address it listens on.
const LISTENING: &str = "model-server: listening on ";

/// A running `model-server`, killed when dropped.
#[derive(Debug)]
pub struct RunningServer {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// A client that takes every status as an answer, not an error.
    pub agent: ureq::Agent,
}

impl RunningServer {
    /// Starts `command` (a `model-server` command line) listening on `127.0.0.1:0`, reads the
    /// address from the first line it prints, and waits until `/v2/health/ready` answers 200.
    /// The agent's requests may take up to `timeout`.
    pub fn start(mut command: Command, timeout: Duration) -> Self {
        let mut child = command
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("model-server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout is piped"))
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix(LISTENING)
            .unwrap_or_else(|| panic!("the first line names the address: {line:?}"))
            .to_owned();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        let server = Self { child, url, agent };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while self.status("/v2/health/ready") != 200 {
            assert!(Instant::now() < deadline, "the server did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The status of a GET of `path`; 0 when the server does not answer.
    pub fn status(&self, path: &str) -> u16 {
        self.agent
            .get(&format!("{}{path}", self.url))
            .call()
            .map_or(0, |r| r.status().as_u16())
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The whole body of an answer, up to `limit` bytes.
pub fn body_bytes(response: &mut ureq::http::Response<ureq::Body>, limit: u64) -> Vec<u8> {
    response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .unwrap()
}
