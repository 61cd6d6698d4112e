//! The Amazon Bedrock chapters backend on a client answered by aws-smithy-mocks: the
//! InvokeModel request it sends (model, Messages API body, the transcript as numbered,
//! timestamped segments), how it reads the model's answers (strict JSON, fenced or after a
//! preamble, validated against the segments and asked again when unusable), and how it reads
//! Bedrock's refusals and throttling. Answers are the bodies Bedrock sends (an Anthropic
//! Messages response; errors as restJson1), so the SDK's own deserialisation, error parsing
//! and retry classification run as they do against AWS. Against moto (whose InvokeModel
//! answers `{}`): `e2e/tests/chapters_aws.rs`.
#![cfg(feature = "aws")]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelInput;
use aws_smithy_mocks::{MockResponse, MockResponseInterceptor, Rule, RuleMode, mock};
use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};
use aws_smithy_types::body::SdkBody;
use mediasift_audio::chapters::bedrock::{ANTHROPIC_VERSION, DEFAULT_MODEL_ID, SYSTEM_PROMPT};
use mediasift_audio::chapters::{
    BedrockChapters, BedrockConfig, Chapter, ChaptersBackend, ChaptersError,
};
use mediasift_audio::speech::{Segment, Transcript, Word};
use mediasift_kit::ports::Retryable;
use serde_json::{Value, json};

const ATTEMPTS: u32 = 4;
const REGION: &str = "eu-west-1";

// --- the transcript ---------------------------------------------------------------------------

/// A short interview: welcome, the first topic (beekeeping), the second (honey), goodbye.
const SEGMENTS: &[(f64, f64, &str)] = &[
    (0.42, 4.87, "Welcome to Field Notes, I'm Ana Ruiz."),
    (
        5.1,
        11.36,
        "Today I'm talking with Tom Baker, who keeps bees in the hills above Girona.",
    ),
    (
        12.02,
        19.5,
        "Tom, how did you start? My grandfather had twelve hives and I took them over.",
    ),
    (
        19.94,
        28.71,
        "The first winter I lost half of them to varroa mites.",
    ),
    (
        29.3,
        36.08,
        "Let's talk about honey. Why does yours taste different every year?",
    ),
    (
        36.5,
        44.9,
        "Because the bees follow whatever flowers: rosemary one year, chestnut the next.",
    ),
    (45.6, 49.25, "Thank you, Tom. That's all for today."),
];

fn transcript() -> Transcript {
    let segments: Vec<Segment> = SEGMENTS
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
            words
                .into_iter()
                .enumerate()
                .map(|(i, w)| Word {
                    text: w.into(),
                    start: s.start + i as f64 * step,
                    end: s.start + (i + 1) as f64 * step,
                    confidence: Some(0.98),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Transcript {
        engine: "amazon-transcribe".into(),
        language: Some("en-US".into()),
        language_confidence: Some(0.99),
        duration_seconds: 50.0,
        text: SEGMENTS.iter().map(|s| s.2).collect::<Vec<_>>().join(" "),
        segments,
        words,
        warnings: Vec::new(),
    }
}

// --- the client -------------------------------------------------------------------------------

/// One answer of the mocked Bedrock.
#[derive(Clone)]
enum Reply {
    /// A Messages response whose one text block is this.
    Text(String),
    /// An HTTP answer as it is.
    Raw(u16, String),
    /// A restJson1 error.
    Refusal(u16, &'static str, &'static str),
}

fn messages_response(text: &str, stop_reason: &str) -> String {
    json!({
        "id": "msg_bdrk_01HqX8m3tV9kQx2TQz5L7c4N",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {"input_tokens": 912, "output_tokens": 187},
    })
    .to_string()
}

fn http(reply: &Reply) -> HttpResponse {
    let (status, body, code) = match reply {
        Reply::Text(text) => (200, messages_response(text, "end_turn"), None),
        Reply::Raw(status, body) => (*status, body.clone(), None),
        Reply::Refusal(status, code, message) => (
            *status,
            json!({"message": message}).to_string(),
            Some(*code),
        ),
    };
    let mut response =
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
    response
        .headers_mut()
        .insert("content-type", "application/json");
    if let Some(code) = code {
        response.headers_mut().insert("x-amzn-errortype", code);
    }
    response
}

/// A mocked Bedrock answering `replies` in turn (the last one again once they run out), and
/// recording every request.
struct Bedrock {
    rule: Rule,
    asked: Arc<Mutex<Vec<InvokeModelInput>>>,
}

impl Bedrock {
    fn new(replies: &[Reply]) -> Self {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let queue = Arc::new(Mutex::new(replies.iter().cloned().collect::<VecDeque<_>>()));
        let recorded = Arc::clone(&asked);
        let rule =
            mock!(Client::invoke_model).then_compute_response(move |input: &InvokeModelInput| {
                recorded.lock().unwrap().push(input.clone());
                let mut queue = queue.lock().unwrap();
                let reply = if queue.len() > 1 {
                    queue.pop_front().unwrap()
                } else {
                    queue.front().cloned().expect("a reply")
                };
                MockResponse::Http(http(&reply))
            });
        Self { rule, asked }
    }

    /// A mocked Bedrock answering by `rule` (a sequence: aws-smithy-mocks computes no response
    /// for the SDK's retries of one call), recording nothing.
    fn with_rule(rule: Rule) -> Self {
        Self {
            rule,
            asked: Arc::default(),
        }
    }

    /// The backend on a client answered by this mock, with the production retry policy
    /// except for a 1 ms first backoff.
    fn backend(&self, config: BedrockConfig) -> BedrockChapters {
        let interceptor = MockResponseInterceptor::new()
            .rule_mode(RuleMode::MatchAny)
            .with_rule(&self.rule);
        let builder = aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(interceptor);
        BedrockChapters::with_client_config(builder, config)
    }

    fn calls(&self) -> usize {
        self.rule.num_calls()
    }

    /// The JSON body of request `i`.
    fn body(&self, i: usize) -> Value {
        let asked = self.asked.lock().unwrap();
        let body = asked[i].body().expect("a body");
        serde_json::from_slice(body.as_ref()).expect("a JSON body")
    }

    /// The first user message of request `i`.
    fn prompt(&self, i: usize) -> String {
        self.body(i)["messages"][0]["content"]
            .as_str()
            .expect("text content")
            .to_owned()
    }
}

fn config() -> BedrockConfig {
    BedrockConfig {
        max_attempts: ATTEMPTS,
        initial_backoff: Duration::from_millis(1),
        ..BedrockConfig::default()
    }
}

/// The answer for chapters given as `(startSegment, endSegment, title)`.
fn chapters_json(chapters: &[(usize, usize, &str)]) -> String {
    json!({
        "chapters": chapters
            .iter()
            .map(|&(start, end, title)| json!({
                "startSegment": start,
                "endSegment": end,
                "title": title,
                "summary": format!("What is said about {}.", title.to_lowercase()),
            }))
            .collect::<Vec<_>>(),
    })
    .to_string()
}

fn good_answer() -> String {
    chapters_json(&[
        (0, 1, "Welcome"),
        (2, 3, "Starting with bees"),
        (4, 5, "Honey and flowers"),
        (6, 6, "Goodbye"),
    ])
}

fn assert_good_chapters(chapters: &[Chapter]) {
    let spans: Vec<(f64, f64, &str)> = chapters
        .iter()
        .map(|c| (c.start, c.end, c.title.as_str()))
        .collect();
    assert_eq!(
        spans,
        vec![
            (0.42, 11.36, "Welcome"),
            (12.02, 28.71, "Starting with bees"),
            (29.3, 44.9, "Honey and flowers"),
            (45.6, 49.25, "Goodbye"),
        ],
        "chapters run exactly from their first segment's start to their last segment's end"
    );
    assert_eq!(
        chapters[1].summary,
        "What is said about starting with bees."
    );
}

// --- the request ------------------------------------------------------------------------------

#[tokio::test]
async fn the_request_names_the_model_and_sends_numbered_timestamped_segments() {
    let bedrock = Bedrock::new(&[Reply::Text(good_answer())]);
    let backend = bedrock.backend(config());
    assert_eq!(
        backend.engine(),
        "amazon-bedrock global.anthropic.claude-haiku-4-5-20251001-v1:0"
    );
    backend.chapters(&transcript()).await.unwrap();
    assert_eq!(bedrock.calls(), 1);

    let asked = bedrock.asked.lock().unwrap()[0].clone();
    assert_eq!(asked.model_id(), Some(DEFAULT_MODEL_ID));
    assert_eq!(asked.content_type(), Some("application/json"));
    assert_eq!(asked.accept(), Some("application/json"));

    let body = bedrock.body(0);
    assert_eq!(body["anthropic_version"], ANTHROPIC_VERSION);
    assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(body["system"], SYSTEM_PROMPT);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["role"], "user");
    assert!(
        body.get("temperature").is_none(),
        "no sampling parameters are sent"
    );

    let prompt = bedrock.prompt(0);
    for line in [
        "[0] 0:00:00–0:00:04 Welcome to Field Notes, I'm Ana Ruiz.\n",
        "[3] 0:00:19–0:00:28 The first winter I lost half of them to varroa mites.\n",
        "[6] 0:00:45–0:00:49 Thank you, Tom. That's all for today.\n",
    ] {
        assert!(prompt.contains(line), "{line:?} is not in:\n{prompt}");
    }
    assert!(prompt.contains("7 numbered segments, 0 to 6"), "{prompt}");
    assert!(prompt.contains("ends at segment 6"), "{prompt}");
    assert!(
        prompt.contains("(en-US)"),
        "the transcript's language: {prompt}"
    );
    assert!(
        prompt.contains(
            r#"{"chapters": [{"startSegment": <integer>, "endSegment": <integer>, "title": "<a few words>", "summary": "<one or two sentences>"}, …]}"#
        ),
        "the JSON asked for: {prompt}"
    );
    assert!(
        prompt.find("<transcript>").unwrap() < prompt.find("[0] ").unwrap()
            && prompt.find("[6] ").unwrap() < prompt.find("</transcript>").unwrap()
    );
}

#[tokio::test]
async fn a_transcript_without_segments_is_split_from_its_words() {
    let mut transcript = transcript();
    transcript.segments.clear();
    // Two sentences (7 and 14 words), then 25 words without punctuation.
    transcript.words.truncate(21);
    for i in 0..25 {
        transcript.words.push(Word {
            text: format!("w{i}"),
            start: 20.0 + i as f64,
            end: 20.5 + i as f64,
            confidence: None,
        });
    }
    let bedrock = Bedrock::new(&[Reply::Text(chapters_json(&[(0, 3, "All")]))]);
    let chapters = bedrock
        .backend(config())
        .chapters(&transcript)
        .await
        .unwrap();
    let prompt = bedrock.prompt(0);
    assert!(
        prompt.contains("[0] 0:00:00–0:00:04 Welcome to Field Notes, I'm Ana Ruiz.\n"),
        "{prompt}"
    );
    assert!(
        prompt.contains("[1] 0:00:05–0:00:11 Today I'm talking with Tom Baker"),
        "{prompt}"
    );
    assert!(
        prompt.contains("[2] 0:00:20–0:00:39 w0 w1 "),
        "20 words to a segment: {prompt}"
    );
    assert!(
        prompt.contains("[3] 0:00:40–0:00:44 w20 w21 w22 w23 w24\n"),
        "{prompt}"
    );
    assert_eq!(chapters.len(), 1);
    assert_eq!((chapters[0].start, chapters[0].end), (0.42, 44.5));
}

#[tokio::test]
async fn a_long_transcript_is_grouped_and_cut_to_fit_and_times_stay_exact() {
    let mut transcript = transcript();
    transcript.segments = (0..300)
        .map(|i| Segment {
            start: i as f64 * 6.0 + 0.25,
            end: i as f64 * 6.0 + 5.75,
            text: format!(
                "Sentence {i} says something long enough to need room. {}",
                "More words follow here. ".repeat(6)
            ),
        })
        .collect();
    let config = BedrockConfig {
        max_transcript_chars: 12_000,
        ..config()
    };
    let bedrock = Bedrock::new(&[Reply::Text("{}".into())]);
    // Whatever the grouping, ask for two chapters split in the middle of the lines.
    let probe = bedrock.backend(config.clone());
    let _ = probe.chapters(&transcript).await;
    let prompt = bedrock.prompt(0);
    let lines: Vec<&str> = prompt.lines().filter(|l| l.starts_with('[')).collect();
    let sent: usize = lines.iter().map(|l| l.chars().count() + 1).sum();
    assert!(sent <= 12_000, "{sent} characters of transcript lines");
    assert!(
        lines.len() < 300 && lines.len() > 10,
        "{} lines",
        lines.len()
    );
    assert!(prompt.contains("each numbered segment groups"), "{prompt}");
    assert!(lines.iter().any(|l| l.ends_with('…')), "texts are cut");
    let group: usize = prompt
        .split("each numbered segment groups ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the group size is in the prompt");
    assert_eq!(lines.len(), 300usize.div_ceil(group));
    let last = lines.len() - 1;
    let middle = last / 2;

    let bedrock = Bedrock::new(&[Reply::Text(chapters_json(&[
        (0, middle, "First half"),
        (middle + 1, last, "Second half"),
    ]))]);
    let chapters = bedrock.backend(config).chapters(&transcript).await.unwrap();
    let boundary = (middle + 1) * group;
    assert_eq!(chapters[0].start, 0.25);
    assert_eq!(chapters[0].end, (boundary - 1) as f64 * 6.0 + 5.75);
    assert_eq!(chapters[1].start, boundary as f64 * 6.0 + 0.25);
    assert_eq!(chapters[1].end, 299.0 * 6.0 + 5.75);
}

// --- the answer -------------------------------------------------------------------------------

#[tokio::test]
async fn a_good_answer_gives_chapters_at_the_segments_exact_times() {
    let bedrock = Bedrock::new(&[Reply::Text(good_answer())]);
    let chapters = bedrock
        .backend(config())
        .chapters(&transcript())
        .await
        .unwrap();
    assert_good_chapters(&chapters);
    assert_eq!(bedrock.calls(), 1);
}

#[tokio::test]
async fn an_answer_in_a_fence_after_a_preamble_is_read() {
    let fenced = format!(
        "Here are the chapters of the interview:\n\n```json\n{}\n```\n\nLet me know if you \
         want {{more}} detail.",
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(&good_answer()).unwrap())
            .unwrap()
    );
    let bedrock = Bedrock::new(&[Reply::Text(fenced)]);
    let chapters = bedrock
        .backend(config())
        .chapters(&transcript())
        .await
        .unwrap();
    assert_good_chapters(&chapters);
    assert_eq!(bedrock.calls(), 1);
}

#[tokio::test]
async fn a_malformed_answer_is_asked_again_with_what_was_wrong() {
    let malformed = r#"{"chapters": [{"startSegment": 0, "endSegment": 3, "title": "Welcome""#;
    let bedrock = Bedrock::new(&[Reply::Text(malformed.into()), Reply::Text(good_answer())]);
    let chapters = bedrock
        .backend(config())
        .chapters(&transcript())
        .await
        .unwrap();
    assert_good_chapters(&chapters);
    assert_eq!(bedrock.calls(), 2, "one re-ask");

    let again = bedrock.body(1);
    let messages = again["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{again}");
    assert_eq!(messages[0]["content"], bedrock.prompt(0), "the same prompt");
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(
        messages[1]["content"], malformed,
        "the unusable answer, sent back"
    );
    assert_eq!(messages[2]["role"], "user");
    let correction = messages[2]["content"].as_str().unwrap();
    assert!(
        correction.contains("cannot be used: the answer holds no JSON object"),
        "{correction}"
    );
}

#[tokio::test]
async fn two_malformed_answers_are_unusable_naming_the_model_and_the_problems() {
    let bedrock = Bedrock::new(&[
        Reply::Text("I'm sorry, I can't split this transcript.".into()),
        Reply::Text(r#"{"chapters": [{"start": 0.42, "end": 49.25, "title": "All"}]}"#.into()),
    ]);
    let err = bedrock
        .backend(config())
        .chapters(&transcript())
        .await
        .unwrap_err();
    let ChaptersError::Unusable(message) = &err else {
        panic!("{err:?}");
    };
    assert!(!err.is_retryable());
    assert_eq!(bedrock.calls(), 2, "answer_attempts is 2 by default");
    assert!(
        message.contains("amazon-bedrock global.anthropic.claude-haiku-4-5-20251001-v1:0"),
        "{message}"
    );
    assert!(
        message.contains("answer 1: the answer holds no JSON object"),
        "{message}"
    );
    assert!(
        message.contains("answer 2: the JSON is not") && message.contains("unknown field `start`"),
        "{message}"
    );
}

#[tokio::test]
async fn overlapping_or_out_of_range_chapters_are_asked_again_then_unusable() {
    let overlapping = chapters_json(&[(0, 3, "Welcome and bees"), (2, 6, "Honey")]);
    let out_of_range = chapters_json(&[(0, 3, "Welcome and bees"), (4, 9, "Honey")]);
    let bedrock = Bedrock::new(&[Reply::Text(overlapping), Reply::Text(out_of_range)]);
    let err = bedrock
        .backend(config())
        .chapters(&transcript())
        .await
        .unwrap_err();
    assert_eq!(bedrock.calls(), 2);
    let ChaptersError::Unusable(message) = &err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains(
            "answer 1: chapter 2 (segments 2–6) overlaps the previous chapter, which ends at \
             segment 3"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "answer 2: chapter 2 (segments 4–9) is out of range: the segments are 0 to 6"
        ),
        "{message}"
    );
    let correction = bedrock.body(1)["messages"][2]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        correction.contains("overlaps the previous chapter"),
        "{correction}"
    );
}

#[tokio::test]
async fn gaps_missing_titles_and_short_coverage_are_asked_again() {
    let gap = chapters_json(&[(0, 1, "Welcome"), (3, 6, "Bees and honey")]);
    let untitled = chapters_json(&[(0, 3, "Welcome"), (4, 6, "  ")]);
    let short = chapters_json(&[(0, 3, "Welcome"), (4, 5, "Honey")]);
    for (answer, problem) in [
        (gap, "segment 2 is in no chapter"),
        (untitled, "chapter 2 has no title"),
        (
            short,
            "the chapters end at segment 5, not at the last segment 6",
        ),
    ] {
        let bedrock = Bedrock::new(&[Reply::Text(answer), Reply::Text(good_answer())]);
        let chapters = bedrock
            .backend(config())
            .chapters(&transcript())
            .await
            .unwrap();
        assert_good_chapters(&chapters);
        assert_eq!(bedrock.calls(), 2);
        let correction = bedrock.body(1)["messages"][2]["content"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(correction.contains(problem), "{problem}: {correction}");
    }
}

#[tokio::test]
async fn a_response_that_is_not_a_messages_response_is_asked_again_without_echo() {
    let bedrock = Bedrock::new(&[Reply::Raw(200, "{}".into()), Reply::Text(good_answer())]);
    let chapters = bedrock
        .backend(config())
        .chapters(&transcript())
        .await
        .unwrap();
    assert_good_chapters(&chapters);
    let again = bedrock.body(1);
    let messages = again["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "nothing to send back: {again}");
    let content = messages[0]["content"].as_str().unwrap();
    assert!(content.starts_with(&bedrock.prompt(0)));
    assert!(
        content.contains("not an Anthropic Messages response"),
        "{content}"
    );
}

#[tokio::test]
async fn an_answer_cut_off_at_max_tokens_says_so() {
    let cut = messages_response(r#"{"chapters": [{"startSegment": 0, "endSeg"#, "max_tokens");
    let bedrock = Bedrock::new(&[Reply::Raw(200, cut)]);
    let err = bedrock
        .backend(BedrockConfig {
            answer_attempts: 1,
            max_tokens: 20,
            ..config()
        })
        .chapters(&transcript())
        .await
        .unwrap_err();
    assert_eq!(bedrock.calls(), 1);
    assert!(
        matches!(&err, ChaptersError::Unusable(m)
            if m.contains("in 1 answer (") && m.contains("cut off at max_tokens (20)")),
        "{err:?}"
    );
    assert_eq!(bedrock.body(0)["max_tokens"], 20);
}

#[tokio::test]
async fn an_empty_transcript_has_no_chapters_and_no_call() {
    let bedrock = Bedrock::new(&[Reply::Text(good_answer())]);
    let mut empty = transcript();
    empty.words.clear();
    empty.segments.clear();
    empty.text.clear();
    let chapters = bedrock.backend(config()).chapters(&empty).await.unwrap();
    assert_eq!(chapters, Vec::<Chapter>::new());
    // Segments of blank text are nothing to read either.
    empty.segments.push(Segment {
        start: 0.0,
        end: 3.0,
        text: "  ".into(),
    });
    let chapters = bedrock.backend(config()).chapters(&empty).await.unwrap();
    assert_eq!(chapters, Vec::<Chapter>::new());
    assert_eq!(bedrock.calls(), 0);
}

// --- throttling and errors --------------------------------------------------------------------

#[tokio::test]
async fn throttling_is_retried_with_backoff_until_it_passes() {
    let bedrock = Bedrock::with_rule(
        mock!(Client::invoke_model)
            .sequence()
            .http_response(|| {
                http(&Reply::Refusal(
                    429,
                    "ThrottlingException",
                    "Too many requests, please wait before trying again.",
                ))
            })
            .http_response(|| {
                http(&Reply::Refusal(
                    503,
                    "ServiceUnavailableException",
                    "Bedrock is unable to process your request.",
                ))
            })
            .http_response(|| http(&Reply::Text(good_answer())))
            .build(),
    );
    let chapters = bedrock
        .backend(config())
        .chapters(&transcript())
        .await
        .unwrap();
    assert_good_chapters(&chapters);
    assert_eq!(bedrock.calls(), 3, "two refused attempts, then the answer");
}

#[tokio::test]
async fn throttling_that_never_stops_is_unavailable_after_every_attempt() {
    let bedrock = Bedrock::with_rule(
        mock!(Client::invoke_model)
            .sequence()
            .http_response(|| {
                http(&Reply::Refusal(
                    429,
                    "ThrottlingException",
                    "Too many requests, please wait before trying again.",
                ))
            })
            .repeatedly()
            .build(),
    );
    let err = bedrock
        .backend(config())
        .chapters(&transcript())
        .await
        .unwrap_err();
    let ChaptersError::Unavailable(message) = &err else {
        panic!("{err:?}");
    };
    assert!(err.is_retryable());
    assert!(message.contains("ThrottlingException"), "{message}");
    assert!(message.contains(DEFAULT_MODEL_ID), "{message}");
    assert_eq!(bedrock.calls(), ATTEMPTS as usize);
}

#[tokio::test]
async fn a_model_timeout_is_unavailable() {
    let bedrock = Bedrock::new(&[Reply::Refusal(
        408,
        "ModelTimeoutException",
        "Model has timed out in processing the request. Try your request again.",
    )]);
    let err = bedrock
        .backend(config())
        .chapters(&transcript())
        .await
        .unwrap_err();
    assert!(matches!(&err, ChaptersError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn access_denied_fails_saying_what_to_enable_and_allow() {
    let bedrock = Bedrock::new(&[Reply::Refusal(
        403,
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
    )]);
    let err = bedrock
        .backend(config())
        .chapters(&transcript())
        .await
        .unwrap_err();
    let ChaptersError::Failed(message) = &err else {
        panic!("{err:?}");
    };
    assert!(!err.is_retryable());
    assert_eq!(bedrock.calls(), 1, "a refusal is not retried");
    assert!(
        message.contains("You don't have access to the model"),
        "{message}"
    );
    assert!(
        message.contains(
            "Enable model access for global.anthropic.claude-haiku-4-5-20251001-v1:0 in the \
             Bedrock console"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "bedrock:InvokeModel on arn:aws:bedrock:eu-west-1:<account>:inference-profile/\
             global.anthropic.claude-haiku-4-5-20251001-v1:0"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "arn:aws:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn a_model_bedrock_does_not_offer_fails_saying_what_to_configure() {
    let bedrock = Bedrock::new(&[Reply::Refusal(
        400,
        "ValidationException",
        "Invocation of model ID anthropic.claude-haiku-4-5-20251001-v1:0 with on-demand \
         throughput isn't supported. Retry your request with the ID or ARN of an inference \
         profile that contains this model.",
    )]);
    let err = bedrock
        .backend(BedrockConfig {
            model_id: "anthropic.claude-haiku-4-5-20251001-v1:0".into(),
            ..config()
        })
        .chapters(&transcript())
        .await
        .unwrap_err();
    let ChaptersError::Failed(message) = &err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains(
            "Bedrock does not accept the model id anthropic.claude-haiku-4-5-20251001-v1:0 in \
             eu-west-1"
        ),
        "{message}"
    );
    assert!(message.contains(DEFAULT_MODEL_ID), "{message}");
    assert!(
        message.contains(
            "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"
        ),
        "{message}"
    );

    let bedrock = Bedrock::new(&[Reply::Refusal(
        404,
        "ResourceNotFoundException",
        "Model use case details have not been submitted for this account. Fill out the \
         Anthropic use case details form before using the model.",
    )]);
    let err = bedrock
        .backend(config())
        .chapters(&transcript())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChaptersError::Failed(m)
            if m.contains("use case details") && m.contains("Enable model access for")),
        "{err:?}"
    );
    assert_eq!(bedrock.calls(), 1);
}
