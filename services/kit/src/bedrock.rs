//! Amazon Bedrock for the generative features (feature `bedrock`): `InvokeModel` with the
//! Anthropic Messages API, and a conversation that asks for one JSON object, reads it
//! strictly and asks again when the answer cannot be used. The services keep their prompts and
//! their answers' rules; [`Bedrock`] does the rest.
//!
//! # The request
//!
//! | field | value |
//! |---|---|
//! | `modelId` | [`BedrockConfig::model_id`] (default [`DEFAULT_MODEL_ID`], Claude Haiku 4.5 through the global cross-region inference profile) |
//! | `contentType`, `accept` | `application/json` |
//! | body | `{"anthropic_version": "bedrock-2023-05-31", "max_tokens": …, "system": …, "messages": […]}` |
//!
//! No sampling parameters are sent (the model's defaults), and no assistant prefill: both are
//! refused by some newer Claude models, and the model is configurable.
//!
//! # The answer
//!
//! [`answer_text`]: the text blocks of the Messages response, joined. A body that is not a
//! Messages response, an answer without text, a refusal (`stop_reason` `refusal`) and an
//! answer cut off at `max_tokens` before any JSON object closes are unusable answers, not
//! errors: they are asked again like a malformed one.
//!
//! [`Bedrock::ask_json`] holds the conversation: the caller's `read` gets the answer's text
//! (most start with [`read_json`]: the [`first_json_object`] in it, text before and after
//! ignored, deserialised strictly) and says what is wrong with it, if anything. An unusable
//! answer is asked again: the model gets the first user message, its previous answer as the
//! assistant's turn (trimmed, at most [`MAX_ECHOED_ANSWER_CHARS`] characters), then a user
//! message saying what was wrong and to answer with the JSON object only. Only the last
//! unusable answer is sent back, so the request does not grow with every attempt. When there
//! is no answer to send back (the response had no text), the correction is appended to the
//! first user message instead. After `max_answers` unusable answers,
//! [`BedrockError::Unusable`] names the model and each answer's problem.
//!
//! # Throttling and errors
//!
//! The client retries throttling, 5xx and connection failures itself (standard retry mode:
//! [`BedrockConfig::max_attempts`] attempts with exponential backoff and full jitter). What is
//! left is classified by [`Fault`] ([`classify`]): transient, a model timeout, a model not
//! ready or erring, a quota exceeded → [`BedrockError::Unavailable`] (the event is retried
//! later); access denied, a model not enabled or unknown in the region, a model id Bedrock
//! refuses → [`BedrockError::Failed`] saying what to enable or allow ([`enable_advice`]); any
//! other refusal → [`BedrockError::Failed`] with Bedrock's message.
//!
//! # Permissions
//!
//! The calling function's role needs `bedrock:InvokeModel` on the inference profile
//! (`arn:aws:bedrock:<region>:<account>:inference-profile/<model id>`) and on the foundation
//! model it routes to in every Region (`arn:aws:bedrock:*::foundation-model/<base model id>`,
//! and for a `global.` profile the Region-less `arn:aws:bedrock:::foundation-model/<base
//! model id>`); the model must be enabled for the account (Bedrock console, Model access;
//! Anthropic models also ask for the use-case form once).

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::time::Duration;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::primitives::Blob;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::aws::Fault;
use crate::ports::Retryable;

/// Claude Haiku 4.5 through the global cross-region inference profile (AWS's model card for
/// Claude Haiku 4.5 lists base model `anthropic.claude-haiku-4-5-20251001-v1:0`; the global
/// inference profile id is the base id prefixed with `global.`). Claude 4.5 models are
/// invoked through an inference profile, not on-demand by their base id.
pub const DEFAULT_MODEL_ID: &str = crate::DEFAULT_BEDROCK_MODEL_ID;
/// The Messages API version Bedrock's Anthropic models take.
pub const ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";
/// The longest answer, in tokens, by default.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
/// Attempts per call, by default, the first included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Answers asked for, by default, the first included (the callers' default for
/// [`Bedrock::ask_json`]'s `max_answers`).
pub const DEFAULT_ANSWER_ATTEMPTS: u32 = 2;
/// The first retry's backoff ceiling; each further retry doubles it (up to
/// [`MAX_BACKOFF`]), and the wait is drawn at random below it (full jitter).
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// The most of a previous (unusable) answer sent back when asking again.
pub const MAX_ECHOED_ANSWER_CHARS: usize = 8_000;
/// The most `{` tried as the start of the answer's JSON object.
const MAX_JSON_CANDIDATES: usize = 64;
/// Inference profile prefixes (geography or global) in front of a base model id.
const PROFILE_PREFIXES: &[&str] = &[
    "global.", "us.", "eu.", "apac.", "jp.", "au.", "us-gov.", "ca.",
];

/// The model and how it is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedrockConfig {
    /// The model or inference profile invoked, by id or ARN (default [`DEFAULT_MODEL_ID`]).
    /// It must take the Anthropic Messages API (a Claude model).
    pub model_id: String,
    /// The longest answer, in tokens (default [`DEFAULT_MAX_TOKENS`]).
    pub max_tokens: u32,
    /// Attempts per call (throttling, 5xx, connection failures), the first included
    /// (default [`DEFAULT_MAX_ATTEMPTS`]).
    pub max_attempts: u32,
    /// The first retry's backoff ceiling (tests shorten it; default
    /// [`DEFAULT_INITIAL_BACKOFF`]).
    pub initial_backoff: Duration,
}

impl Default for BedrockConfig {
    fn default() -> Self {
        Self {
            model_id: DEFAULT_MODEL_ID.to_owned(),
            max_tokens: DEFAULT_MAX_TOKENS,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
        }
    }
}

impl BedrockConfig {
    /// The client's retry policy: standard mode, exponential backoff with full jitter.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(MAX_BACKOFF.max(self.initial_backoff))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BedrockError {
    /// Throttling, a timeout, a model not ready, a quota: retry the event later.
    #[error("Bedrock unavailable: {0}")]
    Unavailable(String),
    /// No usable answer in the answers asked for: the model, and each answer's problem.
    #[error("{0}")]
    Unusable(String),
    /// Access denied, a model not enabled or not offered, a request Bedrock refuses: what to
    /// enable, allow or configure.
    #[error("{0}")]
    Failed(String),
}

impl Retryable for BedrockError {
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// The first user message's content: text, or Messages content blocks (text and images).
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    Text(String),
    Blocks(Vec<Value>),
}

impl Prompt {
    fn content(&self) -> Value {
        match self {
            Self::Text(text) => Value::String(text.clone()),
            Self::Blocks(blocks) => Value::Array(blocks.clone()),
        }
    }

    /// The content with `note` after it (the same form: appended text, or a text block).
    fn content_with(&self, note: &str) -> Value {
        match self {
            Self::Text(text) => Value::String(format!("{text}\n\n{note}")),
            Self::Blocks(blocks) => {
                let mut blocks = blocks.clone();
                blocks.push(text_block(note));
                Value::Array(blocks)
            }
        }
    }
}

impl From<String> for Prompt {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Prompt {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<Vec<Value>> for Prompt {
    fn from(blocks: Vec<Value>) -> Self {
        Self::Blocks(blocks)
    }
}

/// A Messages text content block.
pub fn text_block(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

/// A Messages image content block: `media_type` (`image/jpeg`, `image/png`, `image/webp`,
/// `image/gif`) and the image's bytes in standard base64.
pub fn image_block(media_type: &str, base64: &str) -> Value {
    json!({
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": base64},
    })
}

/// A Bedrock runtime client and the model it asks. Cloning shares the client.
#[derive(Clone)]
pub struct Bedrock {
    client: Client,
    config: BedrockConfig,
}

impl std::fmt::Debug for Bedrock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bedrock")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Bedrock {
    /// A client built from `sdk` (region and credentials as loaded once per process), with
    /// `config`'s retry policy.
    pub fn new(sdk: &aws_config::SdkConfig, config: BedrockConfig) -> Self {
        Self::with_client_config(aws_sdk_bedrockruntime::config::Builder::from(sdk), config)
    }

    /// A client built from `builder` (tests add an HTTP client or interceptors), with
    /// `config`'s retry policy.
    pub fn with_client_config(
        builder: aws_sdk_bedrockruntime::config::Builder,
        config: BedrockConfig,
    ) -> Self {
        let client = Client::from_conf(builder.retry_config(config.retry_config()).build());
        Self::from_client(client, config)
    }

    /// A client as it is (its own retry policy; [`BedrockConfig::max_attempts`] is then only
    /// what error messages say).
    pub fn from_client(client: Client, config: BedrockConfig) -> Self {
        Self { client, config }
    }

    pub fn config(&self) -> &BedrockConfig {
        &self.config
    }

    /// The engine as results report it: `amazon-bedrock <model id>`.
    pub fn engine(&self) -> String {
        format!("amazon-bedrock {}", self.config.model_id)
    }

    /// One `InvokeModel` call. `Err` when the call failed (after the client's retries);
    /// otherwise the answer's text, or why the response cannot be read ([`answer_text`]).
    pub async fn invoke(
        &self,
        system: &str,
        messages: &[Value],
    ) -> Result<Result<String, String>, BedrockError> {
        let body = json!({
            "anthropic_version": ANTHROPIC_VERSION,
            "max_tokens": self.config.max_tokens,
            "system": system,
            "messages": messages,
        });
        let output = self
            .client
            .invoke_model()
            .model_id(&self.config.model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body.to_string().into_bytes()))
            .send()
            .await
            .map_err(|e| self.error(&e))?;
        Ok(answer_text(output.body().as_ref(), self.config.max_tokens))
    }

    /// Asks for one JSON object until `read` accepts an answer, at most `max_answers` answers
    /// (at least 1): `read` gets the answer's text and returns what it means or what is
    /// wrong with it, said so that the model can correct it (see the module's
    /// documentation).
    pub async fn ask_json<T>(
        &self,
        system: &str,
        prompt: impl Into<Prompt>,
        read: impl Fn(&str) -> Result<T, String>,
        max_answers: u32,
    ) -> Result<T, BedrockError> {
        let prompt = prompt.into();
        let attempts = max_answers.max(1);
        let mut problems: Vec<String> = Vec::new();
        let mut previous: Option<(String, String)> = None;
        for attempt in 1..=attempts {
            let messages = match &previous {
                None => vec![json!({"role": "user", "content": prompt.content()})],
                // An empty assistant turn is refused by the API: say what was wrong in the
                // first message instead.
                Some((answer, problem)) if answer.is_empty() => vec![json!({
                    "role": "user",
                    "content": prompt.content_with(&correction(problem)),
                })],
                Some((answer, problem)) => vec![
                    json!({"role": "user", "content": prompt.content()}),
                    json!({"role": "assistant", "content": answer}),
                    json!({"role": "user", "content": correction(problem)}),
                ],
            };
            let (answer, outcome) = match self.invoke(system, &messages).await? {
                Ok(text) => {
                    let outcome = read(&text);
                    (text, outcome)
                }
                Err(problem) => (String::new(), Err(problem)),
            };
            match outcome {
                Ok(value) => return Ok(value),
                Err(problem) => {
                    tracing::warn!(
                        model = %self.config.model_id,
                        attempt,
                        attempts,
                        %problem,
                        "Bedrock's answer is unusable"
                    );
                    problems.push(format!("answer {attempt}: {problem}"));
                    previous = Some((echo(&answer), problem));
                }
            }
        }
        Err(BedrockError::Unusable(format!(
            "{} gave no usable answer in {attempts} answer{} ({})",
            self.engine(),
            if attempts == 1 { "" } else { "s" },
            problems.join("; "),
        )))
    }

    fn error<E>(&self, err: &SdkError<E>) -> BedrockError
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let fault = Fault::of("InvokeModel", err);
        let region = self.client.config().region().map(|r| r.as_ref().to_owned());
        classify(
            &fault,
            &self.config.model_id,
            region.as_deref(),
            self.config.max_attempts.max(1),
        )
    }
}

/// What the model is told after an unusable answer.
fn correction(problem: &str) -> String {
    format!(
        "That answer cannot be used: {problem}. Answer again with only the JSON object \
         described above, no other text, following every rule."
    )
}

/// A previous answer as it is sent back: trimmed (the API refuses an assistant turn that
/// ends in whitespace) and bounded.
fn echo(answer: &str) -> String {
    let answer = answer.trim();
    if answer.chars().count() <= MAX_ECHOED_ANSWER_CHARS {
        answer.to_owned()
    } else {
        answer
            .chars()
            .take(MAX_ECHOED_ANSWER_CHARS)
            .collect::<String>()
            .trim_end()
            .to_owned()
    }
}

/// A fault left after the client's retries, as a [`BedrockError`] that says what to do.
/// `region` is the client's, `attempts` how many the client made.
pub fn classify(
    fault: &Fault,
    model_id: &str,
    region: Option<&str>,
    attempts: u32,
) -> BedrockError {
    let message = &fault.message;
    let code = fault.code.as_deref();
    if fault.transient
        || matches!(
            code,
            Some(
                "ModelTimeoutException"
                    | "ModelNotReadyException"
                    | "ModelErrorException"
                    | "ServiceQuotaExceededException"
            )
        )
    {
        return BedrockError::Unavailable(format!(
            "Bedrock is throttled or unavailable for {model_id} ({message}; the client made up \
             to {attempts} attempts with backoff); the event will be retried. If this lasts, \
             ask AWS for a higher Bedrock quota for the model (tokens and requests per \
             minute) or use an inference profile that spreads the load."
        ));
    }
    let region_name = region.unwrap_or("<region>");
    let enable = enable_advice(model_id, region_name);
    let lower = message.to_lowercase();
    match code {
        Some("AccessDeniedException") => BedrockError::Failed(format!(
            "Bedrock refused InvokeModel on {model_id} ({message}). {enable}"
        )),
        Some("ResourceNotFoundException") => BedrockError::Failed(format!(
            "Bedrock has no model {model_id} available to this account in {region_name} \
             ({message}). Check the model id, and that the model is not past its end of life; \
             {enable}"
        )),
        Some("ValidationException") if about_the_model(&lower) => BedrockError::Failed(format!(
            "Bedrock does not accept the model id {model_id} in {region_name} ({message}). \
             Configure a model id or inference profile id that Bedrock offers there and that \
             takes the Anthropic Messages API (Claude 4.5 models are invoked through an \
             inference profile, e.g. {DEFAULT_MODEL_ID}); {enable}"
        )),
        Some("ValidationException") if lower.contains("too long") => BedrockError::Failed(format!(
            "the request is too long for {model_id} ({message}). Send less."
        )),
        Some(other) => BedrockError::Failed(format!(
            "Bedrock refused the request to {model_id} ({other}: {message})."
        )),
        None => BedrockError::Failed(format!(
            "could not make the Bedrock InvokeModel request ({message}). Check the function's \
             AWS region and credentials."
        )),
    }
}

/// Whether a `ValidationException`'s message is about the model id rather than the request.
fn about_the_model(lower: &str) -> bool {
    [
        "model identifier",
        "model id",
        "inference profile",
        "on-demand throughput",
        "end of its life",
        "model access",
        "not supported",
        "isn't supported",
        "access to the model",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// What to enable and allow for `model_id` in `region`: model access, and
/// `bedrock:InvokeModel` on the inference profile and the foundation models it routes to (or
/// on the foundation model itself).
pub fn enable_advice(model_id: &str, region: &str) -> String {
    let base = base_model_id(model_id);
    let mut advice = format!(
        "Enable model access for {model_id} in the Bedrock console (Model access, in \
         {region}; Anthropic models also ask for the use-case form once), and allow the \
         calling function's role bedrock:InvokeModel on "
    );
    if model_id.starts_with("arn:") {
        let _ = write!(
            advice,
            "{model_id} and on the foundation models it routes to."
        );
    } else if base != model_id {
        let _ = write!(
            advice,
            "arn:aws:bedrock:{region}:<account>:inference-profile/{model_id} and on \
             arn:aws:bedrock:*::foundation-model/{base}"
        );
        if model_id.starts_with("global.") {
            let _ = write!(advice, " and arn:aws:bedrock:::foundation-model/{base}");
        }
        advice.push('.');
    } else {
        let _ = write!(advice, "arn:aws:bedrock:{region}::foundation-model/{base}.");
    }
    advice
}

/// `model_id` without its inference profile prefix.
pub fn base_model_id(model_id: &str) -> &str {
    PROFILE_PREFIXES
        .iter()
        .find_map(|prefix| model_id.strip_prefix(prefix))
        .unwrap_or(model_id)
}

/// The Anthropic Messages response, as far as it is read.
#[derive(Debug, Deserialize)]
struct MessagesResponse {
    content: Vec<ContentBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentBlock {
    Text {
        text: String,
    },
    #[serde(other)]
    Other,
}

/// The text of a Messages response body (its text blocks, joined), or why there is none to
/// read: not a Messages response, no text, a refusal, or cut off at `max_tokens` before a
/// JSON object closed.
pub fn answer_text(body: &[u8], max_tokens: u32) -> Result<String, String> {
    let response: MessagesResponse = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the response is not an Anthropic Messages response ({e}): {}",
            excerpt(&String::from_utf8_lossy(body))
        )
    })?;
    let text: String = response
        .content
        .into_iter()
        .filter_map(|block| match block {
            ContentBlock::Text { text } => Some(text),
            ContentBlock::Other => None,
        })
        .collect::<Vec<_>>()
        .join("");
    match response.stop_reason.as_deref() {
        Some("max_tokens") if first_json_object(&text).is_none() => Err(format!(
            "the answer was cut off at max_tokens ({max_tokens}): make it shorter"
        )),
        Some("refusal") => Err("the model declined to answer (stop_reason refusal)".into()),
        _ if text.trim().is_empty() => Err("the answer has no text".into()),
        _ => Ok(text),
    }
}

/// The first JSON object in `text`: whatever precedes it (a preamble, a Markdown fence) and
/// follows it is ignored.
pub fn first_json_object(text: &str) -> Option<Value> {
    text.char_indices()
        .filter(|&(_, c)| c == '{')
        .take(MAX_JSON_CANDIDATES)
        .find_map(|(i, _)| {
            match serde_json::Deserializer::from_str(&text[i..])
                .into_iter::<Value>()
                .next()
            {
                Some(Ok(value @ Value::Object(_))) => Some(value),
                _ => None,
            }
        })
}

/// The [`first_json_object`] in an answer's text as a `T` (whose `Deserialize` says how
/// strictly), or what is wrong: `the answer holds no JSON object: …`, or `the JSON is not
/// {shape}: <serde's error>`.
pub fn read_json<T: DeserializeOwned>(text: &str, shape: &str) -> Result<T, String> {
    let value = first_json_object(text)
        .ok_or_else(|| format!("the answer holds no JSON object: {}", excerpt(text)))?;
    serde_json::from_value(value).map_err(|e| format!("the JSON is not {shape}: {e}"))
}

/// The start of `text` (whitespace collapsed, at most 200 characters), quoted, for messages.
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        format!("{:?}…", text.chars().take(MAX).collect::<String>())
    }
}

// --- what describers share ---------------------------------------------------------------------

/// An image as a model gets it: `bytes` as they are when they are a JPEG whose long side is
/// at most `max_side`, otherwise decoded, scaled to fit (aspect kept, never up) and encoded as
/// JPEG at `quality`.
pub fn model_jpeg(bytes: &[u8], max_side: u32, quality: u8) -> Result<Vec<u8>, String> {
    use image::{GenericImageView, ImageFormat, imageops::FilterType};
    let format = image::guess_format(bytes)
        .map_err(|e| format!("not an image format that can be read ({e})"))?;
    let decoded = image::load_from_memory_with_format(bytes, format)
        .map_err(|e| format!("the {format:?} image cannot be decoded: {e}"))?;
    let (w, h) = decoded.dimensions();
    let long = w.max(h);
    if format == ImageFormat::Jpeg && long <= max_side {
        return Ok(bytes.to_vec());
    }
    let fitted = if long <= max_side {
        decoded
    } else {
        let scale =
            |v: u32| ((f64::from(v) * f64::from(max_side) / f64::from(long)).round() as u32).max(1);
        let (nw, nh) = if w >= h {
            (max_side, scale(h))
        } else {
            (scale(w), max_side)
        };
        decoded.resize_exact(nw, nh, FilterType::CatmullRom)
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&fitted.to_rgb8())
        .map_err(|e| format!("the image cannot be encoded as JPEG: {e}"))?;
    Ok(out)
}

/// Whitespace runs as one space, trimmed.
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A context value for a prompt: on one line, and unable to open or close a tag (`<` and `>`
/// become `‹` and `›`), so text read on screen or spoken cannot end the `<context>` block.
pub fn context_value(text: &str) -> String {
    collapse(text).replace('<', "‹").replace('>', "›")
}

/// What a JSON value is, for a problem named to the model ("`tags` is a string").
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelInput;
    use aws_smithy_mocks::{MockResponse, MockResponseInterceptor, RuleMode, mock};
    use aws_smithy_runtime_api::http::{Response as HttpResponse, StatusCode};

    use super::*;

    #[test]
    fn the_first_json_object_is_found_after_text_and_fences() {
        let fenced = "Here you are:\n```json\n{\"chapters\": []}\n```\nAnything {else}";
        assert_eq!(first_json_object(fenced), Some(json!({"chapters": []})));
        assert_eq!(
            first_json_object("a {broken and then {\"a\": 1}"),
            Some(json!({"a": 1}))
        );
        assert_eq!(first_json_object("no json [1, 2]"), None);
    }

    #[test]
    fn advice_names_the_profile_and_the_models_it_routes_to() {
        let advice = enable_advice(DEFAULT_MODEL_ID, "eu-west-1");
        assert!(advice.contains(
            "arn:aws:bedrock:eu-west-1:<account>:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0"
        ));
        assert!(advice.contains(
            "arn:aws:bedrock:::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"
        ));
        assert_eq!(
            base_model_id("anthropic.claude-3-haiku-20240307-v1:0"),
            "anthropic.claude-3-haiku-20240307-v1:0"
        );
        let arn = "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/x";
        assert!(enable_advice(arn, "eu-west-1").contains(&format!("on {arn} and on")));
    }

    #[test]
    fn answers_without_usable_text_say_why() {
        let response = |text: &str, stop: &str| {
            json!({"content": [{"type": "text", "text": text}], "stop_reason": stop})
                .to_string()
                .into_bytes()
        };
        assert_eq!(
            answer_text(&response("{\"a\": 1}", "end_turn"), 10).unwrap(),
            "{\"a\": 1}"
        );
        let cut = answer_text(&response("{\"a\": ", "max_tokens"), 10).unwrap_err();
        assert!(cut.contains("cut off at max_tokens (10)"), "{cut}");
        let refused = answer_text(&response("No.", "refusal"), 10).unwrap_err();
        assert!(refused.contains("declined"), "{refused}");
        let blank = answer_text(&response("  ", "end_turn"), 10).unwrap_err();
        assert_eq!(blank, "the answer has no text");
        let other = answer_text(b"{}", 10).unwrap_err();
        assert!(
            other.contains("not an Anthropic Messages response"),
            "{other}"
        );
    }

    #[test]
    fn read_json_says_what_is_wrong() {
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields)]
        struct A {
            a: u32,
        }
        assert_eq!(read_json::<A>("x {\"a\": 1} y", "{\"a\"}"), Ok(A { a: 1 }));
        let none = read_json::<A>("nothing", "{\"a\"}").unwrap_err();
        assert_eq!(none, "the answer holds no JSON object: \"nothing\"");
        let wrong = read_json::<A>("{\"b\": 1}", "{\"a\"}").unwrap_err();
        assert!(
            wrong.starts_with("the JSON is not {\"a\"}: unknown field `b`"),
            "{wrong}"
        );
    }

    #[test]
    fn classification_says_what_to_do() {
        let fault = |code: Option<&str>, transient: bool, message: &str| Fault {
            code: code.map(str::to_owned),
            status: None,
            transient,
            message: message.into(),
        };
        let throttled = classify(&fault(None, true, "slow down"), "m", None, 5);
        assert!(throttled.is_retryable(), "{throttled}");
        let busy = classify(
            &fault(Some("ModelNotReadyException"), false, "not ready"),
            "m",
            None,
            5,
        );
        assert!(busy.is_retryable(), "{busy}");
        let long = classify(
            &fault(Some("ValidationException"), false, "Input is too long"),
            "m",
            Some("eu-west-1"),
            5,
        );
        assert!(
            matches!(&long, BedrockError::Failed(m) if m.contains("too long for m")),
            "{long}"
        );
        let unbuilt = classify(&fault(None, false, "no credentials"), "m", None, 5);
        assert!(
            matches!(&unbuilt, BedrockError::Failed(m) if m.contains("region and credentials")),
            "{unbuilt}"
        );
    }

    /// Content blocks, a response without text, then an answer: the correction goes into the
    /// first message as a text block of its own.
    #[tokio::test]
    async fn a_correction_without_an_answer_to_send_back_is_a_text_block() {
        let asked: Arc<Mutex<Vec<InvokeModelInput>>> = Arc::default();
        let recorded = Arc::clone(&asked);
        let rule =
            mock!(Client::invoke_model).then_compute_response(move |input: &InvokeModelInput| {
                let mut asked = recorded.lock().unwrap();
                asked.push(input.clone());
                let body = if asked.len() == 1 {
                    "{}".to_owned()
                } else {
                    json!({"content": [{"type": "text", "text": "{\"a\": 2}"}],
                           "stop_reason": "end_turn"})
                    .to_string()
                };
                let mut response =
                    HttpResponse::new(StatusCode::try_from(200).unwrap(), body.into());
                response
                    .headers_mut()
                    .insert("content-type", "application/json");
                MockResponse::Http(response)
            });
        let builder = aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(
                MockResponseInterceptor::new()
                    .rule_mode(RuleMode::MatchAny)
                    .with_rule(&rule),
            );
        let bedrock = Bedrock::with_client_config(
            builder,
            BedrockConfig {
                initial_backoff: Duration::from_millis(1),
                ..BedrockConfig::default()
            },
        );
        let blocks = vec![image_block("image/png", "AAAA"), text_block("Say a.")];
        let value: Value = bedrock
            .ask_json(
                "system",
                blocks.clone(),
                |text| read_json(text, "{\"a\"}"),
                2,
            )
            .await
            .unwrap();
        assert_eq!(value, json!({"a": 2}));
        let asked = asked.lock().unwrap();
        assert_eq!(asked.len(), 2);
        let body: Value = serde_json::from_slice(asked[1].body().unwrap().as_ref()).unwrap();
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "{body}");
        let content = messages[0]["content"].as_array().unwrap();
        assert_eq!(content[..2], blocks[..]);
        let note = content[2]["text"].as_str().unwrap();
        assert!(
            note.starts_with("That answer cannot be used: the response is not an Anthropic"),
            "{note}"
        );
        assert_eq!(body["system"], "system");
    }
}
