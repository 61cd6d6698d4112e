//! mediasift event contracts: the Amazon EventBridge envelope and one typed, documented
//! `detail` per detail-type. This crate is the public API of mediasift: third parties depend
//! on it (it pulls in serde, schemars, chrono and uuid only), and `contracts/` is generated
//! from it.
//!
//! Every mediasift detail carries `assetId`, `schemaVersion` and `metadata` (correlation id,
//! causation id, producer and its version). Results never ride in an event: events carry the
//! `s3://` URIs of result JSON (claim check), locally as well as on AWS.
//!
//! Reading is tolerant: unknown fields are ignored, so additive changes (a minor bump of
//! `schemaVersion`) never break a consumer.

mod analysis;
mod aws;
mod catalog;
mod common;
mod envelope;
mod failure;
mod graph;
mod ingest;
mod registry;
mod scene;

pub use analysis::*;
pub use aws::*;
pub use catalog::{CatalogEntry, Producer, catalog, entry_for};
pub use common::*;
pub use envelope::{Envelope, EventDetail, RawEvent};
pub use failure::*;
pub use graph::*;
pub use ingest::*;
pub use registry::{envelope_schema, json_schema, registry_schema};
pub use scene::*;
pub use schemars;

/// Event sources. mediasift services publish as `mediasift.<service>`; the rest are AWS's.
pub mod sources {
    pub const S3: &str = "aws.s3";
    pub const MEDIACONVERT: &str = "aws.mediaconvert";
    pub const TRANSCRIBE: &str = "aws.transcribe";
    pub const INGEST: &str = "mediasift.ingest";
    pub const VIDEO: &str = "mediasift.video";
    pub const AUDIO: &str = "mediasift.audio";
    pub const IMAGE: &str = "mediasift.image";
    pub const DOCUMENT: &str = "mediasift.document";
    pub const SCENE: &str = "mediasift.scene";
    pub const ADBREAK: &str = "mediasift.adbreak";
    pub const GRAPH: &str = "mediasift.graph";

    /// Every mediasift source, in pipeline order.
    pub const MEDIASIFT: [&str; 8] = [INGEST, VIDEO, AUDIO, IMAGE, DOCUMENT, SCENE, ADBREAK, GRAPH];

    /// The source a service publishes under (`ingest` → `mediasift.ingest`).
    pub fn of_service(service: &str) -> Option<&'static str> {
        MEDIASIFT
            .iter()
            .copied()
            .find(|s| s.strip_prefix("mediasift.") == Some(service))
    }
}

/// The eight mediasift services, in pipeline order.
pub const SERVICES: [&str; 8] = [
    "ingest", "video", "audio", "image", "document", "scene", "adbreak", "graph",
];
