//! A login's claim on its name, on the node and (in cluster mode) in the
//! cluster's Redis (`crate::cluster::names`), and LOGIN's refusals of
//! failures: the store's, and Redis's (`[CLUSTER-3]`).

use std::sync::Arc;

use confab_protocol::ErrorCode;
use tracing::{error, warn};

use crate::account_book::AccountsError;
use crate::cluster::{accounts as shared_accounts, names, ClusterError};
use crate::hub::Member;
use crate::services::Services;

pub(super) type Rejection = (ErrorCode, String);

/// A name claimed for a connection (on the node, and in the cluster's
/// Redis in cluster mode); released on drop unless kept, so a login cut
/// short (by the handshake deadline) leaves no name behind.
pub(super) struct Claim<'a> {
    services: &'a Services,
    pub(super) member: Option<Arc<Member>>,
    /// Redis may hold the name for this connection: claimed, or the claim
    /// failed in a way that leaves it unknown (a timeout).
    in_redis: bool,
}

impl<'a> Claim<'a> {
    pub(super) async fn take(
        services: &'a Services,
        member: Arc<Member>,
    ) -> Result<Claim<'a>, Rejection> {
        if !services.hub.claim_name(&member) {
            return Err(taken(&member.name));
        }
        let mut claim = Claim {
            services,
            member: Some(member),
            in_redis: false,
        };
        claim.in_cluster().await?;
        Ok(claim)
    }

    /// The name, ending the session on this node that holds it (`[AUTH-4]`).
    /// In cluster mode a holder on another node is not ended: the login is
    /// `NAME_TAKEN` (`[CLUSTER-5]`, docs/cluster.md "Names").
    pub(super) async fn take_over(
        services: &'a Services,
        member: Arc<Member>,
    ) -> Result<Claim<'a>, Rejection> {
        crate::takeover::claim(&services.hub, &member).await;
        let mut claim = Claim {
            services,
            member: Some(member),
            in_redis: false,
        };
        claim.in_cluster().await?;
        Ok(claim)
    }

    /// spec: CLUSTER-1, HANDSHAKE-5, SEC-8 — the name, claimed locally, is
    /// claimed in the cluster too (by its `user_key`, so look-alikes too).
    async fn in_cluster(&mut self) -> Result<(), Rejection> {
        let (Some(cluster), Some(member)) = (&self.services.cluster, &self.member) else {
            return Ok(());
        };
        self.in_redis = true;
        let claimed = names::claim(cluster, &member.moderation.key, member.conn_id)
            .await
            .map_err(cluster_unavailable)?;
        if !claimed {
            // Another node's: nothing of ours to free there.
            self.in_redis = false;
            return Err(taken(&member.name));
        }
        Ok(())
    }

    pub(super) fn keep(mut self) -> Arc<Member> {
        self.member
            .take()
            .expect("a claim holds its member until kept")
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        match &self.member {
            Some(member) if self.in_redis => super::release_name(self.services, member),
            Some(member) => self.services.hub.release_name(member),
            None => {}
        }
    }
}

pub(super) fn taken(name: &str) -> Rejection {
    (ErrorCode::NAME_TAKEN, format!("the name {name:?} is taken"))
}

/// spec: CLUSTER-3 — LOGIN answers an unreachable Redis as its own refusal.
pub(super) fn cluster_unavailable(e: ClusterError) -> Rejection {
    warn!("login refused: {e}");
    (
        ErrorCode::CLUSTER_UNAVAILABLE,
        "the cluster's shared store is unreachable; try again soon".to_string(),
    )
}

/// An account lookup's failure as LOGIN answers it.
pub(super) fn account_failed(e: AccountsError) -> Rejection {
    match e {
        AccountsError::Cluster(e) => cluster_unavailable(e),
        AccountsError::None => (ErrorCode::ACCOUNTS_UNAVAILABLE, "no accounts".into()),
        AccountsError::Store(e) => unavailable(e),
    }
}

/// The first message id of a direct-message history starting now
/// (`[HISTORY-2]`): the cluster's next id in cluster mode.
pub(super) async fn history_floor(services: &Services) -> Result<u64, Rejection> {
    match &services.cluster {
        Some(cluster) => shared_accounts::next_message_id(cluster)
            .await
            .map_err(cluster_unavailable),
        None => Ok(services.hub.peek_message_id()),
    }
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> Rejection {
    error!("account store: {e}");
    (
        ErrorCode::AUTH_FAILED,
        "accounts are unavailable right now".to_string(),
    )
}
