//! The audio service as an AWS Lambda function: `Audio Ingested` / `Video Ingested` and
//! `Transcribe Job State Change` in, `Audio Analysis Completed` (or `Processing Failed`) out.
//! Speech by Amazon Transcribe (a job, continued on its completion event), language by Amazon
//! Comprehend, chapters by Amazon Bedrock.
//!
//! Everything is read once, at cold start: the kit's buckets, table and bus
//! (`mediasift_kit::lambda::LambdaConfig`), and the audio service's own settings
//! ([`LambdaSettings`]). A missing or invalid variable stops the function before it takes any
//! event, with a message naming it.

use std::sync::Arc;

use mediasift_audio::chapters::BedrockChapters;
use mediasift_audio::config::LambdaSettings;
use mediasift_audio::speech::TranscribeSpeech;
use mediasift_audio::{Audio, Backends};
use mediasift_kit::aws::load_sdk_config;
use mediasift_kit::lambda::{LambdaConfig, run};
use mediasift_kit::language::ComprehendLanguage;

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
            eprintln!("mediasift-audio-lambda cannot start: {e}");
            std::process::exit(1);
        }
    };
    let sdk = load_sdk_config(kit.endpoint_url.as_deref()).await;
    let backends = Backends {
        speech: Some(Arc::new(TranscribeSpeech::new(&sdk, settings.transcribe()))),
        language: Some(Arc::new(ComprehendLanguage::new(
            &sdk,
            settings.comprehend(),
        ))),
        chapters: settings
            .bedrock()
            .map(|config| Arc::new(BedrockChapters::new(&sdk, config)) as _),
    };
    run(Audio::new(settings.audio, backends)).await
}
