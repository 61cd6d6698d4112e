use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use mediasift_schemas::StoredChecksum;
use tokio::io::AsyncRead;

use super::Retryable;

/// A streamed object body.
pub type ByteStream = Pin<Box<dyn AsyncRead + Send>>;

/// What head (and list) tell of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    /// Quoted-less ETag: the MD5 of a single-part upload, `md5-N` of a multipart one.
    pub etag: String,
    pub version_id: Option<String>,
    pub last_modified: DateTime<Utc>,
    pub content_type: Option<String>,
    /// `x-amz-meta-*` user metadata, keys lower-case without the prefix.
    pub user_metadata: BTreeMap<String, String>,
    /// A full-object checksum the store holds, when it has one.
    pub checksum: Option<StoredChecksum>,
}

/// The bytes to put.
#[derive(Debug, Clone)]
pub enum Body {
    Bytes(Bytes),
    /// A local file, streamed (multipart on S3 when large) rather than read into memory.
    File(PathBuf),
}

#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    pub content_type: Option<String>,
    pub user_metadata: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// An S3-like object store: buckets of keyed objects with metadata and tags.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Streams the object, or the byte range of it (end exclusive).
    async fn get(
        &self,
        bucket: &str,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, StoreError>;
    /// Reads a whole (small) object into memory.
    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, StoreError>;
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Body,
        options: PutOptions,
    ) -> Result<ObjectMeta, StoreError>;
    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectMeta, StoreError>;
    async fn get_tags(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<BTreeMap<String, String>, StoreError>;
    /// Replaces the object's tags.
    async fn put_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), StoreError>;
    /// Every object whose key starts with `prefix`, in key order.
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError>;
    /// Deleting a missing object succeeds, as on S3.
    async fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError>;
    /// A URL that GETs the object for `expires` without credentials (`file://` locally).
    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<String, StoreError>;

    /// Streams the whole object into the local file `to` (created or truncated), for tools
    /// that read files; returns the bytes written.
    async fn download(&self, bucket: &str, key: &str, to: &Path) -> Result<u64, StoreError> {
        use tokio::io::AsyncWriteExt;
        let mut reader = self.get(bucket, key, None).await?;
        let io = |source| StoreError::Io {
            context: format!("copying s3://{bucket}/{key} to {}", to.display()),
            source,
        };
        let mut file = tokio::fs::File::create(to).await.map_err(io)?;
        let copied = tokio::io::copy(&mut reader, &mut file).await.map_err(io)?;
        file.flush().await.map_err(io)?;
        Ok(copied)
    }
}

/// `s3://bucket/key` as (bucket, key); `None` for anything else (no bucket, no key).
pub fn split_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let (bucket, key) = uri.strip_prefix("s3://")?.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("s3://{bucket}/{key} does not exist")]
    NotFound { bucket: String, key: String },
    #[error("bucket {0} does not exist")]
    NoSuchBucket(String),
    #[error("the key {key:?} is not allowed: {reason}")]
    InvalidKey { key: String, reason: String },
    #[error("the requested range {start}-{end} is outside s3://{bucket}/{key} ({size} bytes)")]
    InvalidRange {
        bucket: String,
        key: String,
        start: u64,
        end: u64,
        size: u64,
    },
    /// Throttling, 5xx, timeouts, network: retry later.
    #[error("the object store is unavailable: {0}")]
    Unavailable(String),
    #[error("the object store refused: {0}")]
    Denied(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Retryable for StoreError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::split_s3_uri;

    #[test]
    fn s3_uris_split_into_bucket_and_key() {
        assert_eq!(
            split_s3_uri("s3://derived/a b/c.mp4"),
            Some(("derived", "a b/c.mp4"))
        );
        for bad in [
            "s3://derived/",
            "s3:///key",
            "s3://derived",
            "file:///x",
            "derived/x",
        ] {
            assert_eq!(split_s3_uri(bad), None, "{bad}");
        }
    }
}
