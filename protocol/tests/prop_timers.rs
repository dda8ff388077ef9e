//! The server session's timers on a fake clock: the handshake deadline
//! (`[HANDSHAKE-8]`, `[AUTH-2]`) and keepalive (`[KEEPALIVE-2]`) are decided
//! by the session from the instants it is given, so every rule is checked
//! here at the millisecond, with no runtime and no waiting.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use confab_protocol::frame::{self, Hello, Login, Ping};
use confab_protocol::session::{ServerAction, ServerSession, ServerState, ServerTimers};
use confab_protocol::{ErrorCode, Frame, Str8, PROTOCOL_VERSION};
use proptest::collection::vec;
use proptest::prelude::*;

const MAX_FRAME: u32 = 65_536;

fn timers() -> impl Strategy<Value = ServerTimers> {
    (1u64..5_000, 1u64..5_000, 1u64..5_000).prop_map(|(h, i, t)| ServerTimers {
        handshake_timeout: Duration::from_millis(h),
        ping_interval: Duration::from_millis(i),
        ping_timeout: Duration::from_millis(t),
    })
}

/// The fake clock: milliseconds after accept.
fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

/// Feeds one whole frame, received at `now`, to the session.
fn receive(session: &mut ServerSession, frame: Frame, now: Instant) -> ServerAction {
    let mut buf = BytesMut::from(&frame.to_bytes()[..]);
    let frame = session
        .decode(&mut buf, MAX_FRAME, now)
        .expect("a valid frame")
        .expect("a whole frame");
    session.handle(frame)
}

fn hello() -> Frame {
    Frame::Hello(Hello {
        version: PROTOCOL_VERSION,
        flags: Hello::NO_AUTO_JOIN,
        client: Str8::empty(),
    })
}

fn ping() -> Frame {
    Frame::Ping(Ping { nonce: 7 })
}

fn new_session(timers: ServerTimers, t0: Instant) -> ServerSession {
    ServerSession::new(PROTOCOL_VERSION, PROTOCOL_VERSION, 3, timers, t0)
}

/// A session logged in at `t0 + ms`.
fn ready_session(timers: ServerTimers, t0: Instant, ms: u64) -> ServerSession {
    let mut session = new_session(timers, t0);
    receive(&mut session, hello(), at(t0, ms));
    let login = Frame::Login(Login::guest(Str8::new("alice").unwrap()));
    assert!(matches!(
        receive(&mut session, login, at(t0, ms)),
        ServerAction::Login(_)
    ));
    session
        .accept_login(Str8::new("alice").unwrap(), 0, 0)
        .expect("a login was awaited");
    session
}

fn closed_with(action: &ServerAction) -> Option<ErrorCode> {
    match action {
        ServerAction::CloseWith(Frame::ErrorFrame(error)) if error.is_fatal() => Some(error.code),
        _ => None,
    }
}

/// One step of a connection's life on the fake clock.
#[derive(Debug, Clone)]
enum Step {
    /// `ms` later, a frame arrives.
    Frame(u64),
    /// `ms` later, the driver's timer fires (maybe early or late).
    Tick(u64),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    vec(
        prop_oneof![
            (0u64..3_000).prop_map(Step::Frame),
            (0u64..3_000).prop_map(Step::Tick),
        ],
        1..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    // The handshake deadline is absolute: frames received meanwhile (HELLO,
    // LOGIN, PINGs) never move it; before it no timer closes with
    // HANDSHAKE_TIMEOUT, at or after it one always does.
    // spec: HANDSHAKE-8, AUTH-2
    #[test]
    fn the_handshake_deadline_is_absolute(
        timers in timers(),
        hello_first in any::<bool>(),
        pings in vec(0u64..5_000, 0..6),
        fire in 0u64..10_000,
    ) {
        let t0 = Instant::now();
        let deadline = at(t0, timers.handshake_timeout.as_millis() as u64);
        let mut session = new_session(timers, t0);
        let mut clock = 0;
        if hello_first {
            receive(&mut session, hello(), t0);
            for delay in pings {
                clock += delay;
                if at(t0, clock) >= deadline { break; }
                receive(&mut session, ping(), at(t0, clock));
            }
        }
        prop_assert_eq!(session.handshake_deadline(), Some(deadline));
        prop_assert!(session.poll_timeout().unwrap() <= deadline);
        let now = at(t0, clock.max(fire));
        let action = session.handle_timeout(now);
        if now >= deadline {
            prop_assert_eq!(closed_with(&action), Some(ErrorCode::HANDSHAKE_TIMEOUT));
            prop_assert!(session.is_closed());
            prop_assert_eq!(session.poll_timeout(), None);
        } else {
            prop_assert_ne!(closed_with(&action), Some(ErrorCode::HANDSHAKE_TIMEOUT));
        }
    }

    // Keepalive against a model: PING after `ping_interval` of silence,
    // IDLE_TIMEOUT after `ping_timeout` more; any received frame is a sign
    // of life (resets both), and a timer firing early does nothing. After
    // every firing the next deadline is later than now (no busy loop).
    // spec: KEEPALIVE-2, SEC-7
    #[test]
    fn keepalive_follows_the_spec(timers in timers(), steps in steps()) {
        let t0 = Instant::now();
        let mut session = ready_session(timers, t0, 0);
        let interval = timers.ping_interval.as_millis() as u64;
        let timeout = timers.ping_timeout.as_millis() as u64;
        // The model: silence since, and whether a PING is out.
        let (mut since, mut pinged, mut clock) = (0u64, false, 0u64);
        for step in steps {
            match step {
                Step::Frame(delay) => {
                    clock += delay;
                    // Closed by the last timer: nothing more is judged.
                    if session.is_closed() { break; }
                    receive(&mut session, ping(), at(t0, clock));
                    since = clock;
                    pinged = false;
                }
                Step::Tick(delay) => {
                    clock += delay;
                    let now = at(t0, clock);
                    let action = session.handle_timeout(now);
                    let due = since + if pinged { timeout } else { interval };
                    match action {
                        ServerAction::Nothing => prop_assert!(clock < due, "nothing at {clock}, due {due}"),
                        ServerAction::Reply(Frame::Ping(_)) => {
                            prop_assert!(!pinged && clock >= due);
                            pinged = true;
                            since = clock;
                        }
                        other => {
                            prop_assert!(pinged && clock >= due, "{other:?} at {clock}, due {due}");
                            prop_assert_eq!(closed_with(&other), Some(ErrorCode::IDLE_TIMEOUT));
                            prop_assert_eq!(session.poll_timeout(), None);
                            break;
                        }
                    }
                    let next = session.poll_timeout().expect("a READY session keeps a timer");
                    prop_assert!(next > now, "the next timer is not later than now");
                    prop_assert_eq!(next, at(t0, since + if pinged { timeout } else { interval }));
                }
            }
        }
    }

    // Driven only at the instants `poll_timeout` names, a silent READY
    // client gets its PING at `ping_interval` and is closed at
    // `ping_interval + ping_timeout`, to the millisecond.
    // spec: KEEPALIVE-2
    #[test]
    fn a_silent_client_is_pinged_then_closed_on_time(timers in timers(), login_at in 0u64..1_000) {
        let t0 = Instant::now();
        let mut session = ready_session(timers, t0, login_at);
        let ping_at = session.poll_timeout().unwrap();
        prop_assert_eq!(ping_at, at(t0, login_at) + timers.ping_interval);
        prop_assert!(matches!(session.handle_timeout(ping_at), ServerAction::Reply(Frame::Ping(_))));
        let close_at = session.poll_timeout().unwrap();
        prop_assert_eq!(close_at, ping_at + timers.ping_timeout);
        let just_before = close_at - Duration::from_millis(1);
        prop_assert_eq!(session.handle_timeout(just_before), ServerAction::Nothing);
        let action = session.handle_timeout(close_at);
        prop_assert_eq!(closed_with(&action), Some(ErrorCode::IDLE_TIMEOUT));
    }

    // Before HELLO there is no keepalive, only the handshake deadline; in
    // AWAIT_LOGIN both run, and whichever comes first fires.
    // spec: KEEPALIVE-2, HANDSHAKE-8
    #[test]
    fn keepalive_starts_with_hello(timers in timers(), hello_at in 0u64..5_000) {
        let t0 = Instant::now();
        let handshake = at(t0, timers.handshake_timeout.as_millis() as u64);
        let mut session = new_session(timers, t0);
        prop_assert_eq!(session.poll_timeout(), Some(handshake));
        if at(t0, hello_at) >= handshake {
            return Ok(());
        }
        receive(&mut session, hello(), at(t0, hello_at));
        prop_assert_eq!(session.state(), ServerState::AwaitLogin);
        let ping = at(t0, hello_at) + timers.ping_interval;
        prop_assert_eq!(session.poll_timeout(), Some(ping.min(handshake)));
        let action = session.handle_timeout(ping.min(handshake));
        if handshake <= ping {
            prop_assert_eq!(closed_with(&action), Some(ErrorCode::HANDSHAKE_TIMEOUT));
        } else {
            prop_assert!(matches!(action, ServerAction::Reply(Frame::Ping(_))));
        }
    }
}

/// Bytes dribbled into a frame are not a sign of life; the whole frame is,
/// at the instant it completes (`[SEC-7]`, `[KEEPALIVE-2]`).
#[test]
fn only_a_whole_frame_is_a_sign_of_life() {
    let t0 = Instant::now();
    let timers = ServerTimers::default();
    let mut session = ready_session(timers, t0, 0);
    let wire = frame::Frame::Ping(Ping { nonce: 1 }).to_bytes();
    let mut buf = BytesMut::from(&wire[..wire.len() - 1]);
    let later = t0 + timers.ping_interval / 2;
    assert_eq!(session.decode(&mut buf, MAX_FRAME, later), Ok(None));
    assert_eq!(session.poll_timeout(), Some(t0 + timers.ping_interval));
    buf.extend_from_slice(&wire[wire.len() - 1..]);
    assert!(matches!(
        session.decode(&mut buf, MAX_FRAME, later),
        Ok(Some(_))
    ));
    assert_eq!(session.poll_timeout(), Some(later + timers.ping_interval));
}

/// The session keeps its instants as milliseconds after accept; a
/// connection older than those can count keeps its keepalive exact.
#[test]
fn keepalive_holds_on_a_connection_months_old() {
    let t0 = Instant::now();
    let timers = ServerTimers::default();
    let mut session = ready_session(timers, t0, 0);
    for days in [20u64, 40, 60, 90] {
        let now = t0 + Duration::from_secs(days * 86_400);
        receive(&mut session, ping(), now);
        assert_eq!(session.poll_timeout(), Some(now + timers.ping_interval));
        let ping_at = now + timers.ping_interval;
        assert!(matches!(
            session.handle_timeout(ping_at),
            ServerAction::Reply(Frame::Ping(_))
        ));
        assert_eq!(session.poll_timeout(), Some(ping_at + timers.ping_timeout));
    }
}

/// A login being judged when the handshake deadline passes gets no answer:
/// the session closed meanwhile stays closed (`[AUTH-2]`, `[STATE-4]`).
#[test]
fn a_session_closed_while_a_login_is_judged_stays_closed() {
    let t0 = Instant::now();
    let timers = ServerTimers::default();
    let mut session = new_session(timers, t0);
    receive(&mut session, hello(), t0);
    let login = Frame::Login(Login::guest(Str8::new("alice").unwrap()));
    assert!(matches!(
        receive(&mut session, login, t0),
        ServerAction::Login(_)
    ));
    let deadline = session.handshake_deadline().expect("handshaking");
    let action = session.handle_timeout(deadline);
    assert_eq!(closed_with(&action), Some(ErrorCode::HANDSHAKE_TIMEOUT));
    assert_eq!(
        session.accept_login(Str8::new("alice").unwrap(), 0, 0),
        None
    );
    assert_eq!(session.reject_login(ErrorCode::NAME_TAKEN, "taken"), None);
    assert!(session.is_closed());
}
