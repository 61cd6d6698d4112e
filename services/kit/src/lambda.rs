//! Lambda glue: any [`Handler`] as a `lambda_runtime` function for EventBridge events.
//!
//! Configuration comes from environment variables, read once at cold start. A retryable
//! error fails the invocation, so Lambda retries it (and, once its retries are spent, sends it
//! to the function's on-failure destination); a permanent error publishes `Processing Failed`
//! and returns success, so nothing loops. Logs are JSON lines for CloudWatch.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use mediasift_schemas::RawEvent;
use serde_json::Value;

use crate::aws::{DynamoStateStore, EventBridgePublisher, S3ObjectStore, load_sdk_config};
use crate::handler::{Handler, HandlerError, Ports, failure_event};
use crate::ports::{EventPublisher, SystemClock};

/// The environment a service function reads at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaConfig {
    pub ingest_bucket: String,
    pub derived_bucket: String,
    /// DynamoDB table (or table-name prefix) for the state store.
    pub state_table: String,
    pub event_bus: String,
    /// An endpoint override (an emulator); unset on AWS.
    pub endpoint_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set; the Terraform service module sets it")]
    Missing(&'static str),
}

impl LambdaConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        Ok(Self {
            ingest_bucket: required("MEDIASIFT_INGEST_BUCKET")?,
            derived_bucket: required("MEDIASIFT_DERIVED_BUCKET")?,
            state_table: required("MEDIASIFT_STATE_TABLE")?,
            event_bus: required("MEDIASIFT_EVENT_BUS")?,
            endpoint_url: lookup("AWS_ENDPOINT_URL").filter(|v| !v.is_empty()),
        })
    }
}

/// Why an invocation failed (and so will be retried by Lambda).
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("the payload is not an EventBridge event: {0}")]
    NotAnEvent(serde_json::Error),
    #[error("retryable: {0}")]
    Retryable(String),
    #[error("could not publish: {0}")]
    Publish(#[from] crate::ports::PublishError),
}

/// Handles one invocation: decode, handle, publish what the handler returns, or publish
/// `Processing Failed` for a permanent error. Separate from [`run`] so it is testable
/// without a Lambda runtime.
pub async fn invoke(
    handler: &dyn Handler,
    ports: &Ports,
    publisher: &dyn EventPublisher,
    payload: Value,
) -> Result<(), InvocationError> {
    let event: RawEvent = serde_json::from_value(payload).map_err(InvocationError::NotAnEvent)?;
    let span = tracing::info_span!(
        "event",
        service = handler.service(),
        id = %event.id,
        detail_type = %event.detail_type,
        correlation_id = %event.correlation_id(),
    );
    let _entered = span.enter();
    match handler.handle(&event, ports).await {
        Ok(events) => {
            tracing::info!(emitted = events.len(), "handled");
            publisher.publish(&events).await?;
            Ok(())
        }
        Err(HandlerError::Retryable(message)) => {
            tracing::warn!(%message, "retryable failure; Lambda will retry");
            Err(InvocationError::Retryable(message))
        }
        Err(HandlerError::Permanent(failure)) => {
            tracing::error!(code = %failure.error_code, cause = %failure.cause, "permanent failure");
            let failed = failure_event(
                handler.service(),
                &event,
                &failure,
                env!("CARGO_PKG_VERSION"),
            );
            publisher.publish(&[failed]).await?;
            Ok(())
        }
    }
}

/// Runs `handler` as a Lambda function until the runtime stops it.
pub async fn run(handler: impl Handler + 'static) -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(true)
        .without_time() // CloudWatch stamps every line
        .init();

    let config = LambdaConfig::from_env()?;
    let sdk = load_sdk_config(config.endpoint_url.as_deref()).await;
    let ports = Ports {
        objects: Arc::new(S3ObjectStore::new(&sdk)),
        state: Arc::new(DynamoStateStore::new(&sdk, &config.state_table)),
        clock: Arc::new(SystemClock),
        derived_bucket: config.derived_bucket.clone(),
        ingest_bucket: config.ingest_bucket.clone(),
    };
    let publisher = EventBridgePublisher::new(&sdk, &config.event_bus);
    let handler = Arc::new(handler);
    let shared = (ports, publisher);
    let shared = &shared;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        invoke(handler.as_ref(), &shared.0, &shared.1, event.payload)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
