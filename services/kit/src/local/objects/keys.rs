//! Which bucket names and keys the filesystem store takes, and how a path becomes a URL.

use std::path::Path;

use crate::ports::StoreError;

/// S3's limit on a key, in bytes of UTF-8.
pub(super) const MAX_KEY_BYTES: usize = 1024;
/// The longest file name common filesystems take, in bytes.
pub(super) const MAX_SEGMENT_BYTES: usize = 255;

/// Refuses a key that the filesystem could not hold faithfully or safely.
pub(super) fn check_key(key: &str) -> Result<(), StoreError> {
    match key_problem(key) {
        None => Ok(()),
        Some(reason) => Err(StoreError::InvalidKey {
            key: key.to_owned(),
            reason,
        }),
    }
}

fn key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("a key cannot be empty".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Some(format!(
            "it is {} bytes long; keys are at most {MAX_KEY_BYTES} bytes",
            key.len()
        ));
    }
    if key.contains('\0') {
        return Some("it contains a NUL character".into());
    }
    if key.starts_with('/') {
        return Some("it starts with `/`; keys are relative to their bucket".into());
    }
    if key.ends_with('/') {
        return Some("it ends with `/`, which names a folder, not an object".into());
    }
    for segment in key.split('/') {
        match segment {
            "" => return Some("it contains an empty segment (`//`)".into()),
            "." | ".." => return Some(format!("it contains a `{segment}` segment")),
            long if long.len() > MAX_SEGMENT_BYTES => {
                return Some(format!(
                    "its segment starting {:?} is {} bytes long; the filesystem takes at most {MAX_SEGMENT_BYTES}",
                    long.chars().take(16).collect::<String>(),
                    long.len()
                ));
            }
            _ => {}
        }
    }
    None
}

/// Why a bucket name breaks S3's rules (3 to 63 characters of `a-z`, `0-9`, `.` and `-`,
/// starting and ending with a letter or digit, no `..`), or `None` when it is fine. Holding
/// local names to S3's rules keeps a local setup deployable as is.
pub(super) fn bucket_problem(name: &str) -> Option<&'static str> {
    let bytes = name.as_bytes();
    if !(3..=63).contains(&bytes.len()) {
        return Some("bucket names are 3 to 63 characters long");
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
    {
        return Some("bucket names hold only lower-case letters, digits, `.` and `-`");
    }
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge_ok(bytes.first()) || !edge_ok(bytes.last()) {
        return Some("bucket names start and end with a letter or digit");
    }
    if name.contains("..") {
        return Some("bucket names cannot contain `..`");
    }
    None
}

/// A `file://` URL of an absolute path, every byte but unreserved ones and `/` percent-encoded.
pub(super) fn file_url(path: &Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut url = String::with_capacity(7 + bytes.len());
    url.push_str("file://");
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_s3_allows_and_the_filesystem_holds_pass() {
        for key in [
            "a",
            "a/b/c.mp4",
            "my photos/été 100%+1.jpg",
            "x%2Fy",
            ".hidden",
            "a/...",
            "日本/語",
        ] {
            assert!(key_problem(key).is_none(), "{key}");
        }
        let longest_segment = "s".repeat(MAX_SEGMENT_BYTES);
        assert!(key_problem(&longest_segment).is_none());
    }

    #[test]
    fn unsafe_keys_are_refused_with_a_reason() {
        let long_segment = "s".repeat(MAX_SEGMENT_BYTES + 1);
        let long_key = "k/".repeat(MAX_KEY_BYTES / 2) + "k";
        for key in [
            "",
            "../x",
            "a/../b",
            "./a",
            "/abs",
            "a//b",
            "a/",
            "nul\0",
            &long_segment,
            &long_key,
        ] {
            assert!(key_problem(key).is_some(), "{key:?}");
        }
    }

    #[test]
    fn bucket_names_follow_s3() {
        for name in ["ingest", "mediasift-derived-123456789012", "a.b-c"] {
            assert_eq!(bucket_problem(name), None, "{name}");
        }
        for name in [
            "",
            "ab",
            "Upper",
            "under_score",
            "-start",
            "end.",
            "a..b",
            "a/b",
            "..",
        ] {
            assert!(bucket_problem(name).is_some(), "{name}");
        }
    }

    #[test]
    fn file_urls_are_percent_encoded() {
        assert_eq!(
            file_url(Path::new("/data/b/objects/my photos/é 100%+1.jpg")),
            "file:///data/b/objects/my%20photos/%C3%A9%20100%25%2B1.jpg"
        );
    }
}
