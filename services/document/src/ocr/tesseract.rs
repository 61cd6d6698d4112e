//! OCR by tesseract, run as a tool on each page image:
//! `tesseract <image> stdout -l eng --psm 3 tsv`.
//!
//! Page segmentation mode 3 (fully automatic, no orientation detection) rather than 1 (the
//! same plus orientation and script detection): on the test pages (the forensics PDFs'
//! pages, rasterised at 300 dpi) both read every word (WER 0), and on a page rotated by 90°
//! both still read it; mode 1's detection only guesses on pages with little text ("OSD: Weak
//! margin" on a 10-word page) and needs `osd.traineddata`.
//!
//! Lines are built from the TSV's words (level 5), grouped by block, paragraph and line
//! number in tesseract's order: words joined by spaces, the line's confidence the mean of its
//! words', its box the union of theirs. Paragraphs are separated by a blank line in
//! [`PageText::text`]; [`PageText::mean_confidence`] is the mean over words.
//!
//! The file is checked to be an image first: tesseract reads a text file as a list of image
//! paths to OCR.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use mediasift_kit::vision::BoundingBox;
use mediasift_media::process::{self, RunOptions, ToolError};
use tokio::io::AsyncReadExt;
use tokio::sync::OnceCell;

use super::{OcrBackend, OcrError, OcrLine, PageText};

/// Time limit for one page, by default (a dense A4 page at 300 dpi takes a few seconds).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// What to install when tesseract or its English data is missing.
pub const INSTALL_HINT: &str = "apt install tesseract-ocr tesseract-ocr-eng";
/// Time limit for `tesseract --version` and `--list-langs`.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Tesseract OCR, run as a tool.
pub struct TesseractOcr {
    /// Time limit per page.
    pub timeout: Duration,
    /// Tesseract's language(s), `eng` or e.g. `eng+deu`.
    pub language: String,
    /// "tesseract 5.3.0", once [`TesseractOcr::probe`] has run.
    version: OnceCell<String>,
}

impl Default for TesseractOcr {
    fn default() -> Self {
        Self::new(DEFAULT_TIMEOUT)
    }
}

impl TesseractOcr {
    /// English OCR with `timeout` per page.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            language: "eng".into(),
            version: OnceCell::new(),
        }
    }

    /// Checks, once, that tesseract runs and has the language data, and returns its version
    /// (also what [`OcrBackend::engine`] reports from then on). [`OcrBackend::recognise`]
    /// calls it; call it at start-up to fail early.
    pub async fn probe(&self) -> Result<&str, OcrError> {
        self.version
            .get_or_try_init(|| async {
                let version = run_probe(&["--version"]).await?;
                let version = version
                    .lines()
                    .map(str::trim)
                    .find(|l| l.starts_with("tesseract"))
                    .unwrap_or("tesseract")
                    .to_owned();
                let listed = run_probe(&["--list-langs"]).await?;
                // The first line is "List of available languages in ...", then one a line.
                let available: Vec<&str> = listed.lines().skip(1).map(str::trim).collect();
                for language in self.language.split('+') {
                    if !available.contains(&language) {
                        return Err(OcrError::Backend(format!(
                            "tesseract has no `{language}` language data (it has: {}): apt \
                             install tesseract-ocr-{language}",
                            available.join(", ")
                        )));
                    }
                }
                Ok(version)
            })
            .await
            .map(String::as_str)
    }
}

#[async_trait]
impl OcrBackend for TesseractOcr {
    /// `tesseract 5.3.0` once probed (by the first page read), else `tesseract`.
    fn engine(&self) -> String {
        self.version
            .get()
            .cloned()
            .unwrap_or_else(|| "tesseract".into())
    }

    async fn recognise(&self, png: &Path) -> Result<PageText, OcrError> {
        self.probe().await?;
        // Absolute, so that a name starting with '-' is not read as an option.
        let image = std::path::absolute(png)
            .map_err(|e| OcrError::Page(format!("cannot read {}: {e}", png.display())))?;
        check_image(&image).await?;
        let args = [
            image.as_os_str(),
            "stdout".as_ref(),
            "-l".as_ref(),
            self.language.as_ref(),
            "--psm".as_ref(),
            "3".as_ref(),
            "tsv".as_ref(),
        ];
        let output =
            match process::run_with("tesseract", &args, RunOptions::with_timeout(self.timeout))
                .await
            {
                Ok(output) => output,
                Err(ToolError::TimedOut { after, .. }) => {
                    return Err(OcrError::Page(format!(
                        "tesseract did not finish reading {} within {} s: the page image is too \
                     large or too noisy",
                        png.display(),
                        after.as_secs()
                    )));
                }
                Err(ToolError::Failed { stderr_tail, .. }) if is_language_error(&stderr_tail) => {
                    return Err(OcrError::Backend(format!(
                        "tesseract cannot load its `{}` language data ({}): {INSTALL_HINT}",
                        self.language,
                        one_line(&stderr_tail)
                    )));
                }
                Err(ToolError::Failed { stderr_tail, .. }) => {
                    return Err(OcrError::Page(format!(
                        "tesseract cannot read {}: {}",
                        png.display(),
                        one_line(&stderr_tail)
                    )));
                }
                Err(other) => return Err(tool_error(other)),
            };
        parse_tsv(&output.stdout_text())
    }
}

async fn run_probe(args: &[&str]) -> Result<String, OcrError> {
    let output = process::run("tesseract", args, PROBE_TIMEOUT)
        .await
        .map_err(tool_error)?;
    // Older builds print the version on stderr.
    Ok(format!(
        "{}\n{}",
        output.stdout_text(),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// A missing tesseract with the packages to install.
fn tool_error(error: ToolError) -> OcrError {
    match error {
        ToolError::Missing { tool, .. } => OcrError::Tool(ToolError::Missing {
            tool,
            hint: INSTALL_HINT.into(),
        }),
        other => OcrError::Tool(other),
    }
}

fn is_language_error(stderr: &str) -> bool {
    stderr.contains("Failed loading language") || stderr.contains("Error opening data file")
}

fn one_line(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        "it printed nothing on stderr".into()
    } else {
        stderr.lines().collect::<Vec<_>>().join("; ")
    }
}

/// [`OcrError::Page`] unless `path` is a file in an image format tesseract reads.
async fn check_image(path: &Path) -> Result<(), OcrError> {
    let mut head = Vec::with_capacity(32);
    let opened = tokio::fs::File::open(path).await;
    let read = match opened {
        Ok(file) => file.take(32).read_to_end(&mut head).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = read {
        return Err(OcrError::Page(format!(
            "cannot read the page image {}: {e}",
            path.display()
        )));
    }
    use image::ImageFormat as F;
    match image::guess_format(&head) {
        Ok(F::Png | F::Jpeg | F::Tiff | F::Bmp | F::Gif | F::WebP | F::Pnm) => Ok(()),
        Ok(other) => Err(OcrError::Page(format!(
            "{} is a {other:?} image, which tesseract does not read: render the page as PNG",
            path.display()
        ))),
        Err(_) => Err(OcrError::Page(format!(
            "{} is not an image (PNG, JPEG, TIFF...): render the page as PNG",
            path.display()
        ))),
    }
}

/// A line being assembled: its (block, paragraph, line) ids and its words.
struct LineWords {
    key: (String, String, String),
    words: Vec<String>,
    confidences: Vec<f64>,
    /// left, top, right, bottom in pixels.
    bounds: (u32, u32, u32, u32),
}

/// Tesseract's TSV output as a [`PageText`] (see the module docs).
pub fn parse_tsv(tsv: &str) -> Result<PageText, OcrError> {
    let mut rows = tsv.lines();
    let header = rows.next().unwrap_or_default();
    if !header.starts_with("level\t") {
        return Err(OcrError::Output(format!(
            "tesseract printed no TSV header, but {:?}",
            header.chars().take(80).collect::<String>()
        )));
    }
    let mut page: Option<(u32, u32)> = None;
    let mut lines: Vec<LineWords> = Vec::new();
    for row in rows {
        let fields: Vec<&str> = row.split('\t').collect();
        if fields.len() < 12 {
            continue;
        }
        let number = |i: usize| fields[i].trim().parse::<u32>().unwrap_or(0);
        match fields[0] {
            "1" => page = Some((number(8), number(9))),
            "5" => {
                let text = fields[11..].join("\t").trim().to_owned();
                let Ok(confidence) = fields[10].trim().parse::<f64>() else {
                    continue;
                };
                if text.is_empty() || confidence < 0.0 {
                    continue;
                }
                let key = (
                    fields[2].to_owned(),
                    fields[3].to_owned(),
                    fields[4].to_owned(),
                );
                let (left, top) = (number(6), number(7));
                let (right, bottom) = (left + number(8), top + number(9));
                match lines.last_mut() {
                    Some(line) if line.key == key => {
                        line.words.push(text);
                        line.confidences.push(confidence);
                        let b = &mut line.bounds;
                        *b = (b.0.min(left), b.1.min(top), b.2.max(right), b.3.max(bottom));
                    }
                    _ => lines.push(LineWords {
                        key,
                        words: vec![text],
                        confidences: vec![confidence],
                        bounds: (left, top, right, bottom),
                    }),
                }
            }
            _ => {}
        }
    }

    let mut text = String::new();
    let mut previous: Option<&(String, String, String)> = None;
    for line in &lines {
        if let Some((block, paragraph, _)) = previous {
            let same = *block == line.key.0 && *paragraph == line.key.1;
            text.push_str(if same { "\n" } else { "\n\n" });
        }
        text.push_str(&line.words.join(" "));
        previous = Some(&line.key);
    }
    let all: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.confidences.iter().copied())
        .collect();
    let ocr_lines = lines
        .iter()
        .map(|line| {
            let (left, top, right, bottom) = line.bounds;
            OcrLine {
                text: line.words.join(" "),
                confidence: mean(&line.confidences),
                bounding_box: page.filter(|(w, h)| *w > 0 && *h > 0).map(|(w, h)| {
                    BoundingBox::from_pixels(left, top, right - left, bottom - top, w, h)
                }),
            }
        })
        .collect();
    Ok(PageText {
        text,
        lines: ocr_lines,
        mean_confidence: mean(&all),
    })
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext";

    #[test]
    fn words_become_lines_and_paragraphs() {
        let tsv = [
            HEADER,
            "1\t1\t0\t0\t0\t0\t0\t0\t1000\t2000\t-1\t",
            "2\t1\t1\t0\t0\t0\t100\t100\t300\t100\t-1\t",
            "5\t1\t1\t1\t1\t1\t100\t100\t100\t40\t90\tHello",
            "5\t1\t1\t1\t1\t2\t220\t104\t180\t40\t80\tworld.",
            "5\t1\t1\t1\t1\t3\t420\t104\t10\t40\t-1\t ",
            "5\t1\t1\t1\t2\t1\t100\t160\t60\t40\t70\tSame",
            "5\t1\t2\t1\t1\t1\t100\t400\t50\t40\t60\tNext",
        ]
        .join("\n");
        let page = parse_tsv(&tsv).unwrap();
        assert_eq!(page.text, "Hello world.\nSame\n\nNext");
        let texts: Vec<&str> = page.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["Hello world.", "Same", "Next"]);
        assert_eq!(page.lines[0].confidence, Some(85.0));
        assert_eq!(
            page.lines[0].bounding_box,
            Some(BoundingBox::from_pixels(100, 100, 300, 44, 1000, 2000))
        );
        assert_eq!(page.mean_confidence, Some(75.0));
    }

    #[test]
    fn a_page_without_words_is_empty_and_garbage_is_an_error() {
        let tsv = format!("{HEADER}\n1\t1\t0\t0\t0\t0\t0\t0\t2480\t3508\t-1\t\n");
        let page = parse_tsv(&tsv).unwrap();
        assert!(page.is_empty());
        assert_eq!((page.text.as_str(), page.mean_confidence), ("", None));
        assert!(matches!(parse_tsv("Error"), Err(OcrError::Output(_))));
    }

    #[test]
    fn a_missing_tesseract_names_the_packages() {
        let missing = ToolError::Missing {
            tool: "tesseract".into(),
            hint: "install it".into(),
        };
        let error = tool_error(missing);
        assert!(matches!(error, OcrError::Tool(ToolError::Missing { .. })));
        assert_eq!(
            error.to_string(),
            "`tesseract` is not installed or not on PATH: apt install tesseract-ocr \
             tesseract-ocr-eng"
        );
    }
}
