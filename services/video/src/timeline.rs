//! Timelines: for each label, person, line of text… of a feature, the time ranges it is on
//! screen and its highest confidence; and the same as a WebVTT metadata track.
//!
//! Every capture stands for the interval until the next one (one second at 1 fps) and carries
//! the detections of the capture whose results it gets (its group's representative, or the
//! capture that representative reuses). A track's consecutive captures join into one range.
//! Pure: findings in, [`Timelines`] out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::vision::Detection;

/// What one capture shows, in time order.
#[derive(Debug, Clone, Copy)]
pub struct CaptureFindings<'a> {
    /// Seconds from the start of the video.
    pub timestamp: f64,
    pub detections: &'a [Detection],
}

/// One time range a track is on screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Range {
    pub start: f64,
    pub end: f64,
    pub max_confidence: f64,
}

/// One label, person, line of text… and when it is on screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Track {
    pub name: String,
    /// A celebrity's id or a face's id in the face collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub max_confidence: f64,
    /// Seconds on screen, summed over the ranges.
    pub seconds: f64,
    pub ranges: Vec<Range>,
}

/// One feature's tracks, most seen first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    pub feature: String,
    pub tracks: Vec<Track>,
}

/// Every feature's timeline of one video: `<assetId>/video/timelines.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timelines {
    /// Seconds each capture stands for.
    pub capture_interval: f64,
    pub duration: f64,
    pub timelines: Vec<Timeline>,
}

/// Builds `feature`'s timeline from captures in time order, each standing for `interval`
/// seconds (clamped to `duration` when it is known, > 0). Words that share a `line` become
/// one track per line of text, their confidence the lowest of its words.
pub fn build(
    feature: &str,
    captures: &[CaptureFindings<'_>],
    interval: f64,
    duration: f64,
) -> Timeline {
    let interval = if interval > 0.0 { interval } else { 1.0 };
    // Gaps shorter than half a capture interval (timestamp rounding) do not split a range.
    let tolerance = interval / 2.0;
    let mut tracks: BTreeMap<(String, Option<String>), Track> = BTreeMap::new();
    for capture in captures {
        let start = capture.timestamp;
        let mut end = start + interval;
        if duration > 0.0 && end > duration {
            end = duration.max(start);
        }
        for ((name, id), confidence) in on_screen(capture.detections) {
            let track = tracks
                .entry((name.clone(), id.clone()))
                .or_insert_with(|| Track {
                    name,
                    id,
                    max_confidence: confidence,
                    seconds: 0.0,
                    ranges: Vec::new(),
                });
            track.max_confidence = track.max_confidence.max(confidence);
            match track.ranges.last_mut() {
                Some(last) if start <= last.end + tolerance => {
                    last.end = last.end.max(end);
                    last.max_confidence = last.max_confidence.max(confidence);
                }
                _ => track.ranges.push(Range {
                    start,
                    end,
                    max_confidence: confidence,
                }),
            }
        }
    }
    let mut tracks: Vec<Track> = tracks
        .into_values()
        .map(|mut track| {
            track.seconds = round_ms(track.ranges.iter().map(|r| r.end - r.start).sum());
            track
        })
        .collect();
    tracks.sort_by(|a, b| {
        b.seconds
            .total_cmp(&a.seconds)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });
    Timeline {
        feature: feature.to_owned(),
        tracks,
    }
}

/// What is on screen in one capture: (name, id) → its highest confidence there. Words are
/// joined into their lines.
fn on_screen(detections: &[Detection]) -> BTreeMap<(String, Option<String>), f64> {
    let mut seen = BTreeMap::new();
    let mut lines: BTreeMap<&str, Vec<&Detection>> = BTreeMap::new();
    for detection in detections {
        match &detection.line {
            Some(line) => lines.entry(line).or_default().push(detection),
            None => {
                let entry = seen
                    .entry((detection.name.clone(), detection.id.clone()))
                    .or_insert(detection.confidence);
                *entry = entry.max(detection.confidence);
            }
        }
    }
    for words in lines.values() {
        let text = words
            .iter()
            .map(|w| w.name.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let confidence = words
            .iter()
            .map(|w| w.confidence)
            .fold(f64::INFINITY, f64::min);
        let entry = seen.entry((text, None)).or_insert(confidence);
        *entry = entry.max(confidence);
    }
    seen
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// The timeline as a WebVTT metadata track (`Kind: metadata`): one cue per stretch of time in
/// which the same tracks are on screen, its payload a JSON array of `{name, id?, confidence}`
/// (the range's highest confidence).
pub fn to_webvtt(timeline: &Timeline) -> String {
    let mut bounds: Vec<f64> = timeline
        .tracks
        .iter()
        .flat_map(|t| t.ranges.iter().flat_map(|r| [r.start, r.end]))
        .collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    let mut vtt = String::from("WEBVTT\nKind: metadata\n");
    let mut previous: Option<(f64, f64, String)> = None;
    let mut cues = Vec::new();
    for pair in bounds.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        let middle = (from + to) / 2.0;
        let active: Vec<serde_json::Value> = timeline
            .tracks
            .iter()
            .filter_map(|track| {
                let range = track
                    .ranges
                    .iter()
                    .find(|r| r.start <= middle && middle < r.end)?;
                let mut item = serde_json::json!({
                    "name": track.name,
                    "confidence": range.max_confidence,
                });
                if let Some(id) = &track.id {
                    item["id"] = serde_json::Value::String(id.clone());
                }
                Some(item)
            })
            .collect();
        if active.is_empty() {
            if let Some(cue) = previous.take() {
                cues.push(cue);
            }
            continue;
        }
        let payload = serde_json::Value::Array(active).to_string();
        previous = match previous.take() {
            Some((start, end, last)) if last == payload && end == from => Some((start, to, last)),
            Some(cue) => {
                cues.push(cue);
                Some((from, to, payload))
            }
            None => Some((from, to, payload)),
        };
    }
    cues.extend(previous);
    for (start, end, payload) in cues {
        let _ = write!(
            vtt,
            "\n{} --> {}\n{payload}\n",
            vtt_time(start),
            vtt_time(end)
        );
    }
    vtt
}

/// `HH:MM:SS.mmm`.
fn vtt_time(seconds: f64) -> String {
    let millis = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str, confidence: f64) -> Detection {
        Detection::new(name, confidence)
    }

    fn word(text: &str, line: &str, confidence: f64) -> Detection {
        let mut word = Detection::new(text, confidence);
        word.line = Some(line.into());
        word
    }

    #[test]
    fn consecutive_captures_join_and_gaps_split() {
        let car = [label("Car", 90.0)];
        let car_and_tree = [label("Car", 95.0), label("Tree", 85.0)];
        let nothing: [Detection; 0] = [];
        let captures = [
            CaptureFindings {
                timestamp: 0.0,
                detections: &car,
            },
            CaptureFindings {
                timestamp: 1.0,
                detections: &car_and_tree,
            },
            CaptureFindings {
                timestamp: 2.0,
                detections: &nothing,
            },
            CaptureFindings {
                timestamp: 3.0,
                detections: &car,
            },
        ];
        let timeline = build("labels", &captures, 1.0, 3.5);
        assert_eq!(timeline.tracks.len(), 2);
        let car = &timeline.tracks[0];
        assert_eq!(car.name, "Car");
        assert_eq!(car.max_confidence, 95.0);
        assert_eq!(
            car.ranges,
            vec![
                Range {
                    start: 0.0,
                    end: 2.0,
                    max_confidence: 95.0
                },
                Range {
                    start: 3.0,
                    end: 3.5,
                    max_confidence: 90.0
                },
            ]
        );
        assert_eq!(car.seconds, 2.5);
        let tree = &timeline.tracks[1];
        assert_eq!(
            tree.ranges,
            vec![Range {
                start: 1.0,
                end: 2.0,
                max_confidence: 85.0
            }]
        );

        let vtt = to_webvtt(&timeline);
        assert_eq!(
            vtt,
            "WEBVTT\nKind: metadata\n\
             \n00:00:00.000 --> 00:00:01.000\n[{\"name\":\"Car\",\"confidence\":95.0}]\n\
             \n00:00:01.000 --> 00:00:02.000\n[{\"name\":\"Car\",\"confidence\":95.0},{\"name\":\"Tree\",\"confidence\":85.0}]\n\
             \n00:00:03.000 --> 00:00:03.500\n[{\"name\":\"Car\",\"confidence\":90.0}]\n"
        );
    }

    #[test]
    fn words_of_a_line_make_one_text_track() {
        let frame = [
            word("BREAKING", "1.1.1", 96.0),
            word("NEWS", "1.1.1", 91.0),
            word("Channel", "1.2.1", 88.0),
        ];
        let captures = [
            CaptureFindings {
                timestamp: 0.0,
                detections: &frame,
            },
            CaptureFindings {
                timestamp: 1.0,
                detections: &frame,
            },
        ];
        let timeline = build("text", &captures, 1.0, 0.0);
        let names: Vec<(&str, f64)> = timeline
            .tracks
            .iter()
            .map(|t| (t.name.as_str(), t.max_confidence))
            .collect();
        assert_eq!(names, vec![("BREAKING NEWS", 91.0), ("Channel", 88.0)]);
        assert_eq!(timeline.tracks[0].ranges[0].end, 2.0);
    }

    #[test]
    fn faces_of_the_collection_are_tracked_by_id() {
        let mut first = Detection::new("", 99.0);
        first.id = Some("face-1".into());
        let mut second = Detection::new("", 98.0);
        second.id = Some("face-2".into());
        let frame = [first, second];
        let captures = [CaptureFindings {
            timestamp: 5.0,
            detections: &frame,
        }];
        let timeline = build("faceMatch", &captures, 1.0, 0.0);
        assert_eq!(timeline.tracks.len(), 2);
        assert_eq!(timeline.tracks[0].id.as_deref(), Some("face-1"));
        assert!(to_webvtt(&timeline).contains("00:00:05.000 --> 00:00:06.000"));
    }

    #[test]
    fn an_empty_timeline_is_a_valid_track() {
        let timeline = build("labels", &[], 1.0, 10.0);
        assert!(timeline.tracks.is_empty());
        assert_eq!(to_webvtt(&timeline), "WEBVTT\nKind: metadata\n");
        assert_eq!(vtt_time(3723.4567), "01:02:03.457");
    }
}
