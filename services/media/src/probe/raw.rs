//! Typed views of ffprobe's and mediainfo's JSON, tolerant by construction: unknown fields are
//! ignored, missing fields are `None`/empty, and a field of an unexpected JSON type (a number
//! where a string was expected, "N/A" where a number was) reads as `None` instead of failing the
//! whole document. The raw JSON is kept next to these in [`super::Probe`].

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// `ffprobe -print_format json -show_format -show_streams`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FfprobeOutput {
    #[serde(default, deserialize_with = "lenient::objects")]
    pub streams: Vec<FfStream>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub format: Option<FfFormat>,
}

/// One entry of ffprobe's `streams`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FfStream {
    #[serde(deserialize_with = "lenient::u32_or_zero")]
    pub index: u32,
    #[serde(deserialize_with = "lenient::string")]
    pub codec_name: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub codec_long_name: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub profile: Option<String>,
    /// "video", "audio", "subtitle", "data", "attachment".
    #[serde(deserialize_with = "lenient::string")]
    pub codec_type: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub codec_tag_string: Option<String>,
    #[serde(deserialize_with = "lenient::u32")]
    pub width: Option<u32>,
    #[serde(deserialize_with = "lenient::u32")]
    pub height: Option<u32>,
    #[serde(deserialize_with = "lenient::string")]
    pub sample_aspect_ratio: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub display_aspect_ratio: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub pix_fmt: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub field_order: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub r_frame_rate: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub avg_frame_rate: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub time_base: Option<String>,
    #[serde(deserialize_with = "lenient::f64")]
    pub start_time: Option<f64>,
    #[serde(deserialize_with = "lenient::f64")]
    pub duration: Option<f64>,
    #[serde(deserialize_with = "lenient::u64")]
    pub bit_rate: Option<u64>,
    #[serde(deserialize_with = "lenient::u64")]
    pub nb_frames: Option<u64>,
    /// Present only with `-count_frames`.
    #[serde(deserialize_with = "lenient::u64")]
    pub nb_read_frames: Option<u64>,
    #[serde(deserialize_with = "lenient::u32")]
    pub sample_rate: Option<u32>,
    #[serde(deserialize_with = "lenient::u32")]
    pub channels: Option<u32>,
    #[serde(deserialize_with = "lenient::string")]
    pub channel_layout: Option<String>,
    /// Flags such as `default`, `attached_pic` (0 or 1).
    #[serde(deserialize_with = "lenient::int_map")]
    pub disposition: BTreeMap<String, i64>,
    #[serde(deserialize_with = "lenient::string_map")]
    pub tags: BTreeMap<String, String>,
    /// Side data such as the display matrix (`side_data_type`, `rotation`).
    #[serde(deserialize_with = "lenient::values")]
    pub side_data_list: Vec<Value>,
}

impl FfStream {
    /// Whether a disposition flag is set.
    pub fn disposition(&self, flag: &str) -> bool {
        self.disposition.get(flag).is_some_and(|v| *v != 0)
    }

    /// A tag by name, case-insensitively (Matroska writes `LANGUAGE`, MP4 `language`).
    pub fn tag(&self, name: &str) -> Option<&str> {
        tag(&self.tags, name)
    }

    pub fn is_type(&self, codec_type: &str) -> bool {
        self.codec_type.as_deref() == Some(codec_type)
    }
}

/// ffprobe's `format`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FfFormat {
    #[serde(deserialize_with = "lenient::string")]
    pub filename: Option<String>,
    #[serde(deserialize_with = "lenient::u32")]
    pub nb_streams: Option<u32>,
    /// Demuxer names, comma separated: "mov,mp4,m4a,3gp,3g2,mj2".
    #[serde(deserialize_with = "lenient::string")]
    pub format_name: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub format_long_name: Option<String>,
    #[serde(deserialize_with = "lenient::f64")]
    pub start_time: Option<f64>,
    #[serde(deserialize_with = "lenient::f64")]
    pub duration: Option<f64>,
    #[serde(deserialize_with = "lenient::u64")]
    pub size: Option<u64>,
    #[serde(deserialize_with = "lenient::u64")]
    pub bit_rate: Option<u64>,
    #[serde(deserialize_with = "lenient::i64")]
    pub probe_score: Option<i64>,
    #[serde(deserialize_with = "lenient::string_map")]
    pub tags: BTreeMap<String, String>,
}

impl FfFormat {
    pub fn tag(&self, name: &str) -> Option<&str> {
        tag(&self.tags, name)
    }
}

/// `mediainfo --Output=JSON` (one file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediainfoOutput {
    #[serde(deserialize_with = "lenient::object")]
    pub media: Option<MiMedia>,
}

impl MediainfoOutput {
    /// The tracks of one `@type` ("General", "Video", "Audio", ...), in file order.
    pub fn tracks<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a MiTrack> + 'a {
        self.media
            .iter()
            .flat_map(|m| m.track.iter())
            .filter(move |t| t.kind.as_deref() == Some(kind))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MiMedia {
    #[serde(deserialize_with = "lenient::objects_or_one")]
    pub track: Vec<MiTrack>,
}

/// The few mediainfo track fields mediasift reads (all of them stay in the raw JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MiTrack {
    #[serde(rename = "@type", deserialize_with = "lenient::string")]
    pub kind: Option<String>,
    /// The stream's position in the container; ffprobe's `index` for MP4/MOV/MKV.
    #[serde(rename = "StreamOrder", deserialize_with = "lenient::string")]
    pub stream_order: Option<String>,
    /// "CFR" or "VFR".
    #[serde(rename = "FrameRate_Mode", deserialize_with = "lenient::string")]
    pub frame_rate_mode: Option<String>,
    #[serde(rename = "FrameRate", deserialize_with = "lenient::f64")]
    pub frame_rate: Option<f64>,
    #[serde(rename = "FrameCount", deserialize_with = "lenient::u64")]
    pub frame_count: Option<u64>,
    #[serde(rename = "Duration", deserialize_with = "lenient::f64")]
    pub duration: Option<f64>,
}

fn tag<'a>(tags: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    tags.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

/// Deserializers that never fail on a value of the wrong type: they read it as absent.
mod lenient {
    use super::*;
    use serde::de::DeserializeOwned;

    fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn to_string(v: Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn to_f64(v: &Value) -> Option<f64> {
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        n.filter(|n| n.is_finite())
    }

    fn to_u64(v: &Value) -> Option<u64> {
        match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        }
    }

    fn to_i64(v: &Value) -> Option<i64> {
        match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(to_string(value(d)?))
    }

    pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(to_f64(&value(d)?))
    }

    pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(to_u64(&value(d)?))
    }

    pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        Ok(to_u64(&value(d)?).and_then(|n| u32::try_from(n).ok()))
    }

    pub fn u32_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        Ok(u32(d)?.unwrap_or(0))
    }

    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(to_i64(&value(d)?))
    }

    pub fn int_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, i64>, D::Error> {
        Ok(match value(d)? {
            Value::Object(map) => map
                .into_iter()
                .filter_map(|(k, v)| to_i64(&v).map(|v| (k, v)))
                .collect(),
            _ => BTreeMap::new(),
        })
    }

    pub fn string_map<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, String>, D::Error> {
        Ok(match value(d)? {
            Value::Object(map) => map
                .into_iter()
                .filter_map(|(k, v)| to_string(v).map(|v| (k, v)))
                .collect(),
            _ => BTreeMap::new(),
        })
    }

    pub fn values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
        Ok(match value(d)? {
            Value::Array(items) => items,
            _ => Vec::new(),
        })
    }

    /// An object, or `None` when it is missing or not an object.
    pub fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        Ok(match value(d)? {
            v @ Value::Object(_) => serde_json::from_value(v).ok(),
            _ => None,
        })
    }

    /// An array of objects; entries that are not objects are skipped.
    pub fn objects<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        Ok(match value(d)? {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect(),
            _ => Vec::new(),
        })
    }

    /// Like [`objects`], and a lone object counts as a one-entry array.
    pub fn objects_or_one<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        Ok(match value(d)? {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect(),
            v @ Value::Object(_) => serde_json::from_value(v).ok().into_iter().collect(),
            _ => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_and_unknown_fields_read_as_absent() {
        let raw = json!({
            "streams": [
                {"index": 0, "codec_type": "video", "width": "N/A", "height": 1080,
                 "nb_frames": "41", "duration": "1.5", "bit_rate": 12, "brand_new": {"x": 1},
                 "disposition": {"default": 1, "attached_pic": "0"}, "tags": {"rotate": 90}},
                "not an object",
                {"index": "1", "codec_type": "audio", "channels": 2, "sample_rate": "48000"}
            ],
            "format": {"format_name": "mov,mp4", "duration": "N/A", "size": "2942343"}
        });
        let out: FfprobeOutput = serde_json::from_value(raw).expect("lenient parse");
        assert_eq!(out.streams.len(), 2);
        let v = &out.streams[0];
        assert_eq!(
            (v.width, v.height, v.nb_frames),
            (None, Some(1080), Some(41))
        );
        assert_eq!((v.duration, v.bit_rate), (Some(1.5), Some(12)));
        assert!(v.disposition("default") && !v.disposition("attached_pic"));
        assert_eq!(v.tag("ROTATE"), Some("90"));
        assert_eq!(out.streams[1].index, 1);
        assert_eq!(out.streams[1].sample_rate, Some(48_000));
        let format = out.format.expect("format");
        assert_eq!((format.duration, format.size), (None, Some(2_942_343)));
    }

    #[test]
    fn empty_and_odd_documents_parse() {
        for raw in [
            json!({}),
            json!({"streams": null, "format": []}),
            json!({"streams": {}}),
        ] {
            let out: FfprobeOutput = serde_json::from_value(raw).expect("lenient parse");
            assert!(out.streams.is_empty() && out.format.is_none());
        }
        let mi: MediainfoOutput =
            serde_json::from_value(json!({"media": {"track": {"@type": "Video"}}})).expect("mi");
        assert_eq!(mi.tracks("Video").count(), 1);
        let mi: MediainfoOutput = serde_json::from_value(json!({"media": null})).expect("mi");
        assert_eq!(mi.tracks("Video").count(), 0);
    }
}
