//! The floor: a bare relay with no protocol beyond a u32 length prefix. Each
//! frame is encoded once and shared, queued on a bounded queue per client and
//! written in batches; the sender gets an empty frame as its acknowledgement.
//! Confab's figures are reported as a ratio to this, measured in the same run.
//!
//! Wire, every frame a big-endian u32 length and that many bytes:
//! - client → relay, first frame: the name of the room to join (any bytes;
//!   one name for everybody gives the single room of `fanout`);
//! - relay → client: `R` once the client is a member, so that nobody sends
//!   before everyone is in;
//! - client → relay, every later frame: relayed as is to the room's other
//!   members, and answered with an empty frame (the acknowledgement).
//!
//! The room is looked up once, at registration; relaying a frame locks only
//! that room's member list, as Confab's fan-out locks only its room.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Largest frame the relay accepts.
const MAX_FRAME: usize = 1 << 20;

/// The frame a new client gets once it is registered: payload `R`.
pub const READY: &[u8] = &[0, 0, 0, 1, b'R'];

struct Queue {
    frames: Mutex<(VecDeque<Bytes>, bool)>,
    ready: Notify,
}

impl Queue {
    /// False when the queue is full: the client is dropped, nobody waits.
    fn push(&self, frame: Bytes, depth: usize) -> bool {
        let mut guard = self.frames.lock().unwrap_or_else(|e| e.into_inner());
        let (frames, closed) = &mut *guard;
        if *closed || frames.len() >= depth {
            *closed = true;
            drop(guard);
            self.ready.notify_one();
            return false;
        }
        let was_empty = frames.is_empty();
        frames.push_back(frame);
        drop(guard);
        if was_empty {
            self.ready.notify_one();
        }
        true
    }
}

/// One room's members.
type Members = Arc<Mutex<Vec<(u64, Arc<Queue>)>>>;
/// Rooms by name; a room lives as long as the relay (a benchmark's lifetime).
type Rooms = Arc<Mutex<HashMap<Bytes, Members>>>;

pub async fn serve(listener: TcpListener, depth: usize) -> io::Result<()> {
    let rooms: Rooms = Arc::default();
    let ids = AtomicU64::new(0);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let id = ids.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(connection(stream, id, Arc::clone(&rooms), depth));
    }
}

/// Makes the client a member of room `name` and tells it so.
fn register(rooms: &Rooms, name: Bytes, id: u64, queue: &Arc<Queue>, depth: usize) -> Members {
    let members = Arc::clone(
        rooms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name)
            .or_default(),
    );
    members
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, Arc::clone(queue)));
    queue.push(Bytes::from_static(READY), depth);
    members
}

async fn connection(stream: TcpStream, id: u64, rooms: Rooms, depth: usize) {
    let queue = Arc::new(Queue {
        frames: Mutex::new((VecDeque::new(), false)),
        ready: Notify::new(),
    });
    let (mut reader, mut writer) = stream.into_split();
    let writer_queue = Arc::clone(&queue);
    let write_task = tokio::spawn(async move {
        let mut buf = BytesMut::new();
        loop {
            {
                let mut guard = writer_queue
                    .frames
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                let (frames, closed) = &mut *guard;
                if *closed {
                    return;
                }
                for frame in frames.drain(..) {
                    buf.extend_from_slice(&frame);
                }
            }
            if buf.is_empty() {
                writer_queue.ready.notified().await;
                continue;
            }
            if writer.write_all(&buf).await.is_err() {
                return;
            }
            buf.clear();
        }
    });
    let ack = Bytes::from_static(&[0, 0, 0, 0]);
    let mut buf = BytesMut::with_capacity(8192);
    let mut room: Option<Members> = None;
    'read: loop {
        match reader.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        while buf.len() >= 4 {
            let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            if len > MAX_FRAME {
                break 'read;
            }
            if buf.len() < 4 + len {
                buf.reserve(4 + len - buf.len());
                break;
            }
            let frame = buf.split_to(4 + len).freeze();
            let Some(clients) = &room else {
                room = Some(register(&rooms, frame.slice(4..), id, &queue, depth));
                continue;
            };
            let members = clients.lock().unwrap_or_else(|e| e.into_inner());
            for (other, target) in members.iter() {
                if *other != id {
                    target.push(frame.clone(), depth);
                }
            }
            drop(members);
            queue.push(ack.clone(), depth);
        }
    }
    if let Some(members) = room {
        members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(other, _)| *other != id);
    }
    queue.frames.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
    queue.ready.notify_one();
    let _ = write_task.await;
}
