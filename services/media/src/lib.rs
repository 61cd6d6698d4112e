//! Shared media primitives for the mediasift services: ffmpeg/ffprobe runners, single-pass
//! decode, perceptual hashes, sharpness, loudness and timecodes.
//!
//! Empty until the ingest and analysis issues bring the primitives they share.
