//! Partitions of one topic: leader, epoch, replicas, ISR, log start, high
//! watermark, log end, size, rate, and per-replica lag as bars; below, the
//! selected partition's replicas (Raft state) and its rate sparkline.
//! Replica log end offsets come from DescribeQuorum: until the broker serves
//! it they are "—", and the layout stays the same.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Sparkline};
use ratatui::Frame;

use super::fmt::{self, UNKNOWN};
use crate::app::{App, ListId};
use crate::model::PartitionRow;

/// Width of a replica's lag bar in the detail pane.
const BAR: usize = 20;

/// One glyph per replica: how far behind it is, relative to `max_lag`.
fn lag_glyphs(p: &PartitionRow, max_lag: i64) -> String {
    p.replica_lags()
        .iter()
        .map(|(_, lag)| match lag {
            None => '·',
            Some(0) => '▁',
            Some(l) => {
                let i = ((*l as f64 / max_lag.max(1) as f64) * 7.0).ceil() as usize;
                ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'][i.min(7)]
            }
        })
        .collect()
}

/// Draws the partitions of the open topic.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let name = app.open_topic.clone().unwrap_or_default();
    let Some(topic) = app.open_topic_row() else {
        super::message(
            frame,
            area,
            &name,
            "this topic is not in the latest metadata (Esc goes back)",
        );
        return;
    };
    let [list_area, detail] =
        Layout::vertical([Constraint::Min(5), Constraint::Length(7)]).areas(area);
    let wide = area.width >= 100;
    let visible = app.visible_partitions();
    let sel = app.selection(ListId::Partitions);
    let range = super::window(visible.len(), sel, list_area);
    let max_lag = topic
        .partitions
        .iter()
        .flat_map(|p| p.replica_lags())
        .filter_map(|(_, l)| l)
        .max()
        .unwrap_or(0);
    let rows: Vec<Row> = visible[range.clone()]
        .iter()
        .map(|p| {
            let rate = app
                .history
                .partition(&topic.name, p.partition)
                .map_or(UNKNOWN.to_owned(), |(r, _)| fmt::rate(r.records));
            let leader = if p.leader >= 0 {
                format!("n{}", p.leader)
            } else {
                "none".to_owned()
            };
            let mut cells = vec![
                Cell::from(p.partition.to_string()),
                if p.leader >= 0 {
                    Cell::from(leader)
                } else {
                    Cell::from(Span::styled(leader, Style::new().fg(Color::Red)))
                },
            ];
            if wide {
                cells.push(Cell::from(p.leader_epoch.to_string()));
            }
            cells.push(Cell::from(fmt::ids(&p.replicas)));
            if wide {
                let isr = fmt::ids(&p.isr);
                cells.push(if p.isr.len() < p.replicas.len() {
                    Cell::from(Span::styled(isr, Style::new().fg(Color::Yellow)))
                } else {
                    Cell::from(isr)
                });
            }
            cells.extend([
                Cell::from(fmt::opt(p.log_start)),
                Cell::from(fmt::opt(p.high_watermark)),
                Cell::from(fmt::opt(p.log_end)),
                Cell::from(fmt::opt_bytes(p.size)),
                Cell::from(rate),
                Cell::from(Span::styled(
                    lag_glyphs(p, max_lag),
                    Style::new().fg(Color::Yellow),
                )),
            ]);
            if let Some(e) = &p.error {
                cells.push(Cell::from(Span::styled(
                    e.clone(),
                    Style::new().fg(Color::Red),
                )));
            }
            Row::new(cells)
        })
        .collect();
    let mut header = vec!["P", "Leader"];
    let mut widths = vec![Constraint::Length(4), Constraint::Length(6)];
    if wide {
        header.push("Epoch");
        widths.push(Constraint::Length(5));
    }
    header.push("Replicas");
    widths.push(Constraint::Length(8));
    if wide {
        header.push("ISR");
        widths.push(Constraint::Length(8));
    }
    header.extend(["Start", "HW", "End", "Size", "Rec/s", "Lag"]);
    widths.extend([
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Length(5),
    ]);
    if wide {
        header.push("Error");
        widths.push(Constraint::Min(6));
    }
    let table = super::table(
        Row::new(header),
        rows,
        widths,
        Some(sel - range.start),
        super::list_block(
            app,
            ListId::Partitions,
            format!("{} › partitions", topic.name),
            visible.len(),
        ),
    );
    frame.render_widget(table, list_area);

    let Some(p) = visible.get(sel) else {
        frame.render_widget(Block::bordered(), detail);
        return;
    };
    let [replicas, spark] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(detail);
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("p{} ", p.partition), Style::new().bold()),
        Span::raw(format!(
            "leader {}  term {}  Raft {}",
            if p.leader >= 0 {
                format!("n{}", p.leader)
            } else {
                "none".into()
            },
            p.leader_epoch,
            if p.replica_state.is_some() {
                "reported"
            } else {
                UNKNOWN
            },
        )),
    ])];
    let lags = p.replica_lags();
    let local_max = lags
        .iter()
        .filter_map(|(_, l)| *l)
        .max()
        .unwrap_or(0)
        .max(1);
    for (node, lag) in lags.iter().take(4) {
        let role = if *node == p.leader {
            "leader  "
        } else {
            "follower"
        };
        let (bar, text) = match lag {
            Some(l) => (
                fmt::bar(*l as f64 / local_max as f64, BAR),
                format!("lag {l}"),
            ),
            None => ("·".repeat(BAR), format!("lag {UNKNOWN}")),
        };
        lines.push(Line::from(vec![
            Span::raw(format!("n{node:<3} {role} ")),
            Span::styled(bar, Style::new().fg(Color::Yellow)),
            Span::raw(format!(" {text}")),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Replicas ".bold())),
        replicas,
    );
    let samples = app
        .history
        .partition(&topic.name, p.partition)
        .map(|(_, s)| s.last(spark.width.saturating_sub(2) as usize))
        .unwrap_or_default();
    frame.render_widget(
        Sparkline::default()
            .data(&samples)
            .style(Style::new().fg(Color::Green))
            .block(Block::bordered().title(" Rec/s ".bold())),
        spark,
    );
}
