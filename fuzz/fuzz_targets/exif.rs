//! exiftool's two JSON outputs for an image (`-n` values, then printed values, one after the
//! other) read into the image facts ingest stores, read back as the image service reads them,
//! and summarised into its EXIF result.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mediasift_image::exif::summarise;
use mediasift_media::image::{ImageFacts, exiftool_object, facts_from_json};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let mut documents = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    let split = match documents.next() {
        Some(Ok(_)) => documents.byte_offset(),
        _ => data.len(),
    };
    let (numeric, printed) = data.split_at(split);
    let (Ok(numeric), Ok(printed)) = (exiftool_object(numeric), exiftool_object(printed)) else {
        return;
    };
    let Ok(facts) = facts_from_json(Path::new("fuzzed.jpg"), numeric, printed) else {
        return;
    };
    let stored = serde_json::to_vec(&facts).expect("image facts serialise");
    let read_back: ImageFacts =
        serde_json::from_slice(&stored).expect("the image service reads the facts ingest stored");
    summarise(&read_back, true);
});
