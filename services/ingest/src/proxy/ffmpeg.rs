//! The local transcoder: one ffmpeg invocation per asset.
