//! A harness for the ingest handler on the real local adapters (filesystem object store,
//! SQLite state): put a file, capture the store's own `Object Created` event, hand it to the
//! handler, and follow ingest's self-addressed events until it is done.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use mediasift_ingest::{Ingest, IngestConfig};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{
    Body, EventPublisher, ObjectMeta, ObjectStore, PublishError, PutOptions, SystemClock,
};
use mediasift_kit::{Failure, Handler, HandlerError, Ports};
use mediasift_schemas::{EventDetail, IngestHashingContinued, RawEvent};
use serde_json::Value;

pub const INGEST: &str = "ingest";
pub const DERIVED: &str = "derived";

/// `.cache/test-media` at the workspace root (or `$TEST_MEDIA_DIR`).
pub fn media_dir() -> PathBuf {
    match std::env::var_os("TEST_MEDIA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/test-media"),
    }
}

/// A file of the real test media; fails (never skips) when it is not there.
pub fn media(relative: &str) -> PathBuf {
    let path = media_dir().join(relative);
    assert!(
        path.is_file(),
        "test media {} is missing: run scripts/setup.sh (it fetches .cache/test-media)",
        path.display()
    );
    path
}

/// Runs ffmpeg (quiet, overwrite) with `args` written as one line, writing `out`.
pub fn ffmpeg(args: &str, out: &Path) -> PathBuf {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(args.split_whitespace())
        .arg(out)
        .output()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    assert!(
        output.status.success(),
        "ffmpeg {args} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out.to_path_buf()
}

/// A tool's stdout, trimmed; panics when it fails.
pub fn tool(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/setup.sh installs it): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

pub fn md5sum(path: &Path) -> String {
    let out = tool("md5sum", &[path.to_str().unwrap()]);
    out.split_whitespace().next().unwrap().to_owned()
}

#[derive(Default)]
struct Captured(Mutex<Vec<RawEvent>>);

#[async_trait]
impl EventPublisher for Captured {
    async fn publish(&self, events: &[RawEvent]) -> Result<(), PublishError> {
        self.0.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub objects: Arc<LocalObjectStore>,
    pub ports: Ports,
    pub ingest: Ingest,
    notified: Arc<Captured>,
}

/// What one ingest produced: every event in order (continuations included), or the failure.
pub struct Outcome {
    pub events: Vec<RawEvent>,
    pub failure: Option<Failure>,
}

impl Outcome {
    /// The single final event (not a continuation).
    pub fn last(&self) -> &RawEvent {
        if let Some(failure) = &self.failure {
            panic!("ingest failed: {failure:?}");
        }
        self.events.last().expect("ingest emitted an event")
    }

    pub fn failure(&self) -> &Failure {
        self.failure
            .as_ref()
            .unwrap_or_else(|| panic!("expected a failure, got {:?}", self.detail_types()))
    }

    pub fn detail_types(&self) -> Vec<String> {
        self.events.iter().map(|e| e.detail_type.clone()).collect()
    }
}

impl Harness {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(configure: impl FnOnce(&mut IngestConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let notified = Arc::new(Captured::default());
        let objects = Arc::new(LocalObjectStore::open(dir.path().join("objects")).unwrap());
        objects.create_bucket(INGEST).await.unwrap();
        objects.create_bucket(DERIVED).await.unwrap();
        objects.set_notifications(INGEST, notified.clone());
        let state = Arc::new(SqliteStateStore::open(&dir.path().join("state.db")).unwrap());
        let ports = Ports {
            objects: objects.clone(),
            state,
            clock: Arc::new(SystemClock),
            derived_bucket: DERIVED.into(),
            ingest_bucket: INGEST.into(),
        };
        let scratch = dir.path().join("scratch");
        std::fs::create_dir_all(&scratch).unwrap();
        let mut config = IngestConfig {
            scratch_dir: scratch,
            ..IngestConfig::default()
        };
        configure(&mut config);
        Self {
            ingest: Ingest::local(config),
            dir,
            objects,
            ports,
            notified,
        }
    }

    /// Puts `file` as `key` with user metadata; returns the store's `Object Created` event.
    pub async fn put(&self, key: &str, file: &Path, metadata: &[(&str, &str)]) -> RawEvent {
        let options = PutOptions {
            user_metadata: metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            ..PutOptions::default()
        };
        self.objects
            .put(INGEST, key, Body::File(file.to_path_buf()), options)
            .await
            .unwrap();
        self.notified
            .0
            .lock()
            .unwrap()
            .pop()
            .expect("the store announced the object")
    }

    pub async fn head(&self, key: &str) -> ObjectMeta {
        self.objects.head(INGEST, key).await.unwrap()
    }

    /// Handles `event`, then every self-addressed event ingest emits, until none is left.
    pub async fn run(&self, event: &RawEvent) -> Outcome {
        let mut events = Vec::new();
        let mut next = Some(event.clone());
        while let Some(event) = next.take() {
            match self.ingest.handle(&event, &self.ports).await {
                Ok(emitted) => {
                    next = emitted
                        .iter()
                        .find(|e| e.detail_type == IngestHashingContinued::DETAIL_TYPE)
                        .cloned();
                    events.extend(emitted);
                }
                Err(HandlerError::Permanent(failure)) => {
                    return Outcome {
                        events,
                        failure: Some(*failure),
                    };
                }
                Err(HandlerError::Retryable(message)) => panic!("retryable error: {message}"),
            }
        }
        Outcome {
            events,
            failure: None,
        }
    }

    pub async fn ingest(&self, key: &str, file: &Path) -> Outcome {
        let created = self.put(key, file, &[]).await;
        self.run(&created).await
    }

    /// A JSON document in the derived bucket, by its `s3://` URI.
    pub async fn json(&self, uri: &str) -> Value {
        let key = self.key_of(uri);
        let bytes = self.objects.get_bytes(DERIVED, &key).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// The local file behind a derived-bucket URI.
    pub async fn file(&self, uri: &str) -> PathBuf {
        let key = self.key_of(uri);
        let bytes = self.objects.get_bytes(DERIVED, &key).await.unwrap();
        let name = key.replace('/', "_");
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub fn key_of(&self, uri: &str) -> String {
        uri.strip_prefix(&format!("s3://{DERIVED}/"))
            .unwrap_or_else(|| panic!("{uri} is not in the derived bucket"))
            .to_owned()
    }
}
