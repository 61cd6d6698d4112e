//! ffprobe's JSON and, optionally, mediainfo's (one after the other) read into a probe as
//! ingest reads them, and into the technical summaries of its events.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use mediasift_ingest::technical::{audio_summary, video_summary};
use mediasift_media::probe::probe_from_json;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let mut documents = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    let Some(Ok(ffprobe)) = documents.next() else {
        return;
    };
    let mediainfo = documents.next().and_then(Result::ok);
    let Ok(probe) = probe_from_json(PathBuf::from("fuzzed.mp4"), ffprobe, mediainfo, Vec::new())
    else {
        return;
    };
    video_summary(&probe.summary);
    audio_summary(&probe.summary);
    serde_json::to_value(&probe).expect("a probe serialises");
});
