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
