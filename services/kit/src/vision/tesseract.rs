//! On-screen text by tesseract OCR, run as a tool on each selected frame.

use std::time::Duration;

use async_trait::async_trait;
use mediasift_media::process::{self, RunOptions};
use tokio::sync::OnceCell;

use super::{BoundingBox, Detection, Feature, FrameImage, VisionBackend, VisionError};

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

    fn concurrency(&self) -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    async fn engine(&self, _feature: Feature) -> String {
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

    async fn detect(
        &self,
        frame: &FrameImage,
        feature: Feature,
        min_confidence: f64,
    ) -> Result<Vec<Detection>, VisionError> {
        if feature != Feature::Text {
            return Ok(Vec::new());
        }
        let args = [
            frame.path.as_os_str(),
            "stdout".as_ref(),
            "-l".as_ref(),
            self.language.as_ref(),
            "--psm".as_ref(),
            "3".as_ref(),
            "tsv".as_ref(),
        ];
        // One thread per tesseract, and one tesseract per core: its OpenMP threads
        // spin-wait for each other, which costs more than it gains on frames this small.
        let options = RunOptions {
            env: &[("OMP_THREAD_LIMIT", "1")],
            ..RunOptions::with_timeout(self.timeout)
        };
        let output = process::run_with("tesseract", &args, options).await?;
        let words = parse_tsv(&output.stdout_text(), frame.width, frame.height)?;
        Ok(words
            .into_iter()
            .filter(|w| w.confidence >= min_confidence)
            .collect())
    }
}

/// Words (level 5) of tesseract's TSV output, every confidence, boxes as fractions of the
/// `width` x `height` image read.
pub fn parse_tsv(tsv: &str, width: u32, height: u32) -> Result<Vec<Detection>, VisionError> {
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
        let mut word = Detection::new(text, confidence);
        word.bounding_box = Some(BoundingBox::from_pixels(
            number(6),
            number(7),
            number(8),
            number(9),
            width,
            height,
        ));
        // Tesseract's block, paragraph and line numbers: words of one line share them.
        word.line = Some(format!("{}.{}.{}", fields[2], fields[3], fields[4]));
        words.push(word);
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
        let words = parse_tsv(tsv, 640, 360).unwrap();
        assert_eq!(words.len(), 1);
        assert_eq!(words[0].name, "NEWS");
        assert_eq!(words[0].confidence, 96.5);
        assert_eq!(
            words[0].bounding_box,
            Some(BoundingBox {
                left: 40.0 / 640.0,
                top: 50.0 / 360.0,
                width: 120.0 / 640.0,
                height: 30.0 / 360.0,
            })
        );
        assert_eq!(words[0].line.as_deref(), Some("1.1.1"));
        assert!(parse_tsv("garbage", 640, 360).is_err());
    }
}
