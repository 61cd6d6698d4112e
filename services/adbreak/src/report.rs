//! `adbreaks.json`: the settings, every candidate boundary with why it scored what it did, the
//! slots of the spacing, and the chosen breaks. Everything here is computed from the inputs
//! alone (no clock, no randomness), so a re-delivered event writes the same bytes.

use mediasift_media::shots::{Rational, timecode};
use mediasift_schemas::{AdBreak, AnalysisOptions};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::inputs::Inputs;
use crate::place::{self, Candidate, EDGE_SECONDS, MIN_SECONDS_BETWEEN_BREAKS, Slot, Spacing};
use crate::score::{self, Feature, FeatureScore, FeatureSetting, Weights};

/// Where one input came from and whether it was used.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputUse {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub used: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How the breaks were placed and scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub spacing: Spacing,
    pub min_seconds_between_breaks: f64,
    /// No break in the first or last this many seconds.
    pub edge_seconds: f64,
    /// The configured weights.
    pub weights: Weights,
    /// Each feature: its weight, its effective weight (renormalised over the available
    /// features), and why it is unavailable.
    pub features: Vec<FeatureSetting>,
    pub thresholds: Thresholds,
}

/// The constants of the features.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Thresholds {
    pub loud_lufs: f64,
    pub quiet_lufs: f64,
    pub level_window_seconds: f64,
    pub full_pause_seconds: f64,
    pub full_speech_distance_seconds: f64,
    pub fade_value: f64,
    pub loudness_window_seconds: f64,
    pub full_loudness_change_lu: f64,
    pub touch_seconds: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            loud_lufs: score::LOUD_LUFS,
            quiet_lufs: score::QUIET_LUFS,
            level_window_seconds: score::LEVEL_WINDOW_SECONDS,
            full_pause_seconds: score::FULL_PAUSE_SECONDS,
            full_speech_distance_seconds: score::FULL_SPEECH_DISTANCE_SECONDS,
            fade_value: score::FADE_VALUE,
            loudness_window_seconds: score::LOUDNESS_WINDOW_SECONDS,
            full_loudness_change_lu: score::FULL_LOUDNESS_CHANGE_LU,
            touch_seconds: score::TOUCH_SECONDS,
        }
    }
}

/// A shot boundary and how good a place for a break it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateReport {
    pub seconds: f64,
    pub frame: u64,
    pub timecode: String,
    pub shot_before: u32,
    pub shot_after: u32,
    pub scene_boundary: bool,
    pub score: f64,
    /// The available features, each with its value, effective weight, contribution and raw
    /// measurement.
    pub features: Features,
    /// Can never hold a break (the first or last 10 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ineligible: Option<&'static str>,
    /// The break placed here (from 1, in time order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen_as_break: Option<u32>,
}

/// Features as a JSON object keyed by name, in [`Feature::ALL`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct Features(pub Vec<(Feature, FeatureScore)>);

impl Serialize for Features {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (feature, score) in &self.0 {
            map.serialize_entry(feature.name(), score)?;
        }
        map.end()
    }
}

/// A chosen break.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakReport {
    /// From 1, in time order (`midroll-<index>` in the VMAP, `AD BREAK <index>` in the EDL).
    pub index: u32,
    pub seconds: f64,
    pub frame: u64,
    pub timecode: String,
    pub score: f64,
    /// 1 is the best break.
    pub rank: u32,
    pub scene_boundary: bool,
    pub slot: SlotWindow,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotWindow {
    pub index: u32,
    pub target_seconds: f64,
    pub window_start_seconds: f64,
    pub window_end_seconds: f64,
}

/// `adbreaks.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdBreakReport {
    pub asset_id: Uuid,
    pub duration_seconds: f64,
    pub frame_rate_rational: String,
    pub drop_frame: bool,
    pub settings: Settings,
    pub inputs: Vec<InputUse>,
    /// Every shot boundary, in time order.
    pub candidates: Vec<CandidateReport>,
    pub slots: Vec<Slot>,
    /// In time order.
    pub breaks: Vec<BreakReport>,
}

impl AdBreakReport {
    /// The breaks as the event carries them.
    pub fn event_breaks(&self) -> Vec<AdBreak> {
        self.breaks
            .iter()
            .map(|b| AdBreak {
                seconds: b.seconds,
                timecode: b.timecode.clone(),
                score: b.score,
                rank: b.rank,
            })
            .collect()
    }

    /// The frame just past the content's end.
    pub fn end_frame(&self, rate: Rational) -> u64 {
        let by_duration = (self.duration_seconds * rate.fps()).round().max(0.0) as u64;
        let last_break = self.breaks.iter().map(|b| b.frame + 1).max().unwrap_or(0);
        by_duration.max(last_break)
    }
}

/// Scores every boundary of `inputs` and places the breaks.
pub fn plan(
    asset_id: Uuid,
    inputs: &Inputs,
    rate: Rational,
    options: &AnalysisOptions,
    weights: &Weights,
    input_uses: Vec<InputUse>,
) -> AdBreakReport {
    let duration = inputs.duration_seconds;
    let scored = score::score_all(inputs, weights);
    let candidates: Vec<Candidate> = inputs
        .boundaries
        .iter()
        .zip(&scored)
        .map(|(b, s)| Candidate {
            seconds: b.seconds,
            scene_boundary: b.scene_boundary,
            score: s.score,
        })
        .collect();
    let spacing = place::spacing(duration, options);
    let slots = place::place(&candidates, duration, &spacing);
    let chosen: Vec<(usize, &Slot)> = slots
        .iter()
        .filter_map(|s| s.chosen.map(|i| (i, s)))
        .collect();
    let indices: Vec<usize> = chosen.iter().map(|(i, _)| *i).collect();
    let ranks = place::ranks(&candidates, &indices);
    let tc = |frame: u64| timecode(frame, rate);
    let breaks: Vec<BreakReport> = chosen
        .iter()
        .zip(ranks)
        .enumerate()
        .map(|(k, ((i, slot), rank))| {
            let b = &inputs.boundaries[*i];
            BreakReport {
                index: k as u32 + 1,
                seconds: b.seconds,
                frame: b.frame,
                timecode: tc(b.frame),
                score: candidates[*i].score,
                rank,
                scene_boundary: b.scene_boundary,
                slot: SlotWindow {
                    index: slot.index,
                    target_seconds: slot.target_seconds,
                    window_start_seconds: slot.window_start_seconds,
                    window_end_seconds: slot.window_end_seconds,
                },
            }
        })
        .collect();
    let candidate_reports = inputs
        .boundaries
        .iter()
        .zip(scored)
        .enumerate()
        .map(|(i, (b, s))| CandidateReport {
            seconds: b.seconds,
            frame: b.frame,
            timecode: tc(b.frame),
            shot_before: b.shot_before,
            shot_after: b.shot_after,
            scene_boundary: b.scene_boundary,
            score: s.score,
            features: Features(s.features),
            ineligible: place::ineligible(b.seconds, duration),
            chosen_as_break: indices.iter().position(|&c| c == i).map(|k| k as u32 + 1),
        })
        .collect();
    AdBreakReport {
        asset_id,
        duration_seconds: duration,
        frame_rate_rational: rate.to_string(),
        drop_frame: rate.is_drop_frame(),
        settings: Settings {
            spacing,
            min_seconds_between_breaks: MIN_SECONDS_BETWEEN_BREAKS,
            edge_seconds: EDGE_SECONDS,
            weights: *weights,
            features: score::feature_settings(inputs, weights),
            thresholds: Thresholds::default(),
        },
        inputs: input_uses,
        candidates: candidate_reports,
        slots,
        breaks,
    }
}

/// The frame rate of `scenes.json`: its fraction, else its decimal rate (29.97 and 59.94 read
/// as the NTSC fractions).
pub fn frame_rate(rational: &str, decimal: f64) -> Option<Rational> {
    if let Some(rate) = Rational::parse(rational) {
        return Some(rate);
    }
    if !(decimal.is_finite() && decimal > 0.0 && decimal < 1000.0) {
        return None;
    }
    let ntsc = (decimal * 1.001).round();
    if (ntsc / 1.001 - decimal).abs() < 0.005 && (decimal - decimal.round()).abs() > 0.005 {
        return Rational::new(ntsc as u32 * 1000, 1001);
    }
    let whole = decimal.round();
    if (whole - decimal).abs() < 0.005 {
        return Rational::new(whole as u32, 1);
    }
    Rational::new((decimal * 1000.0).round() as u32, 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_rates_from_the_fraction_or_the_decimal() {
        assert_eq!(frame_rate("30000/1001", 0.0), Rational::new(30000, 1001));
        assert_eq!(frame_rate("", 29.97), Rational::new(30000, 1001));
        assert_eq!(frame_rate("0/0", 59.94), Rational::new(60000, 1001));
        assert_eq!(frame_rate("", 23.976), Rational::new(24000, 1001));
        assert_eq!(frame_rate("", 25.0), Rational::new(25, 1));
        assert_eq!(frame_rate("", 12.5), Rational::new(12500, 1000));
        assert_eq!(frame_rate("", 0.0), None);
        assert_eq!(frame_rate("x", f64::NAN), None);
    }
}
