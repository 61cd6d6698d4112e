//! The document service through the whole local pipeline (`mediasift run`: ingest, then
//! document) on forensics-samples-files' PDFs: their text equals poppler's `pdftotext` modulo
//! whitespace; the encrypted ones say so, and open with their passwords given in the asset's
//! options; a scanned page (no text layer) is read by OCR.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod support;
use support::{mediasift, test_media};

#[path = "../services/document/tests/support/scan.rs"]
mod scan;

/// `mediasift run --json [--options OPTIONS] files`: one line per file, by file name.
fn run(data: &Path, files: &[&Path], options: Option<&str>) -> BTreeMap<String, Value> {
    let mut args = vec!["run", "--json"];
    if let Some(options) = options {
        args.extend(["--options", options]);
    }
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let (status, stdout, stderr) = mediasift(data, &args);
    assert_eq!(status, 0, "{stdout}{stderr}");
    stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|line| (line["key"].as_str().unwrap().to_owned(), line))
        .collect()
}

fn output(line: &Value, name: &str) -> String {
    let path = Path::new(line["outputs"].as_str().unwrap()).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The completion event of the asset of `line`.
fn completed(data: &Path, line: &Value) -> Value {
    let asset = line["assetId"].as_str().unwrap();
    let (_, stdout, _) = mediasift(data, &["events", "--json", "--asset", asset]);
    stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["detail-type"] == "Document Analysis Completed")
        .unwrap_or_else(|| panic!("no Document Analysis Completed in {stdout}"))
}

/// `pdftotext [-upw PASSWORD] FILE -`.
fn pdftotext(file: &Path, password: Option<&str>) -> String {
    let mut command = Command::new("pdftotext");
    if let Some(password) = password {
        command.args(["-upw", password]);
    }
    let out = command
        .arg(file)
        .arg("-")
        .output()
        .expect("pdftotext runs (scripts/setup.sh installs poppler-utils)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

#[test]
fn pdf_text_equals_pdftotext_and_encrypted_ones_open_with_their_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let plain = [
        test_media("forensics/text1/a-text.pdf"),
        test_media("forensics/text2/d-text.pdf"),
    ];
    let peanuts = test_media("forensics/text1/a-text-pass-peanuts.pdf");
    let a5d = test_media("forensics/text1/a-text-pass-A5d.pdf");

    let lines = run(&data, &[&plain[0], &plain[1], &peanuts, &a5d], None);
    for pdf in &plain {
        let name = pdf.file_name().unwrap().to_str().unwrap();
        let line = &lines[name];
        assert_eq!(
            words(&output(line, "document/text.txt")),
            words(&pdftotext(pdf, None)),
            "{name}"
        );
        let pages: Value = serde_json::from_str(&output(line, "document/pages.json")).unwrap();
        assert!(
            pages["pages"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["source"] == "textLayer")
        );
        let summary = &completed(&data, line)["detail"]["summary"];
        assert_eq!(summary["encrypted"], false);
        assert_eq!(summary["ocrPages"], 0);
        assert_eq!(
            summary["words"].as_u64().unwrap() as usize,
            words(&pdftotext(pdf, None)).len()
        );
        let keyphrases: Value =
            serde_json::from_str(&output(line, "document/keyphrases.json")).unwrap();
        assert!(
            !keyphrases["document"].as_array().unwrap().is_empty(),
            "{name}"
        );
    }

    // Without their passwords the encrypted ones are reported as such, not failed.
    for pdf in [&peanuts, &a5d] {
        let name = pdf.file_name().unwrap().to_str().unwrap();
        let event = completed(&data, &lines[name]);
        assert_eq!(event["detail"]["summary"]["encrypted"], true, "{name}");
        assert_eq!(event["detail"]["summary"]["words"], 0);
        let skipped = event["detail"]["skipped"].to_string();
        assert!(skipped.contains("pdfPassword"), "{skipped}");
    }

    // With them (as an upload's x-amz-meta-mediasift-options would carry them) they open.
    for (pdf, password) in [(&peanuts, "peanuts"), (&a5d, "A5d")] {
        let name = pdf.file_name().unwrap().to_str().unwrap();
        let data = dir.path().join(format!("with-{password}"));
        let options = format!(r#"{{"pdfPassword": "{password}"}}"#);
        let lines = run(&data, &[pdf], Some(&options));
        let line = &lines[name];
        let text = output(line, "document/text.txt");
        assert_eq!(
            words(&text),
            words(&pdftotext(pdf, Some(password))),
            "{name}"
        );
        assert!(!text.trim().is_empty());
        let event = completed(&data, line);
        assert_eq!(event["detail"]["summary"]["encrypted"], true);
        // The password never travels on the bus (the file names carry it, not the events).
        let (_, all, _) = mediasift(&data, &["events", "--json"]);
        assert!(
            !all.contains("pdfPassword") && !all.contains(&format!("\"{password}\"")),
            "the password is in an event: {all}"
        );
    }

    // A wrong password is a clear result too.
    let data = dir.path().join("wrong");
    let lines = run(&data, &[&peanuts], Some(r#"{"pdfPassword": "cashews"}"#));
    let event = completed(&data, &lines["a-text-pass-peanuts.pdf"]);
    let skipped = event["detail"]["skipped"].to_string();
    assert!(skipped.contains("does not open it"), "{skipped}");
}

#[test]
fn a_scanned_page_is_read_by_ocr() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (scanned, reference) = scan::scanned_text_page(dir.path());
    let lines = run(&data, &[&scanned], None);
    let line = lines.values().next().unwrap();
    let pages: Value = serde_json::from_str(&output(line, "document/pages.json")).unwrap();
    let page = &pages["pages"][0];
    assert_eq!(page["source"], "ocr", "{page}");
    let wer = mediasift_media::wer::word_error_rate(&reference, page["text"].as_str().unwrap());
    println!(
        "scanned page through the pipeline: WER {:.1}% of {} words",
        100.0 * wer.rate(),
        wer.reference_words
    );
    assert!(wer.rate() <= 0.10, "WER {:.3}", wer.rate());
    let summary = &completed(&data, line)["detail"]["summary"];
    assert_eq!(summary["ocrPages"], 1);
}
