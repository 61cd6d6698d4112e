//! The ingest handler: `Object Created` → skip rules → identity → fixity (sliced) → type by
//! content → technical metadata → plan → proxies → `… Ingested`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use mediasift_kit::handler::{caused_by, decode, derived_event_id};
use mediasift_kit::ports::{
    Body, Condition, ObjectMeta, PutOptions, Retryable, StateError, StoreError, Update,
};
use mediasift_kit::{Failure, Handler, HandlerError, Ports, Subscriptions};
use mediasift_media::hash::{HashOptions, HashState, Progress};
use mediasift_media::kind::{self, Detected, KindError, MediaKind};
use mediasift_media::probe::ProbeOptions;
use mediasift_media::process::ToolError;
use mediasift_media::{image, pdf};
use mediasift_schemas::{
    AnalysisPlan, AudioIngestOutputs, AudioIngested, DocumentIngestOutputs, DocumentIngested,
    DocumentSummary, Envelope, EventDetail, Fixity, HashingProgress, ImageIngestOutputs,
    ImageIngested, ImageSummary, IngestHashingContinued, MediaConvertJobStateChange, MediaType,
    ObjectCreated, RawEvent, ResultRef, SourceObject, VideoIngestOutputs, VideoIngested, sources,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::config::IngestConfig;
use crate::options::{GLOBAL_SETTINGS_KEY, Layer, OPTIONS_METADATA};
use crate::proxy::{
    ProxyOutputs, ProxySpec, SourceMedia, Started, TranscodeError, Transcoder, captions,
};
use crate::skip::{self, Skip};
use crate::{SERVICE, fixity, identity, options, technical};

const PRODUCER_VERSION: &str = env!("CARGO_PKG_VERSION");
/// State of proxy jobs that outlive one invocation (MediaConvert), by asset id.
const JOBS_TABLE: &str = "ingest-jobs";
/// Fixity outcomes by `<assetId>/<correlation id>`: what a re-delivered upload reuses.
const FIXITY_TABLE: &str = "ingest-fixity";
const JOB_STATE_TTL: std::time::Duration = std::time::Duration::from_secs(14 * 24 * 3600);

/// The ingest service.
pub struct Ingest {
    config: IngestConfig,
    transcoder: Arc<dyn Transcoder>,
}

impl Ingest {
    pub fn new(config: IngestConfig, transcoder: Arc<dyn Transcoder>) -> Self {
        Self { config, transcoder }
    }

    /// Ingest with the local ffmpeg transcoder.
    pub fn local(config: IngestConfig) -> Self {
        Self::new(
            config,
            Arc::new(crate::proxy::ffmpeg::FfmpegTranscoder::default()),
        )
    }
}

#[async_trait]
impl Handler for Ingest {
    fn service(&self) -> &'static str {
        SERVICE
    }

    fn subscriptions(&self) -> Subscriptions {
        crate::subscriptions()
    }

    async fn handle(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        match (event.source.as_str(), event.detail_type.as_str()) {
            (sources::S3, ObjectCreated::DETAIL_TYPE) => self.object_created(event, ports).await,
            (sources::INGEST, IngestHashingContinued::DETAIL_TYPE) => {
                self.hashing_continued(event, ports).await
            }
            (sources::MEDIACONVERT, MediaConvertJobStateChange::DETAIL_TYPE) => {
                self.job_finished(event, ports).await
            }
            (source, detail_type) => {
                tracing::debug!(source, detail_type, "not an event ingest handles");
                Ok(Vec::new())
            }
        }
    }
}

/// One object being ingested: the event that moved it forward and what is known so far.
struct Asset<'a> {
    cause: &'a RawEvent,
    ports: &'a Ports,
    meta: ObjectMeta,
    id: Uuid,
    source: SourceObject,
}

impl Asset<'_> {
    fn fail(
        &self,
        code: &str,
        cause: impl Into<String>,
        action: impl Into<String>,
    ) -> HandlerError {
        HandlerError::permanent(
            Failure::new(code, cause, action)
                .for_asset(self.id)
                .with_source(self.source.clone()),
        )
    }

    fn key(&self, path: &str) -> String {
        format!("{}/{path}", self.id)
    }

    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.ports.derived_bucket)
    }

    /// Writes `<assetId>/<path>` in the derived bucket; returns its URI.
    async fn put(
        &self,
        path: &str,
        body: Body,
        content_type: &str,
    ) -> Result<String, HandlerError> {
        let key = self.key(path);
        let options = PutOptions {
            content_type: Some(content_type.into()),
            ..PutOptions::default()
        };
        self.ports
            .objects
            .put(&self.ports.derived_bucket, &key, body, options)
            .await
            .map_err(store_error)?;
        Ok(self.uri(&key))
    }

    async fn put_json(&self, path: &str, value: &Value) -> Result<String, HandlerError> {
        let body = serde_json::to_vec_pretty(value).unwrap_or_default();
        self.put(path, Body::Bytes(Bytes::from(body)), "application/json")
            .await
    }

    async fn put_file(
        &self,
        path: &str,
        file: &Path,
        content_type: &str,
    ) -> Result<String, HandlerError> {
        self.put(path, Body::File(file.to_path_buf()), content_type)
            .await
    }

    /// The event `detail` caused by this asset's current event, with a deterministic id.
    fn emit<D: EventDetail>(&self, detail: D) -> RawEvent {
        let mut event = Envelope::new(sources::INGEST, detail);
        event.id = derived_event_id(&self.cause.id, SERVICE, D::DETAIL_TYPE);
        event.time = self.ports.clock.now();
        event.resources = self.cause.resources.clone();
        event.to_raw().expect("ingest events serialise")
    }

    fn metadata(&self) -> mediasift_schemas::EventMetadata {
        caused_by(self.cause, SERVICE, PRODUCER_VERSION)
    }
}

/// What is kept while a MediaConvert job runs, to finish the event when it completes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PendingJob {
    job_id: String,
    media_type: MediaType,
    /// The event that submitted the job (its metadata and id derive the final event's).
    cause: RawEvent,
    source: SourceObject,
    fixity: Fixity,
    technical: Value,
    plan: AnalysisPlan,
    spec: ProxySpec,
    technical_metadata: String,
    captions: Vec<String>,
    /// The job ended without proxies (`ERROR`, `CANCELED`, outputs missing): the upload's
    /// event delivered again (a retry) submits a new job.
    #[serde(default)]
    failed: bool,
}

impl Ingest {
    async fn object_created(
        &self,
        event: &RawEvent,
        ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let created: Envelope<ObjectCreated> = decode(event)?;
        let object = &created.detail.object;
        let bucket = &created.detail.bucket.name;
        let Some(key) = object.decoded_key() else {
            return Err(permanent(
                "InvalidKey",
                format!(
                    "the key {:?} in bucket {bucket} is not valid URL-encoded UTF-8",
                    object.key
                ),
                "Rename the object to a UTF-8 key and upload it again.",
            ));
        };
        if let Some(skip) = skip::check(&ports.ingest_bucket, bucket, &key, object.size) {
            log_skip(bucket, &key, &skip);
            return Ok(Vec::new());
        }
        let meta = match ports.objects.head(bucket, &key).await {
            Ok(meta) => meta,
            Err(StoreError::NotFound { .. }) => {
                let skip = Skip::Superseded {
                    detail: "the object was deleted before it could be ingested".into(),
                };
                log_skip(bucket, &key, &skip);
                return Ok(Vec::new());
            }
            Err(e) => return Err(store_error(e)),
        };
        if let Some(skip) = superseded(&meta, object.version_id.as_deref(), object.etag.as_deref())
        {
            log_skip(bucket, &key, &skip);
            return Ok(Vec::new());
        }
        if meta.size == 0 {
            log_skip(bucket, &key, &Skip::Empty);
            return Ok(Vec::new());
        }
        let source = source_object(&meta);
        let id = identity::asset_id(&meta).map_err(|e| {
            HandlerError::permanent(
                Failure::new(
                    "InvalidAssetId",
                    format!("s3://{bucket}/{key}: {e}"),
                    "Set x-amz-meta-uuid to a UUID (or remove it to let mediasift choose one) \
                     and upload the object again.",
                )
                .with_source(source.clone()),
            )
        })?;
        tracing::info!(asset_id = %id, uri = %source.uri, size = meta.size, "ingesting");
        let asset = Asset {
            cause: event,
            ports,
            meta,
            id,
            source,
        };
        self.hash(asset, None, 0).await
    }

    async fn hashing_continued(
        &self,
        event: &RawEvent,
        ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let continued: Envelope<IngestHashingContinued> = decode(event)?;
        let detail = continued.detail;
        let (bucket, key) = (&detail.source.bucket, &detail.source.key);
        let meta = match ports.objects.head(bucket, key).await {
            Ok(meta) => meta,
            Err(StoreError::NotFound { .. }) => {
                let skip = Skip::Superseded {
                    detail: "the object was deleted while it was being hashed".into(),
                };
                log_skip(bucket, key, &skip);
                return Ok(Vec::new());
            }
            Err(e) => return Err(store_error(e)),
        };
        if let Some(skip) = superseded(
            &meta,
            detail.source.version_id.as_deref(),
            detail.source.etag.as_deref(),
        ) {
            log_skip(bucket, key, &skip);
            return Ok(Vec::new());
        }
        let asset = Asset {
            cause: event,
            ports,
            meta,
            id: detail.asset_id,
            source: detail.source.clone(),
        };
        let state: HashState =
            serde_json::from_value(detail.progress.state.clone()).map_err(|e| {
                asset.fail(
                    "CorruptHashState",
                    format!(
                        "the saved hash state of {} cannot be read: {e}",
                        asset.source.uri
                    ),
                    "Upload the object again (or copy it onto itself) to restart its ingest.",
                )
            })?;
        self.hash(asset, Some(state), detail.progress.slices).await
    }

    /// Hashes one slice; finishes the asset when hashing is done, else carries on by event.
    async fn hash(
        &self,
        asset: Asset<'_>,
        resume: Option<HashState>,
        slices: u32,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        // A re-delivered event (same object version, same upload) reuses the recorded
        // outcome: it neither re-hashes a huge object nor compares with its own tag.
        let record_key = format!("{}/{}", asset.id, asset.cause.correlation_id());
        if let Some(item) = asset
            .ports
            .state
            .get(FIXITY_TABLE, &record_key)
            .await
            .map_err(|e| HandlerError::retryable(e.to_string()))?
            && let Ok(fixity) = serde_json::from_value::<Fixity>(Value::Object(item.value))
        {
            tracing::info!(asset_id = %asset.id, md5 = %fixity.md5, "fixity already recorded for this upload");
            return self.describe(asset, fixity).await;
        }
        let options = HashOptions {
            sha256: self.config.sha256,
        };
        let progress = fixity::hash_slice(
            asset.ports.objects.as_ref(),
            &asset.meta,
            resume.as_ref(),
            options,
            self.config.hash_slice,
        )
        .await;
        let digests = match progress {
            Ok(Progress::Done(digests)) => digests,
            Ok(Progress::Paused(state)) => {
                tracing::info!(
                    asset_id = %asset.id,
                    bytes_hashed = state.bytes_hashed(),
                    total = asset.meta.size,
                    "hash slice done; continuing in a new invocation"
                );
                let detail = IngestHashingContinued {
                    asset_id: asset.id,
                    schema_version: IngestHashingContinued::SCHEMA_VERSION.into(),
                    metadata: asset.metadata(),
                    source: asset.source.clone(),
                    progress: HashingProgress {
                        bytes_hashed: state.bytes_hashed(),
                        total_bytes: asset.meta.size,
                        slices: slices + 1,
                        state: serde_json::to_value(&state).unwrap_or(Value::Null),
                    },
                };
                return Ok(vec![asset.emit(detail)]);
            }
            Err(fixity::FixityError::Store(e)) => return Err(store_error(e)),
            Err(e) => {
                return Err(asset.fail(
                    "HashFailed",
                    e.to_string(),
                    "Retry the event from the dead-letter queue; if it fails again, upload the \
                     object again.",
                ));
            }
        };
        let tags = asset
            .ports
            .objects
            .get_tags(&asset.meta.bucket, &asset.meta.key)
            .await
            .map_err(store_error)?;
        let reference = fixity::reference(&asset.meta, &tags);
        let fixity = fixity::verdict(&asset.meta, &digests, reference);
        if let Err(e) = fixity::tag(asset.ports.objects.as_ref(), &asset.meta, &tags, &fixity).await
        {
            if e.is_retryable() {
                return Err(store_error(e));
            }
            tracing::warn!(asset_id = %asset.id, error = %e, "cannot tag the source object");
        }
        tracing::info!(asset_id = %asset.id, md5 = %fixity.md5, status = ?fixity.status, "fixity");
        if let Ok(Value::Object(record)) = serde_json::to_value(&fixity) {
            asset
                .ports
                .state
                .put(
                    FIXITY_TABLE,
                    &record_key,
                    record,
                    Condition::Always,
                    Some(JOB_STATE_TTL),
                )
                .await
                .map_err(|e| HandlerError::retryable(e.to_string()))?;
        }
        self.describe(asset, fixity).await
    }

    /// Copies the object to scratch, decides its type and dispatches to the type's path.
    async fn describe(
        &self,
        asset: Asset<'_>,
        fixity: Fixity,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        // The upload's event delivered again (at-least-once delivery, a Lambda retry) after its
        // proxy job was submitted: the job's completion finishes the asset, so neither copy the
        // object again nor submit a second job (MediaConvert's idempotency token only covers
        // a minute).
        if let Some(job) = self.job_of_this_upload(&asset).await? {
            tracing::info!(
                asset_id = %asset.id,
                job_id = job.job_id,
                "the proxy job of this upload is already submitted; its completion continues ingest"
            );
            return Ok(Vec::new());
        }
        let scratch = tempfile::Builder::new()
            .prefix("mediasift-ingest-")
            .tempdir_in(&self.config.scratch_dir)
            .map_err(|e| {
                HandlerError::retryable(format!(
                    "cannot create a scratch folder in {}: {e}",
                    self.config.scratch_dir.display()
                ))
            })?;
        let local = scratch
            .path()
            .join(format!("source{}", safe_extension(&asset.meta.key)));
        download(&asset, &local).await?;
        let uri = asset.source.uri.clone();
        self.describe_copy(asset, fixity, &local, scratch.path())
            .await
            .map_err(|error| in_terms_of_the_source(error, scratch.path(), &local, &uri))
    }

    /// The proxy job submitted for the upload `asset.cause` belongs to (same correlation id),
    /// unless it failed.
    async fn job_of_this_upload(
        &self,
        asset: &Asset<'_>,
    ) -> Result<Option<PendingJob>, HandlerError> {
        let Some(item) = asset
            .ports
            .state
            .get(JOBS_TABLE, &asset.id.to_string())
            .await
            .map_err(|e| HandlerError::retryable(e.to_string()))?
        else {
            return Ok(None);
        };
        // Unreadable state (an older layout) is replaced by the new submission.
        let Ok(job) = serde_json::from_value::<PendingJob>(Value::Object(item.value)) else {
            return Ok(None);
        };
        let same_upload = job.cause.correlation_id() == asset.cause.correlation_id();
        Ok((same_upload && !job.failed && !job.job_id.is_empty()).then_some(job))
    }

    async fn describe_copy(
        &self,
        asset: Asset<'_>,
        fixity: Fixity,
        local: &Path,
        scratch: &Path,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let probe_options = ProbeOptions {
            timeout: self.config.probe_timeout,
            mediainfo: true,
        };
        let detected = kind::detect_with(local, probe_options)
            .await
            .map_err(|e| kind_failure(&asset, e))?;
        tracing::info!(asset_id = %asset.id, kind = ?detected.kind, reason = %detected.reason, "type");
        match detected.kind {
            MediaKind::Video | MediaKind::Audio => {
                self.audio_video(asset, fixity, detected, local).await
            }
            MediaKind::Image => self.image(asset, fixity, detected, local, scratch).await,
            MediaKind::Document => self.document(asset, fixity, detected, local, scratch).await,
        }
    }

    /// The plan: defaults, then the global settings, then the asset's own override.
    async fn plan(
        &self,
        asset: &Asset<'_>,
        media_type: MediaType,
        has_audio: bool,
    ) -> Result<AnalysisPlan, HandlerError> {
        let mut layers = Vec::new();
        let ports = asset.ports;
        match ports
            .objects
            .get_bytes(&ports.derived_bucket, GLOBAL_SETTINGS_KEY)
            .await
        {
            Ok(bytes) => {
                let origin = format!("s3://{}/{GLOBAL_SETTINGS_KEY}", ports.derived_bucket);
                let text = String::from_utf8_lossy(&bytes);
                layers.push(Layer::parse(origin, &text).map_err(|e| {
                    asset.fail(
                        "InvalidOptions",
                        e.to_string(),
                        "Fix the global settings object; every asset ingested meanwhile fails.",
                    )
                })?);
            }
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(store_error(e)),
        }
        if !self.config.global_options.is_empty() {
            layers.push(Layer::new(
                "the local configuration [analysis] table",
                self.config.global_options.clone(),
            ));
        }
        if let Some(text) = asset.meta.user_metadata.get(OPTIONS_METADATA) {
            layers.push(
                Layer::parse(format!("x-amz-meta-{OPTIONS_METADATA}"), text).map_err(|e| {
                    asset.fail(
                        "InvalidOptions",
                        format!("{}: {e}", asset.source.uri),
                        "Fix the object's x-amz-meta-mediasift-options and upload it again.",
                    )
                })?,
            );
        }
        options::resolve(media_type, has_audio, &layers).map_err(|e| {
            asset.fail(
                "InvalidOptions",
                format!("{}: {e}", asset.source.uri),
                "Fix the options named and upload the object again.",
            )
        })
    }

    async fn audio_video(
        &self,
        asset: Asset<'_>,
        fixity: Fixity,
        detected: Detected,
        local: &Path,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let Some(probe) = detected.probe.as_ref() else {
            return Err(asset.fail(
                "CorruptMedia",
                format!("{} could not be probed", asset.source.uri),
                "Upload the file again or re-export it.",
            ));
        };
        let summary = &probe.summary;
        let media_type = match detected.kind {
            MediaKind::Video => MediaType::Video,
            _ => MediaType::Audio,
        };
        let plan = self.plan(&asset, media_type, summary.has_audio()).await?;
        let technical = technical::media_document(&detected, &self.transcoder.name());
        let technical_metadata = asset.put_json(technical::TECHNICAL_KEY, &technical).await?;
        let spec = ProxySpec::plan(
            asset.id,
            &asset.ports.derived_bucket,
            summary,
            plan.options.frame_capture_rate,
            &plan.options.renditions,
        )
        .map_err(|e| {
            asset.fail(
                "UnsupportedMedia",
                format!("{}: {e}", asset.source.uri),
                "Re-export the file with a standard video and audio codec and upload it again.",
            )
        })?;
        let captions = self.captions(&asset).await?;
        let source_media = SourceMedia {
            uri: asset.source.uri.clone(),
            local_path: self
                .transcoder
                .needs_local_source()
                .then(|| local.to_path_buf()),
        };
        let started = self
            .transcoder
            .start(&spec, &source_media, asset.ports)
            .await
            .map_err(|e| transcode_failure(&asset, e))?;
        let technical_summary = match media_type {
            MediaType::Video => serde_json::to_value(technical::video_summary(summary)),
            _ => serde_json::to_value(technical::audio_summary(summary)),
        }
        .unwrap_or(Value::Null);
        let pending = PendingJob {
            job_id: String::new(),
            media_type,
            cause: asset.cause.clone(),
            source: asset.source.clone(),
            fixity,
            technical: technical_summary,
            plan,
            spec,
            technical_metadata,
            captions,
            failed: false,
        };
        match started {
            Started::Done(outputs) => Ok(vec![av_event(&asset, pending, &outputs)?]),
            Started::Submitted { job_id } => {
                tracing::info!(asset_id = %asset.id, job_id, "proxy job submitted");
                let pending = PendingJob { job_id, ..pending };
                // Never store an empty record: the job's completion could not finish the asset.
                let Ok(Value::Object(value)) = serde_json::to_value(&pending) else {
                    return Err(asset.fail(
                        "InternalError",
                        format!(
                            "the state of MediaConvert job {} of {} cannot be serialised",
                            pending.job_id, asset.source.uri
                        ),
                        "Report this mediasift bug with the message; cancel the job.",
                    ));
                };
                asset
                    .ports
                    .state
                    .put(
                        JOBS_TABLE,
                        &asset.id.to_string(),
                        value,
                        Condition::Always,
                        Some(JOB_STATE_TTL),
                    )
                    .await
                    .map_err(|e| HandlerError::retryable(e.to_string()))?;
                Ok(Vec::new())
            }
        }
    }

    /// Sidecar captions (`<base>.srt`, `<base>.vtt` beside the source) as WebVTT.
    async fn captions(&self, asset: &Asset<'_>) -> Result<Vec<String>, HandlerError> {
        let mut uris = Vec::new();
        for sidecar in captions::sidecar_keys(&asset.meta.key) {
            let bytes = match asset
                .ports
                .objects
                .get_bytes(&asset.meta.bucket, &sidecar)
                .await
            {
                Ok(bytes) => bytes,
                Err(StoreError::NotFound { .. }) => continue,
                Err(e) => return Err(store_error(e)),
            };
            let text = String::from_utf8_lossy(&bytes);
            let is_srt = sidecar.to_ascii_lowercase().ends_with(".srt");
            let vtt = if is_srt {
                captions::srt_to_vtt(&text)
            } else {
                captions::normalize_vtt(&text)
            };
            match vtt {
                Ok(vtt) => {
                    let name = sidecar.rsplit('/').next().unwrap_or(&sidecar);
                    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
                    let ext = if is_srt { "srt" } else { "vtt" };
                    let path = format!("captions/{stem}.{ext}.vtt");
                    uris.push(
                        asset
                            .put(&path, Body::Bytes(Bytes::from(vtt)), "text/vtt")
                            .await?,
                    );
                }
                Err(e) => tracing::warn!(
                    asset_id = %asset.id,
                    sidecar,
                    error = %e,
                    "sidecar captions ignored: they cannot be read"
                ),
            }
        }
        Ok(uris)
    }

    async fn image(
        &self,
        asset: Asset<'_>,
        fixity: Fixity,
        detected: Detected,
        local: &Path,
        scratch: &Path,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let facts = image::inspect(local, &self.config.image_limits)
            .await
            .map_err(|e| image_failure(&asset, e))?;
        let plan = self.plan(&asset, MediaType::Image, false).await?;
        let document = serde_json::json!({
            "kind": detected.kind,
            "mime": detected.mime,
            "reason": detected.reason,
            "image": &facts,
        });
        let technical_metadata = asset.put_json(technical::TECHNICAL_KEY, &document).await?;
        let out = scratch.join("proxies");
        tokio::fs::create_dir_all(&out)
            .await
            .map_err(|e| HandlerError::retryable(format!("scratch folder: {e}")))?;
        let proxies =
            image::make_proxies(local, &facts, &out, &image::ImageProxyOptions::default())
                .await
                .map_err(|e| image_failure(&asset, e))?;
        let proxy = asset
            .put_file("proxy/proxy.jpg", &proxies.proxy.path, "image/jpeg")
            .await?;
        let thumbnail = asset
            .put_file(
                "thumbnails/thumb.jpg",
                &proxies.thumbnail.path,
                "image/jpeg",
            )
            .await?;
        let detail = ImageIngested {
            asset_id: asset.id,
            schema_version: ImageIngested::SCHEMA_VERSION.into(),
            metadata: asset.metadata(),
            source: asset.source.clone(),
            fixity,
            technical: ImageSummary {
                format: facts.format.clone(),
                width: facts.display_width,
                height: facts.display_height,
                orientation: facts.orientation,
                color_space: facts.color_space.clone(),
            },
            plan,
            outputs: ImageIngestOutputs {
                technical_metadata,
                proxy,
                thumbnail,
            },
        };
        Ok(vec![asset.emit(detail)])
    }

    async fn document(
        &self,
        asset: Asset<'_>,
        fixity: Fixity,
        detected: Detected,
        local: &Path,
        scratch: &Path,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let facts = pdf::inspect(local)
            .await
            .map_err(|e| pdf_failure(&asset, e))?;
        let plan = self.plan(&asset, MediaType::Document, false).await?;
        let document = serde_json::json!({
            "kind": detected.kind,
            "mime": detected.mime,
            "reason": detected.reason,
            "pdf": &facts,
        });
        let technical_metadata = asset.put_json(technical::TECHNICAL_KEY, &document).await?;
        let mut page_images = Vec::new();
        if !facts.needs_password {
            let out = scratch.join("pages");
            tokio::fs::create_dir_all(&out)
                .await
                .map_err(|e| HandlerError::retryable(format!("scratch folder: {e}")))?;
            let options = pdf::RenderOptions {
                max_pages: self.config.max_rendered_pages,
                ..pdf::RenderOptions::default()
            };
            let rendered = pdf::render_pages(local, &out, &options)
                .await
                .map_err(|e| pdf_failure(&asset, e))?;
            for (index, page) in rendered.pages.iter().enumerate() {
                let path = format!("pages/page-{:05}.png", index + 1);
                page_images.push(asset.put_file(&path, page, "image/png").await?);
            }
        }
        let detail = DocumentIngested {
            asset_id: asset.id,
            schema_version: DocumentIngested::SCHEMA_VERSION.into(),
            metadata: asset.metadata(),
            source: asset.source.clone(),
            fixity,
            technical: DocumentSummary {
                format: "pdf".into(),
                pages: facts.pages,
                encrypted: facts.encrypted,
                producer: facts.producer.clone(),
                pages_with_text: facts.pages_with_text,
            },
            plan,
            outputs: DocumentIngestOutputs {
                technical_metadata,
                page_images,
            },
        };
        Ok(vec![asset.emit(detail)])
    }

    async fn job_finished(
        &self,
        event: &RawEvent,
        ports: &Ports,
    ) -> Result<Vec<RawEvent>, HandlerError> {
        let change: Envelope<MediaConvertJobStateChange> = decode(event)?;
        let change = change.detail;
        // Only a job's end finishes the asset; progress reports that a broader rule lets
        // through are not failures.
        if !matches!(change.status.as_str(), "COMPLETE" | "ERROR" | "CANCELED") {
            tracing::debug!(
                job_id = change.job_id,
                status = change.status,
                "job still running; ignored"
            );
            return Ok(Vec::new());
        }
        let Some(asset_id) = change
            .user_metadata
            .get("mediasiftAssetId")
            .and_then(|id| id.parse::<Uuid>().ok())
        else {
            tracing::debug!(job_id = change.job_id, "not a mediasift job");
            return Ok(Vec::new());
        };
        let Some(item) = ports
            .state
            .get(JOBS_TABLE, &asset_id.to_string())
            .await
            .map_err(|e| HandlerError::retryable(e.to_string()))?
        else {
            tracing::warn!(%asset_id, job_id = change.job_id, "no pending ingest for this job");
            return Ok(Vec::new());
        };
        let version = item.version;
        let pending: PendingJob = serde_json::from_value(Value::Object(item.value))
            .map_err(|e| HandlerError::retryable(format!("pending job state unreadable: {e}")))?;
        if pending.job_id != change.job_id {
            tracing::info!(%asset_id, job_id = change.job_id, current = pending.job_id, "an older job of the asset finished; ignored");
            return Ok(Vec::new());
        }
        let meta = ObjectMeta {
            bucket: pending.source.bucket.clone(),
            key: pending.source.key.clone(),
            size: pending.source.size,
            etag: pending.source.etag.clone().unwrap_or_default(),
            version_id: pending.source.version_id.clone(),
            last_modified: ports.clock.now(),
            content_type: None,
            user_metadata: BTreeMap::new(),
            checksum: None,
        };
        let cause = pending.cause.clone();
        let asset = Asset {
            cause: &cause,
            ports,
            meta,
            id: asset_id,
            source: pending.source.clone(),
        };
        let outputs = match self.job_outputs(&change, &pending.spec, ports).await {
            Ok(outputs) => outputs,
            Err(error) => {
                if !matches!(error, TranscodeError::Unavailable(_)) {
                    mark_failed(ports, asset_id, version).await?;
                }
                return Err(transcode_failure(&asset, error));
            }
        };
        let mut event = av_event(&asset, pending, &outputs)?;
        // The job's completion, not the submission, causes the event.
        event.id = derived_event_id(&change.job_id, SERVICE, &event.detail_type);
        Ok(vec![event])
    }

    #[cfg(feature = "aws")]
    async fn job_outputs(
        &self,
        change: &MediaConvertJobStateChange,
        spec: &ProxySpec,
        ports: &Ports,
    ) -> Result<ProxyOutputs, TranscodeError> {
        crate::proxy::mediaconvert::outputs_on_completion(change, spec, ports).await
    }

    #[cfg(not(feature = "aws"))]
    async fn job_outputs(
        &self,
        change: &MediaConvertJobStateChange,
        _spec: &ProxySpec,
        _ports: &Ports,
    ) -> Result<ProxyOutputs, TranscodeError> {
        Err(TranscodeError::Setup(format!(
            "MediaConvert job {} finished, but this build of ingest has no MediaConvert support \
             (feature `aws`)",
            change.job_id
        )))
    }
}

/// Records that the asset's job ended without proxies, so a retry of its upload submits a
/// new one. A newer job that replaced the record in the meantime is left alone.
async fn mark_failed(ports: &Ports, asset_id: Uuid, version: u64) -> Result<(), HandlerError> {
    match ports
        .state
        .update(
            JOBS_TABLE,
            &asset_id.to_string(),
            &[Update::Set("failed".into(), Value::Bool(true))],
            Condition::VersionIs(version),
        )
        .await
    {
        Ok(_) | Err(StateError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(HandlerError::retryable(e.to_string())),
    }
}

/// The `Video Ingested` / `Audio Ingested` event once the proxies exist.
fn av_event(
    asset: &Asset<'_>,
    pending: PendingJob,
    outputs: &ProxyOutputs,
) -> Result<RawEvent, HandlerError> {
    let uri = |key: &Option<String>| key.as_ref().map(|k| asset.uri(k));
    let missing = |what: &str| {
        asset.fail(
            "TranscodeFailed",
            format!("the transcoder produced no {what} for {}", asset.source.uri),
            "Check the transcoder's logs; retry the event from the dead-letter queue.",
        )
    };
    let metadata = caused_by(&pending.cause, SERVICE, PRODUCER_VERSION);
    Ok(match pending.media_type {
        MediaType::Video => {
            let technical =
                serde_json::from_value(pending.technical).map_err(|_| missing("video summary"))?;
            let proxy = if outputs.source_as_proxy {
                pending.source.uri.clone()
            } else {
                uri(&outputs.proxy).ok_or_else(|| missing("video proxy"))?
            };
            asset.emit(VideoIngested {
                asset_id: asset.id,
                schema_version: VideoIngested::SCHEMA_VERSION.into(),
                metadata,
                source: pending.source,
                fixity: pending.fixity,
                technical,
                plan: pending.plan,
                outputs: VideoIngestOutputs {
                    technical_metadata: pending.technical_metadata,
                    proxy,
                    audio_proxy: uri(&outputs.audio_proxy),
                    speech_audio: uri(&outputs.speech_audio),
                    frame_captures: uri(&outputs.frame_manifest)
                        .ok_or_else(|| missing("frame captures"))?,
                    thumbnails: outputs.thumbnails.iter().map(|k| asset.uri(k)).collect(),
                    renditions: outputs
                        .renditions
                        .iter()
                        .map(|(name, key)| ResultRef {
                            name: name.clone(),
                            uri: asset.uri(key),
                            engine: None,
                        })
                        .collect(),
                    captions: pending.captions,
                },
            })
        }
        _ => {
            let technical =
                serde_json::from_value(pending.technical).map_err(|_| missing("audio summary"))?;
            asset.emit(AudioIngested {
                asset_id: asset.id,
                schema_version: AudioIngested::SCHEMA_VERSION.into(),
                metadata,
                source: pending.source,
                fixity: pending.fixity,
                technical,
                plan: pending.plan,
                outputs: AudioIngestOutputs {
                    technical_metadata: pending.technical_metadata,
                    audio_proxy: uri(&outputs.audio_proxy).ok_or_else(|| missing("audio proxy"))?,
                    speech_audio: uri(&outputs.speech_audio)
                        .ok_or_else(|| missing("speech audio"))?,
                    captions: pending.captions,
                },
            })
        }
    })
}

fn log_skip(bucket: &str, key: &str, skip: &Skip) {
    tracing::info!(bucket, key, reason = %skip, "skipped");
}

/// Whether the stored object is no longer the one the event announced.
fn superseded(meta: &ObjectMeta, version_id: Option<&str>, etag: Option<&str>) -> Option<Skip> {
    if let (Some(announced), Some(current)) = (version_id, meta.version_id.as_deref())
        && announced != current
    {
        return Some(Skip::Superseded {
            detail: format!("version {announced} was replaced by version {current}"),
        });
    }
    if version_id.is_none()
        && let Some(announced) = etag
        && announced.trim_matches('"') != meta.etag.trim_matches('"')
    {
        return Some(Skip::Superseded {
            detail: format!(
                "the object changed since the event (ETag {announced} → {})",
                meta.etag
            ),
        });
    }
    None
}

fn source_object(meta: &ObjectMeta) -> SourceObject {
    SourceObject {
        bucket: meta.bucket.clone(),
        key: meta.key.clone(),
        version_id: meta.version_id.clone(),
        size: meta.size,
        etag: Some(meta.etag.clone()),
        uri: format!("s3://{}/{}", meta.bucket, meta.key),
    }
}

/// The key's extension when it is short and plain (some tools look at it), else none.
fn safe_extension(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key);
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=8).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            format!(".{}", ext.to_ascii_lowercase())
        }
        _ => String::new(),
    }
}

async fn download(asset: &Asset<'_>, to: &Path) -> Result<(), HandlerError> {
    let copied = asset
        .ports
        .objects
        .download(&asset.meta.bucket, &asset.meta.key, to)
        .await
        .map_err(|e| match e {
            // A full disk or a vanished scratch folder may be gone on the next attempt.
            StoreError::Io { .. } => HandlerError::retryable(e.to_string()),
            e => store_error(e),
        })?;
    if copied != asset.meta.size {
        return Err(HandlerError::retryable(format!(
            "read {copied} of {} bytes of {}",
            asset.meta.size, asset.source.uri
        )));
    }
    Ok(())
}

/// Failure causes name the source object, not the scratch copy the tools read.
fn in_terms_of_the_source(
    error: HandlerError,
    scratch: &Path,
    local: &Path,
    uri: &str,
) -> HandlerError {
    let scrub = |text: &str| {
        text.replace(&local.display().to_string(), uri)
            .replace(&scratch.display().to_string(), "(scratch)")
    };
    match error {
        HandlerError::Permanent(mut failure) => {
            failure.cause = scrub(&failure.cause);
            HandlerError::Permanent(failure)
        }
        HandlerError::Retryable(message) => HandlerError::Retryable(scrub(&message)),
    }
}

fn permanent(code: &str, cause: String, action: &str) -> HandlerError {
    HandlerError::permanent(Failure::new(code, cause, action))
}

fn store_error(error: StoreError) -> HandlerError {
    if let StoreError::InvalidKey { key, .. } = &error {
        return HandlerError::permanent(Failure::new(
            "InvalidKey",
            error.to_string(),
            format!(
                "Rename {key:?} to a key without `.` or `..` segments, empty segments (`//`) or a \
                 leading `/`, of at most 1,024 bytes, and upload it again."
            ),
        ));
    }
    if error.is_retryable() {
        HandlerError::retryable(error.to_string())
    } else {
        HandlerError::permanent(Failure::new(
            "StoreError",
            error.to_string(),
            "Check that the buckets exist and that the service may read the ingest bucket and \
             write the derived bucket; then retry the event from the dead-letter queue.",
        ))
    }
}

fn tool_failure(asset: &Asset<'_>, error: &ToolError) -> HandlerError {
    match error {
        ToolError::Missing { .. } => asset.fail(
            "ToolMissing",
            error.to_string(),
            "Install the missing tool (scripts/setup.sh installs them all), then retry the event \
             from the dead-letter queue.",
        ),
        ToolError::TimedOut { .. } => asset.fail(
            "ToolTimedOut",
            format!("{}: {error}", asset.source.uri),
            "The file may be damaged or unusually complex: check it plays, re-export it, or raise \
             the probe timeout; then upload it again.",
        ),
        _ => asset.fail(
            "ToolFailed",
            format!("{}: {error}", asset.source.uri),
            "Check the file plays; re-export it and upload it again.",
        ),
    }
}

fn kind_failure(asset: &Asset<'_>, error: KindError) -> HandlerError {
    let uri = &asset.source.uri;
    match &error {
        KindError::Unsupported { found, .. } => asset.fail(
            "UnsupportedMedia",
            format!("{uri} is not video, audio, an image or a PDF: {found}"),
            "Upload media mediasift ingests (video, audio, still images, PDF documents).",
        ),
        KindError::Unreadable { mime, cause, .. } => asset.fail(
            "CorruptMedia",
            format!("{uri} looks like {mime} but cannot be read: {cause}"),
            "The file is probably truncated or corrupt: upload it again or re-export it.",
        ),
        KindError::Empty { .. } => asset.fail(
            "EmptyObject",
            format!("{uri} is empty"),
            "Upload the file again.",
        ),
        KindError::Tool { source, .. } => tool_failure(asset, source),
        _ => HandlerError::retryable(error.to_string()),
    }
}

fn image_failure(asset: &Asset<'_>, error: image::ImageError) -> HandlerError {
    match &error {
        image::ImageError::TooLarge { .. } => asset.fail(
            "ImageTooLarge",
            error.to_string(),
            "Downscale the image (or split it into tiles) and upload it again; the pixel limit \
             guards against decompression bombs.",
        ),
        image::ImageError::Tool { source, .. } => tool_failure(asset, source),
        image::ImageError::Unsupported { .. } => asset.fail(
            "UnsupportedMedia",
            error.to_string(),
            "Convert the image to JPEG, PNG or TIFF and upload it again, or install the decoder named.",
        ),
        _ => asset.fail(
            "CorruptMedia",
            error.to_string(),
            "The image is probably truncated or corrupt: upload it again or re-export it.",
        ),
    }
}

fn pdf_failure(asset: &Asset<'_>, error: pdf::PdfError) -> HandlerError {
    match &error {
        pdf::PdfError::Tool { source, .. } => tool_failure(asset, source),
        _ => asset.fail(
            "CorruptMedia",
            error.to_string(),
            "The PDF is probably truncated or damaged: open it in a viewer, save a repaired copy \
             and upload it again.",
        ),
    }
}

fn transcode_failure(asset: &Asset<'_>, error: TranscodeError) -> HandlerError {
    let uri = &asset.source.uri;
    match error {
        TranscodeError::Unavailable(message) => HandlerError::retryable(message),
        TranscodeError::Media(message) => asset.fail(
            "TranscodeFailed",
            format!("{uri}: {message}"),
            "Check the file plays to the end; re-export it with a standard codec and upload it again.",
        ),
        TranscodeError::Setup(message) => asset.fail(
            "TranscoderSetup",
            message,
            "Fix the transcoder's setup (tool installed, role and queue for MediaConvert), then \
             retry the event from the dead-letter queue.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_the_store_refuses_fails_with_renaming_as_the_action() {
        let refused = store_error(StoreError::InvalidKey {
            key: "../x.jpg".into(),
            reason: "it contains a `..` segment".into(),
        });
        let HandlerError::Permanent(failure) = refused else {
            panic!("an invalid key is permanent: {refused:?}");
        };
        assert_eq!(failure.error_code, "InvalidKey");
        assert!(failure.cause.contains("`..` segment"), "{}", failure.cause);
        assert!(
            failure.action.starts_with("Rename \"../x.jpg\""),
            "{}",
            failure.action
        );
    }

    #[test]
    fn extensions_are_kept_only_when_plain() {
        assert_eq!(safe_extension("a/clip.MP4"), ".mp4");
        assert_eq!(safe_extension("a/clip"), "");
        assert_eq!(safe_extension("a/.hidden"), "");
        assert_eq!(safe_extension("a/clip.m p4"), "");
        assert_eq!(safe_extension("a.b/clip"), "");
    }
}
