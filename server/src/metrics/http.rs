//! The operator's HTTP endpoint (`--metrics-listen`): `GET /metrics`,
//! `/healthz` and `/readyz`. A deliberately small HTTP/1.1 responder, not
//! a web framework: one request per connection, a bounded request head, a
//! read deadline, and few connections at once. Whatever a client does here
//! costs the chat path nothing but a share of the runtime, bounded by
//! those limits; it never takes a lock the chat path holds long.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::Sample;
use crate::shared::Shared;

/// Largest request head (request line and headers) read.
pub const MAX_REQUEST: usize = 8 * 1024;
/// How long a client has to send its request head, and to take the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests served at once; connections past it are closed unanswered.
const MAX_CONCURRENT: usize = 32;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Whether the server is ready: set once its store is open and its
/// listener bound (`/readyz`), holding what `/metrics` reads.
#[derive(Debug, Default)]
pub struct Readiness {
    shared: OnceLock<Arc<Shared>>,
}

impl Readiness {
    pub fn set_ready(&self, shared: Arc<Shared>) {
        let _ = self.shared.set(shared);
    }

    fn shared(&self) -> Option<&Arc<Shared>> {
        self.shared.get()
    }
}

/// Serves `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, readiness: Arc<Readiness>, shutdown: CancellationToken) {
    let permits = Arc::new(Semaphore::new(MAX_CONCURRENT));
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, peer)) = accepted else {
            // Out of descriptors, say: the chat listener matters more.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            debug!(%peer, "metrics: too many requests at once; closing");
            continue;
        };
        let readiness = Arc::clone(&readiness);
        tokio::spawn(async move {
            answer(stream, &readiness).await;
            drop(permit);
        });
    }
}

/// Reads one request and answers it, within `IO_TIMEOUT` each.
async fn answer(mut stream: TcpStream, readiness: &Readiness) {
    let response = match tokio::time::timeout(IO_TIMEOUT, read_head(&mut stream)).await {
        Err(_) => return,
        Ok(Err(HeadError::Io)) => return,
        Ok(Err(HeadError::TooLarge)) => Response::text(
            431,
            "Request Header Fields Too Large",
            "request too large\n",
        ),
        Ok(Ok(head)) => route(&head, readiness),
    };
    let _ = tokio::time::timeout(IO_TIMEOUT, async {
        stream.write_all(&response.to_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

enum HeadError {
    Io,
    TooLarge,
}

/// The request head, up to the blank line; at most `MAX_REQUEST` bytes.
async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, HeadError> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Io);
        }
        let searched_from = head.len().saturating_sub(3);
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_blank_line(&head[searched_from..]) {
            head.truncate(searched_from + end);
            return Ok(head);
        }
        if head.len() > MAX_REQUEST {
            return Err(HeadError::TooLarge);
        }
    }
}

fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

/// The answer to a request head.
fn route(head: &[u8], readiness: &Readiness) -> Response {
    let Some(line) = head.split(|&b| b == b'\r').next() else {
        return Response::text(400, "Bad Request", "bad request\n");
    };
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Response::text(400, "Bad Request", "bad request\n");
    };
    if !version.starts_with(b"HTTP/1.") {
        return Response::text(400, "Bad Request", "bad request\n");
    }
    if method != b"GET" {
        let mut response = Response::text(405, "Method Not Allowed", "only GET\n");
        response.allow_get = true;
        return response;
    }
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    match (path, readiness.shared()) {
        (b"/healthz", _) => Response::text(200, "OK", "ok\n"),
        (b"/readyz", Some(_)) => Response::text(200, "OK", "ready\n"),
        (b"/readyz" | b"/metrics", None) => {
            Response::text(503, "Service Unavailable", "not ready\n")
        }
        (b"/metrics", Some(shared)) => {
            let openmetrics = shared.services.metrics.encode(sample(shared));
            // Prometheus asks for OpenMetrics; others get the classic format.
            let (content_type, body) = if accepts_openmetrics(head) {
                (OPENMETRICS, openmetrics)
            } else {
                (
                    super::classic::CONTENT_TYPE,
                    super::classic::from_openmetrics(&openmetrics),
                )
            };
            Response {
                status: 200,
                reason: "OK",
                content_type,
                body,
                allow_get: false,
            }
        }
        _ => Response::text(404, "Not Found", "not found\n"),
    }
}

/// Whether the request's Accept header names OpenMetrics.
fn accepts_openmetrics(head: &[u8]) -> bool {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    head.split("\r\n")
        .filter_map(|line| line.strip_prefix("accept:"))
        .any(|value| value.contains("application/openmetrics-text"))
}

/// The levels `/metrics` reports, from the server's own counts.
fn sample(shared: &Shared) -> Sample {
    let active = shared.gate.active_connections();
    let logging_in = shared.gate.logging_in().min(active);
    Sample {
        logging_in,
        logged_in: active - logging_in,
        queued_bytes: shared.services.queued.total(),
    }
}

struct Response {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    body: String,
    allow_get: bool,
}

impl Response {
    fn text(status: u16, reason: &'static str, body: &str) -> Response {
        Response {
            status,
            reason,
            content_type: TEXT,
            body: body.to_string(),
            allow_get: false,
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let allow = if self.allow_get { "Allow: GET\r\n" } else { "" };
        let mut bytes = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{allow}\
             Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            self.status,
            self.reason,
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}
