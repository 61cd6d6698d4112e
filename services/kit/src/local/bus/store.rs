//! The bus's SQLite database: the archive of every event and the deliveries queue.
//!
//! The database runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives
//! the process crashing or being killed (it is in the WAL file), though the last transactions
//! before an operating-system crash or power loss may be lost. Every write is one
//! `BEGIN IMMEDIATE` transaction, so other processes reading the same file (`mediasift events
//! --follow`) never see half a publication.
//!
//! Times are Unix milliseconds. `seq` (the rowid) orders the archive; `id` is unique, which is
//! how a re-published event is recognised and ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use mediasift_schemas::RawEvent;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::BusError;
use super::config::DeliveryChaos;
use super::records::{DeadLetter, DeadLetterFilter, DeliveryRecord, DeliveryStatus, EventQuery};
use super::routes::Prepared;

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    time_ms     INTEGER NOT NULL,
    source      TEXT NOT NULL,
    detail_type TEXT NOT NULL,
    asset_id    TEXT,
    body        TEXT NOT NULL,
    archived_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_asset ON events (asset_id, seq);
CREATE TABLE IF NOT EXISTS deliveries (
    id               INTEGER PRIMARY KEY,
    event_id         TEXT NOT NULL REFERENCES events (id),
    service          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'in_flight', 'done', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    first_attempt_at INTEGER,
    last_error       TEXT,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries (status, service, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (event_id);
";

/// A delivery the dispatcher has marked in flight.
pub(crate) struct Claimed {
    pub delivery_id: i64,
    pub service: String,
    /// Attempts including the one about to be made.
    pub attempts: u32,
    pub event: Arc<RawEvent>,
}

/// What became of a delivery's attempt.
pub(crate) enum Outcome {
    /// The handler succeeded; publish what it returned.
    Done { outputs: Vec<Prepared> },
    /// Try again at `next_attempt_at`.
    Retry { error: String, next_attempt_at: i64 },
    /// Dead-letter it, publishing its `Processing Failed` event if there is one.
    Dead {
        error: String,
        failure: Option<Prepared>,
    },
    /// It was claimed but not attempted (the dispatcher stopped first): pending again, now.
    Release,
}

pub(crate) struct Completion {
    pub delivery_id: i64,
    /// Attempts made, this one included (ignored by `Release`).
    pub attempts: u32,
    pub outcome: Outcome,
}

pub(crate) struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
    chaos: DeliveryChaos,
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub(crate) fn open(path: &Path, chaos: DeliveryChaos) -> Result<Self, BusError> {
        let fail = |e| BusError::sqlite(path, e);
        let conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(fail)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(fail)?;
        // Plans here never depend on bound values; without this, SQLite re-prepares a cached
        // statement whenever a bound LIMIT changes.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(fail)?;
        conn.set_prepared_statement_cache_capacity(64);
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(fail)?;
        if found > SCHEMA_VERSION {
            return Err(BusError::NewerSchema {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        conn.execute_batch(SCHEMA).map_err(fail)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(fail)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            chaos,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Deliveries left in flight by a process that died: they become pending, due now.
    pub(crate) fn recover_in_flight(&self, now: i64) -> Result<usize, BusError> {
        self.conn()
            .execute(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?1, updated_at = ?1
                 WHERE status = 'in_flight'",
                [now],
            )
            .map_err(|e| self.fail(e))
    }

    /// Archives the events not archived yet, with a pending delivery per target, in one
    /// transaction. Returns the number of deliveries created.
    pub(crate) fn publish(&self, events: &[Prepared], now: i64) -> Result<usize, BusError> {
        self.write(|tx| insert_events(tx, events, now, self.chaos))
    }

    /// Marks up to `limit` due pending deliveries of each `(service, limit)` in flight and
    /// returns them, oldest due first. Also returns when the earliest pending delivery not yet
    /// due comes due, among the services that had room for more than was due.
    pub(crate) fn claim(
        &self,
        wants: &[(String, usize)],
        now: i64,
    ) -> Result<(Vec<Claimed>, Option<i64>), BusError> {
        let mut undecodable = Vec::new();
        let (claimed, next_due) = self.write(|tx| {
            let mut select = tx.prepare_cached(if self.chaos.shuffle {
                "SELECT d.id, d.attempts, e.id, e.body FROM deliveries d JOIN events e ON e.id = d.event_id
                 WHERE d.status = 'pending' AND d.service = ?1 AND d.next_attempt_at <= ?2
                 ORDER BY random() LIMIT ?3"
            } else {
                "SELECT d.id, d.attempts, e.id, e.body FROM deliveries d JOIN events e ON e.id = d.event_id
                 WHERE d.status = 'pending' AND d.service = ?1 AND d.next_attempt_at <= ?2
                 ORDER BY d.next_attempt_at, d.id LIMIT ?3"
            })?;
            let mut mark = tx.prepare_cached(
                "UPDATE deliveries SET status = 'in_flight', first_attempt_at = COALESCE(first_attempt_at, ?2),
                     updated_at = ?2
                 WHERE id = ?1",
            )?;
            let mut earliest = tx.prepare_cached(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND service = ?1",
            )?;
            let mut claimed = Vec::new();
            // An event claimed for several services is decoded once.
            let mut decoded: HashMap<String, Arc<RawEvent>> = HashMap::new();
            let mut next_due: Option<i64> = None;
            for (service, limit) in wants {
                let rows = select
                    .query_map(params![service, now, sql_count(*limit)], |row| {
                        Ok((row.get::<_, i64>(0)?, row.get::<_, u32>(1)?, row.get::<_, String>(2)?, row.get::<_, String>(3)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                let room_left = rows.len() < *limit;
                for (delivery_id, attempts, event_id, body) in rows {
                    let event = match decoded.get(&event_id) {
                        Some(event) => Arc::clone(event),
                        None => match serde_json::from_str::<RawEvent>(&body) {
                            Ok(event) => Arc::clone(decoded.entry(event_id).or_insert(Arc::new(event))),
                            Err(error) => {
                                undecodable.push((delivery_id, attempts, event_id, error));
                                continue;
                            }
                        },
                    };
                    mark.execute(params![delivery_id, now])?;
                    claimed.push(Claimed {
                        delivery_id,
                        service: service.clone(),
                        attempts: attempts + 1,
                        event,
                    });
                }
                if room_left && let Some(due) = earliest.query_row([service], |row| row.get::<_, Option<i64>>(0))? {
                    next_due = Some(next_due.map_or(due, |d| d.min(due)));
                }
            }
            Ok((claimed, next_due))
        })?;
        // An archived body that no longer decodes can never be delivered: dead-letter it
        // rather than offer it again and again.
        for (delivery_id, attempts, event_id, error) in undecodable {
            let error = BusError::Archive {
                path: self.path.clone(),
                id: event_id,
                source: error,
            };
            tracing::error!(delivery_id, %error, "dead-lettering an undecodable delivery");
            self.complete(
                &[Completion {
                    delivery_id,
                    attempts,
                    outcome: Outcome::Dead {
                        error: error.to_string(),
                        failure: None,
                    },
                }],
                now,
            )?;
        }
        Ok((claimed, next_due))
    }

    /// Records what became of attempts, and publishes their events, in one transaction.
    pub(crate) fn complete(&self, completions: &[Completion], now: i64) -> Result<(), BusError> {
        self.write(|tx| {
            let mut done = tx.prepare_cached(
                "UPDATE deliveries SET status = 'done', attempts = ?2, updated_at = ?3 WHERE id = ?1",
            )?;
            let mut retry = tx.prepare_cached(
                "UPDATE deliveries SET status = 'pending', attempts = ?2, next_attempt_at = ?3, last_error = ?4,
                     updated_at = ?5
                 WHERE id = ?1",
            )?;
            let mut dead = tx.prepare_cached(
                "UPDATE deliveries SET status = 'dead', attempts = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
            )?;
            let mut release = tx.prepare_cached(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1",
            )?;
            for completion in completions {
                let (id, attempts) = (completion.delivery_id, completion.attempts);
                match &completion.outcome {
                    Outcome::Done { outputs } => {
                        insert_events(tx, outputs, now, self.chaos)?;
                        done.execute(params![id, attempts, now])?;
                    }
                    Outcome::Retry { error, next_attempt_at } => {
                        retry.execute(params![id, attempts, next_attempt_at, error, now])?;
                    }
                    Outcome::Dead { error, failure } => {
                        insert_events(tx, failure.as_slice(), now, self.chaos)?;
                        dead.execute(params![id, attempts, error, now])?;
                    }
                    Outcome::Release => {
                        release.execute(params![id, now])?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Whether any of `services` has a delivery pending or in flight.
    pub(crate) fn has_outstanding(&self, services: &[String]) -> Result<bool, BusError> {
        let conn = self.conn();
        let run = || {
            let mut any = conn.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM deliveries WHERE status IN ('pending', 'in_flight') AND service = ?1)",
            )?;
            for service in services {
                if any.query_row([service], |row| row.get::<_, bool>(0))? {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        run().map_err(|e| self.fail(e))
    }

    pub(crate) fn dead_letters(
        &self,
        filter: &DeadLetterFilter,
    ) -> Result<Vec<DeadLetter>, BusError> {
        let conn = self.conn();
        let run = || {
            let mut select = conn.prepare_cached(
                "SELECT d.id, d.event_id, d.service, e.detail_type, e.asset_id, d.attempts, d.last_error,
                        e.time_ms, d.updated_at
                 FROM deliveries d JOIN events e ON e.id = d.event_id
                 WHERE d.status = 'dead' AND (?1 IS NULL OR d.event_id = ?1)
                   AND (?2 IS NULL OR d.service = ?2) AND (?3 IS NULL OR e.asset_id = ?3)
                 ORDER BY d.updated_at, d.id",
            )?;
            select
                .query_map(
                    params![filter.event_id, filter.service, filter.asset_id],
                    |row| {
                        Ok(DeadLetter {
                            delivery_id: row.get(0)?,
                            event_id: row.get(1)?,
                            service: row.get(2)?,
                            detail_type: row.get(3)?,
                            asset_id: row.get(4)?,
                            attempts: row.get(5)?,
                            last_error: row.get(6)?,
                            event_time: time(row.get(7)?),
                            failed_at: time(row.get(8)?),
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()
        };
        run().map_err(|e| self.fail(e))
    }

    /// Dead letters matching `filter` become pending again, due now, with attempts reset.
    pub(crate) fn retry_dead(
        &self,
        filter: &DeadLetterFilter,
        now: i64,
    ) -> Result<usize, BusError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, first_attempt_at = NULL,
                     next_attempt_at = ?4, updated_at = ?4
                 WHERE status = 'dead' AND (?1 IS NULL OR event_id = ?1) AND (?2 IS NULL OR service = ?2)
                   AND (?3 IS NULL OR event_id IN (SELECT id FROM events WHERE asset_id = ?3))",
                params![filter.event_id, filter.service, filter.asset_id, now],
            )
        })
    }

    /// Adds a pending delivery of each `(event id, service)`, unless one is already pending.
    /// Returns the number added.
    pub(crate) fn add_deliveries(
        &self,
        deliveries: &[(String, Arc<str>)],
        now: i64,
    ) -> Result<usize, BusError> {
        self.write(|tx| {
            let mut insert = tx.prepare_cached(
                "INSERT INTO deliveries (event_id, service, status, next_attempt_at, updated_at)
                 SELECT ?1, ?2, 'pending', ?3, ?3
                 WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = ?1 AND service = ?2 AND status = 'pending')",
            )?;
            let mut added = 0;
            for (event_id, service) in deliveries {
                added += insert.execute(params![event_id, &**service, now])?;
            }
            Ok(added)
        })
    }

    /// Archived events in `seq` order, from after `query.after_seq`.
    pub(crate) fn events(
        &self,
        query: &EventQuery,
        since: Option<i64>,
    ) -> Result<Vec<(i64, RawEvent)>, BusError> {
        let conn = self.conn();
        let run = || {
            let sql = if query.asset_id.is_some() {
                "SELECT seq, id, body FROM events WHERE asset_id = ?1 AND seq > ?2 AND time_ms >= ?3
                 ORDER BY seq LIMIT ?4"
            } else {
                // ?1 (no asset) is bound but unused.
                "SELECT seq, id, body FROM events WHERE seq > ?2 AND time_ms >= ?3 ORDER BY seq LIMIT ?4"
            };
            let mut select = conn.prepare_cached(sql)?;
            select
                .query_map(
                    params![
                        query.asset_id,
                        query.after_seq,
                        since.unwrap_or(i64::MIN),
                        sql_count(query.limit)
                    ],
                    |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                        ))
                    },
                )?
                .collect::<Result<Vec<_>, _>>()
        };
        let rows = run().map_err(|e| self.fail(e))?;
        drop(conn);
        rows.into_iter()
            .map(|(seq, id, body)| Ok((seq, self.decode(id, &body)?)))
            .collect()
    }

    /// The archived event with this id.
    pub(crate) fn event(&self, id: &str) -> Result<Option<RawEvent>, BusError> {
        let body = self
            .conn()
            .prepare_cached("SELECT body FROM events WHERE id = ?1")
            .and_then(|mut select| {
                select
                    .query_row([id], |row| row.get::<_, String>(0))
                    .optional()
            })
            .map_err(|e| self.fail(e))?;
        body.map(|body| self.decode(id.to_owned(), &body))
            .transpose()
    }

    pub(crate) fn deliveries_for_asset(
        &self,
        asset_id: &str,
    ) -> Result<Vec<DeliveryRecord>, BusError> {
        let conn = self.conn();
        let run = || {
            let mut select = conn.prepare_cached(
                "SELECT d.id, d.event_id, e.seq, e.detail_type, d.service, d.status, d.attempts, d.last_error,
                        d.next_attempt_at, d.updated_at
                 FROM events e JOIN deliveries d ON d.event_id = e.id
                 WHERE e.asset_id = ?1 ORDER BY e.seq, d.service, d.id",
            )?;
            select
                .query_map([asset_id], delivery_record)?
                .collect::<rusqlite::Result<Vec<_>>>()
        };
        run().map_err(|e| self.fail(e))
    }

    fn decode(&self, id: String, body: &str) -> Result<RawEvent, BusError> {
        serde_json::from_str(body).map_err(|source| BusError::Archive {
            path: self.path.clone(),
            id,
            source,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic cannot leave a transaction half-applied (it rolls back on drop), so a
        // poisoned lock still guards a consistent connection.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` in one immediate transaction, committed when it succeeds.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, BusError> {
        let mut conn = self.conn();
        let run = || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        };
        run().map_err(|e| self.fail(e))
    }

    fn fail(&self, error: rusqlite::Error) -> BusError {
        BusError::sqlite(&self.path, error)
    }
}

/// Archives the events not archived yet and adds their deliveries (each twice under
/// `chaos.duplicate`); returns the deliveries added.
fn insert_events(
    tx: &Transaction<'_>,
    events: &[Prepared],
    now: i64,
    chaos: DeliveryChaos,
) -> rusqlite::Result<usize> {
    let copies = if chaos.duplicate { 2 } else { 1 };
    let mut archive = tx.prepare_cached(
        "INSERT OR IGNORE INTO events (id, time_ms, source, detail_type, asset_id, body, archived_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut deliver = tx.prepare_cached(
        "INSERT INTO deliveries (event_id, service, status, next_attempt_at, updated_at)
         VALUES (?1, ?2, 'pending', ?3, ?3)",
    )?;
    let mut added = 0;
    for event in events {
        let archived = archive.execute(params![
            event.id,
            event.time_ms,
            event.source,
            event.detail_type,
            event.asset_id,
            event.body,
            now
        ])?;
        if archived == 0 {
            tracing::debug!(event_id = %event.id, "event already archived; not delivered again");
            continue;
        }
        for service in &event.targets {
            for _ in 0..copies {
                added += deliver.execute(params![event.id, &**service, now])?;
            }
        }
    }
    Ok(added)
}

fn delivery_record(row: &Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    let status: String = row.get(5)?;
    Ok(DeliveryRecord {
        delivery_id: row.get(0)?,
        event_id: row.get(1)?,
        seq: row.get(2)?,
        detail_type: row.get(3)?,
        service: row.get(4)?,
        // The CHECK constraint admits only the four statuses.
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Pending),
        attempts: row.get(6)?,
        last_error: row.get(7)?,
        next_attempt_at: time(row.get(8)?),
        updated_at: time(row.get(9)?),
    })
}

/// A count as SQLite takes it.
fn sql_count(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
