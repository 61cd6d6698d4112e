//! The price table: `pricing/aws-us-east-1.toml`, compiled in, read once.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Where the table lives in the repository (printed with every estimate).
pub const TABLE_PATH: &str = "pricing/aws-us-east-1.toml";
const TABLE: &str = include_str!("../../pricing/aws-us-east-1.toml");

/// The ids of the prices the estimates use.
pub mod id {
    pub const REKOGNITION_GROUP1: &str = "rekognition_image_group1";
    pub const REKOGNITION_GROUP2: &str = "rekognition_image_group2";
    pub const REKOGNITION_SEGMENT: &str = "rekognition_video_segment";
    pub const TRANSCRIBE: &str = "transcribe_standard";
    pub const COMPREHEND: &str = "comprehend_unit";
    pub const TEXTRACT: &str = "textract_detect_text";
    pub const BEDROCK_INPUT: &str = "bedrock_haiku45_input";
    pub const BEDROCK_OUTPUT: &str = "bedrock_haiku45_output";
    pub const MEDIACONVERT_SD: &str = "mediaconvert_basic_sd";
    pub const MEDIACONVERT_HD: &str = "mediaconvert_basic_hd";
    pub const MEDIACONVERT_AUDIO: &str = "mediaconvert_audio_only";
    pub const LAMBDA_GB_SECOND: &str = "lambda_arm64_gb_second";
    pub const LAMBDA_REQUESTS: &str = "lambda_requests";
    pub const EVENTBRIDGE: &str = "eventbridge_events";
    pub const S3_STORAGE: &str = "s3_standard_gb_month";
    pub const S3_PUT: &str = "s3_put";
    pub const S3_GET: &str = "s3_get";

    /// Every id above: each must be in the table.
    pub const ALL: [&str; 17] = [
        REKOGNITION_GROUP1,
        REKOGNITION_GROUP2,
        REKOGNITION_SEGMENT,
        TRANSCRIBE,
        COMPREHEND,
        TEXTRACT,
        BEDROCK_INPUT,
        BEDROCK_OUTPUT,
        MEDIACONVERT_SD,
        MEDIACONVERT_HD,
        MEDIACONVERT_AUDIO,
        LAMBDA_GB_SECOND,
        LAMBDA_REQUESTS,
        EVENTBRIDGE,
        S3_STORAGE,
        S3_PUT,
        S3_GET,
    ];
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    /// The day the prices were read from AWS's pages (`YYYY-MM-DD`).
    pub read: String,
    pub region: String,
    pub currency: String,
    /// The pricing pages, space-separated.
    pub source: String,
    pub prices: BTreeMap<String, Price>,
}

/// One priced unit: `usd` dollars per `per` units of `unit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub unit: String,
    pub usd: f64,
    pub per: f64,
    /// The least quantity billed per request or output, when AWS has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
}

impl Price {
    /// Dollars for `quantity` units.
    pub fn cost(&self, quantity: f64) -> f64 {
        quantity * self.usd / self.per
    }

    /// `quantity` of one request, raised to the minimum billed.
    pub fn billed(&self, quantity: f64) -> f64 {
        quantity.max(self.minimum.unwrap_or(0.0))
    }

    /// `$0.001/image`, `$1.00/1M events`, `$0.005/1K requests`.
    pub fn label(&self) -> String {
        let per = if self.per == 1.0 {
            String::new()
        } else if self.per == 1000.0 {
            "1K ".to_owned()
        } else if self.per == 1_000_000.0 {
            "1M ".to_owned()
        } else {
            format!("{} ", self.per)
        };
        let unit = if self.per > 1.0 {
            format!("{}s", self.unit)
        } else {
            self.unit.clone()
        };
        format!("${}/{per}{unit}", trim_price(self.usd))
    }
}

/// A price without trailing zeros, at least two decimals: 0.001, 0.20, 1.00, 0.0000133334.
fn trim_price(usd: f64) -> String {
    let text = format!("{usd:.10}");
    let text = text.trim_end_matches('0');
    match text.split_once('.') {
        Some((whole, frac)) if frac.len() < 2 => format!("{whole}.{frac:0<2}"),
        _ => text.to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("pricing/aws-us-east-1.toml cannot be read: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("pricing/aws-us-east-1.toml has no price `{0}`")]
    Missing(String),
    #[error("pricing/aws-us-east-1.toml: {0}")]
    Invalid(String),
}

impl PriceTable {
    /// Parses and checks a table: every id the estimates use is there, prices are finite and
    /// not negative, `per` is positive, the date is `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self, PricingError> {
        let table: PriceTable = toml::from_str(text)?;
        for id in id::ALL {
            if !table.prices.contains_key(id) {
                return Err(PricingError::Missing(id.to_owned()));
            }
        }
        for (name, price) in &table.prices {
            let good = price.usd.is_finite()
                && price.usd >= 0.0
                && price.per.is_finite()
                && price.per > 0.0;
            let bad = !good || price.minimum.is_some_and(|m| !(m.is_finite() && m >= 0.0));
            if bad {
                return Err(PricingError::Invalid(format!(
                    "price `{name}` needs usd ≥ 0, per > 0 and minimum ≥ 0"
                )));
            }
        }
        if chrono::NaiveDate::parse_from_str(&table.read, "%Y-%m-%d").is_err() {
            return Err(PricingError::Invalid(format!(
                "read = {:?} is not a YYYY-MM-DD date",
                table.read
            )));
        }
        Ok(table)
    }

    /// The table compiled into this binary.
    pub fn builtin() -> &'static PriceTable {
        static TABLE_PARSED: OnceLock<PriceTable> = OnceLock::new();
        TABLE_PARSED.get_or_init(|| {
            // Checked by a unit test; a broken table cannot be compiled in unnoticed.
            PriceTable::parse(TABLE).unwrap_or_else(|e| panic!("{e}"))
        })
    }

    /// The price `id` (one of [`id`]).
    pub fn price(&self, id: &str) -> &Price {
        &self.prices[id]
    }

    /// `prices read 2026-11-22 from pricing/aws-us-east-1.toml (us-east-1, USD)`.
    pub fn provenance(&self) -> String {
        format!(
            "prices read {} from {TABLE_PATH} ({}, {})",
            self.read, self.region, self.currency
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_table_is_complete_and_dated() {
        let table = PriceTable::parse(TABLE).unwrap();
        assert_eq!(table.read, "2026-11-22");
        assert_eq!(table.region, "us-east-1");
        assert!(
            table
                .source
                .contains("https://aws.amazon.com/rekognition/pricing/")
        );
        assert_eq!(table.price(id::TRANSCRIBE).usd, 0.024);
        assert_eq!(table.price(id::TRANSCRIBE).billed(0.1), 0.25);
        assert_eq!(table.price(id::COMPREHEND).billed(1.0), 3.0);
        assert!((table.price(id::LAMBDA_REQUESTS).cost(1_000_000.0) - 0.20).abs() < 1e-12);
    }

    #[test]
    fn labels_read_like_the_pricing_pages() {
        let table = PriceTable::builtin();
        assert_eq!(table.price(id::REKOGNITION_GROUP2).label(), "$0.001/image");
        assert_eq!(table.price(id::EVENTBRIDGE).label(), "$1.00/1M events");
        assert_eq!(table.price(id::S3_PUT).label(), "$0.005/1K requests");
        assert_eq!(table.price(id::BEDROCK_INPUT).label(), "$0.001/1K tokens");
        assert_eq!(
            table.price(id::LAMBDA_GB_SECOND).label(),
            "$0.0000133334/GB-second"
        );
    }

    #[test]
    fn a_table_without_a_price_or_with_a_bad_one_is_refused() {
        let short =
            "read = \"2026-11-22\"\nregion = \"r\"\ncurrency = \"USD\"\nsource = \"s\"\n[prices]\n";
        assert!(matches!(
            PriceTable::parse(short),
            Err(PricingError::Missing(_))
        ));
        let negative = TABLE.replace("usd = 0.024", "usd = -0.024");
        assert!(matches!(
            PriceTable::parse(&negative),
            Err(PricingError::Invalid(_))
        ));
        let undated = TABLE.replace("read = \"2026-11-22\"", "read = \"last week\"");
        assert!(PriceTable::parse(&undated).is_err());
    }
}
