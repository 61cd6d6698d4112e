//! The Rekognition vision backend on a client answered by aws-smithy-mocks, for the calls moto
//! does not implement (DetectFaces, RecognizeCelebrities, SearchFacesByImage, IndexFaces,
//! DetectModerationLabels) and for failures moto cannot produce (throttling, refusals).
//! Answers are the JSON Rekognition sends, so the SDK's own deserialisation, error parsing and
//! retry classification run as they do against AWS. DetectLabels and DetectText against moto:
//! `e2e/tests/video_aws.rs`.
//!
//! The frame is a real JPEG with a face (Pillow's hopper.jpg, 128x128); the video handler
//! tests run on a small clip with captures and a manifest as ingest writes them, on the local
//! object store and state.
#![cfg(feature = "aws")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_rekognition::Client;
use aws_sdk_rekognition::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_rekognition::operation::detect_faces::DetectFacesInput;
use aws_sdk_rekognition::operation::detect_labels::DetectLabelsInput;
use aws_sdk_rekognition::operation::detect_moderation_labels::DetectModerationLabelsInput;
use aws_sdk_rekognition::operation::index_faces::IndexFacesInput;
use aws_sdk_rekognition::operation::search_faces_by_image::SearchFacesByImageInput;
use aws_sdk_rekognition::types::{Attribute, QualityFilter};
use aws_smithy_mocks::{MockResponse, MockResponseInterceptor, Rule, RuleMode, mock};
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{Body, ObjectStore, PutOptions, SystemClock};
use mediasift_kit::{Handler, HandlerError, Ports};
use mediasift_schemas::sources;
use mediasift_schemas::{Envelope, EventDetail, RawEvent, VideoAnalysisCompleted, VideoIngested};
use mediasift_video::faces::{FaceNames, read_timelines};
use mediasift_video::vision::rekognition::{AUTO_INDEXED_PREFIX, RekognitionConfig};
use mediasift_video::vision::{
    BoundingBox, Detection, Feature, FrameImage, RekognitionVision, VisionBackend, VisionError,
};
use mediasift_video::{Video, VideoConfig};
use serde_json::{Value, json};
use uuid::Uuid;

const COLLECTION: &str = "mediasift-faces";
const ASSET: Uuid = Uuid::from_u128(0x0b9d_3d4e_8c51_5f6a_9a43_2f1f_3c7e_5d10);
const ATTEMPTS: u32 = 5;
/// Grace Hopper's face in hopper.jpg, as DetectFaces reports it (about 70x79 px).
const HOPPER_BOX: &str = r#"{"Width":0.546875,"Height":0.6171875,"Left":0.3359375,"Top":0.21875}"#;

// --- the client -----------------------------------------------------------------------------

fn media(relative: &str) -> PathBuf {
    let dir = match std::env::var_os("TEST_MEDIA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/test-media"),
    };
    let path = dir.join(relative);
    assert!(
        path.is_file(),
        "test media {} is missing: run scripts/setup.sh (it fetches .cache/test-media)",
        path.display()
    );
    path
}

/// Rekognition's answer: `status` and a JSON body.
fn answer(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_owned()),
    )
}

/// Rekognition's error answer: `{"__type": code, "Message": message}`.
fn refusal(status: u16, code: &str, message: &str) -> HttpResponse {
    answer(
        status,
        &json!({"__type": code, "Message": message}).to_string(),
    )
}

/// The backend on a client answered by `rules`, with the production retry policy except for
/// a 1 ms first backoff.
fn vision(rules: &[&Rule], collection: Option<&str>) -> RekognitionVision {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let builder = aws_sdk_rekognition::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor);
    RekognitionVision::with_client_config(
        builder,
        RekognitionConfig {
            face_collection: collection.map(str::to_owned),
            concurrency: 2,
            max_attempts: ATTEMPTS,
            initial_backoff: Duration::from_millis(1),
        },
    )
}

fn hopper() -> FrameImage {
    let path = media("pillow/hopper.jpg");
    let jpeg = std::fs::read(&path).unwrap();
    FrameImage {
        asset_id: ASSET,
        path,
        jpeg: Bytes::from(jpeg),
        width: 128,
        height: 128,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-4
}

fn assert_box(found: Option<BoundingBox>, left: f64, top: f64, width: f64, height: f64) {
    let found = found.expect("a bounding box");
    assert!(
        close(found.left, left)
            && close(found.top, top)
            && close(found.width, width)
            && close(found.height, height),
        "{found:?}, expected {left} {top} {width} {height}"
    );
}

// --- answers --------------------------------------------------------------------------------

/// DetectFaces with DEFAULT attributes (and AgeRange when asked) for faces given as
/// `(box, yaw)`.
fn detect_faces_answer(faces: &[(&str, f64)]) -> HttpResponse {
    let details: Vec<Value> = faces
        .iter()
        .map(|(bounding_box, yaw)| {
            json!({
                "BoundingBox": serde_json::from_str::<Value>(bounding_box).unwrap(),
                "AgeRange": {"Low": 30, "High": 40},
                "Landmarks": [
                    {"Type": "eyeLeft", "X": 0.5286, "Y": 0.4493},
                    {"Type": "eyeRight", "X": 0.7178, "Y": 0.4411},
                    {"Type": "nose", "X": 0.6375, "Y": 0.5616},
                ],
                "Pose": {"Roll": -3.4131, "Yaw": yaw, "Pitch": -8.7712},
                "Quality": {"Brightness": 73.2094, "Sharpness": 86.8606},
                "Confidence": 99.9995,
            })
        })
        .collect();
    answer(200, &json!({ "FaceDetails": details }).to_string())
}

fn search_answer(matched: Option<(&str, &str, f64)>) -> HttpResponse {
    let matches: Vec<Value> = matched
        .into_iter()
        .map(|(face_id, external, similarity)| {
            json!({
                "Similarity": similarity,
                "Face": {
                    "FaceId": face_id,
                    "BoundingBox": {"Width": 0.6213, "Height": 0.6802, "Left": 0.1891, "Top": 0.1620},
                    "ImageId": "d5631190-d039-54e4-b267-abd22c8647c5",
                    "ExternalImageId": external,
                    "Confidence": 99.9993,
                    "IndexFacesModelVersion": "7.0",
                },
            })
        })
        .collect();
    answer(
        200,
        &json!({
            "SearchedFaceBoundingBox": {"Width": 0.6213, "Height": 0.6802, "Left": 0.1891, "Top": 0.1620},
            "SearchedFaceConfidence": 99.9993,
            "FaceMatches": matches,
            "FaceModelVersion": "7.0",
        })
        .to_string(),
    )
}

fn index_answer(face_id: &str, external: &str) -> HttpResponse {
    answer(
        200,
        &json!({
            "FaceRecords": [{
                "Face": {
                    "FaceId": face_id,
                    "BoundingBox": {"Width": 0.6213, "Height": 0.6802, "Left": 0.1891, "Top": 0.1620},
                    "ImageId": "7f5e0c7a-3c4e-5d0b-9d6e-0a8a3e2b1c11",
                    "ExternalImageId": external,
                    "Confidence": 99.9981,
                },
                "FaceDetail": {
                    "BoundingBox": {"Width": 0.6213, "Height": 0.6802, "Left": 0.1891, "Top": 0.1620},
                    "Pose": {"Roll": -2.11, "Yaw": 4.87, "Pitch": -7.02},
                    "Quality": {"Brightness": 70.12, "Sharpness": 83.14},
                    "Confidence": 99.9981,
                },
            }],
            "FaceModelVersion": "7.0",
            "UnindexedFaces": [],
        })
        .to_string(),
    )
}

/// A face collection as Rekognition keeps it: SearchFacesByImage matches any face indexed so
/// far; IndexFaces adds one.
#[derive(Default)]
struct Collection {
    faces: Mutex<Vec<(String, String)>>,
    searched: Mutex<Vec<SearchFacesByImageInput>>,
    indexed: Mutex<Vec<IndexFacesInput>>,
}

impl Collection {
    fn rules(self: &Arc<Self>) -> (Rule, Rule) {
        let collection = Arc::clone(self);
        let search = mock!(Client::search_faces_by_image).then_compute_response(
            move |input: &SearchFacesByImageInput| {
                collection.searched.lock().unwrap().push(input.clone());
                let faces = collection.faces.lock().unwrap();
                MockResponse::Http(search_answer(
                    faces
                        .first()
                        .map(|(id, external)| (id.as_str(), external.as_str(), 99.71)),
                ))
            },
        );
        let collection = Arc::clone(self);
        let index =
            mock!(Client::index_faces).then_compute_response(move |input: &IndexFacesInput| {
                collection.indexed.lock().unwrap().push(input.clone());
                let mut faces = collection.faces.lock().unwrap();
                let face_id = format!("1b3c6f0e-5d2a-4e8f-9c7b-00000000000{}", faces.len() + 1);
                let external = input.external_image_id().unwrap_or_default().to_owned();
                faces.push((face_id.clone(), external.clone()));
                MockResponse::Http(index_answer(&face_id, &external))
            });
        (search, index)
    }
}

// --- mapping --------------------------------------------------------------------------------

#[tokio::test]
async fn faces_carry_their_box_pose_quality_and_age() {
    let asked = Arc::new(Mutex::new(Vec::<DetectFacesInput>::new()));
    let recorded = Arc::clone(&asked);
    let rule = mock!(Client::detect_faces).then_compute_response(move |input| {
        recorded.lock().unwrap().push(input.clone());
        MockResponse::Http(detect_faces_answer(&[(HOPPER_BOX, 5.2317)]))
    });
    let found = vision(&[&rule], None)
        .detect(&hopper(), Feature::Faces, 80.0)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let face = &found[0];
    assert_eq!(face.name, "face");
    assert!(close(face.confidence, 99.9995));
    assert_box(face.bounding_box, 0.3359375, 0.21875, 0.546875, 0.6171875);
    let attributes = face.attributes.as_ref().unwrap();
    assert!(close(attributes["pose"]["yaw"].as_f64().unwrap(), 5.2317));
    assert!(close(
        attributes["quality"]["sharpness"].as_f64().unwrap(),
        86.8606
    ));
    assert_eq!(attributes["ageRange"], json!({"low": 30, "high": 40}));
    let asked = asked.lock().unwrap();
    assert_eq!(
        asked[0].attributes(),
        &[Attribute::Default, Attribute::AgeRange]
    );
    assert!(
        asked[0].image().and_then(|i| i.bytes()).map(|b| b.as_ref()) == Some(&hopper().jpeg[..]),
        "the capture is sent as bytes"
    );
}

#[tokio::test]
async fn celebrities_carry_name_id_confidence_box_and_urls() {
    let rule = mock!(Client::recognize_celebrities).then_http_response(|| {
        answer(
            200,
            &json!({
                "CelebrityFaces": [{
                    "Urls": ["www.wikidata.org/wiki/Q11641", "www.imdb.com/name/nm0394609"],
                    "Name": "Grace Hopper",
                    "Id": "3Ir0du6",
                    "Face": {
                        "BoundingBox": serde_json::from_str::<Value>(HOPPER_BOX).unwrap(),
                        "Confidence": 99.9995,
                        "Landmarks": [{"Type": "nose", "X": 0.6375, "Y": 0.5616}],
                        "Pose": {"Roll": -3.41, "Yaw": 5.23, "Pitch": -8.77},
                        "Quality": {"Brightness": 73.2, "Sharpness": 86.86},
                    },
                    "MatchConfidence": 98.0,
                    "KnownGender": {"Type": "Female"},
                }],
                "UnrecognizedFaces": [{
                    "BoundingBox": {"Width": 0.05, "Height": 0.07, "Left": 0.02, "Top": 0.04},
                    "Confidence": 91.2,
                }],
            })
            .to_string(),
        )
    });
    let found = vision(&[&rule], None)
        .detect(&hopper(), Feature::Celebrities, 80.0)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "unrecognised faces are not celebrities");
    let celebrity = &found[0];
    assert_eq!(celebrity.name, "Grace Hopper");
    assert_eq!(celebrity.id.as_deref(), Some("3Ir0du6"));
    assert_eq!(celebrity.confidence, 98.0);
    assert_box(
        celebrity.bounding_box,
        0.3359375,
        0.21875,
        0.546875,
        0.6171875,
    );
    assert_eq!(
        celebrity.attributes,
        Some(json!({
            "urls": ["www.wikidata.org/wiki/Q11641", "www.imdb.com/name/nm0394609"],
            "knownGender": "Female",
        }))
    );
}

#[tokio::test]
async fn moderation_labels_carry_their_parents_and_the_minimum_confidence_is_sent() {
    let asked = Arc::new(Mutex::new(Vec::<DetectModerationLabelsInput>::new()));
    let recorded = Arc::clone(&asked);
    let rule = mock!(Client::detect_moderation_labels).then_compute_response(move |input| {
        recorded.lock().unwrap().push(input.clone());
        MockResponse::Http(answer(
            200,
            &json!({
                "ModerationLabels": [
                    {"Confidence": 92.14, "Name": "Violence", "ParentName": "", "TaxonomyLevel": 1},
                    {"Confidence": 92.14, "Name": "Weapons", "ParentName": "Violence", "TaxonomyLevel": 2},
                    {"Confidence": 88.02, "Name": "Alcohol", "ParentName": "", "TaxonomyLevel": 1},
                    {"Confidence": 88.02, "Name": "Alcoholic Beverages", "ParentName": "Alcohol", "TaxonomyLevel": 2},
                ],
                "ModerationModelVersion": "7.0",
                "ContentTypes": [],
            })
            .to_string(),
        ))
    });
    let backend = vision(&[&rule], None);
    let found = backend
        .detect(&hopper(), Feature::Moderation, 85.0)
        .await
        .unwrap();
    let labels: Vec<(&str, Vec<&str>)> = found
        .iter()
        .map(|d| {
            (
                d.name.as_str(),
                d.parents.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        labels,
        vec![
            ("Violence", vec![]),
            ("Weapons", vec!["Violence"]),
            ("Alcohol", vec![]),
            ("Alcoholic Beverages", vec!["Alcohol"]),
        ]
    );
    assert_eq!(found[1].attributes, Some(json!({"taxonomyLevel": 2})));
    assert_eq!(asked.lock().unwrap()[0].min_confidence(), Some(85.0));
    assert_eq!(
        backend.engine(Feature::Moderation).await,
        "Amazon Rekognition DetectModerationLabels, model 7.0"
    );
}

#[tokio::test]
async fn labels_get_the_largest_instance_box_and_keep_the_rest_in_attributes() {
    // DetectLabels runs against moto in e2e; this checks the mapping on a richer answer.
    let asked = Arc::new(Mutex::new(Vec::<DetectLabelsInput>::new()));
    let recorded = Arc::clone(&asked);
    let rule = mock!(Client::detect_labels).then_compute_response(move |input| {
        recorded.lock().unwrap().push(input.clone());
        MockResponse::Http(answer(
            200,
            &json!({
                "Labels": [
                    {
                        "Name": "Person", "Confidence": 99.6,
                        "Instances": [{"BoundingBox": {"Width": 0.9, "Height": 0.82, "Left": 0.08, "Top": 0.18}, "Confidence": 99.6}],
                        "Parents": [], "Aliases": [{"Name": "Human"}],
                        "Categories": [{"Name": "Person Description"}],
                    },
                    {
                        "Name": "Hat", "Confidence": 97.31,
                        "Instances": [
                            {"BoundingBox": {"Width": 0.1, "Height": 0.1, "Left": 0.0, "Top": 0.0}, "Confidence": 81.0},
                            {"BoundingBox": {"Width": 0.5, "Height": 0.25, "Left": 0.35, "Top": 0.02}, "Confidence": 97.31},
                        ],
                        "Parents": [{"Name": "Clothing"}, {"Name": "Apparel"}], "Aliases": [],
                        "Categories": [{"Name": "Apparel and Accessories"}],
                    },
                    {
                        "Name": "Portrait", "Confidence": 88.4, "Instances": [],
                        "Parents": [{"Name": "Art"}], "Aliases": [],
                        "Categories": [{"Name": "Hobbies and Interests"}],
                    },
                ],
                "LabelModelVersion": "3.0",
            })
            .to_string(),
        ))
    });
    let backend = vision(&[&rule], None);
    let found = backend
        .detect(&hopper(), Feature::Labels, 80.0)
        .await
        .unwrap();
    assert_eq!(found.len(), 3);
    let hat = &found[1];
    assert_eq!(hat.name, "Hat");
    assert_eq!(hat.parents, vec!["Clothing", "Apparel"]);
    assert_box(hat.bounding_box, 0.35, 0.02, 0.5, 0.25);
    let attributes = hat.attributes.as_ref().unwrap();
    assert_eq!(attributes["categories"], json!(["Apparel and Accessories"]));
    assert_eq!(attributes["instances"].as_array().unwrap().len(), 2);
    assert_eq!(
        found[0].attributes.as_ref().unwrap()["aliases"],
        json!(["Human"])
    );
    assert_eq!(
        found[2].bounding_box, None,
        "a label without instances has no box"
    );
    assert_eq!(asked.lock().unwrap()[0].min_confidence(), Some(80.0));
    assert_eq!(
        backend.engine(Feature::Labels).await,
        "Amazon Rekognition DetectLabels, model 3.0"
    );
}

// --- the auto face indexer -----------------------------------------------------------------

#[tokio::test]
async fn a_known_face_is_matched_and_a_named_one_carries_its_name() {
    let detect = mock!(Client::detect_faces)
        .then_http_response(|| detect_faces_answer(&[(HOPPER_BOX, 5.23)]));
    // The first search finds a face the indexer added; the second one a person indexed.
    let search = mock!(Client::search_faces_by_image)
        .sequence()
        .http_response(|| {
            search_answer(Some((
                "38271d79-7bc2-5efb-b752-398a8d575b85",
                "auto:7d1c0f52-95e4-4bb5-8d0e-1c3f7b0a9e21",
                99.71,
            )))
        })
        .http_response(|| {
            search_answer(Some((
                "8c3a1f2e-0d4b-4c6a-9e7f-5b2d1a0c9e88",
                "Grace_Hopper",
                97.2,
            )))
        })
        .build();
    let index = mock!(Client::index_faces).then_http_response(|| index_answer("never", "never"));
    let backend = vision(&[&detect, &search, &index], Some(COLLECTION));

    let found = backend
        .detect(&hopper(), Feature::FaceMatch, 80.0)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let face = &found[0];
    assert_eq!(
        face.name, "",
        "a face the indexer added has no name until one is given"
    );
    assert_eq!(
        face.id.as_deref(),
        Some("38271d79-7bc2-5efb-b752-398a8d575b85")
    );
    assert!(close(face.confidence, 99.71), "the similarity");
    assert!(!face.indexed);
    // The box is where the face is in this capture, not in the indexed image.
    assert_box(face.bounding_box, 0.3359375, 0.21875, 0.546875, 0.6171875);

    let found = backend
        .detect(&hopper(), Feature::FaceMatch, 80.0)
        .await
        .unwrap();
    assert_eq!(found[0].name, "Grace Hopper");
    assert_eq!(
        found[0].id.as_deref(),
        Some("8c3a1f2e-0d4b-4c6a-9e7f-5b2d1a0c9e88")
    );
    assert_eq!(index.num_calls(), 0, "a known face is never indexed");
    assert_eq!(
        backend.engine(Feature::FaceMatch).await,
        format!(
            "Amazon Rekognition SearchFacesByImage and IndexFaces, collection {COLLECTION}, model 7.0"
        )
    );
}

#[tokio::test]
async fn a_new_face_is_indexed_once_and_found_by_search_afterwards() {
    let detect = mock!(Client::detect_faces)
        .then_http_response(|| detect_faces_answer(&[(HOPPER_BOX, 5.23)]));
    let collection = Arc::new(Collection::default());
    let (search, index) = collection.rules();
    let backend = vision(&[&detect, &search, &index], Some(COLLECTION));

    let found = backend
        .detect(&hopper(), Feature::FaceMatch, 80.0)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let face = &found[0];
    assert!(face.indexed);
    assert_eq!(face.name, "");
    assert_eq!(
        face.id.as_deref(),
        Some("1b3c6f0e-5d2a-4e8f-9c7b-000000000001")
    );
    assert!(close(face.confidence, 99.9981));
    assert_box(face.bounding_box, 0.3359375, 0.21875, 0.546875, 0.6171875);

    {
        let indexed = collection.indexed.lock().unwrap();
        assert_eq!(indexed.len(), 1);
        let request = &indexed[0];
        assert_eq!(request.collection_id(), Some(COLLECTION));
        assert_eq!(
            request.external_image_id(),
            Some(format!("{AUTO_INDEXED_PREFIX}{ASSET}").as_str())
        );
        assert_eq!(request.max_faces(), Some(1));
        assert_eq!(request.quality_filter(), Some(&QualityFilter::Auto));
        // The crop: the face and a quarter of its size around it, clamped to the frame.
        let crop =
            image::load_from_memory(request.image().and_then(|i| i.bytes()).unwrap().as_ref())
                .expect("the crop is a JPEG");
        assert_eq!((crop.width(), crop.height()), (103, 119));
        // Searched before indexing, and again under the indexing lock.
        let searched = collection.searched.lock().unwrap();
        assert_eq!(searched.len(), 2);
        assert_eq!(searched[0].collection_id(), Some(COLLECTION));
        assert_eq!(searched[0].face_match_threshold(), Some(80.0));
        assert_eq!(searched[0].max_faces(), Some(1));
    }

    // The event delivered again: the face is found by search, not indexed a second time.
    let again = backend
        .detect(&hopper(), Feature::FaceMatch, 80.0)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert!(!again[0].indexed);
    assert_eq!(again[0].id, face.id);
    assert_eq!(collection.indexed.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn small_turned_and_faceless_crops_are_not_indexed() {
    let small = r#"{"Width":0.3,"Height":0.35,"Left":0.05,"Top":0.05}"#; // 38x45 px
    let detect = mock!(Client::detect_faces).then_http_response(move || {
        detect_faces_answer(&[(small, 2.0), (HOPPER_BOX, 41.7), (HOPPER_BOX, 3.1)])
    });
    // No match for the first two; Rekognition sees no face in the third crop.
    let search = mock!(Client::search_faces_by_image)
        .sequence()
        .http_response(|| search_answer(None))
        .times(2)
        .http_response(|| {
            refusal(
                400,
                "InvalidParameterException",
                "There are no faces in the image. Should be at least 1.",
            )
        })
        .build();
    let index = mock!(Client::index_faces).then_http_response(|| index_answer("never", "never"));
    let found = vision(&[&detect, &search, &index], Some(COLLECTION))
        .detect(&hopper(), Feature::FaceMatch, 80.0)
        .await
        .unwrap();
    assert_eq!(found, Vec::<Detection>::new());
    assert_eq!(search.num_calls(), 3, "every face is searched once");
    assert_eq!(index.num_calls(), 0);
}

#[tokio::test]
async fn without_a_collection_face_match_is_not_offered() {
    let backend = vision(&[], None);
    assert!(!backend.features().contains(&Feature::FaceMatch));
    assert_eq!(backend.features().len(), 5);
    assert_eq!(
        backend.skip_reason(Feature::FaceMatch).as_deref(),
        Some("no face collection configured")
    );
    assert_eq!(backend.skip_reason(Feature::Labels), None);
    let with = vision(&[], Some(COLLECTION));
    assert!(with.features().contains(&Feature::FaceMatch));
    assert_eq!(with.skip_reason(Feature::FaceMatch), None);
    assert_eq!(with.concurrency(), 2);
}

// --- throttling and errors ------------------------------------------------------------------

#[tokio::test]
async fn throttling_is_retried_with_backoff_until_it_passes() {
    let rule = mock!(Client::detect_faces)
        .sequence()
        .http_response(|| refusal(400, "ThrottlingException", "Rate exceeded"))
        .times(2)
        .http_response(|| detect_faces_answer(&[(HOPPER_BOX, 5.23)]))
        .build();
    let found = vision(&[&rule], None)
        .detect(&hopper(), Feature::Faces, 80.0)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        rule.num_calls(),
        3,
        "two throttled attempts, then the answer"
    );
}

#[tokio::test]
async fn throttling_that_never_stops_is_unavailable_after_every_attempt() {
    let rule = mock!(Client::detect_moderation_labels)
        .sequence()
        .http_response(|| {
            refusal(
                400,
                "ProvisionedThroughputExceededException",
                "Provisioned rate exceeded",
            )
        })
        .repeatedly()
        .build();
    let err = vision(&[&rule], None)
        .detect(&hopper(), Feature::Moderation, 80.0)
        .await
        .unwrap_err();
    let VisionError::Unavailable(message) = &err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains("ProvisionedThroughputExceededException"),
        "{message}"
    );
    assert_eq!(rule.num_calls(), ATTEMPTS as usize);
}

#[tokio::test]
async fn an_image_rekognition_refuses_is_a_frame_error_and_not_retried() {
    let rule = mock!(Client::recognize_celebrities).then_http_response(|| {
        refusal(
            400,
            "InvalidImageFormatException",
            "Request has invalid image format",
        )
    });
    let err = vision(&[&rule], None)
        .detect(&hopper(), Feature::Celebrities, 80.0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VisionError::Frame(m) if m.contains("invalid image format")),
        "{err:?}"
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn access_denied_and_a_missing_collection_are_backend_errors_saying_what_to_do() {
    let denied = mock!(Client::detect_faces).then_http_response(|| {
        refusal(
            400,
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/mediasift-video/mediasift-video is not \
             authorized to perform: rekognition:DetectFaces",
        )
    });
    let err = vision(&[&denied], None)
        .detect(&hopper(), Feature::Faces, 80.0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VisionError::Backend(m)
            if m.contains("Allow the video function's role rekognition:DetectFaces")),
        "{err:?}"
    );
    assert_eq!(denied.num_calls(), 1, "a refusal is not retried");

    let detect = mock!(Client::detect_faces)
        .then_http_response(|| detect_faces_answer(&[(HOPPER_BOX, 5.23)]));
    let missing = mock!(Client::search_faces_by_image).then_http_response(|| {
        refusal(
            400,
            "ResourceNotFoundException",
            "The collection id: mediasift-faces does not exist",
        )
    });
    let err = vision(&[&detect, &missing], Some(COLLECTION))
        .detect(&hopper(), Feature::FaceMatch, 80.0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VisionError::Backend(m)
            if m.contains("create-collection --collection-id mediasift-faces")
                && m.contains("MEDIASIFT_FACE_COLLECTION")),
        "{err:?}"
    );
}

// --- the video handler with Rekognition ---------------------------------------------------

const DERIVED: &str = "derived";

fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    assert!(
        output.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

struct Harness {
    dir: tempfile::TempDir,
    objects: Arc<LocalObjectStore>,
    ports: Ports,
}

impl Harness {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let objects = Arc::new(LocalObjectStore::open(dir.path().join("objects")).unwrap());
        objects.create_bucket("ingest").await.unwrap();
        objects.create_bucket(DERIVED).await.unwrap();
        let state = Arc::new(SqliteStateStore::open(&dir.path().join("state.db")).unwrap());
        let ports = Ports {
            objects: objects.clone(),
            state,
            clock: Arc::new(SystemClock),
            derived_bucket: DERIVED.into(),
            ingest_bucket: "ingest".into(),
        };
        Self {
            dir,
            objects,
            ports,
        }
    }

    fn video(&self, backend: RekognitionVision) -> Video {
        Video::new(
            VideoConfig {
                scratch_dir: self.dir.path().join("scratch"),
            },
            vec![Arc::new(backend)],
        )
    }

    /// A 3-second 320x240 clip as ingest leaves it: proxy, 1-fps captures and their manifest;
    /// returns the `Video Ingested` event, with only `features` turned on.
    async fn ingested(&self, asset_id: Uuid, features: &[Feature]) -> RawEvent {
        let work = self.dir.path().join(format!("work-{asset_id}"));
        std::fs::create_dir_all(&work).unwrap();
        let clip = work.join("clip.mp4");
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:d=3:r=25",
            "-pix_fmt",
            "yuv420p",
            clip.to_str().unwrap(),
        ]);
        let pattern = work.join("%06d.jpg");
        ffmpeg(&[
            "-i",
            clip.to_str().unwrap(),
            "-vf",
            "fps=1",
            "-start_number",
            "0",
            "-q:v",
            "3",
            pattern.to_str().unwrap(),
        ]);
        let mut jpegs: Vec<PathBuf> = std::fs::read_dir(&work)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
            .collect();
        jpegs.sort();
        let mut frames = Vec::new();
        for (i, jpeg) in jpegs.iter().enumerate() {
            let key = format!("{asset_id}/frames/frame-{i:05}.jpg");
            self.put(&key, Body::File(jpeg.clone())).await;
            frames.push(json!({
                "frameNumber": i as u64 * 25,
                "timestampSeconds": i as f64,
                "key": key,
            }));
        }
        let manifest = json!({"rate": 1.0, "width": 320, "height": 240, "frames": frames});
        let manifest_key = format!("{asset_id}/frames/manifest.json");
        self.put(
            &manifest_key,
            Body::Bytes(serde_json::to_vec(&manifest).unwrap().into()),
        )
        .await;
        let proxy_key = format!("{asset_id}/proxy/proxy.mp4");
        self.put(&proxy_key, Body::File(clip)).await;

        let mut detail = VideoIngested::example();
        detail.asset_id = asset_id;
        detail.plan.options.min_confidence = 80.0;
        let vision = &mut detail.plan.options.vision;
        vision.labels = features.contains(&Feature::Labels);
        vision.faces = features.contains(&Feature::Faces);
        vision.celebrities = features.contains(&Feature::Celebrities);
        vision.face_match = features.contains(&Feature::FaceMatch);
        vision.text = features.contains(&Feature::Text);
        vision.moderation = features.contains(&Feature::Moderation);
        detail.outputs.proxy = format!("s3://{DERIVED}/{proxy_key}");
        detail.outputs.frame_captures = format!("s3://{DERIVED}/{manifest_key}");
        let mut event = Envelope::new(sources::INGEST, detail);
        event.id = Uuid::new_v5(&Uuid::NAMESPACE_OID, asset_id.as_bytes()).to_string();
        event.to_raw().unwrap()
    }

    async fn put(&self, key: &str, body: Body) {
        self.objects
            .put(DERIVED, key, body, PutOptions::default())
            .await
            .unwrap();
    }

    async fn result(&self, done: &VideoAnalysisCompleted, name: &str) -> Value {
        let result = done
            .results
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no result {name}: {:?}", done.results));
        let key = result
            .uri
            .strip_prefix(&format!("s3://{DERIVED}/"))
            .unwrap();
        let bytes = self.objects.get_bytes(DERIVED, key).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }
}

async fn completed(video: &Video, event: &RawEvent, ports: &Ports) -> VideoAnalysisCompleted {
    let emitted = match video.handle(event, ports).await {
        Ok(emitted) => emitted,
        Err(e) => panic!("video failed: {e:?}"),
    };
    assert_eq!(emitted.len(), 1, "{emitted:?}");
    let done: Envelope<VideoAnalysisCompleted> = emitted[0].decode().unwrap();
    done.detail
}

#[tokio::test]
async fn a_persistent_throttle_makes_the_handler_retry_the_event() {
    let harness = Harness::new().await;
    let event = harness
        .ingested(Uuid::from_u128(0x7411), &[Feature::Labels])
        .await;
    let rule = mock!(Client::detect_labels)
        .sequence()
        .http_response(|| refusal(400, "ThrottlingException", "Rate exceeded"))
        .repeatedly()
        .build();
    let err = harness
        .video(vision(&[&rule], None))
        .handle(&event, &harness.ports)
        .await
        .unwrap_err();
    let HandlerError::Retryable(message) = &err else {
        panic!("a throttle must be retried, not fail the asset: {err:?}");
    };
    assert!(
        message.contains("labels on capture") && message.contains("ThrottlingException"),
        "{message}"
    );
    assert!(rule.num_calls() >= ATTEMPTS as usize);
    assert_eq!(
        rule.num_calls() % ATTEMPTS as usize,
        0,
        "every call was retried"
    );
}

#[tokio::test]
async fn access_denied_fails_the_asset_with_a_cause_a_person_can_act_on() {
    let harness = Harness::new().await;
    let asset_id = Uuid::from_u128(0xde41ed);
    let event = harness.ingested(asset_id, &[Feature::Labels]).await;
    let rule = mock!(Client::detect_labels).then_http_response(|| {
        refusal(
            400,
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/mediasift-video/mediasift-video is not \
             authorized to perform: rekognition:DetectLabels because no identity-based policy \
             allows the rekognition:DetectLabels action",
        )
    });
    let err = harness
        .video(vision(&[&rule], None))
        .handle(&event, &harness.ports)
        .await
        .unwrap_err();
    let HandlerError::Permanent(failure) = &err else {
        panic!("access denied must fail the asset: {err:?}");
    };
    assert_eq!(failure.error_code, "VisionFailed");
    assert_eq!(failure.asset_id, Some(asset_id));
    assert!(
        failure
            .cause
            .contains("Allow the video function's role rekognition:DetectLabels"),
        "{}",
        failure.cause
    );
    assert!(
        failure.cause.contains("AccessDeniedException"),
        "{}",
        failure.cause
    );
    assert!(!failure.action.is_empty());
}

#[tokio::test]
async fn face_match_without_a_collection_is_skipped_with_the_reason() {
    let harness = Harness::new().await;
    let event = harness
        .ingested(
            Uuid::from_u128(0x5c1b),
            &[Feature::Labels, Feature::FaceMatch],
        )
        .await;
    let rule = mock!(Client::detect_labels)
        .then_http_response(|| answer(200, r#"{"Labels":[],"LabelModelVersion":"3.0"}"#));
    let done = completed(
        &harness.video(vision(&[&rule], None)),
        &event,
        &harness.ports,
    )
    .await;
    assert!(
        done.skipped
            .iter()
            .any(|s| s.feature == "faceMatch" && s.reason == "no face collection configured"),
        "{:?}",
        done.skipped
    );
    assert!(done.results.iter().any(|r| r.name == "labels"));
}

#[tokio::test]
async fn faces_are_indexed_once_per_person_and_named_late() {
    let harness = Harness::new().await;
    let asset_id = Uuid::from_u128(0xface);
    let event = harness.ingested(asset_id, &[Feature::FaceMatch]).await;
    // One frontal face, 96x96 px, on every capture.
    let face = r#"{"Width":0.3,"Height":0.4,"Left":0.35,"Top":0.3}"#;
    let detect =
        mock!(Client::detect_faces).then_http_response(move || detect_faces_answer(&[(face, 3.0)]));
    let collection = Arc::new(Collection::default());
    let (search, index) = collection.rules();
    let video = harness.video(vision(&[&detect, &search, &index], Some(COLLECTION)));

    let done = completed(&video, &event, &harness.ports).await;
    assert!(done.summary.frames_analysed >= 1);
    assert_eq!(
        collection.indexed.lock().unwrap().len(),
        1,
        "the captures analysed at once index the new face once"
    );
    let face_id = collection.faces.lock().unwrap()[0].0.clone();
    let results = harness.result(&done, "faceMatch").await;
    let detections: Vec<&Value> = results["captures"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["detections"].as_array().unwrap())
        .collect();
    assert_eq!(detections.len() as u32, done.summary.frames_analysed);
    assert!(detections.iter().all(|d| d["id"] == face_id.as_str()));
    assert_eq!(
        detections.iter().filter(|d| d["indexed"] == true).count(),
        1
    );

    // Delivered again: nothing new is indexed.
    completed(&video, &event, &harness.ports).await;
    assert_eq!(collection.indexed.lock().unwrap().len(), 1);

    // Named now: the next analysis uses the name, and reading the timelines of this one
    // applies it without analysing again.
    let names = FaceNames::new(harness.ports.state.as_ref());
    names.set(&face_id, "Grace Hopper").await.unwrap();
    let timelines = read_timelines(
        harness.objects.as_ref(),
        harness.ports.state.as_ref(),
        DERIVED,
        asset_id,
    )
    .await
    .unwrap();
    let track = timelines
        .timelines
        .iter()
        .find(|t| t.feature == "faceMatch")
        .and_then(|t| t.tracks.first())
        .expect("a face-match track");
    assert_eq!(track.name, "Grace Hopper");
    assert_eq!(track.id.as_deref(), Some(face_id.as_str()));
    assert_eq!(track.ranges.len(), 1);
    assert_eq!(track.ranges[0].start, 0.0);
    assert_eq!(track.ranges[0].end, 3.0);
    let stored = harness.result(&done, "timelines").await;
    assert!(
        stored.to_string().contains("\"name\":\"\""),
        "the stored timelines keep the name as analysed"
    );

    let done = completed(&video, &event, &harness.ports).await;
    let results = harness.result(&done, "faceMatch").await;
    assert_eq!(
        results["captures"][0]["detections"][0]["name"], "Grace Hopper",
        "names given before analysis are applied at analysis"
    );
}
