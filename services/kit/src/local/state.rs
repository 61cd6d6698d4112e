//! SQLite state store: DynamoDB's conditional writes on one local table.
//!
//! ```sql
//! items(tbl TEXT, key TEXT, value TEXT /* a JSON object */, version INTEGER,
//!       expires_at INTEGER NULL /* milliseconds since the epoch */, PRIMARY KEY (tbl, key))
//! ```
//!
//! Every write reads, checks its condition and writes in one `BEGIN IMMEDIATE` transaction,
//! so writers in other threads and other processes (the database runs in WAL mode with a busy
//! timeout) never interleave between the check and the write. An item whose `expires_at` has
//! passed counts as absent everywhere: reads skip it and a write replaces it as a new item.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use serde_json::{Map, Value};

use crate::ports::{Clock, Condition, Item, StateError, StateStore, SystemClock, Update};

/// How long a write waits for another process's write before giving up as `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS items (
    tbl TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    version INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (tbl, key)
)";

/// Key-value state with conditional writes in a SQLite database.
pub struct SqliteStateStore {
    connection: Arc<Mutex<Connection>>,
    clock: Arc<dyn Clock>,
    /// `None` for an in-memory database.
    path: Option<PathBuf>,
}

impl fmt::Debug for SqliteStateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStateStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStateStore {
    /// Opens (creating when needed) the database at `path`, in WAL mode.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StateError::Failed(format!("creating the folder {}: {e}", parent.display()))
            })?;
        }
        let context = |doing: &str| format!("{doing} the state database {}", path.display());
        let connection = Connection::open(path).map_err(|e| sql_error(&context("opening"), e))?;
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| sql_error(&context("configuring"), e))?;
        let mode: String = connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| sql_error(&context("switching to WAL"), e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "the state database is not in WAL mode");
        }
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(|e| sql_error(&context("configuring"), e))?;
        Self::with_connection(connection, Some(path.to_path_buf()))
    }

    /// A private database in memory, gone when the store is dropped: for tests.
    pub fn open_in_memory() -> Result<Self, StateError> {
        let connection = Connection::open_in_memory()
            .map_err(|e| sql_error("opening an in-memory database", e))?;
        Self::with_connection(connection, None)
    }

    fn with_connection(connection: Connection, path: Option<PathBuf>) -> Result<Self, StateError> {
        connection
            .execute_batch(SCHEMA)
            .map_err(|e| sql_error("creating the items table", e))?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            clock: Arc::new(SystemClock),
            path,
        })
    }

    /// Uses `clock` to stamp expiries and decide what has expired (the system clock by default).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Deletes the expired items (they already count as absent) and returns how many.
    pub async fn purge_expired(&self) -> Result<usize, StateError> {
        let now = self.now_millis();
        self.run(move |connection| {
            connection
                .execute(
                    "DELETE FROM items WHERE expires_at IS NOT NULL AND expires_at < ?1",
                    params![now],
                )
                .map_err(|e| sql_error("deleting expired items", e))
        })
        .await
    }

    fn now_millis(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Runs `work` on the connection on a blocking thread.
    async fn run<T, F>(&self, work: F) -> Result<T, StateError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StateError> + Send + 'static,
        T: Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            // A panic cannot leave a transaction open (it rolls back on drop), so a poisoned
            // lock still guards a consistent connection.
            let mut connection = connection.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut connection)
        })
        .await
        .map_err(|e| StateError::Unavailable(format!("a state store task did not finish: {e}")))?
    }

    /// Reads, checks `condition`, and writes what `change` makes of the current item, in one
    /// immediate transaction.
    async fn write<F>(
        &self,
        table: &str,
        key: &str,
        condition: Condition,
        change: F,
    ) -> Result<Item, StateError>
    where
        F: FnOnce(&Target, Option<Stored>) -> Result<Stored, StateError> + Send + 'static,
    {
        let target = Target {
            table: table.to_owned(),
            key: key.to_owned(),
            now: self.now_millis(),
        };
        self.run(move |connection| {
            let context = format!("writing {}/{}", target.table, target.key);
            let tx = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| sql_error(&context, e))?;
            let current = read(&tx, &target)?;
            if !holds(&condition, current.as_ref()) {
                return Err(StateError::ConditionFailed {
                    table: target.table,
                    key: target.key,
                });
            }
            let next = change(&target, current)?;
            let value = serde_json::to_string(&next.value)
                .map_err(|e| StateError::Failed(format!("encoding {}/{}: {e}", target.table, target.key)))?;
            tx.execute(
                "INSERT INTO items (tbl, key, value, version, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tbl, key) DO UPDATE SET
                     value = excluded.value, version = excluded.version, expires_at = excluded.expires_at",
                params![target.table, target.key, value, next.version, next.expires_at],
            )
            .map_err(|e| sql_error(&context, e))?;
            tx.commit().map_err(|e| sql_error(&context, e))?;
            Ok(next.into_item(target.key))
        })
        .await
    }
}

#[async_trait]
impl StateStore for SqliteStateStore {
    async fn get(&self, table: &str, key: &str) -> Result<Option<Item>, StateError> {
        let target = Target {
            table: table.to_owned(),
            key: key.to_owned(),
            now: self.now_millis(),
        };
        self.run(move |connection| {
            Ok(read(connection, &target)?.map(|stored| stored.into_item(target.key)))
        })
        .await
    }

    async fn put(
        &self,
        table: &str,
        key: &str,
        value: Map<String, Value>,
        condition: Condition,
        ttl: Option<Duration>,
    ) -> Result<Item, StateError> {
        self.write(table, key, condition, move |target, current| {
            Ok(Stored {
                value,
                version: next_version(current.as_ref()),
                expires_at: ttl.map(|ttl| expiry(target.now, ttl)),
            })
        })
        .await
    }

    async fn update(
        &self,
        table: &str,
        key: &str,
        updates: &[Update],
        condition: Condition,
    ) -> Result<Item, StateError> {
        let updates = updates.to_vec();
        self.write(table, key, condition, move |target, current| {
            let version = next_version(current.as_ref());
            let (mut value, expires_at) =
                current.map_or_else(|| (Map::new(), None), |c| (c.value, c.expires_at));
            for update in &updates {
                update.apply_to(&mut value).map_err(|conflict| {
                    StateError::from_conflict(&target.table, &target.key, conflict)
                })?;
            }
            Ok(Stored {
                value,
                version,
                expires_at,
            })
        })
        .await
    }

    async fn delete(&self, table: &str, key: &str) -> Result<(), StateError> {
        let (table, key) = (table.to_owned(), key.to_owned());
        self.run(move |connection| {
            connection
                .execute(
                    "DELETE FROM items WHERE tbl = ?1 AND key = ?2",
                    params![table, key],
                )
                .map_err(|e| sql_error(&format!("deleting {table}/{key}"), e))?;
            Ok(())
        })
        .await
    }
}

/// The item an operation is about, and the time it happens at.
struct Target {
    table: String,
    key: String,
    /// Milliseconds since the epoch.
    now: i64,
}

/// A row of `items`.
struct Stored {
    value: Map<String, Value>,
    version: i64,
    /// Milliseconds since the epoch.
    expires_at: Option<i64>,
}

impl Stored {
    fn into_item(self, key: String) -> Item {
        Item {
            key,
            value: self.value,
            version: u64::try_from(self.version).unwrap_or(0),
            expires_at: self
                .expires_at
                .and_then(DateTime::<Utc>::from_timestamp_millis),
        }
    }
}

/// The live (present and unexpired) item, if any.
fn read(connection: &Connection, target: &Target) -> Result<Option<Stored>, StateError> {
    let row = connection
        .query_row(
            "SELECT value, version, expires_at FROM items
             WHERE tbl = ?1 AND key = ?2 AND (expires_at IS NULL OR expires_at >= ?3)",
            params![target.table, target.key, target.now],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                ))
            },
        )
        .optional()
        .map_err(|e| sql_error(&format!("reading {}/{}", target.table, target.key), e))?;
    let Some((text, version, expires_at)) = row else {
        return Ok(None);
    };
    let value = serde_json::from_str(&text).map_err(|e| {
        StateError::Failed(format!(
            "{}/{} does not hold a JSON object: {e}",
            target.table, target.key
        ))
    })?;
    Ok(Some(Stored {
        value,
        version,
        expires_at,
    }))
}

fn holds(condition: &Condition, current: Option<&Stored>) -> bool {
    match condition {
        Condition::Always => true,
        Condition::NotExists => current.is_none(),
        Condition::VersionIs(version) => {
            current.is_some_and(|c| u64::try_from(c.version).is_ok_and(|v| v == *version))
        }
        Condition::FieldAbsent(field) => current.is_none_or(|c| !c.value.contains_key(field)),
    }
}

/// 1 for a new item, one more than the current version otherwise.
fn next_version(current: Option<&Stored>) -> i64 {
    current.map_or(1, |c| c.version.saturating_add(1))
}

/// When an item written at `now` with `ttl` expires, in milliseconds since the epoch, held
/// to what a `DateTime` can show.
fn expiry(now: i64, ttl: Duration) -> i64 {
    let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    now.saturating_add(ttl)
        .min(DateTime::<Utc>::MAX_UTC.timestamp_millis())
}

/// Busy and locked databases are worth retrying; anything else is not.
fn sql_error(doing: &str, e: rusqlite::Error) -> StateError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StateError::Unavailable(format!("{doing}: the database is busy: {e}"))
        }
        _ => StateError::Failed(format!("{doing}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_stay_representable() {
        assert_eq!(expiry(1_000, Duration::from_millis(500)), 1_500);
        let far = expiry(1_000, Duration::MAX);
        assert!(DateTime::<Utc>::from_timestamp_millis(far).is_some());
    }
}
