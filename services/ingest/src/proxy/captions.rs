//! Sidecar captions (`.srt`, `.vtt` beside the source) as WebVTT.
