//! LOGIN (spec section 7): name rules, accounts, uniqueness, and the auto-join.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use confab_protocol::frame::{Join, Login, LoginMode, Welcome};
use confab_protocol::names::{name_key, normalize_name};
use confab_protocol::{ErrorCode, Str8};
use tracing::{debug, error, info, warn};

use crate::clock::now_millis;
use crate::connection::ConnState;
use crate::hub::Member;
use crate::store::accounts::Verdict;

/// The first wrong password is answered after this; each next one waits twice as long.
const AUTH_FAILURE_DELAY: Duration = Duration::from_millis(500);

pub async fn login(state: &mut ConnState, login: Login) {
    match judge(state, &login).await {
        Ok((member, flags)) => {
            info!(conn = state.id, peer = %state.peer, user = %member.name, "logged in");
            let Some(welcome) =
                state
                    .session
                    .accept_login(member.name.clone(), flags, now_millis())
            else {
                // The session closed while the login was judged: nobody to welcome.
                state.shared.hub.release_name(&member);
                return;
            };
            state.send(welcome);
            if flags & Welcome::REGISTERED != 0 {
                state.shared.auth_succeeded(state.peer.ip());
            }
            state.member = Some(member);
            state.admission.logged_in();
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
            if code == ErrorCode::AUTH_FAILED {
                // spec: HANDSHAKE-6 — repeated failures are slowed down.
                state.auth_failures += 1;
                let from_address = state.shared.auth_failed(state.peer.ip());
                let failures = state.auth_failures.max(from_address);
                let delay = AUTH_FAILURE_DELAY * 2u32.pow(failures.min(5) - 1);
                warn!(conn = state.id, peer = %state.peer, "failed login for {:?}", login.username.as_str());
                tokio::time::sleep(delay).await;
            }
            let Some((rejected, fatal)) = state.session.reject_login(code, &message) else {
                return;
            };
            state.send(rejected);
            if let Some(fatal) = fatal {
                state.close_with(fatal);
            }
        }
    }
}

type Rejection = (ErrorCode, String);

/// `[HANDSHAKE-5]`, `[HANDSHAKE-6]`: the member to log in and its WELCOME flags, or why not.
async fn judge(state: &ConnState, login: &Login) -> Result<(Arc<Member>, u8), Rejection> {
    let shared = Arc::clone(&state.shared);
    match login.mode {
        LoginMode::Guest if !login.password.is_empty() => {
            return Err((
                ErrorCode::AUTH_FAILED,
                "guests log in without a password".into(),
            ))
        }
        LoginMode::Login | LoginMode::Register if shared.store.is_none() => {
            return Err((
                ErrorCode::ACCOUNTS_UNAVAILABLE,
                "this server has no accounts; log in as a guest".into(),
            ))
        }
        _ => {}
    }
    let max = usize::from(shared.limits.max_username);
    let name = normalize_name(&login.username, max)
        .map_err(|e| (ErrorCode::NAME_INVALID, e.to_string()))?;
    if shared.is_reserved(&name) {
        return Err((
            ErrorCode::NAME_RESERVED,
            format!("the name {name:?} is reserved"),
        ));
    }
    if login.mode == LoginMode::Guest
        && (shared.config.require_account || shared.is_registered(&name))
    {
        let why = if shared.config.require_account {
            "this server requires an account: log in or register".to_string()
        } else {
            format!("{name:?} is a registered name: log in with its password")
        };
        return Err((ErrorCode::ACCOUNT_REQUIRED, why));
    }
    // spec: NAMES-1 — an account holder is known by the registered spelling.
    let name = match (&shared.store, login.mode) {
        (Some(store), LoginMode::Login) => store
            .account_name(name_key(&name))
            .await
            .ok()
            .flatten()
            .unwrap_or(name),
        _ => name,
    };
    let member = Arc::new(Member {
        conn_id: state.id,
        name: Str8::truncated(&name),
        outbox: Arc::clone(&state.outbox),
        // A guest's direct-message history starts now (`[HISTORY-2]`); an
        // account's is set from the store below.
        history_floor: AtomicU64::new(shared.hub.peek_message_id()),
    });
    // Claimed before the account check, so a name cannot be registered from
    // under someone using it; released again if the check fails.
    if !shared.hub.claim_name(&member) {
        return Err((ErrorCode::NAME_TAKEN, format!("the name {name:?} is taken")));
    }
    let flags = match account_check(&shared, login, &name).await {
        Ok(Some(history_floor)) => {
            member.history_floor.store(history_floor, Ordering::Relaxed);
            Welcome::REGISTERED
        }
        Ok(None) => 0,
        Err(rejection) => {
            shared.hub.release_name(&member);
            return Err(rejection);
        }
    };
    Ok((member, flags))
}

/// For an account login or registration, where the account's direct-message
/// history starts; `None` for a guest.
async fn account_check(
    shared: &crate::shared::Shared,
    login: &Login,
    name: &str,
) -> Result<Option<u64>, Rejection> {
    let Some(store) = &shared.store else {
        return Ok(None);
    };
    let unavailable = |e: String| {
        error!("account store: {e}");
        (
            ErrorCode::AUTH_FAILED,
            "accounts are unavailable right now".to_string(),
        )
    };
    let key = name_key(name);
    let password = login.password.to_string();
    match login.mode {
        LoginMode::Guest => Ok(None),
        LoginMode::Login => match store.verify(key, password).await.map_err(unavailable)? {
            Verdict::Accepted { history_floor } => Ok(Some(history_floor)),
            Verdict::WrongPassword | Verdict::NoSuchAccount => {
                Err((ErrorCode::AUTH_FAILED, "wrong name or password".into()))
            }
        },
        LoginMode::Register => {
            if login.password.is_empty() {
                return Err((
                    ErrorCode::AUTH_FAILED,
                    "registration needs a password".into(),
                ));
            }
            // Direct messages a guest exchanged under this name stay its own.
            let history_floor = shared.hub.peek_message_id();
            if store
                .register(key, name.to_string(), password, now_millis(), history_floor)
                .await
                .map_err(unavailable)?
            {
                shared.note_registered(name);
                info!(user = name, "registered");
                Ok(Some(history_floor))
            } else {
                Err((
                    ErrorCode::ACCOUNT_EXISTS,
                    format!("{name:?} is registered already: log in"),
                ))
            }
        }
    }
}
