//! The adbreak Lambda function's settings, read once at cold start from its environment (the
//! kit's buckets, table and bus are read by `mediasift_kit::lambda::LambdaConfig`).

use mediasift_kit::env::{Env, EnvError};

use crate::AdBreakConfig;

/// `MEDIASIFT_AD_TAG_URI`: the VAST ad tag (an `http(s)://` URL) every VMAP break asks for
/// its ads; unset (or `off`) writes breaks without an ad source.
pub const AD_TAG_URI_VAR: &str = "MEDIASIFT_AD_TAG_URI";

/// Everything the adbreak Lambda function reads from its environment at cold start.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaSettings {
    pub adbreak: AdBreakConfig,
}

impl LambdaSettings {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, EnvError> {
        let ad_tag_uri = match env.get(AD_TAG_URI_VAR) {
            None => None,
            Some(v) if ["off", "false", "none"].contains(&v.to_ascii_lowercase().as_str()) => None,
            Some(v) if is_ad_tag_uri(&v) => Some(v),
            Some(value) => {
                return Err(EnvError {
                    name: AD_TAG_URI_VAR,
                    value,
                    expected: "an http:// or https:// URL without spaces, or off",
                });
            }
        };
        Ok(Self {
            adbreak: AdBreakConfig {
                ad_tag_uri,
                ..AdBreakConfig::default()
            },
        })
    }
}

/// An `http(s)://` URL with a host and no whitespace or control characters.
pub fn is_ad_tag_uri(uri: &str) -> bool {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
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
    fn no_ad_tag_by_default() {
        assert_eq!(read(&[]).unwrap().adbreak, AdBreakConfig::default());
        assert_eq!(
            read(&[(AD_TAG_URI_VAR, "off")]).unwrap().adbreak.ad_tag_uri,
            None
        );
        let tag = "https://pubads.example.com/gampad/ads?sz=640x480&output=vast";
        assert_eq!(
            read(&[(AD_TAG_URI_VAR, tag)])
                .unwrap()
                .adbreak
                .ad_tag_uri
                .as_deref(),
            Some(tag)
        );
    }

    #[test]
    fn a_bad_ad_tag_names_the_variable() {
        for value in [
            "ads.example.com/vast",
            "https://",
            "https://ads.example.com/a b",
        ] {
            let error = read(&[(AD_TAG_URI_VAR, value)]).unwrap_err();
            assert_eq!(error.name, AD_TAG_URI_VAR);
            assert!(error.to_string().contains(value));
        }
    }
}
