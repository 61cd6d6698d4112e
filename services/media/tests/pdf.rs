//! PDFs on real documents (the LibreOffice exports of Debian's forensics-samples-files, two
//! of them password-protected; scripts/setup.sh links them into .cache/test-media, and a
//! missing file fails the test with that hint) and on PDFs written here by hand. Expected
//! values come from running pdfinfo directly (without -isodates) and pdftotext page by page
//! (`-f N -l N`), not through the crate's code path.

mod probe_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use mediasift_media::pdf::{self, PdfError, RenderOptions};
use probe_support::{media, require_tool};

/// `pdfinfo [args] FILE`: (exit code, `Key: value` map, stderr).
fn pdfinfo(file: &Path, args: &[&str]) -> (i32, BTreeMap<String, String>, String) {
    require_tool("pdfinfo");
    let output = Command::new("pdfinfo")
        .args(args)
        .arg(file)
        .output()
        .expect("pdfinfo runs");
    let info = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    (
        output.status.code().unwrap_or(-1),
        info,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Pages with non-whitespace text, by running pdftotext once per page.
fn pages_with_text_one_by_one(file: &Path, pages: u32) -> u32 {
    require_tool("pdftotext");
    (1..=pages)
        .filter(|page| {
            let page = page.to_string();
            let output = Command::new("pdftotext")
                .args(["-f", &page, "-l", &page])
                .arg(file)
                .arg("-")
                .output()
                .expect("pdftotext runs");
            assert!(output.status.success());
            String::from_utf8_lossy(&output.stdout)
                .chars()
                .any(|c| !c.is_whitespace())
        })
        .count() as u32
}

/// A PDF of `pages` A5-portrait pages written by hand. Page k carries a black bar 20·k points
/// wide across its top (so its rendering tells which page it is) and, when `text(k)`, a line
/// of text; the other pages are graphics only, like a scan.
fn handmade_pdf(pages: u32, text: impl Fn(u32) -> bool) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    // 1: catalog, 2: pages, 3: font, then (page, content) pairs from 4.
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {pages} >>",
        kids.join(" ")
    ));
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into());
    for k in 1..=pages {
        let content_id = 5 + 2 * (k - 1);
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 595] /Contents {content_id} 0 R \
             /Resources << /Font << /F1 3 0 R >> >> >>"
        ));
        let mut content = format!("0 g 0 555 {} 40 re f", 20 * k);
        if text(k) {
            content += &format!(" BT /F1 24 Tf 40 300 Td (Page {k} says hello) Tj ET");
        }
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ));
    }
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
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
            "trailer\n<< /Size {} /Root 1 0 R /Info << /Title (Twelve pages) >> >>\n\
             startxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// How many pixels of the top band of a rendered page are dark (the bar: grows with k).
fn bar_width(png: &Path) -> u32 {
    let image = image::open(png).expect("a PNG").to_luma8();
    let y = image.height() / 60; // inside the 40-point bar at the top
    (0..image.width())
        .filter(|&x| image.get_pixel(x, y).0[0] < 128)
        .count() as u32
}

// --- the forensics documents ------------------------------------------------------------

#[tokio::test]
async fn forensics_pdfs_match_pdfinfo() {
    for name in ["forensics/text1/a-text.pdf", "forensics/text2/d-text.pdf"] {
        let path = media(name);
        let facts = pdf::inspect(&path)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (code, info, _) = pdfinfo(&path, &[]);
        assert_eq!(code, 0, "{name}");
        let pages: u32 = info["Pages"].parse().unwrap();
        assert_eq!(facts.pages, Some(pages), "{name}");
        assert_eq!(pages, 2, "{name}");
        assert!(!facts.encrypted && !facts.needs_password, "{name}");
        assert_eq!(info["Encrypted"], "no");
        assert_eq!(facts.producer.as_ref(), info.get("Producer"), "{name}");
        assert_eq!(facts.producer.as_deref(), Some("LibreOffice 7.0"));
        assert_eq!(facts.creator.as_deref(), Some("Writer"));
        assert_eq!(facts.author.as_ref(), info.get("Author"), "{name}");
        assert_eq!(facts.author.as_deref(), Some("Eriberto Mota"));
        assert_eq!(facts.title, None, "{name} has no title");
        assert_eq!(facts.pdf_version.as_ref(), info.get("PDF version"));
        assert_eq!(facts.pdf_version.as_deref(), Some("1.6"));
        assert_eq!(facts.page_size.as_ref(), info.get("Page size"));
        assert_eq!(
            facts.page_size.as_deref(),
            Some("595.304 x 841.89 pts (A4)")
        );
        // Both pages are text pages (LibreOffice exports of typed text).
        assert_eq!(
            facts.pages_with_text,
            Some(pages_with_text_one_by_one(&path, pages))
        );
        assert_eq!(facts.pages_with_text, Some(2));
        assert_eq!(facts.info["Pages"], "2");
        assert!(
            facts.info["CreationDate"].starts_with("2020-09-1"),
            "ISO dates: {:?}",
            facts.info["CreationDate"]
        );
        assert!(facts.warnings.is_empty(), "{name}: {:?}", facts.warnings);
    }
}

/// a-text-pass-A5d.pdf and a-text-pass-peanuts.pdf open only with their user passwords
/// ("A5d", "peanuts"). pdfinfo exits 1 with "Command Line Error: Incorrect password" on them;
/// given the password it shows 2 pages, RC4-encrypted. inspect reports what can be known.
#[tokio::test]
async fn password_protected_pdfs_are_facts_not_errors() {
    for (name, password) in [
        ("forensics/text1/a-text-pass-A5d.pdf", "A5d"),
        ("forensics/text1/a-text-pass-peanuts.pdf", "peanuts"),
    ] {
        let path = media(name);
        let (code, _, stderr) = pdfinfo(&path, &[]);
        assert_eq!(code, 1, "{name}");
        assert!(stderr.contains("Incorrect password"), "{name}: {stderr}");
        let (code, unlocked, _) = pdfinfo(&path, &["-upw", password]);
        assert_eq!(code, 0, "{name}");
        assert_eq!(unlocked["Pages"], "2");
        assert!(unlocked["Encrypted"].starts_with("yes"), "{unlocked:?}");

        let facts = pdf::inspect(&path)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(facts.encrypted && facts.needs_password, "{name}: {facts:?}");
        assert_eq!(facts.pages, None);
        assert_eq!(facts.pages_with_text, None);
        assert!(facts.info.is_empty());

        let out = tempfile::tempdir().unwrap();
        let error = pdf::render_pages(&path, out.path(), &RenderOptions::default())
            .await
            .expect_err("needs a password");
        assert!(
            matches!(error, PdfError::PasswordProtected { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("password"), "{error}");
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    }
}

/// a-text.pdf renders as two A4 pages, 1600 pixels tall; a stale page file in the folder is
/// not returned.
#[tokio::test]
async fn forensics_pdf_renders_one_png_per_page() {
    let path = media("forensics/text1/a-text.pdf");
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("page-3.png"), b"stale").unwrap();
    let rendered = pdf::render_pages(&path, out.path(), &RenderOptions::default())
        .await
        .expect("render");
    assert_eq!(rendered.total_pages, 2);
    assert_eq!(rendered.not_rendered, 0);
    assert!(rendered.is_complete());
    assert_eq!(
        rendered.pages,
        vec![out.path().join("page-1.png"), out.path().join("page-2.png")]
    );
    for page in &rendered.pages {
        let (w, h) = image::image_dimensions(page).expect("a PNG");
        // 595.304 x 841.89 points scaled to a 1600-pixel long side.
        assert_eq!(h, 1600, "{}", page.display());
        assert!((1130..=1133).contains(&w), "{w}");
        let gray = image::open(page).unwrap().to_luma8();
        let dark = gray.pixels().filter(|p| p.0[0] < 100).count();
        assert!(
            dark > 500,
            "{} shows no text ({dark} dark pixels)",
            page.display()
        );
    }
    // Nothing else is left behind (the scratch folder is gone).
    let mut names: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["page-1.png", "page-2.png", "page-3.png"]);
}

// --- handmade documents -----------------------------------------------------------------

fn twelve_pages(dir: &Path) -> PathBuf {
    let path = dir.join("twelve.pdf");
    std::fs::write(&path, handmade_pdf(12, |k| k % 2 == 1)).unwrap();
    path
}

/// Text on the odd pages only: 6 of 12 pages have text, as pdftotext page by page agrees.
#[tokio::test]
async fn pages_with_text_counts_the_text_layer() {
    let dir = tempfile::tempdir().unwrap();
    let path = twelve_pages(dir.path());
    let facts = pdf::inspect(&path).await.expect("inspect");
    assert_eq!(facts.pages, Some(12));
    assert_eq!(pages_with_text_one_by_one(&path, 12), 6);
    assert_eq!(facts.pages_with_text, Some(6));
    assert_eq!(facts.title.as_deref(), Some("Twelve pages"));
    assert_eq!(facts.pdf_version.as_deref(), Some("1.4"));
    assert_eq!(facts.page_size.as_deref(), Some("420 x 595 pts (A5)"));

    let none = dir.path().join("scan.pdf");
    std::fs::write(&none, handmade_pdf(3, |_| false)).unwrap();
    let facts = pdf::inspect(&none).await.expect("inspect");
    assert_eq!((facts.pages, facts.pages_with_text), (Some(3), Some(0)));
}

/// pdftoppm names twelve pages page-01.png ... page-12.png; they come back in page order (the
/// bar at the top of page k is 20·k points wide), and with max_pages 10 the last two are
/// reported as not rendered.
#[tokio::test]
async fn pages_come_back_in_page_order_up_to_max_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = twelve_pages(dir.path());
    let out = dir.path().join("pages");
    let options = RenderOptions {
        max_side: 400,
        ..RenderOptions::default()
    };
    let all = pdf::render_pages(&path, &out, &options)
        .await
        .expect("render");
    assert_eq!((all.total_pages, all.not_rendered), (12, 0));
    let names: Vec<String> = all
        .pages
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let expected: Vec<String> = (1..=12).map(|k| format!("page-{k:02}.png")).collect();
    assert_eq!(names, expected);
    let widths: Vec<u32> = all.pages.iter().map(|p| bar_width(p)).collect();
    assert!(
        widths.windows(2).all(|w| w[0] < w[1]),
        "bars not growing page by page: {widths:?}"
    );
    assert_eq!(image::image_dimensions(&all.pages[0]).unwrap().1, 400);

    let limited = RenderOptions {
        max_pages: 10,
        ..options
    };
    let out = dir.path().join("ten");
    let ten = pdf::render_pages(&path, &out, &limited)
        .await
        .expect("render");
    assert_eq!(
        (ten.total_pages, ten.pages.len(), ten.not_rendered),
        (12, 10, 2)
    );
    assert!(!ten.is_complete());
    let widths_ten: Vec<u32> = ten.pages.iter().map(|p| bar_width(p)).collect();
    assert_eq!(widths_ten, widths[..10]);
    for (k, page) in ten.pages.iter().enumerate() {
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        let number: u32 = name
            .trim_start_matches("page-")
            .trim_end_matches(".png")
            .parse()
            .unwrap();
        assert_eq!(number as usize, k + 1, "{name}");
    }

    let none = RenderOptions {
        max_pages: 0,
        ..options
    };
    let zero = pdf::render_pages(&path, &dir.path().join("zero"), &none)
        .await
        .expect("render");
    assert_eq!((zero.pages.len(), zero.not_rendered), (0, 12));
}

#[tokio::test]
async fn what_is_not_a_readable_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");

    // Not a PDF at all.
    let jpeg = media("pillow/hopper.jpg");
    let error = pdf::inspect(&jpeg).await.expect_err("a JPEG");
    assert!(matches!(error, PdfError::Corrupt { .. }), "{error:?}");
    assert!(error.to_string().contains("%PDF-"), "{error}");

    // The first 5000 of a-text.pdf's 18505 bytes: the cross-reference table is gone.
    let whole = std::fs::read(media("forensics/text1/a-text.pdf")).unwrap();
    let cut = dir.path().join("cut.pdf");
    std::fs::write(&cut, &whole[..5000]).unwrap();
    for error in [
        pdf::inspect(&cut).await.expect_err("truncated"),
        pdf::render_pages(&cut, &out, &RenderOptions::default())
            .await
            .expect_err("truncated"),
    ] {
        let message = error.to_string();
        assert!(matches!(error, PdfError::Corrupt { .. }), "{error:?}");
        assert!(message.contains("cut.pdf"), "{message}");
        assert!(
            message.contains("xref") || message.contains("trailer"),
            "{message}"
        );
        assert!(message.contains("upload it again"), "{message}");
    }

    // A PDF header followed by noise.
    let noise = dir.path().join("noise.pdf");
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend(probe_support::random_bytes(4096));
    std::fs::write(&noise, bytes).unwrap();
    let error = pdf::inspect(&noise).await.expect_err("noise");
    assert!(matches!(error, PdfError::Corrupt { .. }), "{error:?}");

    let empty = dir.path().join("empty.pdf");
    std::fs::write(&empty, b"").unwrap();
    let error = pdf::inspect(&empty).await.expect_err("empty");
    assert!(error.to_string().contains("empty"), "{error}");

    let missing = dir.path().join("missing.pdf");
    let error = pdf::inspect(&missing).await.expect_err("missing");
    assert!(matches!(error, PdfError::NotFound { .. }), "{error:?}");
    let error = pdf::inspect(dir.path()).await.expect_err("a folder");
    assert!(matches!(error, PdfError::NotAFile { .. }), "{error:?}");
}

/// A name starting with '-' is a file, not an option.
#[tokio::test]
async fn dash_names_are_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("-v.pdf");
    std::fs::write(&path, probe_support::minimal_pdf()).unwrap();
    let facts = pdf::inspect(&path).await.expect("inspect");
    assert_eq!((facts.pages, facts.pages_with_text), (Some(1), Some(1)));
    let rendered = pdf::render_pages(&path, &dir.path().join("-out"), &RenderOptions::default())
        .await
        .expect("render");
    assert_eq!(rendered.pages.len(), 1);
}

// --- text layers, passwords, pages for OCR ----------------------------------------------

/// `pdftotext [args] FILE -` run directly, as its words.
fn pdftotext_words(file: &Path, args: &[&str]) -> Vec<String> {
    require_tool("pdftotext");
    let output = Command::new("pdftotext")
        .args(args)
        .arg(file)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(
        output.status.success(),
        "pdftotext {args:?} {}",
        file.display()
    );
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn words(texts: &[String]) -> Vec<String> {
    texts
        .iter()
        .flat_map(|t| t.split_whitespace())
        .map(str::to_owned)
        .collect()
}

/// One text per page; together they are pdftotext's whole output, and each is pdftotext's
/// output for that page alone (modulo whitespace).
#[tokio::test]
async fn page_texts_are_pdftotexts_pages() {
    for name in ["forensics/text1/a-text.pdf", "forensics/text2/d-text.pdf"] {
        let path = media(name);
        let texts = pdf::page_texts(&path, None)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(texts.len(), 2, "{name}: {texts:?}");
        assert_eq!(words(&texts), pdftotext_words(&path, &[]), "{name}");
        for (k, text) in texts.iter().enumerate() {
            let page = (k + 1).to_string();
            assert_eq!(
                words(std::slice::from_ref(text)),
                pdftotext_words(&path, &["-f", &page, "-l", &page]),
                "{name} page {page}"
            );
            assert_eq!(text, text.trim(), "trimmed");
        }
        assert_eq!(
            texts[0],
            "This is a text from LibreOffice Writer...\nA test only.\nThere are 2 pages."
        );
    }
    let d = pdf::page_texts(&media("forensics/text2/d-text.pdf"), None)
        .await
        .unwrap();
    assert_eq!(
        d[1],
        "This is the second page.\nBye\n\nThis file was deleted..."
    );
}

/// Pages without a text layer give "", in their place.
#[tokio::test]
async fn page_texts_keep_pages_without_text_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = twelve_pages(dir.path());
    let texts = pdf::page_texts(&path, None).await.expect("page texts");
    assert_eq!(texts.len(), 12);
    for (k, text) in texts.iter().enumerate() {
        let k = k + 1;
        if k % 2 == 1 {
            assert_eq!(text, &format!("Page {k} says hello"));
        } else {
            assert_eq!(text, "", "page {k}");
        }
    }
}

/// The two encrypted forensics PDFs: without a password a fact; with theirs, complete facts
/// and the text `pdftotext -upw` gives; with the other's, WrongPassword everywhere.
#[tokio::test]
async fn passwords_open_encrypted_pdfs_and_wrong_ones_say_so() {
    let out = tempfile::tempdir().unwrap();
    for (name, password, wrong) in [
        ("forensics/text1/a-text-pass-A5d.pdf", "A5d", "peanuts"),
        ("forensics/text1/a-text-pass-peanuts.pdf", "peanuts", "A5d"),
    ] {
        let path = media(name);
        let locked = pdf::inspect_with_password(&path, None).await.unwrap();
        assert!(locked.encrypted && locked.needs_password, "{name}");
        assert_eq!(locked.pages, None);
        // An empty password is no password.
        let empty = pdf::inspect_with_password(&path, Some("")).await.unwrap();
        assert!(empty.needs_password, "{name}");

        let facts = pdf::inspect_with_password(&path, Some(password))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (code, info, _) = pdfinfo(&path, &["-upw", password]);
        assert_eq!(code, 0);
        assert!(facts.encrypted && !facts.needs_password, "{facts:?}");
        assert_eq!(facts.pages, Some(2));
        assert_eq!(facts.info["Encrypted"], info["Encrypted"]);
        assert!(facts.info["Encrypted"].contains("RC4"), "{:?}", facts.info);
        assert_eq!(facts.producer.as_deref(), Some("LibreOffice 7.0"));
        assert_eq!(facts.pages_with_text, Some(2));
        assert!(facts.warnings.is_empty(), "{:?}", facts.warnings);

        let texts = pdf::page_texts(&path, Some(password)).await.unwrap();
        assert_eq!(texts.len(), 2);
        assert_eq!(words(&texts), pdftotext_words(&path, &["-upw", password]));
        assert!(texts[0].starts_with("This is a text from LibreOffice Writer"));

        let error = pdf::page_texts(&path, None).await.expect_err("locked");
        assert!(
            matches!(error, PdfError::PasswordProtected { .. }),
            "{error:?}"
        );

        let page = pdf::render_page(&path, 2, 72, Some(password), out.path())
            .await
            .unwrap();
        assert_eq!(image::image_dimensions(&page).unwrap(), (596, 842));

        for error in [
            pdf::inspect_with_password(&path, Some(wrong))
                .await
                .expect_err("wrong password"),
            pdf::page_texts(&path, Some(wrong))
                .await
                .expect_err("wrong password"),
            pdf::render_page(&path, 1, 72, Some(wrong), out.path())
                .await
                .expect_err("wrong password"),
        ] {
            assert!(matches!(error, PdfError::WrongPassword { .. }), "{error:?}");
            let message = error.to_string();
            assert!(message.contains(path.file_name().unwrap().to_str().unwrap()));
            assert!(message.contains("does not open it"), "{message}");
        }
    }
    // A password given for a document without one changes nothing.
    let plain = media("forensics/text1/a-text.pdf");
    let facts = pdf::inspect_with_password(&plain, Some("peanuts"))
        .await
        .unwrap();
    assert_eq!((facts.pages, facts.encrypted), (Some(2), false));
}

/// One page, gray, at the resolution asked: A4 (595.304 x 841.89 pt) at 150 dpi is
/// 1241 x 1754 pixels, as pdftoppm -r 150 makes it.
#[tokio::test]
async fn render_page_renders_that_page_in_gray_at_the_resolution_asked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let path = media("forensics/text2/d-text.pdf");
    let page = pdf::render_page(&path, 2, 150, None, &out).await.unwrap();
    assert_eq!(page, out.join("page-2.png"));
    assert_eq!(image::image_dimensions(&page).unwrap(), (1241, 1754));
    let rgb = image::open(&page).unwrap().to_rgb8();
    assert!(
        rgb.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]),
        "not gray"
    );
    let dark = rgb.pixels().filter(|p| p.0[0] < 100).count();
    assert!(dark > 500, "no text on the page ({dark} dark pixels)");
    // Only the page is left in the folder.
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["page-2.png"]);

    // Page k of the handmade document carries a bar 20·k points wide: at 72 dpi, 20·k pixels.
    let twelve = twelve_pages(dir.path());
    for k in [1u32, 7, 12] {
        let page = pdf::render_page(&twelve, k, 72, None, &out).await.unwrap();
        assert_eq!(image::image_dimensions(&page).unwrap(), (420, 595));
        let width = bar_width(&page);
        assert!(width.abs_diff(20 * k) <= 1, "page {k}: bar {width}");
    }
    for k in [0, 13] {
        let error = pdf::render_page(&twelve, k, 72, None, &out)
            .await
            .expect_err("no such page");
        assert!(
            matches!(error, PdfError::NoSuchPage { page, pages: 12, .. } if page == k),
            "{error:?}"
        );
        assert!(error.to_string().contains("has 12 page(s)"), "{error}");
    }
}

/// A 200 x 200 inch page at 300 dpi would be 3.6 gigapixels: it is rendered at 49 dpi
/// (9800 x 9800, under MAX_RENDER_PIXELS) instead.
#[tokio::test]
async fn huge_pages_are_rendered_within_the_pixel_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("poster.pdf");
    let content = "0 g 0 0 7200 7200 re f";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] /Contents 4 0 R >>".to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
    ];
    let mut bytes = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(bytes.len());
        bytes.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = bytes.len();
    bytes.extend_from_slice(b"xref\n0 5\n0000000000 65535 f \n");
    for offset in offsets {
        bytes.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    bytes.extend_from_slice(
        format!("trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    std::fs::write(&path, bytes).unwrap();
    let facts = pdf::inspect(&path).await.unwrap();
    assert_eq!(facts.page_size.as_deref(), Some("14400 x 14400 pts"));

    let page = pdf::render_page(&path, 1, 300, None, dir.path())
        .await
        .unwrap();
    let (w, h) = image::image_dimensions(&page).unwrap();
    assert_eq!((w, h), (9800, 9800));
    assert!(u64::from(w) * u64::from(h) <= pdf::MAX_RENDER_PIXELS);
}
