//! Accounts in the cluster's Redis (`[CLUSTER-1]`): `keys::account(user_key)`
//! is a hash with the registered spelling (`name`, `[NAMES-1]`), the
//! argon2id PHC string (`hash`, made and checked on the node's hashing
//! pool as without a cluster), when it was made (`created`, ms) and the
//! first message id of its direct-message history (`history_floor`,
//! `[HISTORY-2]`). docs/cluster.md, "Accounts". Passwords never reach here.

use std::sync::LazyLock;

use redis::Script;

use super::{keys, Cluster, ClusterError};
use crate::store::accounts::Account;

/// Makes the account `KEYS[1]` unless it exists: 1 if made. One script, so
/// two nodes registering one name at once cannot both succeed.
static REGISTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'hash', ARGV[2], 'created', ARGV[3],
  'history_floor', ARGV[4])
return 1
",
    )
});

/// An account as Redis holds it.
#[derive(Debug, Clone)]
pub struct ClusterAccount {
    /// The registered spelling.
    pub name: String,
    pub account: Account,
}

/// The account of `user_key`, if there is one.
pub async fn get(
    cluster: &Cluster,
    user_key: &str,
) -> Result<Option<ClusterAccount>, ClusterError> {
    let (name, hash, floor): (Option<String>, Option<String>, Option<u64>) = redis::cmd("HMGET")
        .arg(keys::account(user_key))
        .arg("name")
        .arg("hash")
        .arg("history_floor")
        .query_async(&mut cluster.commands())
        .await?;
    let Some(hash) = hash else {
        return Ok(None);
    };
    Ok(Some(ClusterAccount {
        name: name.unwrap_or_else(|| user_key.to_string()),
        account: Account {
            hash,
            history_floor: floor.unwrap_or(0),
        },
    }))
}

/// Whether `user_key` is a registered name.
pub async fn exists(cluster: &Cluster, user_key: &str) -> Result<bool, ClusterError> {
    Ok(redis::cmd("EXISTS")
        .arg(keys::account(user_key))
        .query_async::<i64>(&mut cluster.commands())
        .await?
        == 1)
}

/// Registers `name` with the PHC string `hash`; false when it is
/// registered already (`ACCOUNT_EXISTS`).
pub async fn insert(
    cluster: &Cluster,
    user_key: &str,
    name: &str,
    hash: &str,
    created: u64,
    history_floor: u64,
) -> Result<bool, ClusterError> {
    let made: i64 = REGISTER
        .key(keys::account(user_key))
        .arg(name)
        .arg(hash)
        .arg(created)
        .arg(history_floor)
        .invoke_async(&mut cluster.commands())
        .await?;
    Ok(made == 1)
}

/// The id the cluster's next message will get (`[MSG-3]`: the message
/// scripts INCR `keys::message_id()` for each), so a direct-message
/// history starting here holds none of the name's earlier holders'.
pub async fn next_message_id(cluster: &Cluster) -> Result<u64, ClusterError> {
    let last: Option<u64> = redis::cmd("GET")
        .arg(keys::message_id())
        .query_async(&mut cluster.commands())
        .await?;
    Ok(last.unwrap_or(0) + 1)
}
