//! The ingest service's settings, read once at start (from the local config or Lambda's
//! environment).

use std::path::PathBuf;
use std::time::Duration;

use mediasift_media::image::ImageLimits;
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Time budget of one hashing slice; `None` hashes in one go (local runs). On Lambda it is
    /// the function timeout minus a margin, so a 400 GB object is hashed over many invocations.
    pub hash_slice: Option<Duration>,
    /// Also compute SHA-256 alongside MD5.
    pub sha256: bool,
    /// Where sources are copied for probing and local transcoding.
    pub scratch_dir: PathBuf,
    /// Per-tool time limit for probing (ffprobe, mediainfo, exiftool, pdfinfo).
    pub probe_timeout: Duration,
    /// Decompression-bomb guard for still images, checked on header dimensions.
    pub image_limits: ImageLimits,
    /// Global analysis options, merged over the defaults and under each asset's override.
    /// Read from the local config; on AWS the `settings/options.json` object in the derived
    /// bucket plays this role (both apply when both are set, this one last).
    pub global_options: Map<String, Value>,
    /// Pages of a document rendered to PNG at most (the rest are reported, not rendered).
    pub max_rendered_pages: u32,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            hash_slice: None,
            sha256: false,
            scratch_dir: std::env::temp_dir(),
            probe_timeout: Duration::from_secs(120),
            image_limits: ImageLimits::default(),
            global_options: Map::new(),
            max_rendered_pages: 500,
        }
    }
}

/// `MEDIASIFT_HASH_SLICE_SECONDS`: seconds one invocation hashes before handing on.
pub const HASH_SLICE_SECONDS_VAR: &str = "MEDIASIFT_HASH_SLICE_SECONDS";
/// `MEDIASIFT_SHA256`: `true` to compute SHA-256 alongside MD5.
pub const SHA256_VAR: &str = "MEDIASIFT_SHA256";
/// `MEDIASIFT_MEDIACONVERT_ROLE_ARN`: the role MediaConvert assumes (required on Lambda).
pub const MEDIACONVERT_ROLE_VAR: &str = "MEDIASIFT_MEDIACONVERT_ROLE_ARN";
/// `MEDIASIFT_MEDIACONVERT_QUEUE`: a queue name or ARN (the account's `Default` when unset).
pub const MEDIACONVERT_QUEUE_VAR: &str = "MEDIASIFT_MEDIACONVERT_QUEUE";
/// The hashing budget on Lambda: its 15-minute limit less two minutes for the rest of the
/// invocation (handing on, or probing and submitting the proxies).
pub const LAMBDA_HASH_SLICE: Duration = Duration::from_secs(780);
/// Lambda's only writable folder.
pub const LAMBDA_SCRATCH_DIR: &str = "/tmp";

/// A setting the environment gets wrong; the function does not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("environment variable {name} is not set: {purpose}")]
    Missing {
        name: &'static str,
        purpose: &'static str,
    },
    #[error("environment variable {name} is {value:?}, which is not {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl IngestConfig {
    /// The settings of ingest on Lambda, from environment variables as `lookup` gives them:
    /// [`HASH_SLICE_SECONDS_VAR`] (default [`LAMBDA_HASH_SLICE`]), [`SHA256_VAR`] (default
    /// off), scratch in [`LAMBDA_SCRATCH_DIR`]; the rest as [`IngestConfig::default`]. An
    /// empty variable counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let hash_slice = match get(HASH_SLICE_SECONDS_VAR) {
            None => LAMBDA_HASH_SLICE,
            Some(value) => value
                .trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| EnvError::Invalid {
                    name: HASH_SLICE_SECONDS_VAR,
                    value,
                    expected: "a whole number of seconds",
                })?,
        };
        let sha256 = match get(SHA256_VAR) {
            None => false,
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    return Err(EnvError::Invalid {
                        name: SHA256_VAR,
                        value,
                        expected: "true or false",
                    });
                }
            },
        };
        Ok(Self {
            hash_slice: Some(hash_slice),
            sha256,
            scratch_dir: PathBuf::from(LAMBDA_SCRATCH_DIR),
            ..Self::default()
        })
    }
}

/// Everything the ingest Lambda function reads from its environment at cold start (besides
/// the kit's buckets, table and bus).
#[derive(Debug, Clone)]
pub struct LambdaSettings {
    pub config: IngestConfig,
    /// The IAM role MediaConvert assumes to read the ingest bucket and write the derived one.
    pub mediaconvert_role_arn: String,
    /// The MediaConvert queue; `None` for the account's `Default` queue.
    pub mediaconvert_queue: Option<String>,
}

impl LambdaSettings {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mediaconvert_role_arn = get(MEDIACONVERT_ROLE_VAR).ok_or(EnvError::Missing {
            name: MEDIACONVERT_ROLE_VAR,
            purpose: "the ARN of the IAM role MediaConvert assumes to read the ingest bucket and \
                      write the derived bucket; the Terraform ingest module sets it",
        })?;
        Ok(Self {
            config: IngestConfig::from_lookup(&lookup)?,
            mediaconvert_role_arn,
            mediaconvert_queue: get(MEDIACONVERT_QUEUE_VAR),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/mediasift-mediaconvert";

    #[test]
    fn lambda_defaults_slice_the_hash_under_the_15_minute_limit() {
        let settings =
            LambdaSettings::from_lookup(lookup(&[(MEDIACONVERT_ROLE_VAR, ROLE)])).unwrap();
        assert_eq!(settings.mediaconvert_role_arn, ROLE);
        assert_eq!(settings.mediaconvert_queue, None);
        let config = settings.config;
        assert_eq!(config.hash_slice, Some(Duration::from_secs(780)));
        assert!(config.hash_slice.unwrap() < Duration::from_secs(15 * 60));
        assert!(!config.sha256);
        assert_eq!(config.scratch_dir, PathBuf::from("/tmp"));
        assert_eq!(config.probe_timeout, IngestConfig::default().probe_timeout);
    }

    #[test]
    fn every_variable_is_read() {
        let settings = LambdaSettings::from_lookup(lookup(&[
            (MEDIACONVERT_ROLE_VAR, ROLE),
            (
                MEDIACONVERT_QUEUE_VAR,
                "arn:aws:mediaconvert:eu-west-1:123456789012:queues/mediasift",
            ),
            (HASH_SLICE_SECONDS_VAR, " 600 "),
            (SHA256_VAR, "TRUE"),
        ]))
        .unwrap();
        assert_eq!(
            settings.mediaconvert_queue.as_deref(),
            Some("arn:aws:mediaconvert:eu-west-1:123456789012:queues/mediasift")
        );
        assert_eq!(settings.config.hash_slice, Some(Duration::from_secs(600)));
        assert!(settings.config.sha256);
        // Zero is allowed: one chunk per invocation (what the AWS-path tests use).
        let zero = IngestConfig::from_lookup(lookup(&[(HASH_SLICE_SECONDS_VAR, "0")])).unwrap();
        assert_eq!(zero.hash_slice, Some(Duration::ZERO));
        // Empty counts as unset.
        let empty = LambdaSettings::from_lookup(lookup(&[
            (MEDIACONVERT_ROLE_VAR, ROLE),
            (MEDIACONVERT_QUEUE_VAR, ""),
            (SHA256_VAR, ""),
        ]))
        .unwrap();
        assert_eq!(empty.mediaconvert_queue, None);
        assert!(!empty.config.sha256);
    }

    #[test]
    fn a_missing_role_or_a_bad_value_names_the_variable() {
        for vars in [&[][..], &[(MEDIACONVERT_ROLE_VAR, "  ")][..]] {
            let err = LambdaSettings::from_lookup(lookup(vars)).unwrap_err();
            assert!(matches!(err, EnvError::Missing { name, .. } if name == MEDIACONVERT_ROLE_VAR));
            assert!(
                err.to_string().contains("MEDIASIFT_MEDIACONVERT_ROLE_ARN"),
                "{err}"
            );
        }
        for (name, value) in [
            (HASH_SLICE_SECONDS_VAR, "13m"),
            (HASH_SLICE_SECONDS_VAR, "-1"),
            (SHA256_VAR, "maybe"),
        ] {
            let err = LambdaSettings::from_lookup(lookup(&[
                (MEDIACONVERT_ROLE_VAR, ROLE),
                (name, value),
            ]))
            .unwrap_err();
            let message = err.to_string();
            assert!(
                message.contains(name) && message.contains(value),
                "{message}"
            );
        }
    }
}
