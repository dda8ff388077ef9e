//! Keys: readline conventions for the input line, ↑/↓ through what was
//! sent, PageUp/PageDown through the messages. A key that is not bound does
//! nothing: a Ctrl or Alt chord never types its letter.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::App;
use crate::command::Command;

/// The keys, shown after the commands by `/help`.
pub const HELP: &str = "\
Keys:
←/→  Ctrl-B/Ctrl-F  Alt-B/Alt-F  Ctrl-←/→   a character or a word left/right
Home/End  Ctrl-A/Ctrl-E   the start or end of the line
Backspace  Delete  Ctrl-D   delete a character; Ctrl-W, Alt-D a word
Ctrl-U/Ctrl-K       delete to the start/end of the line; Ctrl-Y puts it back
↑/↓                 earlier lines; Esc clears the line (↑ brings it back)
Tab                 complete a name, command or #room; again for the next
Alt-Enter           a line break inside the message (Shift-Enter where reported)
Alt-1..9            show buffer 1..9 (1 is status); Alt-←/→, Ctrl-P/Ctrl-N the previous/next
F2                  show or hide the member list (wide terminals only)
PageUp/PageDown     scroll the messages; Ctrl-L redraws the screen
Ctrl-C, or Ctrl-D on an empty line, quits. A pasted block is sent line by line.";

/// Lines moved by PageUp/PageDown.
const PAGE: usize = 10;

impl App {
    /// A key press; returns what to tell the connection.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if key.code != KeyCode::Tab {
            self.completion = None;
        }
        let input = &mut self.input;
        match key.code {
            KeyCode::Char(c) if ctrl && !alt => match c {
                'c' => return Some(Command::Quit),
                'd' if input.is_empty() => return Some(Command::Quit),
                'd' => input.delete(),
                'a' => input.home(),
                'e' => input.end(),
                'b' => input.left(),
                'f' => input.right(),
                'h' => input.backspace(),
                'k' => input.kill_to_end(),
                'u' => input.kill_to_start(),
                'w' => input.kill_word_before(),
                'y' => input.yank(),
                'l' => self.redraw = true,
                'p' => self.buffers.cycle(-1),
                'n' => self.buffers.cycle(1),
                _ => {}
            },
            KeyCode::Char(c) if alt && !ctrl => match c {
                'b' => input.word_left(),
                'f' => input.word_right(),
                'd' => input.kill_word_after(),
                '1'..='9' => self.buffers.focus(c as usize - '1' as usize),
                _ => {}
            },
            KeyCode::Char(_) if ctrl || alt => {}
            KeyCode::Char(c) => input.insert(c),
            KeyCode::Backspace if ctrl || alt => input.kill_word_before(),
            KeyCode::Backspace => input.backspace(),
            KeyCode::Delete => input.delete(),
            KeyCode::Left if alt => self.buffers.cycle(-1),
            KeyCode::Right if alt => self.buffers.cycle(1),
            KeyCode::Left if ctrl => input.word_left(),
            KeyCode::Right if ctrl => input.word_right(),
            KeyCode::Left => input.left(),
            KeyCode::Right => input.right(),
            KeyCode::Home => input.home(),
            KeyCode::End => input.end(),
            KeyCode::Up => self.recall_older(),
            KeyCode::Down => self.recall_newer(),
            KeyCode::PageUp => self.buffers.focused_mut().scroll.up(PAGE),
            KeyCode::PageDown => self.buffers.focused_mut().scroll.down(PAGE),
            KeyCode::Tab => self.complete(),
            KeyCode::F(2) => self.show_members = !self.show_members,
            KeyCode::Esc => self.put_aside(),
            // Shift-Enter too, where the terminal reports it apart from Enter.
            KeyCode::Enter
                if (alt || key.modifiers.contains(KeyModifiers::SHIFT))
                    && self.awaiting_password.is_none()
                    && !self.view.awaiting_name =>
            {
                input.insert_newline()
            }
            KeyCode::Enter => return self.submit(),
            _ => {}
        }
        None
    }

    /// Esc clears the line without losing it: the draft joins the lines
    /// that ↑ brings back.
    fn put_aside(&mut self) {
        if self.awaiting_password.is_some() {
            // A password is never kept.
            self.cancel_password();
            return;
        }
        let draft = self.input.take();
        self.recall = None;
        if !draft.trim().is_empty() && self.sent.last() != Some(&draft) {
            self.sent.push(draft);
        }
    }

    fn recall_older(&mut self) {
        if self.sent.is_empty() || self.awaiting_password.is_some() {
            return;
        }
        let (index, draft) = match self.recall.take() {
            None => (self.sent.len() - 1, self.input.text().to_string()),
            Some((i, draft)) => (i.saturating_sub(1), draft),
        };
        self.input.set(&self.sent[index].clone());
        self.recall = Some((index, draft));
    }

    fn recall_newer(&mut self) {
        match self.recall.take() {
            Some((i, draft)) if i + 1 < self.sent.len() => {
                self.input.set(&self.sent[i + 1].clone());
                self.recall = Some((i + 1, draft));
            }
            // Past the newest: the line being written before ↑.
            Some((_, draft)) => self.input.set(&draft),
            None => {}
        }
    }
}
