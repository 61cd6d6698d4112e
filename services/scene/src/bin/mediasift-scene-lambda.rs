//! The scene service as an AWS Lambda function: `Video Analysis Completed`, `Audio Analysis
//! Completed` and audio's `Processing Failed` in; `Scenes Detected` (or `Processing Failed`)
//! out once an asset's set is complete. Sentiment by VADER and taxonomy by MiniLM run in the
//! function (the model's files are found by `MEDIASIFT_TEXT_MODEL` and
//! `MEDIASIFT_TEXT_TOKENIZER`; without them taxonomy is reported skipped with the reason);
//! descriptions by Amazon Bedrock.
//!
//! Everything is read once, at cold start; a missing or invalid variable stops the function
//! before it takes any event, with a message naming it.

use std::sync::Arc;

use mediasift_kit::aws::load_sdk_config;
use mediasift_kit::bedrock::Bedrock;
use mediasift_kit::lambda::{LambdaConfig, run};
use mediasift_kit::language::LocalLanguage;
use mediasift_scene::config::LambdaSettings;
use mediasift_scene::describe::{BedrockSceneDescriber, SceneDescribeConfig, SceneDescriber};
use mediasift_scene::taxonomy::MiniLmTaxonomy;
use mediasift_scene::{Backends, Scenes};

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
            eprintln!("mediasift-scene-lambda cannot start: {e}");
            std::process::exit(1);
        }
    };
    let sdk = load_sdk_config(kit.endpoint_url.as_deref()).await;
    let describer = settings.bedrock().map(|config| {
        Arc::new(BedrockSceneDescriber::new(
            Bedrock::new(&sdk, config),
            SceneDescribeConfig::default(),
        )) as Arc<dyn SceneDescriber>
    });
    let backends = Backends {
        language: Some(Arc::new(LocalLanguage::new())),
        taxonomy: Some(Arc::new(MiniLmTaxonomy::new())),
        describer,
    };
    run(Scenes::new(settings.scene, backends)).await
}
