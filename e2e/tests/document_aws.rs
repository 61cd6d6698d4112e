//! The real document handler on the AWS path, against moto: three PDFs in the ingest bucket
//! (one with a text layer, one encrypted whose password is in the upload's
//! `x-amz-meta-mediasift-options`, and a scanned page with no text layer at all), their
//! `Document Ingested` events published on the bus and routed by the document service's own
//! rule to its queue, the source read back and HEADed from moto's S3, OCR of the scanned page
//! by the Textract backend with the real SDK client pointed at moto, and `Document Analysis
//! Completed` read back from the catch-all queue.
//!
//! moto (5.2.1) implements DetectDocumentText with a canned answer whatever the page: no
//! blocks, and `DocumentMetadata.Pages` an object where Textract sends a number, so the SDK
//! cannot parse it and the scan ends in `Processing Failed` (`OcrFailed`), which the test
//! asserts; the scan's OCR proper (lines, boxes, limits and errors) is tested with
//! aws-smithy-mocks in
//! `services/document/tests/textract.rs`). moto does not implement Comprehend's batch APIs,
//! so language runs on the local backend here.

#[path = "../../services/document/tests/support/scan.rs"]
mod scan;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use mediasift_document::handler::OPTIONS_METADATA;
use mediasift_document::ocr::{TextractConfig, TextractOcr};
use mediasift_document::{Backends, Document, DocumentConfig};
use mediasift_e2e::aws_path::{AwsPath, Outcome};
use mediasift_e2e::moto::{MotoServer, workspace_root};
use mediasift_kit::language::LocalLanguage;
use mediasift_kit::ports::{Body, EventPublisher, PutOptions};
use mediasift_schemas::{
    DocumentAnalysisCompleted, DocumentIngested, Envelope, EventDetail, RawEvent, sources,
};
use serde_json::Value;
use uuid::Uuid;

/// No test may take longer than this, whatever moto does.
const TEST_TIMEOUT: Duration = Duration::from_secs(240);
/// How long the `Document Ingested` events may take to become `Document Analysis Completed`.
const FLOW_TIMEOUT: Duration = Duration::from_secs(150);

const TEXT: Uuid = Uuid::from_u128(0xd0c_0001);
const ENCRYPTED: Uuid = Uuid::from_u128(0xd0c_0002);
const SCANNED: Uuid = Uuid::from_u128(0xd0c_0003);

fn media(relative: &str) -> PathBuf {
    let path = workspace_root().join(".cache/test-media").join(relative);
    assert!(
        path.is_file(),
        "test media {} is missing: run scripts/setup.sh (it fetches .cache/test-media)",
        path.display()
    );
    path
}

/// The words of `pdftotext`'s text of `pdf`.
fn pdftotext_words(pdf: &Path, password: Option<&str>) -> Vec<String> {
    let mut command = Command::new("pdftotext");
    command.args(["-enc", "UTF-8"]);
    if let Some(password) = password {
        command.args(["-upw", password]);
    }
    let output = command
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext runs (scripts/setup.sh installs it)");
    assert!(
        output.status.success(),
        "pdftotext {}: {}",
        pdf.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    words(&String::from_utf8(output.stdout).unwrap())
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// Uploads `pdf` to the ingest bucket (with `user_metadata`) and returns the `Document
/// Ingested` event for it, OCR (vision.text) and language analysis on.
async fn ingested(
    path: &AwsPath,
    asset_id: Uuid,
    pdf: &Path,
    user_metadata: &[(&str, &str)],
) -> RawEvent {
    let name = pdf.file_name().unwrap().to_str().unwrap();
    let key = format!("uploads/{asset_id}/{name}");
    let options = PutOptions {
        content_type: Some("application/pdf".into()),
        user_metadata: user_metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..PutOptions::default()
    };
    path.ports()
        .objects
        .put(
            &path.ingest_bucket,
            &key,
            Body::File(pdf.to_path_buf()),
            options,
        )
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e}"));
    let mut detail = DocumentIngested::example();
    detail.asset_id = asset_id;
    detail.source.bucket = path.ingest_bucket.clone();
    detail.source.uri = format!("s3://{}/{key}", path.ingest_bucket);
    detail.source.key = key;
    detail.source.size = std::fs::metadata(pdf).unwrap().len();
    detail.technical.pages = None;
    detail.technical.producer = None;
    detail.technical.pages_with_text = None;
    detail.outputs.technical_metadata = format!(
        "s3://{}/{asset_id}/ingest/technical.json",
        path.derived_bucket
    );
    detail.outputs.page_images = Vec::new();
    detail.plan.options.vision.text = true;
    detail.plan.options.language_analysis = true;
    detail.plan.options.language = None;
    let mut event = Envelope::new(sources::INGEST, detail);
    event.id = Uuid::new_v5(&Uuid::NAMESPACE_OID, asset_id.as_bytes()).to_string();
    event.to_raw().unwrap()
}

/// A result object of `done`, as bytes.
async fn result_bytes(path: &AwsPath, done: &DocumentAnalysisCompleted, name: &str) -> Vec<u8> {
    let uri = &done
        .results
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no result {name}: {:?}", done.results))
        .uri;
    let key = uri
        .strip_prefix(&format!("s3://{}/", path.derived_bucket))
        .unwrap_or_else(|| panic!("{uri} is not in the derived bucket"));
    path.ports()
        .objects
        .get_bytes(&path.derived_bucket, key)
        .await
        .unwrap_or_else(|e| panic!("get {uri}: {e}"))
        .to_vec()
}

async fn result_json(path: &AwsPath, done: &DocumentAnalysisCompleted, name: &str) -> Value {
    let bytes = result_bytes(path, done, name).await;
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

async fn result_text(path: &AwsPath, done: &DocumentAnalysisCompleted, name: &str) -> String {
    String::from_utf8(result_bytes(path, done, name).await).expect("UTF-8 text")
}

fn engine(done: &DocumentAnalysisCompleted, name: &str) -> String {
    done.results
        .iter()
        .find(|r| r.name == name)
        .and_then(|r| r.engine.clone())
        .unwrap_or_else(|| panic!("no engine for {name}: {:?}", done.results))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_on_the_aws_path_read_text_layers_passwords_and_textract() {
    tokio::time::timeout(TEST_TIMEOUT, documents_on_the_aws_path())
        .await
        .expect("the test finishes in time");
}

async fn documents_on_the_aws_path() {
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let path = AwsPath::provision(&sdk, "document-aws", &[mediasift_document::subscriptions()])
        .await
        .expect("provision the AWS path");
    let work = tempfile::tempdir().unwrap();
    let text_pdf = media("forensics/text1/a-text.pdf");
    let encrypted_pdf = media("forensics/text1/a-text-pass-peanuts.pdf");
    let (scanned_pdf, reference) = scan::scanned_text_page(work.path());
    assert!(!reference.trim().is_empty());
    assert!(
        pdftotext_words(&scanned_pdf, None).is_empty(),
        "the scan has no text layer"
    );

    let events = vec![
        ingested(&path, TEXT, &text_pdf, &[]).await,
        ingested(
            &path,
            ENCRYPTED,
            &encrypted_pdf,
            &[(OPTIONS_METADATA, r#"{"pdfPassword":"peanuts"}"#)],
        )
        .await,
        ingested(&path, SCANNED, &scanned_pdf, &[]).await,
    ];

    // The Lambda function's wiring: Textract on the process's SDK configuration (here moto's
    // endpoint), local language (moto lacks Comprehend's batch APIs).
    let textract = TextractOcr::new(
        &sdk,
        TextractConfig {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(10),
            ..TextractConfig::default()
        },
    );
    let document = Document::new(
        DocumentConfig {
            scratch_dir: work.path().join("scratch"),
            ..DocumentConfig::default()
        },
        Backends {
            ocr: Some(Arc::new(textract)),
            language: Some(Arc::new(LocalLanguage::new())),
        },
    );
    let poller = path.poller(Arc::new(document)).unwrap().spawn();
    path.publisher()
        .publish(&events)
        .await
        .expect("publish Document Ingested");
    let seen = path
        .watch_catch_all(FLOW_TIMEOUT, |events| {
            events
                .iter()
                .filter(|e| {
                    e.detail_type == DocumentAnalysisCompleted::DETAIL_TYPE
                        || e.detail_type == "Processing Failed"
                })
                .count()
                == 3
        })
        .await
        .expect("an answer for each document reaches the catch-all queue");
    let outcomes = poller.stop().await.unwrap();
    let failed: Vec<&RawEvent> = seen
        .iter()
        .filter(|e| e.detail_type.contains("Failed"))
        .collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::Handled { published: 1 })
            .count(),
        2,
        "{outcomes:?}"
    );
    let completed = |asset_id: Uuid| -> DocumentAnalysisCompleted {
        seen.iter()
            .filter(|e| e.detail_type == DocumentAnalysisCompleted::DETAIL_TYPE)
            .map(|e| {
                assert_eq!(e.source, sources::DOCUMENT);
                e.decode::<DocumentAnalysisCompleted>()
                    .expect("it decodes")
                    .detail
            })
            .find(|d| d.asset_id == asset_id)
            .unwrap_or_else(|| panic!("no completion for {asset_id}: {seen:?}"))
    };

    // The text layer: text.txt holds pdftotext's words, pages.json says where they came from.
    let done = completed(TEXT);
    let expected = pdftotext_words(&text_pdf, None);
    let text = result_text(&path, &done, "text").await;
    assert_eq!(words(&text), expected, "{text:?}");
    assert_eq!(done.summary.pages, 2);
    assert_eq!(done.summary.ocr_pages, 0);
    assert_eq!(done.summary.words as usize, expected.len());
    assert!(!done.summary.encrypted);
    assert_eq!(engine(&done, "text"), "poppler pdftotext");
    let pages = result_json(&path, &done, "pages").await;
    for page in pages["pages"].as_array().unwrap() {
        assert_eq!(page["source"], "textLayer", "{page}");
    }
    for name in ["keyphrases", "entities"] {
        assert!(
            done.results.iter().any(|r| r.name == name),
            "{name}: {:?}",
            done.results
        );
    }

    // The encrypted PDF opens with the password in the upload's metadata.
    let done = completed(ENCRYPTED);
    assert!(done.summary.encrypted, "{:?}", done.summary);
    assert!(done.summary.words > 0, "{:?}", done.summary);
    assert!(
        !done.skipped.iter().any(|s| s.feature == "text"),
        "{:?}",
        done.skipped
    );
    let text = result_text(&path, &done, "text").await;
    assert_eq!(
        words(&text),
        pdftotext_words(&encrypted_pdf, Some("peanuts")),
        "{text:?}"
    );

    // The scan goes to Textract, on moto: moto 5.2.1 answers DetectDocumentText with no
    // blocks and `"DocumentMetadata": {"Pages": {"Pages": <n>}}` (an object where Textract
    // sends a number), which the SDK cannot parse; the handler reports what it could not do.
    assert!(
        !seen
            .iter()
            .any(|e| e.detail_type == DocumentAnalysisCompleted::DETAIL_TYPE
                && e.detail["assetId"] == SCANNED.to_string()),
        "{seen:?}"
    );
    assert_eq!(failed.len(), 1, "{failed:?}");
    let failure = &failed[0].detail;
    assert_eq!(failure["assetId"], SCANNED.to_string(), "{failure}");
    assert_eq!(failure["errorCode"], "OcrFailed", "{failure}");
    let cause = failure["cause"].as_str().unwrap();
    assert!(
        cause.contains("OCR of page 1 by textract")
            && cause.contains("DetectDocumentText")
            && cause.contains("failed to parse JSON")
            && cause.contains("HTTP 200"),
        "moto answered Textract's call, in a shape the SDK does not read: {cause}"
    );
    assert!(
        outcomes.contains(&Outcome::Failed {
            error_code: "OcrFailed".into()
        }),
        "{outcomes:?}"
    );
    drop(moto);
}
