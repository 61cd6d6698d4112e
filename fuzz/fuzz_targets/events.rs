//! Arbitrary bytes as an EventBridge event, read as the bus and the Lambda glue read one
//! (a [`RawEvent`]), its detail decoded as every detail type of the catalog with the services'
//! own [`decode`], and the `Processing Failed` a malformed one turns into.
#![no_main]

use std::collections::BTreeSet;
use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use mediasift_kit::Failure;
use mediasift_kit::handler::{decode, failure_event};
use mediasift_schemas::*;

/// Decodes `event` as each listed detail type; the list's detail-types, for the catalog check.
macro_rules! decode_each {
    ($event:expr, $($detail:ty),+ $(,)?) => {{
        $( let _ = decode::<$detail>($event); )+
        [$(<$detail as EventDetail>::DETAIL_TYPE),+]
    }};
}

fn decode_all(event: &RawEvent) -> [&'static str; 16] {
    decode_each!(
        event,
        ObjectCreated,
        MediaConvertJobStateChange,
        TranscribeJobStateChange,
        VideoIngested,
        AudioIngested,
        ImageIngested,
        DocumentIngested,
        IngestHashingContinued,
        VideoAnalysisCompleted,
        AudioAnalysisCompleted,
        ImageAnalysisCompleted,
        DocumentAnalysisCompleted,
        ScenesDetected,
        AdBreaksDetected,
        AssetAnalysisCompleted,
        ProcessingFailed,
    )
}

/// The target must decode every detail type there is: one added to the catalog and not here
/// stops the run.
fn check_every_detail_type_is_decoded(event: &RawEvent) {
    let decoded: BTreeSet<&str> = decode_all(event).into_iter().collect();
    let catalog: BTreeSet<&str> = catalog().iter().map(|entry| entry.detail_type).collect();
    assert_eq!(
        decoded, catalog,
        "fuzz_targets/events.rs must decode every catalog detail type"
    );
}

static CATALOG_CHECK: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<RawEvent>(data) else {
        return;
    };
    CATALOG_CHECK.call_once(|| check_every_detail_type_is_decoded(&event));
    decode_all(&event);
    event.correlation_id();
    let failure = Failure::new("MalformedEvent", "fuzzed", "none");
    let failed = failure_event("ingest", &event, &failure, "0.0.0");
    let failed = failed
        .decode::<ProcessingFailed>()
        .expect("a Processing Failed event decodes as one");
    assert_eq!(failed.detail.failed_event_id, event.id);
});
