//! Tail: live records of one topic, newest first — partition, offset,
//! timestamp, key, value preview, headers. Space pauses (new records wait),
//! `/` filters, `c` clears, Esc stops and returns to the topic picker.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::Span;
use ratatui::widgets::{Block, Cell, Row};
use ratatui::Frame;

use super::fmt::{self, UNKNOWN};
use crate::app::{App, ListId};

/// Draws the Tail tab.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let Some(topic) = app.tail.topic.clone() else {
        super::topics::draw_list(
            frame,
            app,
            area,
            ListId::TailPick,
            "Tail: pick a topic, Enter",
        );
        return;
    };
    let visible = app.visible_tail();
    let sel = app.selection(ListId::Tail);
    let range = super::window(visible.len(), sel, area);
    let wide = area.width >= 120;
    let rows: Vec<Row> = visible[range.clone()]
        .iter()
        .map(|r| {
            let headers: Vec<String> = r.headers.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let value = match &r.value {
                Some(v) => Cell::from(v.clone()),
                None => Cell::from(Span::raw("null (tombstone)").dim()),
            };
            let mut cells = vec![
                Cell::from(r.partition.to_string()),
                Cell::from(r.offset.to_string()),
                Cell::from(fmt::utc(r.timestamp_ms, wide)),
                Cell::from(r.key.clone().unwrap_or_else(|| UNKNOWN.to_owned())),
                value,
            ];
            if wide {
                cells.push(Cell::from(fmt::bytes(r.value_len as u64)));
            }
            cells.push(Cell::from(Span::styled(
                headers.join(","),
                Style::new().dim(),
            )));
            Row::new(cells)
        })
        .collect();
    let mut header = vec!["P", "Offset", "Time (UTC)", "Key", "Value"];
    let mut widths = vec![
        Constraint::Length(3),
        Constraint::Length(9),
        Constraint::Length(if wide { 23 } else { 12 }),
        Constraint::Length(if wide { 16 } else { 12 }),
        Constraint::Fill(3),
    ];
    if wide {
        header.push("Size");
        widths.push(Constraint::Length(9));
    }
    header.push("Headers");
    widths.push(Constraint::Fill(1));

    let state = if app.tail.paused {
        Span::styled(
            format!(" ‖ paused, {} waiting ", app.tail.held.len()),
            Style::new().fg(Color::Black).bg(Color::Yellow),
        )
    } else {
        Span::styled(" ▶ live ", Style::new().fg(Color::Black).bg(Color::Green))
    };
    let f = app.filter(ListId::Tail);
    let mut title = format!(
        " Tail {topic} ({} shown, {} received) ",
        visible.len(),
        app.tail.received
    );
    if !f.is_empty() {
        title.push_str(&format!("/{f} "));
    }
    let block = Block::bordered()
        .title(title.bold())
        .title(state.into_right_aligned_line());
    let table = super::table(
        Row::new(header),
        rows,
        widths,
        Some(sel - range.start),
        block,
    );
    frame.render_widget(table, area);
}
