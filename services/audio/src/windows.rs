//! Shapes of the audio service's result documents that combine several measurements: the
//! programme's silences (where every sounding track is silent), the transcript's 1-minute
//! language windows, and language results per window and for the whole asset.

use std::collections::BTreeMap;

use mediasift_media::loudness::{LoudnessReport, SilenceSegment};
use serde::Serialize;
use serde_json::{Value, json};

use crate::language::{DocumentLanguage, Entity, Keyphrase, Sentiment};
use crate::speech::Transcript;

/// The features language analysis reports, each its own result document.
pub const LANGUAGE_FEATURES: [&str; 3] = ["keyphrases", "entities", "sentiment"];
/// Keyphrases kept for the whole asset.
const ASSET_KEYPHRASES: usize = 25;
/// Entities kept for the whole asset.
const ASSET_ENTITIES: usize = 100;

/// `silences.json`: every track's silences, and the programme's (for ad breaks).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Silences {
    pub threshold_lufs: f64,
    pub min_silence_seconds: f64,
    /// Where every track that carries sound is silent at once (the whole duration when no
    /// track carries sound).
    pub programme: Vec<SilenceSegment>,
    pub tracks: Vec<TrackSilences>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackSilences {
    /// 1-based track number.
    pub track: u32,
    pub silent: bool,
    pub silences: Vec<SilenceSegment>,
}

pub fn silences(report: &LoudnessReport) -> Silences {
    let tracks: Vec<TrackSilences> = report
        .tracks
        .iter()
        .map(|t| TrackSilences {
            track: t.track,
            silent: t.loudness.silent,
            silences: t.loudness.silences.clone(),
        })
        .collect();
    let duration = report
        .tracks
        .iter()
        .map(|t| t.loudness.duration_seconds)
        .fold(0.0, f64::max);
    let mut sounding = report.tracks.iter().filter(|t| !t.loudness.silent);
    let programme = match sounding.next() {
        None if duration > 0.0 => vec![SilenceSegment {
            start_seconds: 0.0,
            end_seconds: duration,
            level_lufs: None,
        }],
        None => Vec::new(),
        Some(first) => sounding.fold(first.loudness.silences.clone(), |acc, t| {
            intersect(&acc, &t.loudness.silences)
        }),
    };
    let min = report.min_silence_seconds;
    Silences {
        threshold_lufs: report.silence_threshold_lufs,
        min_silence_seconds: min,
        programme: programme
            .into_iter()
            .filter(|s| s.end_seconds - s.start_seconds >= min - 1e-9)
            .collect(),
        tracks,
    }
}

/// The stretches inside both sorted lists of segments; the level is the louder of the two.
fn intersect(a: &[SilenceSegment], b: &[SilenceSegment]) -> Vec<SilenceSegment> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let start = a[i].start_seconds.max(b[j].start_seconds);
        let end = a[i].end_seconds.min(b[j].end_seconds);
        if end > start {
            let level = match (a[i].level_lufs, b[j].level_lufs) {
                (Some(x), Some(y)) => Some(x.max(y)),
                (x, y) => x.or(y),
            };
            out.push(SilenceSegment {
                start_seconds: start,
                end_seconds: end,
                level_lufs: level,
            });
        }
        if a[i].end_seconds < b[j].end_seconds {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The transcript's words in one window of time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    pub start: f64,
    pub end: f64,
    pub words: usize,
    pub text: String,
}

/// The transcript cut into windows of `seconds` by each word's start; windows without words
/// are left out.
pub fn language_windows(transcript: &Transcript, seconds: f64) -> Vec<Window> {
    let mut windows: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for word in &transcript.words {
        let at = (word.start.max(0.0) / seconds).floor() as u64;
        windows.entry(at).or_default().push(word.text.trim());
    }
    windows
        .into_iter()
        .map(|(at, words)| {
            let start = at as f64 * seconds;
            let end = (start + seconds).min(transcript.duration_seconds.max(start));
            Window {
                start,
                end,
                words: words.len(),
                text: words.join(" "),
            }
        })
        .collect()
}

/// Language results for each window and for the whole asset.
pub struct LanguageResults {
    engine: String,
    language: String,
    windows: Vec<(Window, DocumentLanguage)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetKeyphrase {
    pub text: String,
    /// The best score any window gave it.
    pub score: f64,
    /// Windows it was found in.
    pub windows: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetEntity {
    pub text: String,
    pub kind: String,
    pub score: f64,
    /// Mentions over every window.
    pub mentions: usize,
}

impl LanguageResults {
    pub fn build(
        engine: &str,
        language: &str,
        windows: &[Window],
        found: Vec<DocumentLanguage>,
    ) -> Self {
        Self {
            engine: engine.into(),
            language: language.into(),
            windows: windows.iter().cloned().zip(found).collect(),
        }
    }

    /// Keyphrases of the whole asset: ranked by the sum of their window scores (a phrase that
    /// recurs outranks a one-off of the same strength).
    pub fn asset_keyphrases(&self) -> Vec<AssetKeyphrase> {
        let mut by_text: BTreeMap<String, (AssetKeyphrase, f64)> = BTreeMap::new();
        for (_, found) in &self.windows {
            for Keyphrase { text, score } in &found.keyphrases {
                let entry = by_text.entry(text.to_lowercase()).or_insert_with(|| {
                    (
                        AssetKeyphrase {
                            text: text.clone(),
                            score: 0.0,
                            windows: 0,
                        },
                        0.0,
                    )
                });
                entry.0.score = entry.0.score.max(*score);
                entry.0.windows += 1;
                entry.1 += score;
            }
        }
        let mut ranked: Vec<(AssetKeyphrase, f64)> = by_text.into_values().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.text.cmp(&b.0.text)));
        ranked
            .into_iter()
            .take(ASSET_KEYPHRASES)
            .map(|(k, _)| k)
            .collect()
    }

    /// Entities of the whole asset, by mentions.
    pub fn asset_entities(&self) -> Vec<AssetEntity> {
        let mut by_name: BTreeMap<(String, String), AssetEntity> = BTreeMap::new();
        for (_, found) in &self.windows {
            for Entity { text, kind, score } in &found.entities {
                let entry = by_name
                    .entry((text.to_lowercase(), kind.clone()))
                    .or_insert_with(|| AssetEntity {
                        text: text.clone(),
                        kind: kind.clone(),
                        score: 0.0,
                        mentions: 0,
                    });
                entry.score = entry.score.max(*score);
                entry.mentions += 1;
            }
        }
        let mut ranked: Vec<AssetEntity> = by_name.into_values().collect();
        ranked.sort_by(|a, b| {
            b.mentions
                .cmp(&a.mentions)
                .then_with(|| b.score.total_cmp(&a.score))
                .then_with(|| a.text.cmp(&b.text))
        });
        ranked.truncate(ASSET_ENTITIES);
        ranked
    }

    /// The whole asset's sentiment: each window's scores weighted by its words; the label is
    /// the largest of the four.
    pub fn asset_sentiment(&self) -> Option<Sentiment> {
        let mut total = 0.0;
        let mut sums = [0.0; 4];
        for (window, found) in &self.windows {
            let Some(s) = &found.sentiment else { continue };
            let weight = window.words.max(1) as f64;
            total += weight;
            for (sum, value) in sums
                .iter_mut()
                .zip([s.positive, s.negative, s.neutral, s.mixed])
            {
                *sum += weight * value;
            }
        }
        if total == 0.0 {
            return None;
        }
        let [positive, negative, neutral, mixed] = sums.map(|s| s / total);
        let labels = [
            ("POSITIVE", positive),
            ("NEGATIVE", negative),
            ("NEUTRAL", neutral),
            ("MIXED", mixed),
        ];
        let label = labels
            .iter()
            .fold(labels[0], |best, l| if l.1 > best.1 { *l } else { best })
            .0;
        Some(Sentiment {
            label: label.into(),
            positive,
            negative,
            neutral,
            mixed,
        })
    }

    /// `(name, document)` for each language result document.
    pub fn documents(&self) -> Vec<(&'static str, Value)> {
        let window = |w: &Window| json!({"start": w.start, "end": w.end, "words": w.words});
        let head = |feature: &str| {
            json!({
                "feature": feature,
                "engine": self.engine,
                "language": self.language,
                "windowSeconds": crate::handler::LANGUAGE_WINDOW_SECONDS,
            })
        };
        let with = |mut doc: Value, asset: Value, windows: Vec<Value>| {
            doc["asset"] = asset;
            doc["windows"] = Value::Array(windows);
            doc
        };
        vec![
            (
                "keyphrases",
                with(
                    head("keyphrases"),
                    json!(self.asset_keyphrases()),
                    self.windows
                        .iter()
                        .map(|(w, f)| {
                            let mut v = window(w);
                            v["keyphrases"] = json!(f.keyphrases);
                            v
                        })
                        .collect(),
                ),
            ),
            (
                "entities",
                with(
                    head("entities"),
                    json!(self.asset_entities()),
                    self.windows
                        .iter()
                        .map(|(w, f)| {
                            let mut v = window(w);
                            v["entities"] = json!(f.entities);
                            v
                        })
                        .collect(),
                ),
            ),
            (
                "sentiment",
                with(
                    head("sentiment"),
                    json!(self.asset_sentiment()),
                    self.windows
                        .iter()
                        .map(|(w, f)| {
                            let mut v = window(w);
                            v["sentiment"] = json!(f.sentiment);
                            v
                        })
                        .collect(),
                ),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::speech::Word;

    fn seg(start: f64, end: f64, level: f64) -> SilenceSegment {
        SilenceSegment {
            start_seconds: start,
            end_seconds: end,
            level_lufs: Some(level),
        }
    }

    #[test]
    fn the_programme_is_silent_only_where_every_track_is() {
        let a = [seg(0.0, 2.0, -70.0), seg(5.0, 9.0, -60.0)];
        let b = [seg(1.0, 6.0, -65.0), seg(8.0, 12.0, -80.0)];
        assert_eq!(
            intersect(&a, &b),
            vec![
                seg(1.0, 2.0, -65.0),
                seg(5.0, 6.0, -60.0),
                seg(8.0, 9.0, -60.0)
            ]
        );
        assert_eq!(intersect(&a, &[]), vec![]);
    }

    fn transcript(words: &[(&str, f64)]) -> Transcript {
        Transcript {
            engine: "test".into(),
            language: Some("en".into()),
            language_confidence: None,
            duration_seconds: 150.0,
            text: String::new(),
            segments: vec![],
            words: words
                .iter()
                .map(|(text, start)| Word {
                    text: (*text).into(),
                    start: *start,
                    end: start + 0.3,
                    confidence: None,
                })
                .collect(),
            warnings: vec![],
        }
    }

    #[test]
    fn windows_cut_by_word_start_and_skip_empty_minutes() {
        let t = transcript(&[
            ("one", 1.0),
            ("two", 59.9),
            ("three", 60.0),
            ("four", 140.0),
        ]);
        let windows = language_windows(&t, 60.0);
        assert_eq!(windows.len(), 3);
        assert_eq!(
            (windows[0].start, windows[0].end, windows[0].text.as_str()),
            (0.0, 60.0, "one two")
        );
        assert_eq!(windows[1].text, "three");
        assert_eq!((windows[2].start, windows[2].end), (120.0, 150.0));
    }

    #[test]
    fn asset_results_merge_windows() {
        let t = transcript(&[("a", 1.0), ("b", 61.0), ("c", 62.0), ("d", 63.0)]);
        let windows = language_windows(&t, 60.0);
        let k = |text: &str, score| Keyphrase {
            text: text.into(),
            score,
        };
        let sentiment = |label: &str, p, n| Sentiment {
            label: label.into(),
            positive: p,
            negative: n,
            neutral: 1.0 - p - n,
            mixed: 0.0,
        };
        let found = vec![
            DocumentLanguage {
                keyphrases: vec![k("Baker Street", 0.6), k("violin", 0.9)],
                entities: vec![Entity {
                    text: "Holmes".into(),
                    kind: "PERSON".into(),
                    score: 0.7,
                }],
                sentiment: Some(sentiment("POSITIVE", 0.9, 0.0)),
            },
            DocumentLanguage {
                keyphrases: vec![k("baker street", 0.5)],
                entities: vec![Entity {
                    text: "Holmes".into(),
                    kind: "PERSON".into(),
                    score: 0.9,
                }],
                sentiment: Some(sentiment("NEGATIVE", 0.0, 0.7)),
            },
        ];
        let results = LanguageResults::build("e", "en", &windows, found);
        let keyphrases = results.asset_keyphrases();
        assert_eq!(keyphrases[0].text, "Baker Street");
        assert_eq!((keyphrases[0].score, keyphrases[0].windows), (0.6, 2));
        assert_eq!(keyphrases[1].text, "violin");
        let entities = results.asset_entities();
        assert_eq!((entities[0].mentions, entities[0].score), (2, 0.9));
        // One word at 0.9 positive, three at 0.7 negative: negative outweighs.
        let s = results.asset_sentiment().unwrap();
        assert!((s.positive - 0.225).abs() < 1e-9 && (s.negative - 0.525).abs() < 1e-9);
        assert_eq!(s.label, "NEGATIVE");
        let docs = results.documents();
        assert_eq!(docs.len(), 3);
        assert_eq!(
            docs[0].1["windows"][1]["keyphrases"][0]["text"],
            "baker street"
        );
    }
}
