//! Running helper commands (Python client scripts, kcat) with a time limit.
//!
//! Every command a test starts is bounded: [`run`] waits at most the given
//! time, then kills the command and fails the test. [`Background`] is for a
//! command that must run while the test does something else (the crash
//! test's producer); it is killed by PID when dropped, so a failing test
//! never leaves it behind. Output is read on separate threads so a chatty
//! command cannot block on a full pipe.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What a finished command printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    /// How the command ended.
    pub status: ExitStatus,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

impl Output {
    /// stdout as UTF-8 (lossy).
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as UTF-8 (lossy).
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A command running in the background with its output captured.
///
/// Dropping it kills the process (SIGKILL, by PID) if it is still running.
#[derive(Debug)]
pub struct Background {
    description: String,
    child: Child,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

impl Background {
    /// Starts `cmd` with stdout and stderr captured and stdin closed.
    #[track_caller]
    pub fn spawn(cmd: &mut Command) -> Background {
        Self::spawn_inner(cmd, None).0
    }

    fn spawn_inner(cmd: &mut Command, stdin: Option<Stdio>) -> (Background, Option<ChildStdin>) {
        let description = describe(cmd);
        cmd.stdin(stdin.unwrap_or_else(Stdio::null))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{description}`: {e} (is it installed? scripts/install-test-deps installs the test tools)"));
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        let stdin = child.stdin.take();
        (
            Background {
                description,
                child,
                stdout,
                stderr,
            },
            stdin,
        )
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits at most `timeout` for the process to end and returns its
    /// output. Panics (after killing it) if it is still running then.
    #[track_caller]
    pub fn wait(mut self, timeout: Duration) -> Output {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    let output = self.collect(None);
                    panic!(
                        "`{}` did not finish within {timeout:?}; killed it\n{}",
                        self.description,
                        output_tail(&output)
                    );
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("waiting for `{}`: {e}", self.description),
            }
        };
        self.collect(Some(status))
    }

    fn collect(&mut self, status: Option<ExitStatus>) -> Output {
        let join = |h: Option<JoinHandle<Vec<u8>>>| h.map(|h| h.join().unwrap_or_default());
        Output {
            status: status.unwrap_or_else(|| {
                self.child
                    .wait()
                    .unwrap_or_else(|e| panic!("waiting for `{}`: {e}", self.description))
            }),
            stdout: join(self.stdout.take()).unwrap_or_default(),
            stderr: join(self.stderr.take()).unwrap_or_default(),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Runs `cmd` to completion within `timeout`, whatever its exit status.
#[track_caller]
pub fn run(cmd: &mut Command, timeout: Duration) -> Output {
    Background::spawn(cmd).wait(timeout)
}

/// Runs `cmd` with `input` on its stdin, to completion within `timeout`.
#[track_caller]
pub fn run_with_input(cmd: &mut Command, input: &[u8], timeout: Duration) -> Output {
    let (bg, stdin) = Background::spawn_inner(cmd, Some(Stdio::piped()));
    let mut stdin = stdin.expect("stdin was piped");
    let input = input.to_vec();
    // Write on a thread: a command that stops reading must not block us.
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = bg.wait(timeout);
    let _ = writer.join();
    output
}

/// Runs `cmd` within `timeout` and panics, showing its stderr and stdout,
/// unless it exits with status 0.
#[track_caller]
pub fn run_ok(cmd: &mut Command, timeout: Duration) -> Output {
    let description = describe(cmd);
    check_ok(&description, run(cmd, timeout))
}

/// Like [`run_ok`], with `input` on the command's stdin.
#[track_caller]
pub fn run_ok_with_input(cmd: &mut Command, input: &[u8], timeout: Duration) -> Output {
    let description = describe(cmd);
    check_ok(&description, run_with_input(cmd, input, timeout))
}

/// Panics with the command's output unless it exited with status 0.
#[track_caller]
pub fn check_ok(description: &str, output: Output) -> Output {
    if !output.status.success() {
        panic!(
            "`{description}` failed ({})\n{}",
            output.status,
            output_tail(&output)
        );
    }
    output
}

/// The last lines of a command's stderr and stdout, for failure messages.
pub fn output_tail(output: &Output) -> String {
    let mut s = String::new();
    for (name, bytes) in [("stderr", &output.stderr), ("stdout", &output.stdout)] {
        let text = String::from_utf8_lossy(bytes);
        let _ = writeln!(s, "--- {name} (last 40 lines) ---");
        for line in tail_lines(&text, 40) {
            let _ = writeln!(s, "{line}");
        }
    }
    s
}

/// The last `n` lines of `text`.
pub fn tail_lines(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// A shell-like rendering of a command, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}
