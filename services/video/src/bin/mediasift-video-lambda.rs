//! The video service as an AWS Lambda function: `Video Ingested` in, `Video Analysis
//! Completed` (or `Processing Failed`) out, vision by Amazon Rekognition.
//!
//! Everything is read once, at cold start: the kit's buckets, table and bus
//! (`mediasift_kit::lambda::LambdaConfig`), and the video service's own settings
//! ([`LambdaSettings`]: `MEDIASIFT_FACE_COLLECTION`, `MEDIASIFT_VISION_CONCURRENCY`,
//! `MEDIASIFT_VISION_MAX_ATTEMPTS`). A missing or invalid variable stops the function before
//! it takes any event, with a message naming it.

use std::sync::Arc;

use mediasift_kit::aws::load_sdk_config;
use mediasift_kit::lambda::{LambdaConfig, run};
use mediasift_kit::vision::RekognitionVision;
use mediasift_video::Video;
use mediasift_video::config::LambdaSettings;

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
            eprintln!("mediasift-video-lambda cannot start: {e}");
            std::process::exit(1);
        }
    };
    let sdk = load_sdk_config(kit.endpoint_url.as_deref()).await;
    let rekognition = RekognitionVision::new(&sdk, settings.rekognition());
    run(Video::new(settings.video, vec![Arc::new(rekognition)])).await
}
