//! Filesystem object store: S3's model on a local folder.
//!
//! Layout under the root, one folder per bucket:
//!
//! ```text
//! <root>/<bucket>/objects/<key>   the object's bytes, exactly as put
//! <root>/<bucket>/meta/<key>      its metadata as JSON (size, ETag, version id, tags, ...)
//! <root>/<bucket>/tmp/            writes in progress, renamed into place when complete
//! <root>/<bucket>/lock            taken while files are renamed into or out of place
//! ```
//!
//! The metadata tree mirrors the object tree path for path, so no key can collide with
//! metadata, and the temporary files live apart, so no key can be mistaken for one. Every
//! write goes to a temporary file that is synced and then renamed into place: a reader sees
//! the old object or the new one, never a part. An object exists once its metadata does:
//! a put renames the bytes into place before the metadata, and a delete removes the
//! metadata first.
//!
//! The store behaves as a versioned bucket (every put gets a fresh version id) and, for the
//! buckets set up with [`LocalObjectStore::with_notifications`], publishes S3's
//! `Object Created` EventBridge event after every put.

mod keys;
mod notify;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use mediasift_schemas::StoredChecksum;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use crate::ports::{
    Body, ByteStream, EventPublisher, ObjectMeta, ObjectStore, PutOptions, StoreError,
};

/// S3's limits on tags and user metadata, kept locally so nothing works here that fails there.
const MAX_TAGS: usize = 10;
const MAX_TAG_KEY_CHARS: usize = 128;
const MAX_TAG_VALUE_CHARS: usize = 256;
const MAX_USER_METADATA_BYTES: usize = 2048;

/// How much of a file is read at a time when it is copied into the store.
const COPY_CHUNK: usize = 1 << 20;
/// Temporary files older than this are left over from a crash and removed on open.
const STALE_TEMP_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// An S3-like object store on a local folder. See the module documentation for the layout.
pub struct LocalObjectStore {
    root: PathBuf,
    notifications: RwLock<HashMap<String, Arc<dyn EventPublisher>>>,
}

impl fmt::Debug for LocalObjectStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let notifications = self
            .notifications
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut notified: Vec<&String> = notifications.keys().collect();
        notified.sort();
        f.debug_struct("LocalObjectStore")
            .field("root", &self.root)
            .field("notified_buckets", &notified)
            .finish()
    }
}

impl LocalObjectStore {
    /// Opens (creating when needed) a store rooted at `root`, and clears temporary files a
    /// crash left behind more than a day ago.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(io_error("creating the store's root", &root))?;
        let root = root
            .canonicalize()
            .map_err(io_error("resolving the store's root", &root))?;
        remove_stale_temp_files(&root);
        Ok(Self {
            root,
            notifications: RwLock::new(HashMap::new()),
        })
    }

    /// The store's root folder (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Publishes S3's `Object Created` event to `publisher` after every put into `bucket`.
    pub fn with_notifications(self, bucket: &str, publisher: Arc<dyn EventPublisher>) -> Self {
        self.set_notifications(bucket, publisher);
        self
    }

    /// As [`Self::with_notifications`], on a store already shared (the bus may be built after
    /// the store, since handlers on the bus hold the store).
    pub fn set_notifications(&self, bucket: &str, publisher: Arc<dyn EventPublisher>) {
        self.notifications
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(bucket.to_owned(), publisher);
    }

    /// Publishes the `Object Created` event of an object already stored, as its put would
    /// have; for an upload whose process died between storing it and announcing it. Does
    /// nothing for a bucket without notifications.
    pub async fn announce(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let Some(publisher) = self.publisher(bucket) else {
            return Ok(());
        };
        let meta = self.head(bucket, key).await?;
        let event = notify::object_created(&meta, notify::next_sequencer())?;
        publisher.publish(&[event]).await.map_err(|e| {
            StoreError::Unavailable(format!(
                "the Object Created event of s3://{bucket}/{key} was not published: {e}"
            ))
        })
    }

    /// Creates a bucket; creating one that exists succeeds. The name must follow S3's rules.
    pub async fn create_bucket(&self, name: &str) -> Result<(), StoreError> {
        if let Some(reason) = keys::bucket_problem(name) {
            return Err(StoreError::Denied(format!(
                "the bucket name {name:?} is not allowed: {reason}"
            )));
        }
        let bucket = Bucket::new(&self.root, name);
        blocking(move || {
            for dir in [&bucket.objects, &bucket.meta, &bucket.tmp] {
                fs::create_dir_all(dir).map_err(io_error("creating the bucket folder", dir))?;
            }
            Ok(())
        })
        .await
    }

    /// The bucket's folders, when its name could exist (whether it does is checked in the
    /// blocking part of each operation).
    fn bucket(&self, name: &str) -> Result<Bucket, StoreError> {
        match keys::bucket_problem(name) {
            Some(_) => Err(StoreError::NoSuchBucket(name.to_owned())),
            None => Ok(Bucket::new(&self.root, name)),
        }
    }

    /// The file holding an object's bytes, for servers that answer range requests from files
    /// (the web UI's media). Fails with `NotFound` unless the object exists.
    pub async fn object_file(&self, bucket: &str, key: &str) -> Result<PathBuf, StoreError> {
        let bucket = self.locate(bucket, key)?;
        let key = key.to_owned();
        blocking(move || {
            bucket.require()?;
            if !bucket.meta_path(&key).is_file() {
                return Err(bucket.not_found(&key));
            }
            Ok(bucket.object_path(&key))
        })
        .await
    }

    /// The bucket and a checked key, for an operation on one object.
    fn locate(&self, bucket: &str, key: &str) -> Result<Bucket, StoreError> {
        let bucket = self.bucket(bucket)?;
        keys::check_key(key)?;
        Ok(bucket)
    }

    fn publisher(&self, bucket: &str) -> Option<Arc<dyn EventPublisher>> {
        self.notifications
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(bucket)
            .cloned()
    }
}

#[async_trait]
impl ObjectStore for LocalObjectStore {
    async fn get(
        &self,
        bucket: &str,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, StoreError> {
        let bucket = self.locate(bucket, key)?;
        let key = key.to_owned();
        let (file, len) = blocking(move || {
            bucket.require()?;
            let mut file = bucket.open_object(&key)?;
            let path = bucket.object_path(&key);
            let size = file
                .metadata()
                .map_err(io_error("reading the size of", &path))?
                .len();
            let (start, len) = match range {
                None => (0, size),
                Some(range) => {
                    // As S3: a range must start inside the object; one ending past it is cut.
                    if range.start >= range.end || range.start >= size {
                        return Err(StoreError::InvalidRange {
                            bucket: bucket.name,
                            key,
                            start: range.start,
                            end: range.end,
                            size,
                        });
                    }
                    (range.start, range.end.min(size) - range.start)
                }
            };
            file.seek(SeekFrom::Start(start))
                .map_err(io_error("seeking in", &path))?;
            Ok((file, len))
        })
        .await?;
        Ok(Box::pin(tokio::fs::File::from_std(file).take(len)))
    }

    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, StoreError> {
        let bucket = self.locate(bucket, key)?;
        let key = key.to_owned();
        blocking(move || {
            bucket.require()?;
            let mut file = bucket.open_object(&key)?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)
                .map_err(io_error("reading", &bucket.object_path(&key)))?;
            Ok(Bytes::from(bytes))
        })
        .await
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Body,
        options: PutOptions,
    ) -> Result<ObjectMeta, StoreError> {
        let bucket = self.locate(bucket, key)?;
        check_tags(&options.tags)?;
        let user_metadata = normalise_user_metadata(options.user_metadata)?;
        let publisher = self.publisher(&bucket.name);
        let key = key.to_owned();
        let (meta, sequencer) = blocking(move || {
            bucket.require()?;
            let mut object = TempFile::create(&bucket.tmp)?;
            let (size, etag) = object.write_body(body)?;
            let stored = StoredMeta {
                size,
                etag,
                version_id: Uuid::new_v4().simple().to_string(),
                last_modified: Utc::now(),
                content_type: options.content_type,
                user_metadata,
                tags: options.tags,
                checksum: None,
            };
            let mut meta = TempFile::create(&bucket.tmp)?;
            meta.write_json(&stored)?;

            let _lock = bucket.lock()?;
            let object_path = prepare_place(&bucket.objects, &key)?;
            let meta_path = prepare_place(&bucket.meta, &key)?;
            object.persist(&object_path)?;
            meta.persist(&meta_path)?;
            let sequencer = notify::next_sequencer();
            Ok((stored.into_object_meta(bucket.name, key), sequencer))
        })
        .await?;

        if let Some(publisher) = publisher {
            let event = notify::object_created(&meta, sequencer)?;
            publisher.publish(&[event]).await.map_err(|e| {
                StoreError::Unavailable(format!(
                    "s3://{}/{} was stored but its Object Created event was not published: {e}",
                    meta.bucket, meta.key
                ))
            })?;
        }
        Ok(meta)
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectMeta, StoreError> {
        let bucket = self.locate(bucket, key)?;
        let key = key.to_owned();
        blocking(move || {
            bucket.require()?;
            let stored = bucket.existing_meta(&key)?;
            Ok(stored.into_object_meta(bucket.name, key))
        })
        .await
    }

    async fn get_tags(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let bucket = self.locate(bucket, key)?;
        let key = key.to_owned();
        blocking(move || {
            bucket.require()?;
            Ok(bucket.existing_meta(&key)?.tags)
        })
        .await
    }

    async fn put_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        let bucket = self.locate(bucket, key)?;
        check_tags(&tags)?;
        let key = key.to_owned();
        blocking(move || {
            bucket.require()?;
            let _lock = bucket.lock()?;
            let mut stored = bucket.existing_meta(&key)?;
            stored.tags = tags;
            let mut meta = TempFile::create(&bucket.tmp)?;
            meta.write_json(&stored)?;
            meta.persist(&bucket.meta_path(&key))
        })
        .await
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let bucket = self.bucket(bucket)?;
        let prefix = prefix.to_owned();
        blocking(move || {
            bucket.require()?;
            let mut keys = Vec::new();
            collect_keys(&bucket.meta, "", &prefix, &mut keys)?;
            // Byte order of UTF-8, as S3 lists.
            keys.sort_unstable();
            let mut objects = Vec::with_capacity(keys.len());
            for key in keys {
                // A key deleted since the walk is simply not listed.
                if let Some(stored) = bucket.read_meta(&key)? {
                    objects.push(stored.into_object_meta(bucket.name.clone(), key));
                }
            }
            Ok(objects)
        })
        .await
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let bucket = self.locate(bucket, key)?;
        let key = key.to_owned();
        blocking(move || {
            bucket.require()?;
            let _lock = bucket.lock()?;
            // The metadata first: an object exists while its metadata does.
            remove_file_if_present(&bucket.meta_path(&key))?;
            remove_file_if_present(&bucket.object_path(&key))?;
            remove_empty_parents(&bucket.meta, &key);
            remove_empty_parents(&bucket.objects, &key);
            Ok(())
        })
        .await
    }

    /// A `file://` URL of the object's bytes; it does not expire, so `expires` is unused.
    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        _expires: Duration,
    ) -> Result<String, StoreError> {
        let bucket = self.locate(bucket, key)?;
        let key = key.to_owned();
        blocking(move || {
            bucket.require()?;
            Ok(keys::file_url(&bucket.object_path(&key)))
        })
        .await
    }
}

/// The folders of one bucket.
#[derive(Debug, Clone)]
struct Bucket {
    name: String,
    objects: PathBuf,
    meta: PathBuf,
    tmp: PathBuf,
    lock: PathBuf,
}

impl Bucket {
    fn new(root: &Path, name: &str) -> Self {
        let base = root.join(name);
        Self {
            name: name.to_owned(),
            objects: base.join("objects"),
            meta: base.join("meta"),
            tmp: base.join("tmp"),
            lock: base.join("lock"),
        }
    }

    /// Fails with `NoSuchBucket` unless the bucket was created.
    fn require(&self) -> Result<(), StoreError> {
        let complete = [&self.objects, &self.meta, &self.tmp]
            .iter()
            .all(|dir| fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()));
        if complete {
            Ok(())
        } else {
            Err(StoreError::NoSuchBucket(self.name.clone()))
        }
    }

    fn object_path(&self, key: &str) -> PathBuf {
        self.objects.join(key)
    }

    fn meta_path(&self, key: &str) -> PathBuf {
        self.meta.join(key)
    }

    fn not_found(&self, key: &str) -> StoreError {
        StoreError::NotFound {
            bucket: self.name.clone(),
            key: key.to_owned(),
        }
    }

    /// Takes the bucket's lock (across threads and processes) until the file is dropped.
    fn lock(&self) -> Result<File, StoreError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .map_err(io_error("opening the bucket lock", &self.lock))?;
        file.lock().map_err(io_error("locking", &self.lock))?;
        Ok(file)
    }

    /// Opens the object's bytes for reading.
    fn open_object(&self, key: &str) -> Result<File, StoreError> {
        let path = self.object_path(key);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if is_absent(&e) => return Err(self.not_found(key)),
            Err(e) => return Err(io_error("opening", &path)(e)),
        };
        // A folder where an object would be holds keys below this one, not this one.
        let is_file = file
            .metadata()
            .map_err(io_error("reading the metadata of", &path))?
            .is_file();
        if is_file {
            Ok(file)
        } else {
            Err(self.not_found(key))
        }
    }

    /// The object's metadata, or `None` when it does not exist.
    fn read_meta(&self, key: &str) -> Result<Option<StoredMeta>, StoreError> {
        let path = self.meta_path(key);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if is_absent(&e) || e.kind() == io::ErrorKind::IsADirectory => return Ok(None),
            Err(e) => return Err(io_error("reading", &path)(e)),
        };
        serde_json::from_slice(&text).map(Some).map_err(|e| {
            io_error("decoding the metadata in", &path)(io::Error::new(
                io::ErrorKind::InvalidData,
                e,
            ))
        })
    }

    fn existing_meta(&self, key: &str) -> Result<StoredMeta, StoreError> {
        self.read_meta(key)?.ok_or_else(|| self.not_found(key))
    }
}

/// What the metadata tree holds for each object.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredMeta {
    size: u64,
    etag: String,
    version_id: String,
    last_modified: DateTime<Utc>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    user_metadata: BTreeMap<String, String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    /// The local store computes no CRC or SHA checksum (the ETag is the MD5); kept for
    /// objects that arrive with one.
    #[serde(default)]
    checksum: Option<StoredChecksum>,
}

impl StoredMeta {
    fn into_object_meta(self, bucket: String, key: String) -> ObjectMeta {
        ObjectMeta {
            bucket,
            key,
            size: self.size,
            etag: self.etag,
            version_id: Some(self.version_id),
            last_modified: self.last_modified,
            content_type: self.content_type,
            user_metadata: self.user_metadata,
            checksum: self.checksum,
        }
    }
}

/// A file being written in the bucket's `tmp/` folder: removed when dropped unless it was
/// renamed into place.
struct TempFile {
    path: PathBuf,
    file: File,
    persisted: bool,
}

impl TempFile {
    fn create(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(format!("{}.part", Uuid::new_v4().simple()));
        let file = File::create_new(&path).map_err(io_error("creating", &path))?;
        Ok(Self {
            path,
            file,
            persisted: false,
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        self.file
            .write_all(bytes)
            .map_err(io_error("writing", &self.path))
    }

    /// Writes the body, streaming a file in chunks; returns its size and MD5 (lower-case hex).
    fn write_body(&mut self, body: Body) -> Result<(u64, String), StoreError> {
        let mut md5 = Md5::new();
        let size = match body {
            Body::Bytes(bytes) => {
                md5.update(&bytes);
                self.write_all(&bytes)?;
                bytes.len() as u64
            }
            Body::File(source) => {
                let mut input =
                    File::open(&source).map_err(io_error("opening the file to put", &source))?;
                let mut chunk = vec![0; COPY_CHUNK];
                let mut size = 0u64;
                loop {
                    let read = match input.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(read) => read,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(io_error("reading the file to put", &source)(e)),
                    };
                    let bytes = &chunk[..read];
                    md5.update(bytes);
                    self.write_all(bytes)?;
                    size += read as u64;
                }
                size
            }
        };
        Ok((size, to_hex(&md5.finalize())))
    }

    fn write_json(&mut self, meta: &StoredMeta) -> Result<(), StoreError> {
        let json = serde_json::to_vec_pretty(meta)
            .map_err(|e| io_error("encoding the metadata for", &self.path)(io::Error::other(e)))?;
        self.write_all(&json)
    }

    /// Syncs the file and renames it to `dest`, then syncs `dest`'s folder.
    fn persist(mut self, dest: &Path) -> Result<(), StoreError> {
        self.file
            .sync_all()
            .map_err(io_error("syncing", &self.path))?;
        fs::rename(&self.path, dest).map_err(io_error("moving a finished write to", dest))?;
        self.persisted = true;
        if let Some(dir) = dest.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            // Best effort: the file is in tmp/, invisible to readers; open() clears leftovers.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Makes the folders above `key` in `tree` and returns where the key's file goes. Refuses,
/// with `InvalidKey`, a key that lies below an existing key's file or whose place is a folder
/// of other keys: S3 holds `a` and `a/b` side by side, a filesystem cannot. Called with the
/// bucket locked.
fn prepare_place(tree: &Path, key: &str) -> Result<PathBuf, StoreError> {
    let conflict = |reason: String| StoreError::InvalidKey {
        key: key.to_owned(),
        reason,
    };
    let (parents, leaf) = key.rsplit_once('/').unwrap_or(("", key));
    let mut dir = tree.to_path_buf();
    let mut above = String::new();
    for segment in parents.split('/').filter(|s| !s.is_empty()) {
        dir.push(segment);
        if !above.is_empty() {
            above.push('/');
        }
        above.push_str(segment);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => {
                return Err(StoreError::Denied(format!(
                    "{} is a symbolic link; the store does not follow links",
                    dir.display()
                )));
            }
            Ok(_) => {
                return Err(conflict(format!(
                    "the object {above:?} exists, and the local store cannot hold a key below another key"
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&dir).map_err(io_error("creating the folder", &dir))?;
            }
            Err(e) => return Err(io_error("inspecting", &dir)(e)),
        }
    }
    let place = dir.join(leaf);
    if fs::symlink_metadata(&place).is_ok_and(|m| m.is_dir()) && fs::remove_dir(&place).is_err() {
        return Err(conflict(
            "keys below it exist, and the local store cannot hold a key that is also a folder of keys".into(),
        ));
    }
    Ok(place)
}

/// Every key at or below `dir` (whose keys start with `above`) that starts with `prefix`.
/// Descends only into folders that can hold such keys.
fn collect_keys(
    dir: &Path,
    above: &str,
    prefix: &str,
    keys: &mut Vec<String>,
) -> Result<(), StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        // A folder removed by a concurrent delete holds nothing.
        Err(e) if is_absent(&e) => return Ok(()),
        Err(e) => return Err(io_error("listing", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_error("listing", dir))?;
        // Only this store writes here, and only UTF-8 names; anything else is not an object.
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let file_type = match entry.file_type() {
            Ok(file_type) => file_type,
            Err(e) if is_absent(&e) => continue,
            Err(e) => return Err(io_error("inspecting", &entry.path())(e)),
        };
        let key = format!("{above}{name}");
        if file_type.is_dir() {
            let folder = key + "/";
            if folder.starts_with(prefix) || prefix.starts_with(&folder) {
                collect_keys(&entry.path(), &folder, prefix, keys)?;
            }
        } else if file_type.is_file() && key.starts_with(prefix) {
            keys.push(key);
        }
    }
    Ok(())
}

fn remove_file_if_present(path: &Path) -> Result<(), StoreError> {
    match fs::symlink_metadata(path) {
        Ok(m) if !m.is_dir() => fs::remove_file(path).map_err(io_error("deleting", path)),
        // A folder here holds other keys; a missing file is already deleted.
        Ok(_) => Ok(()),
        Err(e) if is_absent(&e) => Ok(()),
        Err(e) => Err(io_error("inspecting", path)(e)),
    }
}

/// Removes the folders above `key` in `tree` that are left empty, deepest first.
fn remove_empty_parents(tree: &Path, key: &str) {
    let mut dir = tree.join(key);
    while dir.pop() && dir.starts_with(tree) && dir != tree {
        // Fails (and stops) at the first folder still holding something.
        if fs::remove_dir(&dir).is_err() {
            break;
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("syncing the folder", dir))
}

/// Removes temporary files older than [`STALE_TEMP_AGE`] from every bucket: a crash left them.
fn remove_stale_temp_files(root: &Path) {
    let Ok(buckets) = fs::read_dir(root) else {
        return;
    };
    let now = SystemTime::now();
    for bucket in buckets.flatten() {
        let Ok(temps) = fs::read_dir(bucket.path().join("tmp")) else {
            continue;
        };
        for temp in temps.flatten() {
            let stale = temp
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| {
                    now.duration_since(modified)
                        .is_ok_and(|age| age > STALE_TEMP_AGE)
                });
            if stale {
                let removed = fs::remove_file(temp.path());
                tracing::debug!(path = %temp.path().display(), ?removed, "removed a stale temporary file");
            }
        }
    }
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), StoreError> {
    if tags.len() > MAX_TAGS {
        return Err(StoreError::Denied(format!(
            "{} tags given; an object takes at most {MAX_TAGS}",
            tags.len()
        )));
    }
    for (key, value) in tags {
        let key_chars = key.chars().count();
        if key_chars == 0 || key_chars > MAX_TAG_KEY_CHARS {
            return Err(StoreError::Denied(format!(
                "the tag key {key:?} is {key_chars} characters; tag keys are 1 to {MAX_TAG_KEY_CHARS}"
            )));
        }
        if value.chars().count() > MAX_TAG_VALUE_CHARS {
            return Err(StoreError::Denied(format!(
                "the value of tag {key:?} is over {MAX_TAG_VALUE_CHARS} characters"
            )));
        }
    }
    Ok(())
}

/// Lower-cases metadata keys (as S3 does) and holds the total to S3's 2 KB.
fn normalise_user_metadata(
    metadata: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, StoreError> {
    let total: usize = metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > MAX_USER_METADATA_BYTES {
        return Err(StoreError::Denied(format!(
            "user metadata is {total} bytes; S3 takes at most {MAX_USER_METADATA_BYTES}"
        )));
    }
    Ok(metadata
        .into_iter()
        .map(|(k, v)| (k.to_lowercase(), v))
        .collect())
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether an error means the path (or a folder above it) is not there.
fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn io_error<'a>(doing: &'a str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        context: format!("{doing} {}", path.display()),
        source,
    }
}

/// Runs blocking filesystem work off the async threads.
async fn blocking<T, F>(work: F) -> Result<T, StoreError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Unavailable(format!("a filesystem task did not finish: {e}")))?
}
