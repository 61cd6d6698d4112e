//! Tesseract OCR of a scanned page, end to end on real tools: the pages of a forensics PDF
//! rasterised at 300 dpi (pdftoppm, run here directly) and wrapped as JPEGs in an image-only
//! PDF written here by hand; that "scan" has no text layer, so its pages are rendered with
//! `pdf::render_page` and read by [`TesseractOcr`], and the words are compared with the
//! original's text layer.
//!
//! A full page of prose (the Apache License 2.0, ~400 words, typeset here) is the measure
//! that counts; the forensics PDFs are short: page 1 of a-text.pdf and d-text.pdf is the same 14 words, so
//! one wrong word there is a WER of 7%. The scan is d-text.pdf, the longest (2 pages, 24
//! words); the WER is asserted on page 1 and on both pages together.

use std::path::{Path, PathBuf};
use std::process::Command;

use mediasift_document::ocr::{OcrBackend, OcrError, TesseractOcr};
use mediasift_media::pdf;
use mediasift_media::wer::{Wer, word_error_rate};

mod support;
use support::scan;

fn media(relative: &str) -> PathBuf {
    let dir = match std::env::var_os("TEST_MEDIA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/test-media"),
    };
    let path = dir.join(relative);
    assert!(
        path.is_file(),
        "test media {} is missing: run scripts/setup.sh (it fetches .cache/test-media)",
        path.display()
    );
    path
}

fn require_tool(tool: &str) {
    let found = Command::new(tool).arg("--version").output().is_ok()
        || Command::new(tool).arg("-v").output().is_ok();
    assert!(found, "`{tool}` is not installed: run scripts/setup.sh");
}

fn ocr() -> TesseractOcr {
    require_tool("tesseract");
    TesseractOcr::default()
}

#[tokio::test]
async fn a_scanned_page_is_read_by_tesseract_within_ten_percent_wer() {
    let dir = tempfile::tempdir().unwrap();
    let original = media("forensics/text2/d-text.pdf");
    let reference = pdf::page_texts(&original, None).await.unwrap();
    assert_eq!(reference.len(), 2);

    let scanned = scan::scan(&original, dir.path(), (595.304, 841.89));
    let facts = pdf::inspect(&scanned).await.unwrap();
    assert_eq!(facts.pages, Some(2));
    assert_eq!(facts.pages_with_text, Some(0), "a scan has no text layer");
    assert_eq!(pdf::page_texts(&scanned, None).await.unwrap(), ["", ""]);

    let ocr = ocr();
    let mut total = Wer::default();
    for (k, reference) in reference.iter().enumerate() {
        let number = k as u32 + 1;
        let png = pdf::render_page(&scanned, number, ocr.dpi(), None, dir.path())
            .await
            .unwrap();
        let (width, height) = image::image_dimensions(&png).unwrap();
        assert_eq!((width, height), (2481, 3508), "A4 at 300 dpi");
        let read = ocr.recognise(&png).await.unwrap();
        let wer = word_error_rate(reference, &read.text);
        println!(
            "d-text.pdf page {number} scanned at 300 dpi, tesseract: WER {:.1}% ({} errors / \
             {} words), mean confidence {:.1}\n--- reference\n{reference}\n--- OCR\n{}",
            100.0 * wer.rate(),
            wer.errors(),
            wer.reference_words,
            read.mean_confidence.unwrap_or(0.0),
            read.text
        );
        total += wer;
        if number == 1 {
            assert_eq!(wer.reference_words, 14);
            assert!(wer.rate() <= 0.10, "page 1 WER {:.3}", wer.rate());
        }

        // One OCR line per line of the original.
        let lines = reference.lines().filter(|l| !l.trim().is_empty()).count();
        assert_eq!(read.lines.len(), lines, "{:?}", read.lines);
        assert_eq!(
            read.text
                .lines()
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>(),
            read.lines
                .iter()
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>(),
            "text is the lines in order"
        );
        for line in &read.lines {
            let confidence = line.confidence.expect("tesseract gives confidences");
            assert!((50.0..=100.0).contains(&confidence), "{line:?}");
            let b = line.bounding_box.expect("tesseract gives boxes");
            assert!(b.left >= 0.0 && b.top >= 0.0 && b.width > 0.0 && b.height > 0.0);
            assert!(b.left + b.width <= 1.0 && b.top + b.height <= 1.0, "{b:?}");
            // Text lines on an A4 page: wider than tall, in the upper part of the page.
            assert!(b.width > b.height && b.top < 0.5, "{line:?}");
        }
        let tops: Vec<f64> = read
            .lines
            .iter()
            .map(|l| l.bounding_box.unwrap().top)
            .collect();
        assert!(
            tops.windows(2).all(|w| w[0] < w[1]),
            "top to bottom: {tops:?}"
        );
        let mean = read.mean_confidence.unwrap();
        assert!((80.0..=100.0).contains(&mean), "{mean}");
    }
    println!(
        "d-text.pdf both pages: WER {:.1}% ({} errors / {} words)",
        100.0 * total.rate(),
        total.errors(),
        total.reference_words
    );
    assert_eq!(total.reference_words, 24);
    assert!(total.rate() <= 0.10, "WER {:.3}", total.rate());

    // The engine is tesseract's version line, as `tesseract --version` prints it.
    let version = Command::new("tesseract").arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).into_owned()
        + &String::from_utf8_lossy(&version.stderr);
    let first = version.lines().next().unwrap().trim();
    assert!(first.starts_with("tesseract "), "{first}");
    assert_eq!(ocr.engine(), first);
    assert_eq!(ocr.probe().await.unwrap(), first);
}

/// An empty page (a handmade PDF page with nothing on it) reads as no text, not an error.
/// A full page of real prose, typeset, scanned at 300 dpi and read back: the figure in
/// docs/performance.md.
#[tokio::test]
async fn a_scanned_page_of_prose_is_read_within_ten_percent_wer() {
    let dir = tempfile::tempdir().unwrap();
    let (scanned, reference) = scan::scanned_text_page(dir.path());
    assert_eq!(pdf::page_texts(&scanned, None).await.unwrap(), [""]);
    let ocr = ocr();
    let png = pdf::render_page(&scanned, 1, ocr.dpi(), None, dir.path())
        .await
        .unwrap();
    let read = ocr.recognise(&png).await.unwrap();
    let wer = word_error_rate(&reference, &read.text);
    println!(
        "prose page scanned at 300 dpi, {}: WER {:.2}% ({} errors / {} words), mean confidence \
         {:.1}",
        ocr.engine(),
        100.0 * wer.rate(),
        wer.errors(),
        wer.reference_words,
        read.mean_confidence.unwrap_or(0.0)
    );
    assert!(wer.reference_words > 300);
    assert!(wer.rate() <= 0.10, "WER {:.3}", wer.rate());
}

#[tokio::test]
async fn a_blank_page_reads_as_empty_text() {
    let dir = tempfile::tempdir().unwrap();
    let white = image::GrayImage::from_pixel(8, 8, image::Luma([255]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&white)
        .unwrap();
    let path = dir.path().join("blank.pdf");
    std::fs::write(
        &path,
        scan::image_only_pdf(&[(595.304, 841.89, jpeg, 8, 8)]),
    )
    .unwrap();
    assert_eq!(pdf::page_texts(&path, None).await.unwrap(), [""]);

    let ocr = ocr();
    let png = pdf::render_page(&path, 1, ocr.dpi(), None, dir.path())
        .await
        .unwrap();
    let read = ocr.recognise(&png).await.expect("a blank page is no error");
    assert!(read.is_empty());
    assert_eq!(read.text, "");
    assert!(read.lines.is_empty());
    assert_eq!(read.mean_confidence, None);
}

/// What is not a page image is a page error (the other pages go on), never a panic.
#[tokio::test]
async fn what_is_not_a_page_image_is_a_page_error() {
    let dir = tempfile::tempdir().unwrap();
    let ocr = ocr();
    let page_error = |result: Result<_, OcrError>| match result {
        Err(OcrError::Page(message)) => message,
        other => panic!("expected a page error, got {other:?}"),
    };

    // Text: tesseract would read it as a list of images to OCR; it never gets to.
    let listing = dir.path().join("page.png");
    std::fs::write(
        &listing,
        media("pillow/hopper.png").to_string_lossy().as_bytes(),
    )
    .unwrap();
    let message = page_error(ocr.recognise(&listing).await);
    assert!(message.contains("is not an image"), "{message}");
    assert!(message.contains("page.png"), "{message}");

    // A PDF is not a page image either; an AVIF is one tesseract does not read.
    let message = page_error(ocr.recognise(&media("forensics/text1/a-text.pdf")).await);
    assert!(message.contains("is not an image"), "{message}");
    let message = page_error(ocr.recognise(&media("pillow/hopper.avif")).await);
    assert!(
        message.contains("Avif image, which tesseract does not read"),
        "{message}"
    );

    // A PNG signature followed by garbage, and a PNG cut short: tesseract fails on them.
    for name in ["pillow/broken.png", "pillow/truncated_image.png"] {
        let message = page_error(ocr.recognise(&media(name)).await);
        assert!(message.starts_with("tesseract cannot read"), "{message}");
        assert!(message.contains("png"), "{name}: {message}");
    }

    let message = page_error(ocr.recognise(&dir.path().join("missing.png")).await);
    assert!(message.contains("missing.png"), "{message}");
    assert!(message.contains("No such file"), "{message}");
}
