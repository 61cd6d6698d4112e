//! The adbreak service as an AWS Lambda function: `Scenes Detected` in, `Ad Breaks Detected`
//! (or `Processing Failed`) out.
//!
//! Everything is read once, at cold start: the kit's buckets, table and bus
//! (`mediasift_kit::lambda::LambdaConfig`) and the adbreak service's own settings
//! ([`LambdaSettings`]: the ad tag URI). A missing or invalid variable stops the function
//! before it takes any event, with a message naming it.

use mediasift_adbreak::AdBreaks;
use mediasift_adbreak::config::LambdaSettings;
use mediasift_kit::lambda::{LambdaConfig, run};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = match LambdaSettings::from_env()
        .map_err(Error::from)
        .and_then(|settings| {
            LambdaConfig::from_env()
                .map(|_| settings)
                .map_err(Error::from)
        }) {
        Ok(settings) => settings,
        Err(e) => {
            // Before the runtime's JSON logging starts: a plain line reaches CloudWatch.
            eprintln!("mediasift-adbreak-lambda cannot start: {e}");
            std::process::exit(1);
        }
    };
    run(AdBreaks::new(settings.adbreak)).await
}
