//! Tab completion of member names, commands and room names. The first Tab
//! completes the word before the cursor; each further Tab, with nothing
//! typed in between, replaces it with the next candidate, round the list.

use super::app::App;
use super::buffers::Kind;
use crate::command::MODERATION_COMMANDS;

/// Commands offered for a `/` at the start of the line, with the
/// moderation commands (`command::MODERATION_COMMANDS`).
const COMMANDS: &[&str] = &[
    "/help", "/history", "/join", "/leave", "/me", "/msg", "/query", "/quit", "/reply", "/rooms",
    "/who",
];

/// A completion in progress.
#[derive(Debug, Clone)]
pub struct Completion {
    /// Where the completed word starts (bytes).
    start: usize,
    candidates: Vec<String>,
    index: usize,
    /// The line as this completion left it: anything else means the user
    /// typed since, and the next Tab starts afresh.
    line: String,
}

impl App {
    /// Tab: completes, or offers the next candidate.
    pub(super) fn complete(&mut self) {
        if self.view.awaiting_name || self.awaiting_password.is_some() {
            return;
        }
        let mut completion = match self.completion.take() {
            Some(mut c) if c.line == self.input.text() => {
                c.index = (c.index + 1) % c.candidates.len();
                c
            }
            _ => match self.start_completion() {
                Some(c) => c,
                None => return,
            },
        };
        self.input
            .replace_before_cursor(completion.start, &completion.candidates[completion.index]);
        completion.line = self.input.text().to_string();
        self.completion = Some(completion);
    }

    fn start_completion(&self) -> Option<Completion> {
        let text = &self.input.text()[..self.input.cursor()];
        let start = text.rfind(char::is_whitespace).map_or(0, |i| {
            i + text[i..].chars().next().map_or(1, char::len_utf8)
        });
        let word = text[start..].to_lowercase();
        let matching = |candidates: Vec<String>, suffix: &str| -> Vec<String> {
            let mut found: Vec<String> = Vec::new();
            for c in candidates {
                let full = format!("{c}{suffix}");
                if c.to_lowercase().starts_with(&word) && !found.contains(&full) {
                    found.push(full);
                }
            }
            found
        };
        let candidates = if start == 0 && word.starts_with('/') {
            let mut commands: Vec<&str> = COMMANDS.to_vec();
            commands.extend(MODERATION_COMMANDS);
            commands.sort_unstable();
            matching(commands.into_iter().map(str::to_string).collect(), " ")
        } else if word.starts_with('#') {
            matching(self.room_names(), " ")
        } else {
            // At the start of a line a name addresses its owner: `name: `.
            let suffix = if start == 0 { ": " } else { " " };
            matching(self.member_names(), suffix)
        };
        (!candidates.is_empty()).then(|| Completion {
            start,
            candidates,
            index: 0,
            line: String::new(),
        })
    }

    /// Rooms joined, then rooms seen in `/rooms`, as `#name`.
    fn room_names(&self) -> Vec<String> {
        let joined = self.buffers.iter().filter(|b| b.kind == Kind::Room);
        let mut names: Vec<String> = joined.map(|b| b.name.clone()).collect();
        names.extend(self.known_rooms.iter().cloned());
        names.iter().map(|n| format!("#{n}")).collect()
    }

    /// Members of the room in view, then of the user's other rooms and
    /// conversations; never the user.
    fn member_names(&self) -> Vec<String> {
        let me = self.view.name().unwrap_or_default().to_lowercase();
        let focused = self.buffers.focused();
        let mut names: Vec<String> = focused.members.names().map(str::to_string).collect();
        if focused.kind == Kind::Direct {
            names.push(focused.name.clone());
        }
        for buffer in self.buffers.iter() {
            names.extend(buffer.members.names().map(str::to_string));
            if buffer.kind == Kind::Direct {
                names.push(buffer.name.clone());
            }
        }
        names.retain(|n| n.to_lowercase() != me);
        names
    }
}
