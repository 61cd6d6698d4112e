//! The catalog: every event mediasift produces or consumes, with its source, detail-type,
//! schema and example. It is the public API; `contracts/` and `docs/events.md` are generated
//! from it.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::envelope::{Envelope, EventDetail};
use schemars::generate::SchemaGenerator;

use crate::registry::{detail_schema, json_schema, registry_schema};
use crate::sources;
use crate::*;

/// Who emits an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Producer {
    /// An AWS service (or, locally, its stand-in: the local object store emits `Object Created`).
    Aws(&'static str),
    /// A mediasift service, by name (`ingest`, `video`, ...).
    Service(&'static str),
}

impl Producer {
    pub fn name(self) -> &'static str {
        match self {
            Self::Aws(name) | Self::Service(name) => name,
        }
    }
}

/// One (source, detail-type) pair of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct CatalogEntry {
    pub source: &'static str,
    pub detail_type: &'static str,
    /// The detail's schema name, e.g. `VideoIngested`.
    pub schema_name: &'static str,
    pub schema_version: &'static str,
    pub producer: Producer,
    /// One sentence: when the event is emitted.
    pub description: &'static str,
    json_schema: fn() -> Value,
    registry_schema: fn(&str) -> Value,
    detail_schema: fn(&mut SchemaGenerator) -> Value,
    example: fn(&'static str) -> Value,
}

impl CatalogEntry {
    fn of<D: EventDetail>(
        source: &'static str,
        producer: Producer,
        description: &'static str,
    ) -> Self {
        Self {
            source,
            detail_type: D::DETAIL_TYPE,
            schema_name: D::SCHEMA_NAME,
            schema_version: D::SCHEMA_VERSION,
            producer,
            description,
            json_schema: json_schema::<D>,
            registry_schema: registry_schema::<D>,
            detail_schema: detail_schema::<D>,
            example: example_event::<D>,
        }
    }

    /// The registry's name for the schema: `source@SchemaName`, as EventBridge schema
    /// discovery names them.
    pub fn registry_name(&self) -> String {
        format!("{}@{}", self.source, self.schema_name)
    }

    /// JSON Schema (2020-12) of the whole event.
    pub fn json_schema(&self) -> Value {
        (self.json_schema)()
    }

    /// The EventBridge Schema Registry document (OpenAPI 3).
    pub fn registry_schema(&self) -> Value {
        (self.registry_schema)(self.source)
    }

    /// The detail's schema, added to `generator`'s definitions (usually a `$ref` to them), for
    /// documents that gather many events' schemas in one place.
    pub fn detail_schema(&self, generator: &mut SchemaGenerator) -> Value {
        (self.detail_schema)(generator)
    }

    /// A realistic example of the whole event.
    pub fn example(&self) -> Value {
        (self.example)(self.source)
    }
}

/// Every event, in pipeline order. `Processing Failed` appears once per service, since each
/// service publishes it under its own source.
pub fn catalog() -> Vec<CatalogEntry> {
    use Producer::{Aws, Service};
    let mut entries = vec![
        CatalogEntry::of::<ObjectCreated>(
            sources::S3,
            Aws("s3"),
            "An object was written to the ingest bucket (S3 EventBridge notifications; locally, the object store).",
        ),
        CatalogEntry::of::<MediaConvertJobStateChange>(
            sources::MEDIACONVERT,
            Aws("mediaconvert"),
            "A MediaConvert job changed state; ingest continues on COMPLETE or ERROR of its proxy jobs.",
        ),
        CatalogEntry::of::<TranscribeJobStateChange>(
            sources::TRANSCRIBE,
            Aws("transcribe"),
            "A Transcribe job completed or failed; audio continues with the transcript.",
        ),
        CatalogEntry::of::<VideoIngested>(
            sources::INGEST,
            Service("ingest"),
            "A video asset is identified, checksummed, described and proxied; lists the analyses that follow.",
        ),
        CatalogEntry::of::<AudioIngested>(
            sources::INGEST,
            Service("ingest"),
            "An audio asset is identified, checksummed, described and proxied; lists the analyses that follow.",
        ),
        CatalogEntry::of::<ImageIngested>(
            sources::INGEST,
            Service("ingest"),
            "An image asset is identified, checksummed, described and proxied; lists the analyses that follow.",
        ),
        CatalogEntry::of::<DocumentIngested>(
            sources::INGEST,
            Service("ingest"),
            "A document asset is identified, checksummed, described and rendered; lists the analyses that follow.",
        ),
        CatalogEntry::of::<IngestHashingContinued>(
            sources::INGEST,
            Service("ingest"),
            "Ingest hashed one time-budgeted slice of a large object and continues from the saved state (ingest consumes it).",
        ),
        CatalogEntry::of::<VideoAnalysisCompleted>(
            sources::VIDEO,
            Service("video"),
            "Shots, technical cues, dynamic frame selection and vision results of a video are ready.",
        ),
        CatalogEntry::of::<AudioAnalysisCompleted>(
            sources::AUDIO,
            Service("audio"),
            "Loudness per track, transcript, captions and language analysis of an asset's audio are ready.",
        ),
        CatalogEntry::of::<ImageAnalysisCompleted>(
            sources::IMAGE,
            Service("image"),
            "EXIF summary, perceptual hash and vision results of an image are ready.",
        ),
        CatalogEntry::of::<DocumentAnalysisCompleted>(
            sources::DOCUMENT,
            Service("document"),
            "Page text (text layer or OCR), keyphrases and entities of a document are ready.",
        ),
        CatalogEntry::of::<ScenesDetected>(
            sources::SCENE,
            Service("scene"),
            "Shots are grouped into scenes with taxonomy, once an asset's video and audio analyses have arrived.",
        ),
        CatalogEntry::of::<AdBreaksDetected>(
            sources::ADBREAK,
            Service("adbreak"),
            "Ranked ad-break positions at scene boundaries, with VMAP and EDL, are ready.",
        ),
        CatalogEntry::of::<AssetAnalysisCompleted>(
            sources::GRAPH,
            Service("graph"),
            "Every planned analysis of an asset has completed or failed: the one event a third party waits for.",
        ),
    ];
    for service in crate::SERVICES {
        let source = sources::of_service(service).expect("every service has a source");
        entries.push(CatalogEntry::of::<ProcessingFailed>(
            source,
            Service(service),
            "The service gave up on an event; the cause and what to do are in the detail.",
        ));
    }
    entries
}

/// The catalog entry for a (source, detail-type) pair.
pub fn entry_for(source: &str, detail_type: &str) -> Option<CatalogEntry> {
    catalog()
        .into_iter()
        .find(|e| e.source == source && e.detail_type == detail_type)
}

/// The example event: `D::example()` in an envelope with a deterministic id and time, its
/// producer fields set to the source's service.
fn example_event<D: EventDetail>(source: &'static str) -> Value {
    let mut detail = serde_json::to_value(D::example()).expect("examples serialize");
    let service = source.strip_prefix("mediasift.");
    if let (Some(service), Some(obj)) = (service, detail.as_object_mut()) {
        if obj.contains_key("service") {
            obj.insert("service".into(), service.into());
            // A service's failure ends the analysis it does.
            let analysis = match service {
                "video" => Some(AnalysisKind::Video),
                "audio" => Some(AnalysisKind::Audio),
                "image" => Some(AnalysisKind::Image),
                "document" => Some(AnalysisKind::Document),
                "scene" => Some(AnalysisKind::Scenes),
                "adbreak" => Some(AnalysisKind::AdBreaks),
                _ => None,
            };
            if let Some(analysis) = analysis {
                let analysis = serde_json::to_value(analysis).expect("kinds serialize");
                obj.insert("analysis".into(), analysis);
            }
        }
        if let Some(Value::Object(metadata)) = obj.get_mut("metadata") {
            metadata.insert("producer".into(), format!("mediasift-{service}").into());
        }
    }
    let resources = match source {
        sources::S3 => vec!["arn:aws:s3:::mediasift-ingest-123456789012".to_owned()],
        sources::MEDIACONVERT => {
            vec!["arn:aws:mediaconvert:eu-west-1:123456789012:jobs/1795252790123-abc123".to_owned()]
        }
        _ => vec![],
    };
    let time: DateTime<Utc> = "2026-11-21T09:30:00Z".parse().expect("valid time");
    let event = Envelope {
        version: "0".into(),
        id: Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!("{source}/{}", D::DETAIL_TYPE).as_bytes(),
        )
        .to_string(),
        detail_type: D::DETAIL_TYPE.into(),
        source: source.into(),
        account: "123456789012".into(),
        time,
        region: "eu-west-1".into(),
        resources,
        detail,
    };
    serde_json::to_value(event).expect("examples serialize")
}
