//! The image Lambda function's settings, read once at cold start from its environment (the
//! kit's buckets, table and bus are read by `mediasift_kit::lambda::LambdaConfig`).

use mediasift_kit::env::{Env, EnvError};
use mediasift_kit::vision::is_collection_id;

use crate::ImageConfig;

/// `MEDIASIFT_FACE_COLLECTION`: the Rekognition face collection face match searches and
/// indexes into; unset turns face match off.
pub const FACE_COLLECTION_VAR: &str = "MEDIASIFT_FACE_COLLECTION";
/// `MEDIASIFT_AWS_MAX_ATTEMPTS`: attempts per Rekognition or Bedrock call (throttling, 5xx,
/// connection failures), the first included.
pub const MAX_ATTEMPTS_VAR: &str = "MEDIASIFT_AWS_MAX_ATTEMPTS";
/// `MEDIASIFT_DESCRIPTION_MODEL_ID`: the Bedrock model or inference profile that writes the
/// description (a Claude model); `off` turns descriptions off.
pub const DESCRIPTION_MODEL_VAR: &str = "MEDIASIFT_DESCRIPTION_MODEL_ID";
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
pub const MAX_MAX_ATTEMPTS: u32 = 10;

/// Everything the image Lambda function reads from its environment at cold start.
#[derive(Debug, Clone)]
pub struct LambdaSettings {
    pub image: ImageConfig,
    pub face_collection: Option<String>,
    pub max_attempts: u32,
    /// None: descriptions turned off.
    pub description_model: Option<String>,
}

impl LambdaSettings {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, EnvError> {
        let face_collection = match env.get(FACE_COLLECTION_VAR) {
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
        let max_attempts = env.number(
            MAX_ATTEMPTS_VAR,
            DEFAULT_MAX_ATTEMPTS,
            MAX_MAX_ATTEMPTS,
            "a whole number from 1 to 10",
        )?;
        let description_model = env.optional_text(
            DESCRIPTION_MODEL_VAR,
            mediasift_kit::DEFAULT_BEDROCK_MODEL_ID,
            |id| !id.contains(char::is_whitespace),
            "a Bedrock model id, inference profile id or ARN, or off",
        )?;
        Ok(Self {
            image: ImageConfig {
                scratch_dir: std::env::temp_dir(),
                description_skip_reason: format!(
                    "turned off in the function's settings ({DESCRIPTION_MODEL_VAR})"
                ),
            },
            face_collection,
            max_attempts,
            description_model,
        })
    }

    /// The Rekognition backend's configuration.
    #[cfg(feature = "aws")]
    pub fn rekognition(&self) -> mediasift_kit::vision::RekognitionConfig {
        mediasift_kit::vision::RekognitionConfig {
            face_collection: self.face_collection.clone(),
            max_attempts: self.max_attempts,
            ..mediasift_kit::vision::RekognitionConfig::default()
        }
    }

    /// The Bedrock client's configuration, when descriptions are on.
    #[cfg(feature = "aws")]
    pub fn bedrock(&self) -> Option<mediasift_kit::bedrock::BedrockConfig> {
        Some(mediasift_kit::bedrock::BedrockConfig {
            model_id: self.description_model.clone()?,
            max_attempts: self.max_attempts,
            ..mediasift_kit::bedrock::BedrockConfig::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<LambdaSettings, EnvError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LambdaSettings::read(&Env::new(move |name| vars.get(name).cloned()))
    }

    #[test]
    fn defaults_describe_with_the_default_model_and_leave_face_match_off() {
        let settings = read(&[]).unwrap();
        assert_eq!(settings.face_collection, None);
        assert_eq!(settings.max_attempts, 5);
        assert_eq!(
            settings.description_model.as_deref(),
            Some(mediasift_kit::DEFAULT_BEDROCK_MODEL_ID)
        );
        let off = read(&[(DESCRIPTION_MODEL_VAR, "off")]).unwrap();
        assert_eq!(off.description_model, None);
        assert!(
            off.image
                .description_skip_reason
                .contains(DESCRIPTION_MODEL_VAR)
        );
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        for (name, value) in [
            (FACE_COLLECTION_VAR, "news faces"),
            (MAX_ATTEMPTS_VAR, "0"),
            (MAX_ATTEMPTS_VAR, "11"),
            (DESCRIPTION_MODEL_VAR, "claude haiku"),
        ] {
            let error = read(&[(name, value)]).unwrap_err();
            assert_eq!(error.name, name);
            assert!(error.to_string().contains(value));
        }
    }
}
