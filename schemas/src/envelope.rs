use chrono::{DateTime, SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// A detail type: the Rust type of one event's `detail`, tied to its `detail-type`.
pub trait EventDetail: Serialize + DeserializeOwned + JsonSchema {
    /// The EventBridge `detail-type`, e.g. `Video Ingested`.
    const DETAIL_TYPE: &'static str;
    /// The schema's name in the registry and in `contracts/`, e.g. `VideoIngested`.
    const SCHEMA_NAME: &'static str;
    /// `major.minor` of this detail's schema. Additive changes bump the minor.
    const SCHEMA_VERSION: &'static str;
    /// A realistic example, used for `contracts/examples/` and the contract tests.
    fn example() -> Self;
}

/// The Amazon EventBridge envelope around every event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope<D> {
    /// Envelope version; always `0`.
    pub version: String,
    /// Unique id of this event. Consumers use it for de-duplication and as causation id.
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// `mediasift.<service>` for mediasift events, `aws.<service>` for AWS's.
    pub source: String,
    /// AWS account id (`000000000000` locally).
    pub account: String,
    /// When the event happened, RFC 3339 in UTC.
    #[serde(with = "rfc3339")]
    #[schemars(with = "DateTime<Utc>")]
    pub time: DateTime<Utc>,
    pub region: String,
    /// ARNs or URIs of the resources the event concerns (for mediasift, the asset's source object).
    #[serde(default)]
    pub resources: Vec<String>,
    pub detail: D,
}

/// An event whose detail has not been decoded: what the bus routes and stores.
pub type RawEvent = Envelope<Value>;

impl<D: EventDetail> Envelope<D> {
    /// A new event with a random id, stamped now.
    pub fn new(source: &str, detail: D) -> Self {
        Self {
            version: "0".into(),
            id: Uuid::new_v4().to_string(),
            detail_type: D::DETAIL_TYPE.into(),
            source: source.into(),
            account: "000000000000".into(),
            time: Utc::now(),
            region: "local".into(),
            resources: Vec::new(),
            detail,
        }
    }

    /// Encodes the detail, for routing and storage.
    pub fn to_raw(&self) -> Result<RawEvent, serde_json::Error> {
        Ok(Envelope {
            version: self.version.clone(),
            id: self.id.clone(),
            detail_type: self.detail_type.clone(),
            source: self.source.clone(),
            account: self.account.clone(),
            time: self.time,
            region: self.region.clone(),
            resources: self.resources.clone(),
            detail: serde_json::to_value(&self.detail)?,
        })
    }
}

impl RawEvent {
    /// Decodes the detail as `D`, tolerating unknown fields.
    pub fn decode<D: EventDetail>(&self) -> Result<Envelope<D>, serde_json::Error> {
        Ok(Envelope {
            version: self.version.clone(),
            id: self.id.clone(),
            detail_type: self.detail_type.clone(),
            source: self.source.clone(),
            account: self.account.clone(),
            time: self.time,
            region: self.region.clone(),
            resources: self.resources.clone(),
            detail: D::deserialize(&self.detail)?,
        })
    }

    /// The correlation id of the chain this event belongs to: the one in its metadata, or, for
    /// an event from outside mediasift (an S3 upload), its own id, which starts the chain.
    pub fn correlation_id(&self) -> String {
        self.detail
            .pointer("/metadata/correlationId")
            .and_then(Value::as_str)
            .map_or_else(|| self.id.clone(), str::to_owned)
    }
}

/// EventBridge writes `time` as `2024-01-01T00:00:00Z` (whole seconds, `Z`); we write the same
/// and read any RFC 3339 time.
mod rfc3339 {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}
