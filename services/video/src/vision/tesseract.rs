//! The vision port: what runs on the selected frames. Locally only on-screen text is read
//! (tesseract OCR); the other features have no local backend and are reported as skipped.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use mediasift_media::process::{self, RunOptions, ToolError};
use serde::Serialize;
use tokio::sync::OnceCell;

/// A vision feature of the plan's `vision` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Feature {
    Labels,
    Faces,
    Celebrities,
    FaceMatch,
    Text,
    Moderation,
}

impl Feature {
    pub const ALL: [Feature; 6] = [
        Feature::Labels,
        Feature::Faces,
        Feature::Celebrities,
        Feature::FaceMatch,
        Feature::Text,
        Feature::Moderation,
    ];

    /// The name used in `skipped` and in the options (`faceMatch`).
    pub fn name(self) -> &'static str {
        match self {
            Feature::Labels => "labels",
            Feature::Faces => "faces",
            Feature::Celebrities => "celebrities",
            Feature::FaceMatch => "faceMatch",
            Feature::Text => "text",
            Feature::Moderation => "moderation",
        }
    }

    /// Whether the plan's options turn the feature on.
    pub fn enabled_in(self, options: &mediasift_schemas::VisionOptions) -> bool {
        match self {
            Feature::Labels => options.labels,
            Feature::Faces => options.faces,
            Feature::Celebrities => options.celebrities,
            Feature::FaceMatch => options.face_match,
            Feature::Text => options.text,
            Feature::Moderation => options.moderation,
        }
    }
}

/// A word's box, in pixels of the image read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BoundingBox {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

/// One word of on-screen text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextDetection {
    pub text: String,
    /// 0–100.
    pub confidence: f64,
    pub bounding_box: BoundingBox,
    /// Tesseract's block/paragraph/line numbers joined, to rebuild lines (`1.1.1`).
    pub line: String,
}

#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("the vision backend's output cannot be read: {0}")]
    Output(String),
}

/// What reads the selected frames.
#[async_trait]
pub trait VisionBackend: Send + Sync {
    /// The features it implements.
    fn features(&self) -> &[Feature];
    /// Its name and version for `ResultRef::engine`, e.g. `tesseract 5.3.0`.
    async fn engine(&self) -> String;
    /// Words of text in the JPEG (every confidence; the caller filters).
    async fn detect_text(&self, jpeg: &Path) -> Result<Vec<TextDetection>, VisionError>;
}

/// Tesseract OCR, run as a tool.
pub struct Tesseract {
    pub timeout: Duration,
    pub language: String,
    version: OnceCell<String>,
}

impl Default for Tesseract {
    fn default() -> Self {
        Self::new(Duration::from_secs(60))
    }
}

impl Tesseract {
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            language: "eng".into(),
            version: OnceCell::new(),
        }
    }
}

#[async_trait]
impl VisionBackend for Tesseract {
    fn features(&self) -> &[Feature] {
        &[Feature::Text]
    }

    async fn engine(&self) -> String {
        self.version
            .get_or_init(|| async {
                match process::run("tesseract", &["--version"], self.timeout).await {
                    Ok(output) => {
                        // Older builds print the version on stderr.
                        let text = format!(
                            "{}\n{}",
                            output.stdout_text(),
                            String::from_utf8_lossy(&output.stderr)
                        );
                        text.lines()
                            .map(str::trim)
                            .find(|l| l.starts_with("tesseract"))
                            .unwrap_or("tesseract")
                            .to_owned()
                    }
                    Err(_) => "tesseract".into(),
                }
            })
            .await
            .clone()
    }

    async fn detect_text(&self, jpeg: &Path) -> Result<Vec<TextDetection>, VisionError> {
        let args = [
            jpeg.as_os_str(),
            "stdout".as_ref(),
            "-l".as_ref(),
            self.language.as_ref(),
            "--psm".as_ref(),
            "3".as_ref(),
            "tsv".as_ref(),
        ];
        let output =
            process::run_with("tesseract", &args, RunOptions::with_timeout(self.timeout)).await?;
        parse_tsv(&output.stdout_text())
    }
}

/// Words (level 5) of tesseract's TSV output.
pub fn parse_tsv(tsv: &str) -> Result<Vec<TextDetection>, VisionError> {
    let mut lines = tsv.lines();
    let header = lines.next().unwrap_or_default();
    if !header.starts_with("level") {
        return Err(VisionError::Output(format!(
            "expected a TSV header, got {header:?}"
        )));
    }
    let mut words = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 12 || fields[0] != "5" {
            continue;
        }
        let text = fields[11..].join("\t").trim().to_owned();
        let Ok(confidence) = fields[10].trim().parse::<f64>() else {
            continue;
        };
        if text.is_empty() || confidence < 0.0 {
            continue;
        }
        let number = |i: usize| fields[i].trim().parse::<u32>().unwrap_or(0);
        words.push(TextDetection {
            text,
            confidence,
            bounding_box: BoundingBox {
                left: number(6),
                top: number(7),
                width: number(8),
                height: number(9),
            },
            line: format!("{}.{}.{}", fields[2], fields[3], fields[4]),
        });
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_read_from_tsv_and_empty_cells_dropped() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t640\t360\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t40\t50\t120\t30\t96.5\tNEWS\n\
                   5\t1\t1\t1\t1\t2\t170\t50\t10\t30\t-1\t \n";
        let words = parse_tsv(tsv).unwrap();
        assert_eq!(words.len(), 1);
        assert_eq!(words[0].text, "NEWS");
        assert_eq!(words[0].confidence, 96.5);
        assert_eq!(
            words[0].bounding_box,
            BoundingBox {
                left: 40,
                top: 50,
                width: 120,
                height: 30
            }
        );
        assert_eq!(words[0].line, "1.1.1");
        assert!(parse_tsv("garbage").is_err());
    }
}
