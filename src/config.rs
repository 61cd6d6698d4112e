//! Local configuration: one typed struct, from `<data-dir>/config.toml` (or `--config FILE`),
//! then command-line flags. Every field has a default, so no file is needed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mediasift_adbreak::AdBreakConfig;
use mediasift_audio::AudioConfig;
use mediasift_document::DocumentConfig;
use mediasift_graph::GraphConfig;
use mediasift_graph::extract::NoiseFilter;
use mediasift_image::ImageConfig;
use mediasift_ingest::IngestConfig;
use mediasift_ingest::proxy::ffmpeg::FfmpegConfig;
use mediasift_kit::faults::FaultPlan;
use mediasift_kit::local::bus::{BusConfig, DeliveryChaos};
use mediasift_media::image::ImageLimits;
use mediasift_scene::SceneConfig;
use mediasift_video::VideoConfig;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct LocalConfig {
    /// Where the object store, state and bus live.
    #[serde(skip)]
    pub data_dir: PathBuf,
    /// The bucket media is put into (and the only one whose objects are ingested).
    pub ingest_bucket: String,
    /// The bucket results go to.
    pub derived_bucket: String,
    pub bus: BusSettings,
    /// Global analysis options (the keys of `AnalysisOptions`, camelCase, plus `analyses` to
    /// turn analyses off), merged over the defaults and under each asset's override.
    pub analysis: serde_json::Map<String, serde_json::Value>,
    pub ingest: IngestSettings,
    pub graph: GraphSettings,
    /// Faults injected into every port (none by default), for reliability testing.
    pub faults: FaultPlan,
}

/// The graph service's local settings: which video and image findings are noise.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct GraphSettings {
    /// Findings below this confidence (0–100) stay out of the graph.
    pub min_confidence: f64,
    /// Video findings on screen for less than this (seconds) stay out.
    pub min_seconds: f64,
}

impl Default for GraphSettings {
    fn default() -> Self {
        let filter = NoiseFilter::default();
        Self {
            min_confidence: filter.min_confidence,
            min_seconds: filter.min_seconds,
        }
    }
}

/// The ingest service's local settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct IngestSettings {
    /// Also compute SHA-256 alongside MD5.
    pub sha256: bool,
    /// Hash at most this long per slice (seconds) before continuing in a new event; 0 hashes
    /// in one go, which is what a local run wants.
    pub hash_slice_seconds: u64,
    /// Time limit of each probing tool (seconds).
    pub probe_timeout_seconds: u64,
    /// Still images above this many pixels (by their header) are refused.
    pub max_image_pixels: u64,
    /// Document pages rendered to PNG at most.
    pub max_rendered_pages: u32,
    /// Encode each video's H.264 proxy. Off, the source serves as the proxy: the video
    /// service decodes the source, and the report plays the audio proxy only.
    pub video_proxy: bool,
}

/// The embedded bus's delivery settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct BusSettings {
    pub max_attempts: u32,
    pub max_event_age_seconds: u64,
    pub backoff_base_ms: u64,
    pub backoff_cap_ms: u64,
    pub concurrency_per_service: usize,
    /// Make every delivery twice, as EventBridge's at-least-once delivery may (testing).
    pub duplicate_deliveries: bool,
    /// Take due deliveries in random order, as EventBridge promises no order (testing).
    pub shuffle_deliveries: bool,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".mediasift"),
            ingest_bucket: "ingest".into(),
            derived_bucket: "derived".into(),
            bus: BusSettings::default(),
            analysis: serde_json::Map::new(),
            ingest: IngestSettings::default(),
            graph: GraphSettings::default(),
            faults: FaultPlan::default(),
        }
    }
}

impl Default for BusSettings {
    fn default() -> Self {
        let bus = BusConfig::default();
        Self {
            max_attempts: bus.max_attempts,
            max_event_age_seconds: bus.max_event_age.as_secs(),
            backoff_base_ms: millis(bus.backoff_base),
            backoff_cap_ms: millis(bus.backoff_cap),
            concurrency_per_service: bus.concurrency_per_target,
            duplicate_deliveries: bus.chaos.duplicate,
            shuffle_deliveries: bus.chaos.shuffle,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl BusSettings {
    pub fn to_bus_config(&self) -> BusConfig {
        BusConfig {
            max_attempts: self.max_attempts,
            max_event_age: Duration::from_secs(self.max_event_age_seconds),
            backoff_base: Duration::from_millis(self.backoff_base_ms),
            backoff_cap: Duration::from_millis(self.backoff_cap_ms),
            concurrency_per_target: self.concurrency_per_service,
            chaos: DeliveryChaos {
                duplicate: self.duplicate_deliveries,
                shuffle: self.shuffle_deliveries,
            },
            ..BusConfig::default()
        }
    }
}

impl Default for IngestSettings {
    fn default() -> Self {
        let ingest = IngestConfig::default();
        Self {
            sha256: ingest.sha256,
            hash_slice_seconds: ingest.hash_slice.map_or(0, |d| d.as_secs()),
            probe_timeout_seconds: ingest.probe_timeout.as_secs(),
            max_image_pixels: ingest.image_limits.max_pixels,
            max_rendered_pages: ingest.max_rendered_pages,
            video_proxy: FfmpegConfig::default().video_proxy,
        }
    }
}

impl LocalConfig {
    /// The ingest service's configuration.
    /// The video service's settings: it shares the runtime's scratch folder.
    pub fn video_config(&self) -> VideoConfig {
        VideoConfig {
            scratch_dir: self.data_dir.join("scratch"),
        }
    }

    /// The audio service's settings: it shares the runtime's scratch folder; chapters need a
    /// generative backend, which runs only on AWS.
    pub fn audio_config(&self) -> AudioConfig {
        AudioConfig {
            scratch_dir: self.data_dir.join("scratch"),
            ..AudioConfig::default()
        }
    }

    /// The image service's settings: it shares the runtime's scratch folder; the generative
    /// description needs Bedrock, which runs only on AWS.
    pub fn image_config(&self) -> ImageConfig {
        ImageConfig {
            scratch_dir: self.data_dir.join("scratch"),
            ..ImageConfig::default()
        }
    }

    /// The document service's settings: it shares the runtime's scratch folder.
    pub fn document_config(&self) -> DocumentConfig {
        DocumentConfig {
            scratch_dir: self.data_dir.join("scratch"),
            ..DocumentConfig::default()
        }
    }

    /// The scene service's settings (the defaults: 180 s link window, 2 s shortest scene).
    pub fn scene_config(&self) -> SceneConfig {
        SceneConfig::default()
    }

    /// The graph service's settings.
    pub fn graph_config(&self) -> GraphConfig {
        GraphConfig {
            filter: NoiseFilter {
                min_confidence: self.graph.min_confidence,
                min_seconds: self.graph.min_seconds,
            },
        }
    }

    /// The local knowledge graph and search index.
    pub fn graph_path(&self) -> PathBuf {
        self.data_dir.join("graph.db")
    }

    /// The adbreak service's settings (no ad tag in the VMAP locally).
    pub fn adbreak_config(&self) -> AdBreakConfig {
        AdBreakConfig::default()
    }

    /// The local transcoder's settings.
    pub fn ffmpeg_config(&self) -> FfmpegConfig {
        FfmpegConfig {
            video_proxy: self.ingest.video_proxy,
            ..FfmpegConfig::default()
        }
    }

    pub fn ingest_config(&self) -> IngestConfig {
        let settings = &self.ingest;
        IngestConfig {
            hash_slice: (settings.hash_slice_seconds > 0)
                .then(|| Duration::from_secs(settings.hash_slice_seconds)),
            sha256: settings.sha256,
            scratch_dir: self.data_dir.join("scratch"),
            probe_timeout: Duration::from_secs(settings.probe_timeout_seconds.max(1)),
            image_limits: ImageLimits {
                max_pixels: settings.max_image_pixels,
            },
            global_options: self.analysis.clone(),
            max_rendered_pages: settings.max_rendered_pages,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the configuration file {path} is not valid: {source}\n(every key is optional; see docs/local-mode.md for the keys)"
    )]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("the configuration file {path} is not valid: {problem}")]
    Invalid { path: PathBuf, problem: String },
}

impl LocalConfig {
    /// Reads `file` if given, else `<data_dir>/config.toml` if it exists, else the defaults.
    pub fn load(data_dir: &Path, file: Option<&Path>) -> Result<Self, ConfigError> {
        let default_file = data_dir.join("config.toml");
        let path = match file {
            Some(path) => Some(path.to_owned()),
            None => default_file.exists().then_some(default_file),
        };
        let mut config = match path {
            None => Self::default(),
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path,
                    source: Box::new(source),
                })?
            }
        };
        if let Some(problem) = config.faults.problem() {
            return Err(ConfigError::Invalid {
                path: file.map_or_else(|| data_dir.join("config.toml"), Path::to_owned),
                problem,
            });
        }
        config.data_dir = data_dir.to_owned();
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_file_keeps_the_other_defaults() {
        let config: LocalConfig =
            toml::from_str("ingest-bucket = \"media\"\n[bus]\nmax-attempts = 9\n").unwrap();
        assert_eq!(config.ingest_bucket, "media");
        assert_eq!(config.derived_bucket, "derived");
        assert_eq!(config.bus.max_attempts, 9);
        assert_eq!(
            config.bus.concurrency_per_service,
            BusConfig::default().concurrency_per_target
        );
    }

    #[test]
    fn analysis_options_and_ingest_settings_reach_the_ingest_config() {
        let config: LocalConfig = toml::from_str(
            "[ingest]\nsha256 = true\nhash-slice-seconds = 30\n\
             [analysis]\nminConfidence = 85\nanalyses = { adBreaks = false }\n",
        )
        .unwrap();
        let ingest = config.ingest_config();
        assert!(ingest.sha256);
        assert_eq!(ingest.hash_slice, Some(Duration::from_secs(30)));
        assert_eq!(
            serde_json::Value::Object(ingest.global_options),
            serde_json::json!({"minConfidence": 85, "analyses": {"adBreaks": false}})
        );
        assert_eq!(LocalConfig::default().ingest_config().hash_slice, None);
    }

    #[test]
    fn the_video_proxy_is_encoded_unless_turned_off() {
        assert!(LocalConfig::default().ffmpeg_config().video_proxy);
        let config: LocalConfig = toml::from_str("[ingest]\nvideo-proxy = false\n").unwrap();
        assert!(!config.ffmpeg_config().video_proxy);
    }

    #[test]
    fn faults_and_delivery_chaos_are_read_from_the_file() {
        let config: LocalConfig = toml::from_str(
            "[bus]\nduplicate-deliveries = true\nshuffle-deliveries = true\n\
             [faults]\ntransient-rate = 0.1\nseed = 3\n\
             [[faults.permanent]]\nport = \"objects\"\noperation = \"put\"\ntarget-contains = \"/audio/\"\n",
        )
        .unwrap();
        let bus = config.bus.to_bus_config();
        assert!(bus.chaos.duplicate && bus.chaos.shuffle);
        assert_eq!(config.faults.transient_rate, 0.1);
        assert_eq!(config.faults.seed, Some(3));
        assert_eq!(config.faults.permanent.len(), 1);
        assert!(config.faults.is_active());
        assert!(!LocalConfig::default().faults.is_active());
    }

    #[test]
    fn a_fault_rate_outside_0_to_1_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[faults]\ntransient-rate = 2\n",
        )
        .unwrap();
        let error = LocalConfig::load(dir.path(), None).unwrap_err();
        assert!(error.to_string().contains("transient-rate"), "{error}");
    }

    #[test]
    fn an_unknown_key_is_an_error_that_names_it() {
        let error = toml::from_str::<LocalConfig>("ingest-buckett = \"x\"").unwrap_err();
        assert!(error.to_string().contains("ingest-buckett"), "{error}");
    }
}
