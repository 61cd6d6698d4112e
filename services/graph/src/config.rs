//! The graph service's settings, and the Lambda function's, read once at cold start from its
//! environment (the kit's buckets, table and bus are read by
//! `mediasift_kit::lambda::LambdaConfig`).

use mediasift_kit::env::{Env, EnvError};

use crate::extract::NoiseFilter;

/// `MEDIASIFT_GRAPH_MIN_CONFIDENCE`: video and image findings below this confidence (0–100)
/// stay out of the graph.
pub const MIN_CONFIDENCE_VAR: &str = "MEDIASIFT_GRAPH_MIN_CONFIDENCE";
/// `MEDIASIFT_GRAPH_MIN_SECONDS`: video findings on screen for less than this stay out.
pub const MIN_SECONDS_VAR: &str = "MEDIASIFT_GRAPH_MIN_SECONDS";
/// `MEDIASIFT_NEPTUNE_ENDPOINT`: the Neptune cluster's endpoint,
/// `https://<cluster>.cluster-<id>.<region>.neptune.amazonaws.com:8182`, or `off` when the
/// deployment has no graph database.
pub const NEPTUNE_ENDPOINT_VAR: &str = "MEDIASIFT_NEPTUNE_ENDPOINT";

/// Settings of the graph service.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GraphConfig {
    pub filter: NoiseFilter,
}

impl GraphConfig {
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, EnvError> {
        let defaults = NoiseFilter::default();
        Ok(Self {
            filter: NoiseFilter {
                min_confidence: decimal(
                    env,
                    MIN_CONFIDENCE_VAR,
                    defaults.min_confidence,
                    100.0,
                    "a number from 0 to 100",
                )?,
                min_seconds: decimal(
                    env,
                    MIN_SECONDS_VAR,
                    defaults.min_seconds,
                    3600.0,
                    "a number of seconds from 0 to 3600",
                )?,
            },
        })
    }
}

fn decimal<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    name: &'static str,
    default: f64,
    max: f64,
    expected: &'static str,
) -> Result<f64, EnvError> {
    let Some(value) = env.get(name) else {
        return Ok(default);
    };
    match value.parse::<f64>() {
        Ok(n) if (0.0..=max).contains(&n) => Ok(n),
        _ => Err(EnvError {
            name,
            value,
            expected,
        }),
    }
}

/// Everything the graph Lambda function reads from its environment.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaSettings {
    pub graph: GraphConfig,
    /// `None` (`off`): no Neptune; the function still tracks completion and writes the search
    /// documents.
    pub neptune_endpoint: Option<String>,
}

impl LambdaSettings {
    pub fn from_env() -> Result<Self, EnvError> {
        Self::read(&Env::process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, EnvError> {
        let value = env.get(NEPTUNE_ENDPOINT_VAR).unwrap_or_default();
        let neptune_endpoint = match value.as_str() {
            "off" => None,
            endpoint if endpoint.starts_with("https://") => Some(value.clone()),
            _ => {
                return Err(EnvError {
                    name: NEPTUNE_ENDPOINT_VAR,
                    value,
                    expected: "the Neptune cluster's https:// endpoint (with its port, 8182), or off",
                });
            }
        };
        Ok(Self {
            graph: GraphConfig::read(env)?,
            neptune_endpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::new(move |name| vars.get(name).cloned())
    }

    #[test]
    fn settings_default_and_refuse_nonsense() {
        let endpoint = (
            NEPTUNE_ENDPOINT_VAR,
            "https://g.cluster-x.eu-west-1.neptune.amazonaws.com:8182",
        );
        let read = LambdaSettings::read(&env(&[endpoint])).unwrap();
        assert_eq!(read.graph.filter, NoiseFilter::default());
        let read = LambdaSettings::read(&env(&[
            endpoint,
            (MIN_CONFIDENCE_VAR, "85"),
            (MIN_SECONDS_VAR, "0"),
        ]))
        .unwrap();
        assert_eq!(read.graph.filter.min_confidence, 85.0);
        assert_eq!(read.graph.filter.min_seconds, 0.0);
        let wrong =
            LambdaSettings::read(&env(&[endpoint, (MIN_CONFIDENCE_VAR, "101")])).unwrap_err();
        assert_eq!(wrong.name, MIN_CONFIDENCE_VAR);
        let missing = LambdaSettings::read(&env(&[])).unwrap_err();
        assert_eq!(missing.name, NEPTUNE_ENDPOINT_VAR);
        let off = LambdaSettings::read(&env(&[(NEPTUNE_ENDPOINT_VAR, "off")])).unwrap();
        assert_eq!(off.neptune_endpoint, None);
    }
}
