//! The handshake over real loopback TCP: GREETING, HELLO, LOGIN and the
//! rules around them (spec sections 6 and 7).

use crate::common;

use std::time::{Duration, Instant};

use common::{expect_presence, raw_frame, wire, Client, TestServer};
use confab_protocol::frame::{
    code, Frame, Greeting, Hello, Join, Login, LoginMode, Ping, PresenceEvent, SendMessage, Welcome,
};
use confab_protocol::{ErrorCode, Str16, Str8, GREETING_MAX_FRAME};
use futures_util::StreamExt;

mod greeting;
mod login;

fn hello(flags: u8) -> Frame {
    Frame::Hello(Hello {
        version: 1,
        flags,
        client: Str8::new("handshake-test").unwrap(),
    })
}

fn guest(name: &str) -> Frame {
    Frame::Login(Login::guest(Str8::new(name).unwrap()))
}

/// Reads one LOGIN_REJECTED and checks its code and attempts_left.
async fn expect_rejected(client: &mut Client, code: ErrorCode, attempts_left: u8) {
    match client.recv().await {
        Frame::LoginRejected(rejected) => {
            assert_eq!(
                (rejected.code, rejected.attempts_left),
                (code, attempts_left),
                "{rejected:?}"
            );
            assert!(!rejected.message.is_empty(), "a rejection explains itself");
        }
        other => panic!("expected LOGIN_REJECTED {code:?}, got {other:?}"),
    }
}

async fn expect_welcome(client: &mut Client) -> Welcome {
    match client.recv().await {
        Frame::Welcome(welcome) => {
            client.name = welcome.username.to_string();
            welcome
        }
        other => panic!("expected WELCOME, got {other:?}"),
    }
}

fn unusual_limits(c: &mut confab_server::Config) {
    c.max_frame = 70_000;
    c.max_username = 20;
    c.max_room_name = 40;
    c.max_body = 2_000;
    c.max_rooms = 7;
    c.msg_rate = 5;
    c.msg_burst = 9;
    c.byte_rate = 10_000;
    c.byte_burst = 20_000;
    c.queue_depth = 100;
    c.ping_interval_ms = 20_000;
    c.ping_timeout_ms = 9_000;
    c.handshake_timeout_ms = 8_000;
    c.login_attempts = 4;
    c.history_max = 50;
    c.default_room = "Plaza".into();
}
