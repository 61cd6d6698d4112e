//! Scanned pages for OCR tests, made from real text with real tools: a text PDF written by
//! hand (Helvetica, one line per text line), its text layer read back by `pdftotext`, its
//! pages rasterised at 300 dpi in gray by `pdftoppm`, and the rasters wrapped as JPEGs in an
//! image-only PDF (a "scan": no text layer at all).
//!
//! Shared by the document service's OCR tests and the CLI's pipeline test (`#[path]`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// US Letter, in points.
const LETTER: (f64, f64) = (612.0, 792.0);

fn run(program: &str, args: &[&str]) -> Vec<u8> {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/setup.sh installs it): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A PDF of `objects` (object 1 the catalog), with a correct cross-reference table.
fn write_pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(body);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

fn stream(dictionary: &str, data: &[u8]) -> Vec<u8> {
    let mut object = format!("<< {dictionary} /Length {} >>\nstream\n", data.len()).into_bytes();
    object.extend_from_slice(data);
    object.extend_from_slice(b"\nendstream");
    object
}

/// A one-page PDF with `lines` of ASCII text in 11-point Helvetica.
pub fn text_pdf(lines: &[String]) -> Vec<u8> {
    let mut content = String::from("BT /F1 11 Tf 14 TL 72 720 Td\n");
    for line in lines {
        let escaped = line
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        content.push_str(&format!("({escaped}) Tj T*\n"));
    }
    content.push_str("ET");
    write_pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Contents 4 0 R \
             /Resources << /Font << /F1 5 0 R >> >> >>",
            LETTER.0, LETTER.1
        )
        .into_bytes(),
        stream("", content.as_bytes()),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ])
}

/// An image-only PDF: per page its size in points and a gray JPEG with its pixel size.
pub fn image_only_pdf(pages: &[(f64, f64, Vec<u8>, u32, u32)]) -> Vec<u8> {
    // 1: catalog, 2: pages, then (page, content, image) triples from 3.
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", 3 + 3 * i))
        .collect();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    ];
    for (i, (width, height, jpeg, px_width, px_height)) in pages.iter().enumerate() {
        let (content_id, image_id) = (4 + 3 * i, 5 + 3 * i);
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] \
                 /Contents {content_id} 0 R /Resources << /XObject << /Im1 {image_id} 0 R >> >> >>"
            )
            .into_bytes(),
        );
        let content = format!("q {width} 0 0 {height} 0 0 cm /Im1 Do Q");
        objects.push(stream("", content.as_bytes()));
        objects.push(stream(
            &format!(
                "/Type /XObject /Subtype /Image /Width {px_width} /Height {px_height} \
                 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode"
            ),
            jpeg,
        ));
    }
    write_pdf(&objects)
}

/// `original` scanned: every page rasterised at 300 dpi in gray by pdftoppm, JPEG-encoded
/// (quality 85), wrapped in an image-only PDF at `dir/scan.pdf`. `page_size` is the
/// original's page size in points.
pub fn scan(original: &Path, dir: &Path, page_size: (f64, f64)) -> PathBuf {
    let root = dir.join("raster");
    run(
        "pdftoppm",
        &[
            "-r",
            "300",
            "-gray",
            "-png",
            original.to_str().unwrap(),
            root.to_str().unwrap(),
        ],
    );
    let mut rasters: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("raster-") && n.ends_with(".png"))
        })
        .collect();
    rasters.sort();
    assert!(!rasters.is_empty(), "pdftoppm wrote no pages");
    let pages: Vec<_> = rasters
        .iter()
        .map(|png| {
            let gray = image::open(png).unwrap().to_luma8();
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
                .encode_image(&gray)
                .unwrap();
            (page_size.0, page_size.1, jpeg, gray.width(), gray.height())
        })
        .collect();
    let path = dir.join("scan.pdf");
    std::fs::write(&path, image_only_pdf(&pages)).unwrap();
    path
}

/// About 400 words of real prose (the Apache License 2.0 as Debian ships it in
/// base-files), wrapped at 80 characters into at most 48 lines: a full page.
pub fn prose_lines() -> Vec<String> {
    let licence = std::fs::read_to_string("/usr/share/common-licenses/Apache-2.0")
        .expect("/usr/share/common-licenses/Apache-2.0 (Debian's base-files) is readable");
    let words: Vec<&str> = licence
        .split_whitespace()
        .filter(|w| w.is_ascii())
        .collect();
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in words {
        if line.len() + 1 + word.len() > 80 {
            lines.push(std::mem::take(&mut line));
            if lines.len() == 48 {
                break;
            }
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines
}

/// A scanned page of prose at `dir/scan.pdf`, and the text layer of the page it was scanned
/// from (what `pdftotext` reads there) as the reference for OCR.
pub fn scanned_text_page(dir: &Path) -> (PathBuf, String) {
    let original = dir.join("prose.pdf");
    std::fs::write(&original, text_pdf(&prose_lines())).unwrap();
    let reference =
        String::from_utf8(run("pdftotext", &[original.to_str().unwrap(), "-"])).unwrap();
    assert!(
        reference.split_whitespace().count() > 300,
        "the prose page has its text layer: {reference}"
    );
    let scans = dir.join("scan");
    std::fs::create_dir_all(&scans).unwrap();
    (scan(&original, &scans, LETTER), reference)
}
