//! LOGIN (spec section 7): name rules, uniqueness, and the auto-join.

use std::sync::Arc;

use confab_protocol::frame::{Join, Login, LoginMode};
use confab_protocol::names::normalize_name;
use confab_protocol::{ErrorCode, Str8};
use tracing::{debug, info};

use crate::clock::now_millis;
use crate::connection::ConnState;
use crate::hub::Member;

pub fn login(state: &mut ConnState, login: Login) {
    match judge(state, &login) {
        Ok(member) => {
            info!(conn = state.id, peer = %state.peer, user = %member.name, "logged in");
            let welcome = state
                .session
                .accept_login(member.name.clone(), 0, now_millis());
            state.send(welcome);
            state.member = Some(member);
            if state.session.auto_join() {
                // spec: HANDSHAKE-7
                let room = Str8::truncated(&state.shared.default_room);
                super::join::join(
                    state,
                    Join {
                        room,
                        since_seq: 0,
                        history: 0,
                    },
                );
            }
        }
        Err((code, message)) => {
            debug!(
                conn = state.id,
                "login as {:?} rejected: {code}",
                login.username.as_str()
            );
            let (rejected, fatal) = state.session.reject_login(code, &message);
            state.send(rejected);
            if let Some(fatal) = fatal {
                state.close_with(fatal);
            }
        }
    }
}

/// `[HANDSHAKE-5]`, `[HANDSHAKE-6]`: the member to log in, or why not.
fn judge(state: &ConnState, login: &Login) -> Result<Arc<Member>, (ErrorCode, String)> {
    match login.mode {
        LoginMode::Guest if !login.password.is_empty() => {
            return Err((
                ErrorCode::AUTH_FAILED,
                "guests log in without a password".into(),
            ))
        }
        LoginMode::Guest => {}
        LoginMode::Login | LoginMode::Register => {
            return Err((
                ErrorCode::ACCOUNTS_UNAVAILABLE,
                "this server has no accounts; log in as a guest".into(),
            ))
        }
    }
    let max = usize::from(state.shared.limits.max_username);
    let name = normalize_name(&login.username, max)
        .map_err(|e| (ErrorCode::NAME_INVALID, e.to_string()))?;
    if state.shared.is_reserved(&name) {
        return Err((
            ErrorCode::NAME_RESERVED,
            format!("the name {name:?} is reserved"),
        ));
    }
    let member = Arc::new(Member {
        conn_id: state.id,
        name: Str8::truncated(&name),
        outbox: Arc::clone(&state.outbox),
    });
    if !state.shared.hub.claim_name(&member) {
        return Err((ErrorCode::NAME_TAKEN, format!("the name {name:?} is taken")));
    }
    Ok(member)
}
