//! Runs every test vector in spec/vectors/*.json (format: spec/vectors/README.md).
//! A file is recognised by its content, so adding vectors needs no Rust change:
//! - `{"vectors": [...]}` entries with `"frame"` decode to that frame and re-encode to the same bytes;
//! - `{"vectors": [...]}` entries with `"error"` fail with that registry code, or wait for more bytes;
//! - `{"conversations": [...]}` drive the server-side session state machine.

use bytes::BytesMut;
use confab_protocol::frame::{
    self, code, Ack, ErrorFrame, Frame, HistoryEnd, HistoryKind, Joined, Limits,
};
use confab_protocol::names::{is_blank, name_key, normalize_name, user_key};
use confab_protocol::session::{Request, ServerAction, ServerSession, ServerTimers};
use confab_protocol::{ErrorCode, Str16, Str8, PROTOCOL_VERSION};
use serde_json::Value;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

mod toy_moderation;
use toy_moderation::Moderation;

const DEFAULT_MAX_FRAME: u32 = 65_536;

fn vector_files() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("spec/vectors exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                json,
            )
        })
        .collect()
}

fn hex_bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().expect("hex is a string")).expect("valid hex")
}

fn max_frame_of(vector: &Value) -> u32 {
    vector["max_frame"]
        .as_u64()
        .map_or(DEFAULT_MAX_FRAME, |m| m as u32)
}

fn check_valid(vector: &Value) -> Result<(), String> {
    let wire = hex_bytes(&vector["hex"]);
    let mut buf = BytesMut::from(&wire[..]);
    let frame = frame::decode(&mut buf, max_frame_of(vector))
        .map_err(|e| format!("decode failed: {e}"))?
        .ok_or("decoder wanted more bytes")?;
    if !buf.is_empty() {
        return Err(format!("{} bytes left over", buf.len()));
    }
    let json = serde_json::to_value(&frame).unwrap();
    if json != vector["frame"] {
        return Err(format!(
            "decoded {json} but the vector says {}",
            vector["frame"]
        ));
    }
    let encoded = frame.to_bytes();
    if encoded[..] != wire[..] {
        return Err(format!("re-encoded as {}", hex::encode(&encoded)));
    }
    Ok(())
}

fn check_malformed(vector: &Value) -> Result<(), String> {
    let mut buf = BytesMut::from(&hex_bytes(&vector["hex"])[..]);
    let outcome = frame::decode(&mut buf, max_frame_of(vector));
    match (&vector["error"], outcome) {
        (Value::Null, Ok(None)) if vector["incomplete"] == true => Ok(()),
        (Value::String(name), Err(err)) if err.code().name() == Some(name.as_str()) => Ok(()),
        (expected, outcome) => Err(format!("expected {expected}, got {outcome:?}")),
    }
}

/// The minimum of a server around `ServerSession` that conversation vectors
/// need: a name registry and the auto-join of the default room.
struct ToyServer {
    session: ServerSession,
    taken: HashSet<String>,
    reserved: HashSet<String>,
    max_username: usize,
    closed: bool,
    max_frame: u32,
    /// Rooms joined (keys).
    rooms: HashSet<String>,
    /// The logged-in name.
    name: String,
    /// Section 21, when the configuration turns it on (`[MOD-1]`).
    moderation: Option<Moderation>,
}

impl ToyServer {
    /// The server and what it sends at accept: GREETING, then LIMITS
    /// (`[HANDSHAKE-1]`, `[LIMITS-1]`).
    fn new(config: &Value) -> (Self, [Frame; 2]) {
        let strings = |key: &str| -> HashSet<String> {
            config[key]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).map(user_key).collect())
                .unwrap_or_default()
        };
        let mut limits = Limits::default();
        if let Some(n) = config["login_attempts"].as_u64() {
            limits.login_attempts = n as u8;
        }
        if let Some(n) = config["max_username"].as_u64() {
            limits.max_username = n as u8;
        }
        let moderation = Moderation::from_config(config);
        let greeting = Frame::Greeting(frame::Greeting {
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            flags: if moderation.is_some() {
                frame::Greeting::MODERATION
            } else {
                0
            },
            server: Str8::new("confab").unwrap(),
            limits: limits.clone(),
            default_room: Str8::new("lobby").unwrap(),
            prompt: Str16::new("Please send your username.").unwrap(),
        });
        let server = ToyServer {
            session: ServerSession::new(
                PROTOCOL_VERSION,
                PROTOCOL_VERSION,
                limits.login_attempts,
                ServerTimers::from_limits(&limits),
                Instant::now(),
            )
            .with_moderation(moderation.is_some()),
            taken: strings("taken"),
            reserved: strings("reserved"),
            max_username: usize::from(limits.max_username),
            closed: false,
            max_frame: limits.max_frame,
            rooms: HashSet::new(),
            name: String::new(),
            moderation,
        };
        // The reference server's default byte budget (section 16).
        let advertised = Frame::ServerLimits(
            frame::ServerLimits::new(vec![frame::LimitEntry {
                id: frame::ServerLimits::QUEUE_BYTES,
                value: 2 * 1024 * 1024,
            }])
            .unwrap(),
        );
        (server, [greeting, advertised])
    }

    fn login(&mut self, login: frame::Login, out: &mut Vec<Frame>) {
        let verdict = match login.mode {
            frame::LoginMode::Guest if !login.password.is_empty() => Err(ErrorCode::AUTH_FAILED),
            frame::LoginMode::Guest => match normalize_name(&login.username, self.max_username) {
                Err(_) => Err(ErrorCode::NAME_INVALID),
                // spec: SEC-8 — look-alikes compare equal.
                Ok(name) if self.reserved.contains(&user_key(&name)) => {
                    Err(ErrorCode::NAME_RESERVED)
                }
                Ok(name) if self.taken.contains(&user_key(&name)) => Err(ErrorCode::NAME_TAKEN),
                Ok(name) => Ok(name),
            },
            _ => Err(ErrorCode::ACCOUNTS_UNAVAILABLE),
        };
        match verdict {
            Ok(name) => {
                self.taken.insert(user_key(&name));
                out.extend(self.session.accept_login(Str8::new(&name).unwrap(), 0, 0));
                self.name = name;
                if self.session.auto_join() {
                    self.rooms.insert("lobby".to_string());
                    let room = Str8::new("lobby").unwrap();
                    out.push(Frame::Joined(Joined {
                        room: room.clone(),
                        next_seq: 1,
                        members: 1,
                    }));
                    out.extend(self.room_info(&room));
                    out.push(Frame::HistoryEnd(HistoryEnd {
                        kind: HistoryKind::Room,
                        target: room,
                        count: 0,
                        flags: 0,
                    }));
                }
            }
            Err(code) => {
                let (rejected, fatal) = self
                    .session
                    .reject_login(code, "rejected")
                    .expect("a login was awaited");
                out.push(rejected);
                if let Some(fatal) = fatal {
                    out.push(fatal);
                    self.closed = true;
                }
            }
        }
    }

    /// `[MOD-6]`: ROOM_INFO after JOINED, on a MODERATION server.
    fn room_info(&self, room: &Str8) -> Option<Frame> {
        self.moderation.as_ref()?.room_info(room, &self.name)
    }

    fn feed(&mut self, bytes: &[u8], buf: &mut BytesMut) -> Vec<Frame> {
        let mut out = Vec::new();
        buf.extend_from_slice(bytes);
        while !self.closed {
            // spec: STATE-6, TRANSPORT-4 — the server's own decoding, by state.
            let frame = match self.session.decode(buf, self.max_frame, Instant::now()) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(err) => {
                    out.push(self.session.decode_failed(&err));
                    self.closed = true;
                    break;
                }
            };
            if let (Frame::Hello(hello), Some(moderation)) = (&frame, &mut self.moderation) {
                moderation.hello_flag = hello.flags & frame::Hello::MODERATION != 0;
            }
            match self.session.handle(frame) {
                ServerAction::Nothing | ServerAction::PeerError(_) => {}
                ServerAction::Reply(frame) => out.push(frame),
                ServerAction::CloseWith(frame) => {
                    out.push(frame);
                    self.closed = true;
                }
                ServerAction::PeerClosed(_) => self.closed = true,
                ServerAction::Login(login) => self.login(login, &mut out),
                // spec: STATE-7, TYPES-5 — the body first, then the room.
                ServerAction::Request(Request::SendMessage(send)) if is_blank(&send.body) => out
                    .push(Frame::ErrorFrame(ErrorFrame::new(
                        ErrorCode::EMPTY_MESSAGE,
                        code::SEND,
                        send.client_ref,
                        "blank",
                    ))),
                ServerAction::Request(Request::SendMessage(send))
                    if !self.rooms.contains(&name_key(&send.room)) =>
                {
                    out.push(Frame::ErrorFrame(ErrorFrame::new(
                        ErrorCode::NOT_IN_ROOM,
                        code::SEND,
                        send.client_ref,
                        "not in the room",
                    )))
                }
                // Ids and times are not checked: acknowledge (`[MSG-2]`).
                ServerAction::Request(Request::SendMessage(send)) => out.push(Frame::Ack(Ack {
                    client_ref: send.client_ref,
                    id: 1,
                    seq: 1,
                    time: 0,
                })),
                // Fresh rooms only: nothing to replay (`[ROOM-2]`, `[STATE-8]`).
                ServerAction::Request(Request::Join(join)) => {
                    let refusal = self.moderation.as_ref().and_then(|m| {
                        let member = self.rooms.contains(&name_key(&join.room));
                        (!member)
                            .then(|| m.join_refusal(&join.room, &self.name))
                            .flatten()
                    });
                    if let Some(refusal) = refusal {
                        out.push(refusal);
                        continue;
                    }
                    self.rooms.insert(name_key(&join.room));
                    out.push(Frame::Joined(Joined {
                        room: join.room.clone(),
                        next_seq: 1,
                        members: 1,
                    }));
                    out.extend(self.room_info(&join.room));
                    out.push(Frame::HistoryEnd(HistoryEnd {
                        kind: HistoryKind::Room,
                        target: join.room,
                        count: 0,
                        flags: 0,
                    }));
                }
                ServerAction::Request(Request::Moderate(request)) => {
                    let moderation = self
                        .moderation
                        .as_mut()
                        .expect("parsed only with MODERATION");
                    out.push(moderation.moderate(
                        request,
                        &self.name,
                        self.max_username,
                        &self.rooms,
                    ));
                }
                ServerAction::Request(request) => panic!("unmodelled request: {request:?}"),
            }
        }
        out
    }
}

fn partial_match(expected: &Value, actual: &Value) -> bool {
    expected
        .as_object()
        .expect("expected frames are objects")
        .iter()
        .all(|(key, value)| &actual[key] == value)
}

fn check_conversation(conversation: &Value) -> Result<(), String> {
    let (mut server, first) = ToyServer::new(&conversation["server"]);
    let mut buf = BytesMut::new();
    let mut greeted = false;
    for (i, step) in conversation["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .enumerate()
    {
        let mut sent = Vec::new();
        if !greeted {
            sent.extend(first.iter().cloned());
            greeted = true;
        }
        sent.extend(server.feed(&hex_bytes(&step["client"]), &mut buf));
        let sent: Vec<Value> = sent
            .iter()
            .map(|f| serde_json::to_value(f).unwrap())
            .collect();
        let expected = step["expect"].as_array().expect("expect is a list");
        let matches = sent.len() == expected.len()
            && expected.iter().zip(&sent).all(|(e, a)| partial_match(e, a));
        if !matches {
            return Err(format!(
                "step {i}: expected {expected:?}, server sent {sent:?}"
            ));
        }
        let expect_closed = step["closed"].as_bool().unwrap_or(false);
        if server.closed != expect_closed {
            return Err(format!(
                "step {i}: closed is {}, expected {expect_closed}",
                server.closed
            ));
        }
    }
    Ok(())
}

#[test]
fn every_spec_vector_passes() {
    // spec: FRAMING-1, FRAMING-2, FRAMING-3, FRAMING-4, FRAMING-5, FRAMING-6
    // spec: TYPES-1, TYPES-2, TYPES-4, SEC-2
    // spec: STATE-1, STATE-2, STATE-5, HANDSHAKE-2, HANDSHAKE-3, HANDSHAKE-4, HANDSHAKE-5
    // spec: HANDSHAKE-7, KEEPALIVE-1, VERSION-3, VERSION-5, ERROR-3, LIMITS-1, LIMITS-2
    let mut failures = Vec::new();
    let mut counts = [0usize; 3];
    for (file, json) in vector_files() {
        for vector in json["vectors"].as_array().into_iter().flatten() {
            let (kind, result) = if vector.get("frame").is_some() {
                (0, check_valid(vector))
            } else {
                (1, check_malformed(vector))
            };
            counts[kind] += 1;
            if let Err(why) = result {
                failures.push(format!("{file}: {}: {why}", vector["name"]));
            }
        }
        for conversation in json["conversations"].as_array().into_iter().flatten() {
            counts[2] += 1;
            if let Err(why) = check_conversation(conversation) {
                failures.push(format!("{file}: {}: {why}", conversation["name"]));
            }
        }
    }
    println!(
        "{} valid frames, {} malformed inputs, {} conversations",
        counts[0], counts[1], counts[2]
    );
    assert!(
        counts.iter().all(|&n| n > 0),
        "a kind of vector is missing: {counts:?}"
    );
    assert!(
        failures.is_empty(),
        "{} failing vectors:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
