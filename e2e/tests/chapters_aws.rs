//! The Amazon Bedrock chapters backend with the real SDK client against moto: the
//! `InvokeModel` request (endpoint, SigV4 signing as `bedrock`, the model id in the path, the
//! JSON body, which moto parses) goes through, and moto's answer is read as Bedrock's would
//! be.
//!
//! moto implements InvokeModel without a model: whatever the request, it answers `{}`, which
//! is not an Anthropic Messages response. So against moto the backend asks again once
//! (`answer_attempts`) and then reports the chapters unusable, naming the model and what was
//! wrong; good answers, malformed ones, refusals and throttling are tested with
//! aws-smithy-mocks in `services/audio/tests/chapters.rs`.

use std::time::Duration;

use mediasift_audio::chapters::bedrock::DEFAULT_MODEL_ID;
use mediasift_audio::chapters::{BedrockChapters, BedrockConfig, ChaptersBackend, ChaptersError};
use mediasift_audio::speech::{Segment, Transcript, Word};
use mediasift_e2e::moto::MotoServer;

/// No test may take longer than this, whatever moto does.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);

fn transcript() -> Transcript {
    let sentences = [
        (0.5, 3.9, "Welcome to the show."),
        (4.2, 9.8, "Today we talk about bees and honey."),
    ];
    let segments: Vec<Segment> = sentences
        .iter()
        .map(|&(start, end, text)| Segment {
            start,
            end,
            text: text.into(),
        })
        .collect();
    let words = segments
        .iter()
        .flat_map(|s| {
            let words: Vec<&str> = s.text.split(' ').collect();
            let step = (s.end - s.start) / words.len() as f64;
            words.into_iter().enumerate().map(move |(i, w)| Word {
                text: w.into(),
                start: s.start + i as f64 * step,
                end: s.start + (i + 1) as f64 * step,
                confidence: None,
            })
        })
        .collect();
    Transcript {
        engine: "amazon-transcribe".into(),
        language: Some("en-US".into()),
        language_confidence: None,
        duration_seconds: 10.0,
        text: sentences.iter().map(|s| s.2).collect::<Vec<_>>().join(" "),
        segments,
        words,
        warnings: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_model_reaches_moto_and_its_empty_answer_is_unusable() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let moto = MotoServer::start();
        let sdk = moto.sdk_config().await;
        let backend = BedrockChapters::new(
            &sdk,
            BedrockConfig {
                max_attempts: 2,
                initial_backoff: Duration::from_millis(50),
                ..BedrockConfig::default()
            },
        );
        assert_eq!(
            backend.engine(),
            format!("amazon-bedrock {DEFAULT_MODEL_ID}")
        );
        let err = backend.chapters(&transcript()).await.unwrap_err();
        let ChaptersError::Unusable(message) = &err else {
            panic!("{err:?}\nmoto's log:\n{}", moto.log_tail());
        };
        assert!(message.contains(DEFAULT_MODEL_ID), "{message}");
        assert!(message.contains("in 2 answers"), "{message}");
        for answer in ["answer 1", "answer 2"] {
            assert!(
                message.contains(&format!(
                    "{answer}: the response is not an Anthropic Messages response"
                )),
                "{message}"
            );
        }
        assert!(
            message.contains(r#""{}""#),
            "moto's answer is quoted: {message}"
        );
    })
    .await
    .expect("the test finishes in time");
}
