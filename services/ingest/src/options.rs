//! The analysis plan: which analyses an asset gets and with which options. Resolved once, at
//! ingest, from (last wins) the defaults, the global settings, and the asset's own override,
//! then carried in the `… Ingested` event so no service reads settings again.

use mediasift_schemas::{AnalysisKind, AnalysisOptions, AnalysisPlan, MediaType};
use serde_json::{Map, Value};

/// User metadata with the asset's override, a JSON object
/// (`x-amz-meta-mediasift-options: {"transcribe": false, "analyses": {"adBreaks": false}}`).
pub use mediasift_schemas::OPTIONS_METADATA;
/// The global settings object in the derived bucket.
pub const GLOBAL_SETTINGS_KEY: &str = "settings/options.json";
/// The key of the options object that turns analyses off: `{"analyses": {"scenes": false}}`.
const ANALYSES: &str = "analyses";
/// The asset's PDF password: allowed in its own options (user metadata) only, and kept out
/// of the plan.
use mediasift_schemas::PDF_PASSWORD_OPTION as PDF_PASSWORD;
/// Rendition heights ingest can make.
pub const RENDITION_HEIGHTS: [u32; 4] = [360, 480, 720, 1080];

/// Why options cannot be used, naming where they came from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the analysis options in {origin} are invalid: {problem}")]
pub struct OptionsError {
    pub origin: String,
    pub problem: String,
}

/// One layer of options and where it came from (for error messages).
#[derive(Debug, Clone)]
pub struct Layer {
    pub origin: String,
    pub options: Map<String, Value>,
}

impl Layer {
    pub fn new(origin: impl Into<String>, options: Map<String, Value>) -> Self {
        Self {
            origin: origin.into(),
            options,
        }
    }

    /// Parses a JSON object (an override in user metadata, the settings object).
    pub fn parse(origin: impl Into<String>, text: &str) -> Result<Self, OptionsError> {
        let origin = origin.into();
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(options)) => Ok(Self { origin, options }),
            Ok(_) => Err(OptionsError {
                origin,
                problem: "expected a JSON object".into(),
            }),
            Err(e) => Err(OptionsError {
                origin,
                problem: format!("not JSON: {e}"),
            }),
        }
    }
}

/// Resolves the plan for an asset of `media_type` (`has_audio`: a video with an audio track).
/// Layers apply in order, each over the previous; the defaults are underneath.
pub fn resolve(
    media_type: MediaType,
    has_audio: bool,
    layers: &[Layer],
) -> Result<AnalysisPlan, OptionsError> {
    let defaults = match serde_json::to_value(AnalysisOptions::default()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut merged = defaults.clone();
    let mut toggles = Map::new();
    for layer in layers {
        let mut options = layer.options.clone();
        if let Some(password) = options.remove(PDF_PASSWORD) {
            if !layer.origin.contains(OPTIONS_METADATA) {
                return Err(layer.error(&format!(
                    "`{PDF_PASSWORD}` belongs in one asset's own options \
                     (x-amz-meta-{OPTIONS_METADATA}), not in shared settings"
                )));
            }
            if !password
                .as_str()
                .is_some_and(|p| !p.is_empty() && p.len() <= 1024)
            {
                return Err(layer.error(&format!(
                    "`{PDF_PASSWORD}` must be a non-empty string (at most 1024 bytes)"
                )));
            }
        }
        if let Some(analyses) = options.remove(ANALYSES) {
            let Value::Object(analyses) = analyses else {
                return Err(layer.error(
                    "`analyses` must be an object of analysis names to true/false, e.g. \
                     {\"adBreaks\": false}",
                ));
            };
            for (name, on) in analyses {
                if serde_json::from_value::<AnalysisKind>(Value::String(name.clone())).is_err() {
                    return Err(layer.error(&format!(
                        "unknown analysis {name:?} (known: video, audio, image, document, \
                         scenes, adBreaks)"
                    )));
                }
                if !on.is_boolean() {
                    return Err(layer.error(&format!("analyses.{name} must be true or false")));
                }
                toggles.insert(name, on);
            }
        }
        check_known(&defaults, &options, "", layer)?;
        merge(&mut merged, options);
        validate(&merged).map_err(|problem| layer.error(&problem))?;
    }
    let options: AnalysisOptions =
        serde_json::from_value(Value::Object(merged)).map_err(|e| OptionsError {
            origin: layers
                .last()
                .map_or_else(|| "the defaults".into(), |l| l.origin.clone()),
            problem: e.to_string(),
        })?;

    let on = |kind: AnalysisKind| {
        let name = serde_json::to_value(kind).ok();
        let name = name.as_ref().and_then(Value::as_str).unwrap_or_default();
        toggles.get(name).and_then(Value::as_bool).unwrap_or(true)
    };
    let mut analyses = Vec::new();
    match media_type {
        MediaType::Video => {
            let video = on(AnalysisKind::Video);
            if video {
                analyses.push(AnalysisKind::Video);
            }
            let audio = has_audio && on(AnalysisKind::Audio);
            if audio {
                analyses.push(AnalysisKind::Audio);
            }
            // Scenes group the video's shots; ad breaks score the scenes' boundaries.
            let scenes = video && on(AnalysisKind::Scenes);
            if scenes {
                analyses.push(AnalysisKind::Scenes);
                if on(AnalysisKind::AdBreaks) {
                    analyses.push(AnalysisKind::AdBreaks);
                }
            }
        }
        MediaType::Audio => {
            if on(AnalysisKind::Audio) {
                analyses.push(AnalysisKind::Audio);
            }
        }
        MediaType::Image => {
            if on(AnalysisKind::Image) {
                analyses.push(AnalysisKind::Image);
            }
        }
        MediaType::Document => {
            if on(AnalysisKind::Document) {
                analyses.push(AnalysisKind::Document);
            }
        }
    }
    Ok(AnalysisPlan { analyses, options })
}

impl Layer {
    fn error(&self, problem: &str) -> OptionsError {
        OptionsError {
            origin: self.origin.clone(),
            problem: problem.to_owned(),
        }
    }
}

/// Refuses keys the options do not have (a typo would otherwise be silently ignored).
fn check_known(
    known: &Map<String, Value>,
    given: &Map<String, Value>,
    path: &str,
    layer: &Layer,
) -> Result<(), OptionsError> {
    for (key, value) in given {
        // Optional fields (language, the ad-break spacing) are absent from the defaults.
        let optional = ["language", "adBreakIntervalSeconds", "adBreakOffsetSeconds"];
        match known.get(key) {
            Some(Value::Object(inner)) => {
                let Value::Object(value) = value else {
                    return Err(layer.error(&format!("{path}{key} must be an object")));
                };
                check_known(inner, value, &format!("{path}{key}."), layer)?;
            }
            Some(_) => {}
            None if path.is_empty() && optional.contains(&key.as_str()) => {}
            None => {
                let mut names: Vec<&str> = known.keys().map(String::as_str).collect();
                if path.is_empty() {
                    names.extend(optional);
                    names.push(ANALYSES);
                }
                return Err(layer.error(&format!(
                    "unknown option {path}{key} (known: {})",
                    names.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// Merges `over` into `base`: objects recursively, everything else replaced.
fn merge(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(inner)), Value::Object(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn validate(options: &Map<String, Value>) -> Result<(), String> {
    let parsed: AnalysisOptions =
        serde_json::from_value(Value::Object(options.clone())).map_err(|e| e.to_string())?;
    if !(0.0..=100.0).contains(&parsed.min_confidence) {
        return Err(format!(
            "minConfidence is {}, it must be between 0 and 100",
            parsed.min_confidence
        ));
    }
    if !(parsed.frame_capture_rate > 0.0 && parsed.frame_capture_rate <= 30.0) {
        return Err(format!(
            "frameCaptureRate is {}, it must be above 0 and at most 30 per second",
            parsed.frame_capture_rate
        ));
    }
    if let Some(interval) = parsed.ad_break_interval_seconds
        && !(interval >= 10.0 && interval.is_finite())
    {
        return Err(format!(
            "adBreakIntervalSeconds is {interval}, it must be at least 10 (seconds between breaks)"
        ));
    }
    if let Some(offset) = parsed.ad_break_offset_seconds
        && !(offset >= 0.0 && offset.is_finite())
    {
        return Err(format!(
            "adBreakOffsetSeconds is {offset}, it must be 0 or more (seconds before the first break)"
        ));
    }
    if let Some(height) = parsed
        .renditions
        .iter()
        .find(|h| !RENDITION_HEIGHTS.contains(h))
    {
        return Err(format!(
            "renditions has {height}; the rendition heights are 360, 480, 720 and 1080"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn layer(origin: &str, value: Value) -> Layer {
        Layer::new(origin, value.as_object().unwrap().clone())
    }

    #[test]
    fn defaults_plan_every_analysis_of_the_type() {
        let plan = resolve(MediaType::Video, true, &[]).unwrap();
        assert_eq!(
            plan.analyses,
            [
                AnalysisKind::Video,
                AnalysisKind::Audio,
                AnalysisKind::Scenes,
                AnalysisKind::AdBreaks
            ]
        );
        assert_eq!(plan.options, AnalysisOptions::default());
        let silent = resolve(MediaType::Video, false, &[]).unwrap();
        assert!(!silent.includes(AnalysisKind::Audio));
        assert_eq!(
            resolve(MediaType::Document, false, &[]).unwrap().analyses,
            [AnalysisKind::Document]
        );
    }

    #[test]
    fn the_asset_override_wins_over_global_settings() {
        let global = layer(
            "settings",
            json!({"minConfidence": 70, "vision": {"celebrities": false}, "transcribe": false}),
        );
        let asset = layer(
            "x-amz-meta-mediasift-options",
            json!({"minConfidence": 90, "vision": {"faces": false}, "analyses": {"scenes": false}}),
        );
        let plan = resolve(MediaType::Video, true, &[global, asset]).unwrap();
        assert_eq!(plan.options.min_confidence, 90.0);
        assert!(!plan.options.transcribe);
        assert!(!plan.options.vision.celebrities);
        assert!(!plan.options.vision.faces);
        assert!(plan.options.vision.labels);
        // No scenes means no ad breaks either.
        assert_eq!(plan.analyses, [AnalysisKind::Video, AnalysisKind::Audio]);
    }

    #[test]
    fn a_pdf_password_is_accepted_from_the_asset_only_and_kept_out_of_the_plan() {
        let asset = layer(
            "x-amz-meta-mediasift-options",
            json!({"pdfPassword": "peanuts"}),
        );
        let plan = resolve(MediaType::Document, false, &[asset]).unwrap();
        let carried = serde_json::to_string(&plan).unwrap();
        assert!(!carried.contains("peanuts"), "{carried}");
        let shared = layer("settings/options.json", json!({"pdfPassword": "peanuts"}));
        let error = resolve(MediaType::Document, false, &[shared]).unwrap_err();
        assert!(error.problem.contains("own options"), "{error}");
        let empty = layer("x-amz-meta-mediasift-options", json!({"pdfPassword": ""}));
        assert!(resolve(MediaType::Document, false, &[empty]).is_err());
    }

    #[test]
    fn mistakes_name_their_origin() {
        let typo = layer("x-amz-meta-mediasift-options", json!({"minConfidance": 90}));
        let error = resolve(MediaType::Image, false, &[typo]).unwrap_err();
        assert_eq!(error.origin, "x-amz-meta-mediasift-options");
        assert!(
            error.problem.contains("unknown option minConfidance"),
            "{error}"
        );
        let range = layer("settings", json!({"minConfidence": 101}));
        assert!(resolve(MediaType::Image, false, &[range]).is_err());
        let analysis = layer("settings", json!({"analyses": {"shots": false}}));
        assert!(resolve(MediaType::Image, false, &[analysis]).is_err());
        let rendition = layer("settings", json!({"renditions": [720, 2160]}));
        assert!(resolve(MediaType::Video, true, &[rendition]).is_err());
        assert!(Layer::parse("meta", "{not json").is_err());
        assert!(Layer::parse("meta", "[1]").is_err());
    }
}
