//! The Textract OCR backend on a client answered by aws-smithy-mocks. Answers are the JSON
//! Textract sends (`DetectDocumentText`, awsJson1.1), so the SDK's own deserialisation, error
//! parsing and retry classification run as they do against AWS. The page image is a real
//! one: page 1 of d-text.pdf rendered by `pdf::render_page`.
#![cfg(feature = "aws")]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_textract::Client;
use aws_sdk_textract::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, mock};
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use mediasift_document::ocr::textract::{MAX_IMAGE_BYTES, MAX_IMAGE_SIDE, within_limits};
use mediasift_document::ocr::{OcrBackend, OcrError, TextractConfig, TextractOcr};
use mediasift_kit::ports::Retryable;
use mediasift_media::pdf;
use serde_json::{Value, json};

const ATTEMPTS: u32 = 4;

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

/// Page 1 of d-text.pdf at 100 dpi, in `dir`.
async fn page_image(dir: &Path) -> PathBuf {
    pdf::render_page(&media("forensics/text2/d-text.pdf"), 1, 100, None, dir)
        .await
        .expect("render")
}

fn answer(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_owned()),
    )
}

/// Textract's error answer: `{"__type": code, "Message": message}`.
fn refusal(status: u16, code: &str, message: &str) -> HttpResponse {
    answer(
        status,
        &json!({"__type": code, "Message": message}).to_string(),
    )
}

fn geometry(left: f64, top: f64, width: f64, height: f64) -> Value {
    json!({
        "BoundingBox": {"Width": width, "Height": height, "Left": left, "Top": top},
        "Polygon": [
            {"X": left, "Y": top},
            {"X": left + width, "Y": top},
            {"X": left + width, "Y": top + height},
            {"X": left, "Y": top + height},
        ],
    })
}

/// What DetectDocumentText answers for page 1 of d-text.pdf: a PAGE, three LINEs, each
/// followed by its WORDs (as Textract lists them), the last line's box reaching past the
/// page's left edge.
fn page_one_answer() -> HttpResponse {
    let lines = [
        (
            "This is a text from LibreOffice Writer...",
            99.7321,
            (0.0953, 0.0733, 0.6195, 0.0207),
        ),
        ("A test only.", 99.8815, (0.0953, 0.1162, 0.0905, 0.0146)),
        (
            "There are 2 pages.",
            98.2442,
            (-0.0125, 0.1491, 0.1578, 0.0146),
        ),
    ];
    let mut blocks = vec![json!({
        "BlockType": "PAGE",
        "Geometry": geometry(0.0, 0.0, 1.0, 1.0),
        "Id": "page-1",
        "Relationships": [{"Type": "CHILD", "Ids": ["line-1", "line-2", "line-3"]}],
    })];
    for (i, (text, confidence, (left, top, width, height))) in lines.iter().enumerate() {
        let words: Vec<&str> = text.split(' ').collect();
        let ids: Vec<String> = (0..words.len())
            .map(|w| format!("word-{}-{}", i + 1, w + 1))
            .collect();
        blocks.push(json!({
            "BlockType": "LINE",
            "Confidence": confidence,
            "Text": text,
            "Geometry": geometry(*left, *top, *width, *height),
            "Id": format!("line-{}", i + 1),
            "Relationships": [{"Type": "CHILD", "Ids": ids}],
        }));
        for (word, id) in words.iter().zip(&ids) {
            blocks.push(json!({
                "BlockType": "WORD",
                "Confidence": 97.5,
                "Text": word,
                "TextType": "PRINTED",
                "Geometry": geometry(*left, *top, 0.05, *height),
                "Id": id,
            }));
        }
    }
    answer(
        200,
        &json!({
            "DocumentMetadata": {"Pages": 1},
            "Blocks": blocks,
            "DetectDocumentTextModelVersion": "1.0",
        })
        .to_string(),
    )
}

/// The backend on a client answered by `rules`, with the production retry policy except for
/// a 1 ms first backoff.
fn textract(rules: &[&Rule]) -> TextractOcr {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let builder = aws_sdk_textract::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor);
    TextractOcr::with_client_config(
        builder,
        TextractConfig {
            max_attempts: ATTEMPTS,
            initial_backoff: Duration::from_millis(1),
            concurrency: 3,
        },
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-4
}

#[tokio::test]
async fn lines_come_in_textracts_order_with_confidence_and_boxes() {
    let dir = tempfile::tempdir().unwrap();
    let png = page_image(dir.path()).await;
    let sent = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let recorded = Arc::clone(&sent);
    let rule = mock!(Client::detect_document_text).then_compute_response(move |input| {
        let bytes = input.document().and_then(|d| d.bytes()).unwrap();
        recorded.lock().unwrap().push(bytes.as_ref().to_vec());
        aws_smithy_mocks::MockResponse::Http(page_one_answer())
    });
    let ocr = textract(&[&rule]);
    assert_eq!(ocr.engine(), "textract");
    assert_eq!(ocr.concurrency(), 3);
    assert_eq!(ocr.dpi(), 300);

    let read = ocr.recognise(&png).await.unwrap();
    assert_eq!(
        read.text,
        "This is a text from LibreOffice Writer...\nA test only.\nThere are 2 pages."
    );
    let lines: Vec<(&str, f64)> = read
        .lines
        .iter()
        .map(|l| (l.text.as_str(), l.confidence.unwrap()))
        .collect();
    assert_eq!(lines.len(), 3, "WORD blocks are not lines");
    assert_eq!(lines[0].0, "This is a text from LibreOffice Writer...");
    assert!(
        close(lines[0].1, 99.7321) && close(lines[2].1, 98.2442),
        "{lines:?}"
    );
    let mean = read.mean_confidence.unwrap();
    assert!(close(mean, (99.7321 + 99.8815 + 98.2442) / 3.0), "{mean}");

    let first = read.lines[0].bounding_box.unwrap();
    assert!(close(first.left, 0.0953) && close(first.top, 0.0733));
    assert!(close(first.width, 0.6195) && close(first.height, 0.0207));
    // Clamped to the page: the part left of it is cut off.
    let last = read.lines[2].bounding_box.unwrap();
    assert!(
        close(last.left, 0.0) && close(last.width, 0.1578 - 0.0125),
        "{last:?}"
    );

    // The PNG was within Textract's limits: sent as it is.
    assert_eq!(*sent.lock().unwrap(), [std::fs::read(&png).unwrap()]);
    assert_eq!(ocr.engine(), "textract 1.0");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_page_without_text_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let png = page_image(dir.path()).await;
    let rule = mock!(Client::detect_document_text).then_http_response(|| {
        answer(
            200,
            r#"{"DocumentMetadata":{"Pages":1},"Blocks":[{"BlockType":"PAGE","Id":"p"}],
               "DetectDocumentTextModelVersion":"1.0"}"#,
        )
    });
    let read = textract(&[&rule]).recognise(&png).await.unwrap();
    assert!(read.is_empty());
    assert_eq!((read.text.as_str(), read.mean_confidence), ("", None));
}

#[tokio::test]
async fn throttling_is_retried_with_backoff_until_it_passes() {
    let dir = tempfile::tempdir().unwrap();
    let png = page_image(dir.path()).await;
    let rule = mock!(Client::detect_document_text)
        .sequence()
        .http_response(|| refusal(400, "ThrottlingException", "Rate exceeded"))
        .times(2)
        .http_response(page_one_answer)
        .build();
    let read = textract(&[&rule]).recognise(&png).await.unwrap();
    assert_eq!(read.lines.len(), 3);
    assert_eq!(
        rule.num_calls(),
        3,
        "two throttled attempts, then the answer"
    );
}

#[tokio::test]
async fn throttling_that_never_stops_is_unavailable_after_every_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let png = page_image(dir.path()).await;
    for (status, code) in [
        (400, "ProvisionedThroughputExceededException"),
        (500, "InternalServerError"),
    ] {
        let rule = mock!(Client::detect_document_text)
            .sequence()
            .http_response(move || refusal(status, code, "Try again later"))
            .repeatedly()
            .build();
        let err = textract(&[&rule]).recognise(&png).await.unwrap_err();
        let OcrError::Unavailable(message) = &err else {
            panic!("{code}: {err:?}");
        };
        assert!(message.contains(code), "{message}");
        assert!(message.contains("after 4 attempts"), "{message}");
        assert!(err.is_retryable());
        assert_eq!(rule.num_calls(), ATTEMPTS as usize, "{code}");
    }
}

#[tokio::test]
async fn a_page_textract_refuses_is_a_page_error_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let png = page_image(dir.path()).await;
    for (code, message) in [
        ("BadDocumentException", "Unable to process document"),
        (
            "UnsupportedDocumentException",
            "Request has unsupported document format",
        ),
        ("DocumentTooLargeException", "Document is too large"),
        (
            "InvalidParameterException",
            "Request has invalid parameters",
        ),
    ] {
        let rule = mock!(Client::detect_document_text)
            .then_http_response(move || refusal(400, code, message));
        let err = textract(&[&rule]).recognise(&png).await.unwrap_err();
        assert!(
            matches!(&err, OcrError::Page(m)
                if m.starts_with("Textract cannot read this page image") && m.contains(code)),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(rule.num_calls(), 1, "{code}");
    }
}

#[tokio::test]
async fn access_denied_is_a_backend_error_naming_the_iam_action() {
    let dir = tempfile::tempdir().unwrap();
    let png = page_image(dir.path()).await;
    let rule = mock!(Client::detect_document_text).then_http_response(|| {
        refusal(
            400,
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/mediasift-document/mediasift-document \
             is not authorized to perform: textract:DetectDocumentText",
        )
    });
    let err = textract(&[&rule]).recognise(&png).await.unwrap_err();
    assert!(
        matches!(&err, OcrError::Backend(m)
            if m.contains("Allow the document function's role the IAM action \
                           textract:DetectDocumentText")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(rule.num_calls(), 1, "a refusal is not retried");
}

/// What is not an image never reaches Textract.
#[tokio::test]
async fn what_is_not_an_image_is_a_page_error_without_a_call() {
    let rule = mock!(Client::detect_document_text).then_http_response(page_one_answer);
    let ocr = textract(&[&rule]);
    for name in ["forensics/text1/a-text.pdf", "pillow/broken.png"] {
        let err = ocr.recognise(&media(name)).await.unwrap_err();
        assert!(
            matches!(&err, OcrError::Page(m) if m.contains("is not a readable image")),
            "{name}: {err:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let err = ocr
        .recognise(&dir.path().join("missing.png"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OcrError::Page(m) if m.contains("missing.png")),
        "{err:?}"
    );
    assert_eq!(rule.num_calls(), 0);
}

/// Images outside Textract's limits are sent as JPEGs within them: a PNG of noise over
/// 10 MB, a page longer than 10,000 pixels, and a WebP (a format Textract refuses).
#[tokio::test]
async fn images_outside_textracts_limits_are_re_encoded_within_them() {
    // 3600 x 3600 gray noise (xorshift): a PNG of about 13 MB.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise = image::GrayImage::from_fn(3600, 3600, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        image::Luma([(state >> 56) as u8])
    });
    let mut png = Vec::new();
    noise
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    assert!(png.len() > MAX_IMAGE_BYTES, "{} bytes", png.len());
    let sent = within_limits(png, "noise.png").unwrap();
    assert!(sent.len() <= MAX_IMAGE_BYTES, "{} bytes", sent.len());
    assert_eq!(
        image::guess_format(&sent).unwrap(),
        image::ImageFormat::Jpeg
    );
    let decoded = image::load_from_memory(&sent).unwrap();
    assert_eq!(decoded.color(), image::ColorType::L8, "gray stays gray");
    assert_eq!(decoded.width(), decoded.height(), "the aspect is kept");

    // A long strip, stored as RGB with equal channels (as pdftoppm writes gray pages).
    let strip = image::RgbImage::from_pixel(12_000, 300, image::Rgb([200, 200, 200]));
    let mut png = Vec::new();
    strip
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    assert!(png.len() < MAX_IMAGE_BYTES);
    let sent = within_limits(png, "strip.png").unwrap();
    let decoded = image::load_from_memory(&sent).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (MAX_IMAGE_SIDE, 250));
    assert_eq!(decoded.color(), image::ColorType::L8);

    // A WebP within the limits is still converted: Textract takes JPEG, PNG and TIFF only.
    let webp = std::fs::read(media("pillow/hopper.webp")).unwrap();
    let sent = within_limits(webp, "hopper.webp").unwrap();
    assert_eq!(
        image::guess_format(&sent).unwrap(),
        image::ImageFormat::Jpeg
    );
    assert_eq!(
        image::image_dimensions(media("pillow/hopper.webp")).unwrap(),
        {
            let d = image::load_from_memory(&sent).unwrap();
            (d.width(), d.height())
        }
    );
    // hopper is in colour: it stays in colour.
    assert_eq!(
        image::load_from_memory(&sent).unwrap().color(),
        image::ColorType::Rgb8
    );

    // A PNG within the limits is sent as it is.
    let hopper = std::fs::read(media("pillow/hopper.png")).unwrap();
    assert_eq!(within_limits(hopper.clone(), "hopper.png").unwrap(), hopper);
}
