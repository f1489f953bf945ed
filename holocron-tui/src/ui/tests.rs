//! Snapshot tests: each view drawn with ratatui's `TestBackend` from the
//! fixed states of [`crate::fixtures`], compared with the text screens in
//! `holocron-tui/snapshots/`. Values that change between runs are filtered
//! before comparing (the fixtures are deterministic, but the filter keeps
//! the snapshots stable if a fixture ever takes a real clock).
//! `HOLOCRON_UPDATE_SNAPSHOTS=1 cargo test -p holocron-tui` rewrites them.

use std::path::PathBuf;

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::app::{App, Tab};
use crate::collect::{Source, Update};
use crate::fixtures;
use crate::model::GroupsData;

fn render(app: &App, width: u16, height: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    t.draw(|f| super::draw(f, app)).expect("draw");
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..height {
        let mut line = String::new();
        for x in 0..width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Masks values that depend on when the test runs.
fn filter(screen: &str) -> String {
    let mut out = String::new();
    for line in screen.lines() {
        let mut l = line.to_owned();
        if let Some(i) = l.find("updated ") {
            if let Some(j) = l[i..].find(" ·") {
                l.replace_range(i + 8..i + j, "<age>");
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[track_caller]
fn check(name: &str, app: &App, width: u16, height: u16) {
    let screen = filter(&render(app, width, height));
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("HOLOCRON_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, &screen).expect("write snapshot");
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with HOLOCRON_UPDATE_SNAPSHOTS=1 to create it\n{screen}",
            path.display()
        )
    });
    assert!(
        want == screen,
        "{name} differs from {}\n--- want\n{want}--- got\n{screen}",
        path.display()
    );
}

fn on(tab: Tab) -> App {
    let mut app = fixtures::app();
    app.tab = tab;
    app
}

fn keys(app: &mut App, keys: &str) {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            c => KeyCode::Char(c),
        };
        app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    }
}

#[test]
fn overview() {
    check("overview", &on(Tab::Overview), 80, 24);
}

#[test]
fn overview_with_quorum_large() {
    let mut app = fixtures::app_with_quorum();
    app.tab = Tab::Overview;
    check("overview-quorum-120x30", &app, 120, 30);
}

#[test]
fn topics() {
    check("topics", &on(Tab::Topics), 80, 24);
}

#[test]
fn partitions() {
    let mut app = on(Tab::Topics);
    keys(&mut app, "j\nj");
    check("partitions", &app, 80, 24);
}

#[test]
fn partitions_with_replica_lag_wide() {
    let mut app = fixtures::app_with_quorum();
    keys(&mut app, "2j\njj");
    check("partitions-quorum-120x30", &app, 120, 30);
}

#[test]
fn partition_errors_are_shown() {
    let mut app = on(Tab::Topics);
    keys(&mut app, "G\nj");
    check("partitions-error-100x16", &app, 100, 16);
}

#[test]
fn groups() {
    check("groups", &on(Tab::Groups), 80, 24);
}

#[test]
fn group_detail() {
    let mut app = on(Tab::Groups);
    keys(&mut app, "j\n");
    check("group-detail", &app, 80, 24);
}

#[test]
fn groups_unsupported() {
    let mut app = on(Tab::Groups);
    app.apply(Update::Groups(GroupsData::Unsupported("ListGroups".into())));
    check("groups-unsupported", &app, 80, 24);
}

#[test]
fn tail() {
    check("tail", &on(Tab::Tail), 80, 24);
}

#[test]
fn tail_paused_filtered_wide() {
    let mut app = on(Tab::Tail);
    keys(&mut app, " /web\n");
    check("tail-paused-filtered-130x16", &app, 130, 16);
}

#[test]
fn tail_picker() {
    let mut app = on(Tab::Tail);
    keys(&mut app, "\x1b");
    check("tail-picker", &app, 80, 24);
}

#[test]
fn help_overlay() {
    let mut app = on(Tab::Topics);
    keys(&mut app, "?");
    check("help", &app, 80, 24);
}

#[test]
fn filter_input_and_connection_error() {
    let mut app = on(Tab::Topics);
    keys(&mut app, "/ord");
    check("filter-input", &app, 80, 24);
    keys(&mut app, "\n");
    app.apply(Update::Status {
        source: Source::Cluster,
        error: Some("cannot reach 127.0.0.1:9092: Connection refused (os error 111)".into()),
    });
    check("connection-error", &app, 80, 24);
}

#[test]
fn before_the_first_poll() {
    let app = App::new("127.0.0.1:9092", std::time::Duration::from_secs(2));
    check("connecting", &app, 80, 24);
}

#[test]
fn thousand_partitions_render_only_the_window() {
    // A 1,000-partition topic: drawing stays cheap (only the visible rows
    // are built) and the selection at the end is on screen.
    let mut app = App::new("127.0.0.1:9092", std::time::Duration::from_secs(2));
    let mut snap = fixtures::snapshot(1_000, 0);
    let template = snap.topics[1].partitions[0].clone();
    snap.topics[1].partitions = (0..1000)
        .map(|p| crate::model::PartitionRow {
            partition: p,
            ..template.clone()
        })
        .collect();
    app.apply(Update::Cluster(Box::new(snap)));
    keys(&mut app, "2j\nG");
    let start = std::time::Instant::now();
    let screen = render(&app, 80, 24);
    assert!(screen.contains("999"), "{screen}");
    assert!(screen.contains("(1000)"), "{screen}");
    assert!(
        start.elapsed() < std::time::Duration::from_millis(500),
        "drawing took {:?}",
        start.elapsed()
    );
}

#[test]
fn every_view_fits_small_and_large_terminals() {
    for (w, h) in [(80, 24), (60, 15), (200, 60)] {
        for tab in Tab::ALL {
            let mut app = on(tab);
            render(&app, w, h);
            keys(&mut app, "\n");
            render(&app, w, h);
        }
    }
}
