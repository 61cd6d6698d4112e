//! The audio Lambda function's settings, read once at cold start from its environment (the
//! kit's buckets, table and bus are read by `mediasift_kit::lambda::LambdaConfig`).

use mediasift_kit::env::Env;
pub use mediasift_kit::env::EnvError;

use crate::AudioConfig;

/// `MEDIASIFT_TRANSCRIBE_LANGUAGES`: Transcribe language codes the speech may be in,
/// comma-separated; unset lets Transcribe identify any language it supports.
pub const TRANSCRIBE_LANGUAGES_VAR: &str = "MEDIASIFT_TRANSCRIBE_LANGUAGES";
/// `MEDIASIFT_AWS_MAX_ATTEMPTS`: attempts per Transcribe, Comprehend and Bedrock call
/// (throttling, 5xx, connection failures), the first included.
pub const MAX_ATTEMPTS_VAR: &str = "MEDIASIFT_AWS_MAX_ATTEMPTS";
/// `MEDIASIFT_COMPREHEND_CONCURRENCY`: Comprehend batch calls in flight at once.
pub const COMPREHEND_CONCURRENCY_VAR: &str = "MEDIASIFT_COMPREHEND_CONCURRENCY";
/// `MEDIASIFT_CHAPTERS_MODEL_ID`: the Bedrock model or inference profile that reads chapters
/// (a Claude model); `off` turns chapters off. Unset: Claude Haiku 4.5 through the global
/// inference profile.
pub const CHAPTERS_MODEL_VAR: &str = "MEDIASIFT_CHAPTERS_MODEL_ID";

pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
pub const MAX_MAX_ATTEMPTS: u32 = 10;
pub const DEFAULT_COMPREHEND_CONCURRENCY: usize = 4;
pub const MAX_COMPREHEND_CONCURRENCY: usize = 20;

/// Everything the audio Lambda function reads from its environment at cold start.
#[derive(Debug, Clone)]
pub struct LambdaSettings {
    pub audio: AudioConfig,
    pub transcribe_languages: Vec<String>,
    pub max_attempts: u32,
    pub comprehend_concurrency: usize,
    /// `None`: chapters are off.
    pub chapters_model: Option<String>,
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
        let transcribe_languages: Vec<String> = get(TRANSCRIBE_LANGUAGES_VAR)
            .map(|v| {
                v.split(',')
                    .map(|code| code.trim().to_owned())
                    .filter(|code| !code.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(bad) = transcribe_languages
            .iter()
            .find(|code| !is_language_code(code))
        {
            return Err(EnvError {
                name: TRANSCRIBE_LANGUAGES_VAR,
                value: bad.clone(),
                expected: "a comma-separated list of Transcribe language codes (en-US, fr-FR)",
            });
        }
        let max_attempts = env.number(
            MAX_ATTEMPTS_VAR,
            DEFAULT_MAX_ATTEMPTS,
            MAX_MAX_ATTEMPTS,
            "a whole number from 1 to 10",
        )?;
        let comprehend_concurrency = env.number(
            COMPREHEND_CONCURRENCY_VAR,
            DEFAULT_COMPREHEND_CONCURRENCY,
            MAX_COMPREHEND_CONCURRENCY,
            "a whole number from 1 to 20",
        )?;
        let chapters_model = match get(CHAPTERS_MODEL_VAR) {
            None => Some(DEFAULT_CHAPTERS_MODEL.to_owned()),
            Some(off) if off.eq_ignore_ascii_case("off") => None,
            Some(id) => Some(id),
        };
        let audio = AudioConfig {
            scratch_dir: std::env::temp_dir(),
            chapters_skip_reason: format!(
                "turned off in the function's settings ({CHAPTERS_MODEL_VAR})"
            ),
            ..AudioConfig::default()
        };
        Ok(Self {
            audio,
            transcribe_languages,
            max_attempts,
            comprehend_concurrency,
            chapters_model,
        })
    }

    #[cfg(feature = "aws")]
    pub fn transcribe(&self) -> crate::speech::TranscribeConfig {
        crate::speech::TranscribeConfig {
            max_attempts: self.max_attempts,
            language_options: self.transcribe_languages.clone(),
            ..crate::speech::TranscribeConfig::default()
        }
    }

    #[cfg(feature = "aws")]
    pub fn comprehend(&self) -> crate::language::ComprehendConfig {
        crate::language::ComprehendConfig {
            max_attempts: self.max_attempts,
            concurrency: self.comprehend_concurrency,
            ..crate::language::ComprehendConfig::default()
        }
    }

    #[cfg(feature = "aws")]
    pub fn bedrock(&self) -> Option<crate::chapters::BedrockConfig> {
        self.chapters_model
            .as_ref()
            .map(|model_id| crate::chapters::BedrockConfig {
                model_id: model_id.clone(),
                max_attempts: self.max_attempts,
                ..crate::chapters::BedrockConfig::default()
            })
    }
}

/// Claude Haiku 4.5 through Bedrock's global cross-region inference profile.
pub const DEFAULT_CHAPTERS_MODEL: &str = mediasift_kit::DEFAULT_BEDROCK_MODEL_ID;

/// `en-US`, `fr-FR`, `zh-CN`, `en-AB`: a language and a region, as Transcribe spells them.
fn is_language_code(code: &str) -> bool {
    let mut parts = code.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(lang), Some(region), None)
            if (2..=3).contains(&lang.len())
                && lang.bytes().all(|b| b.is_ascii_lowercase())
                && region.len() == 2
                && region.bytes().all(|b| b.is_ascii_uppercase())
    )
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
    fn defaults_identify_any_language_and_read_chapters_with_haiku() {
        let settings = LambdaSettings::from_lookup(lookup(&[])).unwrap();
        assert!(settings.transcribe_languages.is_empty());
        assert_eq!(settings.max_attempts, 5);
        assert_eq!(settings.comprehend_concurrency, 4);
        assert_eq!(
            settings.chapters_model.as_deref(),
            Some(DEFAULT_CHAPTERS_MODEL)
        );
        assert_eq!(settings.audio.scratch_dir, std::env::temp_dir());
    }

    #[test]
    fn every_variable_is_read() {
        let settings = LambdaSettings::from_lookup(lookup(&[
            (TRANSCRIBE_LANGUAGES_VAR, " en-US, fr-FR ,"),
            (MAX_ATTEMPTS_VAR, "8"),
            (COMPREHEND_CONCURRENCY_VAR, "2"),
            (CHAPTERS_MODEL_VAR, "OFF"),
        ]))
        .unwrap();
        assert_eq!(settings.transcribe_languages, ["en-US", "fr-FR"]);
        assert_eq!(settings.max_attempts, 8);
        assert_eq!(settings.comprehend_concurrency, 2);
        assert_eq!(settings.chapters_model, None);
        let model =
            LambdaSettings::from_lookup(lookup(&[(CHAPTERS_MODEL_VAR, "eu.anthropic.x")])).unwrap();
        assert_eq!(model.chapters_model.as_deref(), Some("eu.anthropic.x"));
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        for (name, value) in [
            (TRANSCRIBE_LANGUAGES_VAR, "english"),
            (TRANSCRIBE_LANGUAGES_VAR, "en-US,en_GB"),
            (MAX_ATTEMPTS_VAR, "0"),
            (MAX_ATTEMPTS_VAR, "11"),
            (COMPREHEND_CONCURRENCY_VAR, "many"),
        ] {
            let err = LambdaSettings::from_lookup(lookup(&[(name, value)])).unwrap_err();
            assert_eq!(err.name, name);
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
