//! The line items: what mediasift would call on AWS for one measured file with its plan, and
//! what Media2Cloud V4 would with its default options; then mediasift's own infrastructure
//! (Lambda, EventBridge, S3).

use mediasift_ingest::proxy::VideoSize;
use mediasift_media::kind::MediaKind;
use mediasift_schemas::AnalysisKind;
use serde::Serialize;

use super::assumptions as a;
use super::flow::{self, Flow, FlowInput};
use super::measure::Measured;
use super::pricing::{PriceTable, id};

/// What a line item is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Category {
    Vision,
    Video,
    Speech,
    Language,
    Documents,
    Generative,
    Transcoding,
    Compute,
    Events,
    Storage,
}

impl Category {
    /// Analysis and transcoding, which both systems pay for and the comparison compares;
    /// the rest is mediasift's own serverless plumbing.
    pub fn comparable(self) -> bool {
        !matches!(self, Self::Compute | Self::Events | Self::Storage)
    }
}

/// One priced line: `usd = quantity × unitPriceUsd / per`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    /// Stable, for scripts: `rekognition.detectLabels`, `transcribe.minutes`, …
    pub key: String,
    /// For people: `Rekognition DetectLabels (labels)`.
    pub item: String,
    pub category: Category,
    pub quantity: f64,
    pub unit: String,
    /// The price's id in the table.
    pub price: String,
    pub unit_price_usd: f64,
    pub per: f64,
    pub usd: f64,
    /// The quantity is an estimate, not a count (what it rests on is in `note`).
    pub estimated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A list of line items and their sums.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub items: Vec<LineItem>,
    /// Analysis and transcoding.
    pub comparable_usd: f64,
    /// Lambda, EventBridge, S3.
    pub infrastructure_usd: f64,
    pub usd: f64,
}

impl Estimate {
    fn finish(mut self) -> Self {
        self.comparable_usd = self
            .items
            .iter()
            .filter(|i| i.category.comparable())
            .map(|i| i.usd)
            .sum();
        self.infrastructure_usd = self
            .items
            .iter()
            .filter(|i| !i.category.comparable())
            .map(|i| i.usd)
            .sum();
        self.usd = self.comparable_usd + self.infrastructure_usd;
        self
    }
}

/// Builds line items against one price table.
struct Lines<'a> {
    table: &'a PriceTable,
    items: Vec<LineItem>,
}

impl<'a> Lines<'a> {
    fn new(table: &'a PriceTable) -> Self {
        Self {
            table,
            items: Vec::new(),
        }
    }

    /// Adds a line unless its quantity is zero.
    fn add(
        &mut self,
        key: &str,
        item: impl Into<String>,
        category: Category,
        quantity: f64,
        price_id: &str,
        note: Option<String>,
    ) {
        if quantity <= 0.0 {
            return;
        }
        let price = self.table.price(price_id);
        self.items.push(LineItem {
            key: key.to_owned(),
            item: item.into(),
            category,
            quantity,
            unit: price.unit.clone(),
            price: price_id.to_owned(),
            unit_price_usd: price.usd,
            per: price.per,
            usd: price.cost(quantity),
            estimated: note.is_some(),
            note,
        });
    }

    fn finish(self) -> Estimate {
        Estimate {
            items: self.items,
            ..Estimate::default()
        }
        .finish()
    }
}

/// The Rekognition image APIs a vision feature calls per image, and their price group.
fn vision_calls(feature: &str) -> &'static [(&'static str, &'static str, &'static str)] {
    match feature {
        "labels" => &[("detectLabels", "DetectLabels", id::REKOGNITION_GROUP2)],
        "faces" => &[("detectFaces", "DetectFaces", id::REKOGNITION_GROUP2)],
        "celebrities" => &[(
            "recognizeCelebrities",
            "RecognizeCelebrities",
            id::REKOGNITION_GROUP2,
        )],
        "faceMatch" => &[
            ("detectFaces", "DetectFaces", id::REKOGNITION_GROUP2),
            (
                "searchFacesByImage",
                "SearchFacesByImage",
                id::REKOGNITION_GROUP1,
            ),
        ],
        "text" => &[("detectText", "DetectText", id::REKOGNITION_GROUP2)],
        "moderation" => &[(
            "detectModerationLabels",
            "DetectModerationLabels",
            id::REKOGNITION_GROUP2,
        )],
        _ => &[],
    }
}

/// The enabled vision features, in mediasift's order.
fn enabled_features(m: &Measured) -> Vec<&'static str> {
    let v = &m.plan.options.vision;
    [
        ("labels", v.labels),
        ("faces", v.faces),
        ("celebrities", v.celebrities),
        ("faceMatch", v.face_match),
        ("text", v.text),
        ("moderation", v.moderation),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(f, _)| f)
    .collect()
}

/// Rekognition lines for `images` images per enabled feature.
fn vision(lines: &mut Lines<'_>, features: &[&str], images: f64, what: &str) {
    for feature in features {
        for (key, api, price) in vision_calls(feature) {
            let (quantity, note) = if *key == "searchFacesByImage" {
                (
                    images * a::FACES_PER_IMAGE,
                    Some(format!(
                        "{} face(s) per {what} assumed, one search each; IndexFaces of new faces \
                         not counted",
                        a::FACES_PER_IMAGE
                    )),
                )
            } else {
                (images, None)
            };
            lines.add(
                &format!("rekognition.{key}.{feature}"),
                format!("Rekognition {api} ({feature})"),
                Category::Vision,
                quantity,
                price,
                note,
            );
        }
    }
}

/// Comprehend units of one document of `chars` characters for one API: 100-character units,
/// at least the price's minimum (3), the document cut at `max_chars` as mediasift cuts it.
fn comprehend_units(table: &PriceTable, chars: f64, max_chars: f64) -> f64 {
    if chars <= 0.0 {
        return 0.0;
    }
    table
        .price(id::COMPREHEND)
        .billed((chars.min(max_chars) / 100.0).ceil())
}

/// Image tokens Claude counts for a picture of `w`×`h` pixels (width × height / 750, at most
/// the model's cap).
pub fn image_tokens(w: f64, h: f64) -> f64 {
    (w * h / 750.0).round().min(a::MAX_IMAGE_TOKENS)
}

/// `w`×`h` scaled down (never up) so that its long side is at most `max_side`.
fn fit(w: f64, h: f64, max_side: f64) -> (f64, f64) {
    let long = w.max(h);
    if long <= max_side || long <= 0.0 {
        (w, h)
    } else {
        (w * max_side / long, h * max_side / long)
    }
}

/// Output duration billed for one MediaConvert output (minutes, the 10-second minimum applied).
fn mediaconvert_minutes(table: &PriceTable, price: &str, seconds: f64) -> f64 {
    table.price(price).billed(seconds / 60.0)
}

fn resolution_price(size: VideoSize) -> (&'static str, &'static str) {
    if size.height.min(size.width) >= 720 {
        ("HD", id::MEDIACONVERT_HD)
    } else {
        ("SD", id::MEDIACONVERT_SD)
    }
}

/// What mediasift's run would count, beyond the line items: for the infrastructure.
#[derive(Debug, Clone, Default)]
struct Work {
    vision_calls: f64,
    comprehend_calls: f64,
    textract_pages: f64,
    transcribed: bool,
    chapters_output_tokens: f64,
    scene_descriptions: f64,
    scene_output_tokens: f64,
    image_description_output_tokens: f64,
    results: f64,
}

/// mediasift's estimate for one measured file: the analysis and transcoding items, then the
/// infrastructure's; and the run's flow on the bus.
pub fn mediasift(m: &Measured, table: &PriceTable) -> (Estimate, Flow) {
    let mut lines = Lines::new(table);
    let mut work = Work::default();
    let plan = &m.plan;
    let options = &plan.options;
    let features = enabled_features(m);
    let duration = m.duration_seconds;

    // Vision.
    match m.kind {
        MediaKind::Video if plan.includes(AnalysisKind::Video) => {
            if let Some(v) = &m.video {
                let images = f64::from(v.selected_for_vision);
                vision(&mut lines, &features, images, "selected frame");
                work.vision_calls = lines
                    .items
                    .iter()
                    .filter(|i| i.category == Category::Vision)
                    .map(|i| i.quantity)
                    .sum();
            }
        }
        MediaKind::Image if plan.includes(AnalysisKind::Image) => {
            vision(&mut lines, &features, 1.0, "image");
            work.vision_calls = lines.items.iter().map(|i| i.quantity).sum();
        }
        _ => {}
    }

    // Transcoding: ingest's one MediaConvert job (video and audio), whatever the analyses.
    if let Some(spec) = &m.proxy {
        if let Some(video) = &spec.video {
            let (class, price) = resolution_price(video.proxy);
            lines.add(
                "mediaconvert.proxy",
                format!(
                    "MediaConvert proxy {}x{} ({class})",
                    video.proxy.width, video.proxy.height
                ),
                Category::Transcoding,
                mediaconvert_minutes(table, price, duration),
                price,
                None,
            );
            for rendition in &spec.renditions {
                let (class, price) = resolution_price(rendition.size);
                lines.add(
                    &format!("mediaconvert.rendition.{}", rendition.name),
                    format!(
                        "MediaConvert rendition {} {}x{} ({class})",
                        rendition.name, rendition.size.width, rendition.size.height
                    ),
                    Category::Transcoding,
                    mediaconvert_minutes(table, price, duration),
                    price,
                    None,
                );
            }
            lines.add(
                "mediaconvert.frames",
                format!(
                    "MediaConvert frame captures at {} fps (SD)",
                    spec.frame_capture_rate
                ),
                Category::Transcoding,
                mediaconvert_minutes(table, id::MEDIACONVERT_SD, duration),
                id::MEDIACONVERT_SD,
                Some("frame-capture outputs billed as SD (assumed)".to_owned()),
            );
        }
        if spec.audio.is_some() {
            lines.add(
                "mediaconvert.audio",
                "MediaConvert audio proxy (AAC)",
                Category::Transcoding,
                mediaconvert_minutes(table, id::MEDIACONVERT_AUDIO, duration),
                id::MEDIACONVERT_AUDIO,
                None,
            );
            lines.add(
                "mediaconvert.speech",
                "MediaConvert speech WAV (16 kHz mono)",
                Category::Transcoding,
                mediaconvert_minutes(table, id::MEDIACONVERT_AUDIO, duration),
                id::MEDIACONVERT_AUDIO,
                None,
            );
        }
    }

    // Speech and its language: one Transcribe job on the speech WAV.
    let audio_planned = plan.includes(AnalysisKind::Audio);
    let speech = m.audio.as_ref().filter(|a| !a.all_silent);
    if audio_planned && options.transcribe && speech.is_some() {
        work.transcribed = true;
        let price = table.price(id::TRANSCRIBE);
        lines.add(
            "transcribe.minutes",
            "Transcribe (standard) of the speech WAV",
            Category::Speech,
            price.billed(duration / 60.0),
            id::TRANSCRIBE,
            None,
        );
    }
    if let (true, Some(audio)) = (work.transcribed, speech) {
        if options.language_analysis {
            // One document per 1-minute window with speech, each to three batch APIs.
            let units: f64 = audio
                .sounding_per_minute
                .iter()
                .map(|s| {
                    comprehend_units(
                        table,
                        s * a::SPEECH_CHARS_PER_SECOND,
                        a::COMPREHEND_MAX_CHARS,
                    )
                })
                .sum();
            let windows = audio
                .sounding_per_minute
                .iter()
                .filter(|s| **s > 0.0)
                .count() as f64;
            for (key, api) in [
                ("keyPhrases", "BatchDetectKeyPhrases"),
                ("entities", "BatchDetectEntities"),
                ("sentiment", "BatchDetectSentiment"),
            ] {
                lines.add(
                    &format!("comprehend.{key}"),
                    format!("Comprehend {api} (transcript per minute)"),
                    Category::Language,
                    units,
                    id::COMPREHEND,
                    Some(speech_note()),
                );
            }
            work.comprehend_calls = 3.0 * (windows / 25.0).ceil();
        }
        if options.generative {
            let chars = audio.sounding_seconds * a::SPEECH_CHARS_PER_SECOND;
            let input = (a::CHAPTERS_PROMPT_CHARS
                + chars.min(a::CHAPTERS_MAX_TRANSCRIPT_CHARS) * a::CHAPTERS_LINE_OVERHEAD)
                / a::CHARS_PER_TOKEN;
            let chapters = (duration / a::SECONDS_PER_CHAPTER).ceil().max(1.0);
            let output = a::ANSWER_BASE_TOKENS + a::TOKENS_PER_CHAPTER * chapters;
            work.chapters_output_tokens = output;
            bedrock(
                &mut lines,
                "chapters",
                "chapters",
                input.round(),
                output,
                speech_note(),
            );
        }
    }

    // Scenes: one description per scene (a grid of up to 4 captures and the dialogue).
    if let Some(v) = &m.video
        && plan.includes(AnalysisKind::Scenes)
        && options.generative
    {
        let (pw, ph) = m
            .proxy
            .as_ref()
            .and_then(|s| s.video.as_ref())
            .map_or((960.0, 540.0), |v| {
                (f64::from(v.proxy.width), f64::from(v.proxy.height))
            });
        let cell_h = (a::GRID_CELL_WIDTH * ph / pw.max(1.0)).max(1.0).floor();
        let mut input = 0.0;
        let mut described = 0.0;
        for (start, end, captures) in &v.scene_spans {
            if *captures == 0 {
                continue;
            }
            let pictures = f64::from((*captures).min(a::SCENE_GRID_PICTURES));
            let columns = pictures.min(3.0);
            let rows = (pictures / 3.0).ceil();
            let (gw, gh) = fit(
                columns * a::GRID_CELL_WIDTH,
                rows * cell_h,
                a::SCENE_MAX_SIDE,
            );
            let dialogue = if work.transcribed {
                m.audio.as_ref().map_or(0.0, |audio| {
                    (audio.sounding_between(*start, *end) * a::SPEECH_CHARS_PER_SECOND)
                        .min(a::SCENE_DIALOGUE_CHARS)
                })
            } else {
                0.0
            };
            input += image_tokens(gw, gh) + (a::SCENE_PROMPT_CHARS + dialogue) / a::CHARS_PER_TOKEN;
            described += 1.0;
        }
        work.scene_descriptions = described;
        work.scene_output_tokens = described * a::SCENE_OUTPUT_TOKENS;
        bedrock(
            &mut lines,
            "scenes",
            &format!("{described} scenes at most"),
            input.round(),
            work.scene_output_tokens,
            format!(
                "scenes at most {} (shots grouped without likeness or speech); a grid of up to {} \
                 captures each, w×h/750 tokens; dialogue at {} characters/s",
                v.scenes_at_most,
                a::SCENE_GRID_PICTURES,
                a::SPEECH_CHARS_PER_SECOND
            ),
        );
    }

    // Images: a description by Bedrock.
    if let Some(image) = &m.image
        && plan.includes(AnalysisKind::Image)
        && options.generative
    {
        let (w, h) = fit(
            f64::from(image.width),
            f64::from(image.height),
            a::IMAGE_MAX_SIDE,
        );
        let input = image_tokens(w, h) + a::IMAGE_PROMPT_CHARS / a::CHARS_PER_TOKEN;
        work.image_description_output_tokens = a::IMAGE_OUTPUT_TOKENS;
        bedrock(
            &mut lines,
            "image",
            "image description",
            input.round(),
            a::IMAGE_OUTPUT_TOKENS,
            format!(
                "the image at most {} px on its long side: {}x{} = {} tokens; prompt ~{} tokens",
                a::IMAGE_MAX_SIDE,
                w.round(),
                h.round(),
                image_tokens(w, h),
                (a::IMAGE_PROMPT_CHARS / a::CHARS_PER_TOKEN).round()
            ),
        );
    }

    // Documents: Textract for pages without a text layer; Comprehend on the text.
    if let Some(doc) = &m.document
        && plan.includes(AnalysisKind::Document)
        && !doc.locked
    {
        let without_text = f64::from(doc.pages - doc.pages_with_text).min(a::MAX_OCR_PAGES);
        if options.vision.text {
            work.textract_pages = without_text;
            lines.add(
                "textract.detectDocumentText",
                "Textract DetectDocumentText (pages without text layer)",
                Category::Documents,
                without_text,
                id::TEXTRACT,
                None,
            );
        }
        if options.language_analysis {
            // The pages' text: the text layer, or an assumed page of OCR text.
            let ocr = options.vision.text;
            let pages: Vec<f64> = doc
                .page_chars
                .iter()
                .map(|&c| match (c, ocr) {
                    (0, true) => a::OCR_PAGE_CHARS,
                    (c, _) => c as f64,
                })
                .collect();
            let total: f64 = pages.iter().sum::<f64>() + 2.0 * (pages.len().max(1) - 1) as f64;
            if total > 0.0 {
                let units: f64 = std::iter::once(total)
                    .chain(pages.iter().copied())
                    .map(|c| comprehend_units(table, c, a::COMPREHEND_MAX_CHARS))
                    .sum();
                let documents = 1 + pages.iter().filter(|c| **c > 0.0).count();
                work.comprehend_calls = 3.0 * (documents as f64 / 25.0).ceil();
                let guessed = pages.len() as u32 > doc.pages_with_text && ocr;
                for (key, api) in [
                    ("keyPhrases", "BatchDetectKeyPhrases"),
                    ("entities", "BatchDetectEntities"),
                    ("sentiment", "BatchDetectSentiment"),
                ] {
                    lines.add(
                        &format!("comprehend.{key}"),
                        format!("Comprehend {api} (document, each page)"),
                        Category::Language,
                        units,
                        id::COMPREHEND,
                        guessed.then(|| {
                            format!(
                                "text layer's real length; {} characters assumed per OCR page",
                                a::OCR_PAGE_CHARS
                            )
                        }),
                    );
                }
            }
        }
    }

    // The infrastructure.
    work.results = a::results_written(m, &work_summary(&work));
    let flow = flow::flow(&FlowInput {
        ingested: match m.kind {
            MediaKind::Video => "Video",
            MediaKind::Audio => "Audio",
            MediaKind::Image => "Image",
            MediaKind::Document => "Document",
        },
        analyses: plan.analyses.clone(),
        mediaconvert: m.proxy.is_some(),
        job_minutes: duration / 60.0,
        transcribe: work.transcribed,
        hashing_slices: a::hashing_slices(m.size_bytes),
    });
    infrastructure(&mut lines, m, &work, &flow);
    (lines.finish(), flow)
}

fn speech_note() -> String {
    format!(
        "estimate: {} characters per second of sound (no transcript yet)",
        a::SPEECH_CHARS_PER_SECOND
    )
}

fn bedrock(lines: &mut Lines<'_>, key: &str, what: &str, input: f64, output: f64, note: String) {
    lines.add(
        &format!("bedrock.{key}.input"),
        format!("Bedrock Haiku 4.5 input tokens ({what})"),
        Category::Generative,
        input,
        id::BEDROCK_INPUT,
        Some(note),
    );
    lines.add(
        &format!("bedrock.{key}.output"),
        format!("Bedrock Haiku 4.5 output tokens ({what})"),
        Category::Generative,
        output,
        id::BEDROCK_OUTPUT,
        Some("assumed answer length".to_owned()),
    );
}

fn work_summary(work: &Work) -> a::WorkSummary {
    a::WorkSummary {
        vision_calls: work.vision_calls,
        comprehend_calls: work.comprehend_calls,
        textract_pages: work.textract_pages,
        transcribed: work.transcribed,
        chapters_output_tokens: work.chapters_output_tokens,
        scene_descriptions: work.scene_descriptions,
        scene_output_tokens: work.scene_output_tokens,
        image_description_output_tokens: work.image_description_output_tokens,
    }
}

/// Lambda per service (memory from Terraform × assumed seconds), requests, EventBridge events,
/// S3 requests and storage.
fn infrastructure(lines: &mut Lines<'_>, m: &Measured, work: &Work, flow: &Flow) {
    let memory = flow::lambda_memory_mb();
    let summary = work_summary(work);
    for service in flow::SERVICES {
        let invocations = flow.invocations.get(service).copied().unwrap_or(0);
        if invocations == 0 {
            continue;
        }
        let seconds = a::lambda_seconds(service, m, &summary, invocations);
        let mb = memory.get(service).copied().unwrap_or(a::DEFAULT_MEMORY_MB);
        lines.add(
            &format!("lambda.{service}"),
            format!("Lambda {service} ({mb} MB, {invocations}×, ~{seconds:.1} s in all)"),
            Category::Compute,
            f64::from(mb) / 1024.0 * seconds,
            id::LAMBDA_GB_SECOND,
            Some("assumed durations (docs/cost.md)".to_owned()),
        );
    }
    lines.add(
        "lambda.requests",
        "Lambda requests (rule deliveries)",
        Category::Compute,
        f64::from(flow.invocation_count()),
        id::LAMBDA_REQUESTS,
        None,
    );
    lines.add(
        "eventbridge.events",
        "EventBridge events (published and forwarded)",
        Category::Events,
        f64::from(flow.event_count()),
        id::EVENTBRIDGE,
        None,
    );
    let s3 = a::s3(m, &summary, work.results);
    lines.add(
        "s3.put",
        "S3 PUT (derived outputs)",
        Category::Storage,
        s3.puts,
        id::S3_PUT,
        Some("estimated object count".to_owned()),
    );
    lines.add(
        "s3.get",
        "S3 GET (services reading)",
        Category::Storage,
        s3.gets,
        id::S3_GET,
        Some("estimated reads".to_owned()),
    );
    lines.add(
        "s3.storage",
        "S3 Standard, derived outputs for a month",
        Category::Storage,
        s3.gigabytes,
        id::S3_STORAGE,
        Some(format!(
            "~{:.1} MB estimated from sizes and bit rates",
            s3.gigabytes * 1024.0
        )),
    );
}

/// Media2Cloud V4 with its default options on the same file (analysis and transcoding only;
/// its Step Functions, Lambda, DynamoDB and S3 are not estimated).
pub fn media2cloud(m: &Measured, table: &PriceTable) -> Estimate {
    let mut lines = Lines::new(table);
    let duration = m.duration_seconds;
    let defaults = ["celebrities", "faceMatch-m2c", "labels"];
    let m2c_vision = |lines: &mut Lines<'_>, images: f64, what: &str| {
        for feature in defaults {
            let (key, api, price, quantity, note) = match feature {
                "celebrities" => (
                    "recognizeCelebrities.celebrities",
                    "RecognizeCelebrities",
                    id::REKOGNITION_GROUP2,
                    images,
                    None,
                ),
                "labels" => (
                    "detectLabels.labels",
                    "DetectLabels",
                    id::REKOGNITION_GROUP2,
                    images,
                    None,
                ),
                _ => (
                    "searchFacesByImage.faceMatch",
                    "SearchFacesByImage",
                    id::REKOGNITION_GROUP1,
                    images,
                    Some(format!("one search per {what} (the largest face)")),
                ),
            };
            let name = feature.trim_end_matches("-m2c");
            lines.add(
                &format!("rekognition.{key}"),
                format!("Rekognition {api} ({name})"),
                Category::Vision,
                quantity,
                price,
                note,
            );
        }
    };
    match m.kind {
        MediaKind::Video => {
            if let Some(v) = &m.video {
                m2c_vision(
                    &mut lines,
                    f64::from(v.media2cloud_selected),
                    "selected frame",
                );
            }
            lines.add(
                "rekognition.segmentDetection",
                "Rekognition Video segment detection (whole video)",
                Category::Video,
                duration / 60.0,
                id::REKOGNITION_SEGMENT,
                None,
            );
        }
        MediaKind::Image => m2c_vision(&mut lines, 1.0, "image"),
        _ => {}
    }
    if let Some(spec) = &m.proxy {
        if let Some(video) = &spec.video {
            let (class, price) = resolution_price(video.proxy);
            lines.add(
                "mediaconvert.proxy",
                format!(
                    "MediaConvert proxy {}x{} ({class})",
                    video.proxy.width, video.proxy.height
                ),
                Category::Transcoding,
                mediaconvert_minutes(table, price, duration),
                price,
                Some("one proxy rendition, as mediasift's (assumed)".to_owned()),
            );
            lines.add(
                "mediaconvert.frames",
                "MediaConvert frame captures at 1 fps (SD)",
                Category::Transcoding,
                mediaconvert_minutes(table, id::MEDIACONVERT_SD, duration),
                id::MEDIACONVERT_SD,
                Some("frame-capture outputs billed as SD (assumed)".to_owned()),
            );
        }
        if spec.audio.is_some() {
            lines.add(
                "mediaconvert.audio",
                "MediaConvert audio proxy (AAC)",
                Category::Transcoding,
                mediaconvert_minutes(table, id::MEDIACONVERT_AUDIO, duration),
                id::MEDIACONVERT_AUDIO,
                None,
            );
        }
    }
    if let Some(audio) = &m.audio {
        // Media2Cloud transcribes every asset with audio (it does not measure loudness).
        lines.add(
            "transcribe.minutes",
            "Transcribe (standard)",
            Category::Speech,
            table.price(id::TRANSCRIBE).billed(duration / 60.0),
            id::TRANSCRIBE,
            None,
        );
        // Keyphrases and entities of the whole transcript, in documents of at most 5,000 bytes.
        let chars = if audio.all_silent {
            0.0
        } else {
            audio.sounding_seconds * a::SPEECH_CHARS_PER_SECOND
        };
        let full = (chars / a::COMPREHEND_MAX_CHARS).floor();
        let rest = chars - full * a::COMPREHEND_MAX_CHARS;
        let units = full
            * comprehend_units(table, a::COMPREHEND_MAX_CHARS, a::COMPREHEND_MAX_CHARS)
            + comprehend_units(table, rest, a::COMPREHEND_MAX_CHARS);
        for (key, api) in [
            ("keyPhrases", "DetectKeyPhrases"),
            ("entities", "DetectEntities"),
        ] {
            lines.add(
                &format!("comprehend.{key}"),
                format!("Comprehend {api} (transcript)"),
                Category::Language,
                units,
                id::COMPREHEND,
                Some(speech_note()),
            );
        }
    }
    if let Some(doc) = &m.document {
        lines.add(
            "textract.detectDocumentText",
            "Textract DetectDocumentText (every page)",
            Category::Documents,
            f64::from(doc.pages),
            id::TEXTRACT,
            Some("every page analysed by Textract (assumed the text API)".to_owned()),
        );
    }
    lines.finish()
}
