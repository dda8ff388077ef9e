//! LOGIN (spec section 7): name rules, accounts, uniqueness, and the auto-join.
//!
//! Nothing is held on a name while a password is checked (`[AUTH-1]`): the
//! name is claimed only once the password is known to be right (or the new
//! account's hash is ready), so guessers can never keep an owner out; they
//! are slowed down per connection and per address instead. The whole
//! judgement, slow-down included, ends at the handshake deadline (`[AUTH-2]`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use confab_protocol::frame::{Join, Login, LoginMode, Welcome};
use confab_protocol::names::{name_key, normalize_name};
use confab_protocol::{ErrorCode, Str8};
use tracing::{debug, error, info, warn};

use crate::clock::now_millis;
use crate::connection::ConnState;
use crate::hashing::HashError;
use crate::hub::Member;
use crate::shared::Shared;

/// The first wrong password is answered after this; each next one waits twice as long.
const AUTH_FAILURE_DELAY: Duration = Duration::from_millis(500);

pub async fn login(state: &mut ConnState, login: Login) {
    // spec: AUTH-2 — the deadline counts from accept, whatever is pending.
    let deadline = state.handshake_deadline();
    let judged = match tokio::time::timeout_at(deadline, judge_and_slow_down(state, &login)).await {
        Ok(judged) => judged,
        Err(_) => {
            debug!(conn = state.id, "handshake deadline passed during a login");
            if let Some(last) = state.session.handshake_timed_out() {
                state.close_with(last);
            }
            return;
        }
    };
    match judged {
        Ok((claim, flags)) => {
            let member = claim.keep();
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
                // The default room is never let go: it may always be made.
                let _ = super::join::join(
                    state,
                    Join {
                        room,
                        since_seq: 0,
                        history: 0,
                    },
                    true,
                );
            }
        }
        Err((code, message)) => {
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

/// How long the answer to the `failures`-th wrong password in a row (on
/// the connection or from the address, whichever counts more) waits: 0.5 s,
/// doubling each time, at most 8 s (`[HANDSHAKE-6]`).
fn failure_delay(failures: u32) -> Duration {
    AUTH_FAILURE_DELAY * 2u32.pow(failures.clamp(1, 5) - 1)
}

/// The verdict, after the slow-down of a wrong password.
async fn judge_and_slow_down(
    state: &mut ConnState,
    login: &Login,
) -> Result<(Claim, u8), Rejection> {
    let verdict = judge(state, login).await;
    if let Err((code, _)) = &verdict {
        debug!(
            conn = state.id,
            "login as {:?} rejected: {code}",
            login.username.as_str()
        );
        if *code == ErrorCode::AUTH_FAILED {
            // spec: HANDSHAKE-6, AUTH-1 — repeated failures are slowed down,
            // on this connection and from this address, never for the name.
            state.auth_failures += 1;
            let from_address = state.shared.auth_failed(state.peer.ip());
            let failures = state.auth_failures.max(from_address);
            let delay = failure_delay(failures);
            warn!(conn = state.id, peer = %state.peer, "failed login for {:?}", login.username.as_str());
            tokio::time::sleep(delay).await;
        }
    }
    verdict
}

type Rejection = (ErrorCode, String);

/// A name claimed for a connection; released on drop unless kept, so a
/// login cut short (by the handshake deadline) leaves no name behind.
struct Claim {
    shared: Arc<Shared>,
    member: Option<Arc<Member>>,
}

impl Claim {
    fn take(shared: &Arc<Shared>, member: Arc<Member>) -> Result<Claim, Rejection> {
        if !shared.hub.claim_name(&member) {
            let name = member.name.as_str();
            return Err((ErrorCode::NAME_TAKEN, format!("the name {name:?} is taken")));
        }
        Ok(Claim {
            shared: Arc::clone(shared),
            member: Some(member),
        })
    }

    /// The name, ending the session that holds it (`[AUTH-4]`).
    async fn take_over(shared: &Arc<Shared>, member: Arc<Member>) -> Claim {
        crate::takeover::claim(&shared.hub, &member).await;
        Claim {
            shared: Arc::clone(shared),
            member: Some(member),
        }
    }

    fn keep(mut self) -> Arc<Member> {
        self.member
            .take()
            .expect("a claim holds its member until kept")
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(member) = &self.member {
            self.shared.hub.release_name(member);
        }
    }
}

/// `[HANDSHAKE-5]`, `[HANDSHAKE-6]`: the claimed name to log in and its
/// WELCOME flags, or why not.
async fn judge(state: &ConnState, login: &Login) -> Result<(Claim, u8), Rejection> {
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
        moderation: crate::hub::MemberModeration {
            key: confab_protocol::names::user_key(&name),
            registered: login.mode != LoginMode::Guest,
            aware: state.session.client_moderation(),
            ip: state.peer.ip(),
            removed: Default::default(),
        },
    });
    match login.mode {
        LoginMode::Guest => {
            // spec: MOD-13, MOD-20 — after check 5, before NAME_TAKEN.
            super::moderation::check_login(&shared, &name)?;
            Ok((Claim::take(&shared, member)?, 0))
        }
        LoginMode::Login => {
            let floor = check_password(&shared, state, login, &name).await?;
            // spec: MOD-13, MOD-20 — after check 5, before NAME_TAKEN.
            super::moderation::check_login(&shared, &name)?;
            member.history_floor.store(floor, Ordering::Relaxed);
            // spec: AUTH-1 — the name is taken only with the right password;
            // spec: AUTH-4 — and from whoever holds it.
            Ok((Claim::take_over(&shared, member).await, Welcome::REGISTERED))
        }
        LoginMode::Register => {
            let claim = register(&shared, state, login, member).await?;
            Ok((claim, Welcome::REGISTERED))
        }
    }
}

fn unavailable(e: String) -> Rejection {
    error!("account store: {e}");
    (
        ErrorCode::AUTH_FAILED,
        "accounts are unavailable right now".to_string(),
    )
}

/// The pool's refusals: busy or rate-limited is `TRY_AGAIN_LATER` (`[MEM-1]`).
fn hashing_failed(e: HashError) -> Rejection {
    match e {
        HashError::Busy | HashError::TooManyRegistrations => {
            (ErrorCode::TRY_AGAIN_LATER, e.to_string())
        }
        HashError::Failed(why) => unavailable(why),
    }
}

/// Mode 1: the account's direct-message history floor if the password is right.
async fn check_password(
    shared: &Shared,
    state: &ConnState,
    login: &Login,
    name: &str,
) -> Result<u64, Rejection> {
    let (Some(store), Some(passwords)) = (&shared.store, &shared.passwords) else {
        return Err((ErrorCode::ACCOUNTS_UNAVAILABLE, "no accounts".into()));
    };
    let wrong = || (ErrorCode::AUTH_FAILED, "wrong name or password".to_string());
    let Some(account) = store
        .account(name_key(name).to_string())
        .await
        .map_err(|e| unavailable(e.to_string()))?
    else {
        return Err(wrong());
    };
    let password = login.password.to_string();
    let matched = passwords
        .verify(state.peer.ip(), password, account.hash)
        .await
        .map_err(hashing_failed)?;
    if matched {
        Ok(account.history_floor)
    } else {
        Err(wrong())
    }
}

/// Mode 2: hashes the password, then claims the name and stores the account.
async fn register(
    shared: &Arc<Shared>,
    state: &ConnState,
    login: &Login,
    member: Arc<Member>,
) -> Result<Claim, Rejection> {
    let (Some(store), Some(passwords)) = (&shared.store, &shared.passwords) else {
        return Err((ErrorCode::ACCOUNTS_UNAVAILABLE, "no accounts".into()));
    };
    let name = member.name.to_string();
    let exists = || {
        (
            ErrorCode::ACCOUNT_EXISTS,
            format!("{name:?} is registered already: log in"),
        )
    };
    // Cheap refusals first (no hashing for a name that cannot be had), in
    // the order of `[STATE-7]`: NAME_TAKEN, then the empty password
    // (`[HANDSHAKE-9]`), then ACCOUNT_EXISTS.
    // spec: MOD-13, MOD-20 — before NAME_TAKEN.
    super::moderation::check_login(shared, &name)?;
    if shared.hub.user(&name).is_some() {
        return Err((ErrorCode::NAME_TAKEN, format!("the name {name:?} is taken")));
    }
    if login.password.is_empty() {
        return Err((
            ErrorCode::AUTH_FAILED,
            "registration needs a password".into(),
        ));
    }
    // spec: AUTH-3 — after the empty password, before ACCOUNT_EXISTS.
    crate::password_rule::check_new(&login.password, shared.config.min_password_length)
        .map_err(|short| (ErrorCode::PASSWORD_TOO_SHORT, short.to_string()))?;
    if shared.is_registered(&name) {
        return Err(exists());
    }
    let hash = passwords
        .hash_new(state.peer.ip(), login.password.to_string())
        .await
        .map_err(hashing_failed)?;
    // Claimed before the account is stored, so a name cannot be registered
    // from under a guest who took it meanwhile; released if storing fails.
    let claim = Claim::take(shared, member)?;
    // Direct messages a guest exchanged under this name stay its own.
    let history_floor = shared.hub.peek_message_id();
    let key = name_key(&name).to_string();
    let stored = store
        .insert_account(key, name.clone(), hash, now_millis(), history_floor)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    if !stored {
        return Err(exists());
    }
    claim
        .member
        .as_ref()
        .expect("a fresh claim holds its member")
        .history_floor
        .store(history_floor, Ordering::Relaxed);
    shared.note_registered(&name);
    info!(user = name, "registered");
    Ok(claim)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::failure_delay;

    #[test]
    fn repeated_failures_wait_longer_up_to_a_bound() {
        // spec: HANDSHAKE-6
        let delays: Vec<Duration> = (1..=8).map(failure_delay).collect();
        assert_eq!(delays[0], Duration::from_millis(500));
        for (failures, pair) in (1..).zip(delays.windows(2)) {
            if failures < 5 {
                assert_eq!(pair[1], pair[0] * 2, "after {failures} failures");
            } else {
                assert_eq!(pair[1], pair[0], "bounded after {failures} failures");
            }
        }
        assert_eq!(failure_delay(u32::MAX), Duration::from_secs(8));
    }
}
