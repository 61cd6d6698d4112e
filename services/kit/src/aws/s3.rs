//! [`ObjectStore`] on Amazon S3.
//!
//! Bodies stream both ways: a GET hands back the response body as an `AsyncRead`, and a put of
//! a [`Body::File`] reads the file as it sends it; a file larger than the multipart threshold
//! goes up as a multipart upload whose parts are read from the file at their offsets (and the
//! upload is aborted if any part fails, so no orphaned parts are left to pay for).

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream as SdkByteStream, Length};
use aws_sdk_s3::types::{
    ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart, Tag, Tagging,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use mediasift_schemas::StoredChecksum;

use super::errors::Fault;
use crate::ports::{Body, ByteStream, ObjectMeta, ObjectStore, PutOptions, StoreError};

const MIB: u64 = 1024 * 1024;

/// S3's limits on multipart uploads.
const MIN_PART_SIZE: u64 = 5 * MIB;
const MAX_PARTS: u64 = 10_000;
/// S3's limit on key length, in bytes of UTF-8.
const MAX_KEY_BYTES: usize = 1024;
/// S3's limit on presigned URL lifetime.
const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 3600);

/// An [`ObjectStore`] on S3.
#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: Client,
    multipart_threshold: u64,
    part_size: u64,
    part_concurrency: usize,
}

impl S3ObjectStore {
    /// Files larger than this are uploaded in parts.
    pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 64 * MIB;
    /// The size of each part but the last (grown for files over 10,000 parts).
    pub const DEFAULT_PART_SIZE: u64 = 16 * MIB;
    /// Parts in flight at once for one upload.
    pub const DEFAULT_PART_CONCURRENCY: usize = 4;

    /// A store on the S3 client of `sdk`; path-style addressing when `sdk` overrides the
    /// endpoint (an emulator has no per-bucket host names).
    pub fn new(sdk: &SdkConfig) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        Self::from_client(Client::from_conf(config))
    }

    /// A store on a client built elsewhere (tests, custom interceptors).
    pub fn from_client(client: Client) -> Self {
        Self {
            client,
            multipart_threshold: Self::DEFAULT_MULTIPART_THRESHOLD,
            part_size: Self::DEFAULT_PART_SIZE,
            part_concurrency: Self::DEFAULT_PART_CONCURRENCY,
        }
    }

    /// Uploads files larger than `threshold` bytes in parts of `part_size` bytes (at least
    /// S3's minimum of 5 MiB).
    pub fn with_multipart(mut self, threshold: u64, part_size: u64) -> Self {
        self.multipart_threshold = threshold;
        self.part_size = part_size.max(MIN_PART_SIZE);
        self
    }

    /// Uploads at most `concurrency` parts of one file at once (at least one).
    pub fn with_part_concurrency(mut self, concurrency: usize) -> Self {
        self.part_concurrency = concurrency.max(1);
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Part size for a file of `size` bytes: the configured size, grown to stay within
    /// S3's 10,000 parts.
    fn part_size_for(&self, size: u64) -> u64 {
        let needed = size.div_ceil(MAX_PARTS);
        self.part_size.max(needed.div_ceil(MIB) * MIB)
    }

    async fn put_single(
        &self,
        bucket: &str,
        key: &str,
        body: SdkByteStream,
        options: &PutOptions,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body)
            .set_content_type(options.content_type.clone())
            .set_metadata(metadata(options))
            .set_tagging(tagging_query(&options.tags))
            .send()
            .await
            .map_err(|e| store_error(Fault::of("PutObject", &e), bucket, key))?;
        Ok(())
    }

    async fn put_multipart(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        size: u64,
        options: &PutOptions,
    ) -> Result<(), StoreError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .set_content_type(options.content_type.clone())
            .set_metadata(metadata(options))
            .set_tagging(tagging_query(&options.tags))
            .send()
            .await
            .map_err(|e| store_error(Fault::of("CreateMultipartUpload", &e), bucket, key))?;
        let Some(upload_id) = created.upload_id() else {
            return Err(StoreError::Unavailable(format!(
                "CreateMultipartUpload for s3://{bucket}/{key} returned no upload id"
            )));
        };

        match self.upload_parts(bucket, key, upload_id, path, size).await {
            Ok(parts) => {
                let completed = self
                    .client
                    .complete_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await;
                if let Err(e) = completed {
                    let error = store_error(Fault::of("CompleteMultipartUpload", &e), bucket, key);
                    self.abort(bucket, key, upload_id).await;
                    return Err(error);
                }
                Ok(())
            }
            Err(error) => {
                self.abort(bucket, key, upload_id).await;
                Err(error)
            }
        }
    }

    /// Uploads the parts of `path`, a few at a time, each streamed from its offset in the
    /// file; returns them in part order for CompleteMultipartUpload.
    async fn upload_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        path: &Path,
        size: u64,
    ) -> Result<Vec<CompletedPart>, StoreError> {
        let part_size = self.part_size_for(size);
        let parts = (0..size.div_ceil(part_size)).map(|index| {
            let offset = index * part_size;
            ((index + 1) as i32, offset, part_size.min(size - offset))
        });
        futures::stream::iter(parts)
            .map(|(number, offset, length)| async move {
                let body = SdkByteStream::read_from()
                    .path(path)
                    .offset(offset)
                    .length(Length::Exact(length))
                    .buffer_size(64 * 1024)
                    .build()
                    .await
                    .map_err(|e| StoreError::Io {
                        context: format!("reading part {number} of {}", path.display()),
                        source: e.into(),
                    })?;
                let uploaded = self
                    .client
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .part_number(number)
                    .content_length(length as i64)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| store_error(Fault::of("UploadPart", &e), bucket, key))?;
                Ok::<_, StoreError>(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(uploaded.e_tag().map(str::to_owned))
                        .build(),
                )
            })
            .buffered(self.part_concurrency)
            .try_collect()
            .await
    }

    /// Aborts a failed upload so its parts are not kept (and billed). Best effort: a bucket
    /// lifecycle rule for incomplete uploads is the backstop.
    async fn abort(&self, bucket: &str, key: &str, upload_id: &str) {
        let aborted = self
            .client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await;
        if let Err(e) = aborted {
            let fault = Fault::of("AbortMultipartUpload", &e);
            tracing::warn!(bucket, key, upload_id, error = %fault.message, "could not abort a failed multipart upload");
        }
    }

    /// The size of the object, for the message of a range error.
    async fn size_of(&self, bucket: &str, key: &str) -> Result<u64, StoreError> {
        Ok(self.head(bucket, key).await?.size)
    }
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn get(
        &self,
        bucket: &str,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, StoreError> {
        check_key(key)?;
        let mut request = self.client.get_object().bucket(bucket).key(key);
        if let Some(range) = &range {
            if range.start >= range.end {
                // HTTP cannot ask for nothing; answer here, after checking the range fits.
                let size = self.size_of(bucket, key).await?;
                if range.start > range.end || range.start > size {
                    return Err(invalid_range(bucket, key, range, size));
                }
                return Ok(Box::pin(tokio::io::empty()));
            }
            request = request.range(format!("bytes={}-{}", range.start, range.end - 1));
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                let fault = Fault::of("GetObject", &e);
                if let (Some(range), true) = (&range, fault.code_is("InvalidRange")) {
                    let size = self.size_of(bucket, key).await?;
                    return Err(invalid_range(bucket, key, range, size));
                }
                return Err(store_error(fault, bucket, key));
            }
        };
        if let Some(range) = &range {
            // S3 serves a range that runs past the end truncated; the port calls that invalid.
            let total = response.content_range().and_then(content_range_total);
            if let Some(size) = total.filter(|size| range.end > *size) {
                return Err(invalid_range(bucket, key, range, size));
            }
        }
        Ok(Box::pin(response.body.into_async_read()))
    }

    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, StoreError> {
        check_key(key)?;
        let response = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| store_error(Fault::of("GetObject", &e), bucket, key))?;
        let body =
            response.body.collect().await.map_err(|e| {
                StoreError::Unavailable(format!("reading s3://{bucket}/{key}: {e}"))
            })?;
        Ok(body.into_bytes())
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Body,
        options: PutOptions,
    ) -> Result<ObjectMeta, StoreError> {
        check_key(key)?;
        match body {
            Body::Bytes(bytes) => {
                self.put_single(bucket, key, SdkByteStream::from(bytes), &options)
                    .await?
            }
            Body::File(path) => {
                let io_error = |source| StoreError::Io {
                    context: format!("reading {}", path.display()),
                    source,
                };
                let size = tokio::fs::metadata(&path).await.map_err(io_error)?.len();
                if size > self.multipart_threshold {
                    self.put_multipart(bucket, key, &path, size, &options)
                        .await?;
                } else {
                    let stream = SdkByteStream::from_path(&path)
                        .await
                        .map_err(|e| io_error(e.into()))?;
                    self.put_single(bucket, key, stream, &options).await?;
                }
            }
        }
        // What S3 now holds (last modified, checksum), as head reports it.
        self.head(bucket, key).await
    }

    async fn head(&self, bucket: &str, key: &str) -> Result<ObjectMeta, StoreError> {
        check_key(key)?;
        let output = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| store_error(Fault::of("HeadObject", &e), bucket, key))?;
        Ok(meta_of_head(bucket, key, &output))
    }

    async fn get_tags(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        check_key(key)?;
        let output = self
            .client
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| store_error(Fault::of("GetObjectTagging", &e), bucket, key))?;
        Ok(output
            .tag_set()
            .iter()
            .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
            .collect())
    }

    async fn put_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), StoreError> {
        check_key(key)?;
        let tag_set = tags
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Denied(format!("invalid tag: {e}")))?;
        let tagging = Tagging::builder()
            .set_tag_set(Some(tag_set))
            .build()
            .map_err(|e| StoreError::Denied(format!("invalid tags: {e}")))?;
        self.client
            .put_object_tagging()
            .bucket(bucket)
            .key(key)
            .tagging(tagging)
            .send()
            .await
            .map_err(|e| store_error(Fault::of("PutObjectTagging", &e), bucket, key))?;
        Ok(())
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| store_error(Fault::of("ListObjectsV2", &e), bucket, prefix))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                objects.push(ObjectMeta {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                    size: object
                        .size()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0),
                    etag: unquote(object.e_tag()),
                    version_id: None,
                    last_modified: object
                        .last_modified()
                        .map_or(DateTime::UNIX_EPOCH, to_chrono),
                    // A listing carries neither; head the object for them.
                    content_type: None,
                    user_metadata: BTreeMap::new(),
                    checksum: None,
                });
            }
        }
        // S3 lists in UTF-8 byte order already; sorting keeps the promise for any S3-alike.
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| store_error(Fault::of("DeleteObject", &e), bucket, key))?;
        Ok(())
    }

    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<String, StoreError> {
        check_key(key)?;
        if expires > MAX_PRESIGN {
            return Err(StoreError::Denied(format!(
                "a presigned URL lasts at most 7 days; {}s asked for s3://{bucket}/{key}",
                expires.as_secs()
            )));
        }
        let config = PresigningConfig::expires_in(expires)
            .map_err(|e| StoreError::Denied(format!("presigning s3://{bucket}/{key}: {e}")))?;
        let presigned = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| store_error(Fault::of("presign GetObject", &e), bucket, key))?;
        Ok(presigned.uri().to_owned())
    }
}

/// Maps a failed call on `s3://bucket/key` to the port's error.
fn store_error(fault: Fault, bucket: &str, key: &str) -> StoreError {
    if fault.transient {
        return StoreError::Unavailable(fault.message);
    }
    match fault.code.as_deref() {
        Some("NoSuchBucket") => StoreError::NoSuchBucket(bucket.to_owned()),
        Some("NoSuchKey" | "NotFound") => not_found(bucket, key),
        // HEAD answers 404 without a body, so without a code.
        None if fault.status == Some(404) => not_found(bucket, key),
        Some("KeyTooLongError") => StoreError::InvalidKey {
            key: key.to_owned(),
            reason: fault.message,
        },
        _ => StoreError::Denied(fault.message),
    }
}

fn not_found(bucket: &str, key: &str) -> StoreError {
    StoreError::NotFound {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    }
}

fn invalid_range(bucket: &str, key: &str, range: &Range<u64>, size: u64) -> StoreError {
    StoreError::InvalidRange {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        start: range.start,
        end: range.end,
        size,
    }
}

/// S3's own rules for keys: 1 to 1024 bytes of UTF-8.
fn check_key(key: &str) -> Result<(), StoreError> {
    let reason = if key.is_empty() {
        "an S3 key cannot be empty"
    } else if key.len() > MAX_KEY_BYTES {
        "an S3 key is at most 1024 bytes of UTF-8"
    } else {
        return Ok(());
    };
    Err(StoreError::InvalidKey {
        key: key.to_owned(),
        reason: reason.to_owned(),
    })
}

/// The object's full size from `Content-Range: bytes 0-9/1234`.
fn content_range_total(content_range: &str) -> Option<u64> {
    content_range.rsplit_once('/')?.1.trim().parse().ok()
}

fn metadata(options: &PutOptions) -> Option<HashMap<String, String>> {
    (!options.user_metadata.is_empty()).then(|| {
        options
            .user_metadata
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect()
    })
}

/// Tags as the `x-amz-tagging` header takes them: a URL query string.
fn tagging_query(tags: &BTreeMap<String, String>) -> Option<String> {
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn unquote(etag: Option<&str>) -> String {
    etag.unwrap_or_default().trim_matches('"').to_owned()
}

fn to_chrono(time: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos()).unwrap_or(DateTime::UNIX_EPOCH)
}

fn meta_of_head(bucket: &str, key: &str, output: &HeadObjectOutput) -> ObjectMeta {
    ObjectMeta {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: output
            .content_length()
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0),
        etag: unquote(output.e_tag()),
        version_id: output.version_id().map(str::to_owned),
        last_modified: output
            .last_modified()
            .map_or(DateTime::UNIX_EPOCH, to_chrono),
        content_type: output.content_type().map(str::to_owned),
        user_metadata: output
            .metadata()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        checksum: full_object_checksum(output),
    }
}

/// The full-object checksum S3 holds, if any. A composite checksum of a multipart upload (a
/// checksum of the parts' checksums, `value-N`) does not describe the bytes, so it is left out.
fn full_object_checksum(output: &HeadObjectOutput) -> Option<StoredChecksum> {
    if matches!(output.checksum_type(), Some(ChecksumType::Composite)) {
        return None;
    }
    let candidates = [
        ("CRC64NVME", output.checksum_crc64_nvme()),
        ("CRC32C", output.checksum_crc32_c()),
        ("CRC32", output.checksum_crc32()),
        ("SHA256", output.checksum_sha256()),
        ("SHA1", output.checksum_sha1()),
    ];
    candidates
        .into_iter()
        .find_map(|(algorithm, value)| value.map(|value| (algorithm, value)))
        .filter(|(_, value)| !value.contains('-'))
        .map(|(algorithm, value)| StoredChecksum {
            algorithm: algorithm.to_owned(),
            value: value.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_gives_the_object_size() {
        assert_eq!(content_range_total("bytes 0-9/1234"), Some(1234));
        assert_eq!(content_range_total("bytes 0-9/*"), None);
        assert_eq!(content_range_total("nonsense"), None);
    }

    #[test]
    fn tags_are_a_query_string() {
        let tags = BTreeMap::from([
            ("a b".to_owned(), "x/y=z".to_owned()),
            ("k".to_owned(), "ü".to_owned()),
        ]);
        assert_eq!(
            tagging_query(&tags).as_deref(),
            Some("a%20b=x%2Fy%3Dz&k=%C3%BC")
        );
        assert_eq!(tagging_query(&BTreeMap::new()), None);
    }

    #[test]
    fn keys_follow_s3_rules() {
        assert!(check_key("a/b c/ü.mp4").is_ok());
        assert!(matches!(check_key(""), Err(StoreError::InvalidKey { .. })));
        assert!(matches!(
            check_key(&"k".repeat(1025)),
            Err(StoreError::InvalidKey { .. })
        ));
    }

    #[test]
    fn part_size_grows_to_fit_ten_thousand_parts() {
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let store = S3ObjectStore::new(&sdk);
        assert_eq!(
            store.part_size_for(100 * MIB),
            S3ObjectStore::DEFAULT_PART_SIZE
        );
        let huge = 5 * 1024 * 1024 * MIB; // 5 TiB, S3's largest object
        let part = store.part_size_for(huge);
        assert!(huge.div_ceil(part) <= MAX_PARTS);
        assert_eq!(part % MIB, 0);
    }

    #[test]
    fn composite_checksums_are_not_full_object_checksums() {
        let full = HeadObjectOutput::builder()
            .checksum_crc64_nvme("vEKfYQhu4uo=")
            .checksum_type(ChecksumType::FullObject)
            .build();
        assert_eq!(
            full_object_checksum(&full),
            Some(StoredChecksum {
                algorithm: "CRC64NVME".into(),
                value: "vEKfYQhu4uo=".into()
            })
        );
        let composite = HeadObjectOutput::builder()
            .checksum_crc32("AAAAAA==-3")
            .checksum_type(ChecksumType::Composite)
            .build();
        assert_eq!(full_object_checksum(&composite), None);
        let untyped_composite = HeadObjectOutput::builder()
            .checksum_crc32("AAAAAA==-3")
            .build();
        assert_eq!(full_object_checksum(&untyped_composite), None);
    }
}
