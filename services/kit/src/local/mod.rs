//! Local adapters: a filesystem object store, a SQLite state store, and the embedded
//! EventBridge-semantics bus.

pub mod bus;
pub mod objects;
pub mod state;
