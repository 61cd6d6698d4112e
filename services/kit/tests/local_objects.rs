//! The filesystem object store against real files: round trips, ranges, listing, odd and
//! unsafe keys, S3's `Object Created` event, and concurrent writers.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use md5::{Digest, Md5};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::ports::{
    Body, EventPublisher, ObjectStore, PublishError, PutOptions, Retryable, StoreError,
};
use mediasift_schemas::{Envelope, ObjectCreated, RawEvent, form_url_decode};
use tokio::io::AsyncReadExt;

const BUCKET: &str = "media-bucket";

async fn store() -> (tempfile::TempDir, LocalObjectStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalObjectStore::open(dir.path().join("store")).unwrap();
    store.create_bucket(BUCKET).await.unwrap();
    (dir, store)
}

async fn put_bytes(
    store: &LocalObjectStore,
    bucket: &str,
    key: &str,
    bytes: &[u8],
) -> Result<mediasift_kit::ports::ObjectMeta, StoreError> {
    store
        .put(
            bucket,
            key,
            Body::Bytes(Bytes::copy_from_slice(bytes)),
            PutOptions::default(),
        )
        .await
}

async fn read_all(
    store: &LocalObjectStore,
    key: &str,
    range: Option<std::ops::Range<u64>>,
) -> Vec<u8> {
    let mut stream = store.get(BUCKET, key, range).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    bytes
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file and folder under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(base).unwrap().to_path_buf());
            if path.is_dir() {
                walk(base, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Records what it is given, or fails every publish.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<RawEvent>>,
    fail: bool,
}

impl Recorder {
    fn events(&self) -> Vec<RawEvent> {
        self.events.lock().unwrap().clone()
    }
}

#[async_trait]
impl EventPublisher for Recorder {
    async fn publish(&self, events: &[RawEvent]) -> Result<(), PublishError> {
        if self.fail {
            return Err(PublishError::Unavailable("the bus is down".into()));
        }
        self.events.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
}

#[tokio::test]
async fn bytes_round_trip_with_metadata_and_tags() {
    let (_dir, store) = store().await;
    let options = PutOptions {
        content_type: Some("text/plain".into()),
        user_metadata: BTreeMap::from([("Asset-Id".into(), "a1".into())]),
        tags: BTreeMap::from([("stage".into(), "raw".into())]),
    };
    let before = Utc::now();
    let put = store
        .put(
            BUCKET,
            "notes/hello.txt",
            Body::Bytes(Bytes::from_static(b"hello\n")),
            options,
        )
        .await
        .unwrap();

    assert_eq!(
        store.get_bytes(BUCKET, "notes/hello.txt").await.unwrap(),
        &b"hello\n"[..]
    );
    assert_eq!(read_all(&store, "notes/hello.txt", None).await, b"hello\n");

    let head = store.head(BUCKET, "notes/hello.txt").await.unwrap();
    assert_eq!(head, put);
    assert_eq!(head.bucket, BUCKET);
    assert_eq!(head.key, "notes/hello.txt");
    assert_eq!(head.size, 6);
    assert_eq!(head.etag, "b1946ac92492d2347c6235b4d2611184");
    assert_eq!(head.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        head.user_metadata,
        BTreeMap::from([("asset-id".into(), "a1".into())])
    );
    assert!(head.last_modified >= before && head.last_modified <= Utc::now());
    let version = head.version_id.clone().unwrap();
    assert_eq!(version.len(), 32);

    assert_eq!(
        store.get_tags(BUCKET, "notes/hello.txt").await.unwrap(),
        BTreeMap::from([("stage".into(), "raw".into())])
    );
    let tags = BTreeMap::from([
        ("stage".into(), "done".into()),
        ("owner".into(), "é t".into()),
    ]);
    store
        .put_tags(BUCKET, "notes/hello.txt", tags.clone())
        .await
        .unwrap();
    assert_eq!(
        store.get_tags(BUCKET, "notes/hello.txt").await.unwrap(),
        tags
    );
    // Tagging changes neither the bytes nor the version.
    assert_eq!(store.head(BUCKET, "notes/hello.txt").await.unwrap(), head);

    // Every put is a new version; tags are the put's.
    let again = put_bytes(&store, BUCKET, "notes/hello.txt", b"hello again")
        .await
        .unwrap();
    assert_ne!(again.version_id.as_deref(), Some(version.as_str()));
    assert_eq!(again.etag, md5_hex(b"hello again"));
    assert!(
        store
            .get_tags(BUCKET, "notes/hello.txt")
            .await
            .unwrap()
            .is_empty()
    );

    let empty = put_bytes(&store, BUCKET, "empty", b"").await.unwrap();
    assert_eq!(
        (empty.size, empty.etag.as_str()),
        (0, "d41d8cd98f00b204e9800998ecf8427e")
    );
    assert!(store.get_bytes(BUCKET, "empty").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_20_mb_file_streams_in_and_its_etag_is_its_md5sum() {
    let (dir, store) = store().await;
    let source = dir.path().join("big.bin");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&source).unwrap());
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..(20 * 1024 * 1024 / 8) {
            // xorshift: bytes that do not compress or repeat.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            file.write_all(&state.to_le_bytes()).unwrap();
        }
        file.flush().unwrap();
    }
    let output = Command::new("md5sum").arg(&source).output().unwrap();
    assert!(output.status.success());
    let md5sum = String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();

    let meta = store
        .put(
            BUCKET,
            "video/big one.bin",
            Body::File(source.clone()),
            PutOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(meta.etag, md5sum);
    assert_eq!(meta.size, 20 * 1024 * 1024);

    let original = std::fs::read(&source).unwrap();
    assert_eq!(read_all(&store, "video/big one.bin", None).await, original);
    let middle = 10 * 1024 * 1024 + 3;
    assert_eq!(
        read_all(&store, "video/big one.bin", Some(middle..middle + 70_000)).await,
        original[middle as usize..middle as usize + 70_000]
    );
    let missing = store
        .put(
            BUCKET,
            "x",
            Body::File(dir.path().join("nope.bin")),
            PutOptions::default(),
        )
        .await;
    assert!(
        matches!(missing, Err(StoreError::Io { ref context, .. }) if context.contains("nope.bin")),
        "{missing:?}"
    );
}

#[tokio::test]
async fn ranged_gets_are_end_exclusive_and_checked() {
    let (_dir, store) = store().await;
    put_bytes(&store, BUCKET, "digits", b"0123456789")
        .await
        .unwrap();
    assert_eq!(read_all(&store, "digits", Some(2..5)).await, b"234");
    assert_eq!(read_all(&store, "digits", Some(0..10)).await, b"0123456789");
    assert_eq!(read_all(&store, "digits", Some(9..10)).await, b"9");
    // As on S3, a range running past the end is cut at the end.
    assert_eq!(read_all(&store, "digits", Some(7..100)).await, b"789");
    // A reversed range is what a caller computing `start..end` wrongly would pass.
    let reversed = std::ops::Range { start: 6, end: 3 };
    for range in [10..11, 50..60, 5..5, reversed] {
        let result = store.get(BUCKET, "digits", Some(range.clone())).await;
        match result {
            Err(StoreError::InvalidRange {
                start,
                end,
                size,
                ref key,
                ..
            }) => {
                assert_eq!(
                    (start, end, size, key.as_str()),
                    (range.start, range.end, 10, "digits")
                );
            }
            _ => panic!("{range:?} gave {:?}", result.map(|_| ())),
        }
    }
    assert!(matches!(
        store.get(BUCKET, "nothing", Some(0..1)).await.map(|_| ()),
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn missing_objects_and_buckets() {
    let (_dir, store) = store().await;
    assert!(
        matches!(store.head(BUCKET, "none").await, Err(StoreError::NotFound { ref key, .. }) if key == "none")
    );
    assert!(matches!(
        store.get_bytes(BUCKET, "none").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.get_tags(BUCKET, "none").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.put_tags(BUCKET, "none", BTreeMap::new()).await,
        Err(StoreError::NotFound { .. })
    ));
    store.delete(BUCKET, "none").await.unwrap();

    assert!(
        matches!(put_bytes(&store, "no-such", "k", b"x").await, Err(StoreError::NoSuchBucket(ref b)) if b == "no-such")
    );
    assert!(matches!(
        store.get_bytes("no-such", "k").await,
        Err(StoreError::NoSuchBucket(_))
    ));
    assert!(matches!(
        store.head("no-such", "k").await,
        Err(StoreError::NoSuchBucket(_))
    ));
    assert!(matches!(
        store.list("no-such", "").await,
        Err(StoreError::NoSuchBucket(_))
    ));
    assert!(matches!(
        store.delete("no-such", "k").await,
        Err(StoreError::NoSuchBucket(_))
    ));
    assert!(matches!(
        store.list("../etc", "").await,
        Err(StoreError::NoSuchBucket(_))
    ));
    assert!(matches!(
        store.create_bucket("Bad_Name").await,
        Err(StoreError::Denied(_))
    ));
    assert!(matches!(
        store.create_bucket("..").await,
        Err(StoreError::Denied(_))
    ));
    // Creating twice is fine.
    store.create_bucket(BUCKET).await.unwrap();
}

#[tokio::test]
async fn list_walks_by_prefix_in_key_order() {
    let (_dir, store) = store().await;
    let keys = [
        "b/2",
        "a/1",
        "a/10",
        "a/2",
        "a b/x",
        "ab",
        "a/sub/deep.txt",
        "é/x",
        "Z",
    ];
    for key in keys {
        put_bytes(&store, BUCKET, key, key.as_bytes())
            .await
            .unwrap();
    }
    let listed = |prefix: &'static str| {
        let store = &store;
        async move {
            let objects = store.list(BUCKET, prefix).await.unwrap();
            objects.into_iter().map(|o| o.key).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed("").await,
        [
            "Z",
            "a b/x",
            "a/1",
            "a/10",
            "a/2",
            "a/sub/deep.txt",
            "ab",
            "b/2",
            "é/x"
        ]
    );
    assert_eq!(listed("a/").await, ["a/1", "a/10", "a/2", "a/sub/deep.txt"]);
    assert_eq!(
        listed("a").await,
        ["a b/x", "a/1", "a/10", "a/2", "a/sub/deep.txt", "ab"]
    );
    assert_eq!(listed("a/s").await, ["a/sub/deep.txt"]);
    assert_eq!(listed("a/1").await, ["a/1", "a/10"]);
    assert!(listed("zz").await.is_empty());

    let objects = store.list(BUCKET, "a/sub/").await.unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(
        objects[0],
        store.head(BUCKET, "a/sub/deep.txt").await.unwrap()
    );
    assert_eq!(objects[0].size, "a/sub/deep.txt".len() as u64);

    // A write in progress (a temporary file) is not an object.
    std::fs::write(
        store.root().join(BUCKET).join("tmp").join("half.part"),
        b"...",
    )
    .unwrap();
    assert_eq!(listed("").await.len(), keys.len());
}

#[tokio::test]
async fn delete_removes_bytes_metadata_and_empty_folders() {
    let (_dir, store) = store().await;
    put_bytes(&store, BUCKET, "x/y/z.txt", b"z").await.unwrap();
    put_bytes(&store, BUCKET, "x/keep.txt", b"k").await.unwrap();
    store.delete(BUCKET, "x/y/z.txt").await.unwrap();

    assert!(matches!(
        store.head(BUCKET, "x/y/z.txt").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.get(BUCKET, "x/y/z.txt", None).await.map(|_| ()),
        Err(StoreError::NotFound { .. })
    ));
    let bucket = store.root().join(BUCKET);
    for tree in ["objects", "meta"] {
        assert!(
            !bucket.join(tree).join("x/y").exists(),
            "{tree}/x/y is left"
        );
        assert!(bucket.join(tree).join("x/keep.txt").is_file());
    }
    assert_eq!(store.list(BUCKET, "").await.unwrap().len(), 1);

    store.delete(BUCKET, "x/keep.txt").await.unwrap();
    store.delete(BUCKET, "x/keep.txt").await.unwrap();
    for tree in ["objects", "meta"] {
        assert!(tree_is_empty(&bucket.join(tree)), "{tree} is not empty");
    }
}

fn tree_is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

#[tokio::test]
async fn odd_keys_round_trip_exactly() {
    let (_dir, store) = store().await;
    let keys = [
        "my photos/été 100%+1.jpg",
        "a+b",
        "100%",
        "x%2Fy",
        "%2F",
        "unicode/日本語 ✓ 🎬.mp4",
        "semi;colon=eq&amp?q#frag",
        "tab\tand\nnewline",
        "trailing space ",
        " leading space",
        ".hidden/..dots/...",
        "back\\slash",
        "meta",
        "objects/tmp/lock",
    ];
    for key in keys {
        let meta = put_bytes(&store, BUCKET, key, key.as_bytes())
            .await
            .unwrap();
        assert_eq!(meta.key, key);
        assert_eq!(
            store.get_bytes(BUCKET, key).await.unwrap(),
            key.as_bytes(),
            "{key:?}"
        );
        assert_eq!(store.head(BUCKET, key).await.unwrap().key, key);

        let url = store
            .presign_get(BUCKET, key, Duration::from_secs(60))
            .await
            .unwrap();
        let path = url.strip_prefix("file://").unwrap();
        assert!(
            !path.contains(' ') && !path.contains('+') && !path.contains('\n'),
            "{url}"
        );
        let path = form_url_decode(path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), key.as_bytes(), "{url}");
    }
    let mut sorted: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    sorted.sort();
    let listed: Vec<String> = store
        .list(BUCKET, "")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(listed, sorted);
    assert_eq!(
        store
            .presign_get(BUCKET, "my photos/été 100%+1.jpg", Duration::from_secs(1))
            .await
            .unwrap(),
        format!(
            "file://{}/{BUCKET}/objects/my%20photos/%C3%A9t%C3%A9%20100%25%2B1.jpg",
            store.root().display()
        )
    );
}

#[tokio::test]
async fn unsafe_keys_are_refused_and_nothing_is_written_outside_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalObjectStore::open(dir.path().join("store")).unwrap();
    store.create_bucket(BUCKET).await.unwrap();
    let before = tree(dir.path());

    let long_segment = format!("ok/{}", "s".repeat(256));
    let long_key = "k/".repeat(512) + "k";
    assert_eq!(long_key.len(), 1025);
    let refused = [
        "",
        "../x",
        "../../escape",
        "a/../../b",
        "./x",
        "a/./b",
        "..",
        ".",
        "/abs",
        "/etc/passwd",
        "a//b",
        "a/",
        "nul\0byte",
        &long_segment,
        &long_key,
    ];
    for key in refused {
        let result = put_bytes(&store, BUCKET, key, b"x").await;
        let Err(StoreError::InvalidKey { key: named, reason }) = result else {
            panic!("{key:?} was not refused: {result:?}");
        };
        assert_eq!(named, key);
        assert!(!reason.is_empty());
        assert!(matches!(
            store.get_bytes(BUCKET, key).await,
            Err(StoreError::InvalidKey { .. })
        ));
        assert!(matches!(
            store.head(BUCKET, key).await,
            Err(StoreError::InvalidKey { .. })
        ));
        assert!(matches!(
            store.delete(BUCKET, key).await,
            Err(StoreError::InvalidKey { .. })
        ));
        assert!(matches!(
            store.presign_get(BUCKET, key, Duration::from_secs(1)).await,
            Err(StoreError::InvalidKey { .. })
        ));
    }
    assert_eq!(tree(dir.path()), before, "something was written");

    // The longest segment and key the store takes work.
    let longest_segment = format!("ok/{}", "s".repeat(255));
    let longest_key = "k/".repeat(511) + "kk";
    assert_eq!(longest_key.len(), 1024);
    for key in [&longest_segment, &longest_key] {
        put_bytes(&store, BUCKET, key, b"fine").await.unwrap();
        assert_eq!(store.get_bytes(BUCKET, key).await.unwrap(), &b"fine"[..]);
    }
    let outside: Vec<_> = tree(dir.path())
        .into_iter()
        .filter(|p| !p.starts_with("store"))
        .collect();
    assert!(outside.is_empty(), "{outside:?}");
}

#[tokio::test]
async fn a_key_cannot_also_be_a_folder_of_keys() {
    let (_dir, store) = store().await;
    put_bytes(&store, BUCKET, "a", b"a").await.unwrap();
    let below = put_bytes(&store, BUCKET, "a/b", b"b").await;
    assert!(
        matches!(below, Err(StoreError::InvalidKey { ref reason, .. }) if reason.contains("\"a\"")),
        "{below:?}"
    );
    assert!(matches!(
        store.head(BUCKET, "a/b").await,
        Err(StoreError::NotFound { .. })
    ));

    put_bytes(&store, BUCKET, "c/d", b"d").await.unwrap();
    assert!(matches!(
        put_bytes(&store, BUCKET, "c", b"c").await,
        Err(StoreError::InvalidKey { .. })
    ));
    assert!(matches!(
        store.head(BUCKET, "c").await,
        Err(StoreError::NotFound { .. })
    ));
    store.delete(BUCKET, "c").await.unwrap();
    assert_eq!(store.get_bytes(BUCKET, "c/d").await.unwrap(), &b"d"[..]);

    store.delete(BUCKET, "c/d").await.unwrap();
    put_bytes(&store, BUCKET, "c", b"c").await.unwrap();
    assert_eq!(store.get_bytes(BUCKET, "c").await.unwrap(), &b"c"[..]);
    // Nothing half-written is left behind by the refusals.
    assert!(tree_is_empty(&store.root().join(BUCKET).join("tmp")));
}

#[tokio::test]
async fn tags_and_metadata_are_held_to_s3s_limits() {
    let (_dir, store) = store().await;
    let eleven: BTreeMap<String, String> = (0..11).map(|i| (format!("t{i}"), "v".into())).collect();
    let options = PutOptions {
        tags: eleven.clone(),
        ..PutOptions::default()
    };
    assert!(matches!(
        store
            .put(BUCKET, "k", Body::Bytes(Bytes::new()), options)
            .await,
        Err(StoreError::Denied(_))
    ));
    put_bytes(&store, BUCKET, "k", b"").await.unwrap();
    assert!(matches!(
        store.put_tags(BUCKET, "k", eleven).await,
        Err(StoreError::Denied(_))
    ));
    let options = PutOptions {
        user_metadata: BTreeMap::from([("big".into(), "x".repeat(2100))]),
        ..PutOptions::default()
    };
    assert!(matches!(
        store
            .put(BUCKET, "k", Body::Bytes(Bytes::new()), options)
            .await,
        Err(StoreError::Denied(_))
    ));
}

#[tokio::test]
async fn a_put_publishes_s3s_object_created_event() {
    let (_dir, store) = store().await;
    store.create_bucket("quiet-bucket").await.unwrap();
    let recorder = Arc::new(Recorder::default());
    let store = store.with_notifications(BUCKET, recorder.clone());
    let key = "my photos/été 100%+1.jpg";

    let meta = put_bytes(&store, BUCKET, key, b"12345").await.unwrap();
    let events = recorder.events();
    assert_eq!(events.len(), 1);
    let raw = &events[0];
    assert_eq!(raw.version, "0");
    assert_eq!(raw.source, "aws.s3");
    assert_eq!(raw.detail_type, "Object Created");
    assert_eq!(raw.resources, [format!("arn:aws:s3:::{BUCKET}")]);
    assert_eq!(raw.account, "000000000000");
    assert_eq!(raw.time, meta.last_modified);
    assert!(uuid::Uuid::parse_str(&raw.id).is_ok());

    let detail = &raw.detail;
    let field = |pointer: &str| {
        detail
            .pointer(pointer)
            .unwrap_or_else(|| panic!("no {pointer} in {detail}"))
    };
    assert_eq!(field("/version"), "0");
    assert_eq!(field("/bucket/name"), BUCKET);
    assert_eq!(
        field("/object/key"),
        "my+photos/%C3%A9t%C3%A9+100%25%2B1.jpg"
    );
    assert_eq!(field("/object/size"), 5);
    assert_eq!(field("/object/etag"), md5_hex(b"12345").as_str());
    assert_eq!(
        field("/object/version-id"),
        meta.version_id.as_deref().unwrap()
    );
    let sequencer = field("/object/sequencer").as_str().unwrap().to_owned();
    assert!(
        sequencer.len() >= 16 && sequencer.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sequencer}"
    );
    let request_id = field("/request-id").as_str().unwrap();
    assert!(request_id.len() == 16 && request_id.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(field("/requester"), "000000000000");
    assert_eq!(field("/source-ip-address"), "127.0.0.1");
    assert_eq!(field("/reason"), "PutObject");
    let mut names: Vec<&String> = detail.as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "bucket",
            "object",
            "reason",
            "request-id",
            "requester",
            "source-ip-address",
            "version"
        ]
    );

    // It reads back as the typed event, from the value and from its JSON text.
    let typed = raw.decode::<ObjectCreated>().unwrap();
    assert_eq!(typed.detail.object.decoded_key().as_deref(), Some(key));
    let text = serde_json::to_string(raw).unwrap();
    let parsed: Envelope<ObjectCreated> = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed, typed);
    assert_eq!(parsed.detail.object.size, Some(meta.size));
    assert_eq!(
        parsed.detail.object.etag.as_deref(),
        Some(meta.etag.as_str())
    );

    // The sequencer grows with each put.
    put_bytes(&store, BUCKET, key, b"123456").await.unwrap();
    let events = recorder.events();
    assert_eq!(events.len(), 2);
    let next = events[1].detail["object"]["sequencer"].as_str().unwrap();
    assert!(next > sequencer.as_str(), "{next} after {sequencer}");

    // Other buckets, tag changes and deletes say nothing.
    put_bytes(&store, "quiet-bucket", key, b"x").await.unwrap();
    store.put_tags(BUCKET, key, BTreeMap::new()).await.unwrap();
    store.delete(BUCKET, key).await.unwrap();
    assert_eq!(recorder.events().len(), 2);
}

#[tokio::test]
async fn a_put_whose_event_cannot_be_published_fails_retryably() {
    let (_dir, store) = store().await;
    let failing = Arc::new(Recorder {
        fail: true,
        ..Recorder::default()
    });
    store.set_notifications(BUCKET, failing);
    let result = put_bytes(&store, BUCKET, "upload.mp4", b"data").await;
    let Err(error) = result else {
        panic!("the put succeeded without its event");
    };
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(error.is_retryable());
    let message = error.to_string();
    assert!(
        message.contains("upload.mp4") && message.contains("the bus is down"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_of_one_key_leave_one_intact_object() {
    let (_dir, store) = store().await;
    let store = Arc::new(store);
    let payloads: Vec<Vec<u8>> = (0..16u8)
        .map(|i| vec![i; 256 * 1024 + usize::from(i)])
        .collect();
    let tasks: Vec<_> = payloads
        .iter()
        .cloned()
        .map(|payload| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .put(
                        BUCKET,
                        "same/key.bin",
                        Body::Bytes(Bytes::from(payload)),
                        PutOptions::default(),
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }

    let stored = store.get_bytes(BUCKET, "same/key.bin").await.unwrap();
    assert!(
        payloads.iter().any(|p| p[..] == stored[..]),
        "the object is torn"
    );
    let head = store.head(BUCKET, "same/key.bin").await.unwrap();
    assert_eq!(head.size, stored.len() as u64);
    assert_eq!(head.etag, md5_hex(&stored));
    assert_eq!(store.list(BUCKET, "").await.unwrap(), [head]);
    assert!(tree_is_empty(&store.root().join(BUCKET).join("tmp")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_root_share_objects() {
    let dir = tempfile::tempdir().unwrap();
    let first = LocalObjectStore::open(dir.path()).unwrap();
    first.create_bucket(BUCKET).await.unwrap();
    put_bytes(&first, BUCKET, "shared", b"one").await.unwrap();
    let second = LocalObjectStore::open(dir.path()).unwrap();
    assert_eq!(
        second.get_bytes(BUCKET, "shared").await.unwrap(),
        &b"one"[..]
    );
    assert_eq!(
        second.head(BUCKET, "shared").await.unwrap(),
        first.head(BUCKET, "shared").await.unwrap()
    );
}
