//! Overview: the cluster (id, controller, metadata quorum leader and term),
//! throughput (produce from high watermark deltas, bytes from sizes or the
//! metrics endpoint, fetch from the metrics endpoint), totals, and brokers.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Sparkline};
use ratatui::Frame;

use super::fmt::{self, UNKNOWN};
use crate::app::{App, ListId};
use crate::model::GroupsData;

/// Draws the overview.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let Some(c) = &app.cluster else {
        super::message(frame, area, "Overview", "waiting for the first poll…");
        return;
    };
    let [top, brokers] = Layout::vertical([Constraint::Length(9), Constraint::Min(3)]).areas(area);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(top);

    let label = |s: &'static str| Span::styled(format!("{s:<11}"), Style::new().fg(Color::Cyan));
    let partitions: usize = c.topics.iter().map(|t| t.partitions.len()).sum();
    let records: Option<i64> = {
        let v: Vec<i64> = c.topics.iter().filter_map(|t| t.records()).collect();
        (!v.is_empty()).then(|| v.iter().sum())
    };
    let size: Option<u64> = {
        let v: Vec<u64> = c.topics.iter().filter_map(|t| t.size()).collect();
        (!v.is_empty()).then(|| v.iter().sum())
    };
    let groups = match &app.groups {
        Some(GroupsData::Groups(g)) => g.len().to_string(),
        Some(GroupsData::Unsupported(_)) => "n/a".to_owned(),
        None => UNKNOWN.to_owned(),
    };
    let (q_leader, q_term) = match c.metadata_quorum {
        Some(q) => (format!("n{}", q.leader), q.term.to_string()),
        None => (UNKNOWN.to_owned(), UNKNOWN.to_owned()),
    };
    let cluster = vec![
        Line::from(vec![
            label("Cluster id"),
            Span::raw(fmt::opt(c.cluster_id.as_ref())),
        ]),
        Line::from(vec![
            label("Brokers"),
            Span::raw(format!("{}   controller ", c.brokers.len())),
            Span::raw(if c.controller >= 0 {
                format!("n{}", c.controller)
            } else {
                UNKNOWN.to_owned()
            }),
        ]),
        Line::from(vec![
            label("Metadata"),
            Span::raw(format!("leader {q_leader}   term {q_term}")),
        ]),
        Line::from(vec![
            label("Topics"),
            Span::raw(format!("{}   partitions {partitions}", c.topics.len())),
        ]),
        Line::from(vec![
            label("Records"),
            Span::raw(records.map_or(UNKNOWN.to_owned(), |r| fmt::compact(r as f64))),
        ]),
        Line::from(vec![label("Stored"), Span::raw(fmt::opt_bytes(size))]),
        Line::from(vec![label("Groups"), Span::raw(groups)]),
    ];
    frame.render_widget(
        Paragraph::new(cluster).block(Block::bordered().title(" Cluster ".bold())),
        left,
    );

    let h = &app.history;
    let produce_bytes = h.produce.0.bytes.map_or(UNKNOWN.to_owned(), |b| {
        format!("{}/s", fmt::bytes(b.round() as u64))
    });
    let fetch = h.fetch_bytes.map_or_else(
        || format!("{UNKNOWN} (needs --metrics)"),
        |b| format!("{}/s", fmt::bytes(b.round() as u64)),
    );
    let block = Block::bordered().title(" Throughput ".bold());
    let inner = block.inner(right);
    frame.render_widget(block, right);
    let [text, spark] = Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(inner);
    let lines = vec![
        Line::from(vec![
            label("Produce"),
            Span::raw(format!("{} rec/s", fmt::rate(h.produce.0.records))),
        ]),
        Line::from(vec![label(""), Span::raw(produce_bytes)]),
        Line::from(vec![label("Fetch"), Span::raw(fetch)]),
    ];
    frame.render_widget(Paragraph::new(lines), text);
    let samples = h.produce.1.last(spark.width as usize);
    frame.render_widget(
        Sparkline::default()
            .data(&samples)
            .style(Style::new().fg(Color::Green)),
        spark,
    );

    let visible = app.visible_brokers();
    let sel = app.selection(ListId::Brokers);
    let range = super::window(visible.len(), sel, brokers);
    let rows: Vec<Row> = visible[range.clone()]
        .iter()
        .map(|b| {
            let mut role = Vec::new();
            if b.node_id == c.controller {
                role.push("controller");
            }
            if c.metadata_quorum.is_some_and(|q| q.leader == b.node_id) {
                role.push("meta-leader");
            }
            let leaders = c
                .topics
                .iter()
                .flat_map(|t| &t.partitions)
                .filter(|p| p.leader == b.node_id)
                .count();
            Row::new(vec![
                format!("n{}", b.node_id),
                b.address.clone(),
                fmt::opt(b.rack.as_ref()),
                if role.is_empty() {
                    "broker".into()
                } else {
                    role.join(",")
                },
                leaders.to_string(),
                fmt::opt_bytes(b.stored_bytes),
            ])
        })
        .collect();
    let table = super::table(
        Row::new(vec!["Node", "Address", "Rack", "Role", "Leads", "Stored"]),
        rows,
        vec![
            Constraint::Length(5),
            Constraint::Min(15),
            Constraint::Length(6),
            Constraint::Length(22),
            Constraint::Length(6),
            Constraint::Length(10),
        ],
        Some(sel - range.start),
        super::list_block(app, ListId::Brokers, "Brokers".into(), visible.len()),
    );
    frame.render_widget(table, brokers);
}
