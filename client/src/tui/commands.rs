//! Commands about buffers, which only the terminal UI has: `/query` opens
//! a conversation, `/reply` answers the last direct message.

use super::app::{App, SystemKind};
use super::buffers::Kind;
use crate::command::Command;

/// Shown by `/help` after the common commands.
pub const HELP: &str = "\
/query USER         open a conversation with USER (/leave closes it)
/reply TEXT, /r     answer the last direct message";

impl App {
    /// A line that is one of these commands: what to send (`Some(None)`
    /// when nothing is); `None` for any other line.
    pub(super) fn buffer_command(&mut self, line: &str) -> Option<Option<Command>> {
        let rest = line.strip_prefix('/')?;
        let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let args = args.trim();
        match name.to_lowercase().as_str() {
            "query" => Some(self.query(args)),
            "reply" | "r" => Some(self.reply(args)),
            _ => None,
        }
    }

    fn query(&mut self, args: &str) -> Option<Command> {
        let user = args.strip_prefix('@').unwrap_or(args);
        if user.is_empty() || user.contains(char::is_whitespace) {
            self.system(SystemKind::Error, "usage: /query USER");
            return None;
        }
        let index = self.buffers.get(Kind::Direct, user);
        self.buffers.focus(index);
        None
    }

    fn reply(&mut self, body: &str) -> Option<Command> {
        let Some(to) = self.last_direct.clone() else {
            self.system(SystemKind::Error, "no direct message to answer yet");
            return None;
        };
        if body.is_empty() {
            // Like /query: the conversation comes into view.
            let index = self.buffers.get(Kind::Direct, &to);
            self.buffers.focus(index);
            return None;
        }
        Some(Command::Direct {
            to,
            body: body.to_string(),
        })
    }
}
