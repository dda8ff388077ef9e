//! The name prompt: before logging in, a line is a guest name, or one of the
//! prompt's commands (`/login NAME`, `/register NAME`, `/help`, `/quit`).
//! A command is never sent as a name, so it never uses up a login attempt.

use super::app::{App, SystemKind};
use crate::command::{Account, Command};

/// What the prompt accepts, shown with the prompt and by `/help`.
const CHOICES: &str = "\
type a name to chat as a guest, /login NAME to log in to your account, \
or /register NAME to create one (/help, /quit)";

const HELP: &str = "\
At the name prompt:
NAME                chat as the guest NAME
/login NAME         log in to the account NAME (the password is asked next)
/register NAME      create the account NAME, then log in
/quit               exit
Esc at the password prompt goes back to the name prompt.";

/// The last login the user asked for, to word its refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub name: String,
    /// `None` for a guest; `Some(true)` to register.
    pub register: Option<bool>,
}

impl App {
    /// `Event::NameRequired`: the server asks for a name, first or again.
    pub(super) fn name_required(&mut self, prompt: String, rejected: Option<String>) {
        self.view.name_required(&prompt, rejected.is_some());
        self.awaiting_password = None;
        let Some(reason) = rejected else {
            self.system(SystemKind::Info, format!("{prompt} — {CHOICES}"));
            return;
        };
        let (refused, next) = match self.attempt.take() {
            Some(Attempt {
                name,
                register: Some(false),
            }) => (
                format!("could not log in as {name}: {reason}"),
                format!("/login {name} to type the password again, or another choice: {CHOICES}"),
            ),
            Some(Attempt {
                name,
                register: Some(true),
            }) => (
                format!("could not register {name}: {reason}"),
                CHOICES.to_string(),
            ),
            Some(Attempt {
                name,
                register: None,
            }) => (
                format!("the name {name} was refused: {reason}"),
                format!("choose another name: {CHOICES}"),
            ),
            // A --name given on the command line.
            None => (format!("name refused: {reason}"), CHOICES.to_string()),
        };
        self.system(SystemKind::Error, refused);
        self.system(SystemKind::Info, next);
    }

    /// Esc at the password prompt: back to the name prompt.
    pub(super) fn cancel_password(&mut self) {
        self.input.take();
        if let Some((name, _)) = self.awaiting_password.take() {
            self.system(
                SystemKind::Info,
                format!("no password sent for {name}; {CHOICES}"),
            );
        }
    }

    /// A line entered at the name or password prompt.
    pub(super) fn submit_at_prompt(&mut self, line: String) -> Option<Command> {
        if let Some((name, register)) = self.awaiting_password.take() {
            return Some(self.login(
                name,
                Some(Account {
                    register,
                    password: line,
                }),
            ));
        }
        let line = line.trim();
        let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        match command.to_lowercase().as_str() {
            "" => None,
            "/login" | "/register" => {
                if rest.is_empty() || rest.contains(' ') {
                    self.system(SystemKind::Error, format!("usage: {command} NAME"));
                    return None;
                }
                self.system(
                    SystemKind::Info,
                    format!("password for {rest} (not shown; Esc to go back):"),
                );
                self.awaiting_password =
                    Some((rest.to_string(), command.eq_ignore_ascii_case("/register")));
                None
            }
            "/help" | "/?" => {
                for line in HELP.lines() {
                    self.system(SystemKind::Info, line);
                }
                None
            }
            "/quit" | "/exit" | "/q" => Some(Command::Quit),
            _ if command.starts_with('/') => {
                self.system(
                    SystemKind::Error,
                    format!("{command} is not available before logging in: {CHOICES}"),
                );
                None
            }
            _ => Some(self.login(line.to_string(), None)),
        }
    }

    fn login(&mut self, name: String, account: Option<Account>) -> Command {
        self.view.name_entered();
        self.attempt = Some(Attempt {
            name: name.clone(),
            register: account.as_ref().map(|a| a.register),
        });
        Command::Login { name, account }
    }
}
