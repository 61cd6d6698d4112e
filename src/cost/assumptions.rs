//! Every number the estimate assumes rather than measures, in one place (docs/cost.md lists
//! them). Counts that the code can know (frames selected, pages, output minutes, events) are
//! computed; these are what no local run can know before AWS runs: how much speech there is,
//! how many faces, how long a model answers, how long a Lambda runs.

use mediasift_media::kind::MediaKind;

use super::measure::Measured;

/// Characters of transcript per second of sound (no transcript exists before the run).
pub const SPEECH_CHARS_PER_SECOND: f64 = 15.0;
/// Comprehend's batch APIs take at most 5,000 bytes per document (mediasift cuts there).
pub const COMPREHEND_MAX_CHARS: f64 = 5_000.0;
/// Faces searched per selected frame or image by face match (one `SearchFacesByImage` each).
pub const FACES_PER_IMAGE: f64 = 1.0;
/// Characters of text Textract is assumed to read on a page without a text layer.
pub const OCR_PAGE_CHARS: f64 = 1_500.0;
/// Pages OCRed per document, at most (the document service's `max_ocr_pages`).
pub const MAX_OCR_PAGES: f64 = 500.0;

/// Characters per text token (Claude's tokenizer on English prose and JSON, roughly).
pub const CHARS_PER_TOKEN: f64 = 4.0;
/// Claude's image tokens are width × height / 750; the model scales larger pictures down to
/// about this many.
pub const MAX_IMAGE_TOKENS: f64 = 1_600.0;
/// Image description: the image's long side as sent (services/image `DEFAULT_MAX_SIDE`).
pub const IMAGE_MAX_SIDE: f64 = 960.0;
/// Image description: the system prompt, the context and the rules (~2,300 characters).
pub const IMAGE_PROMPT_CHARS: f64 = 2_300.0;
/// Image description: the JSON answer (description, alt text, file name, place, 5 tags).
pub const IMAGE_OUTPUT_TOKENS: f64 = 250.0;
/// Scene description: the grid's cells (services/scene `GRID_CELL_WIDTH`).
pub const GRID_CELL_WIDTH: f64 = 320.0;
/// Scene description: pictures in the grid (a scene's thumbnails, at most 4).
pub const SCENE_GRID_PICTURES: u32 = 4;
/// Scene description: the grid's long side as sent (services/scene `DEFAULT_MAX_SIDE`).
pub const SCENE_MAX_SIDE: f64 = 1_568.0;
/// Scene description: the system prompt, the context's fixed part, the rules and the 11 GARM
/// categories (~4,000 characters), before the dialogue.
pub const SCENE_PROMPT_CHARS: f64 = 4_000.0;
/// Scene description: the dialogue is the scene's transcript excerpt, at most 2,000
/// characters (services/scene `TRANSCRIPT_CHARS`).
pub const SCENE_DIALOGUE_CHARS: f64 = 2_000.0;
/// Scene description: the JSON answer (description, IAB, GARM, sentiment, brands).
pub const SCENE_OUTPUT_TOKENS: f64 = 350.0;
/// Chapters: the system prompt and the rules around the transcript.
pub const CHAPTERS_PROMPT_CHARS: f64 = 1_500.0;
/// Chapters: the transcript lines' `[n] h:mm:ss–h:mm:ss ` prefixes, per character of text.
pub const CHAPTERS_LINE_OVERHEAD: f64 = 1.25;
/// Chapters: the transcript is cut to this many characters (services/audio).
pub const CHAPTERS_MAX_TRANSCRIPT_CHARS: f64 = 120_000.0;
/// Chapters: one chapter per this many seconds, at least one.
pub const SECONDS_PER_CHAPTER: f64 = 300.0;
/// Chapters: tokens of the answer's frame, and per chapter (title and summary).
pub const ANSWER_BASE_TOKENS: f64 = 20.0;
pub const TOKENS_PER_CHAPTER: f64 = 80.0;

/// Lambda memory when Terraform does not say (never, while main.tf has every service).
pub const DEFAULT_MEMORY_MB: u32 = 1024;
/// Ingest reads the upload from S3 for its MD5 at this rate (bytes/s).
const S3_READ_BYTES_PER_SECOND: f64 = 100e6;
/// Ingest's hashing slice on Lambda: 13 minutes of its 15.
const HASHING_SLICE_SECONDS: f64 = 780.0;
/// One Rekognition or Comprehend call's latency (s); Rekognition runs 5 at once, Comprehend 3.
const CALL_SECONDS: f64 = 0.3;
const REKOGNITION_CONCURRENCY: f64 = 5.0;
const COMPREHEND_CONCURRENCY: f64 = 3.0;
/// A Textract DetectDocumentText call (s), 5 pages at once.
const TEXTRACT_SECONDS: f64 = 1.5;
const TEXTRACT_CONCURRENCY: f64 = 5.0;
/// Bedrock: time to the first token (s) and output tokens per second.
const BEDROCK_FIRST_TOKEN_SECONDS: f64 = 1.0;
const BEDROCK_TOKENS_PER_SECOND: f64 = 100.0;
/// The video service decodes the 540p proxy for shots at this many times real time.
const SHOTS_TIMES_REAL_TIME: f64 = 20.0;
/// The audio service decodes every track for loudness at this many times real time.
const LOUDNESS_TIMES_REAL_TIME: f64 = 100.0;
/// Reading and hashing one capture JPEG (s).
const CAPTURE_SECONDS: f64 = 0.02;
/// Bits per pixel of a capture JPEG, and of the proxies' average bit rate per pixel per second
/// (half the QVBR cap of 5, as a QVBR encode of ordinary footage averages).
const JPEG_BITS_PER_PIXEL: f64 = 1.0;
const VIDEO_BITS_PER_PIXEL_SECOND: f64 = 2.5;
const AAC_BITS_PER_SECOND: f64 = 128_000.0;
const WAV_BYTES_PER_SECOND: f64 = 32_000.0;

/// What the run does, as the line items counted it.
#[derive(Debug, Clone, Default)]
pub struct WorkSummary {
    pub vision_calls: f64,
    pub comprehend_calls: f64,
    pub textract_pages: f64,
    pub transcribed: bool,
    pub chapters_output_tokens: f64,
    pub scene_descriptions: f64,
    pub scene_output_tokens: f64,
    pub image_description_output_tokens: f64,
}

fn bedrock_seconds(calls: f64, output_tokens: f64) -> f64 {
    calls * BEDROCK_FIRST_TOKEN_SECONDS + output_tokens / BEDROCK_TOKENS_PER_SECOND
}

/// `Ingest Hashing Continued` events: slices of the MD5 past the first.
pub fn hashing_slices(size_bytes: u64) -> u32 {
    let per_slice = S3_READ_BYTES_PER_SECOND * HASHING_SLICE_SECONDS;
    ((size_bytes as f64 / per_slice).ceil() as u32).saturating_sub(1)
}

/// Seconds the `service` function runs for one asset in all, over its `invocations`.
///
/// | service | per invocation | and |
/// |---|---|---|
/// | ingest | 1 s | the MD5 at 100 MB/s; image proxies 1 s; a document's page previews 0.2 s/page; the job's completion 0.02 s per capture (manifest, thumbnails) |
/// | video | 2 s | shots on the proxy at 20× real time; 0.02 s per capture; Rekognition 0.3 s per call, 5 at once |
/// | audio | 1 s | loudness at 100× real time; Comprehend 0.3 s per call, 3 at once; chapters by Bedrock |
/// | image | 2 s | Rekognition 0.3 s per call; the description by Bedrock |
/// | document | 1 s | 0.05 s per page; Textract 1.5 s per page, 5 at once; Comprehend as audio |
/// | scene | 0.5 s | 0.3 s per scene (zero-shot IAB); descriptions by Bedrock, one after another |
/// | adbreak | 0.5 s | |
/// | graph | 0.3 s | |
///
/// Bedrock: 1 s to the first token, then 100 output tokens per second. A Lambda waiting on
/// an API is billed while it waits.
pub fn lambda_seconds(service: &str, m: &Measured, work: &WorkSummary, invocations: u32) -> f64 {
    let n = f64::from(invocations);
    let duration = m.duration_seconds;
    let captures = m.video.as_ref().map_or(0.0, |v| f64::from(v.captures));
    match service {
        "ingest" => {
            let mut seconds = n * 1.0 + m.size_bytes as f64 / S3_READ_BYTES_PER_SECOND;
            match m.kind {
                MediaKind::Image => seconds += 1.0,
                MediaKind::Document => {
                    seconds += 0.2 * m.document.as_ref().map_or(0.0, |d| f64::from(d.pages))
                }
                _ => seconds += CAPTURE_SECONDS * captures,
            }
            seconds
        }
        "video" => {
            n * 2.0
                + duration / SHOTS_TIMES_REAL_TIME
                + CAPTURE_SECONDS * captures
                + work.vision_calls * CALL_SECONDS / REKOGNITION_CONCURRENCY
        }
        "audio" => {
            n * 1.0
                + duration / LOUDNESS_TIMES_REAL_TIME
                + work.comprehend_calls * CALL_SECONDS / COMPREHEND_CONCURRENCY
                + if work.chapters_output_tokens > 0.0 {
                    bedrock_seconds(1.0, work.chapters_output_tokens)
                } else {
                    0.0
                }
        }
        "image" => {
            n * 2.0
                + work.vision_calls * CALL_SECONDS
                + if work.image_description_output_tokens > 0.0 {
                    bedrock_seconds(1.0, work.image_description_output_tokens)
                } else {
                    0.0
                }
        }
        "document" => {
            n * 1.0
                + 0.05 * m.document.as_ref().map_or(0.0, |d| f64::from(d.pages))
                + (work.textract_pages / TEXTRACT_CONCURRENCY).ceil() * TEXTRACT_SECONDS
                + work.comprehend_calls * CALL_SECONDS / COMPREHEND_CONCURRENCY
        }
        "scene" => {
            let scenes = m
                .video
                .as_ref()
                .map_or(0.0, |v| f64::from(v.scenes_at_most));
            n * 0.5
                + 0.3 * scenes
                + bedrock_seconds(work.scene_descriptions, work.scene_output_tokens)
        }
        "adbreak" => n * 0.5,
        _ => n * 0.3,
    }
}

/// Result objects the services write besides the media (JSON, VTT, SRT, EDL, VMAP, …).
pub fn results_written(m: &Measured, work: &WorkSummary) -> f64 {
    let plan = &m.plan;
    let features = {
        let v = &plan.options.vision;
        [
            v.labels,
            v.faces,
            v.celebrities,
            v.face_match,
            v.text,
            v.moderation,
        ]
        .iter()
        .filter(|on| **on)
        .count() as f64
    };
    use mediasift_schemas::AnalysisKind as K;
    let mut results = 1.0; // ingest's technical metadata
    if plan.includes(K::Video) {
        results += 3.0 + 2.0 * features; // shots, frames, timelines; per feature JSON + VTT
    }
    if plan.includes(K::Audio) {
        results += 2.0; // loudness, silences
        if work.transcribed {
            results += 4.0 + 3.0 + 3.0 + 1.0; // transcript JSON/text, captions; Transcribe's 3; language 3; chapters
        }
    }
    if plan.includes(K::Scenes) {
        results += 2.0;
    }
    if plan.includes(K::AdBreaks) {
        results += 3.0;
    }
    if plan.includes(K::Image) {
        results += 2.0 + features + 1.0; // proxy, results, description
    }
    if plan.includes(K::Document) {
        results += 4.0 + m.document.as_ref().map_or(0.0, |d| f64::from(d.pages)); // pages, text, language 2; a preview per page
    }
    results
}

/// S3 requests and storage of one asset's derived outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct S3Estimate {
    pub puts: f64,
    pub gets: f64,
    pub gigabytes: f64,
}

/// PUTs: every derived object (proxies, renditions, captures, thumbnails, results). GETs: each
/// service reading what it needs (the video service every capture, the scene service every
/// capture for its histograms and the grid's, the graph every result). Storage: the media at
/// their bit rates, captures at 1 bit per pixel, results at 2 KB each plus 2 KB per capture.
pub fn s3(m: &Measured, work: &WorkSummary, results: f64) -> S3Estimate {
    let duration = m.duration_seconds;
    let mut puts = results;
    let mut gets = 2.0 + results; // ingest's reads of the upload; the graph reads every result
    let mut bytes = results * 2_000.0;
    if let Some(spec) = &m.proxy {
        if let Some(video) = &spec.video {
            let captures = m.video.as_ref().map_or(0.0, |v| f64::from(v.captures));
            let pixels = |w: u32, h: u32| f64::from(w) * f64::from(h);
            let proxy = pixels(video.proxy.width, video.proxy.height);
            let jpeg = pixels(video.frames.width, video.frames.height) * JPEG_BITS_PER_PIXEL / 8.0;
            let thumbnails = captures.min(10.0);
            puts += 2.0 + spec.renditions.len() as f64 + captures + thumbnails;
            gets += 2.0 + 2.0 * captures + 4.0 * work.scene_descriptions;
            let video_bps = |p: f64| (p * VIDEO_BITS_PER_PIXEL_SECOND).clamp(500_000.0, 10e6);
            bytes += (video_bps(proxy) + AAC_BITS_PER_SECOND) / 8.0 * duration;
            for r in &spec.renditions {
                bytes += (video_bps(pixels(r.size.width, r.size.height)) + AAC_BITS_PER_SECOND)
                    / 8.0
                    * duration;
            }
            bytes += (captures + thumbnails) * jpeg + captures * 2_000.0;
        }
        if spec.audio.is_some() {
            puts += 2.0;
            gets += 2.0;
            bytes += (AAC_BITS_PER_SECOND / 8.0 + WAV_BYTES_PER_SECOND) * duration;
        }
    }
    if let Some(image) = &m.image {
        puts += 2.0;
        gets += 3.0;
        let long = f64::from(image.width.max(image.height)).max(1.0);
        let scale = (1920.0 / long).min(1.0);
        bytes += f64::from(image.width) * f64::from(image.height) * scale * scale * 2.0 / 8.0;
    }
    if let Some(doc) = &m.document {
        gets += 2.0;
        bytes += f64::from(doc.pages) * 100_000.0;
    }
    S3Estimate {
        puts: puts.round(),
        gets: gets.round(),
        gigabytes: bytes / 1_073_741_824.0,
    }
}
