//! `Scenes Detected` → `Ad Breaks Detected`.
//!
//! Reads `scenes.json` (the event's `scenes` result) and, by name from the event's `inputs`,
//! the video service's `shots` and the audio service's `silences`, `loudness` and
//! `transcript`. The audio inputs may be absent (a video without audio, audio analysis
//! failed, transcription turned off), or unreadable: their features are then reported
//! unavailable and the weights renormalised over the rest. Results go under
//! `<assetId>/adbreak/`:
//!
//! | result | name in the event | what |
//! |---|---|---|
//! | `adbreaks.json` | `adbreaks` | settings, every candidate with its breakdown, the slots, the chosen breaks ([`crate::report`]) |
//! | `vmap.xml` | `vmap.xml` | IAB VMAP 1.0, one linear break per chosen break ([`crate::vmap`]) |
//! | `breaks.edl` | `edl` | CMX 3600, one event per content segment, a locator per break ([`crate::edl`]) |
//!
//! A `scenes.json` that cannot be read fails the asset's ad breaks (`Processing Failed`);
//! transient store errors retry the event.

use async_trait::async_trait;
use mediasift_kit::handler::{caused_by, decode};
use mediasift_kit::ports::{Retryable, StoreError};
use mediasift_kit::{AssetWork, Handler, HandlerError, Ports, Subscriptions};
use mediasift_schemas::{
    AdBreaksDetected, AnalysisKind, EventDetail, RawEvent, ResultRef, ScenesDetected, sources,
};
use serde::de::DeserializeOwned;

use crate::SERVICE;
use crate::edl::{self, EdlBreak};
use crate::inputs::{
    Inputs, Loudness, LoudnessDoc, ScenesDoc, ShotsDoc, SilencesDoc, TranscriptDoc,
};
use crate::report::{self, InputUse};
use crate::score::Weights;
use crate::vmap::{self, VmapBreak};

const PRODUCER_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The engine named in the results.
pub const ENGINE: &str = "mediasift ad-break scoring";

/// The adbreak service's settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdBreakConfig {
    /// A VAST ad tag every VMAP break asks for its ads; none by default (the VMAP then carries
    /// only the breaks' positions).
    pub ad_tag_uri: Option<String>,
    /// How much each feature counts in a boundary's score.
    pub weights: Weights,
}

/// The adbreak service.
pub struct AdBreaks {
    config: AdBreakConfig,
}

impl AdBreaks {
    /// Weights that are negative, not finite or all zero are replaced by the defaults.
    pub fn new(mut config: AdBreakConfig) -> Self {
        if !config.weights.is_valid() {
            tracing::warn!(weights = ?config.weights, "invalid ad-break weights; using the defaults");
            config.weights = Weights::default();
        }
        Self { config }
    }

    /// The local runtime's service: nothing but the ports (the same as [`Self::new`]; the
    /// scoring needs no backend).
    pub fn local(config: AdBreakConfig) -> Self {
        Self::new(config)
    }

    pub fn config(&self) -> &AdBreakConfig {
        &self.config
    }
}

#[async_trait]
impl Handler for AdBreaks {
    fn service(&self) -> &'static str {
        SERVICE
    }

    fn subscriptions(&self) -> Subscriptions {
        crate::subscriptions()
    }

    async fn handle(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        match (event.source.as_str(), event.detail_type.as_str()) {
            (sources::SCENE, ScenesDetected::DETAIL_TYPE) => self.scenes(event, ports).await,
            (source, detail_type) => {
                tracing::debug!(source, detail_type, "not an event adbreak handles");
                Ok(Vec::new())
            }
        }
    }
}

type Asset<'a> = AssetWork<'a>;

impl AdBreaks {
    async fn scenes(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        let scenes = decode::<ScenesDetected>(event)?.detail;
        if !scenes.plan.includes(AnalysisKind::AdBreaks) {
            tracing::debug!(asset_id = %scenes.asset_id, "ad breaks are not planned");
            return Ok(Vec::new());
        }
        let asset = AssetWork::new(
            ports,
            event,
            scenes.asset_id,
            SERVICE,
            sources::ADBREAK,
            AnalysisKind::AdBreaks,
        );
        tracing::info!(asset_id = %asset.id, "placing ad breaks");

        // The scenes: required.
        let scenes_uri = scenes
            .results
            .iter()
            .find(|r| r.name == "scenes")
            .map(|r| r.uri.clone())
            .ok_or_else(|| {
                asset.fail(
                    "MalformedEvent",
                    format!(
                        "the Scenes Detected event {} lists no `scenes` result",
                        event.id
                    ),
                    "Only mediasift's scene service publishes this event; check for another \
                     publisher, then replay the scene service's event.",
                )
            })?;
        let bytes = asset.get_bytes("scenes", &scenes_uri).await?;
        let doc: ScenesDoc = serde_json::from_slice(&bytes).map_err(|e| {
            unreadable_scenes(
                &asset,
                &scenes_uri,
                &format!("it is not a scenes document: {e}"),
            )
        })?;
        if !(doc.duration_seconds.is_finite() && doc.duration_seconds > 0.0) {
            return Err(unreadable_scenes(
                &asset,
                &scenes_uri,
                &format!("its duration is {} s", doc.duration_seconds),
            ));
        }
        let rate =
            report::frame_rate(&doc.frame_rate_rational, doc.frame_rate).ok_or_else(|| {
                unreadable_scenes(
                    &asset,
                    &scenes_uri,
                    &format!(
                        "its frame rate ({:?}, {}) is not a positive rate",
                        doc.frame_rate_rational, doc.frame_rate
                    ),
                )
            })?;

        // The optional inputs.
        let mut uses = vec![InputUse {
            name: "scenes".into(),
            uri: Some(scenes_uri.clone()),
            used: true,
            reason: None,
        }];
        let shots: Option<ShotsDoc> = optional(&asset, &scenes, "shots", &mut uses).await?;
        let silences: Option<SilencesDoc> =
            optional(&asset, &scenes, "silences", &mut uses).await?;
        let loudness: Option<LoudnessDoc> =
            optional(&asset, &scenes, "loudness", &mut uses).await?;
        let transcript: Option<TranscriptDoc> =
            optional(&asset, &scenes, "transcript", &mut uses).await?;
        let loudness = match loudness {
            Some(doc) => {
                let series = Loudness::from_doc(&doc);
                if series.is_none()
                    && let Some(u) = uses.iter_mut().find(|u| u.name == "loudness")
                {
                    u.used = false;
                    u.reason = Some("it has no track with a loudness series".into());
                }
                series
            }
            None => None,
        };
        let inputs = Inputs {
            duration_seconds: doc.duration_seconds,
            boundaries: doc.boundaries,
            cues: shots.map(|s| s.cues).unwrap_or_default(),
            silences: silences.map(|s| s.programme),
            loudness,
            words: transcript.map(|t| t.words),
        }
        .normalised();

        let report = report::plan(
            asset.id,
            &inputs,
            rate,
            &scenes.plan.options,
            &self.config.weights,
            uses,
        );

        // Results.
        let mut results = vec![ResultRef::new(
            "adbreaks",
            asset.put_json("adbreaks.json", &report).await?,
            ENGINE,
        )];
        let vmap_breaks: Vec<VmapBreak> = report
            .breaks
            .iter()
            .map(|b| VmapBreak { seconds: b.seconds })
            .collect();
        let xml = vmap::vmap(&vmap_breaks, self.config.ad_tag_uri.as_deref());
        results.push(ResultRef::new(
            "vmap.xml",
            asset
                .put("vmap.xml", xml.into_bytes(), "application/xml")
                .await?,
            ENGINE,
        ));
        let edl_breaks: Vec<EdlBreak> = report
            .breaks
            .iter()
            .map(|b| EdlBreak {
                frame: b.frame,
                rank: b.rank,
                score: b.score,
            })
            .collect();
        let edl = edl::edl(
            &format!("{} AD BREAKS", asset.id),
            rate,
            report.end_frame(rate),
            &edl_breaks,
        );
        results.push(ResultRef::new(
            "edl",
            asset
                .put(
                    "breaks.edl",
                    edl.into_bytes(),
                    "text/plain; charset=us-ascii",
                )
                .await?,
            ENGINE,
        ));

        tracing::info!(
            asset_id = %asset.id,
            candidates = report.candidates.len(),
            breaks = report.breaks.len(),
            "ad breaks placed"
        );
        let detail = AdBreaksDetected {
            asset_id: asset.id,
            schema_version: AdBreaksDetected::SCHEMA_VERSION.into(),
            metadata: caused_by(event, SERVICE, PRODUCER_VERSION),
            plan: scenes.plan.clone(),
            breaks: report.event_breaks(),
            results,
        };
        Ok(vec![asset.emit(detail)])
    }
}

fn unreadable_scenes(asset: &Asset<'_>, uri: &str, why: &str) -> HandlerError {
    asset.fail(
        "UnreadableScenes",
        format!("the scene service's {uri} cannot be read: {why}"),
        "Replay the asset's Scenes Detected event from the scene service so it writes \
         scenes.json again (or run the analysis again); if it persists, report the scene \
         service's output.",
    )
}

/// The input `name` of the event, parsed as `T`: `None` (with the reason recorded in `uses`)
/// when the event does not list it, it no longer exists, or it cannot be parsed. Transient
/// store errors retry the event.
async fn optional<T: DeserializeOwned>(
    asset: &Asset<'_>,
    scenes: &ScenesDetected,
    name: &str,
    uses: &mut Vec<InputUse>,
) -> Result<Option<T>, HandlerError> {
    let Some(uri) = scenes
        .inputs
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.uri.clone())
    else {
        uses.push(InputUse {
            name: name.into(),
            uri: None,
            used: false,
            reason: Some("not among the event's inputs".into()),
        });
        return Ok(None);
    };
    let unused = |reason: String| InputUse {
        name: name.into(),
        uri: Some(uri.clone()),
        used: false,
        reason: Some(reason),
    };
    let Some((bucket, key)) = mediasift_kit::ports::split_s3_uri(&uri) else {
        uses.push(unused("not an s3:// URI".into()));
        return Ok(None);
    };
    let bytes = match asset.ports.objects.get_bytes(bucket, key).await {
        Ok(bytes) => bytes,
        Err(e) if e.is_retryable() => return Err(HandlerError::retryable(e.to_string())),
        Err(e @ (StoreError::NotFound { .. } | StoreError::NoSuchBucket(_))) => {
            tracing::warn!(asset_id = %asset.id, name, error = %e, "input missing");
            uses.push(unused(e.to_string()));
            return Ok(None);
        }
        Err(e) => return Err(asset.store_error(e)),
    };
    match serde_json::from_slice::<T>(&bytes) {
        Ok(doc) => {
            uses.push(InputUse {
                name: name.into(),
                uri: Some(uri),
                used: true,
                reason: None,
            });
            Ok(Some(doc))
        }
        Err(e) => {
            tracing::warn!(asset_id = %asset.id, name, error = %e, "input unreadable");
            uses.push(unused(format!("cannot be read: {e}")));
            Ok(None)
        }
    }
}
