//! What every connection task shares, in three parts each used by its own
//! path: the [`Services`] request handlers work with, the [`Accounts`]
//! login checks, and the admission [`Gate`] the accept path counts
//! connections at. Built once from the configuration, checked here.

use std::path::PathBuf;
use std::sync::Arc;

use confab_protocol::frame::{Frame, Greeting, LimitEntry, ServerLimits};
use confab_protocol::names::{normalize_name, NameError};
use confab_protocol::{LengthError, Str16, Str8, PROTOCOL_VERSION};

use crate::account_book::Accounts;
use crate::admission::Gate;
use crate::cluster::Cluster;
use crate::config::{Config, FramesDoNotFit};
use crate::hashing::HashPool;
use crate::hub::Hub;
use crate::log::{Log, MemoryLog};
use crate::moderation::Moderation;
use crate::services::Services;
use crate::store::{Store, StoreError};

#[derive(Debug)]
pub(crate) struct Shared {
    pub services: Services,
    pub accounts: Accounts,
    pub gate: Arc<Gate>,
}

/// Why the configuration cannot be served: the setting at fault and why,
/// or the store's own error (which names its file and the OS error).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The protocol crate's limit checks word their own message.
    #[error("{0}")]
    Limits(String),
    #[error(transparent)]
    FramesDoNotFit(#[from] FramesDoNotFit),
    #[error("--require-account needs accounts, which --in-memory turns off")]
    AccountsOff,
    #[error("--retention-per-room {retention} is below --history-max {history_max}")]
    RetentionBelowHistory { retention: u64, history_max: u16 },
    #[error("--queue-bytes {queue_bytes} is below twice a frame of --max-frame {max_frame}")]
    QueueBelowFrames { queue_bytes: u32, max_frame: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "--max-frame {max_frame} is too small for the messages stored in {}: replaying \
         the largest needs a {needed}-byte frame (spec LIMIT-9); raise --max-frame to at \
         least {needed}",
        path.display()
    )]
    StoredFrameTooLarge {
        max_frame: u32,
        needed: u64,
        path: PathBuf,
    },
    #[error("cannot start a password hashing thread: {0}")]
    HashThreads(#[source] std::io::Error),
    #[error("--default-room {name:?}: {source}")]
    DefaultRoom { name: String, source: NameError },
    #[error("LIMITS: {0}")]
    LimitsFrame(#[from] LengthError),
}

impl Shared {
    /// `cluster`: the node's cluster (`--cluster`), already connected.
    pub fn new(config: Config, cluster: Option<Cluster>) -> Result<Self, SetupError> {
        let limits = config.limits();
        limits.validate().map_err(SetupError::Limits)?;
        config.check_frames_fit()?;
        if config.in_memory && config.require_account {
            return Err(SetupError::AccountsOff);
        }
        if config.retention_per_room > 0
            && config.retention_per_room < u64::from(limits.history_max)
        {
            // spec: HISTORY-4 — a server keeps at least history_max messages per room.
            return Err(SetupError::RetentionBelowHistory {
                retention: config.retention_per_room,
                history_max: limits.history_max,
            });
        }
        if u64::from(config.queue_bytes) < 2 * (u64::from(limits.max_frame) + 5) {
            // spec: MEM-2 — a long answer's page must fit past half the budget.
            return Err(SetupError::QueueBelowFrames {
                queue_bytes: config.queue_bytes,
                max_frame: limits.max_frame,
            });
        }
        let history_max = usize::from(limits.history_max);
        let hub = Hub::new(history_max);
        let moderation = Moderation::new(&config.operators, config.clock.clone());
        hub.set_idle_history_budget(config.idle_history_bytes);
        // A cluster keeps messages and accounts in its Redis, not on this node.
        let (store, names) = if config.in_memory || cluster.is_some() {
            (None, Vec::new())
        } else {
            let (store, loaded) = Store::open(&config.data_dir, history_max, config.sync)?;
            // spec: LIMIT-9 — stored messages are replayed too.
            let needed = store.largest_stored_frame()?;
            if needed > u64::from(limits.max_frame) {
                return Err(SetupError::StoredFrameTooLarge {
                    max_frame: limits.max_frame,
                    needed,
                    path: store.path.clone(),
                });
            }
            let names = loaded.account_keys.clone();
            hub.restore(loaded, &config.default_room);
            // spec: MOD-19 — roles, settings and bans survive restarts.
            moderation.restore(store.load_moderation(crate::moderation::AUDIT_KEEP)?);
            (Some(store), names)
        };
        let log = match (&store, &cluster) {
            (_, Some(cluster)) => Log::Cluster(crate::cluster::RedisLog::start(
                cluster.clone(),
                std::time::Duration::from_secs(config.retention_interval_s.max(1)),
            )),
            (Some(store), None) => Log::Sqlite(store.log()),
            (None, None) => Log::Memory(MemoryLog::new(history_max)),
        };
        let has_accounts = store.is_some() || cluster.is_some();
        let passwords = match has_accounts {
            true => Some(HashPool::start(config.hash_pool()).map_err(SetupError::HashThreads)?),
            false => None,
        };
        let default_room = normalize_name(&config.default_room, usize::from(limits.max_room_name))
            .map_err(|source| SetupError::DefaultRoom {
                name: config.default_room.clone(),
                source,
            })?;
        let metrics = crate::metrics::Metrics::new(
            hub.deliveries.clone(),
            store.as_ref().map(|s| s.metrics.clone()),
        );
        let gate = Gate::new(
            &config,
            greeting(
                &config,
                has_accounts,
                &default_room,
                cluster.as_ref().map(Cluster::node_name),
            ),
            limits_frame(&config, has_accounts)?,
        );
        let accounts = Accounts::new(
            store.clone(),
            passwords,
            config.require_account,
            &names,
            &config.reserved_names,
        )
        .with_cluster(cluster.clone());
        Ok(Shared {
            services: Services {
                hub,
                log,
                default_room,
                closing: crate::closing::Closing::default(),
                moderation: Arc::new(moderation),
                metrics: Arc::new(metrics),
                store,
                cluster,
                queued: crate::connection::outbox::GlobalQueue::new(
                    usize::try_from(config.queue_bytes_total).unwrap_or(usize::MAX),
                    limits.queue_depth as usize,
                    config.queue_bytes as usize,
                ),
                limits,
                config,
            },
            accounts,
            gate: Arc::new(gate),
        })
    }
}

/// The GREETING every connection starts with (`[HANDSHAKE-1]`).
/// `node`: the cluster node's name, which the server field then ends with
/// (`[CLUSTER-2]`).
fn greeting(config: &Config, stored: bool, default_room: &str, node: Option<&str>) -> bytes::Bytes {
    // spec: ACTION-1 — actions are relayed by every reference server.
    // spec: MOD-1 — this server implements moderation.
    let mut flags = Greeting::ACTIONS | Greeting::MODERATION;
    if stored {
        flags |= Greeting::ACCOUNTS | Greeting::PERSISTENT;
    }
    if config.require_account {
        flags |= Greeting::ACCOUNT_REQUIRED;
    }
    Frame::Greeting(Greeting {
        min_version: PROTOCOL_VERSION,
        max_version: PROTOCOL_VERSION,
        flags,
        server: Str8::truncated(&server_field(node)),
        limits: config.limits(),
        default_room: Str8::truncated(default_room),
        prompt: Str16::truncated("Welcome to Confab. Please send your username."),
    })
    .to_bytes()
}

/// GREETING's server field: the software, and the node in a cluster.
fn server_field(node: Option<&str>) -> String {
    let software = concat!("confab-server/", env!("CARGO_PKG_VERSION"));
    match node {
        Some(node) => format!("{software} node {node}"),
        None => software.to_string(),
    }
}

/// spec: LIMITS-1, LIMITS-2 — the limits added since 1.0, in their own frame.
fn limits_frame(config: &Config, stored: bool) -> Result<bytes::Bytes, LengthError> {
    let mut advertised = vec![LimitEntry {
        id: ServerLimits::QUEUE_BYTES,
        value: u64::from(config.queue_bytes),
    }];
    if stored {
        // spec: AUTH-3 — advertised by servers with accounts only.
        advertised.push(LimitEntry {
            id: ServerLimits::MIN_PASSWORD,
            value: u64::from(config.min_password_length),
        });
    }
    let limits = ServerLimits::new(advertised)?;
    Ok(Frame::ServerLimits(limits).to_bytes())
}
