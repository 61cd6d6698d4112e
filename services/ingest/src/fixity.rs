//! Fixity: the object's MD5 (and optionally SHA-256), streamed with ranged reads in
//! time-budgeted slices, compared with the checksum the uploader supplied, and tagged on the
//! object.

use std::collections::BTreeMap;
use std::time::Duration;

use mediasift_kit::ports::{ObjectMeta, ObjectStore, StoreError};
use mediasift_media::hash::{
    Digests, HashError, HashOptions, HashState, Progress, ResumableHasher, hash_stream,
};
use mediasift_schemas::{Fixity, FixityReference, FixityStatus};

/// The user metadata holding the uploader's MD5 (`x-amz-meta-md5`, hex or base64).
pub const MD5_METADATA: &str = "md5";
/// The object tag holding an MD5 computed earlier (by mediasift or the uploader's tooling).
pub const MD5_TAG: &str = "computed-md5";
/// The object tag recording the comparison's outcome.
pub const STATUS_TAG: &str = "fixity-status";

#[derive(Debug, thiserror::Error)]
pub enum FixityError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("hashing s3://{bucket}/{key} failed: {source}")]
    Hash {
        bucket: String,
        key: String,
        #[source]
        source: HashError,
    },
}

/// Hashes the object from where `resume` left off (or from the start), for at most `budget`.
pub async fn hash_slice(
    objects: &dyn ObjectStore,
    meta: &ObjectMeta,
    resume: Option<&HashState>,
    options: HashOptions,
    budget: Option<Duration>,
) -> Result<Progress, FixityError> {
    let hash_error = |source| FixityError::Hash {
        bucket: meta.bucket.clone(),
        key: meta.key.clone(),
        source,
    };
    let hasher = match resume {
        Some(state) => ResumableHasher::resume(state).map_err(hash_error)?,
        None => ResumableHasher::new(options),
    };
    let offset = hasher.bytes_hashed();
    if offset >= meta.size {
        return Ok(Progress::Done(hasher.finalize()));
    }
    let range = (offset > 0).then_some(offset..meta.size);
    let reader = objects.get(&meta.bucket, &meta.key, range).await?;
    hash_stream(reader, hasher, budget)
        .await
        .map_err(hash_error)
}

/// The reference checksum to compare with, in the order the issue fixes: the uploader's
/// `x-amz-meta-md5`, a `computed-md5` tag, then a single-part ETag (which is the MD5).
pub fn reference(
    meta: &ObjectMeta,
    tags: &BTreeMap<String, String>,
) -> Option<(FixityReference, String)> {
    if let Some(md5) = meta
        .user_metadata
        .get(MD5_METADATA)
        .and_then(|v| md5_hex(v))
    {
        return Some((FixityReference::Metadata, md5));
    }
    if let Some(md5) = tags.get(MD5_TAG).and_then(|v| md5_hex(v)) {
        return Some((FixityReference::Tag, md5));
    }
    let etag = meta.etag.trim_matches('"');
    if etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some((FixityReference::Etag, etag.to_ascii_lowercase()));
    }
    None
}

/// The fixity record of computed `digests` against `reference`.
pub fn verdict(
    meta: &ObjectMeta,
    digests: &Digests,
    reference: Option<(FixityReference, String)>,
) -> Fixity {
    let (status, compared_with, expected) = match reference {
        Some((from, expected)) => {
            let status = if expected == digests.md5 {
                FixityStatus::Matched
            } else {
                FixityStatus::NotMatched
            };
            (status, Some(from), Some(expected))
        }
        None => (FixityStatus::Skipped, None, None),
    };
    Fixity {
        md5: digests.md5.clone(),
        sha256: digests.sha256.clone(),
        status,
        compared_with,
        expected,
        s3_checksum: meta.checksum.clone(),
    }
}

/// Tags the object with the computed MD5 and the outcome, keeping its other tags.
pub async fn tag(
    objects: &dyn ObjectStore,
    meta: &ObjectMeta,
    existing: &BTreeMap<String, String>,
    fixity: &Fixity,
) -> Result<(), StoreError> {
    let mut tags = existing.clone();
    tags.insert(MD5_TAG.into(), fixity.md5.clone());
    tags.insert(
        STATUS_TAG.into(),
        match fixity.status {
            FixityStatus::Matched => "MATCHED",
            FixityStatus::NotMatched => "NOTMATCHED",
            FixityStatus::Skipped => "SKIPPED",
        }
        .into(),
    );
    if &tags == existing {
        return Ok(());
    }
    objects.put_tags(&meta.bucket, &meta.key, tags).await
}

/// An MD5 written as 32 hex digits or as base64 of its 16 bytes (S3's Content-MD5 form), as
/// lower-case hex.
pub fn md5_hex(value: &str) -> Option<String> {
    let value = value.trim().trim_matches('"');
    if value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(value.to_ascii_lowercase());
    }
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    (bytes.len() == 16).then(|| bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_in_hex_or_base64() {
        let hex = "9e107d9d372bb6826bd81d3542a419d6";
        assert_eq!(md5_hex(hex).as_deref(), Some(hex));
        assert_eq!(md5_hex(&hex.to_uppercase()).as_deref(), Some(hex));
        // `echo -n 'The quick brown fox jumps over the lazy dog' | openssl md5 -binary | base64`
        assert_eq!(md5_hex("nhB9nTcrtoJr2B01QqQZ1g==").as_deref(), Some(hex));
        assert_eq!(md5_hex("not an md5"), None);
        assert_eq!(md5_hex("abcd"), None);
    }
}
