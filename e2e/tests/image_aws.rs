//! The real image handler on the AWS path, against moto: a real phone photo (GPS, orientation
//! 3) whose technical metadata (`{"image": ImageFacts}` from exiftool) and upright proxy are
//! made by mediasift-media as ingest makes them and put in the derived bucket; `Image
//! Ingested` published on the bus and routed by the image service's own rule to its queue;
//! vision by the Rekognition backend with the real SDK client pointed at moto; the
//! near-duplicate index in the DynamoDB state table; `Image Analysis Completed` read back from
//! the catch-all queue. The same event is then delivered again, and gives the same results.
//!
//! moto implements DetectLabels and DetectText with canned answers (a "Mobile Phone" label;
//! the words "IT'S", "MONDAY", "but keep", "Smiling"), so the plan turns on labels and text
//! only; the other Rekognition calls are tested with aws-smithy-mocks in the video service.
//! There is no describer (Bedrock is tested with mocks in `services/image/tests/describe.rs`):
//! the description is skipped with the function's reason.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mediasift_e2e::aws_path::{AwsPath, Outcome};
use mediasift_e2e::moto::{MotoServer, workspace_root};
use mediasift_image::{Backends, Image, ImageConfig};
use mediasift_kit::ports::{Body, EventPublisher, PutOptions};
use mediasift_kit::similar::NearDuplicateIndex;
use mediasift_kit::vision::{RekognitionConfig, RekognitionVision};
use mediasift_media::image::{ImageFacts, ImageLimits, ImageProxyOptions, inspect, make_proxies};
use mediasift_schemas::{
    Envelope, EventDetail, ImageAnalysisCompleted, ImageIngested, RawEvent, sources,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// No test may take longer than this, whatever moto does.
const TEST_TIMEOUT: Duration = Duration::from_secs(240);
/// How long `Image Ingested` may take to become `Image Analysis Completed`.
const FLOW_TIMEOUT: Duration = Duration::from_secs(120);
const PHOTO: &str = "forensics/pic2/IMG_20200124_231153.jpg";
const DESCRIPTION_OFF: &str = "turned off in the function's settings";

fn media(relative: &str) -> PathBuf {
    let path = workspace_root().join(".cache/test-media").join(relative);
    assert!(
        path.is_file(),
        "test media {} is missing: run scripts/setup.sh (it fetches .cache/test-media)",
        path.display()
    );
    path
}

/// What ingest leaves for the image service: the technical metadata and the upright proxy in
/// the derived bucket. Returns the `Image Ingested` event announcing them (labels and text
/// the only vision features on, the description on), the facts and the proxy's size.
async fn ingested(path: &AwsPath, work: &Path, asset_id: Uuid) -> (RawEvent, ImageFacts, u32, u32) {
    let photo = media(PHOTO);
    let facts = inspect(&photo, &ImageLimits::default())
        .await
        .expect("exiftool reads the photo");
    assert_eq!(
        facts.orientation,
        Some(3),
        "the photo is stored upside down"
    );
    assert!(facts.gps.is_some(), "the photo has GPS");
    let proxies = make_proxies(
        &photo,
        &facts,
        &work.join("proxies"),
        &ImageProxyOptions::default(),
    )
    .await
    .expect("the proxies");

    let objects = path.ports().objects;
    let bucket = &path.derived_bucket;
    let technical_key = format!("{asset_id}/ingest/technical.json");
    let proxy_key = format!("{asset_id}/proxy/proxy.jpg");
    let json_options = PutOptions {
        content_type: Some("application/json".into()),
        ..PutOptions::default()
    };
    objects
        .put(
            bucket,
            &technical_key,
            Body::Bytes(
                serde_json::to_vec(&json!({ "image": &facts }))
                    .unwrap()
                    .into(),
            ),
            json_options,
        )
        .await
        .expect("put the technical metadata");
    let jpeg_options = PutOptions {
        content_type: Some("image/jpeg".into()),
        ..PutOptions::default()
    };
    objects
        .put(
            bucket,
            &proxy_key,
            Body::File(proxies.proxy.path.clone()),
            jpeg_options,
        )
        .await
        .expect("put the proxy");

    let mut detail = ImageIngested::example();
    detail.asset_id = asset_id;
    let source_key = format!("uploads/{asset_id}/IMG_20200124_231153.jpg");
    detail.source.bucket = path.ingest_bucket.clone();
    detail.source.uri = format!("s3://{}/{source_key}", path.ingest_bucket);
    detail.source.key = source_key;
    detail.plan.options.min_confidence = 80.0;
    detail.plan.options.generative = true;
    let vision = &mut detail.plan.options.vision;
    vision.labels = true;
    vision.text = true;
    vision.faces = false;
    vision.celebrities = false;
    vision.face_match = false;
    vision.moderation = false;
    detail.outputs.technical_metadata = format!("s3://{bucket}/{technical_key}");
    detail.outputs.proxy = format!("s3://{bucket}/{proxy_key}");
    let mut event = Envelope::new(sources::INGEST, detail);
    event.id = Uuid::new_v5(&Uuid::NAMESPACE_OID, asset_id.as_bytes()).to_string();
    (
        event.to_raw().unwrap(),
        facts,
        proxies.proxy.width,
        proxies.proxy.height,
    )
}

async fn result(path: &AwsPath, done: &ImageAnalysisCompleted, name: &str) -> Value {
    let uri = &done
        .results
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no result {name}: {:?}", done.results))
        .uri;
    let key = uri
        .strip_prefix(&format!("s3://{}/", path.derived_bucket))
        .unwrap_or_else(|| panic!("{uri} is not in the derived bucket"));
    let bytes = path
        .ports()
        .objects
        .get_bytes(&path.derived_bucket, key)
        .await
        .unwrap_or_else(|e| panic!("get {uri}: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{uri} is not JSON: {e}"))
}

/// Publishes `event` and returns the `Image Analysis Completed` it becomes.
async fn deliver(path: &AwsPath, event: &RawEvent) -> ImageAnalysisCompleted {
    path.publisher()
        .publish(std::slice::from_ref(event))
        .await
        .expect("publish Image Ingested");
    let seen = path
        .watch_catch_all(FLOW_TIMEOUT, |events| {
            events.iter().any(|e| {
                e.detail_type == ImageAnalysisCompleted::DETAIL_TYPE
                    || e.detail_type.contains("Failed")
            })
        })
        .await
        .expect("Image Analysis Completed reaches the catch-all queue");
    assert!(
        !seen.iter().any(|e| e.detail_type.contains("Failed")),
        "{seen:?}"
    );
    let done = seen
        .iter()
        .find(|e| e.detail_type == ImageAnalysisCompleted::DETAIL_TYPE)
        .unwrap();
    assert_eq!(done.source, sources::IMAGE);
    done.decode::<ImageAnalysisCompleted>()
        .expect("it decodes")
        .detail
}

/// Every result document of `done`, by name.
async fn documents(path: &AwsPath, done: &ImageAnalysisCompleted) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for r in &done.results {
        all.push((r.name.clone(), result(path, done, &r.name).await));
    }
    all
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_on_the_aws_path_reads_exif_phash_and_rekognition_twice_alike() {
    tokio::time::timeout(TEST_TIMEOUT, image_on_the_aws_path())
        .await
        .expect("the test finishes in time");
}

async fn image_on_the_aws_path() {
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let path = AwsPath::provision(&sdk, "image-aws", &[mediasift_image::subscriptions()])
        .await
        .expect("provision the AWS path");
    let work = tempfile::tempdir().unwrap();
    let asset_id = Uuid::from_u128(0x1a6e_5a35);
    let (event, facts, width, height) = ingested(&path, work.path(), asset_id).await;

    // The Lambda function's wiring: Rekognition on the process's SDK configuration (here
    // moto's endpoint), no face collection, no describer.
    let rekognition = RekognitionVision::new(&sdk, RekognitionConfig::default());
    let image = Image::new(
        ImageConfig {
            scratch_dir: work.path().join("scratch"),
            description_skip_reason: DESCRIPTION_OFF.into(),
        },
        Backends {
            vision: vec![Arc::new(rekognition)],
            describer: None,
        },
    );
    let poller = path.poller(Arc::new(image)).unwrap().spawn();
    let done = deliver(&path, &event).await;
    let first = documents(&path, &done).await;

    // The same event again (SQS delivers at least once; EventBridge gives each delivery its
    // own id): the same results.
    let again = deliver(&path, &event).await;
    let second = documents(&path, &again).await;
    let outcomes = poller.stop().await.unwrap();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::Handled { published: 1 })
            .count(),
        2,
        "{outcomes:?}"
    );
    // The same results, engines included (the handler names the engine after its call,
    // once the backend knows the model version).
    assert_eq!(again.results, done.results);
    assert_eq!(again.summary, done.summary);
    assert_eq!(again.skipped, done.skipped);
    assert_eq!(second, first, "re-delivery writes the same results");

    assert_eq!(done.asset_id, asset_id);
    let names: Vec<&str> = done.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["exif", "phash", "near-duplicates", "labels", "text"],
        "{:?}",
        done.results
    );
    for feature in ["faces", "celebrities", "faceMatch", "moderation"] {
        assert!(
            done.skipped
                .iter()
                .any(|s| s.feature == feature && s.reason == "turned off in options"),
            "{feature}: {:?}",
            done.skipped
        );
    }
    assert!(
        done.skipped
            .iter()
            .any(|s| s.feature == "description" && s.reason == DESCRIPTION_OFF),
        "{:?}",
        done.skipped
    );
    let engine = |name: &str| {
        again
            .results
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| r.engine.clone())
    };
    assert_eq!(engine("exif").as_deref(), Some("exiftool"));
    assert_eq!(
        engine("labels").as_deref(),
        Some("Amazon Rekognition DetectLabels, model 3.0")
    );
    assert_eq!(
        engine("text").as_deref(),
        Some("Amazon Rekognition DetectText, model 3.0")
    );
    // exif.json: the photo's GPS, which is the summary's location.
    let exif = result(&path, &done, "exif").await;
    let gps = facts.gps.unwrap();
    assert!(close(&exif["gps"]["latitude"], gps.latitude), "{exif}");
    assert!(close(&exif["gps"]["longitude"], gps.longitude), "{exif}");
    assert!((gps.latitude - -15.83567).abs() < 1e-4, "{gps:?}");
    assert!((gps.longitude - -48.0155639722).abs() < 1e-4, "{gps:?}");
    let location = done.summary.location.clone().expect("a location");
    assert!(
        close(&exif["gps"]["latitude"], location.latitude),
        "{location:?}"
    );
    assert!(
        close(&exif["gps"]["longitude"], location.longitude),
        "{location:?}"
    );
    assert_eq!(
        exif["gps"]["altitude"].as_f64(),
        location.altitude_meters,
        "{exif}"
    );

    // phash.json and near-duplicates.json: the hash of the proxy; nothing else in the
    // library, and the image is not its own near-duplicate (not on re-delivery either).
    let phash = result(&path, &done, "phash").await;
    assert_eq!(phash["phash"], done.summary.phash);
    assert_eq!(done.summary.phash.len(), 16, "{}", done.summary.phash);
    let near = result(&path, &done, "near-duplicates").await;
    assert_eq!(near["phash"], done.summary.phash);
    assert_eq!(near["matches"], json!([]));
    assert_eq!(done.summary.near_duplicates, 0);

    // The near-duplicate index in DynamoDB holds the image's hash, once.
    let index = NearDuplicateIndex::new(path.ports().state);
    let entries = index.entries_of(asset_id).await.expect("read the index");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].asset_id, asset_id);
    assert_eq!(entries[0].position_ms, None);
    assert_eq!(entries[0].hash.to_hex(), done.summary.phash);

    // labels.json: moto's canned label, on the upright proxy.
    let labels = result(&path, &done, "labels").await;
    assert_eq!(labels["width"], width);
    assert_eq!(labels["height"], height);
    let detections = labels["detections"].as_array().unwrap();
    assert_eq!(detections.len(), 1, "{labels}");
    assert_eq!(detections[0]["name"], "Mobile Phone");
    assert!(
        close(&detections[0]["confidence"], 99.9364013671875),
        "{labels}"
    );
    assert_eq!(done.summary.labels, 1);

    // text.json: moto's canned words.
    let text = result(&path, &done, "text").await;
    let words: Vec<&str> = text["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(words, ["IT'S", "MONDAY", "but", "keep", "Smiling"]);
    assert_eq!(done.summary.words, 5);
    drop(moto);
}
