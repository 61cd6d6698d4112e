//! Ports: the small async traits service handlers are written against. Adapters implement
//! them locally (filesystem, SQLite, the embedded bus) and on AWS (S3, DynamoDB, EventBridge).
//! Handlers never see which.

mod clock;
mod events;
mod objects;
mod state;

pub use clock::{Clock, FixedClock, SystemClock};
pub use events::{EventPublisher, PublishError};
pub use objects::{
    Body, ByteStream, ObjectMeta, ObjectStore, PutOptions, StoreError, split_s3_uri,
};
pub use state::{Condition, Item, StateError, StateStore, Update, UpdateConflict};

/// Whether an error may go away if the same call is made again later.
pub trait Retryable {
    fn is_retryable(&self) -> bool;
}
