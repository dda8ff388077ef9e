//! What the server derives from its settings: the GREETING's limits, the
//! hashing pool's and DM queues' budgets, and the start-up check that every
//! relayed message fits `max_frame` (`[LIMIT-9]`).

use std::time::Duration;

use confab_protocol::Limits;

use super::Config;

impl Config {
    /// The limits block of the GREETING.
    pub fn limits(&self) -> Limits {
        Limits {
            max_frame: self.max_frame,
            max_username: self.max_username,
            max_room_name: self.max_room_name,
            max_body: self.max_body,
            max_rooms: self.max_rooms,
            msg_rate: self.msg_rate,
            msg_burst: self.msg_burst,
            byte_rate: self.byte_rate,
            byte_burst: self.byte_burst,
            queue_depth: self.queue_depth,
            ping_interval_ms: self.ping_interval_ms,
            ping_timeout_ms: self.ping_timeout_ms,
            handshake_timeout_ms: self.handshake_timeout_ms,
            login_attempts: self.login_attempts,
            // A join replay must fit the outbound queue with room to spare
            // (spec section 16), so a small queue lowers the advertised maximum.
            history_max: self
                .history_max
                .min(u16::try_from(self.queue_depth / 2).unwrap_or(u16::MAX))
                .min(self.replay_fits_in_bytes()),
        }
    }

    /// The most messages of a join replay that fit half of `queue_bytes`
    /// (`[MEM-2]`), each at its largest.
    fn replay_fits_in_bytes(&self) -> u16 {
        // Header, id, seq, time, flags, two length prefixes and the body's.
        let largest = 5
            + 8
            + 8
            + 8
            + 1
            + 1
            + u32::from(self.max_room_name)
            + 1
            + u32::from(self.max_username)
            + 2
            + u32::from(self.max_body);
        u16::try_from(self.queue_bytes / 2 / largest)
            .unwrap_or(u16::MAX)
            .max(1)
    }

    /// How many threads serve connections: `workers`, or one fewer than
    /// the machine's cores when it is 0.
    pub fn worker_threads(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism()
                .map_or(1, usize::from)
                .saturating_sub(1)
                .max(1),
            workers => workers,
        }
    }

    /// The password hashing pool's sizes (`[MEM-1]`).
    pub fn hash_pool(&self) -> crate::hashing::PoolConfig {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        crate::hashing::PoolConfig {
            workers: self.hash_workers.clamp(1, cores),
            queue: self.hash_queue,
            register_burst: self.register_burst,
            register_interval: Duration::from_millis(self.register_interval_ms),
        }
    }

    /// `[LIMIT-9]`: every message the server relays or replays must fit
    /// its own `max_frame`, or a client would have to treat it as fatal.
    /// Checked at start-up; the error names the flags to change.
    pub fn check_frames_fit(&self) -> Result<(), FramesDoNotFit> {
        let limits = self.limits();
        if confab_protocol::fit::frames_fit(&limits) {
            return Ok(());
        }
        let message = confab_protocol::fit::largest_message(&limits);
        let direct = confab_protocol::fit::largest_direct_message(&limits);
        let (frame, size) = if message >= direct {
            ("MESSAGE", message)
        } else {
            ("DIRECT_MESSAGE", direct)
        };
        Err(FramesDoNotFit {
            max_frame: self.max_frame,
            max_body: self.max_body,
            max_username: self.max_username,
            max_room_name: self.max_room_name,
            frame,
            size,
        })
    }

    /// `[DM-4]`: frames count as well as bytes, since the outbound queue is
    /// bounded in frames (`queue_depth`).
    pub fn dm_budget(&self) -> crate::hub::dm_queue::DmBudget {
        let depth = self.queue_depth as usize;
        crate::hub::dm_queue::DmBudget {
            per_address_bytes: self.dm_queue_per_ip,
            per_address_frames: (depth / 16).max(1),
            total_bytes: self.dm_queue_total,
            total_frames: (depth / 4).max(1),
        }
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

/// `[LIMIT-9]`: the settings let a relayed or replayed message outgrow
/// `--max-frame`; the text names the flags to change.
#[derive(Debug, thiserror::Error)]
#[error(
    "--max-frame {max_frame} is too small for --max-body {max_body}, --max-username \
     {max_username} and --max-room-name {max_room_name}: a {frame} body can be {size} \
     bytes (spec LIMIT-9); raise --max-frame to at least {size} or lower the others"
)]
pub struct FramesDoNotFit {
    pub max_frame: u32,
    pub max_body: u16,
    pub max_username: u8,
    pub max_room_name: u8,
    /// The frame that does not fit: MESSAGE or DIRECT_MESSAGE.
    pub frame: &'static str,
    /// The body size that frame can reach.
    pub size: u32,
}
