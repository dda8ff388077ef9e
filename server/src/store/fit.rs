//! `[LIMIT-9]` for stored messages: a server restarted with smaller limits
//! must still be able to replay every message it keeps within `max_frame`.

use confab_protocol::fit::{DIRECT_MESSAGE_OVERHEAD, MESSAGE_OVERHEAD};

use super::{Store, StoreError};
use crate::sync::lock;

impl Store {
    /// The largest MESSAGE or DIRECT_MESSAGE body a stored message needs.
    /// A full scan, done once at start-up.
    pub(crate) fn largest_stored_frame(&self) -> Result<u64, StoreError> {
        let conn = lock(&self.aux);
        let largest = |sql: &str| -> Result<u64, StoreError> {
            conn.query_row(sql, [], |row| row.get::<_, Option<i64>>(0))
                .map(|n| n.unwrap_or(0).max(0) as u64)
                .map_err(|source| StoreError::Read {
                    path: self.path.clone(),
                    source,
                })
        };
        let rooms = largest(&format!(
            "SELECT MAX({MESSAGE_OVERHEAD} + LENGTH(CAST(room AS BLOB))
                 + LENGTH(CAST(sender AS BLOB)) + LENGTH(CAST(body AS BLOB))) FROM messages"
        ))?;
        let direct = largest(&format!(
            "SELECT MAX({DIRECT_MESSAGE_OVERHEAD} + LENGTH(CAST(sender AS BLOB))
                 + LENGTH(CAST(recipient AS BLOB)) + LENGTH(CAST(body AS BLOB)))
             FROM direct_messages"
        ))?;
        Ok(rooms.max(direct))
    }
}
