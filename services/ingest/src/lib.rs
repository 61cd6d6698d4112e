//! The ingest service: identity, fixity, type, technical metadata and proxies.
//!
//! One object's path through the service, in [`handler`]: skip rules ([`skip`]) → asset id
//! ([`identity`]) → MD5 in time-budgeted slices, compared and tagged ([`fixity`]) → type by
//! content and technical metadata ([`technical`], `mediasift_media`) → the analysis plan
//! ([`options`]) → proxies through a transcoder port ([`proxy`]: ffmpeg locally, MediaConvert
//! on AWS) → `Video/Audio/Image/Document Ingested`.

pub mod config;
pub mod fixity;
pub mod handler;
pub mod identity;
pub mod options;
pub mod proxy;
pub mod skip;
pub mod technical;

pub use config::IngestConfig;
pub use handler::Ingest;

use mediasift_kit::{Rule, Subscriptions};
use mediasift_schemas::{
    EventDetail, IngestHashingContinued, MediaConvertJobStateChange, ObjectCreated, sources,
};
use serde_json::json;

pub const SERVICE: &str = "ingest";

/// New objects in the ingest bucket, and the state changes of the MediaConvert jobs ingest
/// submitted (tagged with `mediasiftAssetId` in their user metadata).
///
/// The bucket is not named here: it differs per deployment. Terraform scopes the rule to its
/// ingest bucket, the local runtime only notifies for its ingest bucket, and the handler skips
/// objects of any other bucket.
pub fn subscriptions() -> Subscriptions {
    Subscriptions::new(
        SERVICE,
        vec![
            Rule::new(
                "object-created",
                "New objects in the ingest bucket start ingest.",
                json!({
                    "source": [sources::S3],
                    "detail-type": [ObjectCreated::DETAIL_TYPE],
                }),
            ),
            Rule::new(
                "hashing-continued",
                "The next slice of a large object's checksum, carried forward by ingest itself.",
                json!({
                    "source": [sources::INGEST],
                    "detail-type": [IngestHashingContinued::DETAIL_TYPE],
                }),
            ),
            Rule::new(
                "mediaconvert-job-finished",
                "Proxy jobs ingest submitted to MediaConvert completed or failed.",
                json!({
                    "source": [sources::MEDIACONVERT],
                    "detail-type": [MediaConvertJobStateChange::DETAIL_TYPE],
                    "detail": {
                        "status": ["COMPLETE", "ERROR"],
                        "userMetadata": {"mediasiftAssetId": [{"exists": true}]},
                    },
                }),
            ),
        ],
    )
}

/// The AWS permissions the ingest function's code needs (`contracts/iam/ingest.json`).
pub fn permissions() -> mediasift_kit::iam::Permissions {
    use mediasift_kit::iam::{self, Resource, Statement};
    mediasift_kit::iam::Permissions::new(
        SERVICE,
        vec![
            // The upload: probe and hash it, read its tags, tag it with its computed MD5.
            Statement::new(
                "SourceObjects",
                &["s3:GetObject", "s3:GetObjectTagging", "s3:PutObjectTagging"],
                &[Resource::IngestObjects],
            ),
            iam::derived_results(),
            iam::state(),
            iam::publish(),
            // Proxies by MediaConvert, which runs as its own role.
            Statement::new(
                "MediaConvertJobs",
                &["mediaconvert:CreateJob"],
                &[Resource::Mediaconvert],
            ),
            Statement::new(
                "PassMediaConvertRole",
                &["iam:PassRole"],
                &[Resource::MediaconvertRole],
            ),
        ],
    )
}
