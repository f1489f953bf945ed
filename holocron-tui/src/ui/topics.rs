//! Topics: one row per topic with partitions, records, size, produce rate
//! and a rate sparkline. Enter opens its partitions; `t` tails it.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row};
use ratatui::Frame;

use super::fmt;
use crate::app::{App, ListId};

/// Width of the trend column.
const TREND: usize = 16;

/// Draws the topic list (`list` is Topics, or TailPick for the tail's picker).
pub fn draw_list(frame: &mut Frame, app: &App, area: Rect, list: ListId, title: &str) {
    if app.cluster.is_none() {
        super::message(frame, area, title, "waiting for the first poll…");
        return;
    }
    let visible = app.visible_topics();
    let sel = app.selection(list);
    let range = super::window(visible.len(), sel, area);
    let rows: Vec<Row> = visible[range.clone()]
        .iter()
        .map(|t| {
            let (rate, trend) = match app.history.topics.get(&t.name) {
                Some((r, s)) => (fmt::rate(r.records), fmt::spark(&s.last(TREND), TREND)),
                None => (fmt::UNKNOWN.to_owned(), String::new()),
            };
            let name = if t.internal {
                Cell::from(Span::raw(t.name.clone()).dim())
            } else {
                Cell::from(t.name.clone())
            };
            Row::new(vec![
                name,
                Cell::from(t.partitions.len().to_string()),
                Cell::from(fmt::opt(t.records())),
                Cell::from(fmt::opt_bytes(t.size())),
                Cell::from(rate),
                Cell::from(Span::styled(trend, Style::new().fg(Color::Green))),
            ])
        })
        .collect();
    let table = super::table(
        Row::new(vec!["Topic", "Parts", "Records", "Size", "Rec/s", "Trend"]),
        rows,
        vec![
            Constraint::Min(12),
            Constraint::Length(5),
            Constraint::Length(10),
            Constraint::Length(10),
            Constraint::Length(7),
            Constraint::Length(TREND as u16),
        ],
        Some(sel - range.start),
        super::list_block(app, list, title.to_owned(), visible.len()),
    );
    frame.render_widget(table, area);
}

/// Draws the Topics tab's list.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    draw_list(frame, app, area, ListId::Topics, "Topics");
}
