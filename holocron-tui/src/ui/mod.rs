//! Drawing: a pure function of the app state ([`draw`] takes `&App`). One
//! file per view; this module draws the frame around them — the tab bar, the
//! status bar (errors, filter input, freshness) and the help overlay.

pub mod fmt;
pub mod groups;
pub mod help;
pub mod overview;
pub mod partitions;
pub mod tail;
pub mod topics;

#[cfg(test)]
mod tests;

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};
use ratatui::Frame;

use crate::app::{App, ListId, Tab};

/// Rows of chrome around a view's list (tab bar, status bar, borders, header).
pub const CHROME_ROWS: u16 = 5;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    tab_bar(frame, app, top);
    match app.tab {
        Tab::Overview => overview::draw(frame, app, body),
        Tab::Topics if app.open_topic.is_some() => partitions::draw(frame, app, body),
        Tab::Topics => topics::draw(frame, app, body),
        Tab::Groups => groups::draw(frame, app, body),
        Tab::Tail => tail::draw(frame, app, body),
    }
    status_bar(frame, app, bottom);
    if app.help {
        help::draw(frame, frame.area());
    }
}

fn tab_bar(frame: &mut Frame, app: &App, area: Rect) {
    let mut spans = vec![Span::styled(
        " ◆ Holocron ",
        Style::new().bold().fg(Color::Cyan),
    )];
    for (i, t) in Tab::ALL.iter().enumerate() {
        let label = format!(" {} {} ", i + 1, t.title());
        spans.push(if *t == app.tab {
            Span::styled(label, Style::new().reversed().bold())
        } else {
            Span::raw(label)
        });
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    let right = format!("{} ", app.brokers);
    let used: usize = 12 + Tab::ALL.iter().map(|t| t.title().len() + 4).sum::<usize>();
    if (area.width as usize) > used + right.len() {
        frame.render_widget(
            Paragraph::new(right.dim()).alignment(Alignment::Right),
            area,
        );
    }
}

fn status_bar(frame: &mut Frame, app: &App, area: Rect) {
    let line = if let Some(input) = &app.input {
        Line::from(vec![
            Span::styled(" / ", Style::new().reversed()),
            Span::raw(format!(" {}", app.filter(input.list))),
            Span::styled("█", Style::new().add_modifier(Modifier::SLOW_BLINK)),
            Span::raw("   Enter keep · Esc cancel").dim(),
        ])
    } else if let Some((source, err)) = app.errors.iter().next() {
        let every = humantime::format_duration(app.interval);
        Line::from(vec![
            Span::styled(" ✖ ", Style::new().fg(Color::White).bg(Color::Red)),
            Span::styled(
                format!(" {}: {err} — retrying every {every}", source.name()),
                Style::new().fg(Color::Red),
            ),
        ])
    } else {
        let fresh = match &app.cluster {
            Some(c) => format!(
                " ● updated {} · every {}",
                fmt::age(app.now_ms.saturating_sub(c.at_ms)),
                humantime::format_duration(app.interval)
            ),
            None => " ○ connecting…".to_owned(),
        };
        let mut spans = vec![Span::styled(fresh, Style::new().fg(Color::Green))];
        let f = app.filter(app.current_list());
        if !f.is_empty() {
            spans.push(Span::raw(format!("  filter: {f} (Esc clears)")).yellow());
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
    let keys = " ? help  q quit ";
    if area.width as usize > line_width(app) + keys.len() + 2 {
        frame.render_widget(Paragraph::new(keys.dim()).alignment(Alignment::Right), area);
    }
}

/// How wide the left part of the status bar is (for the right part to fit).
fn line_width(app: &App) -> usize {
    match (&app.input, app.errors.iter().next()) {
        (Some(i), _) => 30 + app.filter(i.list).chars().count(),
        (None, Some((s, e))) => 40 + s.name().len() + e.chars().count(),
        (None, None) => 40 + app.filter(app.current_list()).chars().count(),
    }
}

/// The first row to draw so that `selected` is visible in `height` rows.
pub fn first_row(selected: usize, height: usize) -> usize {
    if height == 0 {
        return selected;
    }
    (selected + 1).saturating_sub(height)
}

/// A bordered block titled `title`, with the list's filter in the title.
pub fn list_block<'a>(app: &App, list: ListId, title: String, count: usize) -> Block<'a> {
    let f = app.filter(list);
    let mut t = format!(" {title} ({count}) ");
    if !f.is_empty() {
        t.push_str(&format!("/{f} "));
    }
    Block::bordered().title(t.bold())
}

/// A table of already windowed `rows`, the row at `highlight` (an index
/// into `rows`) highlighted.
pub fn table<'a>(
    header: Row<'a>,
    rows: Vec<Row<'a>>,
    widths: Vec<Constraint>,
    highlight: Option<usize>,
    block: Block<'a>,
) -> Table<'a> {
    let rows: Vec<Row> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            if Some(i) == highlight {
                r.style(Style::new().reversed())
            } else {
                r
            }
        })
        .collect();
    Table::new(rows, widths)
        .header(header.style(Style::new().bold().fg(Color::Cyan)))
        .block(block)
        .column_spacing(1)
}

/// The rows of a list to build: the window around the selection (building
/// every row of a 1,000-partition topic each frame would be wasted work).
pub fn window(len: usize, selected: usize, area: Rect) -> std::ops::Range<usize> {
    let height = area.height.saturating_sub(3) as usize;
    let first = first_row(selected, height);
    first..(first + height).min(len)
}

/// A centered message inside a bordered block.
pub fn message(frame: &mut Frame, area: Rect, title: &str, text: &str) {
    let p = Paragraph::new(text.to_owned())
        .alignment(Alignment::Center)
        .block(Block::bordered().title(format!(" {title} ").bold()));
    frame.render_widget(p, area);
}
