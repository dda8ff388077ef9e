//! The input line editor: a cursor over Unicode text, edited only by the
//! user, so incoming messages can never garble it.

use unicode_width::UnicodeWidthChar;

#[derive(Debug, Default, Clone)]
pub struct InputLine {
    text: String,
    /// Cursor position in characters (not bytes).
    cursor: usize,
}

impl InputLine {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    fn byte_index(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    fn len(&self) -> usize {
        self.text.chars().count()
    }

    pub fn insert(&mut self, c: char) {
        let at = self.byte_index(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    /// Pasted text; line breaks become spaces so one paste is one message.
    pub fn insert_str(&mut self, s: &str) {
        for c in s.chars() {
            match c {
                '\r' => {}
                '\n' | '\t' => self.insert(' '),
                c if c.is_control() => {}
                c => self.insert(c),
            }
        }
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let at = self.byte_index(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.len() {
            let at = self.byte_index(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.len());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.len();
    }

    /// Deletes the word before the cursor (Ctrl-W).
    pub fn delete_word(&mut self) {
        while self.cursor > 0 && self.char_before().is_some_and(char::is_whitespace) {
            self.backspace();
        }
        while self.cursor > 0 && self.char_before().is_some_and(|c| !c.is_whitespace()) {
            self.backspace();
        }
    }

    fn char_before(&self) -> Option<char> {
        self.text.chars().nth(self.cursor.checked_sub(1)?)
    }

    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.len();
    }

    pub fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    /// The part of the text to show in `width` columns so the cursor is
    /// visible, and the cursor's column within it.
    pub fn visible(&self, width: usize) -> (String, usize) {
        let width = width.max(1);
        let chars: Vec<char> = self.text.chars().collect();
        let col = |range: &[char]| range.iter().map(|c| c.width().unwrap_or(0)).sum::<usize>();
        // Start as late as needed for the cursor (and one cell after it) to fit.
        let mut start = 0;
        while col(&chars[start..self.cursor]) + 1 > width && start < self.cursor {
            start += 1;
        }
        let mut shown = String::new();
        let mut used = 0;
        for c in &chars[start..] {
            let w = c.width().unwrap_or(0);
            if used + w > width {
                break;
            }
            used += w;
            shown.push(*c);
        }
        (shown, col(&chars[start..self.cursor]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_works_on_characters_not_bytes() {
        let mut line = InputLine::default();
        line.insert_str("héllo 日本");
        line.left();
        line.left();
        line.backspace();
        assert_eq!(line.text(), "héllo日本");
        line.home();
        line.delete();
        assert_eq!(line.text(), "éllo日本");
        line.end();
        line.insert('!');
        assert_eq!(line.text(), "éllo日本!");
        line.delete_word();
        assert_eq!(line.text(), "");
    }

    #[test]
    fn a_long_line_scrolls_to_keep_the_cursor_visible() {
        let mut line = InputLine::default();
        line.insert_str("abcdefghij");
        let (shown, cursor) = line.visible(5);
        assert_eq!((shown.as_str(), cursor), ("ghij", 4));
        line.home();
        assert_eq!(line.visible(5), ("abcde".to_string(), 0));
        let mut wide = InputLine::default();
        wide.insert_str("日本語");
        assert_eq!(wide.visible(4), ("語".to_string(), 2));
    }

    #[test]
    fn paste_keeps_one_line() {
        let mut line = InputLine::default();
        line.insert_str("a\r\nb\tc\u{1b}");
        assert_eq!(line.text(), "a b c");
    }
}
