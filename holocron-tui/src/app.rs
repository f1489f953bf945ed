//! The app state and its key handling — pure: no I/O, no clock, no terminal.
//! The main loop feeds it keys ([`App::on_key`]), collector updates
//! ([`App::apply`]) and the time ([`App::tick`]); drawing reads it.
//! Key handling returns the [`Command`]s the collectors must hear about.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::collect::{Command, Source, Update};
use crate::history::History;
use crate::model::{ClusterSnapshot, GroupsData, TailRecord};

/// Records kept by the tail (newest first).
pub const TAIL_CAP: usize = 2000;

/// The top-level views, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tab {
    /// Brokers, metadata quorum, throughput, totals.
    Overview,
    /// Topics, then one topic's partitions.
    Topics,
    /// Consumer groups, then one group's members and lag.
    Groups,
    /// Live records of a topic.
    Tail,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 4] = [Tab::Overview, Tab::Topics, Tab::Groups, Tab::Tail];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Topics => "Topics",
            Tab::Groups => "Groups",
            Tab::Tail => "Tail",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// Every list that can be scrolled and filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ListId {
    /// Brokers on the overview.
    Brokers,
    /// Topics.
    Topics,
    /// Partitions of the open topic.
    Partitions,
    /// Groups.
    Groups,
    /// Per-partition offsets of the open group.
    GroupOffsets,
    /// The topic picker of the tail.
    TailPick,
    /// Tailed records.
    Tail,
}

/// The filter being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterInput {
    /// The list it filters.
    pub list: ListId,
    /// Its value before editing (restored by Esc).
    pub before: String,
}

/// The tail's state.
#[derive(Debug, Clone, Default)]
pub struct Tail {
    /// The topic being tailed.
    pub topic: Option<String>,
    /// Records shown, newest first.
    pub records: VecDeque<TailRecord>,
    /// Frozen: new records wait in `held`.
    pub paused: bool,
    /// Records that arrived while paused, oldest first.
    pub held: Vec<TailRecord>,
    /// Records received since the tail started.
    pub received: u64,
}

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct App {
    /// The active tab.
    pub tab: Tab,
    /// The topic whose partitions are open (Topics tab).
    pub open_topic: Option<String>,
    /// The group that is open (Groups tab).
    pub open_group: Option<String>,
    /// Selected row per list (clamped when drawn).
    pub selected: BTreeMap<ListId, usize>,
    /// Filter per list (case-insensitive substring).
    pub filters: BTreeMap<ListId, String>,
    /// The filter being typed, if any.
    pub input: Option<FilterInput>,
    /// The help overlay is shown.
    pub help: bool,
    /// The user asked to quit.
    pub quit: bool,
    /// The newest cluster poll.
    pub cluster: Option<ClusterSnapshot>,
    /// Rates and sparklines.
    pub history: History,
    /// The newest groups poll.
    pub groups: Option<GroupsData>,
    /// The tail.
    pub tail: Tail,
    /// Current errors per collector.
    pub errors: BTreeMap<Source, String>,
    /// The bootstrap brokers, for the title bar.
    pub brokers: String,
    /// Time between polls.
    pub interval: Duration,
    /// ms since start (the app's clock, set by ticks).
    pub now_ms: u64,
    /// Rows a page moves (set from the terminal height).
    pub page: usize,
}

impl App {
    /// A fresh app on `tab`.
    pub fn new(brokers: impl Into<String>, interval: Duration) -> Self {
        App {
            tab: Tab::Overview,
            open_topic: None,
            open_group: None,
            selected: BTreeMap::new(),
            filters: BTreeMap::new(),
            input: None,
            help: false,
            quit: false,
            cluster: None,
            history: History::default(),
            groups: None,
            tail: Tail::default(),
            errors: BTreeMap::new(),
            brokers: brokers.into(),
            interval,
            now_ms: 0,
            page: 10,
        }
    }

    /// Advances the app's clock.
    pub fn tick(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    /// Folds in a collector update.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Cluster(snap) => {
                self.history.observe(self.cluster.as_ref(), &snap);
                self.cluster = Some(*snap);
                self.errors.remove(&Source::Cluster);
            }
            Update::Groups(data) => {
                self.history.observe_groups(&data);
                self.groups = Some(data);
                self.errors.remove(&Source::Groups);
            }
            Update::Tail { topic, records } => {
                if self.tail.topic.as_deref() != Some(topic.as_str()) {
                    return;
                }
                self.tail.received += records.len() as u64;
                if self.tail.paused {
                    self.tail.held.extend(records);
                    let over = self.tail.held.len().saturating_sub(TAIL_CAP);
                    self.tail.held.drain(..over);
                } else {
                    self.push_tail(records);
                }
            }
            Update::Status { source, error } => match error {
                Some(e) => {
                    self.errors.insert(source, e);
                }
                None => {
                    self.errors.remove(&source);
                }
            },
        }
    }

    fn push_tail(&mut self, records: Vec<TailRecord>) {
        for r in records {
            self.tail.records.push_front(r);
        }
        self.tail.records.truncate(TAIL_CAP);
    }

    /// The list that keys move in.
    pub fn current_list(&self) -> ListId {
        match self.tab {
            Tab::Overview => ListId::Brokers,
            Tab::Topics if self.open_topic.is_some() => ListId::Partitions,
            Tab::Topics => ListId::Topics,
            Tab::Groups if self.open_group.is_some() => ListId::GroupOffsets,
            Tab::Groups => ListId::Groups,
            Tab::Tail if self.tail.topic.is_some() => ListId::Tail,
            Tab::Tail => ListId::TailPick,
        }
    }

    /// The filter of a list ("" when none).
    pub fn filter(&self, list: ListId) -> &str {
        self.filters.get(&list).map_or("", String::as_str)
    }

    /// The selected row of a list, clamped to its length.
    pub fn selection(&self, list: ListId) -> usize {
        let len = self.list_len(list);
        self.selected
            .get(&list)
            .copied()
            .unwrap_or(0)
            .min(len.saturating_sub(1))
    }

    fn set_selection(&mut self, list: ListId, row: usize) {
        self.selected.insert(list, row);
    }

    fn move_by(&mut self, delta: isize) {
        let list = self.current_list();
        let len = self.list_len(list);
        if len == 0 {
            return;
        }
        let cur = self.selection(list) as isize;
        let next = (cur + delta).clamp(0, len as isize - 1);
        self.set_selection(list, next as usize);
    }

    /// Mouse wheel: `delta` rows down (negative: up).
    pub fn on_scroll(&mut self, delta: isize) {
        if !self.help && self.input.is_none() {
            self.move_by(delta);
        }
    }

    /// Handles a key; returns what the collectors must be told.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            self.quit = true;
            return None;
        }
        if let Some(input) = self.input.clone() {
            self.on_filter_key(input, key);
            return None;
        }
        if self.help {
            match key.code {
                KeyCode::Char('q') => self.quit = true,
                _ => self.help = false,
            }
            return None;
        }
        let page = self.page.max(1) as isize;
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') => self.switch(1),
            KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') => self.switch(-1),
            KeyCode::Char(c @ '1'..='4') => {
                self.tab = Tab::ALL[c as usize - '1' as usize];
            }
            KeyCode::Char('d' | 'f') if ctrl => self.move_by(page),
            KeyCode::Char('u' | 'b') if ctrl => self.move_by(-page),
            KeyCode::Down | KeyCode::Char('j') => self.move_by(1),
            KeyCode::Up | KeyCode::Char('k') => self.move_by(-1),
            KeyCode::PageDown => self.move_by(page),
            KeyCode::PageUp => self.move_by(-page),
            KeyCode::Home | KeyCode::Char('g') => self.move_by(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => self.move_by(isize::MAX / 2),
            KeyCode::Char('/') => {
                let list = self.current_list();
                self.input = Some(FilterInput {
                    list,
                    before: self.filter(list).to_owned(),
                });
            }
            KeyCode::Enter => return self.drill_down(),
            KeyCode::Esc => return self.back(),
            KeyCode::Char('t') => return self.tail_selected_topic(),
            KeyCode::Char(' ' | 'p') if self.tab == Tab::Tail => self.toggle_pause(),
            KeyCode::Char('c') if self.tab == Tab::Tail => {
                self.tail.records.clear();
                self.tail.held.clear();
            }
            KeyCode::Char('r') => return Some(Command::Refresh),
            _ => {}
        }
        None
    }

    fn on_filter_key(&mut self, input: FilterInput, key: KeyEvent) {
        let text = self.filters.entry(input.list).or_default();
        match key.code {
            KeyCode::Enter => self.input = None,
            KeyCode::Esc => {
                *text = input.before;
                self.input = None;
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) => text.push(c),
            _ => {}
        }
        self.set_selection(input.list, 0);
    }

    fn switch(&mut self, step: isize) {
        let n = Tab::ALL.len() as isize;
        let i = (self.tab.index() as isize + step).rem_euclid(n);
        self.tab = Tab::ALL[i as usize];
    }

    fn drill_down(&mut self) -> Option<Command> {
        match self.current_list() {
            ListId::Topics => {
                let name = self.selected_topic_name()?;
                self.open_topic = Some(name);
                self.set_selection(ListId::Partitions, 0);
            }
            ListId::Groups => {
                let sel = self.selection(ListId::Groups);
                let id = self.visible_groups().get(sel)?.group_id.clone();
                self.open_group = Some(id);
                self.set_selection(ListId::GroupOffsets, 0);
            }
            ListId::TailPick => {
                let sel = self.selection(ListId::TailPick);
                let name = self.visible_topics().get(sel)?.name.clone();
                return Some(self.start_tail(name));
            }
            _ => {}
        }
        None
    }

    fn back(&mut self) -> Option<Command> {
        let list = self.current_list();
        if !self.filter(list).is_empty() {
            self.filters.remove(&list);
            return None;
        }
        match list {
            ListId::Partitions => self.open_topic = None,
            ListId::GroupOffsets => self.open_group = None,
            ListId::Tail => {
                self.tail = Tail::default();
                return Some(Command::Tail(None));
            }
            _ => {}
        }
        None
    }

    fn selected_topic_name(&self) -> Option<String> {
        match self.current_list() {
            ListId::Topics | ListId::TailPick => {
                let sel = self.selection(self.current_list());
                Some(self.visible_topics().get(sel)?.name.clone())
            }
            ListId::Partitions => self.open_topic.clone(),
            _ => None,
        }
    }

    fn tail_selected_topic(&mut self) -> Option<Command> {
        let name = self.selected_topic_name()?;
        Some(self.start_tail(name))
    }

    fn start_tail(&mut self, topic: String) -> Command {
        self.tab = Tab::Tail;
        self.tail = Tail {
            topic: Some(topic.clone()),
            ..Tail::default()
        };
        self.set_selection(ListId::Tail, 0);
        Command::Tail(Some(topic))
    }

    fn toggle_pause(&mut self) {
        if self.tail.topic.is_none() {
            return;
        }
        self.tail.paused = !self.tail.paused;
        if !self.tail.paused {
            let held = std::mem::take(&mut self.tail.held);
            self.push_tail(held);
        }
    }

    /// Starts tailing `topic` (the `--tail` flag).
    pub fn tail_topic(&mut self, topic: String) -> Command {
        self.start_tail(topic)
    }
}

#[cfg(test)]
mod tests;
