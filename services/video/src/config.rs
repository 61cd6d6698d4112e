//! The video Lambda function's settings, read once at cold start from its environment (the
//! kit's buckets, table and bus are read by `mediasift_kit::lambda::LambdaConfig`).

use mediasift_kit::env::Env;
pub use mediasift_kit::env::EnvError;
pub use mediasift_kit::vision::is_collection_id;

use crate::VideoConfig;

/// `MEDIASIFT_FACE_COLLECTION`: the Rekognition face collection face match searches and
/// indexes into; unset turns face match off.
pub const FACE_COLLECTION_VAR: &str = "MEDIASIFT_FACE_COLLECTION";
/// `MEDIASIFT_VISION_CONCURRENCY`: captures sent to Rekognition at once.
pub const VISION_CONCURRENCY_VAR: &str = "MEDIASIFT_VISION_CONCURRENCY";
/// `MEDIASIFT_VISION_MAX_ATTEMPTS`: attempts per Rekognition call (throttling, 5xx,
/// connection failures), the first included.
pub const VISION_MAX_ATTEMPTS_VAR: &str = "MEDIASIFT_VISION_MAX_ATTEMPTS";
/// The default of [`VISION_CONCURRENCY_VAR`].
pub const DEFAULT_VISION_CONCURRENCY: usize = 5;
/// The default of [`VISION_MAX_ATTEMPTS_VAR`].
pub const DEFAULT_VISION_MAX_ATTEMPTS: u32 = 5;
/// At most this many captures at once: more only buys throttling.
pub const MAX_VISION_CONCURRENCY: usize = 100;
/// At most this many attempts: more would outlast the function's timeout under throttling.
pub const MAX_VISION_MAX_ATTEMPTS: u32 = 10;

/// Everything the video Lambda function reads from its environment at cold start.
#[derive(Debug, Clone)]
pub struct LambdaSettings {
    pub video: VideoConfig,
    pub face_collection: Option<String>,
    pub vision_concurrency: usize,
    pub vision_max_attempts: u32,
}

impl LambdaSettings {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings from environment variables as `lookup` gives them: an empty variable
    /// counts as unset; scratch in the system's temporary folder (Lambda's `/tmp`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let env = Env::new(lookup);
        let get = |name: &str| env.get(name);
        let face_collection = match get(FACE_COLLECTION_VAR) {
            None => None,
            Some(id) if is_collection_id(&id) => Some(id),
            Some(value) => {
                return Err(EnvError {
                    name: FACE_COLLECTION_VAR,
                    value,
                    expected: "a Rekognition collection id (letters, digits, '_', '.', '-'; at \
                               most 255)",
                });
            }
        };
        let vision_concurrency = env.number(
            VISION_CONCURRENCY_VAR,
            DEFAULT_VISION_CONCURRENCY,
            MAX_VISION_CONCURRENCY,
            "a whole number from 1 to 100",
        )?;
        let vision_max_attempts = env.number(
            VISION_MAX_ATTEMPTS_VAR,
            DEFAULT_VISION_MAX_ATTEMPTS,
            MAX_VISION_MAX_ATTEMPTS,
            "a whole number from 1 to 10",
        )?;
        Ok(Self {
            video: VideoConfig {
                scratch_dir: std::env::temp_dir(),
            },
            face_collection,
            vision_concurrency,
            vision_max_attempts,
        })
    }

    /// The Rekognition backend's configuration.
    #[cfg(feature = "aws")]
    pub fn rekognition(&self) -> crate::vision::RekognitionConfig {
        crate::vision::RekognitionConfig {
            face_collection: self.face_collection.clone(),
            concurrency: self.vision_concurrency,
            max_attempts: self.vision_max_attempts,
            ..crate::vision::RekognitionConfig::default()
        }
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

    #[test]
    fn defaults_leave_face_match_off() {
        let settings = LambdaSettings::from_lookup(lookup(&[])).unwrap();
        assert_eq!(settings.face_collection, None);
        assert_eq!(settings.vision_concurrency, 5);
        assert_eq!(settings.vision_max_attempts, 5);
        assert_eq!(settings.video.scratch_dir, std::env::temp_dir());
        // Empty counts as unset.
        let empty = LambdaSettings::from_lookup(lookup(&[
            (FACE_COLLECTION_VAR, " "),
            (VISION_CONCURRENCY_VAR, ""),
        ]))
        .unwrap();
        assert_eq!(empty.face_collection, None);
        assert_eq!(empty.vision_concurrency, 5);
    }

    #[test]
    fn every_variable_is_read() {
        let settings = LambdaSettings::from_lookup(lookup(&[
            (FACE_COLLECTION_VAR, " mediasift-faces_eu.1 "),
            (VISION_CONCURRENCY_VAR, "12"),
            (VISION_MAX_ATTEMPTS_VAR, "8"),
        ]))
        .unwrap();
        assert_eq!(
            settings.face_collection.as_deref(),
            Some("mediasift-faces_eu.1")
        );
        assert_eq!(settings.vision_concurrency, 12);
        assert_eq!(settings.vision_max_attempts, 8);
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        for (name, value) in [
            (FACE_COLLECTION_VAR, "news faces"),
            (
                FACE_COLLECTION_VAR,
                "arn:aws:rekognition:eu-west-1:1:collection/x",
            ),
            (VISION_CONCURRENCY_VAR, "0"),
            (VISION_CONCURRENCY_VAR, "five"),
            (VISION_CONCURRENCY_VAR, "101"),
            (VISION_MAX_ATTEMPTS_VAR, "-1"),
            (VISION_MAX_ATTEMPTS_VAR, "11"),
        ] {
            let err = LambdaSettings::from_lookup(lookup(&[(name, value)])).unwrap_err();
            assert_eq!(err.name, name);
            let message = err.to_string();
            assert!(
                message.contains(name) && message.contains(value),
                "{message}"
            );
        }
    }

    #[test]
    fn collection_ids_follow_rekognitions_pattern() {
        assert!(is_collection_id("news-faces_2026.v1"));
        for bad in ["", "news faces", "faces/eu", "visages-é", &"a".repeat(256)] {
            assert!(!is_collection_id(bad), "{bad:?}");
        }
    }
}
