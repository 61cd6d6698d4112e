//! The Comprehend language backend on a client answered by aws-smithy-mocks: batching,
//! ordering, truncation, per-document errors, throttling and refusals, none of which moto can
//! show (moto implements none of the batch APIs: `e2e/tests/comprehend_aws.rs`). Answers are
//! the JSON Comprehend sends, so the SDK's own deserialisation, error parsing and retry
//! classification run as they do against AWS.
#![cfg(feature = "comprehend")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_comprehend::Client;
use aws_sdk_comprehend::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_comprehend::operation::batch_detect_entities::BatchDetectEntitiesInput;
use aws_sdk_comprehend::operation::batch_detect_key_phrases::BatchDetectKeyPhrasesInput;
use aws_sdk_comprehend::operation::batch_detect_sentiment::BatchDetectSentimentInput;
use aws_sdk_comprehend::types::LanguageCode;
use aws_smithy_mocks::{MockResponse, MockResponseInterceptor, Rule, RuleMode, mock};
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use mediasift_kit::language::comprehend::{ENGINE, MAX_BATCH_DOCUMENTS, MAX_DOCUMENT_BYTES};
use mediasift_kit::language::{
    ComprehendConfig, ComprehendLanguage, DocumentLanguage, LanguageBackend, LanguageError,
};
use serde_json::{Value, json};

const ATTEMPTS: u32 = 3;

// --- the client -----------------------------------------------------------------------------

fn answer(status: u16, body: &Value) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_string()),
    )
}

/// Comprehend's error answer: `{"__type": code, "Message": message}`.
fn refusal(status: u16, code: &str, message: &str) -> HttpResponse {
    answer(status, &json!({"__type": code, "Message": message}))
}

/// The backend on a client answered by `rules`, with the production retry policy except for
/// a 1 ms first backoff and [`ATTEMPTS`] attempts.
fn comprehend(rules: &[&Rule]) -> ComprehendLanguage {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let builder = aws_sdk_comprehend::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(interceptor);
    ComprehendLanguage::with_client_config(
        builder,
        ComprehendConfig {
            max_attempts: ATTEMPTS,
            concurrency: 3,
            initial_backoff: Duration::from_millis(1),
        },
    )
}

/// One request: its text list and language code.
type Request = (Vec<String>, Option<LanguageCode>);

/// Every request of one API.
#[derive(Debug, Default, Clone)]
struct Seen(Arc<Mutex<Vec<Request>>>);

impl Seen {
    fn record(&self, texts: &[String], language: Option<&LanguageCode>) {
        self.0
            .lock()
            .unwrap()
            .push((texts.to_vec(), language.cloned()));
    }

    fn requests(&self) -> Vec<Vec<String>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }

    fn languages(&self) -> Vec<Option<LanguageCode>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    fn batch_sizes(&self) -> Vec<usize> {
        let mut sizes: Vec<usize> = self.requests().iter().map(Vec::len).collect();
        sizes.sort_unstable();
        sizes
    }
}

/// The first word of a document, the key phrase the echo rules answer.
fn first_word(text: &str) -> &str {
    text.split_whitespace().next().unwrap_or_default()
}

/// Results for every document, listed last first (results are placed by `Index`).
fn key_phrases_answer(texts: &[String]) -> Value {
    let results: Vec<Value> = texts
        .iter()
        .enumerate()
        .rev()
        .map(|(i, text)| {
            json!({"Index": i, "KeyPhrases": [
                {"Text": first_word(text), "Score": 0.99, "BeginOffset": 0,
                 "EndOffset": first_word(text).len()},
            ]})
        })
        .collect();
    json!({"ResultList": results, "ErrorList": []})
}

fn entities_answer(texts: &[String]) -> Value {
    let results: Vec<Value> = texts
        .iter()
        .enumerate()
        .rev()
        .map(|(i, text)| {
            json!({"Index": i, "Entities": [
                {"Text": first_word(text), "Type": "PERSON", "Score": 0.875,
                 "BeginOffset": 0, "EndOffset": first_word(text).len()},
                {"Text": "Seattle", "Type": "LOCATION", "Score": 0.5,
                 "BeginOffset": 10, "EndOffset": 17},
            ]})
        })
        .collect();
    json!({"ResultList": results, "ErrorList": []})
}

/// POSITIVE for documents whose first word ends in an even digit, else NEGATIVE.
fn sentiment_answer(texts: &[String]) -> Value {
    let results: Vec<Value> = texts
        .iter()
        .enumerate()
        .rev()
        .map(|(i, text)| {
            let even = first_word(text)
                .chars()
                .last()
                .and_then(|c| c.to_digit(10))
                .is_some_and(|d| d % 2 == 0);
            let (label, positive, negative) = if even {
                ("POSITIVE", 0.875, 0.0625)
            } else {
                ("NEGATIVE", 0.0625, 0.875)
            };
            json!({"Index": i, "Sentiment": label, "SentimentScore": {
                "Positive": positive, "Negative": negative, "Neutral": 0.0625, "Mixed": 0.0,
            }})
        })
        .collect();
    json!({"ResultList": results, "ErrorList": []})
}

/// Rules answering every call of each API from its request, recording the requests.
struct Echo {
    key_phrases: Rule,
    entities: Rule,
    sentiment: Rule,
    seen_key_phrases: Seen,
    seen_entities: Seen,
    seen_sentiment: Seen,
}

impl Echo {
    fn new() -> Self {
        let (seen_key_phrases, seen_entities, seen_sentiment) =
            (Seen::default(), Seen::default(), Seen::default());
        let seen = seen_key_phrases.clone();
        let key_phrases = mock!(Client::batch_detect_key_phrases).then_compute_response(
            move |input: &BatchDetectKeyPhrasesInput| {
                seen.record(input.text_list(), input.language_code());
                MockResponse::Http(answer(200, &key_phrases_answer(input.text_list())))
            },
        );
        let seen = seen_entities.clone();
        let entities = mock!(Client::batch_detect_entities).then_compute_response(
            move |input: &BatchDetectEntitiesInput| {
                seen.record(input.text_list(), input.language_code());
                MockResponse::Http(answer(200, &entities_answer(input.text_list())))
            },
        );
        let seen = seen_sentiment.clone();
        let sentiment = mock!(Client::batch_detect_sentiment).then_compute_response(
            move |input: &BatchDetectSentimentInput| {
                seen.record(input.text_list(), input.language_code());
                MockResponse::Http(answer(200, &sentiment_answer(input.text_list())))
            },
        );
        Self {
            key_phrases,
            entities,
            sentiment,
            seen_key_phrases,
            seen_entities,
            seen_sentiment,
        }
    }

    fn rules(&self) -> [&Rule; 3] {
        [&self.key_phrases, &self.entities, &self.sentiment]
    }
}

fn documents(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("doc{i} was read aloud in Seattle"))
        .collect()
}

// --- batching and order ---------------------------------------------------------------------

#[tokio::test]
async fn sixty_documents_go_in_three_batches_with_results_in_order() {
    let echo = Echo::new();
    let backend = comprehend(&echo.rules());
    assert_eq!(backend.engine(), ENGINE);
    let docs = documents(60);
    let results = backend.analyse(&docs, "en-US").await.unwrap();

    assert_eq!(MAX_BATCH_DOCUMENTS, 25);
    for seen in [
        &echo.seen_key_phrases,
        &echo.seen_entities,
        &echo.seen_sentiment,
    ] {
        assert_eq!(seen.batch_sizes(), [10, 25, 25]);
        assert!(
            seen.languages()
                .iter()
                .all(|l| l.as_ref() == Some(&LanguageCode::En)),
            "en-US is sent as en"
        );
        let mut sent: Vec<String> = seen.requests().concat();
        sent.sort();
        let mut expected = docs.clone();
        expected.sort();
        assert_eq!(sent, expected, "every document sent once to each API");
    }
    assert_eq!(results.len(), 60);
    for (i, result) in results.iter().enumerate() {
        let word = format!("doc{i}");
        assert_eq!(result.keyphrases.len(), 1);
        assert_eq!(result.keyphrases[0].text, word);
        assert!((result.keyphrases[0].score - 0.99).abs() < 1e-6);
        assert_eq!(result.entities.len(), 2);
        assert_eq!(result.entities[0].text, word);
        assert_eq!(result.entities[0].kind, "PERSON");
        assert_eq!(result.entities[0].score, 0.875);
        assert_eq!(result.entities[1].kind, "LOCATION");
        let sentiment = result.sentiment.as_ref().unwrap();
        let expected = if i % 2 == 0 { "POSITIVE" } else { "NEGATIVE" };
        assert_eq!(sentiment.label, expected, "document {i}");
        assert_eq!(sentiment.neutral, 0.0625);
        assert_eq!(sentiment.mixed, 0.0);
    }
}

#[tokio::test]
async fn empty_documents_are_not_sent_and_get_empty_results_in_place() {
    let echo = Echo::new();
    let docs: Vec<String> = ["", "doc1 spoke", "  \n\t ", "doc3 answered", ""]
        .map(str::to_owned)
        .to_vec();
    let results = comprehend(&echo.rules())
        .analyse(&docs, "en")
        .await
        .unwrap();
    assert_eq!(
        echo.seen_key_phrases.requests(),
        [vec!["doc1 spoke".to_owned(), "doc3 answered".to_owned()]]
    );
    assert_eq!(results.len(), 5);
    for i in [0, 2, 4] {
        assert_eq!(results[i], DocumentLanguage::default(), "document {i}");
    }
    assert_eq!(results[1].keyphrases[0].text, "doc1");
    assert_eq!(results[3].keyphrases[0].text, "doc3");
    assert_eq!(results[3].sentiment.as_ref().unwrap().label, "NEGATIVE");

    // Nothing to send: no call at all.
    let echo = Echo::new();
    let results = comprehend(&echo.rules())
        .analyse(&["".to_owned(), " ".to_owned()], "en")
        .await
        .unwrap();
    assert_eq!(results, vec![DocumentLanguage::default(); 2]);
    assert!(echo.rules().iter().all(|r| r.num_calls() == 0));
}

#[tokio::test]
async fn long_documents_are_cut_at_a_character_boundary_under_the_byte_limit() {
    assert_eq!(MAX_DOCUMENT_BYTES, 5_000);
    let echo = Echo::new();
    let japanese = "日".repeat(2_000); // 3 bytes a character: 6,000 bytes
    let accented = format!("x{}", "é".repeat(3_000)); // 1 + 6,000 bytes
    let ascii = "a".repeat(6_000);
    let short = "doc3 is short".to_owned();
    let docs = vec![
        japanese.clone(),
        accented.clone(),
        ascii.clone(),
        short.clone(),
    ];
    comprehend(&echo.rules())
        .analyse(&docs, "en-GB")
        .await
        .unwrap();
    let requests = echo.seen_sentiment.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent[0].len(), 4_998, "1,666 whole characters of 3 bytes");
    assert!(japanese.starts_with(&sent[0]));
    assert_eq!(
        sent[1].len(),
        4_999,
        "x and 2,499 whole characters of 2 bytes"
    );
    assert!(accented.starts_with(&sent[1]));
    assert_eq!(sent[2].len(), 5_000);
    assert_eq!(sent[3], short, "short documents are sent as they are");
    for seen in [&echo.seen_key_phrases, &echo.seen_entities] {
        assert_eq!(&seen.requests()[0], sent, "every API gets the same text");
    }
}

// --- per-document errors --------------------------------------------------------------------

/// Key phrases whose first answer fails document 1 with `code` and whose later answers fail
/// it again when `again`.
fn key_phrases_failing_document_1(code: &'static str, again: bool) -> (Rule, Seen) {
    let seen = Seen::default();
    let record = seen.clone();
    let rule = mock!(Client::batch_detect_key_phrases).then_compute_response(
        move |input: &BatchDetectKeyPhrasesInput| {
            let texts = input.text_list();
            record.record(texts, input.language_code());
            let first = record.requests().len() == 1;
            let mut body = key_phrases_answer(texts);
            if first || again {
                let failing = texts.iter().position(|t| t.starts_with("doc1 ")).unwrap();
                let results: Vec<Value> = body["ResultList"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["Index"] != json!(failing))
                    .cloned()
                    .collect();
                body = json!({
                    "ResultList": results,
                    "ErrorList": [{"Index": failing, "ErrorCode": code,
                                   "ErrorMessage": "something went wrong with this one"}],
                });
            }
            MockResponse::Http(answer(200, &body))
        },
    );
    (rule, seen)
}

#[tokio::test]
async fn failed_documents_are_sent_again_once() {
    let echo = Echo::new();
    let (key_phrases, seen) = key_phrases_failing_document_1("InternalServerException", false);
    let docs = documents(3);
    let results = comprehend(&[&key_phrases, &echo.entities, &echo.sentiment])
        .analyse(&docs, "en")
        .await
        .unwrap();
    assert_eq!(
        seen.requests(),
        [docs.clone(), vec![docs[1].clone()]],
        "the whole batch, then only the failed document"
    );
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result.keyphrases[0].text, format!("doc{i}"));
    }
    assert_eq!(echo.seen_entities.requests().len(), 1);
}

#[tokio::test]
async fn a_document_that_fails_twice_fails_the_analysis_with_its_cause() {
    let echo = Echo::new();
    let (key_phrases, seen) = key_phrases_failing_document_1("INVALID_REQUEST", true);
    let err = comprehend(&[&key_phrases, &echo.entities, &echo.sentiment])
        .analyse(&documents(30), "en")
        .await
        .unwrap_err();
    let LanguageError::Failed(message) = &err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains("BatchDetectKeyPhrases failed document 1 (counting from 0) twice")
            && message.contains("INVALID_REQUEST: something went wrong with this one"),
        "{message}"
    );
    let sizes: Vec<usize> = seen.requests().iter().map(Vec::len).collect();
    assert!(sizes.contains(&1), "sent again alone: {sizes:?}");

    // An internal error twice: try the event again later.
    let echo = Echo::new();
    let (key_phrases, _) = key_phrases_failing_document_1("InternalServerException", true);
    let err = comprehend(&[&key_phrases, &echo.entities, &echo.sentiment])
        .analyse(&documents(3), "en")
        .await
        .unwrap_err();
    assert!(matches!(err, LanguageError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_document_missing_from_the_answer_is_asked_for_again() {
    let echo = Echo::new();
    let calls = Arc::new(Mutex::new(0usize));
    let counter = calls.clone();
    // The first answer forgets the last document, without an error for it.
    let sentiment = mock!(Client::batch_detect_sentiment).then_compute_response(
        move |input: &BatchDetectSentimentInput| {
            let mut calls = counter.lock().unwrap();
            *calls += 1;
            let mut body = sentiment_answer(input.text_list());
            if *calls == 1 {
                body["ResultList"].as_array_mut().unwrap().remove(0);
            }
            MockResponse::Http(answer(200, &body))
        },
    );
    let results = comprehend(&[&echo.key_phrases, &echo.entities, &sentiment])
        .analyse(&documents(4), "en")
        .await
        .unwrap();
    assert_eq!(*calls.lock().unwrap(), 2);
    assert!(results.iter().all(|r| r.sentiment.is_some()));
    assert_eq!(results[3].sentiment.as_ref().unwrap().label, "NEGATIVE");
}

// --- throttling and refusals ----------------------------------------------------------------

#[tokio::test]
async fn throttling_is_retried_with_backoff_until_it_passes() {
    let echo = Echo::new();
    let body = entities_answer(&documents(2));
    let entities = mock!(Client::batch_detect_entities)
        .sequence()
        .http_response(|| refusal(400, "ThrottlingException", "Rate exceeded"))
        .times(2)
        .http_response(move || answer(200, &body))
        .build();
    let results = comprehend(&[&echo.key_phrases, &entities, &echo.sentiment])
        .analyse(&documents(2), "en")
        .await
        .unwrap();
    assert_eq!(
        entities.num_calls(),
        3,
        "two throttled attempts, then the answer"
    );
    assert_eq!(results[1].entities[0].text, "doc1");
}

#[tokio::test]
async fn throttling_that_never_stops_is_unavailable_after_every_attempt() {
    let echo = Echo::new();
    let sentiment = mock!(Client::batch_detect_sentiment)
        .sequence()
        .http_response(|| refusal(400, "ThrottlingException", "Rate exceeded"))
        .repeatedly()
        .build();
    let err = comprehend(&[&echo.key_phrases, &echo.entities, &sentiment])
        .analyse(&documents(5), "en")
        .await
        .unwrap_err();
    let LanguageError::Unavailable(message) = &err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains("ThrottlingException") && message.contains("BatchDetectSentiment"),
        "{message}"
    );
    assert_eq!(sentiment.num_calls(), ATTEMPTS as usize);
    use mediasift_kit::ports::Retryable;
    assert!(err.is_retryable());
}

#[tokio::test]
async fn server_errors_are_unavailable() {
    let echo = Echo::new();
    let key_phrases = mock!(Client::batch_detect_key_phrases)
        .sequence()
        .http_response(|| refusal(500, "InternalServerException", "Internal server error"))
        .repeatedly()
        .build();
    let err = comprehend(&[&key_phrases, &echo.entities, &echo.sentiment])
        .analyse(&documents(1), "en")
        .await
        .unwrap_err();
    assert!(matches!(err, LanguageError::Unavailable(_)), "{err:?}");
    assert_eq!(key_phrases.num_calls(), ATTEMPTS as usize);
}

#[tokio::test]
async fn access_denied_fails_with_what_to_allow() {
    let echo = Echo::new();
    let entities = mock!(Client::batch_detect_entities).then_http_response(|| {
        refusal(
            400,
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/mediasift-audio/mediasift-audio is \
             not authorized to perform: comprehend:BatchDetectEntities",
        )
    });
    let err = comprehend(&[&echo.key_phrases, &entities, &echo.sentiment])
        .analyse(&documents(2), "en")
        .await
        .unwrap_err();
    let LanguageError::Failed(message) = &err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains("Allow the audio function's role comprehend:BatchDetectEntities"),
        "{message}"
    );
    assert_eq!(entities.num_calls(), 1, "a refusal is not retried");
}

#[tokio::test]
async fn comprehend_refusing_the_language_is_unsupported() {
    let echo = Echo::new();
    let key_phrases = mock!(Client::batch_detect_key_phrases).then_http_response(|| {
        refusal(
            400,
            "UnsupportedLanguageException",
            "Amazon Comprehend can not process the language in the input text",
        )
    });
    let err = comprehend(&[&key_phrases, &echo.entities, &echo.sentiment])
        .analyse(&documents(1), "hi-IN")
        .await;
    match err {
        Err(LanguageError::UnsupportedLanguage(message)) => {
            assert!(message.contains("Amazon Comprehend"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unsupported_language_never_calls_the_api() {
    let echo = Echo::new();
    let backend = comprehend(&echo.rules());
    for language in ["nl-NL", "ru", "sv", "yue", ""] {
        let err = backend.analyse(&documents(3), language).await.unwrap_err();
        let LanguageError::UnsupportedLanguage(message) = &err else {
            panic!("{language}: {err:?}");
        };
        assert!(
            message.starts_with("Amazon Comprehend does not support"),
            "{message}"
        );
        if !language.is_empty() {
            assert_eq!(
                message,
                &format!("Amazon Comprehend does not support {language}")
            );
        }
    }
    assert!(
        echo.rules().iter().all(|r| r.num_calls() == 0),
        "no call was made"
    );
}
