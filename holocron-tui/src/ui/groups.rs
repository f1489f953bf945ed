//! Groups: one row per consumer group (state, protocol, members, total lag,
//! lag sparkline); Enter opens a group — its members with client id, host
//! and assignments, and lag per partition with bars. A broker without the
//! group APIs gets a sentence instead of an empty table.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Sparkline};
use ratatui::Frame;

use super::fmt::{self, UNKNOWN};
use crate::app::{App, ListId};
use crate::model::GroupsData;

/// Width of the trend column.
const TREND: usize = 12;
/// Width of a lag bar.
const BAR: usize = 10;

/// Draws the Groups tab.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    match &app.groups {
        None => super::message(frame, area, "Groups", "waiting for the first poll…"),
        Some(GroupsData::Unsupported(api)) => super::message(
            frame,
            area,
            "Groups",
            &format!(
                "\nConsumer groups are not supported by this broker\n({api} is not served).\n\n\
                 This view lights up when the broker serves the group APIs."
            ),
        ),
        Some(GroupsData::Groups(_)) if app.open_group.is_some() => detail(frame, app, area),
        Some(GroupsData::Groups(_)) => list(frame, app, area),
    }
}

fn state_style(state: &str) -> Style {
    match state {
        "Stable" => Style::new().fg(Color::Green),
        "Empty" => Style::new().dim(),
        "Dead" => Style::new().fg(Color::Red),
        _ => Style::new().fg(Color::Yellow),
    }
}

fn list(frame: &mut Frame, app: &App, area: Rect) {
    let visible = app.visible_groups();
    let sel = app.selection(ListId::Groups);
    let range = super::window(visible.len(), sel, area);
    let rows: Vec<Row> = visible[range.clone()]
        .iter()
        .map(|g| {
            let trend = app
                .history
                .group_lag
                .get(&g.group_id)
                .map(|s| fmt::spark(&s.last(TREND), TREND))
                .unwrap_or_default();
            Row::new(vec![
                Cell::from(g.group_id.clone()),
                Cell::from(Span::styled(g.state.clone(), state_style(&g.state))),
                Cell::from(format!(
                    "{}/{}",
                    g.protocol_type,
                    fmt::opt((!g.protocol.is_empty()).then_some(&g.protocol))
                )),
                Cell::from(g.members.len().to_string()),
                Cell::from(fmt::opt(g.total_lag())),
                Cell::from(Span::styled(trend, Style::new().fg(Color::Yellow))),
            ])
        })
        .collect();
    let table = super::table(
        Row::new(vec![
            "Group", "State", "Protocol", "Members", "Lag", "Trend",
        ]),
        rows,
        vec![
            Constraint::Min(12),
            Constraint::Length(18),
            Constraint::Length(16),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(TREND as u16),
        ],
        Some(sel - range.start),
        super::list_block(app, ListId::Groups, "Groups".into(), visible.len()),
    );
    frame.render_widget(table, area);
}

fn detail(frame: &mut Frame, app: &App, area: Rect) {
    let id = app.open_group.clone().unwrap_or_default();
    let Some(g) = app.open_group_row() else {
        super::message(frame, area, &id, "this group is gone (Esc goes back)");
        return;
    };
    let members_h = (g.members.len() as u16 + 3).clamp(4, 8);
    let [head, members, offsets] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(members_h),
        Constraint::Min(4),
    ])
    .areas(area);
    let [summary, spark] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(head);
    let mut lines = vec![
        Line::from(vec![
            Span::styled("State ", Style::new().fg(Color::Cyan)),
            Span::styled(g.state.clone(), state_style(&g.state)),
            Span::styled("  Coordinator ", Style::new().fg(Color::Cyan)),
            Span::raw(format!("n{}", g.coordinator)),
        ]),
        Line::from(vec![
            Span::styled("Protocol ", Style::new().fg(Color::Cyan)),
            Span::raw(format!(
                "{} / {}",
                g.protocol_type,
                fmt::opt((!g.protocol.is_empty()).then_some(&g.protocol))
            )),
            Span::styled("  Lag ", Style::new().fg(Color::Cyan)),
            Span::raw(fmt::opt(g.total_lag())),
        ]),
    ];
    if let Some(e) = &g.error {
        lines.push(Line::from(Span::styled(
            e.clone(),
            Style::new().fg(Color::Red),
        )));
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(format!(" {} ", g.group_id).bold())),
        summary,
    );
    let samples = app
        .history
        .group_lag
        .get(&g.group_id)
        .map(|s| s.last(spark.width.saturating_sub(2) as usize))
        .unwrap_or_default();
    frame.render_widget(
        Sparkline::default()
            .data(&samples)
            .style(Style::new().fg(Color::Yellow))
            .block(Block::bordered().title(" Total lag ".bold())),
        spark,
    );

    let rows: Vec<Row> = g
        .members
        .iter()
        .take(members_h.saturating_sub(3) as usize)
        .map(|m| {
            let assigned: Vec<String> = m
                .assignments
                .iter()
                .map(|(t, ps)| format!("{t}:{}", fmt::ids(ps)))
                .collect();
            Row::new(vec![
                m.client_id.clone(),
                m.client_host.clone(),
                if assigned.is_empty() {
                    UNKNOWN.to_owned()
                } else {
                    assigned.join(" ")
                },
            ])
        })
        .collect();
    let t = super::table(
        Row::new(vec!["Client id", "Host", "Assignments"]),
        rows,
        vec![
            Constraint::Length(20),
            Constraint::Length(18),
            Constraint::Min(10),
        ],
        None,
        Block::bordered().title(format!(" Members ({}) ", g.members.len()).bold()),
    );
    frame.render_widget(t, members);

    let visible = app.visible_group_offsets();
    let sel = app.selection(ListId::GroupOffsets);
    let range = super::window(visible.len(), sel, offsets);
    let max_lag = visible
        .iter()
        .filter_map(|o| o.lag)
        .max()
        .unwrap_or(0)
        .max(1);
    let rows: Vec<Row> = visible[range.clone()]
        .iter()
        .map(|o| {
            let bar = o
                .lag
                .map(|l| fmt::bar(l as f64 / max_lag as f64, BAR))
                .unwrap_or_default();
            Row::new(vec![
                Cell::from(o.topic.clone()),
                Cell::from(o.partition.to_string()),
                Cell::from(fmt::opt(o.committed)),
                Cell::from(fmt::opt(o.high_watermark)),
                Cell::from(fmt::opt(o.lag)),
                Cell::from(Span::styled(bar, Style::new().fg(Color::Yellow))),
                Cell::from(fmt::opt(o.member.as_ref())),
            ])
        })
        .collect();
    let t = super::table(
        Row::new(vec!["Topic", "P", "Committed", "HW", "Lag", "", "Member"]),
        rows,
        vec![
            Constraint::Min(10),
            Constraint::Length(4),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(BAR as u16),
            Constraint::Length(14),
        ],
        Some(sel - range.start),
        super::list_block(
            app,
            ListId::GroupOffsets,
            "Lag by partition".into(),
            visible.len(),
        ),
    );
    frame.render_widget(t, offsets);
}
