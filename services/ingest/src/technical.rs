//! Technical summaries for the `… Ingested` events, and the full technical metadata document
//! stored under `<assetId>/ingest/technical.json`.

use mediasift_media::kind::Detected;
use mediasift_media::probe::MediaSummary;
use mediasift_schemas::{AudioSummary, AudioTrack, VideoSummary};
use serde_json::{Value, json};

/// Where the technical metadata document goes, under the asset's prefix.
pub const TECHNICAL_KEY: &str = "ingest/technical.json";

/// The audio tracks as events describe them.
pub fn audio_tracks(summary: &MediaSummary) -> Vec<AudioTrack> {
    summary
        .audio_tracks
        .iter()
        .map(|track| AudioTrack {
            index: track.index,
            codec: track.codec.clone().unwrap_or_else(|| "unknown".into()),
            channels: track.channels.unwrap_or(0),
            sample_rate: track.sample_rate.unwrap_or(0),
            language: track.language.clone(),
        })
        .collect()
}

/// The video summary; `None` when there is no real video stream.
pub fn video_summary(summary: &MediaSummary) -> Option<VideoSummary> {
    let video = summary.video()?;
    let (width, height) = display_size(
        video.width.unwrap_or(0),
        video.height.unwrap_or(0),
        video.rotation,
    );
    let rate = video
        .r_frame_rate
        .as_ref()
        .or(video.avg_frame_rate.as_ref());
    Some(VideoSummary {
        container: summary.container.clone().unwrap_or_default(),
        duration_seconds: summary
            .duration_seconds
            .or(video.duration_seconds)
            .unwrap_or(0.0),
        video_codec: video.codec.clone().unwrap_or_else(|| "unknown".into()),
        width,
        height,
        frame_rate: rate.map(|r| r.rational.clone()).unwrap_or_default(),
        frames_per_second: rate.map_or(0.0, |r| r.fps),
        variable_frame_rate: video.variable_frame_rate,
        frame_count: video.frame_count,
        start_timecode: summary.start_timecode.clone(),
        bit_rate: summary.bit_rate,
        audio_tracks: audio_tracks(summary),
    })
}

pub fn audio_summary(summary: &MediaSummary) -> AudioSummary {
    AudioSummary {
        container: summary.container.clone().unwrap_or_default(),
        duration_seconds: summary.duration_seconds.unwrap_or(0.0),
        bit_rate: summary.bit_rate,
        audio_tracks: audio_tracks(summary),
    }
}

/// Width and height as displayed: a stream turned by 90 or 270 degrees shows on its side.
pub fn display_size(width: u32, height: u32, rotation: u32) -> (u32, u32) {
    if rotation % 180 == 90 {
        (height, width)
    } else {
        (width, height)
    }
}

/// The stored document for audio and video: what was decided, and every tool's full output.
pub fn media_document(detected: &Detected, tool: &str) -> Value {
    let probe = detected.probe.as_ref();
    json!({
        "kind": detected.kind,
        "mime": detected.mime,
        "reason": detected.reason,
        "summary": probe.map(|p| &p.summary),
        "warnings": probe.map(|p| &p.warnings),
        "ffprobe": probe.map(|p| &p.ffprobe_json),
        "mediainfo": probe.and_then(|p| p.mediainfo_json.as_ref()),
        "transcoder": tool,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portrait_phone_video_is_displayed_upright() {
        assert_eq!(display_size(1920, 1080, 90), (1080, 1920));
        assert_eq!(display_size(1920, 1080, 180), (1920, 1080));
        assert_eq!(display_size(1920, 1080, 270), (1080, 1920));
    }
}
