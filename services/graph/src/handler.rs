//! The graph handler: every `… Ingested`, analysis completion and `Processing Failed` →
//! (1) what it found goes into the graph and the search index, (2) its outcome is recorded in
//! the run, (3) the arrival that completes the asset's plan emits `Asset Analysis Completed`.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use mediasift_kit::claim::CompleteSet;
use mediasift_kit::handler::{caused_by, decode, derived_event_id, failure_event};
use mediasift_kit::ports::{Retryable, StateError, StoreError};
use mediasift_kit::{Failure, Handler, HandlerError, Ports, Subscriptions};
use mediasift_schemas::{
    AdBreaksDetected, AnalysisKind, AssetAnalysisCompleted, AudioAnalysisCompleted, AudioIngested,
    DocumentAnalysisCompleted, DocumentIngested, Envelope, EventDetail, ImageAnalysisCompleted,
    ImageIngested, MediaType, ProcessingFailed, RawEvent, ResultRef, ScenesDetected, SourceObject,
    VideoAnalysisCompleted, VideoIngested, sources,
};
use uuid::Uuid;

use crate::SERVICE;
use crate::completion::{self, Arrival, Finished, Planned, Recorded, RunState};
use crate::config::GraphConfig;
use crate::extract::{self, Contribution, Reader};
use crate::model::Value;
use crate::ports::{GraphError, GraphStore, SearchIndex};

const PRODUCER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The graph service.
pub struct Graph {
    config: GraphConfig,
    /// `None` when the deployment has no graph database: completion is still tracked.
    store: Option<Arc<dyn GraphStore>>,
    /// `None` on AWS: each contribution's search documents are written to the derived bucket
    /// (`<assetId>/graph/search-<analysis>.json`) for an external index instead.
    search: Option<Arc<dyn SearchIndex>>,
}

impl Graph {
    pub fn new(
        config: GraphConfig,
        store: Option<Arc<dyn GraphStore>>,
        search: Option<Arc<dyn SearchIndex>>,
    ) -> Self {
        Self {
            config,
            store,
            search,
        }
    }

    /// The graph and its search index in one SQLite file.
    pub fn local(config: GraphConfig, path: &Path) -> Result<Self, GraphError> {
        let graph = Arc::new(crate::sqlite::SqliteGraph::open(path)?);
        Ok(Self::new(config, Some(graph.clone()), Some(graph)))
    }
}

/// What an event is, for the graph.
struct Understood {
    asset_id: Uuid,
    arrival: Arrival,
    contribution: Option<Contribution>,
}

#[async_trait]
impl Handler for Graph {
    fn service(&self) -> &'static str {
        SERVICE
    }

    fn subscriptions(&self) -> Subscriptions {
        crate::subscriptions()
    }

    async fn handle(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        let Some(understood) = self.understand(event, ports).await? else {
            return Ok(Vec::new());
        };
        let Understood {
            asset_id,
            arrival,
            contribution,
        } = understood;
        let mut events = Vec::new();
        if let Some(contribution) = contribution
            && let Err(failure) = self.learn(&contribution, ports).await?
        {
            // The asset's completion does not wait on the graph: say what failed, go on.
            events.push(failure_event(
                SERVICE,
                event,
                &failure.for_asset(asset_id),
                PRODUCER_VERSION,
            ));
        }
        let run = completion::key(asset_id, &event.correlation_id());
        let state = completion::arrive(ports.state.as_ref(), &run, &arrival, ports.clock.now())
            .await
            .map_err(state_error)?;
        match state {
            RunState::Waiting => {
                tracing::info!(%asset_id, event = %event.detail_type, "recorded; the plan is not done");
            }
            RunState::TakenBy(claimer) => {
                tracing::info!(%asset_id, claimer, "the asset's completion was already claimed");
            }
            RunState::Claimed(finished) => {
                events.push(completed_event(event, &run, asset_id, *finished, ports));
            }
        }
        Ok(events)
    }
}

impl Graph {
    async fn understand(
        &self,
        event: &RawEvent,
        ports: &Ports,
    ) -> Result<Option<Understood>, HandlerError> {
        let reader = Reader {
            objects: ports.objects.as_ref(),
            filter: self.config.filter,
        };
        let read = |r: Result<Contribution, StoreError>| r.map_err(store_error);
        let understood = match (event.source.as_str(), event.detail_type.as_str()) {
            (sources::INGEST, VideoIngested::DETAIL_TYPE) => {
                let d = decode::<VideoIngested>(event)?.detail;
                let t = &d.technical;
                let technical = [
                    ("durationSeconds", Value::from(t.duration_seconds)),
                    ("width", t.width.into()),
                    ("height", t.height.into()),
                    ("frameRate", t.frame_rate.as_str().into()),
                    ("videoCodec", t.video_codec.as_str().into()),
                    ("container", t.container.as_str().into()),
                    ("audioTracks", (t.audio_tracks.len() as u64).into()),
                ];
                let ingest = Ingest {
                    event,
                    asset_id: d.asset_id,
                    media_type: MediaType::Video,
                    source: &d.source,
                    md5: &d.fixity.md5,
                    analyses: &d.plan.analyses,
                };
                self.ingested(ingest, &technical).await?
            }
            (sources::INGEST, AudioIngested::DETAIL_TYPE) => {
                let d = decode::<AudioIngested>(event)?.detail;
                let t = &d.technical;
                let technical = [
                    ("durationSeconds", Value::from(t.duration_seconds)),
                    ("container", t.container.as_str().into()),
                    ("audioTracks", (t.audio_tracks.len() as u64).into()),
                ];
                let ingest = Ingest {
                    event,
                    asset_id: d.asset_id,
                    media_type: MediaType::Audio,
                    source: &d.source,
                    md5: &d.fixity.md5,
                    analyses: &d.plan.analyses,
                };
                self.ingested(ingest, &technical).await?
            }
            (sources::INGEST, ImageIngested::DETAIL_TYPE) => {
                let d = decode::<ImageIngested>(event)?.detail;
                let t = &d.technical;
                let technical = [
                    ("format", Value::from(t.format.as_str())),
                    ("width", t.width.into()),
                    ("height", t.height.into()),
                ];
                let ingest = Ingest {
                    event,
                    asset_id: d.asset_id,
                    media_type: MediaType::Image,
                    source: &d.source,
                    md5: &d.fixity.md5,
                    analyses: &d.plan.analyses,
                };
                self.ingested(ingest, &technical).await?
            }
            (sources::INGEST, DocumentIngested::DETAIL_TYPE) => {
                let d = decode::<DocumentIngested>(event)?.detail;
                let t = &d.technical;
                let mut technical = vec![
                    ("format", Value::from(t.format.as_str())),
                    ("encrypted", t.encrypted.into()),
                ];
                if let Some(pages) = t.pages {
                    technical.push(("pages", pages.into()));
                }
                let ingest = Ingest {
                    event,
                    asset_id: d.asset_id,
                    media_type: MediaType::Document,
                    source: &d.source,
                    md5: &d.fixity.md5,
                    analyses: &d.plan.analyses,
                };
                self.ingested(ingest, &technical).await?
            }
            (sources::VIDEO, VideoAnalysisCompleted::DETAIL_TYPE) => {
                let d = decode::<VideoAnalysisCompleted>(event)?.detail;
                let c = read(reader.video(&d).await)?;
                completed(event, d.asset_id, AnalysisKind::Video, &d.results, c)
            }
            (sources::AUDIO, AudioAnalysisCompleted::DETAIL_TYPE) => {
                let d = decode::<AudioAnalysisCompleted>(event)?.detail;
                let c = read(reader.audio(&d).await)?;
                completed(event, d.asset_id, AnalysisKind::Audio, &d.results, c)
            }
            (sources::IMAGE, ImageAnalysisCompleted::DETAIL_TYPE) => {
                let d = decode::<ImageAnalysisCompleted>(event)?.detail;
                let c = read(reader.image(&d).await)?;
                completed(event, d.asset_id, AnalysisKind::Image, &d.results, c)
            }
            (sources::DOCUMENT, DocumentAnalysisCompleted::DETAIL_TYPE) => {
                let d = decode::<DocumentAnalysisCompleted>(event)?.detail;
                let c = read(reader.document(&d).await)?;
                completed(event, d.asset_id, AnalysisKind::Document, &d.results, c)
            }
            (sources::SCENE, ScenesDetected::DETAIL_TYPE) => {
                let d = decode::<ScenesDetected>(event)?.detail;
                let c = read(reader.scenes(&d).await)?;
                completed(event, d.asset_id, AnalysisKind::Scenes, &d.results, c)
            }
            (sources::ADBREAK, AdBreaksDetected::DETAIL_TYPE) => {
                let d = decode::<AdBreaksDetected>(event)?.detail;
                let c = reader.ad_breaks(&d);
                completed(event, d.asset_id, AnalysisKind::AdBreaks, &d.results, c)
            }
            (source, ProcessingFailed::DETAIL_TYPE) if source != sources::GRAPH => {
                let d = decode::<ProcessingFailed>(event)?.detail;
                let Some(analysis) = d.analysis.or_else(|| analysis_of_service(&d.service)) else {
                    // Ingest's failures: the asset never got a plan, so nothing waits on it;
                    // its `Processing Failed` is the last word on the upload.
                    tracing::info!(service = %d.service, code = %d.error_code, "a failure that ends no analysis");
                    return Ok(None);
                };
                let recorded = Recorded {
                    event_id: event.id.clone(),
                    completed: false,
                    results: Vec::new(),
                    cause: Some(format!("{}: {} {}", d.error_code, d.cause, d.action)),
                };
                Understood {
                    asset_id: d.asset_id,
                    arrival: Arrival::Outcome(analysis, recorded),
                    contribution: None,
                }
            }
            (source, detail_type) => {
                tracing::debug!(source, detail_type, "not an event the graph handles");
                return Ok(None);
            }
        };
        Ok(Some(understood))
    }

    async fn ingested(
        &self,
        ingest: Ingest<'_>,
        technical: &[(&str, Value)],
    ) -> Result<Understood, HandlerError> {
        let duplicates = match &self.store {
            Some(store) => match store.assets_with_checksum(ingest.md5).await {
                Ok(duplicates) => duplicates,
                Err(e) if e.is_retryable() => return Err(HandlerError::retryable(e.to_string())),
                // The write that follows fails the same way and is reported; the plan must
                // still be recorded, or the asset would never complete.
                Err(e) => {
                    tracing::warn!(error = %e, "duplicates by checksum not looked up");
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let asset_id = ingest.asset_id.to_string();
        let media_type = media_type_name(ingest.media_type);
        let contribution = extract::ingested(
            &asset_id,
            media_type,
            ingest.source,
            ingest.md5,
            technical,
            &duplicates,
        );
        Ok(Understood {
            asset_id: ingest.asset_id,
            arrival: Arrival::Ingested(Planned {
                event_id: ingest.event.id.clone(),
                media_type: ingest.media_type,
                source: ingest.source.clone(),
                analyses: ingest.analyses.to_vec(),
            }),
            contribution: Some(contribution),
        })
    }

    /// Puts a contribution into the graph and the search index. Transient failures retry the
    /// event; a permanent one is returned, to be reported without holding up the asset.
    async fn learn(
        &self,
        contribution: &Contribution,
        ports: &Ports,
    ) -> Result<Result<(), Failure>, HandlerError> {
        let facts = &contribution.facts;
        let stored = match &self.store {
            Some(store) => store.apply(facts).await,
            None => Ok(()),
        };
        let applied = match stored {
            Ok(()) => match &self.search {
                Some(search) => {
                    search
                        .replace(&facts.asset_id, &facts.analysis, &contribution.docs)
                        .await
                }
                None => {
                    let key = format!("{}/graph/search-{}.json", facts.asset_id, facts.analysis);
                    let body = serde_json::to_vec_pretty(&serde_json::json!({
                        "assetId": facts.asset_id,
                        "analysis": facts.analysis,
                        "documents": contribution.docs,
                        "warnings": contribution.warnings,
                    }))
                    .expect("search documents serialise");
                    ports
                        .objects
                        .put(
                            &ports.derived_bucket,
                            &key,
                            mediasift_kit::ports::Body::Bytes(bytes::Bytes::from(body)),
                            mediasift_kit::ports::PutOptions {
                                content_type: Some("application/json".into()),
                                ..Default::default()
                            },
                        )
                        .await
                        .map(|_| ())
                        .map_err(|e| match e.is_retryable() {
                            true => GraphError::Unavailable(e.to_string()),
                            false => GraphError::Failed(e.to_string()),
                        })
                }
            },
            Err(e) => Err(e),
        };
        match applied {
            Ok(()) => Ok(Ok(())),
            Err(e) if e.is_retryable() => Err(HandlerError::retryable(e.to_string())),
            Err(e) => Ok(Err(Failure::new(
                "GraphStoreFailed",
                format!(
                    "the {} results of asset {} could not be added to the graph: {e}",
                    facts.analysis, facts.asset_id
                ),
                "Fix the graph store (its permissions, its endpoint, its disk), then replay the \
                 asset's events to the graph service (`mediasift replay --asset ID --service \
                 graph`).",
            ))),
        }
    }
}

struct Ingest<'a> {
    event: &'a RawEvent,
    asset_id: Uuid,
    media_type: MediaType,
    source: &'a SourceObject,
    md5: &'a str,
    analyses: &'a [AnalysisKind],
}

fn completed(
    event: &RawEvent,
    asset_id: Uuid,
    analysis: AnalysisKind,
    results: &[ResultRef],
    contribution: Contribution,
) -> Understood {
    Understood {
        asset_id,
        arrival: Arrival::Outcome(
            analysis,
            Recorded {
                event_id: event.id.clone(),
                completed: true,
                results: results.to_vec(),
                cause: None,
            },
        ),
        contribution: Some(contribution),
    }
}

/// `Asset Analysis Completed`, its id derived from the run and its set of outcomes: whichever
/// arrival claims the run, and however often, it is the same event; a run whose set changed
/// (a failed analysis retried to completion) gets a new one.
fn completed_event(
    cause: &RawEvent,
    run: &str,
    asset_id: Uuid,
    finished: Finished,
    ports: &Ports,
) -> RawEvent {
    let id_source = format!("{run}#{}", finished.fingerprint());
    let detail = AssetAnalysisCompleted {
        asset_id,
        schema_version: AssetAnalysisCompleted::SCHEMA_VERSION.into(),
        metadata: caused_by(cause, SERVICE, PRODUCER_VERSION),
        media_type: finished.planned.media_type,
        source: finished.planned.source,
        status: finished.status,
        analyses: finished.analyses,
    };
    let mut event = Envelope::new(sources::GRAPH, detail);
    event.id = derived_event_id(&id_source, SERVICE, AssetAnalysisCompleted::DETAIL_TYPE);
    event.time = ports.clock.now();
    event.resources = cause.resources.clone();
    event.to_raw().expect("schema events serialise")
}

/// The analysis a service's failure ends, for failures that do not say.
fn analysis_of_service(service: &str) -> Option<AnalysisKind> {
    match service {
        "video" => Some(AnalysisKind::Video),
        "audio" => Some(AnalysisKind::Audio),
        "image" => Some(AnalysisKind::Image),
        "document" => Some(AnalysisKind::Document),
        "scene" => Some(AnalysisKind::Scenes),
        "adbreak" => Some(AnalysisKind::AdBreaks),
        _ => None,
    }
}

pub fn media_type_name(media_type: MediaType) -> &'static str {
    match media_type {
        MediaType::Video => "video",
        MediaType::Audio => "audio",
        MediaType::Image => "image",
        MediaType::Document => "document",
    }
}

fn store_error(e: StoreError) -> HandlerError {
    HandlerError::retryable(format!("reading a result document: {e}"))
}

fn state_error(e: StateError) -> HandlerError {
    if e.is_retryable() {
        HandlerError::retryable(e.to_string())
    } else {
        HandlerError::permanent(Failure::new(
            "StateStoreFailed",
            format!("the asset's completion could not be recorded: {e}"),
            "Fix the state table (its permissions, its schema), then replay the asset's events \
             to the graph service.",
        ))
    }
}
