//! The Amazon Comprehend language backend with the real SDK client against moto.
//!
//! What moto (5.2) does for Comprehend, and so what is tested here:
//!
//! - It implements none of the batch APIs the backend calls (`BatchDetectKeyPhrases`,
//!   `BatchDetectEntities`, `BatchDetectSentiment`): each raises `NotImplementedError` inside
//!   moto, which answers HTTP 500 with an HTML page and no error code. The SDK takes that for
//!   a server fault and retries it; the backend then reports
//!   [`LanguageError::Unavailable`] (the event would be retried later). That is real here: the
//!   client built from the process's `SdkConfig` (endpoint, region, credentials, signing)
//!   reaches moto's Comprehend, and a 5xx left after the retries is classified transient.
//! - Of the single-document APIs it answers `DetectKeyPhrases` and `DetectSentiment` with
//!   canned results whatever the text (three key phrases with offsets and scores but no
//!   `Text`; `NEUTRAL` with fixed scores), refuses a language it does not list, and does not
//!   implement `DetectEntities`. The backend does not use these; they are called here to show
//!   that the 500s above are moto's missing batch APIs, not a broken connection.
//! - What the backend does without calling Comprehend is real everywhere: empty documents and
//!   unsupported languages.
//!
//! Batching, ordering, truncation, per-document errors and throttling run against answers
//! shaped as Comprehend's, on aws-smithy-mocks: `services/audio/tests/comprehend.rs`.

use std::time::Duration;

use aws_sdk_comprehend::types::{LanguageCode, SentimentType};
use mediasift_e2e::moto::MotoServer;
use mediasift_kit::language::{
    ComprehendConfig, ComprehendLanguage, DocumentLanguage, LanguageBackend, LanguageError,
};
use mediasift_kit::ports::Retryable;

/// No test may take longer than this, whatever moto does.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);
const ATTEMPTS: u32 = 2;

const TRANSCRIPT: &str = "It was there that I first met Mr. Sherlock Holmes, who was then \
    living in London in rooms at Baker Street. I was delighted to share them with him.";

fn config() -> ComprehendConfig {
    ComprehendConfig {
        max_attempts: ATTEMPTS,
        concurrency: 3,
        initial_backoff: Duration::from_millis(10),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_apis_are_missing_from_moto_and_reported_unavailable() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let moto = MotoServer::start();
        let sdk = moto.sdk_config().await;
        let backend = ComprehendLanguage::new(&sdk, config());
        let documents = vec![TRANSCRIPT.to_owned(), String::new()];
        let err = match backend.analyse(&documents, "en-US").await {
            Err(err) => err,
            Ok(results) => panic!(
                "moto now answers Comprehend's batch APIs ({results:?}): test their answers \
                 here instead of the missing implementation"
            ),
        };
        let LanguageError::Unavailable(message) = &err else {
            panic!("a 500 from moto must be transient: {err:?}");
        };
        assert!(err.is_retryable());
        assert!(
            message.contains("BatchDetect") && message.contains("HTTP 500"),
            "{message}"
        );
        assert!(
            message.contains(&format!("after {ATTEMPTS} attempts")),
            "{message}"
        );
        // Moto writes the reason after it has answered: give its log a few seconds.
        let mut explained = false;
        for _ in 0..50 {
            if moto.log().contains("action has not been implemented") {
                explained = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            explained,
            "moto's log should say why it answered 500: {}",
            moto.log_tail()
        );
    })
    .await
    .expect("the test finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_answers_the_single_document_apis_with_canned_results() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let moto = MotoServer::start();
        let sdk = moto.sdk_config().await;
        let client = aws_sdk_comprehend::Client::new(&sdk);

        let sentiment = client
            .detect_sentiment()
            .text(TRANSCRIPT)
            .language_code(LanguageCode::En)
            .send()
            .await
            .expect("moto implements DetectSentiment");
        assert_eq!(sentiment.sentiment(), Some(&SentimentType::Neutral));
        let scores = sentiment.sentiment_score().expect("scores");
        assert!(scores.neutral().unwrap() > 0.99);

        let phrases = client
            .detect_key_phrases()
            .text(TRANSCRIPT)
            .language_code(LanguageCode::En)
            .send()
            .await
            .expect("moto implements DetectKeyPhrases");
        assert_eq!(phrases.key_phrases().len(), 3, "moto's canned answer");
        assert!(
            phrases.key_phrases().iter().all(|p| p.text().is_none()),
            "moto's canned key phrases have no text"
        );

        let entities = client
            .detect_entities()
            .text(TRANSCRIPT)
            .language_code(LanguageCode::En)
            .send()
            .await;
        assert!(entities.is_err(), "moto lacks DetectEntities: {entities:?}");
    })
    .await
    .expect("the test finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_documents_and_unsupported_languages_never_reach_comprehend() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let moto = MotoServer::start();
        let sdk = moto.sdk_config().await;
        let backend = ComprehendLanguage::new(&sdk, config());

        let empty = vec![String::new(), "  \n".to_owned()];
        let results = backend.analyse(&empty, "en-US").await.unwrap();
        assert_eq!(results, vec![DocumentLanguage::default(); 2]);

        let documents = vec![TRANSCRIPT.to_owned()];
        for language in ["nl-NL", "sv-SE", "ru"] {
            let err = backend.analyse(&documents, language).await.unwrap_err();
            let LanguageError::UnsupportedLanguage(message) = &err else {
                panic!("{language}: {err:?}");
            };
            assert_eq!(
                message,
                &format!("Amazon Comprehend does not support {language}")
            );
        }
        // moto's server logs every request ("POST / HTTP/1.1" for a Comprehend call).
        let log = moto.log_tail();
        assert!(!log.contains("POST /"), "no call reached moto: {log}");
    })
    .await
    .expect("the test finishes in time");
}
