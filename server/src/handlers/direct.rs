//! DIRECT (spec section 9).

use confab_protocol::frame::{code, Ack, Direct, DirectMessage, Frame};
use confab_protocol::ErrorCode;

use crate::clock::now_millis;
use crate::connection::ConnState;

pub fn direct(state: &mut ConnState, direct: Direct) {
    let client_ref = direct.client_ref;
    // spec: DM-3
    if let Err((code, message)) = super::check_body(state, &direct.body) {
        state.reject(code, code::DIRECT, client_ref, message);
        return;
    }
    let me = state.member();
    let recipient = match state.shared.hub.user(&direct.to) {
        Some(user) if user.conn_id != me.conn_id => user,
        // spec: DM-2
        _ => {
            state.reject(
                ErrorCode::NO_SUCH_USER,
                code::DIRECT,
                client_ref,
                "no such user online",
            );
            return;
        }
    };
    if !super::send::admit(state, code::DIRECT, client_ref, direct.body.len()) {
        return;
    }
    let me = state.member();
    let message = DirectMessage {
        id: state.shared.hub.next_message_id(),
        time: now_millis(),
        flags: 0,
        from: me.name.clone(),
        to: recipient.name.clone(),
        body: direct.body,
    };
    // spec: DM-1
    let _ = recipient
        .outbox
        .push(Frame::DirectMessage(message.clone()).to_bytes());
    state.shared.hub.direct.record(&message);
    state.send(Frame::Ack(Ack {
        client_ref,
        id: message.id,
        seq: 0,
        time: message.time,
    }));
}
