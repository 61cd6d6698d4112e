//! An asset's id: stable for the same object version, so a re-delivered event finds the same
//! asset and overwrites the same outputs.

use mediasift_kit::ports::ObjectMeta;
use uuid::Uuid;

/// The namespace of mediasift's name-based (v5) asset ids.
pub const ASSET_NAMESPACE: Uuid = Uuid::from_bytes(*b"mediasift-assets");

/// The user metadata an uploader sets to choose the asset id (`x-amz-meta-uuid`).
pub const UUID_METADATA: &str = "uuid";

/// Why the uploader's id cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("x-amz-meta-uuid is {value:?}, which is not a UUID")]
pub struct InvalidAssetId {
    pub value: String,
}

/// The uploader's `x-amz-meta-uuid` when set; otherwise a v5 UUID of the bucket, key and
/// version (the version id where the bucket is versioned, else the ETag, which changes with
/// the content).
pub fn asset_id(meta: &ObjectMeta) -> Result<Uuid, InvalidAssetId> {
    if let Some(value) = meta.user_metadata.get(UUID_METADATA) {
        let trimmed = value.trim();
        return trimmed
            .parse::<Uuid>()
            .ok()
            .filter(|id| !id.is_nil())
            .ok_or_else(|| InvalidAssetId {
                value: value.clone(),
            });
    }
    let version = meta
        .version_id
        .as_deref()
        .filter(|v| !v.is_empty() && *v != "null")
        .map(|v| format!("version:{v}"))
        .unwrap_or_else(|| format!("etag:{}", meta.etag));
    let name = format!("s3://{}/{}#{version}", meta.bucket, meta.key);
    Ok(Uuid::new_v5(&ASSET_NAMESPACE, name.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;

    use super::*;

    fn meta(key: &str, etag: &str, version: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            bucket: "ingest".into(),
            key: key.into(),
            size: 10,
            etag: etag.into(),
            version_id: version.map(Into::into),
            last_modified: Utc::now(),
            content_type: None,
            user_metadata: BTreeMap::new(),
            checksum: None,
        }
    }

    #[test]
    fn same_version_same_id_new_content_new_id() {
        let a = asset_id(&meta("a.mp4", "e1", None)).unwrap();
        assert_eq!(a, asset_id(&meta("a.mp4", "e1", None)).unwrap());
        assert_ne!(a, asset_id(&meta("a.mp4", "e2", None)).unwrap());
        assert_ne!(a, asset_id(&meta("b.mp4", "e1", None)).unwrap());
        let v = asset_id(&meta("a.mp4", "e1", Some("v1"))).unwrap();
        assert_ne!(v, asset_id(&meta("a.mp4", "e1", Some("v2"))).unwrap());
        assert_eq!(v.get_version_num(), 5);
    }

    #[test]
    fn the_uploaders_uuid_wins_and_garbage_is_refused() {
        let mut m = meta("a.mp4", "e1", None);
        m.user_metadata
            .insert("uuid".into(), "0B9D3D4E-8C51-5F6A-9A43-2F1F3C7E5D10".into());
        assert_eq!(
            asset_id(&m).unwrap().to_string(),
            "0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10"
        );
        m.user_metadata.insert("uuid".into(), "not-a-uuid".into());
        assert!(asset_id(&m).is_err());
    }
}
