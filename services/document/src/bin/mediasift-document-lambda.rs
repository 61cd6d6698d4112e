//! The document service as an AWS Lambda function: `Document Ingested` in, `Document Analysis
//! Completed` (or `Processing Failed`) out; OCR by Amazon Textract, keyphrases and entities
//! by Amazon Comprehend.
//!
//! Everything is read once, at cold start: the kit's buckets, table and bus
//! (`mediasift_kit::lambda::LambdaConfig`) and the document service's own settings
//! ([`LambdaSettings`]). A missing or invalid variable stops the function before it takes any
//! event, with a message naming it.

use std::sync::Arc;

use mediasift_document::config::LambdaSettings;
use mediasift_document::ocr::TextractOcr;
use mediasift_document::{Backends, Document};
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
            eprintln!("mediasift-document-lambda cannot start: {e}");
            std::process::exit(1);
        }
    };
    let sdk = load_sdk_config(kit.endpoint_url.as_deref()).await;
    let backends = Backends {
        ocr: Some(Arc::new(TextractOcr::new(&sdk, settings.textract()))),
        language: Some(Arc::new(ComprehendLanguage::new(
            &sdk,
            settings.comprehend(),
        ))),
    };
    run(Document::new(settings.document, backends)).await
}
