//! The server's services, handed to every request handler by reference:
//! the room registry, the message log, the limits and the settings the
//! handlers read. A cluster backend or moderation plugs in here, beside
//! them, without the handlers reaching into a connection-wide state bag.

use std::sync::Arc;

use confab_protocol::Limits;

use crate::closing::Closing;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::connection::outbox::GlobalQueue;
use crate::hub::Hub;
use crate::log::Log;
use crate::metrics::Metrics;
use crate::moderation::Moderation;
use crate::store::Store;

#[derive(Debug)]
pub(crate) struct Services {
    pub config: Config,
    pub limits: Limits,
    /// The users online and the rooms in memory.
    pub hub: Hub,
    /// Where messages go before delivery, and where HISTORY reads them.
    pub log: Log,
    /// The default room's name, normalised; never let go (`[LIMIT-5]`).
    pub default_room: String,
    /// Set once the server starts shutting down; every connection waits on it.
    pub closing: Closing,
    /// Bytes queued for all clients, against `--queue-bytes-total` (`[MEM-2]`).
    pub queued: Arc<GlobalQueue>,
    /// Roles, room settings, bans and the audit log (spec section 21).
    pub moderation: Arc<Moderation>,
    /// What the operator sees at `/metrics` (`--metrics-listen`).
    pub metrics: Arc<Metrics>,
    /// Where moderation is kept (`[MOD-19]`); `None` with `--in-memory`
    /// and in a cluster.
    pub store: Option<Store>,
    /// The node's cluster (`--cluster`, spec section 22); `None` alone.
    pub cluster: Option<Cluster>,
}

impl Services {
    /// Services over the in-memory log, for handler tests: no store, no socket.
    #[cfg(test)]
    pub fn in_memory(config: Config) -> Services {
        let limits = config.limits();
        let history_max = usize::from(limits.history_max);
        Services {
            hub: Hub::new(history_max),
            log: Log::Memory(crate::log::MemoryLog::new(history_max)),
            default_room: config.default_room.clone(),
            closing: Closing::default(),
            queued: GlobalQueue::new(usize::MAX, 1_000, 1 << 20),
            moderation: Arc::new(Moderation::new(&config.operators, config.clock.clone())),
            store: None,
            cluster: None,
            metrics: Arc::new(Metrics::new(Default::default(), None)),
            limits,
            config,
        }
    }
}
