//! The input line editor: a cursor over Unicode text, edited only by the
//! user, so incoming messages can never garble it. It moves, deletes and
//! measures by extended grapheme cluster, so what the user sees as one
//! character (`👨‍👩‍👧`, `👍🏽`, `é` written as `e` + U+0301) is one unit.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

#[derive(Debug, Default, Clone)]
pub struct InputLine {
    text: String,
    /// Cursor position in bytes, always at a cluster boundary.
    cursor: usize,
    /// The last text killed (Ctrl-K, Ctrl-U, Ctrl-W, Alt-D), for Ctrl-Y.
    killed: String,
}

/// Columns a cluster takes on the terminal (as ratatui draws it).
pub fn cluster_width(cluster: &str) -> usize {
    cluster.width()
}

/// A cluster that is part of a word for Alt-B/F/D, as in readline.
fn is_word(cluster: &str) -> bool {
    cluster.chars().next().is_some_and(char::is_alphanumeric)
}

impl InputLine {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The cursor's byte offset in `text()`.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Replaces the text from byte `start` (a cluster boundary before the
    /// cursor) to the cursor with `with`, leaving the cursor after it.
    pub fn replace_before_cursor(&mut self, start: usize, with: &str) {
        let start = start.min(self.cursor);
        self.text.replace_range(start..self.cursor, with);
        self.cursor = start + with.len();
    }

    /// Alt-Enter: a line break inside the message.
    pub fn insert_newline(&mut self) {
        self.text.insert(self.cursor, '\n');
        self.cursor += 1;
    }

    /// The cluster before the cursor and its byte offset.
    fn before(&self) -> Option<(usize, &str)> {
        self.text[..self.cursor].grapheme_indices(true).next_back()
    }

    /// The cluster after the cursor.
    fn after(&self) -> Option<&str> {
        self.text[self.cursor..].graphemes(true).next()
    }

    pub fn insert(&mut self, c: char) {
        self.insert_str(c.encode_utf8(&mut [0; 4]));
    }

    /// Typed or pasted text without line breaks: tabs and line breaks become
    /// spaces, other control characters are dropped.
    pub fn insert_str(&mut self, s: &str) {
        let clean: String = s
            .chars()
            .filter_map(|c| match c {
                '\n' | '\t' => Some(' '),
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect();
        let from = self.before().map_or(0, |(i, _)| i);
        self.text.insert_str(self.cursor, &clean);
        let inserted_end = self.cursor + clean.len();
        // A combining mark or joiner merges with its neighbours: the cursor
        // goes after the whole cluster that holds the inserted text's end.
        self.cursor = self.text[from..]
            .grapheme_indices(true)
            .map(|(i, g)| from + i + g.len())
            .find(|&end| end >= inserted_end)
            .unwrap_or(self.text.len());
    }

    pub fn backspace(&mut self) {
        if let Some((start, _)) = self.before() {
            self.text.replace_range(start..self.cursor, "");
            self.cursor = start;
        }
    }

    /// Deletes the cluster under the cursor.
    pub fn delete(&mut self) {
        if let Some(len) = self.after().map(str::len) {
            self.text.replace_range(self.cursor..self.cursor + len, "");
        }
    }

    pub fn left(&mut self) {
        if let Some((start, _)) = self.before() {
            self.cursor = start;
        }
    }

    pub fn right(&mut self) {
        self.cursor += self.after().map_or(0, str::len);
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.len();
    }

    /// Alt-B: to the start of this or the previous word.
    pub fn word_left(&mut self) {
        while self.before().is_some_and(|(_, g)| !is_word(g)) {
            self.left();
        }
        while self.before().is_some_and(|(_, g)| is_word(g)) {
            self.left();
        }
    }

    /// Alt-F: to the end of this or the next word.
    pub fn word_right(&mut self) {
        while self.after().is_some_and(|g| !is_word(g)) {
            self.right();
        }
        while self.after().is_some_and(is_word) {
            self.right();
        }
    }

    fn kill(&mut self, from: usize, to: usize) {
        self.killed = self.text[from..to].to_string();
        self.text.replace_range(from..to, "");
        self.cursor = from;
    }

    /// Ctrl-K: kills from the cursor to the end.
    pub fn kill_to_end(&mut self) {
        self.kill(self.cursor, self.text.len());
    }

    /// Ctrl-U: kills from the start to the cursor.
    pub fn kill_to_start(&mut self) {
        self.kill(0, self.cursor);
    }

    /// Ctrl-W: kills the whitespace-delimited word before the cursor.
    pub fn kill_word_before(&mut self) {
        let end = self.cursor;
        while self.before().is_some_and(|(_, g)| g.trim().is_empty()) {
            self.left();
        }
        while self.before().is_some_and(|(_, g)| !g.trim().is_empty()) {
            self.left();
        }
        self.kill(self.cursor, end);
    }

    /// Alt-D: kills to the end of this or the next word.
    pub fn kill_word_after(&mut self) {
        let start = self.cursor;
        self.word_right();
        self.kill(start, self.cursor);
    }

    /// Ctrl-Y: inserts the last killed text.
    pub fn yank(&mut self) {
        let killed = self.killed.clone();
        self.insert_str(&killed);
    }

    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.text.len();
    }

    pub fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    /// The part of the text to show in `width` columns so the cursor is
    /// visible, and the cursor's column within it. Whole clusters only.
    pub fn visible(&self, width: usize) -> (String, usize) {
        let width = width.max(1);
        // A line break (Alt-Enter) shows as ⏎ on the one input row.
        let clusters: Vec<(usize, &str)> = self
            .text
            .grapheme_indices(true)
            .map(|(i, g)| (i, if g == "\n" { "⏎" } else { g }))
            .collect();
        let at = clusters.partition_point(|(i, _)| *i < self.cursor);
        let columns = |range: &[(usize, &str)]| -> usize {
            range.iter().map(|(_, g)| cluster_width(g)).sum()
        };
        // Start as late as needed for the cursor (and one cell after it) to fit.
        let mut start = 0;
        while start < at && columns(&clusters[start..at]) + 1 > width {
            start += 1;
        }
        let mut shown = String::new();
        let mut used = 0;
        for (_, g) in &clusters[start..] {
            let w = cluster_width(g);
            if used + w > width {
                break;
            }
            used += w;
            shown.push_str(g);
        }
        (shown, columns(&clusters[start..at]))
    }
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;
