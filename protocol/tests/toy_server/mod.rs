//! The toy server the conversation vectors run against: `ServerSession`
//! with a name registry and the default room's auto-join.

use super::*;

/// The minimum of a server around `ServerSession` that conversation vectors
/// need: a name registry and the auto-join of the default room.
pub(crate) struct ToyServer {
    pub(crate) session: ServerSession,
    pub(crate) taken: HashSet<String>,
    pub(crate) reserved: HashSet<String>,
    pub(crate) max_username: usize,
    pub(crate) closed: bool,
    pub(crate) max_frame: u32,
    /// Rooms joined (keys).
    pub(crate) rooms: HashSet<String>,
    /// The logged-in name.
    pub(crate) name: String,
    /// Section 21, when the configuration turns it on (`[MOD-1]`).
    pub(crate) moderation: Option<Moderation>,
}

impl ToyServer {
    /// The server and what it sends at accept: GREETING, then LIMITS
    /// (`[HANDSHAKE-1]`, `[LIMITS-1]`).
    pub(crate) fn new(config: &Value) -> (Self, [Frame; 2]) {
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

    pub(crate) fn login(&mut self, login: frame::Login, out: &mut Vec<Frame>) {
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
    pub(crate) fn room_info(&self, room: &Str8) -> Option<Frame> {
        self.moderation.as_ref()?.room_info(room, &self.name)
    }

    pub(crate) fn feed(&mut self, bytes: &[u8], buf: &mut BytesMut) -> Vec<Frame> {
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
