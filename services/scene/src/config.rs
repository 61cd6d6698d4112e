//! The scene Lambda function's settings, read once at cold start from its environment (the
//! kit's buckets, table and bus are read by `mediasift_kit::lambda::LambdaConfig`; the MiniLM
//! model's files by `mediasift_kit::embed::ModelFiles::locate`).

use mediasift_kit::env::{Env, EnvError};

use crate::SceneConfig;
use crate::report::GroupingSettings;

/// `MEDIASIFT_AWS_MAX_ATTEMPTS`: attempts per Bedrock call, the first included.
pub const MAX_ATTEMPTS_VAR: &str = "MEDIASIFT_AWS_MAX_ATTEMPTS";
/// `MEDIASIFT_DESCRIPTION_MODEL_ID`: the Bedrock model or inference profile that describes
/// each scene (a Claude model that reads images); `off` turns scene descriptions off.
pub const DESCRIPTION_MODEL_VAR: &str = "MEDIASIFT_DESCRIPTION_MODEL_ID";
/// `MEDIASIFT_SCENE_LINK_SECONDS`: the longest time between two alike shots that still joins
/// them into one scene.
pub const LINK_SECONDS_VAR: &str = "MEDIASIFT_SCENE_LINK_SECONDS";
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
pub const MAX_MAX_ATTEMPTS: u32 = 10;

/// Everything the scene Lambda function reads from its environment at cold start.
#[derive(Debug, Clone)]
pub struct LambdaSettings {
    pub scene: SceneConfig,
    pub max_attempts: u32,
    /// None: descriptions turned off.
    pub description_model: Option<String>,
}

impl LambdaSettings {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, EnvError> {
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
        let defaults = GroupingSettings::default();
        let link: u32 = env.number(
            LINK_SECONDS_VAR,
            defaults.max_link_seconds as u32,
            3600,
            "a whole number of seconds from 1 to 3600",
        )?;
        Ok(Self {
            scene: SceneConfig {
                grouping: GroupingSettings {
                    max_link_seconds: f64::from(link),
                    ..defaults
                },
                description_skip_reason: Some(format!(
                    "turned off in the function's settings ({DESCRIPTION_MODEL_VAR})"
                )),
            },
            max_attempts,
            description_model,
        })
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
    fn defaults_and_overrides() {
        let settings = read(&[]).unwrap();
        assert_eq!(settings.max_attempts, 5);
        assert_eq!(settings.scene.grouping.max_link_seconds, 180.0);
        assert_eq!(
            settings.description_model.as_deref(),
            Some(mediasift_kit::DEFAULT_BEDROCK_MODEL_ID)
        );
        let settings = read(&[(DESCRIPTION_MODEL_VAR, "off"), (LINK_SECONDS_VAR, "90")]).unwrap();
        assert_eq!(settings.description_model, None);
        assert_eq!(settings.scene.grouping.max_link_seconds, 90.0);
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        for (name, value) in [
            (MAX_ATTEMPTS_VAR, "0"),
            (LINK_SECONDS_VAR, "forever"),
            (DESCRIPTION_MODEL_VAR, "claude haiku"),
        ] {
            let error = read(&[(name, value)]).unwrap_err();
            assert_eq!(error.name, name);
        }
    }
}
