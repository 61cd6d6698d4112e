//! The image service as an AWS Lambda function: `Image Ingested` in, `Image Analysis
//! Completed` (or `Processing Failed`) out; vision by Amazon Rekognition, the description by
//! Amazon Bedrock.
//!
//! Everything is read once, at cold start: the kit's buckets, table and bus
//! (`mediasift_kit::lambda::LambdaConfig`) and the image service's own settings
//! ([`LambdaSettings`]). A missing or invalid variable stops the function before it takes any
//! event, with a message naming it.

use std::sync::Arc;

use mediasift_image::config::LambdaSettings;
use mediasift_image::describe::{BedrockDescriber, DescribeConfig, Describer};
use mediasift_image::{Backends, Image};
use mediasift_kit::aws::load_sdk_config;
use mediasift_kit::bedrock::Bedrock;
use mediasift_kit::lambda::{LambdaConfig, run};
use mediasift_kit::vision::RekognitionVision;

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
            eprintln!("mediasift-image-lambda cannot start: {e}");
            std::process::exit(1);
        }
    };
    let sdk = load_sdk_config(kit.endpoint_url.as_deref()).await;
    let describer = settings.bedrock().map(|config| {
        Arc::new(BedrockDescriber::new(
            Bedrock::new(&sdk, config),
            DescribeConfig::default(),
        )) as Arc<dyn Describer>
    });
    let backends = Backends {
        vision: vec![Arc::new(RekognitionVision::new(
            &sdk,
            settings.rekognition(),
        ))],
        describer,
    };
    run(Image::new(settings.image, backends)).await
}
