//! Loading the AWS SDK configuration, once per process (per Lambda cold start).

use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};

/// The region used against an emulator when the environment names none.
const EMULATOR_REGION: &str = "us-east-1";

/// How to reach AWS: the standard provider chains (environment, profile, the Lambda or
/// container role) with two optional overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsConfig {
    /// An endpoint override for every service, e.g. `http://127.0.0.1:5000` for moto. Unset
    /// on AWS. When set, S3 uses path-style addressing (`http://host/bucket/key`).
    pub endpoint_url: Option<String>,
    /// A region to use instead of the environment's (`AWS_REGION`, the profile).
    pub region: Option<String>,
}

impl AwsConfig {
    /// AWS as the environment describes it, optionally through an emulator's endpoint.
    pub fn new(endpoint_url: Option<&str>) -> Self {
        Self {
            endpoint_url: endpoint_url.map(str::to_owned),
            region: None,
        }
    }

    /// Uses `region` whatever the environment says.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The SDK's loader with these overrides applied: add to it (credentials, timeouts)
    /// before loading, or call [`AwsConfig::load`].
    pub fn loader(&self) -> ConfigLoader {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        let region = match (&self.region, &self.endpoint_url) {
            (Some(region), _) => RegionProviderChain::first_try(Region::new(region.clone())),
            // An emulator does not care which region; do not fail for the lack of one.
            (None, Some(_)) => RegionProviderChain::default_provider().or_else(EMULATOR_REGION),
            // On AWS the region must come from the environment: never guess it.
            (None, None) => RegionProviderChain::default_provider(),
        };
        loader = loader.region(region);
        if let Some(endpoint) = &self.endpoint_url {
            loader = loader.endpoint_url(endpoint.clone());
        }
        loader
    }

    pub async fn load(&self) -> SdkConfig {
        self.loader().load().await
    }
}

/// The SDK configuration from the environment (region, credentials), with an optional
/// endpoint override for an emulator. S3 clients built from it by [`S3ObjectStore::new`]
/// switch to path-style addressing when the endpoint is overridden.
///
/// [`S3ObjectStore::new`]: super::S3ObjectStore::new
pub async fn load_sdk_config(endpoint_url: Option<&str>) -> SdkConfig {
    AwsConfig::new(endpoint_url).load().await
}
