//! Password hashing on a small, fixed pool of threads (`[LIMIT-3]`).
//!
//! One argon2id hash or check costs about 19 MiB and tens of milliseconds of
//! CPU. Run on a thread per request, a login storm costs a thread and 19 MiB
//! per pending login, and the allocator keeps much of it afterwards. Here a
//! few workers take jobs from a bounded queue: at most `workers` hashes run
//! at once (so at most `workers` × 19 MiB), a full queue is answered at once
//! with `TRY_AGAIN_LATER` rather than memory, one address holds at most
//! `PER_ADDRESS` places, and registrations are rate-limited per address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tracing::{debug, error};

use crate::store::accounts;
use crate::sync::lock;

/// Jobs (queued or running) one address may have at once: a guesser with
/// many connections takes no more of the pool than one honest user.
pub const PER_ADDRESS: u32 = 2;

/// Addresses remembered by the registration limit; past it, addresses whose
/// bucket is full again are forgotten (they are as good as new).
const REMEMBERED: usize = 65_536;

/// Why a password could not be checked or hashed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HashError {
    #[error("the server is busy checking passwords; try again later")]
    Busy,
    #[error("too many registrations from your address; try again later")]
    TooManyRegistrations,
    #[error("password hashing failed: {0}")]
    Failed(#[from] accounts::PasswordError),
    /// The pool's threads ended (the server is stopping, or one panicked).
    #[error("password hashing failed: the hashing threads are gone")]
    Gone,
}

enum Work {
    Hash { password: String },
    Verify { password: String, stored: String },
}

/// What a job yields: a new PHC string, or whether a password matched.
enum Done {
    Hashed(String),
    Verified(bool),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Done, accounts::PasswordError>>,
    /// Frees the address's place when the job is done (or dropped unrun).
    _place: Place,
}

/// One of an address's `PER_ADDRESS` places in the pool.
struct Place {
    in_flight: Arc<Mutex<HashMap<IpAddr, u32>>>,
    ip: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut in_flight = lock(&self.in_flight);
        if let Some(count) = in_flight.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                in_flight.remove(&self.ip);
            }
        }
    }
}

/// Registration token bucket of one address.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    pub workers: usize,
    pub queue: usize,
    /// Registrations one address may make at once…
    pub register_burst: u32,
    /// …and one more each this often.
    pub register_interval: Duration,
}

pub struct HashPool {
    jobs: SyncSender<Job>,
    in_flight: Arc<Mutex<HashMap<IpAddr, u32>>>,
    registrations: Mutex<HashMap<IpAddr, Bucket>>,
    config: PoolConfig,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("config", &self.config)
            .finish()
    }
}

impl HashPool {
    /// Starts `config.workers` threads; they end when the pool is dropped.
    pub fn start(config: PoolConfig) -> std::io::Result<HashPool> {
        let (jobs, queue) = sync_channel::<Job>(config.queue);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..config.workers.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("confab-hash-{n}"))
                .spawn(move || work(&queue))?;
        }
        Ok(HashPool {
            jobs,
            in_flight: Arc::new(Mutex::new(HashMap::new())),
            registrations: Mutex::new(HashMap::new()),
            config,
        })
    }

    /// Whether `password` matches the stored PHC string.
    pub async fn verify(
        &self,
        ip: IpAddr,
        password: String,
        stored: String,
    ) -> Result<bool, HashError> {
        match self.run(ip, Work::Verify { password, stored }).await? {
            Done::Verified(matched) => Ok(matched),
            Done::Hashed(_) => unreachable!("a check is answered with a verdict"),
        }
    }

    /// A new PHC string for a registration from `ip`, within its rate.
    pub async fn hash_new(&self, ip: IpAddr, password: String) -> Result<String, HashError> {
        if !self.take_registration(ip) {
            return Err(HashError::TooManyRegistrations);
        }
        match self.run(ip, Work::Hash { password }).await? {
            Done::Hashed(hash) => Ok(hash),
            Done::Verified(_) => unreachable!("a hash job is answered with a hash"),
        }
    }

    async fn run(&self, ip: IpAddr, work: Work) -> Result<Done, HashError> {
        let place = {
            let mut in_flight = lock(&self.in_flight);
            let count = in_flight.entry(ip).or_insert(0);
            if *count >= PER_ADDRESS {
                return Err(HashError::Busy);
            }
            *count += 1;
            Place {
                in_flight: Arc::clone(&self.in_flight),
                ip,
            }
        };
        let (reply, answer) = oneshot::channel();
        let job = Job {
            work,
            reply,
            _place: place,
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                debug!(%ip, "password hashing queue full");
                return Err(HashError::Busy);
            }
            Err(TrySendError::Disconnected(_)) => return Err(HashError::Gone),
        }
        answer
            .await
            .map_err(|_| HashError::Gone)?
            .map_err(HashError::Failed)
    }

    /// Takes one registration token of `ip`'s bucket, if it has one.
    fn take_registration(&self, ip: IpAddr) -> bool {
        let PoolConfig {
            register_burst,
            register_interval,
            ..
        } = self.config;
        let burst = f64::from(register_burst);
        let refill = |bucket: &Bucket, now: Instant| {
            let earned = now.duration_since(bucket.at).as_secs_f64()
                / register_interval.as_secs_f64().max(f64::MIN_POSITIVE);
            (bucket.tokens + earned).min(burst)
        };
        let now = Instant::now();
        let mut buckets = lock(&self.registrations);
        if buckets.len() >= REMEMBERED && !buckets.contains_key(&ip) {
            buckets.retain(|_, bucket| refill(bucket, now) < burst);
            if buckets.len() >= REMEMBERED {
                // Bounded: forgetting offenders beats growing without end.
                buckets.clear();
            }
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        bucket.tokens = refill(bucket, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A worker: takes jobs until the pool is dropped.
fn work(queue: &Mutex<Receiver<Job>>) {
    // Allocated at the first job, not at start: a server whose accounts are
    // never used keeps no hashing memory.
    let mut scratch: Option<accounts::Scratch> = None;
    loop {
        // The lock is held only while waiting for the next job.
        let Ok(job) = lock(queue).recv() else {
            return;
        };
        let scratch = scratch.get_or_insert_with(accounts::Scratch::new);
        let done = match job.work {
            Work::Hash { password } => accounts::hash_with(scratch, &password).map(Done::Hashed),
            Work::Verify { password, stored } => {
                accounts::verify_with(scratch, &stored, &password).map(Done::Verified)
            }
        };
        if let Err(e) = &done {
            error!("password hashing: {e}");
        }
        // The connection may have gone meanwhile: nobody to tell.
        let _ = job.reply.send(done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(workers: usize, queue: usize, burst: u32) -> HashPool {
        HashPool::start(PoolConfig {
            workers,
            queue,
            register_burst: burst,
            register_interval: Duration::from_secs(3600),
        })
        .unwrap()
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

    #[tokio::test]
    async fn hashes_verify_and_registrations_are_rate_limited() {
        let pool = pool(1, 4, 2);
        let hash = pool.hash_new(A, "pw".into()).await.unwrap();
        assert_eq!(pool.verify(A, "pw".into(), hash.clone()).await, Ok(true));
        assert_eq!(pool.verify(A, "no".into(), hash).await, Ok(false));
        pool.hash_new(A, "pw".into()).await.unwrap();
        assert_eq!(
            pool.hash_new(A, "pw".into()).await,
            Err(HashError::TooManyRegistrations)
        );
        // Another address has its own bucket.
        let b = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 3));
        assert!(pool.hash_new(b, "pw".into()).await.is_ok());
    }

    #[tokio::test]
    async fn one_address_holds_at_most_its_places() {
        let pool = pool(1, 16, 100);
        let stored = accounts::hash("pw").unwrap();
        let checks: Vec<_> = (0..PER_ADDRESS + 1)
            .map(|_| pool.verify(A, "pw".into(), stored.clone()))
            .collect();
        let results = futures_util::future::join_all(checks).await;
        let busy = results
            .iter()
            .filter(|r| **r == Err(HashError::Busy))
            .count();
        assert_eq!(busy, 1, "{results:?}");
        // The places are free again once the checks are done.
        assert_eq!(pool.verify(A, "pw".into(), stored).await, Ok(true));
    }

    #[tokio::test]
    async fn a_full_queue_is_busy_not_memory() {
        let pool = pool(1, 1, 100);
        let stored = accounts::hash("pw").unwrap();
        let from = |n: u8| IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 1, n));
        // One running, one queued, the rest refused at once.
        let checks: Vec<_> = (1..=6)
            .map(|n| pool.verify(from(n), "pw".into(), stored.clone()))
            .collect();
        let results = futures_util::future::join_all(checks).await;
        let busy = results
            .iter()
            .filter(|r| **r == Err(HashError::Busy))
            .count();
        assert!(busy >= 3, "{results:?}");
    }
}
