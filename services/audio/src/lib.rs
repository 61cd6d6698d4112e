//! The audio service: per-track loudness and silent tracks, speech to text, captions and
//! language.

pub mod chapters;
pub mod config;
pub mod handler;
pub use mediasift_kit::language;
pub mod speech;
pub use mediasift_media::wer;
pub mod windows;

pub use handler::{Audio, AudioConfig, Backends};

use mediasift_kit::{Rule, Subscriptions};
use mediasift_schemas::{
    AudioIngested, EventDetail, TranscribeJobStateChange, VideoIngested, sources,
};
use serde_json::json;

pub const SERVICE: &str = "audio";

/// Audio assets, and videos with audio, whose plan includes audio analysis; and the
/// completions of the Transcribe jobs this service started (named `mediasift-…`).
pub fn subscriptions() -> Subscriptions {
    Subscriptions::new(
        SERVICE,
        vec![
            Rule::new(
                "media-ingested",
                "Analyse the audio of a newly ingested audio or video asset.",
                json!({
                    "source": [sources::INGEST],
                    "detail-type": [AudioIngested::DETAIL_TYPE, VideoIngested::DETAIL_TYPE],
                    "detail": {"plan": {"analyses": ["audio"]}},
                }),
            ),
            Rule::new(
                "transcribe-job-finished",
                "A Transcribe job this service started completed or failed.",
                json!({
                    "source": [sources::TRANSCRIBE],
                    "detail-type": [TranscribeJobStateChange::DETAIL_TYPE],
                    "detail": {
                        "TranscriptionJobName": [{"prefix": "mediasift-"}],
                        "TranscriptionJobStatus": ["COMPLETED", "FAILED"],
                    },
                }),
            ),
        ],
    )
}

/// The AWS permissions the audio function's code needs (`contracts/iam/audio.json`).
pub fn permissions() -> mediasift_kit::iam::Permissions {
    use mediasift_kit::iam::{self, Resource, Statement};
    mediasift_kit::iam::Permissions::new(
        SERVICE,
        vec![
            iam::derived_results(),
            iam::state(),
            iam::publish(),
            // Transcribe reads the speech WAV and writes its transcript in the derived bucket
            // with the caller's permissions (above).
            Statement::new(
                "Transcribe",
                &[
                    "transcribe:StartTranscriptionJob",
                    "transcribe:GetTranscriptionJob",
                ],
                &[Resource::Any],
            ),
            iam::comprehend(),
            iam::bedrock(),
        ],
    )
}
