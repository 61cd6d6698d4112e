//! Arbitrary text as a sidecar caption file, SubRip and WebVTT, read as ingest reads them.
//! What either gives is WebVTT that reads again unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediasift_ingest::proxy::captions::{normalize_vtt, srt_to_vtt};

fn assert_tidy_webvtt(vtt: &str, from: &str) {
    let again = normalize_vtt(vtt)
        .unwrap_or_else(|e| panic!("the WebVTT made from {from} does not read again: {e}\n{vtt}"));
    assert_eq!(
        again, vtt,
        "the WebVTT made from {from} changes when read again"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(vtt) = srt_to_vtt(text) {
        assert_tidy_webvtt(&vtt, "SubRip");
    }
    if let Ok(vtt) = normalize_vtt(text) {
        assert_tidy_webvtt(&vtt, "WebVTT");
    }
});
