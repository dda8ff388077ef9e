//! Strategies for the frames a client sends (and PING, PONG, GOODBYE, ERROR).

use super::*;

// ------------------------------------------------------------------- frames

pub fn ping() -> BoxedStrategy<Frame> {
    u64s().prop_map(|nonce| Frame::Ping(Ping { nonce })).boxed()
}

pub fn pong() -> BoxedStrategy<Frame> {
    u64s().prop_map(|nonce| Frame::Pong(Pong { nonce })).boxed()
}

pub fn goodbye() -> BoxedStrategy<Frame> {
    (error_code(), str16())
        .prop_map(|(reason, message)| Frame::Goodbye(Goodbye { reason, message }))
        .boxed()
}

pub fn error_frame() -> BoxedStrategy<Frame> {
    (error_code(), flags(), u8s(), u32s(), str16())
        .prop_map(|(code, flags, frame_type, client_ref, message)| {
            Frame::ErrorFrame(ErrorFrame {
                code,
                flags,
                frame_type,
                client_ref,
                message,
            })
        })
        .boxed()
}

pub fn hello_with_version(version: BoxedStrategy<u16>) -> BoxedStrategy<Frame> {
    (version, flags(), str8())
        .prop_map(|(version, flags, client)| {
            Frame::Hello(Hello {
                version,
                flags,
                client,
            })
        })
        .boxed()
}

pub fn hello() -> BoxedStrategy<Frame> {
    hello_with_version(u16s())
}

pub fn login_mode() -> BoxedStrategy<LoginMode> {
    prop::sample::select(&[LoginMode::Guest, LoginMode::Login, LoginMode::Register][..]).boxed()
}

pub fn login_with_name(username: BoxedStrategy<Str8>) -> BoxedStrategy<Frame> {
    (login_mode(), username, str8())
        .prop_map(|(mode, username, password)| {
            Frame::Login(Login {
                mode,
                username,
                password,
            })
        })
        .boxed()
}

pub fn login() -> BoxedStrategy<Frame> {
    login_with_name(str8())
}

pub fn join() -> BoxedStrategy<Frame> {
    (str8(), u64s(), u16s())
        .prop_map(|(room, since_seq, history)| {
            Frame::Join(Join {
                room,
                since_seq,
                history,
            })
        })
        .boxed()
}

pub fn leave() -> BoxedStrategy<Frame> {
    str8().prop_map(|room| Frame::Leave(Leave { room })).boxed()
}

pub fn list_rooms() -> BoxedStrategy<Frame> {
    Just(Frame::ListRooms(ListRooms {})).boxed()
}

pub fn send() -> BoxedStrategy<Frame> {
    (u32s(), str8(), str16())
        .prop_map(|(client_ref, room, body)| {
            Frame::SendMessage(SendMessage {
                client_ref,
                room,
                body,
            })
        })
        .boxed()
}

pub fn direct() -> BoxedStrategy<Frame> {
    (u32s(), str8(), str16())
        .prop_map(|(client_ref, to, body)| {
            Frame::Direct(Direct {
                client_ref,
                to,
                body,
            })
        })
        .boxed()
}

pub fn send_action() -> BoxedStrategy<Frame> {
    (u32s(), str8(), str16())
        .prop_map(|(client_ref, room, body)| {
            Frame::SendAction(SendAction {
                client_ref,
                room,
                body,
            })
        })
        .boxed()
}

pub fn direct_action() -> BoxedStrategy<Frame> {
    (u32s(), str8(), str16())
        .prop_map(|(client_ref, to, body)| {
            Frame::DirectAction(DirectAction {
                client_ref,
                to,
                body,
            })
        })
        .boxed()
}

pub fn who() -> BoxedStrategy<Frame> {
    str8().prop_map(|room| Frame::Who(Who { room })).boxed()
}

pub fn history_kind() -> BoxedStrategy<HistoryKind> {
    prop::sample::select(&[HistoryKind::Room, HistoryKind::Direct][..]).boxed()
}

pub fn direction() -> BoxedStrategy<Direction> {
    prop::sample::select(&[Direction::Before, Direction::After][..]).boxed()
}

pub fn history() -> BoxedStrategy<Frame> {
    (history_kind(), str8(), direction(), u64s(), u16s())
        .prop_map(|(kind, target, direction, anchor, limit)| {
            Frame::History(History {
                kind,
                target,
                direction,
                anchor,
                limit,
            })
        })
        .boxed()
}
