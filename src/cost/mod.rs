//! The cost preview: what running mediasift on AWS would cost for some media files with some
//! analysis options, before anything runs, and what Media2Cloud V4 would cost for the same
//! media with its default options.
//!
//! Each file is measured locally with the services' own library code ([`measure`]): its kind
//! and probe as ingest decides them, the plan ingest resolves from the defaults and the given
//! options, the proxies it would ask MediaConvert for, and for a video the real shot detection
//! and dynamic frame selection (so the Rekognition calls are the ones the video service would
//! make), with Media2Cloud V4's selection rule ([`m2c`]) on the same captures and shots. The
//! calls and quantities become priced line items ([`items`]) at the prices of one versioned
//! table ([`pricing`], `pricing/aws-us-east-1.toml`). Nothing here calls AWS.
//!
//! What is assumed rather than measured (speech density, faces per frame, answer lengths,
//! Lambda durations, output sizes) is in [`assumptions`] and docs/cost.md.

pub mod assumptions;
pub mod flow;
pub mod items;
pub mod m2c;
pub mod measure;
pub mod pricing;

use std::path::{Path, PathBuf};

use anyhow::Context;
use mediasift_ingest::options::Layer;
use mediasift_media::kind::MediaKind;
use mediasift_schemas::{AnalysisKind, AnalysisOptions, OPTIONS_METADATA};
use serde::Serialize;

pub use flow::Flow;
pub use items::{Category, Estimate, LineItem};
pub use measure::{AudioFacts, DocumentFacts, GivenOptions, ImageFacts, VideoFacts};
pub use pricing::{PriceTable, TABLE_PATH};

/// One file's estimate.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetEstimate {
    pub file: PathBuf,
    /// The key it would be uploaded as (as `mediasift run` names it).
    pub key: String,
    pub kind: MediaKind,
    pub size_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    pub analyses: Vec<AnalysisKind>,
    pub options: AnalysisOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<VideoFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentFacts>,
    /// mediasift with the given options.
    pub mediasift: Estimate,
    /// Media2Cloud V4 with its default options.
    pub media2cloud: Estimate,
    /// mediasift's analysis and transcoding over Media2Cloud's (the infrastructure is left
    /// out: Media2Cloud's is not estimated); `None` when Media2Cloud's is zero.
    pub ratio: Option<f64>,
    /// mediasift with Media2Cloud V4's default features (see [`like_for_like`]): what the
    /// frame selection and the rest save on the same work.
    pub like_for_like: Estimate,
    pub like_for_like_ratio: Option<f64>,
    /// The events on the bus and the Lambda invocations they cause.
    pub flow: Flow,
}

/// A file that could not be estimated, and why.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileError {
    pub file: PathBuf,
    pub error: String,
}

/// Sums over every file.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub assets: usize,
    pub mediasift_comparable_usd: f64,
    pub mediasift_infrastructure_usd: f64,
    pub mediasift_usd: f64,
    pub media2cloud_usd: f64,
    pub ratio: Option<f64>,
    pub like_for_like_usd: f64,
    pub like_for_like_ratio: Option<f64>,
    /// Rekognition image calls (all features), mediasift and Media2Cloud.
    pub mediasift_vision_calls: f64,
    pub media2cloud_vision_calls: f64,
}

/// Where the prices come from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub read: String,
    pub table: String,
    pub region: String,
    pub currency: String,
    pub source: Vec<String>,
}

/// The whole preview.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub prices: Provenance,
    pub assets: Vec<AssetEstimate>,
    pub errors: Vec<FileError>,
    pub totals: Totals,
}

impl GivenOptions {
    /// Options from `--options`: a JSON object, inline (`{"transcribe": false}`) or in a file.
    /// They apply over the defaults as an upload's own `x-amz-meta-mediasift-options` do (a
    /// `pdfPassword` is taken).
    pub fn parse(value: Option<&str>) -> anyhow::Result<Self> {
        let Some(value) = value else {
            return Ok(Self { layer: None });
        };
        let (origin, text) = if value.trim_start().starts_with('{') {
            (
                format!("--options (as x-amz-meta-{OPTIONS_METADATA})"),
                value.to_owned(),
            )
        } else {
            let text = std::fs::read_to_string(value)
                .with_context(|| format!("cannot read the options file {value}"))?;
            (format!("{value} (as x-amz-meta-{OPTIONS_METADATA})"), text)
        };
        let layer = Layer::parse(origin, &text)?;
        // Refused now, once, rather than once per file.
        mediasift_ingest::options::resolve(
            mediasift_schemas::MediaType::Video,
            true,
            std::slice::from_ref(&layer),
        )?;
        Ok(Self { layer: Some(layer) })
    }
}

/// Estimates one file.
pub async fn estimate_file(
    path: &Path,
    key: &str,
    options: &GivenOptions,
    table: &PriceTable,
) -> anyhow::Result<AssetEstimate> {
    let measured = measure::measure(path, options).await?;
    let (mediasift, flow) = items::mediasift(&measured, table);
    let media2cloud = items::media2cloud(&measured, table);
    let ratio = (media2cloud.comparable_usd > 0.0)
        .then(|| mediasift.comparable_usd / media2cloud.comparable_usd);
    let (like_for_like, _) = items::mediasift(&like_for_like(&measured), table);
    let like_for_like_ratio = (media2cloud.comparable_usd > 0.0)
        .then(|| like_for_like.comparable_usd / media2cloud.comparable_usd);
    Ok(AssetEstimate {
        file: path.to_path_buf(),
        key: key.to_owned(),
        kind: measured.kind,
        size_bytes: measured.size_bytes,
        duration_seconds: matches!(measured.kind, MediaKind::Video | MediaKind::Audio)
            .then_some(measured.duration_seconds),
        analyses: measured.plan.analyses.clone(),
        options: measured.plan.options.clone(),
        frames: measured.video,
        audio: measured.audio,
        image: measured.image,
        document: measured.document,
        mediasift,
        media2cloud,
        ratio,
        like_for_like,
        like_for_like_ratio,
        flow,
    })
}

/// The file as mediasift would analyse it with Media2Cloud V4's default features: labels,
/// celebrities and face match on the frames (mediasift's selection at 1 fps) and images,
/// OCR of documents, speech with keyphrases and entities (mediasift also asks for the
/// sentiment); no generative features, no extra renditions.
pub fn like_for_like(measured: &measure::Measured) -> measure::Measured {
    let mut same = measured.clone();
    same.plan.analyses = measured.default_analyses.clone();
    let options = &mut same.plan.options;
    options.vision = mediasift_schemas::VisionOptions {
        labels: true,
        faces: false,
        celebrities: true,
        face_match: true,
        text: measured.kind == MediaKind::Document,
        moderation: false,
    };
    options.transcribe = true;
    options.language_analysis = true;
    options.generative = false;
    options.renditions.clear();
    if let Some(spec) = &mut same.proxy {
        spec.renditions.clear();
        spec.frame_capture_rate = measure::M2C_RATE;
    }
    if let Some(video) = &mut same.video {
        video.selected_for_vision = video.selected_at_one_fps;
        video.captures = video.media2cloud_captures;
        video.rate = measure::M2C_RATE;
    }
    same
}

/// Estimates every file (one after another: each video is decoded with both cores busy); a
/// file that cannot be estimated is reported in [`Report::errors`] and the others go on.
pub async fn estimate(
    files: &[(PathBuf, String)],
    options: &GivenOptions,
    table: &PriceTable,
) -> Report {
    let mut assets = Vec::new();
    let mut errors = Vec::new();
    for (path, key) in files {
        match estimate_file(path, key, options, table).await {
            Ok(asset) => assets.push(asset),
            Err(error) => errors.push(FileError {
                file: path.clone(),
                error: format!("{error:#}"),
            }),
        }
    }
    let vision = |e: &Estimate| -> f64 {
        e.items
            .iter()
            .filter(|i| i.category == Category::Vision)
            .map(|i| i.quantity)
            .sum()
    };
    let mut totals = Totals {
        assets: assets.len(),
        ..Totals::default()
    };
    for asset in &assets {
        totals.mediasift_comparable_usd += asset.mediasift.comparable_usd;
        totals.mediasift_infrastructure_usd += asset.mediasift.infrastructure_usd;
        totals.mediasift_usd += asset.mediasift.usd;
        totals.media2cloud_usd += asset.media2cloud.comparable_usd;
        totals.like_for_like_usd += asset.like_for_like.comparable_usd;
        totals.mediasift_vision_calls += vision(&asset.mediasift);
        totals.media2cloud_vision_calls += vision(&asset.media2cloud);
    }
    totals.ratio = (totals.media2cloud_usd > 0.0)
        .then(|| totals.mediasift_comparable_usd / totals.media2cloud_usd);
    totals.like_for_like_ratio =
        (totals.media2cloud_usd > 0.0).then(|| totals.like_for_like_usd / totals.media2cloud_usd);
    Report {
        prices: Provenance {
            read: table.read.clone(),
            table: TABLE_PATH.to_owned(),
            region: table.region.clone(),
            currency: table.currency.clone(),
            source: table.source.split_whitespace().map(str::to_owned).collect(),
        },
        assets,
        errors,
        totals,
    }
}
