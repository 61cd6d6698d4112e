//! PDF documents: facts from poppler's `pdfinfo` and `pdftotext`, text layers from
//! `pdftotext`, and page rendering with `pdftoppm`.
//!
//! - [`inspect`] returns [`PdfFacts`]: page count, encryption, the document information
//!   dictionary, and how many pages carry a text layer (scanned pages carry none: they need
//!   OCR). A PDF that opens only with a user password is not an error: it is reported as
//!   `encrypted` and `needs_password`, with no page count.
//! - [`page_texts`] returns the text layer of every page, in reading order.
//! - [`render_pages`] renders up to [`RenderOptions::max_pages`] pages as PNGs for viewing;
//!   [`render_page`] renders one page as a grayscale PNG at a resolution for OCR.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mediasift_media::pdf::PdfError> {
//! use mediasift_media::pdf::{self, RenderOptions};
//! let path = std::path::Path::new("report.pdf");
//! let facts = pdf::inspect(path).await?;
//! if !facts.needs_password {
//!     let rendered = pdf::render_pages(path, "pages".as_ref(), &RenderOptions::default()).await?;
//!     println!("{} of {} pages rendered", rendered.pages.len(), rendered.total_pages);
//! }
//! # Ok(()) }
//! ```
//!
//! # Passwords
//!
//! [`inspect_with_password`], [`page_texts`] and [`render_page`] take the document's
//! password, if known. poppler is given it both as the owner password (`-opw`) and as the user
//! password (`-upw`): it tries the owner password first and then the user password, so either
//! opens the document. A password that opens nothing is [`PdfError::WrongPassword`]; an empty
//! password counts as none. poppler takes passwords only on its command line, so a password is
//! visible in the process list of the machine while a tool runs.
//!
//! Every tool runs through [`crate::process`] with a timeout; the timeouts of the tools whose
//! work grows with the document (pdftotext, pdftoppm) scale with its page count.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::image::ScratchDir;
use crate::process::{self, RunOptions, ToolError};

/// Time limit for pdfinfo (it reads the cross-reference table and the page tree only).
pub const PDFINFO_TIMEOUT: Duration = Duration::from_secs(60);
/// pdftotext's time limit is this plus [`PDFTOTEXT_PER_PAGE`] per page, at most
/// [`PDFTOTEXT_MAX_TIMEOUT`]. Text extraction is usually milliseconds a page; the allowance
/// covers pages of vector art or huge embedded fonts. Past the cap, `pages_with_text` is
/// left unknown (None, with a warning) rather than failing the inspection.
pub const PDFTOTEXT_BASE_TIMEOUT: Duration = Duration::from_secs(30);
pub const PDFTOTEXT_PER_PAGE: Duration = Duration::from_secs(1);
pub const PDFTOTEXT_MAX_TIMEOUT: Duration = Duration::from_secs(600);
/// Most text pdftotext may print before counting gives up (`pages_with_text` None): about
/// 20,000 dense pages.
pub const MAX_TEXT_BYTES: usize = 64 * 1024 * 1024;
/// pdftoppm's time limit is this plus [`RenderOptions::timeout_per_page`] per rendered page.
pub const PDFTOPPM_BASE_TIMEOUT: Duration = Duration::from_secs(30);
/// How far into the file `%PDF-` may start (readers accept leading junk up to 1 KiB).
const PDF_MAGIC_WINDOW: u64 = 1024;
/// How many of a tool's stderr lines become warnings.
const MAX_WARNINGS: usize = 20;
/// Time limit for pdftoppm rendering one page for [`render_page`].
pub const RENDER_PAGE_TIMEOUT: Duration = Duration::from_secs(120);
/// The most pixels [`render_page`] renders a page with: a page that would be larger at the
/// resolution asked for is rendered at the highest resolution that stays within this (100
/// megapixels is an A4 page at about 1,000 dpi, an A0 poster at about 250 dpi).
pub const MAX_RENDER_PIXELS: u64 = 100_000_000;

/// What pdfinfo and pdftotext say about one PDF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PdfFacts {
    /// The page count; None when the document needs a password to open.
    pub pages: Option<u32>,
    /// The document is encrypted (with a user password, or only an owner password that
    /// restricts printing or copying).
    pub encrypted: bool,
    /// It cannot be opened without a user password: nothing but this is known about it.
    pub needs_password: bool,
    pub producer: Option<String>,
    pub creator: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    /// "1.6", "1.7", "2.0"...
    pub pdf_version: Option<String>,
    /// The first page's size as pdfinfo prints it: "595.304 x 841.89 pts (A4)".
    pub page_size: Option<String>,
    /// How many pages have a text layer with something other than whitespace (pages without
    /// one are scans or pure graphics: OCR territory). None when the document needs a password
    /// or the text could not be extracted (see `warnings`).
    pub pages_with_text: Option<u32>,
    /// Every `Key: value` pdfinfo printed (dates in ISO 8601), e.g. "Encrypted" →
    /// "yes (print:yes copy:no change:no addNotes:no algorithm:AES-256)".
    pub info: BTreeMap<String, String>,
    /// What the tools complained about while still reading the file (damaged objects...), and
    /// why `pages_with_text` is unknown, if it is.
    pub warnings: Vec<String>,
}

/// How [`render_pages`] renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderOptions {
    /// Longest side of each page's PNG in pixels (pdftoppm `-scale-to`): 1600 is about
    /// 190 dpi for an A4 page.
    pub max_side: u32,
    /// Pages beyond this many are not rendered ([`RenderedPages::not_rendered`] says how many
    /// were left out), which bounds the time and disk one document may take.
    pub max_pages: u32,
    /// pdftoppm's time allowance per rendered page (on top of [`PDFTOPPM_BASE_TIMEOUT`]).
    pub timeout_per_page: Duration,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            max_side: 1600,
            max_pages: 500,
            timeout_per_page: Duration::from_secs(5),
        }
    }
}

/// What [`render_pages`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedPages {
    /// One PNG per rendered page, in page order (pdftoppm's names: `page-1.png`, or
    /// `page-01.png`... zero-padded to the width of the last page's number).
    pub pages: Vec<PathBuf>,
    /// The document's page count.
    pub total_pages: u32,
    /// Pages past [`RenderOptions::max_pages`] that were not rendered (0 when all were).
    pub not_rendered: u32,
}

impl RenderedPages {
    /// True when every page was rendered.
    pub fn is_complete(&self) -> bool {
        self.not_rendered == 0
    }
}

/// Why a PDF could not be inspected or rendered, worded for the person who supplied it.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("{} is not a regular file (a folder, device or pipe is not a PDF)", path.display())]
    NotAFile { path: PathBuf },
    /// Not a PDF, or one poppler cannot open.
    #[error(
        "{} is not a readable PDF: {cause}; the file is damaged or not a PDF: upload it again \
         or export it to PDF again from the application that made it",
        path.display()
    )]
    Corrupt { path: PathBuf, cause: String },
    /// It opens only with a user password (returned by [`render_pages`]; [`inspect`] reports
    /// it in [`PdfFacts::needs_password`]).
    #[error(
        "{} is protected by a password, so its pages cannot be rendered nor its text read: \
         give its password, or ask its owner for a copy without a password",
        path.display()
    )]
    PasswordProtected { path: PathBuf },
    /// A password was given and opens neither as the owner's nor as the user's.
    #[error(
        "the password given for {} does not open it: check the password with the \
         document's owner (passwords are case-sensitive)",
        path.display()
    )]
    WrongPassword { path: PathBuf },
    /// [`render_page`] was asked for a page the document does not have.
    #[error("{} has {pages} page(s): there is no page {page}", path.display())]
    NoSuchPage {
        path: PathBuf,
        page: u32,
        pages: u32,
    },
    /// A poppler tool is missing, timed out, or failed unexpectedly.
    #[error("cannot process {}: {source}", path.display())]
    Tool {
        path: PathBuf,
        #[source]
        source: ToolError,
    },
    /// A tool printed or wrote something unusable.
    #[error("{tool} gave unusable output for {}: {cause}", path.display())]
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

/// Reads `path`'s facts: pdfinfo once, then (unless it needs a password) pdftotext once over
/// the whole document to count the pages with text. [`inspect_with_password`] without a
/// password.
pub async fn inspect(path: &Path) -> Result<PdfFacts, PdfError> {
    inspect_with_password(path, None).await
}

/// [`inspect`] with the document's password, if known. With a password that opens it, the
/// facts are complete (`encrypted` true, `needs_password` false); with one that does not,
/// [`PdfError::WrongPassword`]. Without one, a document that needs one is reported in
/// [`PdfFacts::needs_password`], not as an error.
pub async fn inspect_with_password(
    path: &Path,
    password: Option<&str>,
) -> Result<PdfFacts, PdfError> {
    let absolute = checked_pdf(path).await?;
    let mut facts = pdfinfo(path, &absolute, password).await?;
    if facts.needs_password {
        return Ok(facts);
    }
    match count_pages_with_text(&absolute, facts.pages, password).await {
        Ok((count, warnings)) => {
            facts.pages_with_text = Some(count);
            facts.warnings.extend(warnings);
        }
        Err(why) => {
            tracing::warn!(path = %path.display(), %why, "pages with text unknown");
            facts
                .warnings
                .push(format!("pages with text unknown: {why}"));
        }
    }
    Ok(facts)
}

/// Renders pages 1 to [`RenderOptions::max_pages`] of `path` as PNGs (long side
/// [`RenderOptions::max_side`]) into `out_dir` (created if missing; same-named files are
/// replaced). pdftoppm writes into a scratch folder first, so the list returned is exactly
/// what this run rendered, whatever `out_dir` held before.
///
/// Runs pdfinfo first for the page count and the password check:
/// [`PdfError::PasswordProtected`] when the document needs a password.
pub async fn render_pages(
    path: &Path,
    out_dir: &Path,
    options: &RenderOptions,
) -> Result<RenderedPages, PdfError> {
    let absolute = checked_pdf(path).await?;
    let (_, total_pages) = opened(path, &absolute, None).await?;
    let to_render = total_pages.min(options.max_pages);
    let not_rendered = total_pages - to_render;
    if not_rendered > 0 {
        tracing::info!(
            path = %path.display(),
            total_pages,
            rendered = to_render,
            "pages beyond max_pages are not rendered"
        );
    }
    if to_render == 0 {
        return Ok(RenderedPages {
            pages: Vec::new(),
            total_pages,
            not_rendered,
        });
    }

    let out_io = |source| PdfError::Io {
        path: out_dir.to_path_buf(),
        source,
    };
    tokio::fs::create_dir_all(out_dir).await.map_err(out_io)?;
    // In out_dir, so that moving the pages out is a rename on the same file system.
    let scratch = ScratchDir::create_in(out_dir, "pdftoppm")
        .await
        .map_err(out_io)?;
    let mut args: Vec<OsString> = vec![
        "-png".into(),
        "-scale-to".into(),
        options.max_side.max(1).to_string().into(),
        "-f".into(),
        "1".into(),
        "-l".into(),
        to_render.to_string().into(),
    ];
    args.push(absolute.clone().into());
    args.push(scratch.path().join("page").into());
    let timeout =
        PDFTOPPM_BASE_TIMEOUT.saturating_add(options.timeout_per_page.saturating_mul(to_render));
    match process::run_with("pdftoppm", &args, RunOptions::with_timeout(timeout)).await {
        Ok(_) => {}
        Err(ToolError::Failed { stderr_tail, .. }) if is_password_error(&stderr_tail) => {
            return Err(PdfError::PasswordProtected {
                path: path.to_path_buf(),
            });
        }
        Err(ToolError::Failed { stderr_tail, .. }) => {
            return Err(PdfError::Corrupt {
                path: path.to_path_buf(),
                cause: format!(
                    "pdftoppm cannot render it ({})",
                    poppler_cause(&stderr_tail)
                ),
            });
        }
        Err(source) => {
            return Err(PdfError::Tool {
                path: path.to_path_buf(),
                source,
            });
        }
    }

    let rendered = numbered_pages(scratch.path())
        .await
        .map_err(|source| PdfError::Io {
            path: scratch.path().to_path_buf(),
            source,
        })?;
    let numbers: Vec<u32> = rendered.iter().map(|(n, _)| *n).collect();
    if numbers != (1..=to_render).collect::<Vec<_>>() {
        return Err(PdfError::BadOutput {
            path: path.to_path_buf(),
            tool: "pdftoppm".into(),
            cause: format!(
                "expected pages 1 to {to_render}, it wrote {} page image(s)",
                numbers.len()
            ),
        });
    }
    let mut pages = Vec::with_capacity(rendered.len());
    for (_, from) in rendered {
        let Some(name) = from.file_name() else {
            continue;
        };
        let to = out_dir.join(name);
        tokio::fs::rename(&from, &to).await.map_err(out_io)?;
        pages.push(to);
    }
    Ok(RenderedPages {
        pages,
        total_pages,
        not_rendered,
    })
}

/// The text layer of every page of `path`, in page order: one run of pdftotext in its default
/// mode (reading order, not the physical layout), split at the form feed that ends each page.
/// Each page's text is trimmed; a page without a text layer (a scan) gives "". The vector has
/// one entry per page.
///
/// `password` as in [`inspect_with_password`]; a document that needs one and was given none is
/// [`PdfError::PasswordProtected`]. A text layer larger than [`MAX_TEXT_BYTES`] is
/// [`PdfError::BadOutput`] (nothing is returned rather than some pages).
pub async fn page_texts(path: &Path, password: Option<&str>) -> Result<Vec<String>, PdfError> {
    let absolute = checked_pdf(path).await?;
    let (_, pages) = opened(path, &absolute, password).await?;
    let mut args: Vec<OsString> = vec!["-enc".into(), "UTF-8".into()];
    args.extend(password_args(password));
    args.push(absolute.into());
    args.push("-".into());
    let mut run = RunOptions::with_timeout(pdftotext_timeout(pages));
    run.max_stdout = MAX_TEXT_BYTES;
    let output = process::run_with("pdftotext", &args, run)
        .await
        .map_err(|e| tool_failure(path, password, "pdftotext", "extract the text of", e))?;
    if output.stdout_truncated {
        return Err(PdfError::BadOutput {
            path: path.to_path_buf(),
            tool: "pdftotext".into(),
            cause: format!(
                "its text layer is larger than {} MiB",
                MAX_TEXT_BYTES / 1024 / 1024
            ),
        });
    }
    let texts = split_pages(&output.stdout_text());
    if texts.len() != pages as usize {
        return Err(PdfError::BadOutput {
            path: path.to_path_buf(),
            tool: "pdftotext".into(),
            cause: format!(
                "it printed the text of {} page(s) for a document of {pages}",
                texts.len()
            ),
        });
    }
    Ok(texts)
}

/// Renders page `page` (from 1) of `path` in gray at `dpi` (at least 1) for OCR, as the PNG
/// `out_dir/page-<page>.png` (out_dir created if missing; a same-named file replaced).
/// poppler 22 writes gray PNGs as RGB with equal channels; the PNG records the resolution.
///
/// A page that would exceed [`MAX_RENDER_PIXELS`] at `dpi` is rendered at the highest
/// resolution that stays within it (logged). `password`
/// as in [`page_texts`]; a page the document does not have is [`PdfError::NoSuchPage`].
pub async fn render_page(
    path: &Path,
    page: u32,
    dpi: u32,
    password: Option<&str>,
    out_dir: &Path,
) -> Result<PathBuf, PdfError> {
    let absolute = checked_pdf(path).await?;
    let (facts, pages) = opened(path, &absolute, password).await?;
    if page == 0 || page > pages {
        return Err(PdfError::NoSuchPage {
            path: path.to_path_buf(),
            page,
            pages,
        });
    }
    let size = if page == 1 {
        facts.page_size.as_deref().and_then(parse_page_size)
    } else {
        page_size(path, &absolute, page, password).await?
    };
    let Some((width, height)) = size else {
        return Err(PdfError::BadOutput {
            path: path.to_path_buf(),
            tool: "pdfinfo".into(),
            cause: format!("it printed no size for page {page}"),
        });
    };
    let asked = dpi.max(1);
    let dpi = capped_dpi(width, height, asked);
    if dpi < asked {
        tracing::info!(
            path = %path.display(),
            page,
            asked,
            dpi,
            "page rendered at a lower resolution to stay within MAX_RENDER_PIXELS"
        );
    }

    let out_io = |source| PdfError::Io {
        path: out_dir.to_path_buf(),
        source,
    };
    tokio::fs::create_dir_all(out_dir).await.map_err(out_io)?;
    let scratch = ScratchDir::create_in(out_dir, "pdftoppm")
        .await
        .map_err(out_io)?;
    let number = page.to_string();
    let mut args: Vec<OsString> = vec![
        "-r".into(),
        dpi.to_string().into(),
        "-f".into(),
        number.clone().into(),
        "-l".into(),
        number.into(),
        "-gray".into(),
        "-png".into(),
        "-singlefile".into(),
    ];
    args.extend(password_args(password));
    args.push(absolute.into());
    args.push(scratch.path().join("page").into());
    process::run_with(
        "pdftoppm",
        &args,
        RunOptions::with_timeout(RENDER_PAGE_TIMEOUT),
    )
    .await
    .map_err(|e| tool_failure(path, password, "pdftoppm", "render", e))?;
    let from = scratch.path().join("page.png");
    if !tokio::fs::try_exists(&from).await.unwrap_or(false) {
        return Err(PdfError::BadOutput {
            path: path.to_path_buf(),
            tool: "pdftoppm".into(),
            cause: format!("it wrote no image of page {page}"),
        });
    }
    let to = out_dir.join(format!("page-{page}.png"));
    tokio::fs::rename(&from, &to).await.map_err(out_io)?;
    Ok(to)
}

/// The size in points of page `page` (pdfinfo `-f N -l N` prints `Page    N size: ...`).
async fn page_size(
    path: &Path,
    absolute: &Path,
    page: u32,
    password: Option<&str>,
) -> Result<Option<(f64, f64)>, PdfError> {
    let number = page.to_string();
    let mut args: Vec<OsString> = vec![
        "-f".into(),
        number.clone().into(),
        "-l".into(),
        number.into(),
    ];
    args.extend(password_args(password));
    args.push(absolute.into());
    let output = process::run_with("pdfinfo", &args, RunOptions::with_timeout(PDFINFO_TIMEOUT))
        .await
        .map_err(|e| tool_failure(path, password, "pdfinfo", "read", e))?;
    let prefix = format!("Page {page} size:");
    Ok(output.stdout_text().lines().find_map(|line| {
        let squeezed = line.split_whitespace().collect::<Vec<_>>().join(" ");
        squeezed.strip_prefix(&prefix).and_then(parse_page_size)
    }))
}

/// "595.304 x 841.89 pts (A4)" → (595.304, 841.89).
fn parse_page_size(text: &str) -> Option<(f64, f64)> {
    let mut words = text.split_whitespace();
    let width: f64 = words.next()?.parse().ok()?;
    let height: f64 = (words.next() == Some("x"))
        .then(|| words.next())??
        .parse()
        .ok()?;
    (width.is_finite() && height.is_finite() && width > 0.0 && height > 0.0)
        .then_some((width, height))
}

/// `dpi`, or the highest resolution at which a `width` x `height` points page stays within
/// [`MAX_RENDER_PIXELS`] when that is lower (at least 1).
fn capped_dpi(width: f64, height: f64, dpi: u32) -> u32 {
    let inches = (width / 72.0) * (height / 72.0);
    let pixels = inches * f64::from(dpi) * f64::from(dpi);
    if pixels <= MAX_RENDER_PIXELS as f64 {
        return dpi;
    }
    // A rendered side rounds up to whole pixels: stay one dot below the limit.
    let highest = ((MAX_RENDER_PIXELS as f64 / inches).sqrt().floor() as u32).saturating_sub(1);
    highest.clamp(1, dpi)
}

/// pdftotext's output as one trimmed text per page: it ends every page with a form feed, so
/// what follows the last one is not a page.
fn split_pages(text: &str) -> Vec<String> {
    let mut pages: Vec<&str> = text.split('\u{c}').collect();
    pages.pop();
    pages.into_iter().map(|p| p.trim().to_owned()).collect()
}

/// `page-<n>.png` files in `dir`, sorted by page number (pdftoppm pads the numbers to the
/// width of the last one, so names alone do not sort across runs).
async fn numbered_pages(dir: &Path) -> std::io::Result<Vec<(u32, PathBuf)>> {
    let mut pages = Vec::new();
    let mut entries = tokio::fs::read_dir(dir).await?;
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .and_then(|n| n.strip_prefix("page-"))
            .and_then(|n| n.strip_suffix(".png"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        pages.push((number, entry.path()));
    }
    pages.sort_by_key(|(n, _)| *n);
    Ok(pages)
}

/// The absolute path of a non-empty regular file that starts like a PDF.
async fn checked_pdf(path: &Path) -> Result<PathBuf, PdfError> {
    let io_error = |source| PdfError::Io {
        path: path.to_path_buf(),
        source,
    };
    let absolute = std::path::absolute(path).map_err(io_error)?;
    let meta = match tokio::fs::metadata(&absolute).await {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PdfError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_error(e)),
    };
    if !meta.is_file() {
        return Err(PdfError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    if meta.len() == 0 {
        return Err(PdfError::Corrupt {
            path: path.to_path_buf(),
            cause: "the file is empty (0 bytes)".into(),
        });
    }
    let mut head = Vec::new();
    tokio::fs::File::open(&absolute)
        .await
        .map_err(io_error)?
        .take(PDF_MAGIC_WINDOW)
        .read_to_end(&mut head)
        .await
        .map_err(io_error)?;
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(PdfError::Corrupt {
            path: path.to_path_buf(),
            cause: "it has no %PDF- header in its first 1 KiB, so it is not a PDF".into(),
        });
    }
    Ok(absolute)
}

/// pdfinfo's facts (`pages_with_text` not yet counted).
async fn pdfinfo(
    path: &Path,
    absolute: &Path,
    password: Option<&str>,
) -> Result<PdfFacts, PdfError> {
    let mut args: Vec<OsString> = vec!["-isodates".into(), "-enc".into(), "UTF-8".into()];
    args.extend(password_args(password));
    args.push(absolute.into());
    let output = match process::run_with(
        "pdfinfo",
        &args,
        RunOptions::with_timeout(PDFINFO_TIMEOUT),
    )
    .await
    {
        Ok(output) => output,
        // pdfinfo exits 1 with "Command Line Error: Incorrect password" when a user
        // password is needed: a fact about the document, not a failure, unless a password
        // was given.
        Err(ToolError::Failed { stderr_tail, .. }) if is_password_error(&stderr_tail) => {
            return match given(password) {
                Some(_) => Err(PdfError::WrongPassword {
                    path: path.to_path_buf(),
                }),
                None => Ok(PdfFacts::password_protected()),
            };
        }
        Err(ToolError::Failed { stderr_tail, .. }) => {
            return Err(PdfError::Corrupt {
                path: path.to_path_buf(),
                cause: format!("pdfinfo cannot open it ({})", poppler_cause(&stderr_tail)),
            });
        }
        Err(source) => {
            return Err(PdfError::Tool {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let info = parse_pdfinfo(&output.stdout_text());
    if info.is_empty() {
        return Err(PdfError::BadOutput {
            path: path.to_path_buf(),
            tool: "pdfinfo".into(),
            cause: "it printed no `Key: value` lines".into(),
        });
    }
    let text = |key: &str| info.get(key).filter(|v| !v.is_empty()).cloned();
    let pages = match info.get("Pages") {
        Some(pages) => Some(pages.parse::<u32>().map_err(|_| PdfError::BadOutput {
            path: path.to_path_buf(),
            tool: "pdfinfo".into(),
            cause: format!("its page count `{pages}` is not a number"),
        })?),
        None => None,
    };
    Ok(PdfFacts {
        pages,
        encrypted: info.get("Encrypted").is_some_and(|e| e.starts_with("yes")),
        needs_password: false,
        producer: text("Producer"),
        creator: text("Creator"),
        title: text("Title"),
        author: text("Author"),
        pdf_version: text("PDF version"),
        page_size: text("Page size"),
        pages_with_text: None,
        warnings: warning_lines(&output.stderr_tail()),
        info,
    })
}

impl PdfFacts {
    fn password_protected() -> PdfFacts {
        PdfFacts {
            pages: None,
            encrypted: true,
            needs_password: true,
            producer: None,
            creator: None,
            title: None,
            author: None,
            pdf_version: None,
            page_size: None,
            pages_with_text: None,
            info: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }
}

fn is_password_error(stderr: &str) -> bool {
    stderr.contains("Incorrect password")
}

/// The password, unless there is none or it is empty.
fn given(password: Option<&str>) -> Option<&str> {
    password.filter(|p| !p.is_empty())
}

/// poppler's arguments for `password` (see the module docs): none without one.
fn password_args(password: Option<&str>) -> Vec<OsString> {
    match given(password) {
        Some(p) => vec!["-opw".into(), p.into(), "-upw".into(), p.into()],
        None => Vec::new(),
    }
}

/// The error for a poppler tool that failed on a document pdfinfo opened: the password (a
/// rare race with a file replaced in between), damage only this tool hits, or the tool.
fn tool_failure(
    path: &Path,
    password: Option<&str>,
    tool: &str,
    doing: &str,
    error: ToolError,
) -> PdfError {
    match error {
        ToolError::Failed { stderr_tail, .. } if is_password_error(&stderr_tail) => {
            match given(password) {
                Some(_) => PdfError::WrongPassword {
                    path: path.to_path_buf(),
                },
                None => PdfError::PasswordProtected {
                    path: path.to_path_buf(),
                },
            }
        }
        ToolError::Failed { stderr_tail, .. } => PdfError::Corrupt {
            path: path.to_path_buf(),
            cause: format!("{tool} cannot {doing} it ({})", poppler_cause(&stderr_tail)),
        },
        source => PdfError::Tool {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Runs pdfinfo and returns the facts and the page count of a document that opens (with
/// `password` if it needs one): [`PdfError::PasswordProtected`] when it needs a password and
/// none was given.
async fn opened(
    path: &Path,
    absolute: &Path,
    password: Option<&str>,
) -> Result<(PdfFacts, u32), PdfError> {
    let facts = pdfinfo(path, absolute, password).await?;
    if facts.needs_password {
        return Err(PdfError::PasswordProtected {
            path: path.to_path_buf(),
        });
    }
    match facts.pages {
        Some(pages) => Ok((facts, pages)),
        None => Err(PdfError::BadOutput {
            path: path.to_path_buf(),
            tool: "pdfinfo".into(),
            cause: "it printed no page count".into(),
        }),
    }
}

/// pdftotext's time limit for a document of `pages` pages.
fn pdftotext_timeout(pages: u32) -> Duration {
    PDFTOTEXT_BASE_TIMEOUT
        .saturating_add(PDFTOTEXT_PER_PAGE.saturating_mul(pages))
        .min(PDFTOTEXT_MAX_TIMEOUT)
}

/// pdfinfo's `Key:   value` lines. pdfinfo pads every key to 16 columns, so a value starts
/// at column 17 at the latest; a line without such a key continues the previous value (a
/// title with a line break).
fn parse_pdfinfo(text: &str) -> BTreeMap<String, String> {
    let mut info: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        match pdfinfo_key(line) {
            Some((key, value)) => {
                info.insert(key.to_owned(), value.trim().to_owned());
                last = Some(key.to_owned());
            }
            None => {
                if let Some(value) = last.as_ref().and_then(|k| info.get_mut(k)) {
                    value.push('\n');
                    value.push_str(line.trim_end());
                }
            }
        }
    }
    info
}

fn pdfinfo_key(line: &str) -> Option<(&str, &str)> {
    let (key, rest) = line.split_once(':')?;
    let well_formed = !key.is_empty()
        && key.len() <= 16
        && key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphabetic() || c == ' ');
    // The padding after the colon reaches column 17 (or is one space for a 16-column key).
    let padding = rest.len() - rest.trim_start_matches(' ').len();
    let aligned = key.len() + 1 + padding >= 17 || rest.trim().is_empty();
    (well_formed && aligned).then_some((key, rest))
}

/// Runs pdftotext over the whole document and counts the pages (form-feed separated) with
/// non-whitespace text. Err says why the count is unknown.
async fn count_pages_with_text(
    absolute: &Path,
    pages: Option<u32>,
    password: Option<&str>,
) -> Result<(u32, Vec<String>), String> {
    let mut args: Vec<OsString> = vec!["-layout".into(), "-enc".into(), "UTF-8".into()];
    args.extend(password_args(password));
    args.push(absolute.into());
    args.push("-".into());
    let mut run = RunOptions::with_timeout(pdftotext_timeout(pages.unwrap_or(0)));
    run.max_stdout = MAX_TEXT_BYTES;
    let output = match process::run_with("pdftotext", &args, run).await {
        Ok(output) => output,
        Err(ToolError::Failed { stderr_tail, .. }) => {
            return Err(format!(
                "pdftotext failed ({})",
                poppler_cause(&stderr_tail)
            ));
        }
        Err(other) => return Err(other.to_string()),
    };
    if output.stdout_truncated {
        return Err(format!(
            "its text layer is larger than {} MiB",
            MAX_TEXT_BYTES / 1024 / 1024
        ));
    }
    let text = output.stdout_text();
    Ok((
        count_text_pages(&text, pages),
        warning_lines(&output.stderr_tail()),
    ))
}

/// Pages (separated by form feeds; pdftotext ends each page with one) that hold anything but
/// whitespace; at most `pages` are looked at when the count is known.
fn count_text_pages(text: &str, pages: Option<u32>) -> u32 {
    let mut chunks: Vec<&str> = text.split('\u{c}').collect();
    // The text after the last form feed is not a page (empty when every page ended in one).
    if chunks.len() > 1 {
        chunks.pop();
    }
    let limit = pages.map_or(usize::MAX, |p| p as usize);
    chunks
        .iter()
        .take(limit)
        .filter(|page| page.chars().any(|c| !c.is_whitespace()))
        .count() as u32
}

/// poppler's stderr as one line: repeats dropped, joined with "; ".
fn poppler_cause(stderr: &str) -> String {
    let lines = warning_lines(stderr);
    if lines.is_empty() {
        "it printed nothing on stderr".into()
    } else {
        lines.join("; ")
    }
}

fn warning_lines(stderr: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in stderr.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !lines.iter().any(|l| l == line) && lines.len() < MAX_WARNINGS {
            lines.push(line.to_owned());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdfinfo_lines() {
        let text = "Title:           Part one\nand two\nAuthor:          A: B\n\
                    Custom Metadata: no\nPages:           2\nEncrypted:       yes (print:yes)\n\
                    Page size:       595.304 x 841.89 pts (A4)\nPDF version:     1.6\n";
        let info = parse_pdfinfo(text);
        assert_eq!(info["Title"], "Part one\nand two");
        assert_eq!(info["Author"], "A: B");
        assert_eq!(info["Custom Metadata"], "no");
        assert_eq!(info["Pages"], "2");
        assert_eq!(info["Page size"], "595.304 x 841.89 pts (A4)");
        assert_eq!(info["PDF version"], "1.6");
        assert_eq!(info.len(), 7);
        // "Chapter: one" is not aligned like a pdfinfo key: a continuation.
        let info = parse_pdfinfo("Title:           Book\nChapter: one\n");
        assert_eq!(info["Title"], "Book\nChapter: one");
    }

    #[test]
    fn text_pages_are_form_feed_separated() {
        assert_eq!(count_text_pages("a\n\u{c}\n  \n\u{c}b\u{c}", Some(3)), 2);
        assert_eq!(count_text_pages("\u{c}\u{c}", Some(2)), 0);
        assert_eq!(count_text_pages("", Some(0)), 0);
        assert_eq!(count_text_pages("x\u{c}y\u{c}", None), 2);
        // Never more than the page count.
        assert_eq!(count_text_pages("x\u{c}y\u{c}z", Some(2)), 2);
    }

    #[test]
    fn page_texts_split_at_form_feeds() {
        assert_eq!(
            split_pages("a\nb\n\n\u{c}\u{c} c \n\u{c}"),
            ["a\nb", "", "c"]
        );
        assert_eq!(split_pages(""), Vec::<String>::new());
        assert_eq!(split_pages("\u{c}"), [""]);
    }

    #[test]
    fn page_sizes_and_resolution_caps() {
        assert_eq!(
            parse_page_size("595.304 x 841.89 pts (A4)"),
            Some((595.304, 841.89))
        );
        assert_eq!(
            parse_page_size("612 x 792 pts (letter)"),
            Some((612.0, 792.0))
        );
        assert_eq!(parse_page_size("612 by 792"), None);
        assert_eq!(parse_page_size("0 x 792 pts"), None);
        // A4 at 300 dpi is 8.7 megapixels: as asked.
        assert_eq!(capped_dpi(595.304, 841.89, 300), 300);
        // A 200 x 200 inch page at 300 dpi would be 3.6 gigapixels: 49 dpi stays within.
        let dpi = capped_dpi(14400.0, 14400.0, 300);
        assert_eq!(dpi, 49);
        let side = (200 * dpi) as u64;
        assert!(side * side <= MAX_RENDER_PIXELS);
        assert!(capped_dpi(1e9, 1e9, 300) >= 1);
    }
}
