//! The message view's scroll position. Scrolled back, it stays on the same
//! lines while new messages arrive below, and counts them for the status bar.

use std::cell::Cell;

#[derive(Debug, Default)]
pub struct Scrollback {
    /// Lines scrolled up from the newest.
    offset: usize,
    /// Entries that arrived while scrolled up.
    new_below: usize,
    /// The message area's width at the last draw: how new entries wrap.
    drawn_width: Cell<usize>,
    /// The offset that shows the oldest line at the top, once a draw reached it.
    max_offset: Cell<Option<usize>>,
}

impl Scrollback {
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Entries that arrived while scrolled up (some may be in view by now).
    pub fn new_below(&self) -> usize {
        self.new_below
    }

    pub fn up(&mut self, lines: usize) {
        let max = self.max_offset.get().unwrap_or(usize::MAX);
        self.offset = self.offset.saturating_add(lines).min(max);
    }

    pub fn down(&mut self, lines: usize) {
        self.offset = self.offset.saturating_sub(lines);
        if self.offset == 0 {
            self.new_below = 0;
        }
    }

    pub fn bottom(&mut self) {
        self.down(usize::MAX);
    }

    /// A new entry arrived; `lines(width)` is how many lines it wraps to.
    pub fn arrived(&mut self, lines: impl FnOnce(usize) -> usize) {
        if self.offset == 0 {
            return;
        }
        let width = self.drawn_width.get();
        let added = if width == 0 { 1 } else { lines(width) };
        self.offset += added;
        self.new_below += 1;
        if let Some(max) = self.max_offset.get() {
            self.max_offset.set(Some(max + added));
        }
    }

    /// What the last draw learned: the width, and the largest useful offset
    /// if it reached the oldest entry.
    pub(super) fn drawn(&self, width: usize, max_offset: Option<usize>) {
        self.drawn_width.set(width);
        self.max_offset.set(max_offset);
    }
}
