//! The AWS path, on an emulator: a custom EventBridge bus with each service's rules targeting
//! an SQS queue per service, S3 buckets whose `Object Created` events reach the bus through a
//! rule on the default bus (as Terraform wires it), a DynamoDB state table, and a
//! [`ServicePoller`] per service that stands in for Lambda: it long-polls the service's queue,
//! runs the handler with the AWS adapters, publishes what it returns with PutEvents, and
//! deletes the message only once that is done.
//!
//! Routing is EventBridge's own (the emulator's rule matching), never the local matcher.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::Target;
use aws_sdk_s3::types::{EventBridgeConfiguration, NotificationConfiguration};
use aws_sdk_sqs::types::{Message, QueueAttributeName};
use mediasift_kit::aws::{DynamoStateStore, EventBridgePublisher, S3ObjectStore};
use mediasift_kit::handler::{Handler, HandlerError, Ports, failure_event};
use mediasift_kit::ports::{EventPublisher, SystemClock};
use mediasift_kit::rules::Subscriptions;
use mediasift_schemas::{RawEvent, sources};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::moto::{ACCOUNT, REGION};

/// The version the pollers stamp on `Processing Failed`.
const PRODUCER_VERSION: &str = env!("CARGO_PKG_VERSION");
/// How long a received message stays invisible to other receivers. Long enough for a test
/// handler; a retryable failure shortens it to the poller's retry delay.
const VISIBILITY_TIMEOUT_SECS: i32 = 30;

/// Reads every `contracts/rules/<service>.json` in `dir` (none when the directory does not
/// exist yet), in file-name order.
pub fn load_contract_rules(dir: &Path) -> Result<Vec<Subscriptions>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut paths = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("listing {}", dir.display()))?;
    paths.retain(|p| p.extension().is_some_and(|ext| ext == "json"));
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
        })
        .collect()
}

/// Everything the AWS path is made of, provisioned on one account (an emulator's).
#[derive(Debug, Clone)]
pub struct AwsPath {
    sdk: SdkConfig,
    /// Prefix of every resource name, so several paths can share one account.
    pub name: String,
    pub bus_name: String,
    pub bus_arn: String,
    pub ingest_bucket: String,
    pub derived_bucket: String,
    pub state_table: String,
    /// Queue URL of each service, by service name.
    pub queues: BTreeMap<String, String>,
    /// Queue URL of the catch-all queue that receives every mediasift event (what a third
    /// party or an operator would subscribe).
    pub catch_all_queue: String,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
}

impl AwsPath {
    /// Creates the bus, buckets, table, queues and rules for `subscriptions`, names prefixed
    /// with `name` (lower-case letters, digits and dashes).
    pub async fn provision(
        sdk: &SdkConfig,
        name: &str,
        subscriptions: &[Subscriptions],
    ) -> Result<Self> {
        let s3 = S3ObjectStore::new(sdk).client().clone();
        let mut path = Self {
            sdk: sdk.clone(),
            name: name.to_owned(),
            bus_name: format!("{name}-bus"),
            bus_arn: String::new(),
            ingest_bucket: format!("{name}-ingest"),
            derived_bucket: format!("{name}-derived"),
            state_table: format!("{name}-state"),
            queues: BTreeMap::new(),
            catch_all_queue: String::new(),
            s3,
            sqs: aws_sdk_sqs::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
        };
        path.bus_arn = path.create_bus().await?;
        path.create_buckets().await?;
        path.forward_s3_events().await?;
        DynamoStateStore::new(sdk, &path.state_table)
            .create_table()
            .await
            .context("creating the state table")?;
        for service in subscriptions {
            let queue = path.subscribe_queue(service).await?;
            path.queues.insert(service.service.clone(), queue);
        }
        let catch_all = Subscriptions::new(
            "all",
            vec![mediasift_kit::Rule::new(
                "every-mediasift-event",
                "Every event a mediasift service publishes",
                json!({ "source": sources::MEDIASIFT }),
            )],
        );
        path.catch_all_queue = path.subscribe_queue(&catch_all).await?;
        Ok(path)
    }

    async fn create_bus(&self) -> Result<String> {
        let created = self
            .events
            .create_event_bus()
            .name(&self.bus_name)
            .send()
            .await
            .with_context(|| format!("creating event bus {}", self.bus_name))?;
        Ok(created
            .event_bus_arn()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!(
                    "arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{}",
                    self.bus_name
                )
            }))
    }

    async fn create_buckets(&self) -> Result<()> {
        for bucket in [&self.ingest_bucket, &self.derived_bucket] {
            self.s3
                .create_bucket()
                .bucket(bucket)
                .send()
                .await
                .with_context(|| format!("creating bucket {bucket}"))?;
        }
        // Only the ingest bucket notifies: outputs can never re-trigger ingest.
        self.s3
            .put_bucket_notification_configuration()
            .bucket(&self.ingest_bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .event_bridge_configuration(EventBridgeConfiguration::builder().build())
                    .build(),
            )
            .send()
            .await
            .context("enabling EventBridge notifications on the ingest bucket")?;
        Ok(())
    }

    /// S3 sends its events to the default bus; a rule there forwards the ingest bucket's
    /// `Object Created` events to the mediasift bus.
    async fn forward_s3_events(&self) -> Result<()> {
        let rule = format!("{}-s3-to-bus", self.name);
        let pattern = json!({
            "source": [sources::S3],
            "detail-type": ["Object Created"],
            "detail": { "bucket": { "name": [self.ingest_bucket] } },
        });
        self.events
            .put_rule()
            .name(&rule)
            .event_bus_name("default")
            .event_pattern(pattern.to_string())
            .send()
            .await
            .with_context(|| format!("creating rule {rule}"))?;
        let target = Target::builder()
            .id("mediasift-bus")
            .arn(&self.bus_arn)
            .role_arn(format!(
                "arn:aws:iam::{ACCOUNT}:role/{}-forward-s3-events",
                self.name
            ))
            .build()
            .context("building the forwarding target")?;
        self.put_target(&rule, "default", target).await
    }

    /// A queue for `service`, and one rule per subscription rule on the bus targeting it.
    async fn subscribe_queue(&self, service: &Subscriptions) -> Result<String> {
        let queue_name = resource_name(&format!("{}-{}", self.name, service.service), 80);
        let created = self
            .sqs
            .create_queue()
            .queue_name(&queue_name)
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                VISIBILITY_TIMEOUT_SECS.to_string(),
            )
            .send()
            .await
            .with_context(|| format!("creating queue {queue_name}"))?;
        let queue_url = created
            .queue_url()
            .with_context(|| format!("CreateQueue {queue_name} returned no URL"))?
            .to_owned();
        let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}");
        // As Terraform does: let the bus's rules send to the queue.
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": "events.amazonaws.com" },
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            }],
        });
        self.sqs
            .set_queue_attributes()
            .queue_url(&queue_url)
            .attributes(QueueAttributeName::Policy, policy.to_string())
            .send()
            .await
            .with_context(|| format!("setting the policy of {queue_name}"))?;

        for rule in &service.rules {
            rule.compile().with_context(|| {
                format!("rule {} of {} does not compile", rule.name, service.service)
            })?;
            let rule_name = resource_name(
                &format!("{}-{}-{}", self.name, service.service, rule.name),
                64,
            );
            self.events
                .put_rule()
                .name(&rule_name)
                .event_bus_name(&self.bus_name)
                .description(&rule.description)
                .event_pattern(rule.event_pattern.to_string())
                .send()
                .await
                .with_context(|| format!("creating rule {rule_name}"))?;
            let target = Target::builder()
                .id(resource_name(&service.service, 64))
                .arn(&queue_arn)
                .build()
                .context("building a queue target")?;
            self.put_target(&rule_name, &self.bus_name, target).await?;
        }
        Ok(queue_url)
    }

    async fn put_target(&self, rule: &str, bus: &str, target: Target) -> Result<()> {
        let put = self
            .events
            .put_targets()
            .rule(rule)
            .event_bus_name(bus)
            .targets(target)
            .send()
            .await
            .with_context(|| format!("adding a target to rule {rule}"))?;
        if put.failed_entry_count() > 0 {
            bail!(
                "adding a target to rule {rule} failed: {:?}",
                put.failed_entries()
            );
        }
        Ok(())
    }

    /// The ports handlers get: S3 and DynamoDB adapters on this path's resources.
    pub fn ports(&self) -> Ports {
        Ports {
            objects: Arc::new(S3ObjectStore::new(&self.sdk)),
            state: Arc::new(DynamoStateStore::new(&self.sdk, &self.state_table)),
            clock: Arc::new(SystemClock),
            derived_bucket: self.derived_bucket.clone(),
            ingest_bucket: self.ingest_bucket.clone(),
        }
    }

    /// A publisher to this path's bus.
    pub fn publisher(&self) -> EventBridgePublisher {
        EventBridgePublisher::new(&self.sdk, &self.bus_name)
    }

    /// A poller running `handler` on its service's queue.
    pub fn poller(&self, handler: Arc<dyn Handler>) -> Result<ServicePoller> {
        let service = handler.service();
        let queue_url = self
            .queues
            .get(service)
            .with_context(|| {
                format!("no queue for service {service}: provision it with its subscriptions")
            })?
            .clone();
        Ok(ServicePoller {
            handler,
            ports: self.ports(),
            publisher: Arc::new(self.publisher()),
            sqs: self.sqs.clone(),
            queue_url,
            retry_delay: Duration::from_secs(1),
        })
    }

    /// Events on the catch-all queue, waiting up to `wait` for the first ones; each is
    /// deleted once read.
    pub async fn receive_catch_all(&self, wait: Duration) -> Result<Vec<RawEvent>> {
        let messages = receive(&self.sqs, &self.catch_all_queue, wait).await?;
        let mut events = Vec::with_capacity(messages.len());
        for message in messages {
            let event = decode(&message)?;
            delete(&self.sqs, &self.catch_all_queue, &message).await?;
            events.push(event);
        }
        Ok(events)
    }

    /// Reads the catch-all queue until `found` is true of the events seen so far, or
    /// `timeout` passes; returns every event seen.
    pub async fn watch_catch_all(
        &self,
        timeout: Duration,
        found: impl Fn(&[RawEvent]) -> bool,
    ) -> Result<Vec<RawEvent>> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while !found(&seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let kinds: Vec<&str> = seen
                    .iter()
                    .map(|e: &RawEvent| e.detail_type.as_str())
                    .collect();
                bail!(
                    "gave up after {}s; the catch-all queue saw {kinds:?}",
                    timeout.as_secs()
                );
            }
            seen.extend(
                self.receive_catch_all(left.min(Duration::from_secs(2)))
                    .await?,
            );
        }
        Ok(seen)
    }

    /// Waits until the queues of `services` are empty (nothing waiting, nothing in flight), or
    /// fails after `timeout`. Pollers must still be running for the queues to drain.
    pub async fn wait_until_drained(&self, services: &[&str], timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut depths = Vec::with_capacity(services.len());
            for service in services {
                depths.push((*service, self.queue_depth(service).await?));
            }
            if depths.iter().all(|(_, depth)| *depth == 0) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "queues not drained after {}s: {depths:?}",
                    timeout.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Messages waiting or in flight on a service's queue (SQS's approximate counts).
    pub async fn queue_depth(&self, service: &str) -> Result<u64> {
        let queue_url = self
            .queues
            .get(service)
            .with_context(|| format!("no queue for {service}"))?;
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .context("GetQueueAttributes")?;
        let count = |name: QueueAttributeName| -> u64 {
            attributes
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(count(QueueAttributeName::ApproximateNumberOfMessages)
            + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handled; its events were published and the message deleted.
    Handled { published: usize },
    /// A permanent failure: `Processing Failed` was published and the message deleted.
    Failed { error_code: String },
    /// Left on the queue to be delivered again after the retry delay.
    Retry { reason: String },
    /// Not an EventBridge event: deleted (on AWS the queue's redrive policy would move it to
    /// a dead-letter queue instead).
    Undecodable { reason: String },
}

/// Lambda's part on the AWS path, for one service: poll, handle, publish, delete.
pub struct ServicePoller {
    handler: Arc<dyn Handler>,
    ports: Ports,
    publisher: Arc<dyn EventPublisher>,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    retry_delay: Duration,
}

impl std::fmt::Debug for ServicePoller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServicePoller")
            .field("service", &self.handler.service())
            .field("queue_url", &self.queue_url)
            .finish_non_exhaustive()
    }
}

impl ServicePoller {
    /// Publishes with `publisher` instead of the path's EventBridge publisher.
    pub fn with_publisher(mut self, publisher: Arc<dyn EventPublisher>) -> Self {
        self.publisher = publisher;
        self
    }

    /// How long a message that failed retryably stays invisible before redelivery.
    pub fn with_retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    pub fn service(&self) -> &'static str {
        self.handler.service()
    }

    /// Receives what is on the queue (waiting up to `wait` for something) and handles it.
    pub async fn poll_once(&self, wait: Duration) -> Result<Vec<Outcome>> {
        let messages = receive(&self.sqs, &self.queue_url, wait).await?;
        let mut outcomes = Vec::with_capacity(messages.len());
        for message in &messages {
            let outcome = self.process(message).await;
            match &outcome {
                Outcome::Retry { reason } => {
                    tracing::info!(service = self.service(), %reason, "leaving the message for redelivery");
                    let seconds = i32::try_from(self.retry_delay.as_secs()).unwrap_or(i32::MAX);
                    if let Some(receipt) = message.receipt_handle() {
                        self.sqs
                            .change_message_visibility()
                            .queue_url(&self.queue_url)
                            .receipt_handle(receipt)
                            .visibility_timeout(seconds)
                            .send()
                            .await
                            .context("ChangeMessageVisibility")?;
                    }
                }
                _ => delete(&self.sqs, &self.queue_url, message).await?,
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    async fn process(&self, message: &Message) -> Outcome {
        let event = match decode(message) {
            Ok(event) => event,
            Err(e) => {
                tracing::error!(service = self.service(), error = %e, "undecodable message");
                return Outcome::Undecodable {
                    reason: format!("{e:#}"),
                };
            }
        };
        match self.handler.handle(&event, &self.ports).await {
            Ok(events) => match self.publisher.publish(&events).await {
                Ok(()) => Outcome::Handled {
                    published: events.len(),
                },
                Err(e) => Outcome::Retry {
                    reason: format!("publishing: {e}"),
                },
            },
            Err(HandlerError::Retryable(reason)) => Outcome::Retry { reason },
            Err(HandlerError::Permanent(failure)) => {
                let failed = failure_event(self.service(), &event, &failure, PRODUCER_VERSION);
                match self.publisher.publish(&[failed]).await {
                    Ok(()) => Outcome::Failed {
                        error_code: failure.error_code.clone(),
                    },
                    Err(e) => Outcome::Retry {
                        reason: format!("publishing Processing Failed: {e}"),
                    },
                }
            }
        }
    }

    /// Polls until stopped, in a task.
    pub fn spawn(self) -> RunningPoller {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let task = tokio::spawn(async move {
            let mut outcomes = Vec::new();
            while !stopping.load(Ordering::Relaxed) {
                match self.poll_once(Duration::from_secs(1)).await {
                    Ok(batch) => outcomes.extend(batch),
                    Err(e) => {
                        tracing::warn!(service = self.service(), error = %format!("{e:#}"), "poll failed");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
            outcomes
        });
        RunningPoller { stop, task }
    }
}

/// A poller running in a task.
#[derive(Debug)]
pub struct RunningPoller {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Vec<Outcome>>,
}

impl RunningPoller {
    /// Stops polling (after the poll in progress, bounded) and returns every outcome.
    pub async fn stop(self) -> Result<Vec<Outcome>> {
        self.stop.store(true, Ordering::Relaxed);
        let abort = self.task.abort_handle();
        match tokio::time::timeout(Duration::from_secs(30), self.task).await {
            Ok(joined) => joined.context("the poller task failed"),
            Err(_) => {
                abort.abort();
                bail!("the poller did not stop within 30 s")
            }
        }
    }
}

async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    wait: Duration,
) -> Result<Vec<Message>> {
    let wait = i32::try_from(wait.as_secs().min(20)).unwrap_or(20);
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait)
        .send()
        .await
        .with_context(|| format!("ReceiveMessage from {queue_url}"))?;
    Ok(received.messages.unwrap_or_default())
}

async fn delete(sqs: &aws_sdk_sqs::Client, queue_url: &str, message: &Message) -> Result<()> {
    let Some(receipt) = message.receipt_handle() else {
        return Ok(());
    };
    sqs.delete_message()
        .queue_url(queue_url)
        .receipt_handle(receipt)
        .send()
        .await
        .with_context(|| format!("DeleteMessage from {queue_url}"))?;
    Ok(())
}

fn decode(message: &Message) -> Result<RawEvent> {
    decode_event(message.body().context("the message has no body")?)
}

/// The EventBridge event an SQS target received as a message body.
///
/// moto's default target template leaves out the envelope's `account`, which EventBridge
/// always sends; it is filled in with moto's account so the envelope decodes as on AWS.
pub fn decode_event(body: &str) -> Result<RawEvent> {
    let mut value: Value = serde_json::from_str(body).context("the message body is not JSON")?;
    if let Value::Object(envelope) = &mut value {
        envelope
            .entry("account")
            .or_insert_with(|| Value::String(ACCOUNT.to_owned()));
    }
    serde_json::from_value(value).context("the message body is not an EventBridge event")
}

/// `text` as an AWS resource name: letters, digits, `-` and `_` only, at most `max` long.
fn resource_name(text: &str, max: usize) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_are_sanitised() {
        assert_eq!(
            resource_name("path-video-Video Ingested", 64),
            "path-video-Video-Ingested"
        );
        assert_eq!(resource_name(&"x".repeat(100), 64).len(), 64);
    }

    #[test]
    fn contract_rules_load_from_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            load_contract_rules(&dir.path().join("missing"))
                .unwrap()
                .is_empty()
        );
        let subscriptions = Subscriptions::new(
            "video",
            vec![mediasift_kit::Rule::new(
                "video-ingested",
                "d",
                json!({"source": ["mediasift.ingest"], "detail-type": ["Video Ingested"]}),
            )],
        );
        std::fs::write(
            dir.path().join("video.json"),
            serde_json::to_string(&subscriptions).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.path().join("README.md"), "not a rule").unwrap();
        assert_eq!(
            load_contract_rules(dir.path()).unwrap(),
            vec![subscriptions]
        );
    }
}
