//! The EXIF summary of an image: camera, lens, exposure, capture time with its UTC offset,
//! GPS, orientation, dimensions and colour space, read from the exiftool metadata ingest
//! stored (`-G1 -n`: tags as `Group:Tag`, machine-readable values).
//!
//! Where a tag may sit in several groups the first of a fixed order wins: EXIF's own IFDs,
//! then XMP, then maker notes and exiftool's composites (a maker note's `ExposureTime` is the
//! camera's measurement, not what the picture was taken at).
//!
//! The capture time's offset comes from EXIF 2.31's `OffsetTimeOriginal` when the camera
//! wrote one. Many phones do not, but record the GPS fix's UTC time: then the offset is the
//! local capture time minus the GPS time, rounded to the quarter hour (every time zone is a
//! multiple of 15 minutes), provided the two are within 14 hours and the rounding error is
//! under 5 minutes; `offsetSource` says which.

use chrono::{NaiveDateTime, TimeDelta};
use mediasift_media::image::ImageFacts;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The groups a tag is looked up in, first match wins.
const GROUPS: &[&str] = &[
    "ExifIFD",
    "IFD0",
    "GPS",
    "XMP-exif",
    "XMP-exifEX",
    "XMP-tiff",
    "XMP-aux",
    "XMP-xmp",
    "XMP-photoshop",
    "XMP-dc",
    "IPTC",
    "QuickTime",
    "Keys",
    "Composite",
];

/// What [`summarise`] makes of an image's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExifSummary {
    pub format: String,
    /// As displayed (after the orientation), in pixels.
    pub width: u32,
    pub height: u32,
    /// As stored in the file, before the orientation.
    pub stored_width: u32,
    pub stored_height: u32,
    /// EXIF orientation 1–8; the proxy and every analysis see the image turned upright.
    pub orientation: Option<u8>,
    pub orientation_applied: bool,
    pub color_space: Option<String>,
    pub camera: Option<Camera>,
    pub lens: Option<String>,
    pub exposure: Exposure,
    pub captured: Option<CaptureTime>,
    pub gps: Option<Gps>,
    pub software: Option<String>,
    pub artist: Option<String>,
    pub copyright: Option<String>,
    /// What exiftool warned about while reading (damaged EXIF it read past).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Camera {
    pub make: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exposure {
    /// Seconds (1/200 s is 0.005).
    pub exposure_time: Option<f64>,
    pub f_number: Option<f64>,
    pub iso: Option<f64>,
    /// Millimetres, of the lens as used.
    pub focal_length: Option<f64>,
    /// Millimetres, the 35 mm equivalent (absent when the camera wrote 0, "unknown").
    pub focal_length_35mm: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureTime {
    /// ISO 8601: local time with fractional seconds when recorded, and the offset when
    /// known (`2020-08-27T23:16:12.007419-03:00`).
    pub iso8601: String,
    /// The camera's local time as it wrote it (`2020:08:27 23:16:12`).
    pub local: String,
    /// `+hh:mm` / `-hh:mm`, when known.
    pub offset: Option<String>,
    /// `exif` (OffsetTimeOriginal) or `gps` (derived from the GPS fix's UTC time).
    pub offset_source: Option<String>,
}

/// A position in signed decimal degrees (south and west negative), altitude in metres (below
/// sea level negative).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gps {
    pub latitude: f64,
    pub longitude: f64,
    pub altitude: Option<f64>,
}

/// The summary of `facts` (what ingest's exiftool run found).
pub fn summarise(facts: &ImageFacts, orientation_applied: bool) -> ExifSummary {
    let tags = Tags::new(&facts.metadata);
    let make = tags.text("Make");
    let model = tags.text("Model");
    let serial_number = tags.text("SerialNumber");
    let camera = (make.is_some() || model.is_some()).then_some(Camera {
        make,
        model,
        serial_number,
    });
    let lens = tags
        .text("LensModel")
        .or_else(|| tags.text("Lens"))
        .or_else(|| tags.text("LensID"));
    let exposure = Exposure {
        exposure_time: tags.positive("ExposureTime"),
        f_number: tags.positive("FNumber"),
        iso: tags.positive("ISO"),
        focal_length: tags.positive("FocalLength"),
        focal_length_35mm: tags.positive("FocalLengthIn35mmFormat"),
    };
    ExifSummary {
        format: facts.format.clone(),
        width: facts.display_width,
        height: facts.display_height,
        stored_width: facts.width,
        stored_height: facts.height,
        orientation: facts.orientation,
        orientation_applied,
        color_space: facts.color_space.clone(),
        camera,
        lens,
        exposure,
        captured: capture_time(&tags),
        gps: facts.gps.map(|g| Gps {
            latitude: g.latitude,
            longitude: g.longitude,
            altitude: g.altitude,
        }),
        software: tags.text("Software"),
        artist: tags.text("Artist").or_else(|| tags.text("Creator")),
        copyright: tags.text("Copyright").or_else(|| tags.text("Rights")),
        warnings: facts.warnings.clone(),
    }
}

/// exiftool's `Group:Tag` map, read by tag name in [`GROUPS`] order.
struct Tags<'a> {
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Tags<'a> {
    fn new(metadata: &'a Value) -> Self {
        Self {
            map: metadata.as_object(),
        }
    }

    fn value(&self, tag: &str) -> Option<&'a Value> {
        let map = self.map?;
        GROUPS
            .iter()
            .find_map(|group| map.get(&format!("{group}:{tag}")))
            .or_else(|| {
                map.iter()
                    .find(|(key, _)| key.rsplit(':').next() == Some(tag))
                    .map(|(_, v)| v)
            })
    }

    /// A non-blank string (numbers as exiftool wrote them).
    fn text(&self, tag: &str) -> Option<String> {
        let text = match self.value(tag)? {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            _ => return None,
        };
        (!text.is_empty()).then_some(text)
    }

    /// A number above zero (EXIF writes 0 for "unknown").
    fn positive(&self, tag: &str) -> Option<f64> {
        let number = match self.value(tag)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }?;
        (number.is_finite() && number > 0.0).then_some(number)
    }
}

fn capture_time(tags: &Tags<'_>) -> Option<CaptureTime> {
    let local = tags
        .text("DateTimeOriginal")
        .or_else(|| tags.text("CreateDate"))?;
    let when = parse_exif_time(&local)?;
    let subseconds = tags
        .text("SubSecTimeOriginal")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    let (offset, source) = match tags
        .text("OffsetTimeOriginal")
        .and_then(|o| valid_offset(&o))
    {
        Some(offset) => (Some(offset), Some("exif")),
        None => match tags
            .text("GPSDateTime")
            .and_then(|g| offset_from_gps(when, &g))
        {
            Some(offset) => (Some(offset), Some("gps")),
            None => (None, None),
        },
    };
    let mut iso8601 = when.format("%Y-%m-%dT%H:%M:%S").to_string();
    if let Some(fraction) = &subseconds {
        iso8601.push('.');
        iso8601.push_str(fraction);
    }
    if let Some(offset) = &offset {
        iso8601.push_str(offset);
    }
    Some(CaptureTime {
        iso8601,
        local,
        offset,
        offset_source: source.map(str::to_owned),
    })
}

/// `2020:08:27 23:16:12` (seconds optional, trailing junk such as a time zone ignored); an
/// all-zero placeholder is no time.
fn parse_exif_time(text: &str) -> Option<NaiveDateTime> {
    let head: String = text.trim().chars().take(19).collect();
    NaiveDateTime::parse_from_str(&head, "%Y:%m:%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(&head, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(&head, "%Y:%m:%d %H:%M"))
        .ok()
}

/// `+02:00` → itself; anything else (`   :  `, `+2`) → None.
fn valid_offset(text: &str) -> Option<String> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let ok = bytes.len() == 6
        && (bytes[0] == b'+' || bytes[0] == b'-')
        && bytes[1..3].iter().all(u8::is_ascii_digit)
        && bytes[3] == b':'
        && bytes[4..6].iter().all(u8::is_ascii_digit);
    ok.then(|| text.to_owned())
}

/// The offset of `local` from the GPS fix's UTC time (`2020:08:28 02:16:08Z`), rounded to the
/// quarter hour.
fn offset_from_gps(local: NaiveDateTime, gps: &str) -> Option<String> {
    let utc = parse_exif_time(gps.trim_end_matches('Z'))?;
    let difference = local - utc;
    let minutes = difference.num_seconds() as f64 / 60.0;
    let rounded = (minutes / 15.0).round() * 15.0;
    if rounded.abs() > 14.0 * 60.0 || (minutes - rounded).abs() >= 5.0 {
        return None;
    }
    let rounded = TimeDelta::minutes(rounded as i64).num_minutes();
    let sign = if rounded < 0 { '-' } else { '+' };
    let rounded = rounded.abs();
    Some(format!("{sign}{:02}:{:02}", rounded / 60, rounded % 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        parse_exif_time(text).unwrap()
    }

    #[test]
    fn gps_time_gives_the_offset_to_the_quarter_hour() {
        let local = at("2020:08:27 23:16:12");
        assert_eq!(
            offset_from_gps(local, "2020:08:28 02:16:08Z").as_deref(),
            Some("-03:00")
        );
        assert_eq!(
            offset_from_gps(at("2021:01:01 17:45:00"), "2021:01:01 12:00:10Z").as_deref(),
            Some("+05:45")
        );
        // A GPS fix taken long before the photo says nothing about the zone.
        assert_eq!(offset_from_gps(local, "2020:08:27 11:26:00Z"), None);
        assert_eq!(offset_from_gps(local, "2020:08:25 02:16:08Z"), None);
    }

    #[test]
    fn offsets_and_times_are_checked() {
        assert_eq!(valid_offset("+02:00").as_deref(), Some("+02:00"));
        assert_eq!(valid_offset("   :  "), None);
        assert!(parse_exif_time("0000:00:00 00:00:00").is_none());
        assert_eq!(
            at("2019:05:04 12:10:31+02:00"),
            at("2019:05:04 12:10:31"),
            "a zone after the time is ignored"
        );
    }

    #[test]
    fn tags_follow_the_group_order_and_skip_unknowns() {
        let metadata = serde_json::json!({
            "Canon:ExposureTime": "0.0011",
            "ExifIFD:ExposureTime": 0.00125,
            "ExifIFD:FocalLengthIn35mmFormat": 0,
            "IFD0:Make": " Canon ",
        });
        let tags = Tags::new(&metadata);
        assert_eq!(tags.positive("ExposureTime"), Some(0.00125));
        assert_eq!(tags.positive("FocalLengthIn35mmFormat"), None);
        assert_eq!(tags.text("Make").as_deref(), Some("Canon"));
        assert_eq!(tags.text("Model"), None);
    }
}
