//! Events AWS emits that mediasift consumes. Their shapes are AWS's; we only read them, and
//! tolerate every field we do not use.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::envelope::EventDetail;

/// `Object Created` from `aws.s3`: S3's EventBridge notification of a new object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ObjectCreated {
    /// `0` today.
    pub version: String,
    pub bucket: S3Bucket,
    pub object: S3Object,
    #[serde(
        rename = "request-id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    #[serde(
        rename = "source-ip-address",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub source_ip_address: Option<String>,
    /// `PutObject`, `POST Object`, `CopyObject` or `CompleteMultipartUpload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(
        rename = "event-version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub event_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct S3Bucket {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct S3Object {
    /// The key as S3 sends it in notifications: URL-encoded with `+` for a space. Use
    /// [`S3Object::decoded_key`] for the key as stored.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// S3 has sent both spellings over the years.
    #[serde(default, alias = "eTag", skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(
        rename = "version-id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer: Option<String>,
}

impl S3Object {
    /// The key as stored: `+` is a space, `%XX` a byte of UTF-8. `None` when the escapes do
    /// not form UTF-8 (not a key S3 could have sent).
    pub fn decoded_key(&self) -> Option<String> {
        form_url_decode(&self.key)
    }
}

/// Decodes `application/x-www-form-urlencoded` text (`+` → space, `%XX` → byte).
pub fn form_url_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Encodes a key the way S3 does in notifications (the inverse of [`form_url_decode`]):
/// unreserved characters and `/` stay, a space becomes `+`, everything else `%XX`.
pub fn form_url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl EventDetail for ObjectCreated {
    const DETAIL_TYPE: &'static str = "Object Created";
    const SCHEMA_NAME: &'static str = "ObjectCreated";
    const SCHEMA_VERSION: &'static str = "0";

    fn example() -> Self {
        Self {
            version: "0".into(),
            bucket: S3Bucket {
                name: "mediasift-ingest-123456789012".into(),
            },
            object: S3Object {
                key: form_url_encode("news/2026/Evening Bulletin – 21 Nov.mp4"),
                size: Some(734_003_200),
                etag: Some("5c5e1b4c2a4f2bf3b0c4a3d21f0e9b7a-88".into()),
                version_id: Some("Jf8q3b1TqN2c3mQp0K8c0l5Qxw3G2xYz".into()),
                sequencer: Some("00673F0A5C1D2E3F40".into()),
            },
            request_id: Some("N4N7GDK58NMKJ12R".into()),
            requester: Some("123456789012".into()),
            source_ip_address: Some("203.0.113.15".into()),
            reason: Some("CompleteMultipartUpload".into()),
            event_version: None,
        }
    }
}

/// `MediaConvert Job State Change` from `aws.mediaconvert`. mediasift reads `COMPLETE` and
/// `ERROR` of the jobs it submitted, which carry `mediasiftAssetId` in their user metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaConvertJobStateChange {
    /// Milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    pub job_id: String,
    /// `SUBMITTED`, `PROGRESSING`, `STATUS_UPDATE`, `INPUT_INFORMATION`, `COMPLETE`, `ERROR`,
    /// `CANCELED` or `NEW_WARNING`.
    pub status: String,
    #[serde(default)]
    pub user_metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_group_details: Vec<OutputGroupDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutputGroupDetail {
    #[serde(default)]
    pub output_details: Vec<OutputDetail>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub group_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutputDetail {
    #[serde(default)]
    pub output_file_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_in_ms: Option<u64>,
    /// `widthInPx` and `heightInPx` of a video output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, u64>>")]
    pub video_details: Option<Value>,
}

impl EventDetail for MediaConvertJobStateChange {
    const DETAIL_TYPE: &'static str = "MediaConvert Job State Change";
    const SCHEMA_NAME: &'static str = "MediaConvertJobStateChange";
    const SCHEMA_VERSION: &'static str = "0";

    fn example() -> Self {
        Self {
            timestamp: Some(1_795_252_812_000),
            account_id: Some("123456789012".into()),
            queue: Some("arn:aws:mediaconvert:eu-west-1:123456789012:queues/Default".into()),
            job_id: "1795252790123-abc123".into(),
            status: "COMPLETE".into(),
            user_metadata: BTreeMap::from([
                ("mediasiftAssetId".into(), "0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10".into()),
                ("mediasiftEventId".into(), "7f6c1e52-0a8e-4f0b-93c5-2d5e1d0b7c41".into()),
            ]),
            output_group_details: vec![OutputGroupDetail {
                output_details: vec![OutputDetail {
                    output_file_paths: vec![
                        "s3://mediasift-derived-123456789012/0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10/proxy/proxy.mp4"
                            .into(),
                    ],
                    duration_in_ms: Some(1_325_480),
                    video_details: Some(serde_json::json!({"widthInPx": 960, "heightInPx": 540})),
                }],
                group_type: Some("FILE_GROUP".into()),
            }],
            error_code: None,
            error_message: None,
        }
    }
}

/// `Transcribe Job State Change` from `aws.transcribe`. mediasift names its jobs
/// `mediasift-<assetId>-<8 hex digits derived from the ingested event's id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TranscribeJobStateChange {
    #[serde(rename = "TranscriptionJobName")]
    pub transcription_job_name: String,
    /// `COMPLETED` or `FAILED`.
    #[serde(rename = "TranscriptionJobStatus")]
    pub transcription_job_status: String,
    #[serde(
        rename = "FailureReason",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub failure_reason: Option<String>,
}

impl EventDetail for TranscribeJobStateChange {
    const DETAIL_TYPE: &'static str = "Transcribe Job State Change";
    const SCHEMA_NAME: &'static str = "TranscribeJobStateChange";
    const SCHEMA_VERSION: &'static str = "0";

    fn example() -> Self {
        Self {
            transcription_job_name: "mediasift-0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10-5f1c2a9e"
                .into(),
            transcription_job_status: "COMPLETED".into(),
            failure_reason: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::RawEvent;

    #[test]
    fn reads_s3_events_as_aws_sends_them() {
        // As AWS documents it, plus a field we do not know and the older `eTag` spelling.
        let event: RawEvent = serde_json::from_str(
            r#"{"version":"0","id":"17793124-05d4-b198-2fde-7ededc63b103","detail-type":"Object Created",
            "source":"aws.s3","account":"111122223333","time":"2021-11-12T00:00:00Z","region":"ca-central-1",
            "resources":["arn:aws:s3:::DOC-EXAMPLE-BUCKET1"],
            "detail":{"version":"0","bucket":{"name":"DOC-EXAMPLE-BUCKET1"},
            "object":{"key":"my+holiday%2Fphoto+%E2%9C%93.jpg","size":5,"eTag":"b1946ac92492d2347c6235b4d2611184",
            "sequencer":"00617F08299329D189","checksum-algorithm":"CRC64NVME"},
            "request-id":"N4N7GDK58NMKJ12R","requester":"123456789012","source-ip-address":"1.2.3.4",
            "reason":"PutObject","new-field":{"x":1}}}"#,
        )
        .unwrap();
        let created = event.decode::<ObjectCreated>().unwrap().detail;
        assert_eq!(
            created.object.etag.as_deref(),
            Some("b1946ac92492d2347c6235b4d2611184")
        );
        assert_eq!(created.object.version_id, None);
        assert_eq!(
            created.object.decoded_key().as_deref(),
            Some("my holiday/photo ✓.jpg")
        );
        assert_eq!(event.correlation_id(), event.id);
    }

    #[test]
    fn key_encoding_round_trips() {
        for key in [
            "a b+c",
            "100%/ü/ünïcode ✓",
            "dir/file.name-_*",
            "semi;colon=eq&amp",
        ] {
            assert_eq!(form_url_decode(&form_url_encode(key)).as_deref(), Some(key));
        }
        assert_eq!(form_url_encode("a b+c%"), "a+b%2Bc%25");
        assert_eq!(form_url_decode("bad%zz"), None);
        assert_eq!(form_url_decode("trail%4"), None);
        assert_eq!(form_url_decode("%FF"), None);
    }
}
