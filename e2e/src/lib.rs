//! End-to-end test support. The tests live in `tests/`:
//!
//! - `aws_adapters.rs`: the S3, DynamoDB and EventBridge adapters with the real SDK clients
//!   against a moto server on loopback ([`moto::MotoServer`]);
//! - `aws_path.rs`: choreography on the AWS path ([`aws_path::AwsPath`]): EventBridge rules
//!   routing to one SQS queue per service, drained by [`aws_path::ServicePoller`]s.
//!
//! moto is installed by `scripts/setup.sh` into `.venv`; a test that cannot start it fails
//! (it never skips).

pub mod aws_path;
pub mod moto;
