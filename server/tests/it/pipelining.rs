//! A client may send many requests without waiting for the answers; as long
//! as it reads, it gets every answer, even when they add up to more frames
//! than its outbound queue holds at once.

use crate::common;

use common::*;
use confab_protocol::frame::{Direction, Frame, Hello, HistoryKind};

const KEPT: u16 = 200;
/// Answers to these add up to about 30 × 201 frames: more than the queue
/// depth of 4,096.
const REQUESTS: usize = 30;

#[tokio::test]
async fn pipelined_history_requests_all_get_their_answers() {
    // spec: FLOW-3, HISTORY-1
    let server = TestServer::start(TestServer::config()).await;
    let mut talker = Client::login_flags(server.addr, "talker", Hello::NO_AUTO_JOIN).await;
    talker.enter("log", 0, 0).await;
    for i in 0..KEPT {
        let client_ref = talker.say("log", &format!("entry {i}")).await;
        talker.expect_ack(client_ref).await;
    }

    let mut reader = Client::login_flags(server.addr, "reader", Hello::NO_AUTO_JOIN).await;
    reader.enter("log", 0, 0).await;
    // All requests in one go, then the answers.
    for _ in 0..REQUESTS {
        reader
            .history(HistoryKind::Room, "log", Direction::Before, 0, KEPT)
            .await;
    }
    let mut messages = 0;
    let mut ends = 0;
    while ends < REQUESTS {
        match reader.recv().await {
            Frame::Message(_) => messages += 1,
            Frame::HistoryEnd(end) => {
                assert_eq!(end.count, KEPT, "every page is full");
                ends += 1;
            }
            Frame::ErrorFrame(e) => panic!("request {ends} answered with an error: {e:?}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(messages, REQUESTS * usize::from(KEPT));
    chat_works(&mut talker, &mut reader, "log", "still here").await;
    server.finish().await;
}
