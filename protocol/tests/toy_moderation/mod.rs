//! The moderation part of the conversation vectors' toy server (spec
//! section 21): configured server operators, room members and bans, enough
//! for the KICK and JOIN conversations (`[MOD-6]`, `[MOD-7]`, `[MOD-20]`).
//! A model, not the server: it cites no clause as tested (spec/uncovered.txt
//! keeps them until the server implements section 21).

use std::collections::{HashMap, HashSet};

use confab_protocol::frame::{code, ErrorFrame, Frame, ModAction, Moderate, Role, RoomInfo};
use confab_protocol::moderation::MOD_TEXT_MAX;
use confab_protocol::names::{name_key, normalize_name, user_key};
use confab_protocol::{ErrorCode, Str16, Str8};
use serde_json::Value;

pub struct Moderation {
    operators: HashSet<String>,
    /// Room key → member keys, besides the connection itself.
    members: HashMap<String, HashSet<String>>,
    /// Room key → banned user keys.
    bans: HashMap<String, HashSet<String>>,
    next_id: u64,
    /// The client set HELLO `MODERATION` (`[MOD-2]`).
    pub hello_flag: bool,
}

fn keys(value: &Value) -> HashSet<String> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(user_key).collect())
        .unwrap_or_default()
}

fn rooms(value: &Value) -> HashMap<String, HashSet<String>> {
    value
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(room, v)| (name_key(room), keys(v)))
                .collect()
        })
        .unwrap_or_default()
}

fn refuse(code: ErrorCode, frame_type: u8) -> Frame {
    Frame::ErrorFrame(ErrorFrame::new(code, frame_type, 0, "refused"))
}

impl Moderation {
    /// The configuration's `moderation` object; `None` without one (`[MOD-1]`).
    pub fn from_config(config: &Value) -> Option<Self> {
        let config = config.get("moderation")?;
        Some(Moderation {
            operators: keys(&config["operators"]),
            members: rooms(&config["members"]),
            bans: rooms(&config["bans"]),
            next_id: 0,
            hello_flag: false,
        })
    }

    fn is_operator(&self, user: &str) -> bool {
        self.operators.contains(&user_key(user))
    }

    /// `[MOD-6]`: the ROOM_INFO after JOINED, for a client that set the flag.
    pub fn room_info(&self, room: &Str8, user: &str) -> Option<Frame> {
        let role = if self.is_operator(user) {
            Role::ServerOperator
        } else {
            Role::User
        };
        self.hello_flag.then(|| {
            Frame::RoomInfo(RoomInfo {
                room: room.clone(),
                modes: 0,
                member_limit: 0,
                role,
                founder: Str8::empty(),
                changed_by: Str8::empty(),
                topic_by: Str8::empty(),
                topic_at: 0,
                topic: Str16::empty(),
            })
        })
    }

    /// `[MOD-7]`: a ban refuses the JOIN of a non-member below operator.
    pub fn join_refusal(&self, room: &str, user: &str) -> Option<Frame> {
        let banned = self
            .bans
            .get(&name_key(room))
            .is_some_and(|b| b.contains(&user_key(user)));
        (banned && !self.is_operator(user)).then(|| refuse(ErrorCode::BANNED, code::JOIN))
    }

    /// `[MOD-20]`: KICK's checks in order, then its event (`[MOD-12]`).
    pub fn moderate(
        &mut self,
        request: Moderate,
        actor: &str,
        max_username: usize,
        joined: &HashSet<String>,
    ) -> Frame {
        assert_eq!(request.action, ModAction::Kick, "the toy server kicks only");
        let room = name_key(&request.room);
        let target = normalize_name(&request.target, max_username);
        let verdict = if request.reason.len() > MOD_TEXT_MAX {
            Err(ErrorCode::TEXT_TOO_LONG)
        } else if target.is_err() {
            Err(ErrorCode::INVALID_TARGET)
        } else if !self.members.contains_key(&room) && !joined.contains(&room) {
            Err(ErrorCode::NO_SUCH_ROOM)
        } else if !self.is_operator(actor) {
            Err(ErrorCode::NOT_PERMITTED)
        } else {
            let target = target.expect("checked");
            let kicked = self
                .members
                .get_mut(&room)
                .is_some_and(|m| m.remove(&user_key(&target)));
            if kicked {
                Ok(target)
            } else {
                Err(ErrorCode::NO_SUCH_USER)
            }
        };
        match verdict {
            Err(code) => refuse(code, code::MODERATE),
            Ok(target) => {
                self.next_id += 1;
                Frame::ModerationEvent(confab_protocol::frame::ModerationEvent {
                    id: self.next_id,
                    time: 0,
                    action: request.action,
                    room: request.room,
                    actor: Str8::new(actor).unwrap(),
                    target: Str8::new(&target).unwrap(),
                    expires: 0,
                    reason: request.reason,
                })
            }
        }
    }
}
