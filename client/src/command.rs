//! Parsing what the user types: a line starting with `/` is a command,
//! anything else is a message for the current room. The moderation
//! commands are parsed in [`moderation`].

mod moderation;

pub use moderation::{
    Moderation, SettingsChange, HELP as MODERATION_HELP, NAMES as MODERATION_COMMANDS,
};

/// A request from the user interface to the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Answer to `Event::NameRequired`: a guest name, or an account.
    Login {
        name: String,
        account: Option<Account>,
    },
    Say {
        room: String,
        body: String,
    },
    Direct {
        to: String,
        body: String,
    },
    /// `/me TEXT` in a room: an action (`[ACTION-1]`).
    Action {
        room: String,
        body: String,
    },
    /// `/me TEXT` in a direct conversation.
    DirectAction {
        to: String,
        body: String,
    },
    Join {
        room: String,
    },
    Leave {
        room: String,
    },
    ListRooms,
    /// `None`: everyone online.
    Who {
        room: Option<String>,
    },
    /// The terminal UI's own request for a joined room's member list. Unlike
    /// `/who` it is dropped, not refused, while disconnected: the next JOINED
    /// asks again.
    Members {
        room: String,
    },
    History {
        room: String,
        count: u16,
    },
    /// A moderation action (MODERATE, `[MOD-10]`–`[MOD-13]`).
    Moderate(Moderation),
    /// Changes a room's settings, or asks for them (ROOM_SETTINGS, `[MOD-5]`).
    Settings {
        room: String,
        change: SettingsChange,
    },
    /// A page of the moderation log (AUDIT, `[MOD-16]`); `room` empty: the
    /// whole server's.
    Audit {
        room: String,
        count: u16,
    },
    Quit,
}

/// Credentials for a registered name (`[HANDSHAKE-6]`).
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// Register the name first (LOGIN mode 2) rather than log in to it (mode 1).
    pub register: bool,
    pub password: String,
}

impl std::fmt::Debug for Account {
    // Never print a password, not even in a debug log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("register", &self.register)
            .finish_non_exhaustive()
    }
}

/// What a typed line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Command(Command),
    /// `/help`: show this text.
    Help(String),
    /// Nothing to do (an empty line).
    Nothing,
}

/// Help for every command, shown by `/help`.
pub const HELP: &str = "\
/join ROOM          join ROOM and make it the current room
/leave [ROOM]       leave ROOM (default: the current room)
/rooms              list rooms with members
/msg USER TEXT      send TEXT to USER only
/me TEXT            an action: shown to everyone as `* you TEXT`
/who [ROOM]         who is in ROOM (default: everyone online)
/history [ROOM] [N] N earlier messages of ROOM (default: the current room, 20);
                    again for the N before those
/help               this help
/quit               say goodbye and exit
Anything else is sent to the current room; start a message with // to send a leading /.";

/// Default number of messages `/history` asks for.
pub const DEFAULT_HISTORY: u16 = 20;

/// Parses one typed line; `room` is the current room.
pub fn parse(line: &str, room: &str) -> Result<Input, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Ok(Input::Nothing);
    }
    if let Some(rest) = line.strip_prefix("//") {
        return Ok(say(room, &format!("/{rest}")));
    }
    let Some(rest) = line.strip_prefix('/') else {
        return Ok(say(room, line));
    };
    let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let args = args.trim();
    // Commands are case-insensitive: `/HELP` is `/help`.
    let command = match name.to_lowercase().as_str() {
        "join" | "j" => Command::Join {
            room: room_name(one_word(args, "usage: /join ROOM")?),
        },
        "leave" | "part" => Command::Leave {
            room: if args.is_empty() {
                room.to_string()
            } else {
                room_name(one_word(args, "usage: /leave [ROOM]")?)
            },
        },
        "rooms" | "list" => no_args(args, "usage: /rooms", Command::ListRooms)?,
        "msg" | "m" => {
            let (to, body) = args
                .split_once(char::is_whitespace)
                .ok_or("usage: /msg USER TEXT")?;
            let body = body.trim_start();
            if body.is_empty() {
                return Err("usage: /msg USER TEXT".into());
            }
            Command::Direct {
                to: to.to_string(),
                body: body.to_string(),
            }
        }
        "me" if args.is_empty() => return Err("usage: /me TEXT".into()),
        "me" => Command::Action {
            room: room.to_string(),
            body: args.to_string(),
        },
        "who" | "w" => Command::Who {
            room: if args.is_empty() {
                None
            } else {
                Some(room_name(one_word(args, "usage: /who [ROOM]")?))
            },
        },
        "history" | "h" => history(args, room)?,
        "help" | "?" => return Ok(Input::Help(format!("{HELP}\n{MODERATION_HELP}"))),
        "quit" | "exit" | "q" => no_args(args, "usage: /quit", Command::Quit)?,
        other => match moderation::parse(other, args, room) {
            Some(command) => command?,
            None => {
                return Err(format!(
                    "unknown command /{other}; /help lists the commands"
                ))
            }
        },
    };
    Ok(Input::Command(command))
}

/// `/history [ROOM] [N]`: the current room and 20 unless given.
fn history(args: &str, current: &str) -> Result<Command, String> {
    const USAGE: &str = "usage: /history [ROOM] [N], N from 1 to 65535";
    let words: Vec<&str> = args.split_whitespace().collect();
    let count = |word: &str| word.parse::<u16>().ok().filter(|n| *n > 0);
    let (room, count) = match words.as_slice() {
        [] => (current.to_string(), DEFAULT_HISTORY),
        [word] => match count(word) {
            Some(n) => (current.to_string(), n),
            None if word.starts_with('#') || word.parse::<u64>().is_err() => {
                (room_name(word.to_string()), DEFAULT_HISTORY)
            }
            None => return Err(USAGE.into()),
        },
        [room, n] => (room_name(room.to_string()), count(n).ok_or(USAGE)?),
        _ => return Err(USAGE.into()),
    };
    Ok(Command::History { room, count })
}

/// The UI shows rooms as `#rust`; the `#` is not part of the name.
fn room_name(word: String) -> String {
    match word.strip_prefix('#') {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => word,
    }
}

fn say(room: &str, body: &str) -> Input {
    Input::Command(Command::Say {
        room: room.to_string(),
        body: body.to_string(),
    })
}

fn one_word(args: &str, usage: &str) -> Result<String, String> {
    match args.split_whitespace().collect::<Vec<_>>().as_slice() {
        [word] => Ok(word.to_string()),
        _ => Err(usage.to_string()),
    }
}

fn no_args(args: &str, usage: &str, command: Command) -> Result<Command, String> {
    if args.is_empty() {
        Ok(command)
    } else {
        Err(usage.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_go_to_the_current_room() {
        assert_eq!(
            parse("hello", "lobby"),
            Ok(Input::Command(Command::Say {
                room: "lobby".into(),
                body: "hello".into()
            }))
        );
        assert_eq!(
            parse("//join is a word", "lobby"),
            Ok(Input::Command(Command::Say {
                room: "lobby".into(),
                body: "/join is a word".into()
            }))
        );
        assert_eq!(parse("   ", "lobby"), Ok(Input::Nothing));
    }

    #[test]
    fn a_leading_hash_names_the_room_as_the_ui_shows_it() {
        for (line, command) in [
            (
                "/join #rust",
                Command::Join {
                    room: "rust".into(),
                },
            ),
            (
                "/leave #rust",
                Command::Leave {
                    room: "rust".into(),
                },
            ),
            (
                "/who #rust",
                Command::Who {
                    room: Some("rust".into()),
                },
            ),
            (
                "/history #rust",
                Command::History {
                    room: "rust".into(),
                    count: DEFAULT_HISTORY,
                },
            ),
        ] {
            assert_eq!(parse(line, "lobby"), Ok(Input::Command(command)), "{line}");
        }
        // A lone `#` is left for the server to judge.
        assert_eq!(
            parse("/join #", "lobby"),
            Ok(Input::Command(Command::Join { room: "#".into() }))
        );
    }

    #[test]
    fn commands_parse_and_wrong_use_explains_itself() {
        assert_eq!(
            parse("/msg bob  hi there", "lobby"),
            Ok(Input::Command(Command::Direct {
                to: "bob".into(),
                body: "hi there".into()
            }))
        );
        assert_eq!(
            parse("/msg bob", "lobby"),
            Err("usage: /msg USER TEXT".into())
        );
        assert_eq!(parse("/join", "lobby"), Err("usage: /join ROOM".into()));
        assert_eq!(
            parse("/leave", "rust"),
            Ok(Input::Command(Command::Leave {
                room: "rust".into()
            }))
        );
        assert_eq!(
            parse("/history 5", "rust"),
            Ok(Input::Command(Command::History {
                room: "rust".into(),
                count: 5
            }))
        );
        assert!(parse("/history 0", "rust").is_err());
        assert!(parse("/history rust lots", "rust").is_err());
        assert_eq!(
            parse("/history #go 5", "rust"),
            Ok(Input::Command(Command::History {
                room: "go".into(),
                count: 5
            }))
        );
        assert!(parse("/frobnicate", "rust").unwrap_err().contains("/help"));
        assert_eq!(
            parse("/who", "x"),
            Ok(Input::Command(Command::Who { room: None }))
        );
        assert!(matches!(parse("/help", "x"), Ok(Input::Help(_))));
        assert_eq!(parse("/quit", "x"), Ok(Input::Command(Command::Quit)));
    }
}
