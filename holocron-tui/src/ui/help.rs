//! The `?` overlay: every key, from [`KEYS`] (the key tests check that each
//! one listed does something).

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

/// Every key binding: (keys, what they do).
pub const KEYS: &[(&str, &str)] = &[
    ("1-4 Tab S-Tab h l", "switch view"),
    ("j k ↓ ↑  wheel", "move"),
    ("g G Home End", "first / last row"),
    ("PgDn PgUp C-d C-u", "page down / up"),
    ("Enter", "open topic / group; tail picked topic"),
    ("Esc", "clear filter, else back / stop tail"),
    ("/", "filter the list (Enter keeps, Esc cancels)"),
    ("t", "tail the selected topic"),
    ("Space p", "pause / resume the tail"),
    ("c", "clear the tail"),
    ("r", "refresh now"),
    ("?", "this help (any key closes)"),
    ("q C-c", "quit"),
];

/// Draws the overlay centered in `area`.
pub fn draw(frame: &mut Frame, area: Rect) {
    let height = (KEYS.len() as u16 + 2).min(area.height);
    let width = 66.min(area.width);
    let [v] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(v);
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<19}"), Style::new().fg(Color::Cyan).bold()),
                Span::raw(*what),
            ])
        })
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Keys ".bold())),
        popup,
    );
}
