//! Still images: metadata (exiftool), a pixel limit against decompression bombs, and
//! auto-oriented JPEG proxies and thumbnails.
//!
//! - [`inspect`] runs exiftool once and returns [`ImageFacts`]: the format, dimensions as
//!   stored and as displayed, EXIF orientation, camera, capture date, GPS, and exiftool's whole
//!   JSON (machine-readable numbers and a human-readable copy) for storage. It refuses an image
//!   whose *header* dimensions exceed [`ImageLimits::max_pixels`] before anything is decoded.
//! - [`make_proxies`] decodes the image (the `image` crate with allocation limits; a camera
//!   RAW's embedded preview; HEIC/HEIF/AVIF through `heif-convert`, else ffmpeg; other formats
//!   through ffmpeg), applies the orientation, and writes `proxy.jpg` and `thumbnail.jpg`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mediasift_media::image::ImageError> {
//! use mediasift_media::image::{self, ImageLimits, ImageProxyOptions};
//! let path = std::path::Path::new("photo.jpg");
//! let facts = image::inspect(path, &ImageLimits::default()).await?;
//! let proxies = image::make_proxies(path, &facts, "out".as_ref(), &ImageProxyOptions::default())
//!     .await?;
//! let (w, h) = (facts.display_width, facts.display_height);
//! println!("{w}x{h} -> {}", proxies.proxy.path.display());
//! # Ok(()) }
//! ```
//!
//! Every tool runs through [`crate::process`] (argument vectors, no shell, a timeout), and the
//! CPU-bound decoding and encoding run on tokio's blocking pool.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, Cursor, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::image::imageops::FilterType;
use ::image::metadata::Orientation;
use ::image::{DynamicImage, GenericImageView, ImageDecoder, ImageReader, Limits, RgbImage};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::process::{self, RunOptions, ToolError};

/// The default pixel limit: Pillow's `DecompressionBombError` threshold (twice its
/// `MAX_IMAGE_PIXELS` warning level of 89,478,485, i.e. 2 × 1 GiB / 4 bytes / 3), about
/// 179 megapixels: a 16384 × 10922 image passes, a 20000 × 10000 scan does not. Decoded as
/// 8-bit RGBA that is 716 MB, the most one image should cost a worker.
pub const DEFAULT_MAX_PIXELS: u64 = 178_956_970;
/// Time limit for exiftool reading an image's metadata (it reads headers, not pixels).
pub const EXIFTOOL_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time limit for each decoding tool run by [`make_proxies`] (heif-convert, ffmpeg,
/// exiftool extracting a RAW preview).
pub const DEFAULT_DECODE_TIMEOUT: Duration = Duration::from_secs(120);
/// The proxy never gets smaller than this long side while shrinking to fit
/// [`ImageProxyOptions::proxy_max_bytes`].
const MIN_PROXY_SIDE: u32 = 64;
/// Decoder scratch allowed on top of the decoded pixels (row buffers, zlib windows, ...).
const DECODER_HEADROOM: u64 = 32 * 1024 * 1024;
/// The widest pixel the image crate decodes to (RGBA of 32-bit floats).
const MAX_BYTES_PER_PIXEL: u64 = 16;

/// exiftool FileTypes of camera RAW formats: the image crate cannot decode them, so their
/// embedded JPEG preview is proxied.
const RAW_FORMATS: &[&str] = &[
    "3fr", "ari", "arw", "cr2", "cr3", "crw", "dcr", "dng", "erf", "fff", "gpr", "iiq", "k25",
    "kdc", "mef", "mos", "mrw", "nef", "nrw", "orf", "ori", "pef", "raf", "raw", "rw2", "rwl",
    "sr2", "srf", "srw", "x3f",
];
/// exiftool FileTypes of the HEIF family (decoded by libheif's heif-convert, else ffmpeg).
const HEIF_FORMATS: &[&str] = &["heic", "heif", "avif"];
/// exiftool FileTypes the image crate (as this crate builds it) decodes.
const IMAGE_CRATE_FORMATS: &[&str] = &["jpeg", "mpo", "png", "gif", "bmp", "tiff", "webp"];
/// Embedded images a RAW may carry, any of which can stand in for it (the largest wins).
const RAW_PREVIEW_TAGS: &[&str] = &["JpgFromRaw", "PreviewImage", "OtherImage", "ThumbnailImage"];

/// How big an image may be before it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageLimits {
    /// Most pixels (width × height, by the header) an image may have; see
    /// [`DEFAULT_MAX_PIXELS`].
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// A position in signed decimal degrees (south and west are negative), altitude in metres
/// (below sea level is negative).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gps {
    pub latitude: f64,
    pub longitude: f64,
    pub altitude: Option<f64>,
}

/// What exiftool says about one still image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageFacts {
    /// exiftool's FileType in lower case: jpeg, png, tiff, webp, gif, bmp, heic, heif, avif,
    /// dng, cr2, nef, arw, ...
    pub format: String,
    /// exiftool's MIME type: image/jpeg, image/heic, image/x-canon-cr2, ...
    pub mime: String,
    /// Pixel dimensions as stored (before any orientation), from the format's header.
    pub width: u32,
    pub height: u32,
    /// The EXIF orientation (1-8) when the file has one (EXIF IFD0, else XMP tiff:Orientation).
    pub orientation: Option<u8>,
    /// Dimensions as displayed: `width`/`height` swapped for orientations 5-8. For HEIC/HEIF/
    /// AVIF the container's `irot` rotation decides instead (the HEIF rule, which libheif
    /// follows: the EXIF orientation of a HEIF file is informative only).
    pub display_width: u32,
    pub display_height: u32,
    /// The colour space: the ICC profile's description when there is one ("Display P3"),
    /// else EXIF's ColorSpace as exiftool prints it ("sRGB", "Uncalibrated").
    pub color_space: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// EXIF DateTimeOriginal as exiftool prints it ("2019:05:04 12:10:31"); an all-zero
    /// placeholder counts as absent.
    pub date_time_original: Option<String>,
    pub gps: Option<Gps>,
    /// What exiftool warned about (its Warning and Error tags): damage it read past.
    pub warnings: Vec<String>,
    /// exiftool's JSON (`-j -G1 -a -s -struct -n`): every tag as `Group:Tag` with
    /// machine-readable values (numbers, not "1/200" or "Rotate 90 CW"). The file-system facts
    /// of the local copy (exiftool's `System` group and `SourceFile`: its name, folder, dates
    /// and permissions) are left out: they describe the worker's copy, not the asset.
    pub metadata: Value,
    /// The same tags as exiftool prints them for people ("Rotate 90 CW", "1/200", "Auto").
    pub metadata_readable: Value,
}

/// How [`make_proxies`] renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageProxyOptions {
    /// Longest side of `proxy.jpg` (never upscaled).
    pub proxy_max_side: u32,
    /// Largest `proxy.jpg` in bytes; a bigger one is shrunk and encoded again.
    pub proxy_max_bytes: u64,
    /// `thumbnail.jpg` fits in a square of this side (never upscaled).
    pub thumbnail_max_side: u32,
    /// JPEG quality of both renditions, 1-100.
    pub jpeg_quality: u8,
    /// The pixel limit, checked on the facts' header dimensions and again on the decoder's,
    /// and the bound of what the decoder may allocate.
    pub limits: ImageLimits,
    /// Time limit for each decoding tool (heif-convert, ffmpeg, exiftool -b).
    pub decode_timeout: Duration,
}

impl Default for ImageProxyOptions {
    fn default() -> Self {
        ImageProxyOptions {
            proxy_max_side: 1920,
            proxy_max_bytes: 5_000_000,
            thumbnail_max_side: 320,
            jpeg_quality: 80,
            limits: ImageLimits::default(),
            decode_timeout: DEFAULT_DECODE_TIMEOUT,
        }
    }
}

/// One JPEG written by [`make_proxies`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rendition {
    pub path: PathBuf,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

/// Where the pixels of the proxies came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecodedWith {
    /// The `image` crate read the file itself.
    ImageCrate,
    /// A camera RAW's embedded JPEG, extracted with exiftool (`tag` is the exiftool tag,
    /// e.g. `SubIFD:JpgFromRaw`); it may be smaller than the RAW.
    EmbeddedPreview { tag: String },
    /// libheif's heif-convert (HEIC, HEIF, AVIF).
    HeifConvert,
    /// ffmpeg's decoders (its first video frame).
    Ffmpeg,
}

/// What [`make_proxies`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageProxies {
    /// `proxy.jpg`: long side at most [`ImageProxyOptions::proxy_max_side`], oriented.
    pub proxy: Rendition,
    /// `thumbnail.jpg`: fits in [`ImageProxyOptions::thumbnail_max_side`] squared, oriented.
    pub thumbnail: Rendition,
    pub decoded_with: DecodedWith,
    /// Size of the decoded picture before orientation and scaling (a RAW's preview may be
    /// smaller than the RAW).
    pub decoded_width: u32,
    pub decoded_height: u32,
    /// The EXIF orientation applied to the pixels (None: none was; HEIF decoders apply the
    /// container's own rotation themselves).
    pub orientation_applied: Option<u8>,
}

/// Why an image could not be inspected or rendered, worded for the person who supplied it.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("{} is not a regular file (a folder, device or pipe is not an image)", path.display())]
    NotAFile { path: PathBuf },
    /// Not a still image, or a format nothing installed here can decode.
    #[error("{} cannot be read as an image: {cause}", path.display())]
    Unsupported { path: PathBuf, cause: String },
    /// More pixels than [`ImageLimits::max_pixels`], by the header: refused before decoding.
    #[error(
        "{} is {width}x{height} pixels ({} megapixels), over the limit of {} megapixels: \
         decoding it could exhaust memory (a decompression bomb or an oversized scan); \
         downscale it before uploading, or raise ImageLimits::max_pixels if such images are \
         expected",
        path.display(),
        megapixels(u64::from(*width) * u64::from(*height)),
        megapixels(*max_pixels)
    )]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    /// The file claims to be an image but cannot be decoded.
    #[error(
        "{} cannot be decoded: {cause}; the file is probably truncated or damaged: upload it \
         again or re-export it",
        path.display()
    )]
    Corrupt { path: PathBuf, cause: String },
    /// A tool is missing, timed out, or failed unexpectedly.
    #[error("cannot process {}: {source}", path.display())]
    Tool {
        path: PathBuf,
        #[source]
        source: ToolError,
    },
    /// A tool printed something unusable.
    #[error("{tool} printed unusable output for {}: {cause}", path.display())]
    BadOutput {
        path: PathBuf,
        tool: String,
        cause: String,
    },
    #[error("cannot access {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn megapixels(pixels: u64) -> String {
    format!("{:.1}", pixels as f64 / 1e6)
}

// --- inspect ------------------------------------------------------------------------------

/// Reads `path`'s metadata with exiftool and checks its header dimensions against `limits`
/// (nothing is decoded). One exiftool process runs two commands (`-execute`): one with `-n`
/// for machine-readable values, one with exiftool's print conversion for people.
///
/// Errors: [`ImageError::TooLarge`] over the pixel limit; [`ImageError::Unsupported`] for
/// content that is not a still image; [`ImageError::Corrupt`] when the header gives no usable
/// dimensions.
pub async fn inspect(path: &Path, limits: &ImageLimits) -> Result<ImageFacts, ImageError> {
    let (absolute, _) = checked_file(path).await?;
    let (numeric, readable) = run_exiftool_json(path, &absolute).await?;
    let facts = facts_from_json(path, numeric, readable)?;
    check_pixels(path, facts.width, facts.height, limits)?;
    Ok(facts)
}

fn check_pixels(
    path: &Path,
    width: u32,
    height: u32,
    limits: &ImageLimits,
) -> Result<(), ImageError> {
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooLarge {
            path: path.to_path_buf(),
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

/// The absolute path (so a name starting with '-' never reads as an option) and size of a
/// regular file.
async fn checked_file(path: &Path) -> Result<(PathBuf, u64), ImageError> {
    let absolute = std::path::absolute(path).map_err(|source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match tokio::fs::metadata(&absolute).await {
        Ok(meta) if meta.is_file() => Ok((absolute, meta.len())),
        Ok(_) => Err(ImageError::NotAFile {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ImageError::NotFound {
            path: path.to_path_buf(),
        }),
        Err(source) => Err(ImageError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// exiftool's JSON objects for `absolute`: (`-n` values, printed values).
///
/// exiftool exits 1 whenever it sets its Error tag (an unknown or damaged file) even though it
/// still prints the JSON, which says what the error is; [`process::run_with`] keeps no stdout
/// for a failed run. So the JSON is written with `-w!` to a private scratch folder and read
/// from there whatever the exit code.
async fn run_exiftool_json(path: &Path, absolute: &Path) -> Result<(Value, Value), ImageError> {
    let io_error = |source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    };
    let scratch = ScratchDir::create_in(&std::env::temp_dir(), "exiftool")
        .await
        .map_err(io_error)?;
    // -w takes a format string: a '%' in the folder's name must be doubled.
    let folder = match scratch.path().to_str() {
        Some(text) => OsString::from(text.replace('%', "%%")),
        None => scratch.path().as_os_str().to_owned(),
    };
    let out = |prefix: &str| {
        let mut fmt = folder.clone();
        fmt.push(format!("/{prefix}-%f.json"));
        fmt
    };
    let args: Vec<OsString> = vec![
        "-n".into(),
        "-w!".into(),
        out("numeric"),
        absolute.into(),
        "-execute".into(),
        "-w!".into(),
        out("printed"),
        absolute.into(),
        "-common_args".into(),
        "-j".into(),
        "-G1".into(),
        "-a".into(),
        "-s".into(),
        "-struct".into(),
        "-api".into(),
        "LargeFileSupport=1".into(),
    ];
    let run = process::run_with(
        "exiftool",
        &args,
        RunOptions::with_timeout(EXIFTOOL_TIMEOUT),
    )
    .await;
    let failure = match run {
        Ok(_) => None,
        Err(ToolError::Failed {
            code: Some(1),
            stderr_tail,
            ..
        }) => Some(stderr_tail),
        Err(source) => {
            return Err(ImageError::Tool {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let numeric = read_exiftool_output(scratch.path(), "numeric").await;
    let printed = read_exiftool_output(scratch.path(), "printed").await;
    match (numeric, printed) {
        (Ok(n), Ok(p)) => Ok((n, p)),
        (Err(cause), _) | (_, Err(cause)) => match failure {
            // It failed before writing JSON: say what it printed.
            Some(stderr) => Err(ImageError::Corrupt {
                path: path.to_path_buf(),
                cause: format!("exiftool cannot read it ({})", or_silent(&stderr)),
            }),
            None => Err(ImageError::BadOutput {
                path: path.to_path_buf(),
                tool: "exiftool".into(),
                cause,
            }),
        },
    }
}

/// The one object of the `-j` array exiftool wrote as `<prefix>-*.json` in `dir`.
async fn read_exiftool_output(dir: &Path, prefix: &str) -> Result<Value, String> {
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .map_err(|e| format!("cannot list its output folder: {e}"))?;
    let wanted = format!("{prefix}-");
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|e| format!("cannot list its output folder: {e}"))?
    {
        if !entry.file_name().to_string_lossy().starts_with(&wanted) {
            continue;
        }
        let bytes = tokio::fs::read(entry.path())
            .await
            .map_err(|e| format!("cannot read its JSON: {e}"))?;
        return exiftool_object(&bytes);
    }
    Err("it wrote no JSON".into())
}

/// The one object of exiftool's `-j` output for one file (a JSON array of one object), or why
/// the text is not that.
pub fn exiftool_object(json: &[u8]) -> Result<Value, String> {
    let json: Value = serde_json::from_slice(json).map_err(|e| format!("not JSON ({e})"))?;
    match json {
        Value::Array(mut items) if items.len() == 1 => Ok(items.remove(0)),
        other => Err(format!(
            "expected a JSON array of one object, got {}",
            truncate(&other.to_string(), 200)
        )),
    }
}

/// Builds the facts of the image at `path` from exiftool's two objects for it (see
/// [`exiftool_object`]): `numeric` from `-n`, `readable` as printed for people.
pub fn facts_from_json(
    path: &Path,
    numeric: Value,
    readable: Value,
) -> Result<ImageFacts, ImageError> {
    let (Value::Object(mut numeric), Value::Object(mut readable)) = (numeric, readable) else {
        return Err(ImageError::BadOutput {
            path: path.to_path_buf(),
            tool: "exiftool".into(),
            cause: "its JSON is not an object per file".into(),
        });
    };
    strip_local_file_facts(&mut numeric);
    strip_local_file_facts(&mut readable);
    let tags = Tags(&numeric);
    let printed = Tags(&readable);

    let warnings: Vec<String> = ["ExifTool:Error", "ExifTool:Warning"]
        .iter()
        .filter_map(|key| tags.text_at(key))
        .collect();
    let error = tags.text_at("ExifTool:Error");
    let unsupported = |cause: String| ImageError::Unsupported {
        path: path.to_path_buf(),
        cause,
    };

    let Some(file_type) = tags.text_at("File:FileType") else {
        return Err(unsupported(format!(
            "exiftool cannot tell what format it is in ({})",
            error.as_deref().unwrap_or("no file type")
        )));
    };
    let format = file_type.to_ascii_lowercase();
    let mime = tags
        .text_at("File:MIMEType")
        .unwrap_or_else(|| "application/octet-stream".into());
    if !mime.starts_with("image/") && !RAW_FORMATS.contains(&format.as_str()) {
        return Err(unsupported(format!(
            "it is not a still image: exiftool reads it as {file_type} ({mime})"
        )));
    }

    let raw = RAW_FORMATS.contains(&format.as_str());
    let Some((width, height)) = dimensions(&tags, raw) else {
        let why = error
            .or_else(|| tags.text_at("ExifTool:Warning"))
            .map(|e| format!(" (exiftool: {e})"))
            .unwrap_or_default();
        return Err(ImageError::Corrupt {
            path: path.to_path_buf(),
            cause: format!("its {file_type} header gives no pixel dimensions{why}"),
        });
    };

    let orientation = ["IFD0:Orientation", "XMP-tiff:Orientation"]
        .iter()
        .find_map(|key| tags.number_at(key))
        .filter(|o| (1.0..=8.0).contains(o) && o.fract() == 0.0)
        .map(|o| o as u8);
    let swapped = if HEIF_FORMATS.contains(&format.as_str()) {
        // HEIF: irot (counter-clockwise quarter turns, which exiftool shows in degrees).
        matches!(
            tags.number_at("QuickTime:Rotation").map(|r| r as i64),
            Some(90 | 270)
        )
    } else {
        matches!(orientation, Some(5..=8))
    };
    let (display_width, display_height) = if swapped {
        (height, width)
    } else {
        (width, height)
    };

    let color_space = printed
        .text_at("ICC_Profile:ProfileDescription")
        .or_else(|| printed.text_at("ExifIFD:ColorSpace"))
        .or_else(|| printed.text_named("ColorSpace"));
    let make = tags
        .text_at("IFD0:Make")
        .or_else(|| tags.text_named("Make"));
    let model = tags
        .text_at("IFD0:Model")
        .or_else(|| tags.text_named("Model"));
    let date_time_original = tags
        .text_at("ExifIFD:DateTimeOriginal")
        .or_else(|| tags.text_at("XMP-exif:DateTimeOriginal"))
        .or_else(|| tags.text_named("DateTimeOriginal"))
        .filter(|d| d.chars().any(|c| c.is_ascii_digit() && c != '0'));
    let gps = gps(&tags);

    Ok(ImageFacts {
        format,
        mime,
        width,
        height,
        orientation,
        display_width,
        display_height,
        color_space,
        make,
        model,
        date_time_original,
        gps,
        warnings,
        metadata: Value::Object(numeric),
        metadata_readable: Value::Object(readable),
    })
}

/// Drops `SourceFile` and the `System:` group (the local copy's name, folder, dates, mode).
fn strip_local_file_facts(map: &mut Map<String, Value>) {
    map.retain(|key, _| key != "SourceFile" && !key.starts_with("System:"));
}

/// Header dimensions: the container's own header first (JPEG SOF, PNG IHDR, GIF screen,
/// RIFF/WebP, BMP, TIFF IFD0, HEIF ispe), then exiftool's Composite:ImageSize (which for RAWs
/// knows where the full-size image is, so it comes first for them).
fn dimensions(tags: &Tags, raw: bool) -> Option<(u32, u32)> {
    const HEADER_GROUPS: &[&str] = &["File", "PNG", "GIF", "RIFF", "IFD0"];
    let composite = || {
        let size = tags.text_at("Composite:ImageSize")?;
        let mut parts = size
            .split(|c: char| c == 'x' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(|p| p.parse::<f64>().ok());
        let (w, h) = (parts.next()??, parts.next()??);
        to_dimensions(w, h)
    };
    let header = || {
        HEADER_GROUPS.iter().find_map(|group| {
            let w = tags.number_at(&format!("{group}:ImageWidth"))?;
            let h = tags.number_at(&format!("{group}:ImageHeight"))?;
            to_dimensions(w, h)
        })
    };
    if raw {
        composite().or_else(header)
    } else {
        header().or_else(composite)
    }
}

fn to_dimensions(w: f64, h: f64) -> Option<(u32, u32)> {
    let ok = |v: f64| v.is_finite() && v >= 1.0 && v <= f64::from(u32::MAX) && v.fract() == 0.0;
    (ok(w) && ok(h)).then_some((w as u32, h as u32))
}

/// The position: exiftool's signed Composite tags, else XMP's (signed with -n), else the raw
/// EXIF GPS values with their N/S, E/W and above/below-sea-level references.
fn gps(tags: &Tags) -> Option<Gps> {
    let signed = |value: Option<f64>, reference: Option<String>, negative: &[&str]| {
        let value = value?;
        let flip = reference.is_some_and(|r| negative.contains(&r.trim()));
        Some(if flip { -value.abs() } else { value })
    };
    let latitude = tags
        .number_at("Composite:GPSLatitude")
        .or_else(|| tags.number_at("XMP-exif:GPSLatitude"))
        .or_else(|| {
            signed(
                tags.number_at("GPS:GPSLatitude"),
                tags.text_at("GPS:GPSLatitudeRef"),
                &["S", "s"],
            )
        })?;
    let longitude = tags
        .number_at("Composite:GPSLongitude")
        .or_else(|| tags.number_at("XMP-exif:GPSLongitude"))
        .or_else(|| {
            signed(
                tags.number_at("GPS:GPSLongitude"),
                tags.text_at("GPS:GPSLongitudeRef"),
                &["W", "w"],
            )
        })?;
    if !(latitude.is_finite()
        && longitude.is_finite()
        && latitude.abs() <= 90.0
        && longitude.abs() <= 180.0)
    {
        return None;
    }
    let altitude = tags
        .number_at("Composite:GPSAltitude")
        .or_else(|| {
            signed(
                tags.number_at("GPS:GPSAltitude"),
                tags.text_at("GPS:GPSAltitudeRef"),
                &["1"],
            )
        })
        .filter(|a| a.is_finite());
    Some(Gps {
        latitude,
        longitude,
        altitude,
    })
}

/// Lookups in one exiftool object (`Group:Tag` keys).
struct Tags<'a>(&'a Map<String, Value>);

impl Tags<'_> {
    /// The value at `key` as trimmed text (numbers too: a Model can be "5300"); None if empty.
    fn text_at(&self, key: &str) -> Option<String> {
        as_text(self.0.get(key)?)
    }

    /// The first tag called `name` in any group but IFD1 (the EXIF thumbnail's).
    fn text_named(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .filter(|(key, _)| {
                key.rsplit_once(':')
                    .is_some_and(|(group, tag)| tag == name && group != "IFD1")
            })
            .find_map(|(_, value)| as_text(value))
    }

    /// The value at `key` as a number (exiftool prints some numbers as strings).
    fn number_at(&self, key: &str) -> Option<f64> {
        match self.0.get(key)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

fn as_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

// --- proxies ------------------------------------------------------------------------------

/// Decodes `path` (described by `facts`, from [`inspect`]) and writes `proxy.jpg` and
/// `thumbnail.jpg` into `out_dir` (created if missing; existing files of those names are
/// replaced).
///
/// - jpeg, png, gif (first frame), bmp, tiff, webp: the `image` crate, with allocation limits
///   derived from the header and the pixel limit, so a file whose frames claim more than its
///   header (a GIF decompression bomb) is refused instead of allocated. Content the crate does
///   not support (an exotic TIFF compression) goes to ffmpeg.
/// - camera RAWs: the largest embedded preview (JpgFromRaw, PreviewImage, ...), extracted
///   with `exiftool -b`, with the RAW's orientation.
/// - HEIC/HEIF/AVIF: `heif-convert` (Debian `libheif-examples`), which applies the container's
///   rotation and mirroring itself; without it ffmpeg, if it can read the file (ffmpeg 5 reads
///   single-image AVIF, not HEIC grids).
/// - anything else exiftool calls an image (JPEG 2000, JPEG XL, PSD, ...): ffmpeg.
///
/// The EXIF orientation is `facts.orientation` (exiftool's reading), else what the decoder
/// reads itself; it is applied to the scaled image (the same result as turning first, without
/// turning a big image at full size). Transparent pixels are composited on white.
pub async fn make_proxies(
    path: &Path,
    facts: &ImageFacts,
    out_dir: &Path,
    options: &ImageProxyOptions,
) -> Result<ImageProxies, ImageError> {
    let (absolute, _) = checked_file(path).await?;
    check_pixels(path, facts.width, facts.height, &options.limits)?;
    let io_error = |source| ImageError::Io {
        path: out_dir.to_path_buf(),
        source,
    };
    tokio::fs::create_dir_all(out_dir).await.map_err(io_error)?;

    let decoded = decode(path, &absolute, facts, options, &Tools::default()).await?;
    let decoded_width = decoded.image.width();
    let decoded_height = decoded.image.height();
    let orientation_applied = decoded.orientation.map(Orientation::to_exif);
    let settings = RenderSettings::from(options);
    let rendered = blocking(path, move || {
        render(decoded.image, decoded.orientation, settings)
    })
    .await?
    .map_err(|cause| ImageError::Corrupt {
        path: path.to_path_buf(),
        cause: format!("its decoded pixels could not be encoded as JPEG ({cause})"),
    })?;

    let proxy = write_rendition(out_dir, "proxy.jpg", rendered.proxy).await?;
    let thumbnail = write_rendition(out_dir, "thumbnail.jpg", rendered.thumbnail).await?;
    Ok(ImageProxies {
        proxy,
        thumbnail,
        decoded_with: decoded.with,
        decoded_width,
        decoded_height,
        orientation_applied,
    })
}

/// The external decoders (names overridable so tests can simulate a missing one).
#[derive(Debug, Clone)]
struct Tools {
    exiftool: &'static str,
    heif_convert: &'static str,
    ffmpeg: &'static str,
}

impl Default for Tools {
    fn default() -> Self {
        Tools {
            exiftool: "exiftool",
            heif_convert: "heif-convert",
            ffmpeg: "ffmpeg",
        }
    }
}

/// Decoded pixels, the orientation still to apply, and who decoded them.
struct Decoded {
    image: DynamicImage,
    orientation: Option<Orientation>,
    with: DecodedWith,
}

/// Why the image crate did not decode something.
enum DecodeFailure {
    /// The decoder's own header is over the pixel limit.
    TooLarge {
        width: u32,
        height: u32,
    },
    /// Decoding would allocate more than the header justifies.
    Limits(String),
    /// A format or feature the crate does not support.
    Unsupported(String),
    /// Damaged or truncated data.
    Corrupt(String),
    Io(std::io::Error),
}

async fn decode(
    path: &Path,
    absolute: &Path,
    facts: &ImageFacts,
    options: &ImageProxyOptions,
    tools: &Tools,
) -> Result<Decoded, ImageError> {
    let format = facts.format.as_str();
    let facts_orientation = facts.orientation.and_then(Orientation::from_exif);
    let budget = Budget::new(facts, &options.limits);

    if RAW_FORMATS.contains(&format) {
        return decode_raw_preview(path, absolute, facts, options, budget, tools).await;
    }
    if HEIF_FORMATS.contains(&format) {
        return decode_heif(path, absolute, facts, options, budget, tools).await;
    }
    if IMAGE_CRATE_FORMATS.contains(&format) {
        let file = absolute.to_path_buf();
        let jpeg = matches!(format, "jpeg" | "mpo");
        let result = blocking(path, move || {
            if jpeg {
                // The JPEG decoder fills a truncated image in with grey instead of failing:
                // check the structure reaches its end marker first.
                let bytes = std::fs::read(&file).map_err(DecodeFailure::Io)?;
                jpeg_reaches_its_end(&bytes).map_err(DecodeFailure::Corrupt)?;
                decode_reader(ImageReader::new(Cursor::new(bytes)), budget)
            } else {
                let reader = ImageReader::open(&file).map_err(DecodeFailure::Io)?;
                decode_reader(reader, budget)
            }
        })
        .await?;
        return match result {
            Ok((image, own)) => Ok(Decoded {
                image,
                orientation: orientation_to_apply(facts_orientation.or(own)),
                with: DecodedWith::ImageCrate,
            }),
            Err(DecodeFailure::Unsupported(cause)) => {
                tracing::debug!(path = %path.display(), %cause, "trying ffmpeg");
                decode_with_ffmpeg(path, absolute, options, budget, tools)
                    .await
                    .map(|image| Decoded {
                        image,
                        orientation: orientation_to_apply(facts_orientation),
                        with: DecodedWith::Ffmpeg,
                    })
                    .map_err(|ffmpeg| ImageError::Unsupported {
                        path: path.to_path_buf(),
                        cause: format!(
                            "this {} uses a feature no local decoder supports (image crate: \
                             {cause}; ffmpeg: {ffmpeg})",
                            facts.format.to_uppercase()
                        ),
                    })
            }
            Err(other) => Err(failure_error(path, facts, budget, other)),
        };
    }
    // Formats only ffmpeg may know (JPEG 2000, JPEG XL, PSD, ICO, ...).
    decode_with_ffmpeg(path, absolute, options, budget, tools)
        .await
        .map(|image| Decoded {
            image,
            orientation: orientation_to_apply(facts_orientation),
            with: DecodedWith::Ffmpeg,
        })
        .map_err(|ffmpeg| ImageError::Unsupported {
            path: path.to_path_buf(),
            cause: format!(
                "no local decoder for {} (ffmpeg: {ffmpeg})",
                facts.format.to_uppercase()
            ),
        })
}

/// None for "nothing to do".
fn orientation_to_apply(orientation: Option<Orientation>) -> Option<Orientation> {
    orientation.filter(|o| *o != Orientation::NoTransforms)
}

fn failure_error(
    path: &Path,
    facts: &ImageFacts,
    budget: Budget,
    failure: DecodeFailure,
) -> ImageError {
    let path = path.to_path_buf();
    match failure {
        // The decoder's header claims more than exiftool's did, and more than the limit.
        DecodeFailure::TooLarge { width, height } => ImageError::TooLarge {
            path,
            width,
            height,
            max_pixels: budget.max_pixels,
        },
        DecodeFailure::Limits(cause) => ImageError::Corrupt {
            path,
            cause: format!(
                "decoding it needs more memory than its {}x{} header allows ({cause}): it is \
                 damaged, or built to exhaust memory (a decompression bomb)",
                facts.width, facts.height
            ),
        },
        DecodeFailure::Unsupported(cause) => ImageError::Unsupported { path, cause },
        DecodeFailure::Corrupt(cause) => ImageError::Corrupt { path, cause },
        DecodeFailure::Io(source) => ImageError::Io { path, source },
    }
}

/// What a decode may cost: the pixel limit, and an allocation cap of the header's pixels (at
/// most the limit) × 16 bytes (RGBA of 32-bit floats, the widest decoded pixel) + 32 MiB of
/// decoder scratch.
#[derive(Debug, Clone, Copy)]
struct Budget {
    max_pixels: u64,
    max_alloc: u64,
}

impl Budget {
    fn new(facts: &ImageFacts, limits: &ImageLimits) -> Self {
        let header = u64::from(facts.width) * u64::from(facts.height);
        Budget {
            max_pixels: limits.max_pixels,
            max_alloc: header
                .min(limits.max_pixels)
                .saturating_mul(MAX_BYTES_PER_PIXEL)
                .saturating_add(DECODER_HEADROOM),
        }
    }

    fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        limits.max_alloc = Some(self.max_alloc);
        limits
    }
}

/// Decodes with the image crate under `budget`: the decoder's own header is checked against
/// the pixel limit before a pixel is read. Returns the image and the orientation the decoder
/// read (EXIF in JPEG/PNG/TIFF/WebP).
fn decode_reader<R: BufRead + Seek>(
    reader: ImageReader<R>,
    budget: Budget,
) -> Result<(DynamicImage, Option<Orientation>), DecodeFailure> {
    let mut reader = reader.with_guessed_format().map_err(DecodeFailure::Io)?;
    reader.limits(budget.limits());
    let mut decoder = reader.into_decoder().map_err(decode_failure)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > budget.max_pixels {
        return Err(DecodeFailure::TooLarge { width, height });
    }
    // A malformed EXIF block is no reason to lose the picture.
    let orientation = decoder.orientation().ok();
    let image = DynamicImage::from_decoder(decoder).map_err(decode_failure)?;
    Ok((image, orientation))
}

fn decode_failure(error: ::image::ImageError) -> DecodeFailure {
    use ::image::ImageError as E;
    match error {
        E::Limits(e) => DecodeFailure::Limits(e.to_string()),
        E::Unsupported(e) => DecodeFailure::Unsupported(e.to_string()),
        E::Decoding(e) => DecodeFailure::Corrupt(e.to_string()),
        E::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeFailure::Corrupt("its data ends early".into())
        }
        E::IoError(e) => DecodeFailure::Io(e),
        other => DecodeFailure::Corrupt(other.to_string()),
    }
}

/// Walks a JPEG's segments from its start-of-image marker to its end-of-image marker
/// (skipping the entropy-coded data after each start-of-scan), so that a truncated file is
/// told apart from a complete one. Data after the end marker (maker trailers, a motion
/// photo's video) is not looked at. Content that does not start like a JPEG is left to the
/// decoder to judge.
fn jpeg_reaches_its_end(data: &[u8]) -> Result<(), String> {
    const TRUNCATED: &str = "its data stops before the JPEG end-of-image marker";
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Ok(());
    }
    let mut i = 2;
    loop {
        // Garbage between segments is skipped, as libjpeg does (with a warning).
        while i < data.len() && data[i] != 0xFF {
            i += 1;
        }
        // 0xFF fill bytes before a marker.
        while i < data.len() && data[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = data.get(i) else {
            return Err(TRUNCATED.into());
        };
        i += 1;
        match marker {
            0xD9 => return Ok(()),
            // Markers without a length: SOI, TEM, RSTn (and 0x00, a stray stuffed byte).
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        let (Some(&hi), Some(&lo)) = (data.get(i), data.get(i + 1)) else {
            return Err(TRUNCATED.into());
        };
        let length = usize::from(u16::from_be_bytes([hi, lo]));
        if length < 2 {
            return Err(format!(
                "a JPEG segment (marker 0x{marker:02X}) has an impossible length of {length}"
            ));
        }
        i += length;
        if i > data.len() {
            return Err(TRUNCATED.into());
        }
        if marker == 0xDA {
            // Entropy-coded data: 0xFF is followed by a stuffed 0x00 or a restart marker
            // (RST0-7) inside it; any other marker ends it.
            loop {
                let Some(offset) = data[i..].iter().position(|&b| b == 0xFF) else {
                    return Err(TRUNCATED.into());
                };
                i += offset;
                match data.get(i + 1) {
                    None => return Err(TRUNCATED.into()),
                    Some(0x00 | 0xD0..=0xD7) => i += 2,
                    Some(_) => break,
                }
            }
        }
    }
}

/// A RAW's largest embedded image, extracted with `exiftool -b` and decoded in memory.
async fn decode_raw_preview(
    path: &Path,
    absolute: &Path,
    facts: &ImageFacts,
    options: &ImageProxyOptions,
    budget: Budget,
    tools: &Tools,
) -> Result<Decoded, ImageError> {
    let Some(tag) = largest_preview_tag(&facts.metadata) else {
        return Err(ImageError::Unsupported {
            path: path.to_path_buf(),
            cause: format!(
                "no local decoder for {} RAW data, and the file embeds no preview image \
                 (JpgFromRaw, PreviewImage, ...) to show instead; convert it to DNG or JPEG \
                 with the camera maker's software",
                facts.format.to_uppercase()
            ),
        });
    };
    let args: Vec<OsString> = vec!["-b".into(), format!("-{tag}").into(), absolute.into()];
    let mut run = RunOptions::with_timeout(options.decode_timeout);
    run.max_stdout = budget.max_alloc.try_into().unwrap_or(usize::MAX);
    let output = process::run_with(tools.exiftool, &args, run)
        .await
        .map_err(|source| ImageError::Tool {
            path: path.to_path_buf(),
            source,
        })?;
    if output.stdout.is_empty() || output.stdout_truncated {
        return Err(ImageError::Corrupt {
            path: path.to_path_buf(),
            cause: format!("its embedded preview ({tag}) could not be extracted"),
        });
    }
    let bytes = output.stdout;
    let result = blocking(path, move || {
        decode_reader(ImageReader::new(Cursor::new(bytes)), budget)
    })
    .await?;
    match result {
        // The preview's own EXIF (if any) is ignored: the RAW's orientation applies.
        Ok((image, _)) => Ok(Decoded {
            image,
            orientation: orientation_to_apply(facts.orientation.and_then(Orientation::from_exif)),
            with: DecodedWith::EmbeddedPreview { tag },
        }),
        Err(failure) => Err(match failure_error(path, facts, budget, failure) {
            ImageError::Corrupt { path, cause } => ImageError::Corrupt {
                path,
                cause: format!("its embedded preview ({tag}) is unreadable: {cause}"),
            },
            other => other,
        }),
    }
}

/// The `Group:Tag` of the largest embedded image exiftool lists ("(Binary data N bytes...)").
fn largest_preview_tag(metadata: &Value) -> Option<String> {
    let map = metadata.as_object()?;
    map.iter()
        .filter_map(|(key, value)| {
            let (_, tag) = key.rsplit_once(':')?;
            if !RAW_PREVIEW_TAGS.contains(&tag) {
                return None;
            }
            let text = value.as_str()?;
            let size: u64 = text
                .strip_prefix("(Binary data ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some((size, key.clone()))
        })
        .max_by_key(|(size, _)| *size)
        .map(|(_, key)| key)
}

/// HEIC/HEIF/AVIF: heif-convert to PNG in a scratch folder, else ffmpeg.
async fn decode_heif(
    path: &Path,
    absolute: &Path,
    facts: &ImageFacts,
    options: &ImageProxyOptions,
    budget: Budget,
    tools: &Tools,
) -> Result<Decoded, ImageError> {
    let io_error = |source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    };
    let scratch = ScratchDir::create_in(&std::env::temp_dir(), "heif")
        .await
        .map_err(io_error)?;
    let output = scratch.path().join("decoded.png");
    let args: Vec<&OsStr> = vec![absolute.as_os_str(), output.as_os_str()];
    match process::run_with(
        tools.heif_convert,
        &args,
        RunOptions::with_timeout(options.decode_timeout),
    )
    .await
    {
        Ok(_) => {
            let decoded =
                heif_output(scratch.path())
                    .await
                    .ok_or_else(|| ImageError::BadOutput {
                        path: path.to_path_buf(),
                        tool: tools.heif_convert.into(),
                        cause: "it reported success but wrote no PNG".into(),
                    })?;
            let result = blocking(path, move || {
                let reader = ImageReader::open(&decoded).map_err(DecodeFailure::Io)?;
                decode_reader(reader, budget)
            })
            .await?;
            // libheif has applied irot/imir; EXIF orientation is not applied again.
            result
                .map(|(image, _)| Decoded {
                    image,
                    orientation: None,
                    with: DecodedWith::HeifConvert,
                })
                .map_err(|failure| failure_error(path, facts, budget, failure))
        }
        Err(ToolError::Failed { stderr_tail, .. }) => Err(ImageError::Corrupt {
            path: path.to_path_buf(),
            cause: format!(
                "heif-convert cannot decode it ({})",
                or_silent(&stderr_tail)
            ),
        }),
        Err(ToolError::Missing { .. }) => {
            tracing::debug!(path = %path.display(), "heif-convert not installed; trying ffmpeg");
            decode_with_ffmpeg(path, absolute, options, budget, tools)
                .await
                .map(|image| Decoded {
                    image,
                    orientation: None,
                    with: DecodedWith::Ffmpeg,
                })
                .map_err(|ffmpeg| ImageError::Unsupported {
                    path: path.to_path_buf(),
                    cause: format!(
                        "no local decoder for {}; install libheif-examples (it provides \
                         heif-convert); ffmpeg cannot read it either ({ffmpeg})",
                        facts.format.to_uppercase()
                    ),
                })
        }
        Err(source) => Err(ImageError::Tool {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// heif-convert's PNG: `decoded.png`, or `decoded-1.png` when the file holds several
/// top-level images (it writes one per image, numbered from 1).
async fn heif_output(dir: &Path) -> Option<PathBuf> {
    let single = dir.join("decoded.png");
    if tokio::fs::metadata(&single).await.is_ok() {
        return Some(single);
    }
    let first = dir.join("decoded-1.png");
    tokio::fs::metadata(&first).await.ok().map(|_| first)
}

/// ffmpeg's first video frame as PNG on stdout, decoded by the image crate under `budget`.
/// Returns a one-line cause for the caller's message on failure.
async fn decode_with_ffmpeg(
    path: &Path,
    absolute: &Path,
    options: &ImageProxyOptions,
    budget: Budget,
    tools: &Tools,
) -> Result<DynamicImage, String> {
    // "file:" keeps a name with ':' from reading as a protocol.
    let mut input = OsString::from("file:");
    input.push(absolute.as_os_str());
    let mut args: Vec<OsString> = ["-nostdin", "-hide_banner", "-loglevel", "error"]
        .into_iter()
        .map(OsString::from)
        .collect();
    // ffmpeg would rotate by a display matrix; the orientation is applied here instead.
    args.extend(["-noautorotate", "-i"].map(OsString::from));
    args.push(input);
    args.extend(
        [
            "-map",
            "0:v:0",
            "-frames:v",
            "1",
            "-f",
            "image2pipe",
            "-c:v",
            "png",
            "-",
        ]
        .map(OsString::from),
    );
    let mut run = RunOptions::with_timeout(options.decode_timeout);
    run.max_stdout = budget.max_alloc.try_into().unwrap_or(usize::MAX);
    let output = match process::run_with(tools.ffmpeg, &args, run).await {
        Ok(output) => output,
        Err(ToolError::Failed { stderr_tail, .. }) => {
            return Err(first_line(or_silent(&stderr_tail)).to_owned());
        }
        Err(ToolError::Missing { .. }) => return Err("ffmpeg is not installed".into()),
        Err(other) => return Err(other.to_string()),
    };
    if output.stdout_truncated {
        return Err("its decoded frame is larger than the memory budget".into());
    }
    if output.stdout.is_empty() {
        return Err("it decoded no picture".into());
    }
    let bytes = output.stdout;
    let result = blocking(path, move || {
        decode_reader(ImageReader::new(Cursor::new(bytes)), budget)
    })
    .await
    .map_err(|e| e.to_string())?;
    result
        .map(|(image, _)| image)
        .map_err(|failure| match failure {
            DecodeFailure::TooLarge { width, height } => {
                format!("its frame is {width}x{height}, over the pixel limit")
            }
            DecodeFailure::Limits(cause)
            | DecodeFailure::Unsupported(cause)
            | DecodeFailure::Corrupt(cause) => format!("its PNG is unreadable ({cause})"),
            DecodeFailure::Io(e) => e.to_string(),
        })
}

/// Runs CPU-bound work on the blocking pool; a panic in a decoder becomes
/// [`ImageError::Corrupt`] rather than taking the worker down.
async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ImageError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|join| ImageError::Corrupt {
            path: path.to_path_buf(),
            cause: if join.is_panic() {
                "the decoder crashed on it".into()
            } else {
                "decoding was cancelled".into()
            },
        })
}

#[derive(Debug, Clone, Copy)]
struct RenderSettings {
    proxy_max_side: u32,
    proxy_max_bytes: u64,
    thumbnail_max_side: u32,
    quality: u8,
}

impl From<&ImageProxyOptions> for RenderSettings {
    fn from(options: &ImageProxyOptions) -> Self {
        RenderSettings {
            proxy_max_side: options.proxy_max_side.max(1),
            proxy_max_bytes: options.proxy_max_bytes,
            thumbnail_max_side: options.thumbnail_max_side.max(1),
            quality: options.jpeg_quality.clamp(1, 100),
        }
    }
}

struct Encoded {
    jpeg: Vec<u8>,
    width: u32,
    height: u32,
}

struct Rendered {
    proxy: Encoded,
    thumbnail: Encoded,
}

/// Scales, orients and encodes both renditions. Scaling comes first (the long side is the
/// long side whatever the orientation), so a big image is never turned at full size. The
/// proxy is shrunk (from the full decoded image each time) until it fits `proxy_max_bytes`,
/// down to [`MIN_PROXY_SIDE`].
fn render(
    image: DynamicImage,
    orientation: Option<Orientation>,
    settings: RenderSettings,
) -> Result<Rendered, String> {
    let long = image.width().max(image.height());
    let floor = MIN_PROXY_SIDE.min(long);
    let mut side = settings.proxy_max_side.min(long);
    let (proxy_image, proxy) = loop {
        let mut scaled = fit(&image, side);
        if let Some(orientation) = orientation {
            scaled.apply_orientation(orientation);
        }
        let jpeg = encode_jpeg(&scaled, settings.quality)?;
        if jpeg.len() as u64 <= settings.proxy_max_bytes || side <= floor {
            if jpeg.len() as u64 > settings.proxy_max_bytes {
                tracing::warn!(
                    bytes = jpeg.len(),
                    max = settings.proxy_max_bytes,
                    "proxy still over its byte limit at its smallest size"
                );
            }
            let encoded = Encoded {
                width: scaled.width(),
                height: scaled.height(),
                jpeg,
            };
            break (scaled, encoded);
        }
        // JPEG size grows roughly with the pixel count: aim below the limit.
        let ratio = (settings.proxy_max_bytes as f64 / jpeg.len() as f64).sqrt() * 0.95;
        side = ((f64::from(side) * ratio.clamp(0.5, 0.9)) as u32).max(floor);
    };
    let thumb_image = fit(&proxy_image, settings.thumbnail_max_side);
    let thumbnail = Encoded {
        jpeg: encode_jpeg(&thumb_image, settings.quality)?,
        width: thumb_image.width(),
        height: thumb_image.height(),
    };
    Ok(Rendered { proxy, thumbnail })
}

/// `image` scaled so that its long side is at most `side` (never upscaled), aspect kept.
fn fit(image: &DynamicImage, side: u32) -> DynamicImage {
    let (w, h) = image.dimensions();
    let long = w.max(h);
    if long <= side {
        return image.clone();
    }
    let scale = |v: u32| ((f64::from(v) * f64::from(side) / f64::from(long)).round() as u32).max(1);
    let (nw, nh) = if w >= h {
        (side, scale(h))
    } else {
        (scale(w), side)
    };
    image.resize_exact(nw, nh, FilterType::CatmullRom)
}

/// 8-bit RGB (transparency composited on white) JPEG bytes.
fn encode_jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, String> {
    let rgb = flatten_on_white(image);
    let mut out = Vec::new();
    ::image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&rgb)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn flatten_on_white(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    let (w, h) = rgba.dimensions();
    RgbImage::from_fn(w, h, |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| {
            let (c, a) = (u32::from(c), u32::from(a));
            ((c * a + 255 * (255 - a) + 127) / 255) as u8
        };
        ::image::Rgb([over(r), over(g), over(b)])
    })
}

/// Writes `name` in `dir` via a temporary name and a rename, so a reader never sees half.
async fn write_rendition(
    dir: &Path,
    name: &str,
    encoded: Encoded,
) -> Result<Rendition, ImageError> {
    let path = dir.join(name);
    let partial = dir.join(format!(".{name}.part"));
    let io_error = |source| ImageError::Io {
        path: path.clone(),
        source,
    };
    tokio::fs::write(&partial, &encoded.jpeg)
        .await
        .map_err(io_error)?;
    tokio::fs::rename(&partial, &path).await.map_err(io_error)?;
    Ok(Rendition {
        path: path.clone(),
        width: encoded.width,
        height: encoded.height,
        bytes: encoded.jpeg.len() as u64,
    })
}

// --- shared helpers -----------------------------------------------------------------------

/// A uniquely named folder for a tool's output, removed (with its content) when dropped.
/// Shared with [`crate::pdf`].
#[derive(Debug)]
pub(crate) struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates `.mediasift-<what>-<pid>-<n>-<nanos>` in `parent`.
    pub(crate) async fn create_in(parent: &Path, what: &str) -> std::io::Result<ScratchDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!(
                ".mediasift-{what}-{}-{n}-{nanos}",
                std::process::id()
            ));
            match tokio::fs::create_dir(&path).await {
                Ok(()) => return Ok(ScratchDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), %error, "scratch folder not removed");
        }
    }
}

fn or_silent(stderr_tail: &str) -> &str {
    if stderr_tail.trim().is_empty() {
        "it printed nothing on stderr"
    } else {
        stderr_tail
    }
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(json: Value) -> Map<String, Value> {
        json.as_object().cloned().expect("object")
    }

    #[test]
    fn gps_from_raw_exif_references() {
        let map = tags(serde_json::json!({
            "GPS:GPSLatitudeRef": "S", "GPS:GPSLatitude": 15.5,
            "GPS:GPSLongitudeRef": "W", "GPS:GPSLongitude": "48.25",
            "GPS:GPSAltitudeRef": 1, "GPS:GPSAltitude": 10.0,
        }));
        let gps = gps(&Tags(&map)).expect("gps");
        assert_eq!(
            gps,
            Gps {
                latitude: -15.5,
                longitude: -48.25,
                altitude: Some(-10.0)
            }
        );
        let bad = tags(serde_json::json!({
            "Composite:GPSLatitude": 123.0, "Composite:GPSLongitude": 1.0
        }));
        assert_eq!(super::gps(&Tags(&bad)), None);
    }

    #[test]
    fn dimensions_prefer_the_container_header() {
        let map = tags(serde_json::json!({
            "IFD1:ImageWidth": 160, "File:ImageWidth": 4000, "File:ImageHeight": 3000,
            "Composite:ImageSize": "10 10",
        }));
        assert_eq!(dimensions(&Tags(&map), false), Some((4000, 3000)));
        assert_eq!(dimensions(&Tags(&map), true), Some((10, 10)));
        let none = tags(serde_json::json!({"File:ImageWidth": 0, "File:ImageHeight": 3}));
        assert_eq!(dimensions(&Tags(&none), false), None);
    }

    #[test]
    fn largest_preview_wins() {
        let metadata = serde_json::json!({
            "IFD1:ThumbnailImage": "(Binary data 8639 bytes, use -b option to extract)",
            "SubIFD:JpgFromRaw": "(Binary data 1234567 bytes, use -b option to extract)",
            "IFD0:PreviewImage": "(Binary data 50000 bytes, use -b option to extract)",
            "IFD0:Make": "Canon",
        });
        assert_eq!(
            largest_preview_tag(&metadata).as_deref(),
            Some("SubIFD:JpgFromRaw")
        );
        assert_eq!(largest_preview_tag(&serde_json::json!({})), None);
    }

    #[test]
    fn jpeg_structure_reaches_its_end() {
        // SOI, an APP0 of length 4, SOS of length 3 + data with a stuffed FF00 and RST0, EOI.
        let complete = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 1, 2, 0xFF, 0xDA, 0x00, 0x03, 9, 5, 0xFF, 0x00, 6,
            0xFF, 0xD0, 7, 0xFF, 0xD9,
        ];
        assert_eq!(jpeg_reaches_its_end(&complete), Ok(()));
        // A trailer after EOI (even one that looks like markers) is not looked at.
        let mut trailed = complete.to_vec();
        trailed.extend([0xFF, 0xDA, 0x00]);
        assert_eq!(jpeg_reaches_its_end(&trailed), Ok(()));
        for cut in 2..complete.len() - 1 {
            assert!(
                jpeg_reaches_its_end(&complete[..cut]).is_err(),
                "cut at {cut} passed"
            );
        }
        assert!(jpeg_reaches_its_end(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01]).is_err());
        assert_eq!(jpeg_reaches_its_end(b"not a jpeg"), Ok(()));
    }

    #[test]
    fn fit_never_upscales_and_keeps_aspect() {
        let image = DynamicImage::new_rgb8(400, 100);
        assert_eq!(fit(&image, 1000).dimensions(), (400, 100));
        assert_eq!(fit(&image, 200).dimensions(), (200, 50));
        let tall = DynamicImage::new_rgb8(3, 4000);
        assert_eq!(fit(&tall, 320).dimensions(), (1, 320));
    }

    #[test]
    fn transparency_goes_white() {
        let mut image = ::image::RgbaImage::new(2, 1);
        image.put_pixel(0, 0, ::image::Rgba([0, 0, 0, 0]));
        image.put_pixel(1, 0, ::image::Rgba([10, 20, 30, 255]));
        let rgb = flatten_on_white(&DynamicImage::ImageRgba8(image));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [10, 20, 30]);
    }

    /// A HEIC made here with heif-enc; without heif-convert (simulated by a name that does not
    /// exist) ffmpeg 5 cannot read HEIC either, and the error says what to install.
    #[tokio::test]
    async fn heic_without_heif_convert_says_what_to_install() {
        let hopper =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/test-media/pillow/hopper.jpg");
        assert!(
            hopper.is_file(),
            "test media {} is missing: run scripts/setup.sh",
            hopper.display()
        );
        let dir = std::env::temp_dir().join(format!("mediasift-heic-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let heic = dir.join("hopper.heic");
        let made = std::process::Command::new("heif-enc")
            .arg("-q")
            .arg("60")
            .arg("-o")
            .arg(&heic)
            .arg(&hopper)
            .output()
            .expect("heif-enc runs: install libheif-examples (scripts/setup.sh)");
        assert!(made.status.success(), "heif-enc failed: {made:?}");

        let facts = inspect(&heic, &ImageLimits::default())
            .await
            .expect("inspect");
        assert_eq!(facts.format, "heic");
        let options = ImageProxyOptions::default();
        let absolute = std::path::absolute(&heic).unwrap();
        let tools = Tools {
            heif_convert: "heif-convert-not-installed",
            ..Tools::default()
        };
        let error = match decode(&heic, &absolute, &facts, &options, &tools).await {
            Ok(_) => panic!("ffmpeg 5 is not expected to decode HEIC"),
            Err(error) => error,
        };
        let message = error.to_string();
        assert!(
            matches!(error, ImageError::Unsupported { .. })
                && message.contains("no local decoder for HEIC")
                && message.contains("install libheif-examples"),
            "{message}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
