//! Key handling against the fixed states of [`crate::fixtures`].

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::fixtures;
use crate::model::GroupsData;

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn press(app: &mut App, keys: &str) -> Vec<Command> {
    keys.chars().filter_map(|c| app.on_key(key(c))).collect()
}

#[test]
fn tabs_switch_by_number_tab_and_hl() {
    let mut app = fixtures::app();
    assert_eq!(app.tab, Tab::Overview);
    press(&mut app, "2");
    assert_eq!(app.tab, Tab::Topics);
    app.on_key(code(KeyCode::Tab));
    assert_eq!(app.tab, Tab::Groups);
    press(&mut app, "ll");
    assert_eq!(app.tab, Tab::Overview, "wraps around");
    app.on_key(code(KeyCode::BackTab));
    assert_eq!(app.tab, Tab::Tail);
    press(&mut app, "h");
    assert_eq!(app.tab, Tab::Groups);
}

#[test]
fn moves_are_clamped_to_the_list() {
    let mut app = fixtures::app();
    press(&mut app, "2");
    assert_eq!(app.current_list(), ListId::Topics);
    press(&mut app, "jjjjjjj");
    assert_eq!(app.selection(ListId::Topics), 2, "three topics");
    press(&mut app, "k");
    assert_eq!(app.selection(ListId::Topics), 1);
    press(&mut app, "g");
    assert_eq!(app.selection(ListId::Topics), 0);
    press(&mut app, "G");
    assert_eq!(app.selection(ListId::Topics), 2);
    app.on_key(code(KeyCode::PageUp));
    assert_eq!(app.selection(ListId::Topics), 0);
    app.on_key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL));
    assert_eq!(app.selection(ListId::Topics), 2);
    app.on_scroll(-3);
    assert_eq!(app.selection(ListId::Topics), 0);
}

#[test]
fn enter_drills_down_and_esc_goes_back() {
    let mut app = fixtures::app();
    press(&mut app, "2j");
    app.on_key(code(KeyCode::Enter));
    assert_eq!(app.open_topic.as_deref(), Some("orders"));
    assert_eq!(app.current_list(), ListId::Partitions);
    assert_eq!(app.visible_partitions().len(), 3);
    press(&mut app, "jj");
    assert_eq!(app.selection(ListId::Partitions), 2);
    app.on_key(code(KeyCode::Esc));
    assert_eq!(app.open_topic, None);
    assert_eq!(app.selection(ListId::Topics), 1, "selection kept");

    press(&mut app, "3j");
    app.on_key(code(KeyCode::Enter));
    assert_eq!(app.open_group.as_deref(), Some("billing"));
    assert_eq!(app.visible_group_offsets().len(), 3);
    app.on_key(code(KeyCode::Esc));
    assert_eq!(app.open_group, None);
}

#[test]
fn slash_filters_the_current_list() {
    let mut app = fixtures::app();
    press(&mut app, "2/pay");
    assert!(app.input.is_some());
    assert_eq!(app.visible_topics().len(), 1);
    app.on_key(code(KeyCode::Enter));
    assert!(app.input.is_none());
    assert_eq!(app.filter(ListId::Topics), "pay");
    press(&mut app, "j");
    assert_eq!(app.selection(ListId::Topics), 0);
    // Enter opens the filtered row.
    app.on_key(code(KeyCode::Enter));
    assert_eq!(app.open_topic.as_deref(), Some("payments"));
    app.on_key(code(KeyCode::Esc));
    // Esc first clears the filter, then would go back.
    app.on_key(code(KeyCode::Esc));
    assert_eq!(app.filter(ListId::Topics), "");
    assert_eq!(app.visible_topics().len(), 3);
    // Esc while typing restores the old filter.
    press(&mut app, "/ord");
    app.on_key(code(KeyCode::Backspace));
    assert_eq!(app.filter(ListId::Topics), "or");
    app.on_key(code(KeyCode::Esc));
    assert_eq!(app.filter(ListId::Topics), "");
    // Keys typed into a filter do not act: 'q' does not quit.
    press(&mut app, "/q");
    assert!(!app.quit);
    app.on_key(code(KeyCode::Esc));
}

#[test]
fn each_list_has_its_own_filter() {
    let mut app = fixtures::app();
    press(&mut app, "3/bill");
    app.on_key(code(KeyCode::Enter));
    assert_eq!(app.visible_groups().len(), 1);
    press(&mut app, "2");
    assert_eq!(app.visible_topics().len(), 3);
    press(&mut app, "4");
    press(&mut app, "/web");
    assert_eq!(app.visible_tail().len(), 3, "header value matches");
    app.on_key(code(KeyCode::Enter));
    press(&mut app, "1/9092");
    assert_eq!(app.visible_brokers().len(), 1);
}

#[test]
fn t_tails_the_selected_topic_and_esc_stops() {
    let mut app = fixtures::app();
    press(&mut app, "2jj");
    let cmds = press(&mut app, "t");
    assert_eq!(cmds, [Command::Tail(Some("payments".into()))]);
    assert_eq!(app.tab, Tab::Tail);
    assert!(app.tail.records.is_empty(), "a new tail starts empty");
    // Records of another topic (in flight from the old tail) are dropped.
    app.apply(Update::Tail {
        topic: "orders".into(),
        records: fixtures::records(),
    });
    assert!(app.tail.records.is_empty());
    let cmd = app.on_key(code(KeyCode::Esc));
    assert_eq!(cmd, Some(Command::Tail(None)));
    assert_eq!(app.current_list(), ListId::TailPick);
    // The picker: Enter tails the selected topic.
    press(&mut app, "j");
    assert_eq!(
        app.on_key(code(KeyCode::Enter)),
        Some(Command::Tail(Some("orders".into())))
    );
}

#[test]
fn space_pauses_the_tail_and_resume_shows_what_waited() {
    let mut app = fixtures::app();
    press(&mut app, "4");
    assert_eq!(app.visible_tail().len(), 6);
    assert_eq!(app.visible_tail()[0].offset, 10_405, "newest first");
    press(&mut app, " ");
    assert!(app.tail.paused);
    let mut more = fixtures::records();
    for r in &mut more {
        r.offset += 100;
    }
    app.apply(Update::Tail {
        topic: "orders".into(),
        records: more,
    });
    assert_eq!(app.visible_tail().len(), 6, "frozen while paused");
    assert_eq!(app.tail.held.len(), 6);
    press(&mut app, "p");
    assert!(!app.tail.paused);
    assert_eq!(app.visible_tail().len(), 12);
    assert_eq!(app.visible_tail()[0].offset, 10_505);
    press(&mut app, "c");
    assert!(app.visible_tail().is_empty());
}

#[test]
fn the_tail_buffer_is_bounded() {
    let mut app = fixtures::app();
    let many: Vec<TailRecord> = (0..TAIL_CAP as i64 + 50)
        .map(|o| TailRecord {
            offset: o,
            ..Default::default()
        })
        .collect();
    app.apply(Update::Tail {
        topic: "orders".into(),
        records: many,
    });
    assert_eq!(app.tail.records.len(), TAIL_CAP);
    assert_eq!(app.tail.records[0].offset, TAIL_CAP as i64 + 49);
}

#[test]
fn help_quit_refresh() {
    let mut app = fixtures::app();
    press(&mut app, "?");
    assert!(app.help);
    press(&mut app, "j");
    assert!(!app.help, "any key closes help");
    assert_eq!(press(&mut app, "r"), [Command::Refresh]);
    press(&mut app, "q");
    assert!(app.quit);
    let mut app = fixtures::app();
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit);
}

#[test]
fn errors_come_and_go_and_old_data_stays() {
    let mut app = fixtures::app();
    let before = app.cluster.clone();
    app.apply(Update::Status {
        source: Source::Cluster,
        error: Some("cannot reach 127.0.0.1:9092: connection refused".into()),
    });
    assert_eq!(app.errors.len(), 1);
    assert_eq!(app.cluster, before, "the last good poll stays");
    app.apply(Update::Cluster(Box::new(fixtures::snapshot(9_000, 4))));
    assert!(app.errors.is_empty(), "a good poll clears the error");
}

#[test]
fn unsupported_groups_have_no_rows() {
    let mut app = fixtures::app();
    app.apply(Update::Groups(GroupsData::Unsupported("ListGroups".into())));
    press(&mut app, "3");
    assert_eq!(app.list_len(ListId::Groups), 0);
    assert_eq!(app.on_key(code(KeyCode::Enter)), None);
    assert_eq!(app.open_group, None);
}

#[test]
fn every_key_in_the_help_does_something() {
    // The help lists each key; this walks the single-character ones and
    // checks that each changes the state or asks the collectors something.
    for (keys, _) in crate::ui::help::KEYS {
        for k in keys.split_whitespace() {
            let ev = match k {
                "Enter" => code(KeyCode::Enter),
                "Esc" => code(KeyCode::Esc),
                "Tab" => code(KeyCode::Tab),
                "S-Tab" => code(KeyCode::BackTab),
                "Home" => code(KeyCode::Home),
                "End" => code(KeyCode::End),
                "PgDn" => code(KeyCode::PageDown),
                "PgUp" => code(KeyCode::PageUp),
                "Space" => key(' '),
                "↓" => code(KeyCode::Down),
                "↑" => code(KeyCode::Up),
                "wheel" => continue,
                "1-4" => key('3'),
                s if s.starts_with("C-") => KeyEvent::new(
                    KeyCode::Char(s.chars().nth(2).unwrap_or(' ')),
                    KeyModifiers::CONTROL,
                ),
                s if s.chars().count() == 1 => key(s.chars().next().unwrap_or(' ')),
                other => panic!("the help lists a key the test does not know: {other}"),
            };
            // A state where the key has an effect: the topic list for
            // Enter, a topic open for Esc, the tail for its keys, the middle of a list
            // for moves.
            let mut app = fixtures::app();
            press(&mut app, "2j");
            if k != "Enter" {
                app.on_key(code(KeyCode::Enter));
                press(&mut app, "j");
            }
            if matches!(k, "Space" | "p" | "c") {
                press(&mut app, "4");
            }
            let before = format!("{app:?}");
            let cmd = app.on_key(ev);
            assert!(
                cmd.is_some() || format!("{app:?}") != before,
                "key {k} did nothing"
            );
        }
    }
}
