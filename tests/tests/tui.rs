//! holocron-tui end to end: the real binary under tmux against a real
//! holocrond. Keys go in with `tmux send-keys`, the screen comes back with
//! `tmux capture-pane`. Each test runs its own tmux server (`tmux -S`) and
//! kills it when done, whatever happens; every wait is bounded.

use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use holocron_tests::process::{run, run_ok, run_ok_with_input};
use holocron_tests::{holocronctl_bin, Broker};

/// How long a screen may take to show what a step expects.
const WAIT: Duration = Duration::from_secs(20);

/// The `holocron-tui` binary: `HOLOCRON_TUI_BIN`, else next to holocronctl.
fn tui_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("HOLOCRON_TUI_BIN") {
        return PathBuf::from(p);
    }
    let p = holocronctl_bin().with_file_name("holocron-tui");
    assert!(
        p.is_file(),
        "{} not found; build it with `cargo build --workspace --bins`",
        p.display()
    );
    p
}

/// A private tmux server (its socket in a temp dir) running one command in
/// a 100×30 window; killed on drop.
struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    fn start(name: &str, command: &[String]) -> Tmux {
        let dir = tempfile::Builder::new()
            .prefix(&format!("holocron-tui-{name}-"))
            .tempdir()
            .expect("temp dir");
        let t = Tmux {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        };
        let mut cmd = t.tmux();
        cmd.args(["new-session", "-d", "-s", "tui", "-x", "100", "-y", "30"])
            .arg("-e")
            .arg("TERM=xterm-256color")
            .args(command);
        run_ok(&mut cmd, Duration::from_secs(10));
        // Keep the pane (and its last screen) if the program exits, so a
        // failure can show it; `alive()` checks whether it still runs.
        run_ok(
            t.tmux()
                .args(["set-option", "-t", "tui", "remain-on-exit", "on"]),
            Duration::from_secs(10),
        );
        t
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket);
        c
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            run_ok(
                self.tmux().args(["send-keys", "-t", "tui", k]),
                Duration::from_secs(10),
            );
            thread::sleep(Duration::from_millis(150));
        }
    }

    fn screen(&self) -> String {
        let out = run(
            self.tmux().args(["capture-pane", "-p", "-t", "tui"]),
            Duration::from_secs(10),
        );
        out.stdout_str()
    }

    /// Whether the program in the pane still runs.
    fn alive(&self) -> bool {
        let out = run(
            self.tmux()
                .args(["display-message", "-p", "-t", "tui", "#{pane_dead}"]),
            Duration::from_secs(10),
        );
        out.status.success() && out.stdout_str().trim() == "0"
    }

    /// Waits until the screen contains every one of `want`; returns it.
    #[track_caller]
    fn wait_for(&self, want: &[&str]) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.screen();
            if want.iter().all(|w| s.contains(w)) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("the screen never showed {want:?}; it shows:\n{s}");
            }
            thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = run(self.tmux().arg("kill-server"), Duration::from_secs(10));
    }
}

fn ctl(broker: &Broker) -> Command {
    let mut c = Command::new(holocronctl_bin());
    c.args(["--brokers", &broker.bootstrap()]);
    c
}

fn produce(broker: &Broker, lines: &str) {
    run_ok_with_input(
        ctl(broker).args(["produce", "orders", "-K", "=", "-H", "source=e2e"]),
        lines.as_bytes(),
        Duration::from_secs(30),
    );
}

#[test]
fn dashboard_under_tmux() {
    let mut broker = Broker::start();
    run_ok(
        ctl(&broker).args(["topic", "create", "orders", "-p", "3"]),
        Duration::from_secs(30),
    );
    produce(&broker, "k1=first-order\nk2=second-order\nk3=third-order\n");

    let tui = Tmux::start(
        "dash",
        &[
            tui_bin().display().to_string(),
            "--brokers".into(),
            broker.bootstrap(),
            "--interval".into(),
            "500ms".into(),
            "--metrics".into(),
            broker.metrics_addr(),
        ],
    );

    // Overview: the broker and the totals.
    tui.wait_for(&["Cluster id", "Brokers (1)", &broker.bootstrap(), "updated"]);

    // Help overlay lists the keys; any key closes it.
    tui.keys(&["?"]);
    tui.wait_for(&["Keys", "filter the list", "quit"]);
    tui.keys(&["Escape"]);

    // Topics → partitions of orders, via the filter.
    tui.keys(&["2"]);
    tui.wait_for(&["Topics (", "orders"]);
    tui.keys(&["/", "o", "r", "d", "Enter", "Enter"]);
    let s = tui.wait_for(&["orders › partitions (3)", "Replicas"]);
    assert!(s.contains("Leader") && s.contains("HW"), "{s}");

    // Tail it: `t`, then records that arrive while tailing show up live.
    tui.keys(&["t"]);
    tui.wait_for(&["Tail orders", "live", "first-order", "source=e2e"]);
    produce(&broker, "k9=live-order\n");
    tui.wait_for(&["live-order"]);
    // Pause: new records wait.
    tui.keys(&["Space"]);
    tui.wait_for(&["paused"]);
    produce(&broker, "k10=held-order\n");
    thread::sleep(Duration::from_secs(2));
    assert!(!tui.screen().contains("held-order"), "{}", tui.screen());
    tui.keys(&["Space"]);
    tui.wait_for(&["held-order", "live"]);

    // Groups: a list, or the sentence for a broker without the group APIs.
    tui.keys(&["3"]);
    let s = tui.wait_for(&["Groups"]);
    assert!(
        s.contains("Groups (") || s.contains("not supported by this broker"),
        "{s}"
    );

    // The broker goes away: the status bar says so, the app keeps running
    // and the last data stays; when it is back, the error clears.
    tui.keys(&["1"]);
    let _ = broker.stop();
    tui.wait_for(&["✖", "retrying", "Brokers (1)"]);
    assert!(
        tui.alive(),
        "the dashboard exited when the broker went away"
    );
    broker.restart();
    tui.wait_for(&["updated", "Brokers (1)"]);
    assert!(!tui.screen().contains("✖"), "{}", tui.screen());

    // q quits.
    tui.keys(&["q"]);
    let deadline = Instant::now() + WAIT;
    while tui.alive() {
        assert!(
            Instant::now() < deadline,
            "q did not quit:\n{}",
            tui.screen()
        );
        thread::sleep(Duration::from_millis(100));
    }
    broker.assert_no_panics();
}

#[test]
fn holocronctl_tui_starts_the_dashboard() {
    let broker = Broker::start();
    let tui = Tmux::start(
        "ctl",
        &[
            holocronctl_bin().display().to_string(),
            "--brokers".into(),
            broker.bootstrap(),
            "tui".into(),
            "--view".into(),
            "topics".into(),
        ],
    );
    tui.wait_for(&["Topics (", "updated"]);
    tui.keys(&["q"]);
    let deadline = Instant::now() + WAIT;
    while tui.alive() {
        assert!(
            Instant::now() < deadline,
            "q did not quit:\n{}",
            tui.screen()
        );
        thread::sleep(Duration::from_millis(100));
    }
}
