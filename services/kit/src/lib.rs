//! The runtime kit every mediasift service shares: the EventBridge event-pattern matcher, the
//! rules services publish, the ports handlers are written against, and their adapters: local
//! (filesystem, SQLite, the embedded bus) and, with feature `aws`, S3, DynamoDB and
//! EventBridge; with feature `lambda`, the glue that runs a handler as a Lambda function.
//! The analysis ports more than one service reads through live here too, with their local
//! and AWS adapters: [`vision`] (tesseract, a Haar cascade; Rekognition with feature
//! `rekognition`) and [`language`] (YAKE and VADER; Comprehend with feature `comprehend`).

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "bedrock")]
pub mod bedrock;
pub mod claim;
#[cfg(feature = "embed")]
pub mod embed;
pub mod env;
pub mod faults;
pub mod handler;
pub mod iam;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod language;
pub mod local;
pub mod pattern;
pub mod ports;
pub mod retry;
pub mod rules;
pub mod similar;
pub mod vision;
pub mod work;

pub use handler::{Failure, Handler, HandlerError, Ports};
pub use pattern::{Pattern, PatternError};
pub use rules::{Rule, Subscriptions};
pub use work::AssetWork;

/// The generative model every Bedrock feature uses unless configured otherwise: Claude Haiku
/// 4.5 through the global cross-region inference profile.
pub const DEFAULT_BEDROCK_MODEL_ID: &str = "global.anthropic.claude-haiku-4-5-20251001-v1:0";
