//! How moderation's state changes: one change at a time, stored (when
//! there is a store) before it takes effect (`[MOD-15]`), and the audit log
//! it leaves (`[MOD-16]`, `[MOD-21]`).

use confab_protocol::frame::ModerationEvent;
use confab_protocol::names::name_key;
use confab_protocol::{ErrorCode, Str16, Str8};

use super::{store_rows, Draft, Moderation, Refused, RoomMod, Scope, AUDIT_KEEP};
use crate::store::Store;

impl Moderation {
    /// Applies one change to a scope: `change` edits a copy (refusing with
    /// `INVALID_TARGET` and the like), the result and its audit entry are
    /// stored, then take effect (`[MOD-15]`: a store failure changes
    /// nothing). Returns what `change` returned and the announced event.
    pub async fn apply<T>(
        &self,
        store: Option<&Store>,
        scope: &Scope,
        draft: Option<Draft>,
        change: impl FnOnce(&mut RoomMod, u64) -> Result<T, Refused>,
    ) -> Result<(T, Option<ModerationEvent>), Refused> {
        let _one_at_a_time = self.writing.lock().await;
        let now = self.now();
        let (mut copy, id) = {
            let state = self.read();
            let current = match scope {
                Scope::Server => Some(&state.server),
                Scope::Room { key, .. } => state.rooms.get(key),
            };
            let copy = current
                .cloned()
                .unwrap_or_else(|| RoomMod::new(scope.name()));
            (copy, state.next_id)
        };
        copy.purge(now);
        let out = change(&mut copy, now)?;
        let event = draft.map(|d| event(id, now, scope.name(), d));
        if let Some(store) = store {
            let rows = store_rows::change(scope.key(), &copy, event.as_ref(), id);
            store.save_moderation(rows).await.map_err(|e| {
                tracing::error!("cannot store a moderation change: {e}");
                (
                    ErrorCode::STORAGE_FAILURE,
                    "the moderation log is unavailable; nothing was changed".to_string(),
                )
            })?;
        }
        let mut state = self.write();
        match scope {
            Scope::Server => state.server = copy,
            Scope::Room { key, .. } if copy.is_empty() => {
                state.rooms.remove(key);
            }
            Scope::Room { key, .. } => {
                state.rooms.insert(key.clone(), copy);
            }
        }
        if let Some(event) = &event {
            state.next_id = id + 1;
            state.audit.push_back(event.clone());
            // spec: MOD-21 — the newest AUDIT_KEEP entries are kept.
            while state.audit.len() > AUDIT_KEEP {
                state.audit.pop_front();
            }
        }
        Ok((out, event))
    }

    /// Changes a scope in memory at once, for what a JOIN settles (a
    /// founder, an invitation used, `[MOD-3]`, `[MOD-8]`): no audit entry.
    /// [`Moderation::persist`] stores it after.
    pub fn update_now(&self, scope: &Scope, change: impl FnOnce(&mut RoomMod)) {
        let mut state = self.write();
        let target = match scope {
            Scope::Server => &mut state.server,
            Scope::Room { key, name } => state
                .rooms
                .entry(key.clone())
                .or_insert_with(|| RoomMod::new(name)),
        };
        change(target);
    }

    /// `[MOD-14]`: drops every expired ban, mute and invitation from
    /// memory (silently: no event, no audit entry); the scopes changed,
    /// for [`Moderation::persist`].
    pub fn purge_expired(&self) -> Vec<Scope> {
        let now = self.now();
        let mut state = self.write();
        let mut changed = Vec::new();
        if state.server.purge(now) {
            changed.push(Scope::Server);
        }
        for (key, room) in state.rooms.iter_mut() {
            if room.purge(now) {
                changed.push(Scope::Room {
                    key: key.clone(),
                    name: room.name.clone(),
                });
            }
        }
        state.rooms.retain(|_, room| !room.is_empty());
        changed
    }

    /// Stores a scope as it now stands (after `update_now`).
    pub async fn persist(&self, store: &Store, scope: &Scope) {
        let _one_at_a_time = self.writing.lock().await;
        let current = {
            let state = self.read();
            match scope {
                Scope::Server => Some(state.server.clone()),
                Scope::Room { key, .. } => state.rooms.get(key).cloned(),
            }
        };
        let current = current.unwrap_or_else(|| RoomMod::new(scope.name()));
        let rows = store_rows::change(scope.key(), &current, None, 0);
        if let Err(e) = store.save_moderation(rows).await {
            tracing::error!("cannot store the moderation of {:?}: {e}", scope.name());
        }
    }

    /// `[MOD-16]`: the latest `limit` entries below `before` (0: from the
    /// newest) of the room `room_key` (`None`: all), ascending; and whether
    /// older ones exist.
    pub fn audit(
        &self,
        room_key: Option<&str>,
        before: u64,
        limit: usize,
    ) -> (Vec<ModerationEvent>, bool) {
        let state = self.read();
        let mut page: Vec<ModerationEvent> = Vec::new();
        let mut older = false;
        for event in state.audit.iter().rev() {
            if before != 0 && event.id >= before {
                continue;
            }
            if room_key.is_some_and(|k| event.room.is_empty() || name_key(&event.room) != k) {
                continue;
            }
            if page.len() == limit {
                older = true;
                break;
            }
            page.push(event.clone());
        }
        page.reverse();
        (page, older)
    }
}

/// The event of an accepted action (`[MOD-12]`).
fn event(id: u64, now: u64, room: &str, d: Draft) -> ModerationEvent {
    let expires = if d.action.takes_duration() && d.duration_ms > 0 {
        now.saturating_add(d.duration_ms)
    } else {
        0
    };
    ModerationEvent {
        id,
        time: now,
        action: d.action,
        room: Str8::truncated(room),
        actor: Str8::truncated(&d.actor),
        target: Str8::truncated(&d.target),
        expires,
        reason: Str16::truncated(&d.reason),
    }
}
