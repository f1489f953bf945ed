//! The main loop's inputs, merged into one stream: terminal events (keys,
//! mouse wheel, resizes), a clock tick, and collector updates.

use std::time::Duration;

use crossterm::event::{Event as Term, EventStream, KeyEvent, KeyEventKind, MouseEventKind};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::{interval, Interval, MissedTickBehavior};

use crate::collect::Update;

/// One input of the main loop.
#[derive(Debug)]
pub enum Event {
    /// A key press.
    Key(KeyEvent),
    /// The mouse wheel: rows down (negative: up).
    Scroll(isize),
    /// The terminal was resized to (columns, rows).
    Resize(u16, u16),
    /// The clock ticked.
    Tick,
    /// A collector sent an update.
    Update(Update),
    /// The terminal's input ended or failed.
    InputClosed,
}

/// The merged inputs.
#[derive(Debug)]
pub struct Events {
    terminal: EventStream,
    tick: Interval,
    updates: mpsc::Receiver<Update>,
}

impl Events {
    /// Reads the terminal, ticks every `tick`, and receives `updates`.
    pub fn new(tick: Duration, updates: mpsc::Receiver<Update>) -> Self {
        let mut tick = interval(tick);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Events {
            terminal: EventStream::new(),
            tick,
            updates,
        }
    }

    /// The next input.
    pub async fn next(&mut self) -> Event {
        loop {
            tokio::select! {
                ev = self.terminal.next() => match ev {
                    Some(Ok(Term::Key(k))) if k.kind != KeyEventKind::Release => return Event::Key(k),
                    Some(Ok(Term::Mouse(m))) => match m.kind {
                        MouseEventKind::ScrollDown => return Event::Scroll(3),
                        MouseEventKind::ScrollUp => return Event::Scroll(-3),
                        _ => {}
                    },
                    Some(Ok(Term::Resize(w, h))) => return Event::Resize(w, h),
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return Event::InputClosed,
                },
                _ = self.tick.tick() => return Event::Tick,
                Some(u) = self.updates.recv() => return Event::Update(u),
            }
        }
    }

    /// An update that is already waiting, if any (to fold several in before
    /// drawing once).
    pub fn try_update(&mut self) -> Option<Update> {
        self.updates.try_recv().ok()
    }
}
