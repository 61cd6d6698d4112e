//! One asset's report: what its events and result documents say, gathered into one model that
//! `mediasift report` renders as a self-contained HTML page and `mediasift serve` returns as
//! JSON (`GET /assets/{id}`).
//!
//! The model is built from the asset's latest processing run (its `… Ingested` event and the
//! events that share its correlation id) and the result documents those events name, read
//! through the object store port. A document that is missing or unreadable is named in
//! `notes`; the rest of the report stands.

mod html;
mod model;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mediasift_kit::ports::{ObjectStore, StoreError, split_s3_uri};
use mediasift_schemas::RawEvent;
use serde_json::Value;

pub use html::{MediaLinks, escape_html, render};
pub use model::*;

use crate::outcome::{AssetState, summarize};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("reading {uri}: {source}")]
    Read { uri: String, source: StoreError },
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The report of the asset whose events are `events` (every event of the asset, in archive
/// order), or `None` when the asset was never ingested.
pub async fn gather(
    events: &[RawEvent],
    objects: &dyn ObjectStore,
) -> Result<Option<AssetReport>, ReportError> {
    let Some(ingested) = events
        .iter()
        .rev()
        .find(|e| e.detail_type.ends_with(" Ingested"))
    else {
        return Ok(None);
    };
    let correlation = ingested.correlation_id();
    let run: Vec<&RawEvent> = events
        .iter()
        .filter(|e| e.correlation_id() == correlation)
        .collect();
    let detail = &ingested.detail;
    let asset_id = detail["assetId"].as_str().unwrap_or_default().to_owned();
    let key = detail["source"]["key"].as_str().unwrap_or_default();
    let media_type = ingested
        .detail_type
        .trim_end_matches(" Ingested")
        .to_lowercase();
    let view = summarize(run.iter().copied())
        .into_values()
        .next()
        .expect("the run holds the ingested event");
    let (status, cause) = match &view.state {
        AssetState::Partial { cause } | AssetState::Failed { cause } => {
            (view.state.label(), Some(cause.clone()))
        }
        AssetState::Unfinished { reason } | AssetState::Skipped { reason } => {
            (view.state.label(), Some(reason.clone()))
        }
        other => (other.label(), None),
    };

    let mut report = AssetReport {
        asset_id: asset_id.clone(),
        name: key.rsplit('/').next().unwrap_or(key).to_owned(),
        source: detail["source"]["uri"].as_str().map(str::to_owned),
        media_type,
        status: status.to_owned(),
        cause,
        duration_seconds: detail["technical"]["durationSeconds"].as_f64(),
        checksums: Checksums {
            md5: detail["fixity"]["md5"].as_str().map(str::to_owned),
            fixity: detail["fixity"]["status"].as_str().map(str::to_owned),
            compared_with: detail["fixity"]["comparedWith"].as_str().map(str::to_owned),
            expected: detail["fixity"]["expected"].as_str().map(str::to_owned),
            size_bytes: detail["source"]["size"].as_u64(),
        },
        technical: facts(&detail["technical"]),
        analyses: Vec::new(),
        media: Media::default(),
        tracks: Vec::new(),
        loudness: None,
        transcript: Vec::new(),
        keyphrases: Vec::new(),
        entities: Vec::new(),
        image: None,
        pages: Vec::new(),
        notes: Vec::new(),
    };
    let prefix = format!("{asset_id}/");
    let relative = |uri: &str| -> Option<String> {
        split_s3_uri(uri).and_then(|(_, key)| key.strip_prefix(&prefix).map(str::to_owned))
    };
    let outputs = &detail["outputs"];
    // A video whose source serves as its proxy (no proxy encoded) plays its audio proxy.
    report.media.proxy = ["proxy", "audioProxy"]
        .iter()
        .find_map(|name| outputs[name].as_str().and_then(relative));
    report.media.poster = outputs["thumbnails"]
        .as_array()
        .and_then(|t| t.first())
        .or(outputs.get("thumbnail"))
        .and_then(Value::as_str)
        .and_then(relative);

    let mut reader = Reader {
        objects,
        notes: Vec::new(),
    };
    // Every result document named by the run's completion events, by name.
    let mut results: BTreeMap<String, String> = BTreeMap::new();
    for event in &run {
        let d = &event.detail;
        if let Some(list) = d["results"].as_array() {
            for r in list {
                if let (Some(name), Some(uri)) = (r["name"].as_str(), r["uri"].as_str()) {
                    results.insert(name.to_owned(), uri.to_owned());
                }
            }
        }
        if event.detail_type == "Asset Analysis Completed" {
            for a in d["analyses"].as_array().into_iter().flatten() {
                report.analyses.push(AnalysisOutcome {
                    analysis: a["analysis"].as_str().unwrap_or("?").to_owned(),
                    status: a["status"].as_str().unwrap_or("?").to_owned(),
                    cause: a["cause"].as_str().map(str::to_owned),
                    skipped: Vec::new(),
                });
            }
        }
    }
    for event in &run {
        let Some(skipped) = event.detail["skipped"].as_array() else {
            continue;
        };
        let analysis = analysis_of(&event.detail_type);
        let entry = match report.analyses.iter_mut().find(|a| a.analysis == analysis) {
            Some(entry) => entry,
            None => {
                report.analyses.push(AnalysisOutcome {
                    analysis: analysis.to_owned(),
                    status: "completed".into(),
                    cause: None,
                    skipped: Vec::new(),
                });
                report.analyses.last_mut().expect("just pushed")
            }
        };
        for s in skipped {
            entry.skipped.push(Skipped {
                feature: s["feature"].as_str().unwrap_or("?").to_owned(),
                reason: s["reason"].as_str().unwrap_or("").to_owned(),
            });
        }
    }

    if let Some(doc) = reader.json(results.get("shots")).await {
        report.tracks.push(shots_track(&doc));
        if let Some(cues) = cues_track(&doc) {
            report.tracks.push(cues);
        }
    }
    if let Some(doc) = reader.json(results.get("scenes")).await {
        report.tracks.push(scenes_track(&doc));
    }
    if let Some(doc) = reader.json(results.get("adbreaks")).await {
        report.tracks.push(ad_breaks_track(&doc));
    }
    if let Some(doc) = reader.json(results.get("timelines")).await {
        report.tracks.extend(timeline_tracks(&doc));
    }
    if let Some(doc) = reader.json(results.get("transcript")).await {
        report.transcript = doc["segments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some(Segment {
                    start: s["start"].as_f64()?,
                    end: s["end"].as_f64()?,
                    text: s["text"].as_str()?.trim().to_owned(),
                })
            })
            .collect();
        if !report.transcript.is_empty() {
            report.tracks.push(Track {
                name: "Speech".into(),
                kind: TrackKind::Speech,
                items: report
                    .transcript
                    .iter()
                    .map(|s| TrackItem::span(s.start, s.end, &s.text))
                    .collect(),
            });
        }
    }
    if let Some(doc) = reader.json(results.get("silences")).await {
        report.tracks.push(silence_track(&doc));
    }
    if let Some(doc) = reader.json(results.get("loudness")).await {
        report.loudness = loudness_curve(&doc);
    }
    if let Some(doc) = reader.json(results.get("keyphrases")).await {
        report.keyphrases = doc["asset"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k["text"].as_str().map(str::to_owned))
            .collect();
    }
    if let Some(doc) = reader.json(results.get("entities")).await {
        report.entities = doc["asset"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some(Entity {
                    text: e["text"].as_str()?.to_owned(),
                    kind: e["kind"].as_str().unwrap_or("OTHER").to_owned(),
                })
            })
            .collect();
    }
    if report.media_type == "image" {
        report.image = Some(image_facts(&mut reader, &results).await);
    }
    if report.media_type == "document" {
        let images: Vec<String> = outputs["pageImages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(relative)
            .collect();
        if let Some(doc) = reader.json(results.get("pages")).await {
            report.pages = doc["pages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    let page = p["page"].as_u64()?;
                    Some(PageText {
                        page,
                        source: p["source"].as_str().unwrap_or("").to_owned(),
                        text: p["text"].as_str().unwrap_or("").to_owned(),
                        image: (page as usize)
                            .checked_sub(1)
                            .and_then(|i| images.get(i))
                            .cloned(),
                    })
                })
                .collect();
        } else {
            report.pages = images
                .iter()
                .enumerate()
                .map(|(i, image)| PageText {
                    page: i as u64 + 1,
                    source: String::new(),
                    text: String::new(),
                    image: Some(image.clone()),
                })
                .collect();
        }
    }
    report.notes = reader.notes;
    Ok(Some(report))
}

/// Writes `report` as `out` (an HTML file) with the media it plays copied from the derived
/// bucket into `<stem>_files/` beside it. Returns the HTML file's path.
pub async fn write(
    report: &AssetReport,
    objects: &dyn ObjectStore,
    derived_bucket: &str,
    out: &Path,
) -> Result<PathBuf, ReportError> {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| report.asset_id.clone());
    let dir = out.parent().unwrap_or(Path::new("."));
    let files_name = format!("{stem}_files");
    let files = dir.join(&files_name);
    let write_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| ReportError::Write { path, source }
    };
    tokio::fs::create_dir_all(&files)
        .await
        .map_err(write_error(&files))?;
    for key in report.media_files() {
        let to = files.join(&key);
        debug_assert!(is_plain_relative(&key));
        if let Some(parent) = to.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(write_error(parent))?;
        }
        let full_key = format!("{}/{key}", report.asset_id);
        match objects.download(derived_bucket, &full_key, &to).await {
            Ok(_) => {}
            Err(StoreError::NotFound { .. }) => {
                tracing::warn!(key = full_key, "a medium of the report is missing");
            }
            Err(source) => {
                return Err(ReportError::Read {
                    uri: format!("s3://{derived_bucket}/{full_key}"),
                    source,
                });
            }
        }
    }
    let page = render(
        report,
        &MediaLinks {
            base: format!("{}/", percent_encode_path(&files_name)),
            home: None,
        },
    );
    tokio::fs::write(out, page)
        .await
        .map_err(write_error(out))?;
    Ok(out.to_path_buf())
}

/// Reads result documents, noting (not failing on) the ones it cannot read.
struct Reader<'a> {
    objects: &'a dyn ObjectStore,
    notes: Vec<String>,
}

impl Reader<'_> {
    async fn json(&mut self, uri: Option<&String>) -> Option<Value> {
        let uri = uri?;
        let Some((bucket, key)) = split_s3_uri(uri) else {
            self.notes.push(format!("{uri}: not an s3:// URI"));
            return None;
        };
        match self.objects.get_bytes(bucket, key).await {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(value) => Some(value),
                Err(error) => {
                    self.notes.push(format!("{uri}: not JSON ({error})"));
                    None
                }
            },
            Err(error) => {
                self.notes.push(format!("{uri}: {error}"));
                None
            }
        }
    }
}

fn analysis_of(detail_type: &str) -> &'static str {
    match detail_type {
        "Video Analysis Completed" => "video",
        "Audio Analysis Completed" => "audio",
        "Image Analysis Completed" => "image",
        "Document Analysis Completed" => "document",
        "Scenes Detected" => "scenes",
        "Ad Breaks Detected" => "adBreaks",
        _ => "other",
    }
}

fn shots_track(doc: &Value) -> Track {
    Track {
        name: "Shots".into(),
        kind: TrackKind::Shots,
        items: doc["shots"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let mut item = TrackItem::span(
                    s["startSeconds"].as_f64()?,
                    s["endSeconds"].as_f64()?,
                    &format!("shot {}", s["index"].as_u64()?),
                );
                item.detail = Some(format!(
                    "{} – {}",
                    s["startTimecode"].as_str().unwrap_or(""),
                    s["endTimecode"].as_str().unwrap_or("")
                ));
                Some(item)
            })
            .collect(),
    }
}

fn cues_track(doc: &Value) -> Option<Track> {
    let items: Vec<TrackItem> = doc["cues"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some(TrackItem::span(
                c["startSeconds"].as_f64()?,
                c["endSeconds"].as_f64()?,
                c["kind"].as_str()?,
            ))
        })
        .collect();
    (!items.is_empty()).then(|| Track {
        name: "Technical cues".into(),
        kind: TrackKind::Cues,
        items,
    })
}

fn scenes_track(doc: &Value) -> Track {
    Track {
        name: "Scenes".into(),
        kind: TrackKind::Scenes,
        items: doc["scenes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let mut item = TrackItem::span(
                    s["startSeconds"].as_f64()?,
                    s["endSeconds"].as_f64()?,
                    &format!("scene {}", s["index"].as_u64()?),
                );
                let taxonomy: Vec<&str> = s["taxonomy"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t["name"].as_str().or(t.as_str()))
                    .collect();
                let mut detail = format!("ends with {}", s["endsWith"].as_str().unwrap_or("?"));
                if !taxonomy.is_empty() {
                    detail.push_str(&format!("; {}", taxonomy.join(", ")));
                }
                if let Some(text) = s["description"].as_str() {
                    detail.push_str(&format!("; {text}"));
                }
                item.detail = Some(detail);
                Some(item)
            })
            .collect(),
    }
}

fn ad_breaks_track(doc: &Value) -> Track {
    Track {
        name: "Ad breaks".into(),
        kind: TrackKind::AdBreaks,
        items: doc["breaks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| {
                let seconds = b["seconds"].as_f64()?;
                let score = b["score"].as_f64();
                let mut item = TrackItem::point(
                    seconds,
                    &format!(
                        "break at {} (score {:.2})",
                        b["timecode"].as_str().unwrap_or(""),
                        score.unwrap_or(0.0)
                    ),
                );
                item.score = score;
                Some(item)
            })
            .collect(),
    }
}

/// One track per vision feature of the video's timelines; each range of each name is an item.
fn timeline_tracks(doc: &Value) -> Vec<Track> {
    doc["timelines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|timeline| {
            let feature = timeline["feature"].as_str()?;
            let (name, kind) = match feature {
                "labels" => ("Labels", TrackKind::Labels),
                "faces" => ("Faces", TrackKind::People),
                "celebrities" => ("Celebrities", TrackKind::People),
                "faceMatch" => ("Known faces", TrackKind::People),
                "text" => ("On-screen text", TrackKind::Text),
                "moderation" => ("Moderation", TrackKind::Moderation),
                _ => (feature, TrackKind::Labels),
            };
            let mut items = Vec::new();
            for track in timeline["tracks"].as_array().into_iter().flatten() {
                let label = track["name"].as_str().unwrap_or("?");
                for range in track["ranges"].as_array().into_iter().flatten() {
                    let (Some(start), Some(end)) = (range["start"].as_f64(), range["end"].as_f64())
                    else {
                        continue;
                    };
                    let mut item = TrackItem::span(start, end, label);
                    item.score = range["maxConfidence"].as_f64();
                    items.push(item);
                }
            }
            items.sort_by(|a, b| a.start.total_cmp(&b.start));
            Some(Track {
                name: name.to_owned(),
                kind,
                items,
            })
        })
        .collect()
}

fn silence_track(doc: &Value) -> Track {
    Track {
        name: "Silences".into(),
        kind: TrackKind::Silence,
        items: doc["programme"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let start = s["startSeconds"].as_f64()?;
                let end = s["endSeconds"].as_f64()?;
                Some(TrackItem::span(
                    start,
                    end,
                    &format!("silence {:.1} s", end - start),
                ))
            })
            .collect(),
    }
}

/// The momentary loudness of the first track that carries sound.
fn loudness_curve(doc: &Value) -> Option<LoudnessCurve> {
    let tracks = doc["tracks"].as_array()?;
    let track = tracks
        .iter()
        .find(|t| t["silent"] == false)
        .or(tracks.first())?;
    Some(LoudnessCurve {
        track: track["track"].as_u64().unwrap_or(1),
        interval_seconds: track["seriesIntervalSeconds"].as_f64().unwrap_or(1.0),
        integrated_lufs: track["integratedLufs"].as_f64(),
        true_peak_dbtp: track["truePeakDbtp"].as_f64(),
        loudness_range_lu: track["loudnessRangeLu"].as_f64(),
        momentary_lufs: track["momentarySeries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(Value::as_f64)
            .collect(),
    })
}

async fn image_facts(reader: &mut Reader<'_>, results: &BTreeMap<String, String>) -> ImageFacts {
    let mut facts = ImageFacts::default();
    if let Some(exif) = reader.json(results.get("exif")).await {
        if let (Some(latitude), Some(longitude)) = (
            exif["gps"]["latitude"].as_f64(),
            exif["gps"]["longitude"].as_f64(),
        ) {
            facts.gps = Some(Gps {
                latitude,
                longitude,
                map_url: format!(
                    "https://www.openstreetmap.org/?mlat={latitude:.6}&mlon={longitude:.6}#map=16/{latitude:.6}/{longitude:.6}"
                ),
            });
        }
        facts.exif = facts_skipping(&exif, &["warnings"]);
    }
    if let Some(doc) = reader.json(results.get("description")).await {
        facts.description = doc["description"]["value"]
            .as_str()
            .or(doc["description"].as_str())
            .map(str::to_owned);
    }
    for feature in [
        "labels",
        "celebrities",
        "faceMatch",
        "faces",
        "text",
        "moderation",
    ] {
        let Some(doc) = reader.json(results.get(feature)).await else {
            continue;
        };
        for d in doc["detections"].as_array().into_iter().flatten() {
            let name = ["name", "text", "label", "faceId"]
                .iter()
                .find_map(|k| d[*k].as_str())
                .unwrap_or("face");
            facts.detections.push(Detection {
                feature: feature.to_owned(),
                name: name.to_owned(),
                confidence: d["confidence"].as_f64(),
            });
        }
    }
    facts
}

/// A JSON object's scalar leaves as `a.b: value` facts, in document order; nulls left out.
pub fn facts(value: &Value) -> Vec<Fact> {
    facts_skipping(value, &[])
}

fn facts_skipping(value: &Value, skip: &[&str]) -> Vec<Fact> {
    let mut out = Vec::new();
    flatten("", value, skip, &mut out);
    out
}

fn flatten(path: &str, value: &Value, skip: &[&str], out: &mut Vec<Fact>) {
    match value {
        Value::Null => {}
        Value::Object(map) => {
            for (k, v) in map {
                if skip.contains(&k.as_str()) {
                    continue;
                }
                let path = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(&path, v, skip, out);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            if !items.is_empty() {
                let text: Vec<String> = items.iter().map(scalar_text).collect();
                out.push(Fact {
                    label: path.to_owned(),
                    value: text.join(", "),
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{path}[{}]", i + 1), item, skip, out);
            }
        }
        scalar => out.push(Fact {
            label: path.to_owned(),
            value: scalar_text(scalar),
        }),
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes what a relative URL path cannot hold as it is.
fn percent_encode_path(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
