//! AWS adapters (feature `aws`): the ports on S3 ([`S3ObjectStore`]), DynamoDB
//! ([`DynamoStateStore`]) and EventBridge ([`EventBridgePublisher`]), with the real SDK clients.
//!
//! Build them from one [`aws_config::SdkConfig`], loaded once per process with
//! [`load_sdk_config`] (or [`AwsConfig`]): on AWS from the environment (the Lambda role and
//! region); against an emulator such as moto with an endpoint override.
//!
//! Every SDK error is mapped onto the port's error enum, whose `is_retryable()` is true for
//! throttling, 5xx answers, timeouts and connection failures, and false otherwise. The
//! classifier, [`Fault`], is public so that the services' own AWS clients (MediaConvert,
//! Rekognition) decide the same way.

mod config;
pub mod dynamodb;
mod errors;
pub mod eventbridge;
mod s3;

pub use config::{AwsConfig, load_sdk_config};
pub use dynamodb::DynamoStateStore;
pub use errors::{Fault, is_transient_code};
pub use eventbridge::EventBridgePublisher;
pub use s3::S3ObjectStore;
