//! How good a place for an ad break each shot boundary is.
//!
//! Every feature is a value in [0, 1] with a weight; a boundary's score is
//! `Σ weight × value / Σ weight` over the features that are available for the asset (the
//! audio features are not when the asset has no audio, or its audio analysis failed), so a
//! score is always in [0, 1] and the weights are renormalised over what was measured.
//!
//! | feature | value | needs |
//! |---|---|---|
//! | `silenceLevel` | 1 inside a programme silence; else the quietest momentary loudness within ±0.5 s: −50 LUFS or quieter → 1, −20 LUFS or louder → 0, linear between | loudness or silences |
//! | `pauseLength` | the longest of the programme silence and the no-speech gap containing the boundary, over 2 s (capped at 1) | silences or transcript |
//! | `speechDistance` | seconds to the nearest word, over 1 s (capped at 1); 0 inside a word | transcript |
//! | `blackOrFade` | 1 at black, 0.7 at a fade only, else 0 | video |
//! | `sceneChange` | 1 where a scene starts, else 0 | video |
//! | `visualChange` | the scene service's visual distance across the cut | video |
//! | `loudnessChange` | \|short-term loudness of the 3 s before − of the 3 s after\| over 12 LU (capped at 1) | loudness |
//!
//! The default weights ([`Weights::default`]) put 0.8 on the four "nobody is talking and
//! nothing is on screen" features, so a boundary at black, in silence and away from speech
//! scores at least 0.8 whatever else is true of it; and a cut in the middle of a sentence
//! (speech on both sides, loud, no black) scores at most about 0.15 even when the picture
//! changes completely.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::inputs::{BoundaryDoc, Inputs, Loudness, Span, WordDoc};

/// Momentary loudness at or above this is "loud" (value 0).
pub const LOUD_LUFS: f64 = -20.0;
/// Momentary loudness at or below this is "quiet" (value 1).
pub const QUIET_LUFS: f64 = -50.0;
/// The silence level looks this far either side of the boundary (seconds).
pub const LEVEL_WINDOW_SECONDS: f64 = 0.5;
/// The momentary window (seconds): a sample at `t` covers `t - 0.4 .. t`.
const MOMENTARY_SECONDS: f64 = 0.4;
/// A pause this long or longer is worth 1.
pub const FULL_PAUSE_SECONDS: f64 = 2.0;
/// Speech this far away or further is worth 1.
pub const FULL_SPEECH_DISTANCE_SECONDS: f64 = 1.0;
/// The value of a fade without black.
pub const FADE_VALUE: f64 = 0.7;
/// Loudness is compared over this long before and after the boundary (seconds).
pub const LOUDNESS_WINDOW_SECONDS: f64 = 3.0;
/// A loudness change this large or larger is worth 1 (LU).
pub const FULL_LOUDNESS_CHANGE_LU: f64 = 12.0;
/// Loudness under the gate counts as this (LUFS) when comparing.
const GATE_LUFS: f64 = -70.0;
/// A cue or a silence this close to a boundary touches it (seconds; 2–3 frames).
pub const TOUCH_SECONDS: f64 = 0.1;

/// The features, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    SilenceLevel,
    PauseLength,
    SpeechDistance,
    BlackOrFade,
    SceneChange,
    VisualChange,
    LoudnessChange,
}

impl Feature {
    pub const ALL: [Feature; 7] = [
        Feature::SilenceLevel,
        Feature::PauseLength,
        Feature::SpeechDistance,
        Feature::BlackOrFade,
        Feature::SceneChange,
        Feature::VisualChange,
        Feature::LoudnessChange,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Feature::SilenceLevel => "silenceLevel",
            Feature::PauseLength => "pauseLength",
            Feature::SpeechDistance => "speechDistance",
            Feature::BlackOrFade => "blackOrFade",
            Feature::SceneChange => "sceneChange",
            Feature::VisualChange => "visualChange",
            Feature::LoudnessChange => "loudnessChange",
        }
    }

    /// What the value means, for the report.
    pub fn description(self) -> &'static str {
        match self {
            Feature::SilenceLevel => {
                "1 inside a programme silence; else the quietest momentary loudness within \
                 ±0.5 s, from 1 at -50 LUFS or quieter to 0 at -20 LUFS or louder"
            }
            Feature::PauseLength => {
                "the longer of the programme silence and the no-speech gap containing the \
                 boundary, over 2 s (capped at 1)"
            }
            Feature::SpeechDistance => {
                "seconds to the nearest transcribed word over 1 s (capped at 1); 0 inside a word"
            }
            Feature::BlackOrFade => "1 at black, 0.7 at a fade without black, else 0",
            Feature::SceneChange => "1 where a scene starts, else 0",
            Feature::VisualChange => "how different the shots either side look (0-1)",
            Feature::LoudnessChange => {
                "|short-term loudness of the 3 s before - of the 3 s after| over 12 LU (capped \
                 at 1)"
            }
        }
    }
}

/// How much each feature counts. Any non-negative numbers: scores divide by the sum of the
/// available features' weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Weights {
    pub silence_level: f64,
    pub pause_length: f64,
    pub speech_distance: f64,
    pub black_or_fade: f64,
    pub scene_change: f64,
    pub visual_change: f64,
    pub loudness_change: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            silence_level: 0.25,
            pause_length: 0.15,
            speech_distance: 0.20,
            black_or_fade: 0.20,
            scene_change: 0.10,
            visual_change: 0.05,
            loudness_change: 0.05,
        }
    }
}

impl Weights {
    pub fn of(&self, feature: Feature) -> f64 {
        let w = match feature {
            Feature::SilenceLevel => self.silence_level,
            Feature::PauseLength => self.pause_length,
            Feature::SpeechDistance => self.speech_distance,
            Feature::BlackOrFade => self.black_or_fade,
            Feature::SceneChange => self.scene_change,
            Feature::VisualChange => self.visual_change,
            Feature::LoudnessChange => self.loudness_change,
        };
        if w.is_finite() { w.max(0.0) } else { 0.0 }
    }

    /// Weights that are all finite and not negative, and not all zero.
    pub fn is_valid(&self) -> bool {
        let all = [
            self.silence_level,
            self.pause_length,
            self.speech_distance,
            self.black_or_fade,
            self.scene_change,
            self.visual_change,
            self.loudness_change,
        ];
        all.iter().all(|w| w.is_finite() && *w >= 0.0) && all.iter().sum::<f64>() > 0.0
    }
}

/// Whether a feature could be measured for this asset, and why not.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureSetting {
    pub feature: &'static str,
    /// The configured weight.
    pub weight: f64,
    /// The weight after renormalising over the available features (what a value is
    /// multiplied by).
    pub effective_weight: f64,
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable_because: Option<String>,
    pub value: &'static str,
}

/// Which features are available for `inputs`, with their effective weights.
pub fn feature_settings(inputs: &Inputs, weights: &Weights) -> Vec<FeatureSetting> {
    let missing = |feature: Feature| -> Option<String> {
        let audio = |what: &str| {
            format!("no {what} (the asset has no audio, or its audio analysis did not produce it)")
        };
        match feature {
            Feature::SilenceLevel if inputs.loudness.is_none() && inputs.silences.is_none() => {
                Some(audio("loudness.json or silences.json"))
            }
            Feature::PauseLength if inputs.silences.is_none() && inputs.words.is_none() => {
                Some(audio("silences.json or transcript.json"))
            }
            Feature::SpeechDistance if inputs.words.is_none() => Some(audio("transcript.json")),
            Feature::LoudnessChange if inputs.loudness.is_none() => Some(audio("loudness.json")),
            _ => None,
        }
    };
    let total: f64 = Feature::ALL
        .iter()
        .filter(|f| missing(**f).is_none())
        .map(|f| weights.of(*f))
        .sum();
    Feature::ALL
        .iter()
        .map(|&feature| {
            let reason = missing(feature);
            let available = reason.is_none();
            let weight = weights.of(feature);
            FeatureSetting {
                feature: feature.name(),
                weight,
                effective_weight: if available && total > 0.0 {
                    round(weight / total)
                } else {
                    0.0
                },
                available,
                unavailable_because: reason,
                value: feature.description(),
            }
        })
        .collect()
}

/// One feature measured at one boundary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureScore {
    pub value: f64,
    /// The effective weight (renormalised over the available features).
    pub weight: f64,
    /// `value × weight`; a boundary's score is the sum of its contributions.
    pub contribution: f64,
    /// What was measured.
    pub raw: Value,
}

/// A boundary's features (the available ones, in [`Feature::ALL`] order) and score.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub features: Vec<(Feature, FeatureScore)>,
    /// In [0, 1].
    pub score: f64,
}

/// Scores every boundary of `inputs`.
pub fn score_all(inputs: &Inputs, weights: &Weights) -> Vec<Scored> {
    let settings = feature_settings(inputs, weights);
    let available: Vec<(Feature, f64)> = Feature::ALL
        .iter()
        .zip(&settings)
        .filter(|(_, s)| s.available)
        .map(|(f, _)| (*f, weights.of(*f)))
        .collect();
    let total: f64 = available.iter().map(|(_, w)| w).sum();
    let speech = inputs.words.as_deref().map(Speech::new);
    inputs
        .boundaries
        .iter()
        .map(|b| {
            let mut score = 0.0;
            let features = available
                .iter()
                .map(|&(feature, weight)| {
                    let (value, raw) = measure(feature, b, inputs, speech.as_ref());
                    let value = value.clamp(0.0, 1.0);
                    let weight = if total > 0.0 { weight / total } else { 0.0 };
                    score += weight * value;
                    (
                        feature,
                        FeatureScore {
                            value: round(value),
                            weight: round(weight),
                            contribution: round(weight * value),
                            raw,
                        },
                    )
                })
                .collect();
            Scored {
                features,
                score: round(score.clamp(0.0, 1.0)),
            }
        })
        .collect()
}

/// One feature's value and raw measurement at `b`.
fn measure(
    feature: Feature,
    b: &BoundaryDoc,
    inputs: &Inputs,
    speech: Option<&Speech<'_>>,
) -> (f64, Value) {
    let s = b.seconds;
    match feature {
        Feature::SilenceLevel => silence_level(s, inputs),
        Feature::PauseLength => pause_length(s, inputs, speech),
        Feature::SpeechDistance => speech_distance(s, speech),
        Feature::BlackOrFade => black_or_fade(b, inputs),
        Feature::SceneChange => (
            if b.scene_boundary { 1.0 } else { 0.0 },
            json!({"sceneBoundary": b.scene_boundary, "decision": b.decision}),
        ),
        Feature::VisualChange => {
            let d = if b.visual_distance.is_finite() {
                b.visual_distance.clamp(0.0, 1.0)
            } else {
                0.0
            };
            (d, json!({"visualDistance": round(d)}))
        }
        Feature::LoudnessChange => match &inputs.loudness {
            Some(loudness) => loudness_change(s, loudness),
            None => (0.0, Value::Null),
        },
    }
}

/// The programme silence containing `s` (touching counts).
fn silence_at(s: f64, silences: &[Span]) -> Option<Span> {
    silences
        .iter()
        .find(|x| x.start_seconds - TOUCH_SECONDS <= s && s <= x.end_seconds + TOUCH_SECONDS)
        .copied()
}

/// The value of a momentary loudness (`None`: under the gate).
pub fn level_value(lufs: Option<f64>) -> f64 {
    match lufs {
        None => 1.0,
        Some(l) => ((LOUD_LUFS - l) / (LOUD_LUFS - QUIET_LUFS)).clamp(0.0, 1.0),
    }
}

/// The quietest momentary loudness whose 400 ms window overlaps `s ± 0.5 s`: `None` when
/// there is no sample there, `Some(None)` when it is under the gate.
fn quietest_momentary(s: f64, loudness: &Loudness) -> Option<Option<f64>> {
    let (from, to) = (s - LEVEL_WINDOW_SECONDS, s + LEVEL_WINDOW_SECONDS);
    (0..loudness.momentary.len())
        .filter(|&i| {
            let t = loudness.time(i);
            t > from && t - MOMENTARY_SECONDS < to
        })
        .map(|i| loudness.momentary[i])
        // None (under the gate) is quieter than any measured value.
        .min_by(|a, b| match (a, b) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => x.total_cmp(y),
        })
}

fn silence_level(s: f64, inputs: &Inputs) -> (f64, Value) {
    let silence = inputs.silences.as_deref().and_then(|v| silence_at(s, v));
    let quietest = inputs
        .loudness
        .as_ref()
        .and_then(|l| quietest_momentary(s, l));
    let value = if silence.is_some() {
        1.0
    } else {
        match quietest {
            Some(level) => level_value(level),
            None => 0.0,
        }
    };
    let mut raw = json!({
        "inProgrammeSilence": silence.is_some(),
    });
    if inputs.loudness.is_some() {
        // Under the gate: no level, `gated`; past the measured audio: no level, not measured.
        raw["quietestMomentaryLufs"] = json!(quietest.flatten().map(round2));
        raw["gated"] = json!(quietest == Some(None));
        raw["measured"] = json!(quietest.is_some());
    }
    (value, raw)
}

/// Timed words (in start order) with the furthest end so far, to find a boundary's
/// neighbouring speech by binary search.
pub struct Speech<'a> {
    words: &'a [WordDoc],
    /// For each word, the latest end among it and the words before it, and whose end it is.
    max_end: Vec<(f64, usize)>,
}

impl<'a> Speech<'a> {
    pub fn new(words: &'a [WordDoc]) -> Self {
        let mut max_end: Vec<(f64, usize)> = Vec::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            let best = match max_end.last() {
                Some(&(end, j)) if end >= w.end => (end, j),
                _ => (w.end, i),
            };
            max_end.push(best);
        }
        Self { words, max_end }
    }

    /// The word that ends last among those starting at or before `s`, and the first word
    /// starting after `s`.
    fn around(&self, s: f64) -> (Option<&'a WordDoc>, Option<&'a WordDoc>) {
        let after = self.words.partition_point(|w| w.start <= s);
        let before = after.checked_sub(1).map(|i| &self.words[self.max_end[i].1]);
        (before, self.words.get(after))
    }

    /// The no-speech gap containing `s`: 0 inside a word; the whole content without words.
    pub fn gap(&self, s: f64, duration: f64) -> f64 {
        match self.around(s) {
            (Some(before), _) if before.end >= s => 0.0,
            (before, after) => {
                let from = before.map_or(0.0, |w| w.end);
                let to = after.map_or(duration.max(s), |w| w.start);
                (to - from).max(0.0)
            }
        }
    }

    /// The nearest word and how far it is (0 inside it); `None` without words.
    pub fn nearest(&self, s: f64) -> Option<(f64, &'a WordDoc)> {
        let (before, after) = self.around(s);
        let before = before.map(|w| ((s - w.end).max(0.0), w));
        let after = after.map(|w| (w.start - s, w));
        match (before, after) {
            (Some(b), Some(a)) => Some(if a.0 < b.0 { a } else { b }),
            (b, a) => b.or(a),
        }
    }
}

fn pause_length(s: f64, inputs: &Inputs, speech: Option<&Speech<'_>>) -> (f64, Value) {
    let silence = inputs
        .silences
        .as_deref()
        .map(|v| silence_at(s, v).map_or(0.0, |x| x.end_seconds - x.start_seconds));
    let gap = speech.map(|sp| sp.gap(s, inputs.duration_seconds));
    let pause = silence.unwrap_or(0.0).max(gap.unwrap_or(0.0));
    (
        pause / FULL_PAUSE_SECONDS,
        json!({
            "pauseSeconds": round2(pause),
            "programmeSilenceSeconds": silence.map(round2),
            "speechGapSeconds": gap.map(round2),
        }),
    )
}

fn speech_distance(s: f64, speech: Option<&Speech<'_>>) -> (f64, Value) {
    match speech.and_then(|sp| sp.nearest(s)) {
        None => (
            1.0,
            json!({"nearestWordSeconds": null, "nearestWord": null, "insideWord": false}),
        ),
        Some((d, w)) => (
            d / FULL_SPEECH_DISTANCE_SECONDS,
            json!({
                "nearestWordSeconds": round2(d),
                "nearestWord": w.text,
                "insideWord": d == 0.0,
            }),
        ),
    }
}

fn black_or_fade(b: &BoundaryDoc, inputs: &Inputs) -> (f64, Value) {
    let s = b.seconds;
    let touching = |kind: &str| {
        inputs.cues.iter().any(|c| {
            c.kind == kind
                && c.start_seconds - TOUCH_SECONDS <= s
                && s <= c.end_seconds + TOUCH_SECONDS
        })
    };
    let fade_cue = inputs.cues.iter().any(|c| {
        (c.kind == "FadeOut" && (c.end_seconds - s).abs() <= TOUCH_SECONDS)
            || (c.kind == "FadeIn" && (c.start_seconds - s).abs() <= TOUCH_SECONDS)
    });
    let black = b.black || touching("Black");
    let fade = b.fade || fade_cue;
    let value = if black {
        1.0
    } else if fade {
        FADE_VALUE
    } else {
        0.0
    };
    (value, json!({"black": black, "fade": fade}))
}

/// The short-term sample of the 3 s before `s` (the last one measured at or before it) and of
/// the 3 s after (the first measured at or after `s + 3`).
fn loudness_change(s: f64, loudness: &Loudness) -> (f64, Value) {
    let series = &loudness.short_term;
    let eps = 1e-6;
    let before = (0..series.len())
        .rev()
        .find(|&i| loudness.time(i) <= s + eps)
        .map(|i| series[i]);
    let after = (0..series.len())
        .find(|&i| loudness.time(i) >= s + LOUDNESS_WINDOW_SECONDS - eps)
        .map(|i| series[i]);
    let level = |v: Option<f64>| v.unwrap_or(GATE_LUFS).max(GATE_LUFS);
    match (before, after) {
        (Some(b), Some(a)) => {
            let change = (level(b) - level(a)).abs();
            (
                change / FULL_LOUDNESS_CHANGE_LU,
                json!({
                    "beforeLufs": b.map(round2),
                    "afterLufs": a.map(round2),
                    "changeLu": round2(change),
                }),
            )
        }
        _ => (
            0.0,
            json!({
                "beforeLufs": before.flatten().map(round2),
                "afterLufs": after.flatten().map(round2),
                "changeLu": null,
            }),
        ),
    }
}

/// Rounded to 4 decimals, for stable, readable documents.
pub fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{CueDoc, Loudness};

    pub(crate) fn boundary(seconds: f64) -> BoundaryDoc {
        BoundaryDoc {
            seconds,
            frame: (seconds * 25.0).round() as u64,
            shot_before: 1,
            shot_after: 2,
            scene_boundary: false,
            visual_distance: 0.0,
            black: false,
            fade: false,
            in_dialogue: false,
            decision: None,
        }
    }

    fn word(text: &str, start: f64, end: f64) -> WordDoc {
        WordDoc {
            text: text.into(),
            start,
            end,
        }
    }

    /// 120 s at -23 LUFS with 3 s of silence (gated) from 58.5 s.
    fn loudness() -> Loudness {
        let series: Vec<Option<f64>> = (1..=120)
            .map(|t| {
                let t = t as f64;
                (!(59.0..=61.5).contains(&t)).then_some(-23.0)
            })
            .collect();
        Loudness {
            interval: 1.0,
            momentary: series.clone(),
            short_term: series,
        }
    }

    /// Speech everywhere except 58.5–61.5 s: words of 0.4 s with 0.1 s between them.
    fn words() -> Vec<WordDoc> {
        let mut words = Vec::new();
        let mut t = 0.0;
        while t < 120.0 {
            if !(58.0..61.5).contains(&t) {
                words.push(word("word", t, t + 0.4));
            }
            t += 0.5;
        }
        words
    }

    fn inputs(boundaries: Vec<BoundaryDoc>) -> Inputs {
        Inputs {
            duration_seconds: 120.0,
            boundaries,
            cues: vec![CueDoc {
                kind: "Black".into(),
                start_seconds: 59.5,
                end_seconds: 60.5,
            }],
            silences: Some(vec![Span {
                start_seconds: 58.5,
                end_seconds: 61.5,
            }]),
            loudness: Some(loudness()),
            words: Some(words()),
        }
        .normalised()
    }

    #[test]
    fn the_default_weights_sum_to_one_and_put_point_eight_on_quiet_black() {
        let w = Weights::default();
        let sum: f64 = Feature::ALL.iter().map(|f| w.of(*f)).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        let quiet_black = w.silence_level + w.pause_length + w.speech_distance + w.black_or_fade;
        assert!((quiet_black - 0.8).abs() < 1e-9);
        assert!(w.is_valid());
        assert!(
            !Weights {
                scene_change: -1.0,
                ..w
            }
            .is_valid()
        );
    }

    #[test]
    fn black_in_silence_away_from_speech_scores_high_and_a_mid_sentence_cut_low() {
        let mut good = boundary(60.0);
        good.scene_boundary = true;
        good.visual_distance = 0.9;
        let mut bad = boundary(30.2); // inside a word (30.0–30.4)
        bad.visual_distance = 1.0; // a complete change of picture does not save it
        bad.in_dialogue = true;
        let scored = score_all(&inputs(vec![bad, good]), &Weights::default());
        let (bad, good) = (&scored[0], &scored[1]);
        assert!(good.score >= 0.8, "{good:?}");
        assert!(bad.score <= 0.2, "{bad:?}");
        let contributions: f64 = good.features.iter().map(|(_, f)| f.contribution).sum();
        assert!((contributions - good.score).abs() < 1e-3);

        // Even without the scene change, the visual change and the loudness change.
        let mut plain = boundary(60.0);
        plain.black = true;
        let scored = score_all(&inputs(vec![plain]), &Weights::default());
        assert!(scored[0].score >= 0.8, "{:?}", scored[0]);
    }

    #[test]
    fn features_measure_what_they_say() {
        let i = inputs(vec![boundary(60.0), boundary(30.2), boundary(30.45)]);
        let (v, raw) = silence_level(60.0, &i);
        assert_eq!(v, 1.0);
        assert_eq!(raw["inProgrammeSilence"], true);
        let (v, _) = silence_level(30.2, &i);
        assert!((v - 0.1).abs() < 1e-9, "-23 LUFS is 0.1: {v}");
        let speech = Speech::new(i.words.as_deref().unwrap());
        let sp = Some(&speech);
        let (v, raw) = pause_length(60.0, &i, sp);
        assert_eq!(raw["programmeSilenceSeconds"], 3.0);
        assert_eq!(raw["speechGapSeconds"], 3.6, "57.9 s to 61.5 s");
        assert!(
            (v - 1.8).abs() < 1e-9,
            "the longer over 2 s (capped when scored): {v}"
        );
        let (v, raw) = speech_distance(30.2, sp);
        assert_eq!((v, raw["insideWord"].clone()), (0.0, json!(true)));
        let (v, _) = speech_distance(30.45, sp);
        assert!((v - 0.05).abs() < 1e-9, "{v}");
        let (v, raw) = pause_length(30.45, &i, sp);
        assert!((v - 0.05).abs() < 1e-9, "0.1 s between words: {v} {raw}");
        let (v, _) = black_or_fade(&boundary(60.0), &i);
        assert_eq!(v, 1.0);
        let mut faded = boundary(30.0);
        faded.fade = true;
        assert_eq!(black_or_fade(&faded, &i).0, FADE_VALUE);
        let (v, raw) = loudness_change(58.0, i.loudness.as_ref().unwrap());
        assert_eq!(v, 47.0 / 12.0, "-23 before, gated after: {raw}");
        assert_eq!(level_value(Some(-50.0)), 1.0);
        assert_eq!(level_value(Some(-35.0)), 0.5);
        assert_eq!(level_value(Some(-10.0)), 0.0);
    }

    #[test]
    fn without_audio_the_video_features_are_renormalised() {
        let mut b = boundary(60.0);
        b.black = true;
        b.scene_boundary = true;
        b.visual_distance = 0.5;
        let video_only = Inputs {
            duration_seconds: 120.0,
            boundaries: vec![b],
            ..Inputs::default()
        };
        let settings = feature_settings(&video_only, &Weights::default());
        let available: Vec<_> = settings
            .iter()
            .filter(|s| s.available)
            .map(|s| s.feature)
            .collect();
        assert_eq!(available, ["blackOrFade", "sceneChange", "visualChange"]);
        assert!(
            settings
                .iter()
                .filter(|s| !s.available)
                .all(|s| s.unavailable_because.is_some() && s.effective_weight == 0.0)
        );
        let scored = score_all(&video_only, &Weights::default());
        // (0.20 × 1 + 0.10 × 1 + 0.05 × 0.5) / 0.35
        assert!((scored[0].score - 0.325 / 0.35).abs() < 1e-3, "{scored:?}");
        let weights: f64 = scored[0].features.iter().map(|(_, f)| f.weight).sum();
        assert!((weights - 1.0).abs() < 1e-3);
    }
}
