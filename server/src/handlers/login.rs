//! LOGIN (spec section 7): name rules, accounts, uniqueness, and the auto-join.
//!
//! Nothing is held on a name while a password is checked (`[AUTH-1]`): the
//! name is claimed only once the password is known to be right (or the new
//! account's hash is ready), so guessers can never keep an owner out; they
//! are slowed down per connection and per address instead. The whole
//! judgement, slow-down included, ends at the handshake deadline (`[AUTH-2]`).
//!
//! In cluster mode (`[CLUSTER-1]`) a name is claimed on the node, then in
//! Redis (`crate::cluster::names`), and accounts are read from Redis; a
//! Redis that cannot be reached is `CLUSTER_UNAVAILABLE` (`[CLUSTER-3]`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use confab_protocol::frame::{Join, Login, LoginMode, Welcome};
use confab_protocol::names::normalize_name;
use confab_protocol::{ErrorCode, Str8};
use tracing::{debug, info, warn};

use confab_protocol::session::ServerSession;

use super::claim::{
    account_failed, cluster_unavailable, history_floor, taken, unavailable, Claim, Rejection,
};
use crate::account_book::Accounts;
use crate::clock::now_millis;
use crate::cluster::names;
use crate::connection::Peer;
use crate::hashing::HashError;
use crate::hub::Member;
use crate::services::Services;

/// The first wrong password is answered after this; each next one waits twice as long.
const AUTH_FAILURE_DELAY: Duration = Duration::from_millis(500);

/// Judges a LOGIN and answers it; the member logged in, if one was.
pub(crate) async fn login(
    services: &Services,
    accounts: &Accounts,
    session: &mut ServerSession,
    auth_failures: &mut u32,
    peer: &mut Peer,
    login: Login,
) -> Option<Arc<Member>> {
    // spec: AUTH-2 — the deadline counts from accept, whatever is pending.
    let deadline = session
        .handshake_deadline()
        .map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std);
    // spec: MOD-1 — whether the client set HELLO MODERATION.
    let aware = session.client_moderation();
    let judging = judge_and_slow_down(services, accounts, auth_failures, peer, &login, aware);
    let judged = match tokio::time::timeout_at(deadline, judging).await {
        Ok(judged) => judged,
        Err(_) => {
            debug!(conn = peer.id, "handshake deadline passed during a login");
            if let Some(last) = session.handshake_timed_out() {
                peer.close_with(last);
            }
            return None;
        }
    };
    match judged {
        Ok((claim, flags)) => {
            let member = claim.keep();
            info!(conn = peer.id, peer = %peer.addr, user = %member.name, "logged in");
            let Some(welcome) = session.accept_login(member.name.clone(), flags, now_millis())
            else {
                // The session closed while the login was judged: nobody to welcome.
                super::release_name(services, &member);
                return None;
            };
            peer.send(welcome);
            if let Some(cluster) = &services.cluster {
                // spec: CLUSTER-1 — WHO on any node names the user.
                cluster.user_changed(&member.name, true);
            }
            if flags & Welcome::REGISTERED != 0 {
                accounts.auth_succeeded(peer.addr.ip());
            }
            if session.auto_join() {
                // spec: HANDSHAKE-7
                let room = Str8::truncated(&services.default_room);
                let join = Join {
                    room,
                    since_seq: 0,
                    history: 0,
                };
                // The default room is never let go: it may always be made.
                match &services.cluster {
                    Some(cluster) => {
                        super::join::join_clustered(services, cluster, &member, peer, join).await
                    }
                    None => drop(super::join::join(services, &member, peer, join, true)),
                }
            }
            Some(member)
        }
        Err((code, message)) => {
            let (rejected, fatal) = session.reject_login(code, &message)?;
            peer.send(rejected);
            if let Some(fatal) = fatal {
                peer.close_with(fatal);
            }
            None
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
async fn judge_and_slow_down<'a>(
    services: &'a Services,
    accounts: &Accounts,
    auth_failures: &mut u32,
    peer: &Peer,
    login: &Login,
    aware: bool,
) -> Result<(Claim<'a>, u8), Rejection> {
    let verdict = judge(services, accounts, peer, login, aware).await;
    if let Err((code, _)) = &verdict {
        debug!(
            conn = peer.id,
            "login as {:?} rejected: {code}",
            login.username.as_str()
        );
        if *code == ErrorCode::AUTH_FAILED {
            // spec: HANDSHAKE-6, AUTH-1 — repeated failures are slowed down,
            // on this connection and from this address, never for the name.
            *auth_failures += 1;
            let from_address = accounts.auth_failed(peer.addr.ip());
            let failures = (*auth_failures).max(from_address);
            let delay = failure_delay(failures);
            warn!(conn = peer.id, peer = %peer.addr, "failed login for {:?}", login.username.as_str());
            tokio::time::sleep(delay).await;
        }
    }
    verdict
}

/// `[HANDSHAKE-5]`, `[HANDSHAKE-6]`: the claimed name to log in and its
/// WELCOME flags, or why not.
async fn judge<'a>(
    services: &'a Services,
    accounts: &Accounts,
    peer: &Peer,
    login: &Login,
    aware: bool,
) -> Result<(Claim<'a>, u8), Rejection> {
    match login.mode {
        LoginMode::Guest if !login.password.is_empty() => {
            return Err((
                ErrorCode::AUTH_FAILED,
                "guests log in without a password".into(),
            ))
        }
        LoginMode::Login | LoginMode::Register if !accounts.has_accounts() => {
            return Err((
                ErrorCode::ACCOUNTS_UNAVAILABLE,
                "this server has no accounts; log in as a guest".into(),
            ))
        }
        _ => {}
    }
    let max = usize::from(services.limits.max_username);
    let name = normalize_name(&login.username, max)
        .map_err(|e| (ErrorCode::NAME_INVALID, e.to_string()))?;
    if accounts.is_reserved(&name) {
        return Err((
            ErrorCode::NAME_RESERVED,
            format!("the name {name:?} is reserved"),
        ));
    }
    let guest = login.mode == LoginMode::Guest;
    if guest
        && (accounts.required
            || accounts
                .is_registered_anywhere(&name)
                .await
                .map_err(cluster_unavailable)?)
    {
        let why = if accounts.required {
            "this server requires an account: log in or register".to_string()
        } else {
            format!("{name:?} is a registered name: log in with its password")
        };
        return Err((ErrorCode::ACCOUNT_REQUIRED, why));
    }
    // spec: NAMES-1 — an account holder is known by the registered spelling.
    let (name, account) = match login.mode {
        LoginMode::Login => match accounts.account(&name).await.map_err(account_failed)? {
            Some((spelling, account)) => (spelling, Some(account)),
            None => (name, None),
        },
        _ => (name, None),
    };
    // A guest's direct-message history starts now (`[HISTORY-2]`); an
    // account's is set from its account below.
    let floor = match guest {
        true => history_floor(services).await?,
        false => services.hub.peek_message_id(),
    };
    let member = Arc::new(Member {
        conn_id: peer.id,
        name: Str8::truncated(&name),
        outbox: Arc::clone(&peer.outbox),
        history_floor: AtomicU64::new(floor),
        moderation: crate::hub::MemberModeration {
            key: confab_protocol::names::user_key(&name).into(),
            registered: login.mode != LoginMode::Guest,
            aware,
            ip: peer.addr.ip(),
            removed: Default::default(),
        },
    });
    match login.mode {
        LoginMode::Guest => {
            // spec: MOD-13, MOD-20 — after check 5, before NAME_TAKEN.
            super::moderation::check_login(services, &name)?;
            Ok((Claim::take(services, member).await?, 0))
        }
        LoginMode::Login => {
            let floor = check_password(accounts, peer, login, account).await?;
            // spec: MOD-13, MOD-20 — after check 5, before NAME_TAKEN.
            super::moderation::check_login(services, &name)?;
            member.history_floor.store(floor, Ordering::Relaxed);
            // spec: AUTH-1 — the name is taken only with the right password;
            // spec: AUTH-4 — and from whoever holds it.
            Ok((
                Claim::take_over(services, member).await?,
                Welcome::REGISTERED,
            ))
        }
        LoginMode::Register => {
            let claim = register(services, accounts, peer, login, member).await?;
            Ok((claim, Welcome::REGISTERED))
        }
    }
}

/// The pool's refusals: busy or rate-limited is `TRY_AGAIN_LATER` (`[MEM-1]`).
fn hashing_failed(e: HashError) -> Rejection {
    match e {
        HashError::Busy | HashError::TooManyRegistrations => {
            (ErrorCode::TRY_AGAIN_LATER, e.to_string())
        }
        HashError::Failed(_) | HashError::Gone => unavailable(e),
    }
}

/// Mode 1: the account's direct-message history floor if the password is right.
async fn check_password(
    accounts: &Accounts,
    peer: &Peer,
    login: &Login,
    account: Option<crate::store::accounts::Account>,
) -> Result<u64, Rejection> {
    let Some(passwords) = &accounts.passwords else {
        return Err((ErrorCode::ACCOUNTS_UNAVAILABLE, "no accounts".into()));
    };
    let wrong = || (ErrorCode::AUTH_FAILED, "wrong name or password".to_string());
    let Some(account) = account else {
        return Err(wrong());
    };
    let password = login.password.to_string();
    let matched = passwords
        .verify(peer.addr.ip(), password, account.hash)
        .await
        .map_err(hashing_failed)?;
    if matched {
        Ok(account.history_floor)
    } else {
        Err(wrong())
    }
}

/// Mode 2: hashes the password, then claims the name and stores the account.
async fn register<'a>(
    services: &'a Services,
    accounts: &Accounts,
    peer: &Peer,
    login: &Login,
    member: Arc<Member>,
) -> Result<Claim<'a>, Rejection> {
    let Some(passwords) = &accounts.passwords else {
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
    super::moderation::check_login(services, &name)?;
    if services.hub.user(&name).is_some() {
        return Err(taken(&name));
    }
    if let Some(cluster) = &services.cluster {
        // spec: CLUSTER-1 — held on another node is taken too.
        let key = &member.moderation.key;
        if names::held_elsewhere(cluster, key)
            .await
            .map_err(cluster_unavailable)?
        {
            return Err(taken(&name));
        }
    }
    if login.password.is_empty() {
        return Err((
            ErrorCode::AUTH_FAILED,
            "registration needs a password".into(),
        ));
    }
    // spec: AUTH-3 — after the empty password, before ACCOUNT_EXISTS.
    crate::password_rule::check_new(&login.password, services.config.min_password_length)
        .map_err(|short| (ErrorCode::PASSWORD_TOO_SHORT, short.to_string()))?;
    if accounts
        .is_registered_anywhere(&name)
        .await
        .map_err(cluster_unavailable)?
    {
        return Err(exists());
    }
    let hash = passwords
        .hash_new(peer.addr.ip(), login.password.to_string())
        .await
        .map_err(hashing_failed)?;
    // Claimed before the account is stored, so a name cannot be registered
    // from under a guest who took it meanwhile; released if storing fails.
    let claim = Claim::take(services, member).await?;
    // Direct messages a guest exchanged under this name stay its own.
    let history_floor = history_floor(services).await?;
    let stored = accounts
        .insert(&name, hash, now_millis(), history_floor)
        .await
        .map_err(account_failed)?;
    if !stored {
        return Err(exists());
    }
    claim
        .member
        .as_ref()
        .expect("a fresh claim holds its member")
        .history_floor
        .store(history_floor, Ordering::Relaxed);
    accounts.note_registered(&name);
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
