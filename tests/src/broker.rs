//! One real `holocrond` process on free 127.0.0.1 ports with its own temp dir.
//!
//! [`Broker::start`] returns only once the Kafka listener answers an
//! ApiVersions request, so a test can connect clients right away. The broker's
//! stderr (and stdout) go to `broker.log` in the temp dir; when a test fails
//! while a broker is alive, its `Drop` prints the tail of that log. Processes
//! are always stopped by PID: SIGTERM, a bounded wait, then SIGKILL.

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::process::tail_lines;

/// How many lines of the broker log a failing test prints.
const LOG_TAIL_LINES: usize = 80;

/// Options for [`Broker::start_with`]. `Default` gives the broker's defaults.
#[derive(Debug, Clone)]
pub struct BrokerOpts {
    /// `--auto-create-topics`; `None` leaves the broker's default.
    pub auto_create_topics: Option<bool>,
    /// `--default-partitions`; `None` leaves the broker's default.
    pub default_partitions: Option<u32>,
    /// `--log-level`; `None` leaves the broker's default.
    pub log_level: Option<String>,
    /// More command-line arguments, appended as given.
    pub extra_args: Vec<String>,
    /// More environment variables for the broker process.
    pub env: Vec<(String, String)>,
    /// Pass the settings above as `HOLOCRON_<FLAG>` environment variables
    /// instead of command-line flags.
    pub settings_as_env: bool,
    /// How long to wait for the broker to answer ApiVersions after starting.
    pub start_timeout: Duration,
    /// How long `stop()` waits after SIGTERM before sending SIGKILL.
    pub stop_timeout: Duration,
}

impl Default for BrokerOpts {
    fn default() -> Self {
        BrokerOpts {
            auto_create_topics: None,
            default_partitions: None,
            log_level: None,
            extra_args: Vec::new(),
            env: Vec::new(),
            settings_as_env: false,
            start_timeout: Duration::from_secs(20),
            stop_timeout: Duration::from_secs(15),
        }
    }
}

/// How a broker process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It exited by itself (after SIGTERM) with this status.
    Exited(ExitStatus),
    /// It did not exit within the stop timeout and was killed with SIGKILL.
    Killed,
    /// It was not running (never started, already stopped or killed).
    NotRunning,
}

/// A running (or stopped, restartable) `holocrond` process.
#[derive(Debug)]
pub struct Broker {
    opts: BrokerOpts,
    bin: PathBuf,
    dir: TempDir,
    kafka_port: u16,
    metrics_port: u16,
    child: Option<Child>,
    starts: u32,
    /// The log tail was already part of a panic message.
    log_reported: bool,
}

impl Broker {
    /// Starts a broker with default options. Panics if it does not come up.
    #[track_caller]
    pub fn start() -> Broker {
        Self::start_with(BrokerOpts::default())
    }

    /// Starts a broker with `opts`. Panics if it does not come up.
    ///
    /// Free ports are found by binding port 0 and closing the socket; if
    /// another process takes one of them before the broker binds it, the
    /// start is retried on new ports.
    #[track_caller]
    pub fn start_with(opts: BrokerOpts) -> Broker {
        let dir = tempfile::Builder::new()
            .prefix("holocron-e2e-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let mut broker = Broker {
            bin: crate::holocrond_bin(),
            opts,
            dir,
            kafka_port: 0,
            metrics_port: 0,
            child: None,
            starts: 0,
            log_reported: false,
        };
        const ATTEMPTS: u32 = 3;
        for attempt in 1..=ATTEMPTS {
            (broker.kafka_port, broker.metrics_port) = free_port_pair();
            match broker.launch() {
                Ok(()) => return broker,
                Err(StartError::PortTaken) if attempt < ATTEMPTS => {
                    eprintln!("harness: a chosen port was taken; retrying on new ports");
                }
                Err(e) => broker.fail_start(e),
            }
        }
        unreachable!("the last attempt either returns or panics")
    }

    /// The Kafka bootstrap address, `127.0.0.1:PORT`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.kafka_port)
    }

    /// The Kafka listener's socket address.
    pub fn kafka_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.kafka_port))
    }

    /// The metrics listener's address, `127.0.0.1:PORT`.
    pub fn metrics_addr(&self) -> String {
        format!("127.0.0.1:{}", self.metrics_port)
    }

    /// The process id of the running broker. Panics if it is not running.
    #[track_caller]
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .map(Child::id)
            .expect("the broker is not running")
    }

    /// The broker's data directory (kept across restarts).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A scratch directory owned by this broker's test, removed with it.
    pub fn work_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The file that receives the broker's stderr and stdout.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("broker.log")
    }

    /// The whole broker log so far (every start of this broker).
    pub fn log(&self) -> String {
        fs::read(self.log_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Whether the broker process is alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the broker with SIGKILL and reaps it: a crash, no shutdown.
    #[track_caller]
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("kill9: the broker is not running");
        signal(child.id(), "KILL");
        let _ = child.wait();
        self.note("killed with SIGKILL by the test");
    }

    /// Graceful stop: SIGTERM, wait up to the stop timeout, then SIGKILL.
    pub fn stop(&mut self) -> Stopped {
        let Some(mut child) = self.child.take() else {
            return Stopped::NotRunning;
        };
        if let Ok(Some(status)) = child.try_wait() {
            self.note(&format!("had already exited: {status}"));
            return Stopped::Exited(status);
        }
        signal(child.id(), "TERM");
        let deadline = Instant::now() + self.opts.stop_timeout;
        let stopped = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Stopped::Exited(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => {
                    signal(child.id(), "KILL");
                    let _ = child.wait();
                    break Stopped::Killed;
                }
            }
        };
        self.note(&format!("stopped by the test: {stopped:?}"));
        stopped
    }

    /// Stops the broker gracefully (if running) and starts it again with the
    /// same data dir and ports. Panics unless a running broker exits with
    /// status 0 after SIGTERM within the stop timeout, or if it does not come
    /// back up. After [`Broker::kill9`] this just starts it again.
    #[track_caller]
    pub fn restart(&mut self) {
        match self.stop() {
            Stopped::NotRunning => {}
            Stopped::Exited(status) if status.success() => {}
            other => panic!(
                "graceful shutdown failed: {other:?} (expected exit status 0 after SIGTERM)\n{}",
                self.log_tail()
            ),
        }
        if let Err(e) = self.launch() {
            self.fail_start(e);
        }
    }

    /// Panics if the broker log shows a panic (a task may panic without
    /// the process dying, e.g. one connection's handler).
    #[track_caller]
    pub fn assert_no_panics(&self) {
        let log = self.log();
        if let Some(line) = log.lines().find(|l| l.contains("panicked")) {
            panic!("the broker panicked: {line}\n{}", self.log_tail());
        }
    }

    /// The last lines of the broker log.
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let mut s = format!(
            "--- holocrond log {} (last {LOG_TAIL_LINES} lines) ---\n",
            self.log_path().display()
        );
        for line in tail_lines(&log, LOG_TAIL_LINES) {
            s.push_str(line);
            s.push('\n');
        }
        s.push_str("--- end of holocrond log ---");
        s
    }

    /// The broker's settings as (flag, value) pairs, e.g. ("data-dir", "/tmp/…").
    fn settings(&self) -> Vec<(&'static str, String)> {
        let mut settings = vec![
            ("data-dir", self.data_dir().display().to_string()),
            (
                "listen",
                format!("plaintext://127.0.0.1:{}", self.kafka_port),
            ),
            ("metrics-listen", self.metrics_addr()),
        ];
        if let Some(v) = self.opts.auto_create_topics {
            settings.push(("auto-create-topics", v.to_string()));
        }
        if let Some(n) = self.opts.default_partitions {
            settings.push(("default-partitions", n.to_string()));
        }
        if let Some(level) = &self.opts.log_level {
            settings.push(("log-level", level.clone()));
        }
        settings
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        // The test's own HOLOCRON_* settings must not leak into the broker.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("HOLOCRON_") {
                cmd.env_remove(key);
            }
        }
        for (flag, value) in self.settings() {
            if self.opts.settings_as_env {
                let var = format!("HOLOCRON_{}", flag.replace('-', "_").to_uppercase());
                cmd.env(var, value);
            } else {
                cmd.arg(format!("--{flag}")).arg(value);
            }
        }
        cmd.args(&self.opts.extra_args);
        // Plain log lines in broker.log (tracing-subscriber honours NO_COLOR).
        cmd.env("NO_COLOR", "1");
        cmd.envs(self.opts.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn launch(&mut self) -> Result<(), StartError> {
        self.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| StartError::Io(format!("cannot open the broker log: {e}")))?;
        let mut cmd = self.command();
        let _ = writeln!(
            log,
            "=== harness: start #{} at unix time {:.3}: {}",
            self.starts,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default(),
            crate::process::describe(&cmd)
        );
        if self.opts.settings_as_env {
            let _ = writeln!(
                log,
                "=== harness: settings in the environment: {:?}",
                self.settings()
            );
        }
        let stdout = log
            .try_clone()
            .map_err(|e| StartError::Io(format!("cannot share the broker log: {e}")))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(log));
        let child = cmd.spawn().map_err(|e| {
            StartError::Io(format!(
                "cannot start {}: {e} (set HOLOCROND_BIN or run `cargo build --workspace --bins`)",
                self.bin.display()
            ))
        })?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + self.opts.start_timeout;
        // Only this start's part of the log tells why this start failed.
        let log_start = self.log().len();
        loop {
            let child = self.child.as_mut().expect("launched");
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                let log = self
                    .log()
                    .get(log_start..)
                    .unwrap_or_default()
                    .to_lowercase();
                return Err(
                    if log.contains("address already in use") || log.contains("addrinuse") {
                        StartError::PortTaken
                    } else {
                        StartError::Exited(status)
                    },
                );
            }
            let last_error = match probe_api_versions(self.kafka_addr()) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(StartError::NotReady(last_error));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    #[track_caller]
    fn fail_start(&mut self, e: StartError) -> ! {
        let stopped = self.stop();
        self.log_reported = true;
        panic!(
            "holocrond ({}) did not start on {}: {e}; stopped it: {stopped:?}\n{}",
            self.bin.display(),
            self.bootstrap(),
            self.log_tail()
        );
    }

    fn note(&self, what: &str) {
        if let Ok(mut log) = OpenOptions::new().append(true).open(self.log_path()) {
            let _ = writeln!(log, "=== harness: {what}");
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let was_running = self.child.is_some();
        let stopped = self.stop();
        if !thread::panicking() {
            return;
        }
        if !self.log_reported {
            eprintln!(
                "harness: the test failed; broker on {} was {} ({stopped:?})\n{}",
                self.bootstrap(),
                if was_running {
                    "running"
                } else {
                    "not running"
                },
                self.log_tail()
            );
        }
        if std::env::var_os("HOLOCRON_TEST_KEEP_DIR").is_some() {
            self.dir.disable_cleanup(true);
            eprintln!("harness: kept {}", self.dir.path().display());
        }
    }
}

#[derive(Debug)]
enum StartError {
    PortTaken,
    Exited(ExitStatus),
    NotReady(String),
    Io(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::PortTaken => write!(f, "a chosen port was taken"),
            StartError::Exited(status) => write!(f, "it exited during startup: {status}"),
            StartError::NotReady(last) => {
                write!(f, "no ApiVersions answer in time; last attempt: {last}")
            }
            StartError::Io(what) => write!(f, "{what}"),
        }
    }
}

/// Sends a signal by PID with the `kill` command (no unsafe, no extra crate).
fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if let Err(e) = status {
        eprintln!("harness: cannot run `kill -{name} {pid}`: {e}");
    }
}

/// Two distinct ports that were free a moment ago.
fn free_port_pair() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let ports = (
        a.local_addr().expect("local addr").port(),
        b.local_addr().expect("local addr").port(),
    );
    drop((a, b));
    ports
}

/// Connects and checks that an ApiVersions v0 request gets an answer with
/// the same correlation id and error code 0.
pub fn probe_api_versions(addr: SocketAddr) -> Result<(), String> {
    const CORRELATION_ID: i32 = 0x484f_4c4f; // "HOLO"
    let timeout = Duration::from_secs(2);
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("set timeouts: {e}"))?;
    stream
        .write_all(&api_versions_v0_request(
            CORRELATION_ID,
            "holocron-e2e-probe",
        ))
        .map_err(|e| format!("write: {e}"))?;
    let mut size = [0u8; 4];
    stream
        .read_exact(&mut size)
        .map_err(|e| format!("read size: {e}"))?;
    let size = i32::from_be_bytes(size);
    if !(6..=1 << 20).contains(&size) {
        return Err(format!("implausible response size {size}"));
    }
    let mut body = vec![0u8; size as usize];
    stream
        .read_exact(&mut body)
        .map_err(|e| format!("read body: {e}"))?;
    let _ = stream.shutdown(Shutdown::Both);
    let correlation_id = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    let error_code = i16::from_be_bytes([body[4], body[5]]);
    if correlation_id != CORRELATION_ID {
        return Err(format!(
            "correlation id {correlation_id}, sent {CORRELATION_ID}"
        ));
    }
    if error_code != 0 {
        return Err(format!("ApiVersions v0 error code {error_code}"));
    }
    Ok(())
}

/// A hand-framed ApiVersions v0 request: size, api key 18, version 0,
/// correlation id, client id; the v0 body is empty.
pub fn api_versions_v0_request(correlation_id: i32, client_id: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&18i16.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&correlation_id.to_be_bytes());
    body.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    body.extend_from_slice(client_id.as_bytes());
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}
