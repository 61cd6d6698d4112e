//! The document Lambda function's settings, read once at cold start from its environment (the
//! kit's buckets, table and bus are read by `mediasift_kit::lambda::LambdaConfig`).

use mediasift_kit::env::{Env, EnvError};

use crate::DocumentConfig;

/// `MEDIASIFT_AWS_MAX_ATTEMPTS`: attempts per Textract or Comprehend call (throttling, 5xx,
/// connection failures), the first included.
pub const MAX_ATTEMPTS_VAR: &str = "MEDIASIFT_AWS_MAX_ATTEMPTS";
/// `MEDIASIFT_OCR_CONCURRENCY`: pages sent to Textract at once (its synchronous API's default
/// quota is 10 TPS in the large regions, 1 in some).
pub const OCR_CONCURRENCY_VAR: &str = "MEDIASIFT_OCR_CONCURRENCY";
/// `MEDIASIFT_COMPREHEND_CONCURRENCY`: Comprehend calls in flight at once.
pub const COMPREHEND_CONCURRENCY_VAR: &str = "MEDIASIFT_COMPREHEND_CONCURRENCY";
/// `MEDIASIFT_MAX_OCR_PAGES`: pages without a text layer OCRed per document.
pub const MAX_OCR_PAGES_VAR: &str = "MEDIASIFT_MAX_OCR_PAGES";

/// Everything the document Lambda function reads from its environment at cold start.
#[derive(Debug, Clone)]
pub struct LambdaSettings {
    pub document: DocumentConfig,
    pub max_attempts: u32,
    pub ocr_concurrency: usize,
    pub comprehend_concurrency: usize,
}

impl LambdaSettings {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, EnvError> {
        Ok(Self {
            max_attempts: env.number(MAX_ATTEMPTS_VAR, 5, 10, "a whole number from 1 to 10")?,
            ocr_concurrency: env.number(
                OCR_CONCURRENCY_VAR,
                2,
                20,
                "a whole number from 1 to 20",
            )?,
            comprehend_concurrency: env.number(
                COMPREHEND_CONCURRENCY_VAR,
                2,
                20,
                "a whole number from 1 to 20",
            )?,
            document: DocumentConfig {
                scratch_dir: std::env::temp_dir(),
                max_ocr_pages: env.number(
                    MAX_OCR_PAGES_VAR,
                    500,
                    10_000,
                    "a whole number from 1 to 10000",
                )?,
            },
        })
    }

    #[cfg(feature = "aws")]
    pub fn textract(&self) -> crate::ocr::TextractConfig {
        crate::ocr::TextractConfig {
            max_attempts: self.max_attempts,
            concurrency: self.ocr_concurrency,
            ..crate::ocr::TextractConfig::default()
        }
    }

    #[cfg(feature = "aws")]
    pub fn comprehend(&self) -> mediasift_kit::language::ComprehendConfig {
        mediasift_kit::language::ComprehendConfig {
            max_attempts: self.max_attempts,
            concurrency: self.comprehend_concurrency,
            ..mediasift_kit::language::ComprehendConfig::default()
        }
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
    fn defaults_and_every_variable() {
        let settings = read(&[]).unwrap();
        assert_eq!(
            (
                settings.max_attempts,
                settings.ocr_concurrency,
                settings.comprehend_concurrency
            ),
            (5, 2, 2)
        );
        assert_eq!(settings.document.max_ocr_pages, 500);
        let settings = read(&[
            (MAX_ATTEMPTS_VAR, "3"),
            (OCR_CONCURRENCY_VAR, "8"),
            (COMPREHEND_CONCURRENCY_VAR, "4"),
            (MAX_OCR_PAGES_VAR, "50"),
        ])
        .unwrap();
        assert_eq!(
            (
                settings.max_attempts,
                settings.ocr_concurrency,
                settings.comprehend_concurrency
            ),
            (3, 8, 4)
        );
        assert_eq!(settings.document.max_ocr_pages, 50);
        let error = read(&[(OCR_CONCURRENCY_VAR, "0")]).unwrap_err();
        assert_eq!(error.name, OCR_CONCURRENCY_VAR);
    }
}
