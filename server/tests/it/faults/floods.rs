//! Floods: rate-limited, then cut off, while the others chat; the byte
//! bucket for big messages.

use super::*;

/// Pipelines `count` SENDs (client_refs 1..=count) in one write.
fn burst(count: u32, body: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    for client_ref in 1..=count {
        bytes.extend(wire(&send_frame(
            client_ref,
            "lobby",
            &format!("{body} {client_ref}"),
        )));
    }
    bytes
}

fn default_rates(c: &mut confab_server::Config) {
    let defaults = confab_server::Config::default();
    c.msg_rate = defaults.msg_rate;
    c.msg_burst = defaults.msg_burst;
    c.byte_rate = defaults.byte_rate;
    c.byte_burst = defaults.byte_burst;
}

#[tokio::test]
async fn a_flood_is_rate_limited_then_cut_off_while_others_chat() {
    // spec: FLOW-1, FLOW-2, FLOW-4, ERROR-3, CLOSE-3
    let server = TestServer::with(default_rates).await;
    let (mut w1, mut w2) = two_witnesses(&server).await;

    // A burst just past msg_burst: rate limited, not disconnected.
    let mut eager = Client::login(server.addr, "eager").await;
    eager.write_raw(&burst(70, "eager")).await;
    let (mut acked, mut limited) = (0, 0);
    for client_ref in 1..=70 {
        match eager.recv_skipping_presence().await {
            Frame::Ack(ack) => {
                assert_eq!(ack.client_ref, client_ref);
                acked += 1;
            }
            Frame::ErrorFrame(error) => {
                assert_eq!(error.code, ErrorCode::RATE_LIMITED, "{error:?}");
                assert!(!error.is_fatal());
                assert_eq!(
                    (error.frame_type, error.client_ref),
                    (code::SEND, client_ref)
                );
                limited += 1;
            }
            other => panic!("eager: unexpected {other:?}"),
        }
    }
    assert!(
        (60..=65).contains(&acked),
        "{acked} of 70 accepted with burst 60"
    );
    assert_eq!(acked + limited, 70);
    // Still connected: the next request is answered (FLOW-5: it costs a
    // token too, so it may be refused while the bucket refills).
    eager.list_rooms().await;
    match eager.recv_skipping_presence().await {
        Frame::RoomList(_) => {}
        Frame::ErrorFrame(e) => assert_eq!(
            (e.code, e.frame_type, e.is_fatal()),
            (ErrorCode::RATE_LIMITED, code::LIST_ROOMS, false)
        ),
        other => panic!("eager: unexpected {other:?}"),
    }
    for w in [&mut w1, &mut w2] {
        for i in 0..acked {
            let m = w.expect_message().await;
            assert_eq!(m.sender, "eager", "message {i}");
        }
    }

    // A real flood: every SEND is answered in order, ACK or RATE_LIMITED,
    // until the rejections pass msg_burst within a second: FLOODING, closed.
    let mut flooder = Client::login(server.addr, "flooder").await;
    flooder.write_raw(&burst(400, "flood")).await;
    // Meanwhile a witness's message still gets through.
    let client_ref = w1.say("lobby", "over the noise").await;
    ack_skipping_messages(&mut w1, client_ref).await;
    let mut flood_delivered = 0;
    loop {
        let m = w2.expect_message().await;
        if m.sender == "wit1" {
            assert_eq!(m.body, "over the noise");
            break;
        }
        assert_eq!(m.sender, "flooder");
        flood_delivered += 1;
        assert!(flood_delivered <= 400);
    }

    let (frames, ending) = flooder.read_to_end().await;
    assert!(matches!(ending, Ending::Eof), "{ending:?}");
    // Only the answers to its SENDs (it also hears the lobby).
    let frames: Vec<Frame> = frames
        .into_iter()
        .filter(|f| !matches!(f, Frame::Presence(_) | Frame::Message(_)))
        .collect();
    let (last, answers) = frames.split_last().expect("some answers");
    let (mut acked, mut limited) = (0u32, 0u32);
    for (i, frame) in answers.iter().enumerate() {
        let client_ref = i as u32 + 1;
        match frame {
            Frame::Ack(ack) => {
                assert_eq!(ack.client_ref, client_ref);
                acked += 1;
            }
            Frame::ErrorFrame(error) if error.code == ErrorCode::RATE_LIMITED => {
                assert_eq!(error.client_ref, client_ref);
                assert!(!error.is_fatal());
                limited += 1;
            }
            other => panic!("flooder answer {client_ref}: {other:?}"),
        }
    }
    match last {
        Frame::ErrorFrame(error) => {
            assert_eq!(error.code, ErrorCode::FLOODING);
            assert!(error.is_fatal());
            assert_eq!(error.frame_type, code::SEND);
        }
        other => panic!("flooder: expected FLOODING last, got {other:?}"),
    }
    assert!((60..=65).contains(&acked), "{acked} accepted");
    assert_eq!(
        limited, 60,
        "FLOODING on the rejection after msg_burst rejections"
    );
    assert!(
        answers.len() < 400,
        "nothing after the fatal error is processed"
    );

    // Everything the flooder got accepted reached the lobby, then it left.
    for w in [&mut w1, &mut w2] {
        disconnected_skipping_messages(w, "flooder").await;
    }
    still_fine_after_noise(&mut w1, &mut w2).await;
    drop((w1, w2, eager, flooder));
    server.finish().await;
}

/// Like `still_fine`, tolerating flood messages still queued for the witnesses.
async fn still_fine_after_noise(w1: &mut Client, w2: &mut Client) {
    round_over_noise(w1, w2).await;
    round_over_noise(w2, w1).await;
}

async fn round_over_noise(from: &mut Client, to: &mut Client) {
    let client_ref = from.say("lobby", "after the storm").await;
    ack_skipping_messages(from, client_ref).await;
    for _ in 0..1_000 {
        let m = to.expect_message().await;
        if m.sender.as_str() == from.name {
            assert_eq!(m.body, "after the storm");
            return;
        }
    }
    panic!("{} never got {}'s message", to.name, from.name);
}

/// The ACK of `client_ref`, skipping room messages and PRESENCE before it.
async fn ack_skipping_messages(
    client: &mut Client,
    client_ref: u32,
) -> confab_protocol::frame::Ack {
    for _ in 0..1_000 {
        match client.recv_skipping_presence().await {
            Frame::Ack(ack) if ack.client_ref == client_ref => return ack,
            Frame::Message(_) => continue,
            other => panic!("{}: expected ACK {client_ref}, got {other:?}", client.name),
        }
    }
    panic!("{}: no ACK {client_ref}", client.name);
}

/// Waits for `user`'s PRESENCE disconnected, skipping room messages before it.
async fn disconnected_skipping_messages(client: &mut Client, user: &str) {
    for _ in 0..1_000 {
        let frame = client.recv().await;
        if client.answer_ping(&frame).await {
            continue;
        }
        match frame {
            Frame::Presence(p) if p.username == user => {
                assert_eq!(p.event, PresenceEvent::Disconnected);
                return;
            }
            Frame::Presence(_) | Frame::Message(_) => continue,
            other => panic!(
                "{}: expected PRESENCE of {user}, got {other:?}",
                client.name
            ),
        }
    }
    panic!("{}: no PRESENCE of {user}", client.name);
}

#[tokio::test]
async fn the_flooding_error_names_the_send_that_caused_it() {
    // spec: FLOW-2, ERROR-1
    // The ERROR field rules: "client_ref is the client_ref of the SEND or
    // DIRECT that caused the error, whatever the error".
    let server = TestServer::with(default_rates).await;
    let mut flooder = Client::login(server.addr, "flooder").await;
    flooder.write_raw(&burst(300, "flood")).await;
    let (frames, _) = flooder.read_to_end().await;
    let answered = frames
        .iter()
        .filter(|f| !matches!(f, Frame::Message(_)))
        .filter(|f| matches!(f, Frame::Ack(_) | Frame::ErrorFrame(_)))
        .count() as u32;
    match frames.last() {
        Some(Frame::ErrorFrame(error)) if error.code == ErrorCode::FLOODING => {
            assert_eq!(
                (error.frame_type, error.client_ref),
                (code::SEND, answered),
                "FLOODING was caused by SEND client_ref {answered}"
            );
        }
        other => panic!("expected FLOODING last, got {other:?}"),
    }
    drop(flooder);
    server.finish().await;
}

#[tokio::test]
async fn the_byte_bucket_limits_big_messages_separately() {
    // spec: FLOW-1
    let server = TestServer::with(|c| {
        c.msg_rate = 100;
        c.msg_burst = 100;
        c.byte_rate = 4096;
        c.byte_burst = 4096;
    })
    .await;
    let mut alice = Client::login(server.addr, "alice").await;
    let big = "b".repeat(4096);
    let first = alice.say("lobby", &big).await;
    let second = alice.say("lobby", &"c".repeat(2000)).await;
    alice.expect_ack(first).await;
    let error = alice.expect_error(ErrorCode::RATE_LIMITED).await;
    assert_eq!(error.client_ref, second);
    drop(alice);
    server.finish().await;
}
