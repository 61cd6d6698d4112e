//! The ingest service as an AWS Lambda function: `Object Created`, `Ingest Hashing Continued`
//! and `MediaConvert Job State Change` events in, `… Ingested` (or `Processing Failed`) out,
//! proxies made by MediaConvert.
//!
//! Everything is read once, at cold start: the kit's buckets, table and bus
//! (`mediasift_kit::lambda::LambdaConfig`), and ingest's own settings
//! ([`LambdaSettings`]: `MEDIASIFT_HASH_SLICE_SECONDS`, `MEDIASIFT_SHA256`,
//! `MEDIASIFT_MEDIACONVERT_ROLE_ARN`, `MEDIASIFT_MEDIACONVERT_QUEUE`). A missing or invalid
//! variable stops the function before it takes any event, with a message naming it.

use std::sync::Arc;

use mediasift_ingest::Ingest;
use mediasift_ingest::config::LambdaSettings;
use mediasift_ingest::proxy::mediaconvert::MediaConvertTranscoder;
use mediasift_kit::aws::load_sdk_config;
use mediasift_kit::lambda::{LambdaConfig, run};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (settings, kit) = match LambdaSettings::from_env()
        .map_err(Error::from)
        .and_then(|settings| Ok((settings, LambdaConfig::from_env()?)))
    {
        Ok(read) => read,
        Err(e) => {
            // Before the runtime's JSON logging starts: a plain line reaches CloudWatch.
            eprintln!("mediasift-ingest-lambda cannot start: {e}");
            std::process::exit(1);
        }
    };
    let sdk = load_sdk_config(kit.endpoint_url.as_deref()).await;
    let transcoder = MediaConvertTranscoder::new(
        &sdk,
        settings.mediaconvert_role_arn,
        settings.mediaconvert_queue,
    );
    run(Ingest::new(settings.config, Arc::new(transcoder))).await
}
