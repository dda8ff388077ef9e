//! One buffer per room and per direct conversation, plus the status buffer
//! (number 1, as in weechat and irssi): each with its own scrollback, unread
//! count, mention mark, read marker and, for rooms, its members.

use std::collections::{BTreeMap, VecDeque};

use chrono::NaiveDate;

use super::app::Entry;
use super::render::entry_lines;
use super::scroll::Scrollback;
use crate::moderation::RoomSettings;

/// Most entries kept in each buffer.
const SCROLLBACK: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Connection and server lines; never closed.
    Status,
    Room,
    /// A direct conversation; `name` is the other user.
    Direct,
}

#[derive(Debug)]
pub struct Buffer {
    pub kind: Kind,
    pub name: String,
    pub entries: VecDeque<Entry>,
    pub scroll: Scrollback,
    /// Messages that arrived while the buffer was not in view.
    pub unread: u64,
    /// One of them mentioned the user (every direct message does).
    pub mention: bool,
    pub members: Members,
    /// The members were listed in the buffer once (on the first join).
    pub introduced: bool,
    /// A room's topic, modes and the user's role, from a `MODERATION`
    /// server (`[MOD-6]`): the header above the messages shows them.
    pub settings: Option<RoomSettings>,
    /// The highest room sequence number shown: a message at or below it is
    /// a repeat (a replay after a reconnect), never counted twice.
    last_seq: u64,
    /// JOINED seen for this room, this session: replays after the first
    /// are gap fills after a reconnect, and count as unread.
    joins: u32,
    /// Entries ever added; with `entries.len()`, the absolute index of each.
    pushed: u64,
    /// The absolute index of the first entry added after the user last
    /// looked away from this buffer ("new since you last looked").
    marker: Option<u64>,
    /// The day of the last message, for the day-change line.
    last_day: Option<NaiveDate>,
}

impl Buffer {
    pub fn new(kind: Kind, name: &str) -> Self {
        Buffer {
            kind,
            name: name.to_string(),
            entries: VecDeque::new(),
            scroll: Scrollback::default(),
            unread: 0,
            mention: false,
            members: Members::default(),
            introduced: false,
            settings: None,
            last_seq: 0,
            joins: 0,
            pushed: 0,
            marker: None,
            last_day: None,
        }
    }

    /// How the room list names the buffer.
    pub fn label(&self) -> String {
        match self.kind {
            Kind::Status => "status".into(),
            Kind::Room => format!("#{}", self.name),
            Kind::Direct => format!("@{}", self.name),
        }
    }

    pub fn push(&mut self, entry: Entry) {
        self.scroll
            .arrived(|width| entry_lines(&entry, width).len());
        if self.entries.len() == SCROLLBACK {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
        self.pushed += 1;
    }

    /// A message's day: a day-change line goes before the first message of
    /// a day other than the previous message's.
    pub fn day(&mut self, day: NaiveDate) -> Option<NaiveDate> {
        let changed = self.last_day.is_some_and(|last| last != day);
        self.last_day = Some(day);
        changed.then_some(day)
    }

    /// Counts a room message as unread when the buffer is out of view and
    /// the message is newer than any shown (`seq` is exact: a replay after a
    /// reconnect is counted once, an older page of `/history` not at all).
    /// Replays count only when they fill a gap after a reconnect, not as the
    /// backlog shown on a first join.
    pub fn room_message(&mut self, seq: u64, counts: bool, history: bool, focused: bool) {
        if seq != 0 && seq <= self.last_seq {
            return;
        }
        self.last_seq = self.last_seq.max(seq);
        if counts && !focused && (!history || self.joins > 1) {
            self.unread += 1;
        }
    }

    pub fn joined(&mut self, members: u32) {
        self.joins += 1;
        self.members.reset(members);
    }

    /// The user looked away: what arrives from now on is "new".
    pub fn leave_view(&mut self) {
        self.marker = Some(self.pushed);
    }

    /// The user looks at the buffer: nothing in it is unread any more.
    pub fn enter_view(&mut self) {
        self.unread = 0;
        self.mention = false;
    }

    /// The index in `entries` before which the read marker is drawn, if
    /// anything arrived since the user last looked away.
    pub fn marker_index(&self) -> Option<usize> {
        let marker = self.marker?;
        let first = self.pushed - self.entries.len() as u64;
        (marker >= first && marker < self.pushed).then(|| (marker - first) as usize)
    }
}

/// A room's members: the count from JOINED, then the names from WHO, kept
/// current by presence. Once the names are known the count is their number,
/// so the list and the status bar always agree.
#[derive(Debug, Default)]
pub struct Members {
    /// Lower-cased name to name as shown, in order.
    names: BTreeMap<String, String>,
    /// The count before the names are known.
    count: u32,
    listed: bool,
}

impl Members {
    fn reset(&mut self, count: u32) {
        self.names.clear();
        self.count = count;
        self.listed = false;
    }

    /// A WHO answer for the room: the names, complete.
    pub fn listed(&mut self, users: &[String]) {
        self.names = users
            .iter()
            .map(|u| (u.to_lowercase(), u.clone()))
            .collect();
        self.listed = true;
    }

    pub fn joined(&mut self, user: &str) {
        let new = self
            .names
            .insert(user.to_lowercase(), user.to_string())
            .is_none();
        if new && !self.listed {
            self.count += 1;
        }
    }

    pub fn left(&mut self, user: &str) {
        let known = self.names.remove(&user.to_lowercase()).is_some();
        if !self.listed && (known || self.count > 0) {
            self.count = self.count.saturating_sub(1);
        }
    }

    pub fn count(&self) -> u32 {
        if self.listed {
            self.names.len() as u32
        } else {
            self.count
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.values().map(String::as_str)
    }
}

/// The buffers in room-list order (status first) and which one is in view.
#[derive(Debug)]
pub struct Buffers {
    list: Vec<Buffer>,
    focused: usize,
}

impl Default for Buffers {
    fn default() -> Self {
        Buffers {
            list: vec![Buffer::new(Kind::Status, "")],
            focused: 0,
        }
    }
}

impl Buffers {
    pub fn iter(&self) -> impl Iterator<Item = &Buffer> {
        self.list.iter()
    }

    pub fn focused(&self) -> &Buffer {
        &self.list[self.focused]
    }

    pub fn focused_mut(&mut self) -> &mut Buffer {
        &mut self.list[self.focused]
    }

    pub fn focused_index(&self) -> usize {
        self.focused
    }

    pub fn find(&self, kind: Kind, name: &str) -> Option<usize> {
        let lower = name.to_lowercase();
        self.list
            .iter()
            .position(|b| b.kind == kind && b.name.to_lowercase() == lower)
    }

    /// The buffer of `kind` and `name`, created (last in the list) if new.
    pub fn get(&mut self, kind: Kind, name: &str) -> usize {
        self.find(kind, name).unwrap_or_else(|| {
            self.list.push(Buffer::new(kind, name));
            self.list.len() - 1
        })
    }

    pub fn at(&mut self, index: usize) -> &mut Buffer {
        &mut self.list[index]
    }

    pub fn is_focused(&self, index: usize) -> bool {
        self.focused == index
    }

    /// Brings buffer `index` into view (if it exists).
    pub fn focus(&mut self, index: usize) {
        if index >= self.list.len() || index == self.focused {
            return;
        }
        self.list[self.focused].leave_view();
        self.focused = index;
        self.list[index].enter_view();
    }

    /// The next (`step` 1) or previous (`step` -1) buffer, round the list.
    pub fn cycle(&mut self, step: isize) {
        let len = self.list.len() as isize;
        let next = (self.focused as isize + step).rem_euclid(len);
        self.focus(next as usize);
    }

    /// Closes a room or conversation; the one before it comes into view.
    pub fn close(&mut self, index: usize) {
        if index == 0 || index >= self.list.len() {
            return;
        }
        self.list.remove(index);
        if self.focused >= index {
            self.focused -= 1;
            self.list[self.focused].enter_view();
        }
    }
}
