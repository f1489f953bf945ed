//! The harness itself against a real holocrond: start, readiness, restart,
//! kill -9, settings from the environment, and that no process is left
//! behind. These are also the broker's most basic process-level promises:
//! SIGTERM is a graceful shutdown (exit status 0), and the same data dir and
//! ports serve again after a restart or a crash.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use holocron_tests::broker::probe_api_versions;
use holocron_tests::{Broker, BrokerOpts, Stopped};

/// Whether a process exists (a zombie counts as gone: it has been killed).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(true),
        Err(_) => false,
    }
}

fn wait_gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !process_alive(pid) {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn starts_answers_api_versions_and_stops_gracefully() {
    let mut broker = Broker::start();
    let pid = broker.pid();
    assert!(process_alive(pid));
    assert!(broker.bootstrap().starts_with("127.0.0.1:"));
    probe_api_versions(broker.kafka_addr()).expect("ApiVersions v0 answers");

    let stopped = broker.stop();
    assert!(
        matches!(stopped, Stopped::Exited(status) if status.success()),
        "SIGTERM should shut down cleanly with status 0, got {stopped:?}\n{}",
        broker.log_tail()
    );
    assert!(wait_gone(pid), "pid {pid} still alive after stop()");
    assert!(
        probe_api_versions(broker.kafka_addr()).is_err(),
        "the port still answers after stop()"
    );
}

#[test]
fn restart_keeps_ports_and_data_dir() {
    let mut broker = Broker::start();
    let (bootstrap, data_dir, pid) = (broker.bootstrap(), broker.data_dir(), broker.pid());
    broker.restart();
    assert_eq!(broker.bootstrap(), bootstrap);
    assert_eq!(broker.data_dir(), data_dir);
    assert_ne!(broker.pid(), pid);
    assert!(!process_alive(pid), "the old process is still alive");
    probe_api_versions(broker.kafka_addr()).expect("ApiVersions after restart");
    assert!(
        Path::new(&data_dir).is_dir(),
        "the broker did not create its data dir {}",
        data_dir.display()
    );
}

#[test]
fn kill9_then_start_again() {
    let mut broker = Broker::start();
    let pid = broker.pid();
    broker.kill9();
    assert!(wait_gone(pid), "pid {pid} alive after kill -9");
    assert!(!broker.is_running());
    broker.restart();
    probe_api_versions(broker.kafka_addr()).expect("ApiVersions after kill -9 and restart");
}

#[test]
fn drop_stops_the_process() {
    let broker = Broker::start();
    let pid = broker.pid();
    drop(broker);
    assert!(
        wait_gone(pid),
        "pid {pid} alive after the Broker was dropped"
    );
}

#[test]
fn settings_from_the_environment() {
    let mut broker = Broker::start_with(BrokerOpts {
        settings_as_env: true,
        ..BrokerOpts::default()
    });
    probe_api_versions(broker.kafka_addr()).expect("ApiVersions with HOLOCRON_* settings");
    assert!(
        broker.data_dir().is_dir(),
        "HOLOCRON_DATA_DIR was not used: {} does not exist",
        broker.data_dir().display()
    );
    let stopped = broker.stop();
    assert!(
        matches!(stopped, Stopped::Exited(status) if status.success()),
        "{stopped:?}"
    );
}

#[test]
fn metrics_listener_serves_prometheus_text() {
    use std::io::{Read, Write};
    let broker = Broker::start();
    let mut stream = std::net::TcpStream::connect(broker.metrics_addr()).expect("connect metrics");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "metrics answer: {}",
        response.lines().next().unwrap_or_default()
    );
    assert!(
        response.contains("# TYPE"),
        "no Prometheus text in: {response}"
    );
}
