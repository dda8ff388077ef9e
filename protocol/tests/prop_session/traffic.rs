//! Client traffic for the server session, biased toward the handshake.

use super::*;

// ------------------------------------------------------------ client traffic

/// One thing that happens to a server connection.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    /// A decoded frame from the client.
    Frame(Frame),
    /// Bytes that do not decode: a HELLO with a damaged magic, or text.
    Bytes(Vec<u8>),
    /// The handshake deadline passes (`[HANDSHAKE-8]`).
    Timeout,
}

/// HELLO bytes with one magic byte changed (`[HANDSHAKE-2]`).
pub(crate) fn magicless_hello() -> BoxedStrategy<Event> {
    (s::hello(), 0usize..6, 1u8..=255)
        .prop_map(|(hello, at, mask)| {
            let mut wire = hello.to_bytes().to_vec();
            wire[frame::HEADER_LEN + at] ^= mask;
            Event::Bytes(wire)
        })
        .boxed()
}

/// A telnet user or an HTTP client (`[FRAMING-4]`, `[VERSION-5]`).
pub(crate) fn text_bytes() -> BoxedStrategy<Event> {
    prop_oneof![
        prop::sample::select(&["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "alice\r\n", "HELLO"][..])
            .prop_map(|t| t.as_bytes().to_vec()),
        (0x20u8..=0x7E, vec(any::<u8>(), 0..16)).prop_map(|(first, rest)| {
            let mut bytes = vec![first];
            bytes.extend(rest);
            bytes
        }),
    ]
    .prop_map(Event::Bytes)
    .boxed()
}

pub(crate) fn version_outside(min: u16, max: u16) -> BoxedStrategy<u16> {
    prop_oneof![
        Just(min.wrapping_sub(1)),
        Just(max.wrapping_add(1)),
        Just(0u16),
        Just(u16::MAX),
        any::<u16>(),
    ]
    .boxed()
}

/// Client traffic, biased toward the handshake. Events that close the
/// connection (GOODBYE, undecodable bytes, the handshake timeout) are kept
/// rare so that most sequences get past the login.
pub(crate) fn client_event(min: u16, max: u16) -> BoxedStrategy<Event> {
    let frame = |strategy: BoxedStrategy<Frame>| strategy.prop_map(Event::Frame).boxed();
    prop_oneof![
        3 => frame(s::hello_with_version((min..=max).boxed())),
        1 => frame(s::hello_with_version(version_outside(min, max))),
        10 => frame(s::login_with_name(username())),
        3 => frame(s::ping()),
        1 => frame(s::pong()),
        3 => frame(s::send()),
        3 => frame(s::join()),
        3 => frame(s::ready_request()),
        2 => frame(s::unknown()),
        2 => frame(s::error_frame()),
        2 => frame(s::server_only_frame()),
        2 => prop_oneof![
            frame(s::goodbye()),
            magicless_hello(),
            text_bytes(),
            Just(Event::Timeout),
        ],
    ]
    .boxed()
}

#[derive(Debug, Clone)]
pub(crate) struct Params {
    pub(crate) min_version: u16,
    pub(crate) max_version: u16,
    pub(crate) login_attempts: u8,
    pub(crate) max_username: usize,
}

pub(crate) fn params() -> impl Strategy<Value = Params> {
    (
        0u16..=3,
        0u16..=2,
        1u8..=4,
        prop::sample::select(&[1usize, 8, 32, 255][..]),
    )
        .prop_map(|(min_version, span, login_attempts, max_username)| Params {
            min_version,
            max_version: min_version + span,
            login_attempts,
            max_username,
        })
}

/// Parameters and client traffic; most sequences start with a HELLO of a
/// version the server speaks, some with one it does not.
pub(crate) fn scenario(len: std::ops::Range<usize>) -> impl Strategy<Value = (Params, Vec<Event>)> {
    params().prop_flat_map(move |p| {
        let hello = s::hello_with_version((p.min_version..=p.max_version).boxed());
        let bad_hello = s::hello_with_version(version_outside(p.min_version, p.max_version));
        let first = prop_oneof![
            6 => hello.prop_map(|h| Some(Event::Frame(h))),
            1 => bad_hello.prop_map(|h| Some(Event::Frame(h))),
            2 => Just(None),
        ];
        let rest = vec(client_event(p.min_version, p.max_version), len.clone());
        (Just(p), first, rest)
            .prop_map(|(p, first, rest)| (p, first.into_iter().chain(rest).collect::<Vec<_>>()))
    })
}
