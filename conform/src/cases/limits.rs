//! Section 16, limits not advertised: `[LIMIT-1]`.

use std::sync::Arc;

use confab_protocol::{ErrorCode, Frame};

use crate::case::Case;
use crate::conn::{describe, Conn, Got};
use crate::ctx::Ctx;
use crate::verdict::{ensure, ensure_eq, fail, Check, Stop};

/// Connections the case opens at most while looking for the server's limit.
const MOST: usize = 300;

pub fn cases() -> Vec<Case> {
    vec![crate::case!("limits.refusal-is-an-error", ["LIMIT-1"],
        "a connection over the server's limits gets a fatal SERVER_FULL or TOO_MANY_CONNECTIONS, never a silent close",
        refusal_is_an_error, exclusive)]
}

async fn refusal_is_an_error(ctx: Arc<Ctx>) -> Check {
    let mut open = Vec::new();
    for _ in 0..MOST {
        let mut conn = Conn::open(&ctx).await?;
        match conn.next().await {
            Got::Frame(Frame::Greeting(_)) => open.push(conn),
            Got::Frame(Frame::ErrorFrame(e)) => {
                ensure(
                    "LIMIT-1",
                    [ErrorCode::SERVER_FULL, ErrorCode::TOO_MANY_CONNECTIONS].contains(&e.code),
                    "ERROR SERVER_FULL or TOO_MANY_CONNECTIONS",
                    crate::conn::describe_error(&e),
                )?;
                crate::conn::check_fatal_flag(&e)?;
                ensure_eq("LIMIT-1", "ERROR frame_type", 0, e.frame_type)?;
                return conn.expect_closed("STATE-4").await;
            }
            Got::Frame(other) => {
                return Err(fail(
                    "HANDSHAKE-1",
                    "GREETING or a refusal",
                    describe(&other),
                ))
            }
            other => {
                return Err(crate::conn::fail_got(
                    "LIMIT-1",
                    "GREETING or ERROR SERVER_FULL / TOO_MANY_CONNECTIONS",
                    other,
                ))
            }
        }
    }
    Err(Stop::Skip(format!(
        "needs a connection limit below {MOST} (confab-server: --max-per-ip)"
    )))
}
