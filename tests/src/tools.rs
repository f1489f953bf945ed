//! Where the tools under test and the test clients live, and how to run them.
//!
//! The Python scripts in `tests/python/` all take `--bootstrap`, print one
//! line of JSON on success and exit non-zero with a message on failure;
//! [`run_python`] runs one and returns that JSON. kcat and the Python
//! clients are installed by `scripts/install-test-deps`; a test that needs
//! them fails (never skips) when they are missing.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{self, Output};

/// The `holocrond` binary: `HOLOCROND_BIN`, else next to the test executable.
#[track_caller]
pub fn holocrond_bin() -> PathBuf {
    find_bin("holocrond", "HOLOCROND_BIN")
}

/// The `holocronctl` binary: `HOLOCRONCTL_BIN`, else next to the test executable.
#[track_caller]
pub fn holocronctl_bin() -> PathBuf {
    find_bin("holocronctl", "HOLOCRONCTL_BIN")
}

#[track_caller]
fn find_bin(name: &str, env_var: &str) -> PathBuf {
    if let Some(path) = env::var_os(env_var) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "{env_var}={} is not a file", path.display());
        return path;
    }
    // current_exe() is target/<profile>/deps/<test>-<hash>; binaries are
    // built into target/<profile>/.
    let exe = env::current_exe().expect("current_exe");
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(name))
        .collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{name} not found (looked at {candidates:?}); build it with \
                 `cargo build --workspace --bins` or set {env_var}"
            )
        })
}

/// The directory of the Python client scripts (`tests/python/`).
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// The path of one Python client script; panics if it does not exist.
#[track_caller]
pub fn python_script(name: &str) -> PathBuf {
    let path = python_dir().join(name);
    assert!(path.is_file(), "no such test script: {}", path.display());
    path
}

/// A command running `tests/python/<script>` with `python3` (or `$PYTHON`),
/// unbuffered so partial output survives a kill.
#[track_caller]
pub fn python_command(script: &str) -> Command {
    let python = env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    let mut cmd = Command::new(python);
    cmd.arg("-u").arg(python_script(script));
    cmd
}

/// Runs `tests/python/<script> --bootstrap <bootstrap> <args…>` within
/// `timeout`; panics with its stderr unless it exits 0. Returns the JSON
/// summary it printed as its last line of stdout.
#[track_caller]
pub fn run_python(
    script: &str,
    bootstrap: &str,
    args: &[&str],
    timeout: Duration,
) -> serde_json::Value {
    let mut cmd = python_command(script);
    cmd.arg("--bootstrap").arg(bootstrap).args(args);
    let output = process::run_ok(&mut cmd, timeout);
    json_summary(script, &output)
}

/// Parses the last line of a script's stdout as its JSON summary.
#[track_caller]
pub fn json_summary(script: &str, output: &Output) -> serde_json::Value {
    let stdout = output.stdout_str();
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    let Some(last) = last else {
        panic!(
            "{script} printed no summary\n{}",
            process::output_tail(output)
        );
    };
    serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "{script}: the last line of stdout is not JSON ({e}): {last}\n{}",
            process::output_tail(output)
        )
    })
}

/// A `kcat` command against `bootstrap`, with librdkafka's logs on stderr.
pub fn kcat(bootstrap: &str) -> Command {
    let mut cmd = Command::new("kcat");
    cmd.arg("-b").arg(bootstrap);
    cmd
}

/// A default time limit for one client command.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

/// Panics unless `name` runs (`name <version_arg>`), naming the installer.
#[track_caller]
pub fn require_tool(name: &str, version_arg: &str) {
    let ok = Command::new(name)
        .arg(version_arg)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "`{name} {version_arg}` does not run: install the test tools with scripts/install-test-deps"
    );
}
