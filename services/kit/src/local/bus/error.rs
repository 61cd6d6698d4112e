//! What can go wrong with the bus, said so a person knows what to do.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

use crate::pattern::PatternError;
use crate::ports::PublishError;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("invalid bus configuration: {0}")]
    Config(String),
    #[error(
        "cannot open the event bus database {path}: {source}; check that its directory exists \
         and is writable"
    )]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the event bus database {path} is locked: another process holds it; stop the other \
         mediasift process or give this one a different data directory"
    )]
    Locked { path: PathBuf },
    #[error(
        "the event bus database {path} is damaged or not a mediasift bus database ({source}); \
         move the file aside to start with an empty bus (its archived events and queued \
         deliveries are then lost)"
    )]
    Corrupt {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the event bus database {path} has schema version {found}, newer than this mediasift \
         understands ({supported}); run a newer mediasift or give this one another data directory"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("the event bus database {path} failed: {source}")]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "archived event {id} in {path} cannot be decoded ({source}); was the database edited by hand?"
    )]
    Archive {
        path: PathBuf,
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("event {0} is not in the bus archive; list archived events with `mediasift events`")]
    UnknownEvent(String),
    #[error("rule {rule:?} of service {service} is invalid: {source}; fix its event pattern")]
    InvalidRule {
        service: String,
        rule: String,
        #[source]
        source: PatternError,
    },
    #[error(
        "cannot read rules file {path}: {reason}; regenerate it with `mediasift contracts export`"
    )]
    RulesFile { path: PathBuf, reason: String },
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(
        "this bus already has a running dispatcher; shut it down before starting another \
         (`run_until_idle` cannot run beside `start`)"
    )]
    AlreadyRunning,
    #[error("the event bus failed internally: {0}")]
    Internal(String),
}

impl BusError {
    /// Classifies an SQLite error on the database at `path`.
    pub(crate) fn sqlite(path: &Path, source: rusqlite::Error) -> Self {
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Self::Locked { path },
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                Self::Corrupt { path, source }
            }
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
                Self::Open { path, source }
            }
            _ => Self::Database { path, source },
        }
    }
}

impl From<BusError> for PublishError {
    fn from(error: BusError) -> Self {
        match error {
            BusError::Publish(error) => error,
            BusError::Locked { .. } | BusError::Database { .. } | BusError::Internal(_) => {
                Self::Unavailable(error.to_string())
            }
            other => Self::Rejected(other.to_string()),
        }
    }
}
