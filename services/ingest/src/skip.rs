//! Objects ingest leaves alone, and why. A skip is logged, never an error: nothing is wrong,
//! there is simply nothing (yet) to ingest.

use std::fmt;

/// Why an object is not ingested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// The object is in another bucket (the derived bucket's outputs can never re-trigger
    /// ingest).
    OtherBucket { bucket: String },
    /// A folder marker (`photos/`).
    Folder,
    /// Zero bytes: nothing to ingest.
    Empty,
    /// A part of an upload still in progress (`*.CHUNK3`, `*.part`, `*.tmp`, `.~lock…`).
    IncompleteUpload { pattern: &'static str },
    /// A caption sidecar (`clip.srt` beside `clip.mp4`), attached to its media, not an asset.
    CaptionSidecar,
    /// The object was replaced or deleted since the event; the new version's own event
    /// takes over.
    Superseded { detail: String },
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OtherBucket { bucket } => {
                write!(f, "the object is in bucket {bucket}, not the ingest bucket")
            }
            Self::Folder => f.write_str("a folder marker, not a file"),
            Self::Empty => f.write_str("a zero-byte object: nothing to ingest"),
            Self::IncompleteUpload { pattern } => {
                write!(
                    f,
                    "an incomplete upload ({pattern}); the finished file is ingested"
                )
            }
            Self::CaptionSidecar => f.write_str(
                "a caption sidecar; it is attached to the media file with the same base name",
            ),
            Self::Superseded { detail } => write!(f, "superseded: {detail}"),
        }
    }
}

/// Whether an object of `bucket`/`key` with `size` bytes is skipped. `size` is `None` when
/// the event did not say.
pub fn check(ingest_bucket: &str, bucket: &str, key: &str, size: Option<u64>) -> Option<Skip> {
    if bucket != ingest_bucket {
        return Some(Skip::OtherBucket {
            bucket: bucket.to_owned(),
        });
    }
    if key.ends_with('/') {
        return Some(Skip::Folder);
    }
    if let Some(pattern) = incomplete_upload(key) {
        return Some(Skip::IncompleteUpload { pattern });
    }
    if is_caption_sidecar(key) {
        return Some(Skip::CaptionSidecar);
    }
    if size == Some(0) {
        return Some(Skip::Empty);
    }
    None
}

fn incomplete_upload(key: &str) -> Option<&'static str> {
    let name = key.rsplit('/').next().unwrap_or(key);
    if name.starts_with(".~") {
        return Some(".~*");
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".part") || lower.ends_with(".crdownload") {
        return Some("*.part");
    }
    if lower.ends_with(".tmp") {
        return Some("*.tmp");
    }
    if let Some((_, suffix)) = name.rsplit_once(".CHUNK")
        && !suffix.is_empty()
        && suffix.bytes().all(|b| b.is_ascii_digit())
    {
        return Some("*.CHUNK<n>");
    }
    None
}

/// `.srt` and `.vtt` files are sidecars of the media with the same base name.
pub fn is_caption_sidecar(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower.ends_with(".srt") || lower.ends_with(".vtt")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip(key: &str, size: u64) -> Option<Skip> {
        check("ingest", "ingest", key, Some(size))
    }

    #[test]
    fn skips_what_is_not_a_finished_file_of_the_ingest_bucket() {
        assert_eq!(
            check("ingest", "derived", "a.mp4", Some(5)),
            Some(Skip::OtherBucket {
                bucket: "derived".into()
            })
        );
        assert_eq!(skip("photos/", 0), Some(Skip::Folder));
        assert_eq!(skip("clip.mp4", 0), Some(Skip::Empty));
        for key in [
            "a/clip.mp4.CHUNK3",
            "clip.mp4.part",
            "clip.MP4.TMP",
            "a/.~lock.doc#",
        ] {
            assert!(
                matches!(skip(key, 10), Some(Skip::IncompleteUpload { .. })),
                "{key}"
            );
        }
        assert_eq!(skip("news/clip.srt", 10), Some(Skip::CaptionSidecar));
        assert_eq!(skip("news/clip.VTT", 10), Some(Skip::CaptionSidecar));
    }

    #[test]
    fn ingests_ordinary_and_odd_keys() {
        for key in [
            "clip.mp4",
            "a b/Évening – 21 Nov+%.mov",
            "CHUNK/clip.mp4",
            "clip.CHUNK",
            "report.partial.pdf",
        ] {
            assert_eq!(skip(key, 10), None, "{key}");
        }
        assert_eq!(check("ingest", "ingest", "clip.mp4", None), None);
    }
}
