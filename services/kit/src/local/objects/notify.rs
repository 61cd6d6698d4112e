//! S3's `Object Created` EventBridge notification, as the local store sends it.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use mediasift_schemas::{
    Envelope, ObjectCreated, RawEvent, S3Bucket, S3Object, form_url_encode, sources,
};
use rand::Rng;

use crate::ports::{ObjectMeta, StoreError};

/// The last sequencer handed out in this process.
static LAST_SEQUENCER: AtomicU64 = AtomicU64::new(0);

/// A sequencer as S3 writes it (18 upper-case hex digits) that is greater than every one
/// handed out before in this process: the clock in nanoseconds, or one more than the last.
pub(super) fn next_sequencer() -> String {
    let now = Utc::now()
        .timestamp_nanos_opt()
        .and_then(|nanos| u64::try_from(nanos).ok())
        .unwrap_or(0);
    let step = |last: u64| Some(now.max(last.saturating_add(1)));
    let last = match LAST_SEQUENCER.fetch_update(Ordering::SeqCst, Ordering::SeqCst, step) {
        Ok(last) | Err(last) => last,
    };
    format!("{:018X}", now.max(last.saturating_add(1)))
}

/// A request id in S3's style: 16 upper-case letters and digits.
fn request_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The `Object Created` event of a `PutObject` that stored `meta`.
pub(super) fn object_created(meta: &ObjectMeta, sequencer: String) -> Result<RawEvent, StoreError> {
    let detail = ObjectCreated {
        version: "0".into(),
        bucket: S3Bucket {
            name: meta.bucket.clone(),
        },
        object: S3Object {
            key: form_url_encode(&meta.key),
            size: Some(meta.size),
            etag: Some(meta.etag.clone()),
            version_id: meta.version_id.clone(),
            sequencer: Some(sequencer),
        },
        request_id: Some(request_id()),
        requester: None,
        source_ip_address: Some("127.0.0.1".into()),
        reason: Some("PutObject".into()),
        event_version: None,
    };
    let mut envelope = Envelope::new(sources::S3, detail);
    envelope.detail.requester = Some(envelope.account.clone());
    envelope.time = meta.last_modified;
    envelope.resources = vec![format!("arn:aws:s3:::{}", meta.bucket)];
    envelope.to_raw().map_err(|e| {
        StoreError::Unavailable(format!(
            "could not encode the Object Created event of s3://{}/{}: {e}",
            meta.bucket, meta.key
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequencers_increase_and_look_like_s3s() {
        let first = next_sequencer();
        let second = next_sequencer();
        assert_eq!(first.len(), 18);
        assert!(
            first
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
        );
        assert!(second > first, "{second} > {first}");
    }

    #[test]
    fn request_ids_look_like_s3s() {
        let id = request_id();
        assert_eq!(id.len(), 16);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
    }
}
