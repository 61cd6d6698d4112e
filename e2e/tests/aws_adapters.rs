//! The AWS adapters with the real SDK clients against moto on loopback; aws-smithy-mocks
//! where moto cannot produce the behaviour (partial PutEvents failures, throttling).
//!
//! Each test starts its own moto server, so tests run in parallel without sharing state.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_eventbridge::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_eventbridge::config::{ConfigBag, Intercept};
use aws_sdk_eventbridge::error::BoxError;
use aws_sdk_eventbridge::operation::put_events::{PutEventsInput, PutEventsOutput};
use aws_sdk_eventbridge::types::{PutEventsResultEntry, Target};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use mediasift_e2e::aws_path::decode_event;
use mediasift_e2e::moto::MotoServer;
use mediasift_kit::aws::{DynamoStateStore, EventBridgePublisher, S3ObjectStore};
use mediasift_kit::ports::{
    Body, Clock, Condition, EventPublisher, FixedClock, ObjectStore, PublishError, PutOptions,
    Retryable, StateError, StateStore, StoreError, Update,
};
use mediasift_schemas::{Envelope, EventDetail, RawEvent, VideoIngested, sources};
use serde_json::{Map, Value, json};
use tokio::io::AsyncReadExt;
use uuid::Uuid;

const MIB: usize = 1024 * 1024;

async fn moto() -> (MotoServer, SdkConfig) {
    let server = MotoServer::start();
    let sdk = server.sdk_config().await;
    (server, sdk)
}

async fn create_bucket(sdk: &SdkConfig, bucket: &str) {
    S3ObjectStore::new(sdk)
        .client()
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create bucket");
}

async fn read_all(
    store: &S3ObjectStore,
    bucket: &str,
    key: &str,
    range: Option<std::ops::Range<u64>>,
) -> Vec<u8> {
    let mut stream = store.get(bucket, key, range).await.expect("get");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.expect("read body");
    bytes
}

/// The lower-case hex MD5 of a file, from coreutils' `md5sum`.
fn md5sum(path: &Path) -> String {
    let output = std::process::Command::new("md5sum")
        .arg(path)
        .output()
        .expect("run md5sum");
    assert!(output.status.success(), "md5sum failed");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .expect("md5sum output")
        .to_owned()
}

fn hex_to_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Deterministic, incompressible-looking bytes.
fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// GETs `url` with a plain HTTP/1.1 request over loopback: (status, body).
fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    assert!(
        !head.contains("transfer-encoding: chunked"),
        "chunked responses are not handled here"
    );
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, response[split + 4..].to_vec())
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn video_ingested(asset_id: Uuid) -> RawEvent {
    let detail = VideoIngested {
        asset_id,
        ..VideoIngested::example()
    };
    let mut event = Envelope::new(sources::INGEST, detail);
    event.resources = vec![format!("arn:aws:s3:::ingest/{asset_id}")];
    event.to_raw().expect("encode")
}

// ---------------------------------------------------------------------------------------------
// S3

#[tokio::test]
async fn s3_put_get_range_head_tags_list_delete_presign() {
    let (_moto, sdk) = moto().await;
    let store = S3ObjectStore::new(&sdk);
    let bucket = "media";
    create_bucket(&sdk, bucket).await;

    let body = Bytes::from_static(b"0123456789abcdefghij");
    let options = PutOptions {
        content_type: Some("video/mp4".into()),
        user_metadata: BTreeMap::from([
            ("uuid".into(), "1234".into()),
            ("md5".into(), "abc".into()),
        ]),
        tags: BTreeMap::from([
            ("stage".into(), "ingest".into()),
            ("a b".into(), "c/d=e".into()),
        ]),
    };
    let key = "in/clip one ✓.mp4";
    let put = store
        .put(bucket, key, Body::Bytes(body.clone()), options.clone())
        .await
        .expect("put");
    assert_eq!(put.size, 20);
    assert_eq!(put.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(put.user_metadata, options.user_metadata);

    // The ETag of a single-part put is the MD5 of the bytes, without quotes.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("body");
    std::fs::write(&copy, &body).unwrap();
    assert_eq!(put.etag, md5sum(&copy));

    let head = store.head(bucket, key).await.expect("head");
    assert_eq!(head.etag, put.etag);
    assert_eq!(head.size, 20);
    assert_eq!(head.user_metadata, options.user_metadata);
    assert!(head.last_modified > Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap());
    // The SDK sends a CRC32 of the body by default and S3 keeps it as a full-object checksum
    // (python3 -c "import zlib; print(zlib.crc32(b'0123456789abcdefghij'))", base64 of its
    // big-endian bytes).
    let checksum = head.checksum.expect("a full-object checksum");
    assert_eq!(
        (checksum.algorithm.as_str(), checksum.value.as_str()),
        ("CRC32", "Y4wNKQ==")
    );

    assert_eq!(read_all(&store, bucket, key, None).await, body.to_vec());
    assert_eq!(store.get_bytes(bucket, key).await.unwrap(), body);
    assert_eq!(read_all(&store, bucket, key, Some(2..5)).await, b"234");
    assert_eq!(read_all(&store, bucket, key, Some(15..20)).await, b"fghij");
    assert_eq!(read_all(&store, bucket, key, Some(7..7)).await, b"");
    for range in [15..21, 20..25, 30..40] {
        let err = store
            .get(bucket, key, Some(range.clone()))
            .await
            .err()
            .expect("out of range");
        assert!(
            matches!(err, StoreError::InvalidRange { size: 20, .. }),
            "{range:?}: {err}"
        );
    }

    assert_eq!(store.get_tags(bucket, key).await.unwrap(), options.tags);
    let tags = BTreeMap::from([("computed-md5".to_owned(), put.etag.clone())]);
    store
        .put_tags(bucket, key, tags.clone())
        .await
        .expect("put tags");
    assert_eq!(store.get_tags(bucket, key).await.unwrap(), tags);

    for extra in ["in/b.mp4", "in/a.mp4", "out/c.json"] {
        store
            .put(
                bucket,
                extra,
                Body::Bytes(Bytes::from_static(b"x")),
                PutOptions::default(),
            )
            .await
            .unwrap();
    }
    let listed: Vec<String> = store
        .list(bucket, "in/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(listed, ["in/a.mp4", "in/b.mp4", key]);

    // A presigned URL works with no credentials at all: a plain HTTP GET.
    let url = store
        .presign_get(bucket, key, Duration::from_secs(300))
        .await
        .expect("presign");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let (status, fetched) = tokio::task::spawn_blocking(move || http_get(&url))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(fetched, body.to_vec());
    let too_long = store
        .presign_get(bucket, key, Duration::from_secs(8 * 24 * 3600))
        .await;
    assert!(matches!(too_long, Err(StoreError::Denied(_))));

    store.delete(bucket, key).await.expect("delete");
    store
        .delete(bucket, key)
        .await
        .expect("deleting a missing object succeeds");
    assert!(matches!(
        store.head(bucket, key).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.get(bucket, key, None).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.get_tags(bucket, key).await,
        Err(StoreError::NotFound { .. })
    ));
    let missing_bucket = store.list("no-such-bucket", "").await;
    assert!(
        matches!(missing_bucket, Err(StoreError::NoSuchBucket(ref b)) if b == "no-such-bucket")
    );
    let put_missing = store
        .put(
            "no-such-bucket",
            "k",
            Body::Bytes(Bytes::new()),
            PutOptions::default(),
        )
        .await;
    assert!(
        matches!(put_missing, Err(StoreError::NoSuchBucket(_))),
        "{put_missing:?}"
    );
    assert!(matches!(
        store.head(bucket, "").await,
        Err(StoreError::InvalidKey { .. })
    ));
}

#[tokio::test]
async fn s3_list_pages_through_more_than_a_thousand_keys() {
    let (_moto, sdk) = moto().await;
    let store = Arc::new(S3ObjectStore::new(&sdk));
    create_bucket(&sdk, "many").await;
    let keys: Vec<String> = (0..1003).map(|i| format!("p/{i:05}")).collect();
    futures::stream::iter(keys.clone())
        .map(|key| {
            let store = store.clone();
            async move {
                store
                    .put(
                        "many",
                        &key,
                        Body::Bytes(Bytes::from_static(b"")),
                        PutOptions::default(),
                    )
                    .await
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .expect("puts");
    let listed: Vec<String> = store
        .list("many", "p/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(listed, keys);
}

#[tokio::test]
async fn s3_files_upload_in_one_put_or_in_parts() {
    let (_moto, sdk) = moto().await;
    // A lowered threshold: files over 6 MiB go in 5 MiB parts (S3's smallest).
    let store = S3ObjectStore::new(&sdk).with_multipart(6 * MIB as u64, 5 * MIB as u64);
    create_bucket(&sdk, "files").await;
    let dir = tempfile::tempdir().unwrap();

    let small = dir.path().join("small.bin");
    std::fs::write(&small, pattern(MIB + 17)).unwrap();
    let meta = store
        .put(
            "files",
            "small.bin",
            Body::File(small.clone()),
            PutOptions::default(),
        )
        .await
        .expect("single put");
    assert_eq!(meta.etag, md5sum(&small));
    assert_eq!(meta.size, (MIB + 17) as u64);

    let large = dir.path().join("large.bin");
    let content = pattern(12 * MIB + 123);
    std::fs::write(&large, &content).unwrap();
    let options = PutOptions {
        content_type: Some("application/octet-stream".into()),
        user_metadata: BTreeMap::from([("uuid".into(), "u-1".into())]),
        tags: BTreeMap::from([("stage".into(), "proxy".into())]),
    };
    let meta = store
        .put(
            "files",
            "large.bin",
            Body::File(large.clone()),
            options.clone(),
        )
        .await
        .expect("multipart put");
    assert_eq!(meta.size, content.len() as u64);
    assert_eq!(meta.user_metadata, options.user_metadata);
    assert_eq!(
        store.get_tags("files", "large.bin").await.unwrap(),
        options.tags
    );

    // A multipart ETag is the MD5 of the parts' MD5s, then `-<parts>`: 5 + 5 + 2 MiB.
    let mut digests = Vec::new();
    for (i, chunk) in content.chunks(5 * MIB).enumerate() {
        let part = dir.path().join(format!("part{i}"));
        std::fs::write(&part, chunk).unwrap();
        digests.extend(hex_to_bytes(&md5sum(&part)));
    }
    let joined = dir.path().join("digests");
    std::fs::write(&joined, &digests).unwrap();
    assert_eq!(meta.etag, format!("{}-3", md5sum(&joined)));
    assert_eq!(
        meta.checksum, None,
        "a composite checksum is not a full-object one"
    );

    let fetched = store.get_bytes("files", "large.bin").await.unwrap();
    assert!(
        fetched == content,
        "the multipart object reads back as the file"
    );
    let middle = read_all(
        &store,
        "files",
        "large.bin",
        Some(5 * MIB as u64 - 3..5 * MIB as u64 + 3),
    )
    .await;
    assert_eq!(middle, content[5 * MIB - 3..5 * MIB + 3]);

    // No upload is left behind.
    let uploads = store
        .client()
        .list_multipart_uploads()
        .bucket("files")
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty());
    let missing = store
        .put(
            "files",
            "x",
            Body::File(dir.path().join("missing")),
            PutOptions::default(),
        )
        .await;
    assert!(matches!(missing, Err(StoreError::Io { .. })), "{missing:?}");
}

#[tokio::test]
async fn s3_multipart_upload_is_aborted_when_a_part_fails() {
    use aws_sdk_s3::Client;
    use aws_sdk_s3::operation::abort_multipart_upload::AbortMultipartUploadOutput;
    use aws_sdk_s3::operation::create_multipart_upload::CreateMultipartUploadOutput;

    let create = mock!(Client::create_multipart_upload).then_output(|| {
        CreateMultipartUploadOutput::builder()
            .upload_id("upload-1")
            .build()
    });
    let part = mock!(Client::upload_part).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from("<Error><Code>AccessDenied</Code><Message>denied</Message></Error>"),
        )
    });
    let abort = mock!(Client::abort_multipart_upload)
        .match_requests(|req| req.upload_id() == Some("upload-1"))
        .then_output(|| AbortMultipartUploadOutput::builder().build());
    let complete = mock!(Client::complete_multipart_upload).then_http_response(|| {
        HttpResponse::new(StatusCode::try_from(500).unwrap(), SdkBody::empty())
    });
    let client = mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&create, &part, &abort, &complete]
    );
    let store = S3ObjectStore::from_client(client).with_multipart(6 * MIB as u64, 5 * MIB as u64);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("large.bin");
    std::fs::write(&file, vec![7u8; 11 * MIB]).unwrap();
    let err = store
        .put("b", "k", Body::File(file), PutOptions::default())
        .await
        .expect_err("a part fails");
    assert!(matches!(err, StoreError::Denied(_)), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(abort.num_calls(), 1, "the upload is aborted");
    assert_eq!(complete.num_calls(), 0);
}

#[tokio::test]
async fn s3_throttling_and_server_errors_are_retryable() {
    use aws_sdk_s3::Client;
    let slow = mock!(Client::head_object).then_http_response(|| {
        HttpResponse::new(StatusCode::try_from(503).unwrap(), SdkBody::empty())
    });
    let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&slow]);
    let store = S3ObjectStore::from_client(client);
    let err = store.head("b", "k").await.expect_err("503");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(err.is_retryable());
}

// ---------------------------------------------------------------------------------------------
// DynamoDB

async fn state_store(sdk: &SdkConfig, table: &str) -> DynamoStateStore {
    let store = DynamoStateStore::new(sdk, table);
    store.create_table().await.expect("create table");
    store
        .create_table()
        .await
        .expect("creating it again is fine");
    store
}

#[tokio::test]
async fn dynamodb_conditional_put_race_has_exactly_one_winner() {
    let (_moto, sdk) = moto().await;
    let store = Arc::new(state_store(&sdk, "state").await);
    for round in 0..3 {
        let key = format!("asset-{round}");
        let attempts = (0..10).map(|writer| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                store
                    .put(
                        "join",
                        &key,
                        object(json!({ "writer": writer })),
                        Condition::NotExists,
                        None,
                    )
                    .await
            })
        });
        let results = futures::future::join_all(attempts).await;
        let mut winners = Vec::new();
        for result in results {
            match result.expect("task") {
                Ok(item) => winners.push(item),
                Err(StateError::ConditionFailed { .. }) => {}
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one NotExists put wins"
        );
        let stored = store.get("join", &key).await.unwrap().expect("stored");
        assert_eq!(stored, winners[0]);
        assert_eq!(stored.version, 1);
    }
}

#[tokio::test]
async fn dynamodb_conditions_updates_and_expiry() {
    let (_moto, sdk) = moto().await;
    let clock = Arc::new(FixedClock::new(Utc::now()));
    let store = state_store(&sdk, "state").await.with_clock(clock.clone());
    let (t, k) = ("scene", "asset-1");

    assert_eq!(store.get(t, k).await.unwrap(), None);
    let first = store
        .put(
            t,
            k,
            object(json!({"expected": ["audio", "video"], "n": 1})),
            Condition::NotExists,
            None,
        )
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.expires_at, None);
    let again = store
        .put(t, k, object(json!({})), Condition::NotExists, None)
        .await;
    assert!(matches!(again, Err(StateError::ConditionFailed { .. })));

    // VersionIs: only at the current version.
    let stale = store
        .put(t, k, object(json!({"n": 9})), Condition::VersionIs(7), None)
        .await;
    assert!(matches!(stale, Err(StateError::ConditionFailed { .. })));
    let second = store
        .put(
            t,
            k,
            object(json!({"expected": ["audio", "video"], "n": 2})),
            Condition::VersionIs(1),
            None,
        )
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    let missing = store
        .put(t, "nope", object(json!({})), Condition::VersionIs(1), None)
        .await;
    assert!(matches!(missing, Err(StateError::ConditionFailed { .. })));

    // Always bumps the version; FieldAbsent guards one field.
    let third = store
        .put(
            t,
            k,
            object(json!({"expected": ["audio", "video"], "n": 3})),
            Condition::Always,
            None,
        )
        .await
        .unwrap();
    assert_eq!(third.version, 3);
    let guarded = store
        .put(
            t,
            k,
            object(json!({"n": 4})),
            Condition::FieldAbsent("n".into()),
            None,
        )
        .await;
    assert!(matches!(guarded, Err(StateError::ConditionFailed { .. })));

    // AddToSet and Increment, atomically, with the item after them.
    let updated = store
        .update(
            t,
            k,
            &[
                Update::AddToSet("arrived".into(), vec!["video".into()]),
                Update::Increment("n".into(), 10),
                Update::Set("status".into(), json!({"phase": "waiting"})),
            ],
            Condition::VersionIs(3),
        )
        .await
        .unwrap();
    assert_eq!(updated.version, 4);
    assert_eq!(updated.value["arrived"], json!(["video"]));
    assert_eq!(updated.value["n"], json!(13));
    assert_eq!(updated.value["expected"], json!(["audio", "video"]));
    let updated = store
        .update(
            t,
            k,
            &[
                Update::AddToSet("arrived".into(), vec!["audio".into(), "video".into()]),
                Update::AddToSet("expected".into(), vec!["audio".into()]),
            ],
            Condition::Always,
        )
        .await
        .unwrap();
    assert_eq!(updated.version, 5);
    assert_eq!(updated.value["arrived"], json!(["audio", "video"]));
    assert_eq!(updated.value["expected"], json!(["audio", "video"]));
    assert_eq!(store.get(t, k).await.unwrap(), Some(updated.clone()));

    let refused = store
        .update(
            t,
            k,
            &[Update::Increment("n".into(), 1)],
            Condition::VersionIs(4),
        )
        .await;
    assert!(matches!(refused, Err(StateError::ConditionFailed { .. })));
    let refused = store
        .update(
            t,
            k,
            &[Update::Increment("n".into(), 1)],
            Condition::NotExists,
        )
        .await;
    assert!(matches!(refused, Err(StateError::ConditionFailed { .. })));
    let refused = store
        .update(
            t,
            k,
            &[Update::Set("n".into(), json!(0))],
            Condition::FieldAbsent("arrived".into()),
        )
        .await;
    assert!(matches!(refused, Err(StateError::ConditionFailed { .. })));

    // Type errors name the field.
    let wrong = store
        .update(
            t,
            k,
            &[Update::Increment("status".into(), 1)],
            Condition::Always,
        )
        .await;
    assert!(
        matches!(wrong, Err(StateError::WrongType { ref field, .. }) if field == "status"),
        "{wrong:?}"
    );
    let wrong = store
        .update(
            t,
            k,
            &[Update::AddToSet("n".into(), vec!["x".into()])],
            Condition::Always,
        )
        .await;
    assert!(
        matches!(wrong, Err(StateError::WrongType { ref field, .. }) if field == "n"),
        "{wrong:?}"
    );

    // Updates create missing items; an empty array accepts AddToSet (converted to a set).
    let created = store
        .update(
            t,
            "asset-2",
            &[
                Update::Increment("count".into(), 2),
                Update::AddToSet("seen".into(), vec![]),
            ],
            Condition::NotExists,
        )
        .await
        .unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(
        Value::Object(created.value),
        json!({"count": 2, "seen": []})
    );
    let added = store
        .update(
            t,
            "asset-2",
            &[Update::AddToSet(
                "seen".into(),
                vec!["b".into(), "a".into()],
            )],
            Condition::Always,
        )
        .await
        .unwrap();
    assert_eq!(added.value["seen"], json!(["a", "b"]));
    assert_eq!(added.version, 2);

    // RemoveFromSet is a DELETE of a string set: absent members and fields are fine, an
    // emptied set goes, and a field of another type is named.
    let removed = store
        .update(
            t,
            "asset-2",
            &[
                Update::RemoveFromSet("seen".into(), vec!["a".into(), "z".into()]),
                Update::RemoveFromSet("absent".into(), vec!["a".into()]),
            ],
            Condition::VersionIs(2),
        )
        .await
        .unwrap();
    assert_eq!(removed.version, 3);
    assert_eq!(
        Value::Object(removed.value),
        json!({"count": 2, "seen": ["b"]})
    );
    let emptied = store
        .update(
            t,
            "asset-2",
            &[Update::RemoveFromSet("seen".into(), vec!["b".into()])],
            Condition::Always,
        )
        .await
        .unwrap();
    assert_eq!(Value::Object(emptied.value), json!({"count": 2}));
    let wrong = store
        .update(
            t,
            "asset-2",
            &[Update::RemoveFromSet("count".into(), vec!["x".into()])],
            Condition::Always,
        )
        .await;
    assert!(
        matches!(wrong, Err(StateError::WrongType { ref field, .. }) if field == "count"),
        "{wrong:?}"
    );
    let added = store
        .update(
            t,
            "asset-2",
            &[Update::AddToSet(
                "seen".into(),
                vec!["b".into(), "a".into()],
            )],
            Condition::Always,
        )
        .await
        .unwrap();
    assert_eq!(added.version, 5);
    let twice = store
        .update(
            t,
            "asset-2",
            &[
                Update::Increment("count".into(), 1),
                Update::Increment("count".into(), 1),
            ],
            Condition::Always,
        )
        .await
        .unwrap();
    assert_eq!(twice.value["count"], json!(4));

    // Expired-but-not-deleted items read as absent, and writes start them afresh.
    let ttl = store
        .put(
            t,
            "short",
            object(json!({"a": 1})),
            Condition::NotExists,
            Some(Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let expires = ttl.expires_at.expect("expiry");
    assert!(expires > clock.now() && expires <= clock.now() + chrono::Duration::seconds(61));
    assert!(store.get(t, "short").await.unwrap().is_some());
    clock.advance(chrono::Duration::seconds(120));
    assert_eq!(store.get(t, "short").await.unwrap(), None);
    let fresh = store
        .put(
            t,
            "short",
            object(json!({"b": 2})),
            Condition::NotExists,
            None,
        )
        .await
        .expect("an expired item counts as absent");
    assert_eq!(fresh.version, 1);
    store
        .put(
            t,
            "short2",
            object(json!({"n": 5})),
            Condition::NotExists,
            Some(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    clock.advance(chrono::Duration::seconds(5));
    let restarted = store
        .update(
            t,
            "short2",
            &[Update::Increment("n".into(), 1)],
            Condition::NotExists,
        )
        .await
        .expect("an update over an expired item starts afresh");
    assert_eq!(restarted.version, 1);
    assert_eq!(Value::Object(restarted.value), json!({"n": 1}));

    store.delete(t, k).await.unwrap();
    store
        .delete(t, k)
        .await
        .expect("deleting a missing item succeeds");
    assert_eq!(store.get(t, k).await.unwrap(), None);
    // Logical tables do not see each other's keys.
    assert_eq!(store.get("other", "asset-2").await.unwrap(), None);
}

#[tokio::test]
async fn dynamodb_throttling_is_retryable_and_a_missing_table_is_not() {
    use aws_sdk_dynamodb::Client;
    let throttled = mock!(Client::get_item).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#),
        )
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&throttled]);
    let err = DynamoStateStore::from_client(client, "t")
        .get("a", "b")
        .await
        .expect_err("throttled");
    assert!(matches!(err, StateError::Unavailable(_)), "{err}");
    assert!(err.is_retryable());

    let (_moto, sdk) = moto().await;
    let err = DynamoStateStore::new(&sdk, "no-such-table")
        .get("a", "b")
        .await
        .expect_err("no table");
    assert!(matches!(err, StateError::Failed(_)), "{err}");
    assert!(!err.is_retryable());
}

// ---------------------------------------------------------------------------------------------
// EventBridge

/// Counts the entries of every PutEvents call a client makes.
#[derive(Debug, Clone, Default)]
struct PutEventsRecorder(Arc<Mutex<Vec<usize>>>);

impl PutEventsRecorder {
    fn calls(&self) -> Vec<usize> {
        self.0.lock().unwrap().clone()
    }
}

impl Intercept for PutEventsRecorder {
    fn name(&self) -> &'static str {
        "PutEventsRecorder"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(input) = context.input().downcast_ref::<PutEventsInput>() {
            self.0.lock().unwrap().push(input.entries().len());
        }
        Ok(())
    }
}

#[tokio::test]
async fn eventbridge_delivers_25_events_to_a_queue_in_batches_of_ten() {
    let (_moto, sdk) = moto().await;
    let events_client = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    events_client
        .create_event_bus()
        .name("pipeline")
        .send()
        .await
        .unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name("ingested")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    events_client
        .put_rule()
        .name("ingested")
        .event_bus_name("pipeline")
        .event_pattern(
            json!({"source": ["mediasift.ingest"], "detail-type": ["Video Ingested"]}).to_string(),
        )
        .send()
        .await
        .unwrap();
    events_client
        .put_targets()
        .rule("ingested")
        .event_bus_name("pipeline")
        .targets(
            Target::builder()
                .id("queue")
                .arn("arn:aws:sqs:us-east-1:123456789012:ingested")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let recorder = PutEventsRecorder::default();
    let client = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&sdk)
            .interceptor(recorder.clone())
            .build(),
    );
    let publisher = EventBridgePublisher::from_client(client, "pipeline");
    let sent: Vec<RawEvent> = (0..25).map(|_| video_ingested(Uuid::new_v4())).collect();
    publisher.publish(&sent).await.expect("publish");
    assert_eq!(recorder.calls(), [10, 10, 5]);

    let mut received = BTreeMap::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while received.len() < 25 && std::time::Instant::now() < deadline {
        let batch = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in batch.messages() {
            let event = decode_event(message.body().unwrap()).expect("an EventBridge event");
            let asset = event.detail["assetId"].as_str().unwrap().to_owned();
            received.insert(asset, event);
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(received.len(), 25, "every event arrives");
    for event in &sent {
        let got = &received[event.detail["assetId"].as_str().unwrap()];
        assert_eq!(got.detail, event.detail, "the detail arrives as sent");
        assert_eq!(got.detail_type, "Video Ingested");
        assert_eq!(got.source, "mediasift.ingest");
        assert_eq!(got.resources, event.resources);
        assert_eq!(
            got.time.timestamp(),
            event.time.timestamp(),
            "the event's time is kept"
        );
        assert_ne!(got.id, event.id, "EventBridge assigns its own envelope id");
    }
}

#[tokio::test]
async fn eventbridge_resends_only_the_entries_that_failed() {
    use aws_sdk_eventbridge::Client;
    let requests: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let seen = requests.clone();
    let put = mock!(Client::put_events).then_compute_output(move |input: &PutEventsInput| {
        let details: Vec<String> = input
            .entries()
            .iter()
            .map(|e| e.detail().unwrap_or_default().to_owned())
            .collect();
        let first = {
            let mut requests = seen.lock().unwrap();
            requests.push(details.clone());
            requests.len() == 1
        };
        // The first request: entries 3 and 7 are throttled. Later ones all succeed.
        let failed = |i: usize| first && (i == 3 || i == 7);
        let entries = (0..details.len())
            .map(|i| {
                if failed(i) {
                    PutEventsResultEntry::builder()
                        .error_code("ThrottlingException")
                        .error_message("Rate exceeded")
                        .build()
                } else {
                    PutEventsResultEntry::builder()
                        .event_id(format!("id-{i}"))
                        .build()
                }
            })
            .collect();
        PutEventsOutput::builder()
            .failed_entry_count(if first { 2 } else { 0 })
            .set_entries(Some(entries))
            .build()
    });
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&put]);
    let publisher =
        EventBridgePublisher::from_client(client, "bus").with_retry(3, Duration::from_millis(5));
    let events: Vec<RawEvent> = (0..10).map(|_| video_ingested(Uuid::new_v4())).collect();
    publisher
        .publish(&events)
        .await
        .expect("published after a re-send");

    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].len(), 10);
    let expected: Vec<String> = [3, 7]
        .iter()
        .map(|&i| events[i].detail.to_string())
        .collect();
    assert_eq!(
        requests[1], expected,
        "the second request carries exactly the two failed entries"
    );
}

#[tokio::test]
async fn eventbridge_gives_up_after_bounded_attempts_and_refuses_bad_entries() {
    use aws_sdk_eventbridge::Client;
    let throttled = mock!(Client::put_events).then_compute_output(|input: &PutEventsInput| {
        let entries = input
            .entries()
            .iter()
            .map(|_| {
                PutEventsResultEntry::builder()
                    .error_code("ThrottlingException")
                    .build()
            })
            .collect();
        PutEventsOutput::builder()
            .failed_entry_count(input.entries().len() as i32)
            .set_entries(Some(entries))
            .build()
    });
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&throttled]);
    let publisher =
        EventBridgePublisher::from_client(client, "bus").with_retry(4, Duration::from_millis(1));
    let err = publisher
        .publish(&[video_ingested(Uuid::new_v4())])
        .await
        .expect_err("throttled");
    assert!(matches!(err, PublishError::Unavailable(_)), "{err}");
    assert!(err.is_retryable());
    assert_eq!(throttled.num_calls(), 4);

    let malformed = mock!(Client::put_events).then_output(|| {
        PutEventsOutput::builder()
            .failed_entry_count(1)
            .entries(
                PutEventsResultEntry::builder()
                    .error_code("MalformedDetail")
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&malformed]);
    let err = EventBridgePublisher::from_client(client, "bus")
        .publish(&[video_ingested(Uuid::new_v4())])
        .await
        .expect_err("malformed");
    assert!(matches!(err, PublishError::Rejected(_)), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(malformed.num_calls(), 1, "a refused entry is not re-sent");

    let denied = mock!(Client::put_events).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(r#"{"__type":"AccessDeniedException","message":"not allowed"}"#),
        )
    });
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&denied]);
    let err = EventBridgePublisher::from_client(client, "bus")
        .publish(&[video_ingested(Uuid::new_v4())])
        .await
        .expect_err("denied");
    assert!(matches!(err, PublishError::Rejected(_)), "{err}");
}

#[tokio::test]
async fn eventbridge_refuses_an_oversized_event_before_any_call_and_splits_by_size() {
    use aws_sdk_eventbridge::Client;
    let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
    let seen = sizes.clone();
    let put = mock!(Client::put_events).then_compute_output(move |input: &PutEventsInput| {
        seen.lock().unwrap().push(input.entries().len());
        PutEventsOutput::builder()
            .failed_entry_count(0)
            .set_entries(Some(
                input
                    .entries()
                    .iter()
                    .map(|_| PutEventsResultEntry::builder().event_id("id").build())
                    .collect(),
            ))
            .build()
    });
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&put]);
    let publisher = EventBridgePublisher::from_client(client, "bus");

    let padded = |bytes: usize| {
        let mut event = video_ingested(Uuid::new_v4());
        event.detail["padding"] = Value::String("x".repeat(bytes));
        event
    };
    let small = video_ingested(Uuid::new_v4());
    let huge = padded(300 * 1024);
    let err = publisher
        .publish(&[small.clone(), huge.clone()])
        .await
        .expect_err("too large");
    match err {
        PublishError::TooLarge {
            id, size, limit, ..
        } => {
            assert_eq!(id, huge.id);
            assert!(size > limit && limit == 256 * 1024);
        }
        other => panic!("expected TooLarge, got {other}"),
    }
    assert!(
        !PublishError::TooLarge {
            id: String::new(),
            detail_type: String::new(),
            size: 0,
            limit: 0
        }
        .is_retryable()
    );
    assert_eq!(
        put.num_calls(),
        0,
        "nothing is sent when one event is too large"
    );

    // Three 100 KB events: two fit in one request, the third goes in another.
    let events = [padded(100 * 1024), padded(100 * 1024), padded(100 * 1024)];
    publisher.publish(&events).await.expect("publish");
    assert_eq!(*sizes.lock().unwrap(), [2, 1]);
    publisher.publish(&[]).await.expect("nothing to publish");
    assert_eq!(put.num_calls(), 2);
}
