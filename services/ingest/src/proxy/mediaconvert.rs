//! The AWS transcoder: a MediaConvert job from the proxy spec.
//!
//! [`MediaConvertTranscoder::start`] submits one job that writes the same keys as the local
//! ffmpeg transcoder ([`planned_outputs`]) and tags it with the asset id in its user metadata.
//! MediaConvert's `MediaConvert Job State Change` event for the job (ingest's
//! `mediaconvert-job-finished` rule matches on that user metadata) continues ingest, and
//! [`outputs_on_completion`] turns it into [`ProxyOutputs`]: it checks the outputs are there,
//! writes the frame manifest and copies the thumbnails out of the frame captures.
//!
//! # Output names
//!
//! MediaConvert names a file-group output `<destination><name modifier>.<extension>`, where the
//! destination's last path segment is the base name (a destination ending in `/` would take
//! the *source's* base name instead). So every output has its own `FILE_GROUP` whose
//! destination ends with the wanted base name, and no name modifier:
//!
//! | output | destination (under `s3://<derived>/<assetId>/`) | container, codec | key |
//! |---|---|---|---|
//! | proxy | `proxy/proxy` | MP4, H.264 QVBR + AAC stereo | `proxy/proxy.mp4` |
//! | renditions | `renditions/<name>` | MP4, H.264 QVBR + AAC stereo | `renditions/<name>.mp4` |
//! | frames | `frames/frame` | none (RAW), frame capture JPEG | `frames/frame.0000000.jpg`, … |
//! | audio | `proxy/audio` | MP4 audio only, extension `m4a`, AAC stereo | `proxy/audio.m4a` |
//! | speech | `proxy/speech` | none (RAW), WAV 16 kHz mono 16-bit | `proxy/speech.wav` |
//!
//! Frame captures carry MediaConvert's 7-digit counter; [`outputs_on_completion`] lists them,
//! writes `frames/manifest.json` and copies up to `spec.thumbnails` evenly spread captures to
//! `thumbnails/thumb-0.jpg`, `thumb-1.jpg`, … ([`thumbnail_key`]), as the ffmpeg transcoder
//! names them. (ffmpeg names its captures `frames/frame-NNNNN.jpg`; consumers read the capture
//! keys from the manifest, never by pattern.)

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_mediaconvert::Client;
use aws_sdk_mediaconvert::error::SdkError;
use aws_sdk_mediaconvert::operation::create_job::CreateJobError;
use aws_sdk_mediaconvert::types::{
    AacCodecProfile, AacCodingMode, AacRateControlMode, AacSettings, AudioCodec,
    AudioCodecSettings, AudioDefaultSelection, AudioDescription, AudioSelector, AudioSelectorType,
    ChannelMapping, ContainerSettings, ContainerType, FileGroupSettings, FrameCaptureSettings,
    H264CodecProfile, H264ParControl, H264QualityTuningLevel, H264QvbrSettings,
    H264RateControlMode, H264SceneChangeDetect, H264Settings, Input, InputRotate,
    InputTimecodeSource, JobSettings, Mp4MoovPlacement, Mp4Settings, Output, OutputChannelMapping,
    OutputGroup, OutputGroupSettings, OutputGroupType, RemixSettings, ScalingBehavior, VideoCodec,
    VideoCodecSettings, VideoDescription, VideoSelector, WavFormat, WavSettings,
};
use bytes::Bytes;
use mediasift_kit::Ports;
use mediasift_kit::aws::Fault;
use mediasift_kit::ports::{Body, PutOptions, Retryable, StoreError};
use mediasift_schemas::MediaConvertJobStateChange;

use super::spec::VideoSpec;
use super::{
    AudioChoice, FrameCapture, FrameManifest, ProxyOutputs, ProxySpec, SourceMedia, Started,
    TranscodeError, Transcoder, VideoSize,
};

/// User metadata key carrying the asset id; ingest's rule for the job's events matches on it.
pub const ASSET_ID_METADATA: &str = "mediasiftAssetId";
/// User metadata key carrying `spec.output_prefix`, for people reading the job.
pub const OUTPUT_PREFIX_METADATA: &str = "mediasiftOutputPrefix";
/// Sample rate of the speech WAV (what speech recognition wants).
pub const SPEECH_SAMPLE_RATE: i32 = 16_000;
/// JPEG quality of the frame captures.
pub const FRAME_CAPTURE_QUALITY: i32 = 80;

const AUDIO_SELECTOR: &str = "Audio Selector 1";
/// Base name of the frame captures: `frames/frame.0000000.jpg`.
const FRAME_BASE: &str = "frame";
/// QVBR quality level of the proxy and renditions (1-10; 7 is MediaConvert's advice for
/// 720p-1080p at good quality).
const QVBR_QUALITY: i32 = 7;
/// The QVBR cap, in bits per pixel per frame at ~30 fps, and its bounds.
const MAX_BITS_PER_PIXEL: u64 = 5;
const MIN_MAX_BITRATE: u64 = 1_000_000;
const MAX_MAX_BITRATE: u64 = 20_000_000;
const AAC_BITRATE: i32 = 128_000;
const AAC_SAMPLE_RATE: i32 = 48_000;
/// MediaConvert's smallest output width and height.
const MIN_DIMENSION: u32 = 32;
/// MediaConvert's `MaxCaptures` bound.
const MAX_CAPTURES: f64 = 10_000_000.0;
/// Remix gains are -60 dB (mute) to +6 dB.
const MUTE_DB: i32 = -60;
const ERROR_CODES_DOC: &str =
    "https://docs.aws.amazon.com/mediaconvert/latest/ug/mediaconvert_error_codes.html";

/// Makes the proxies with AWS Elemental MediaConvert: [`Transcoder::start`] submits a job and
/// returns [`Started::Submitted`]; [`outputs_on_completion`] finishes when its event arrives.
#[derive(Debug, Clone)]
pub struct MediaConvertTranscoder {
    client: Client,
    /// The IAM role MediaConvert assumes to read the source and write the derived bucket.
    role_arn: String,
    /// Queue name or ARN; `None` for the account's `Default` queue.
    queue: Option<String>,
}

impl MediaConvertTranscoder {
    /// A transcoder on a client built from `config` (region and credentials as loaded once per
    /// process). MediaConvert's regional endpoint needs no `DescribeEndpoints` lookup.
    pub fn new(
        config: &aws_config::SdkConfig,
        role_arn: impl Into<String>,
        queue: Option<String>,
    ) -> Self {
        Self::from_client(Client::new(config), role_arn, queue)
    }

    /// A transcoder on a client built elsewhere (tests, a custom endpoint).
    pub fn from_client(client: Client, role_arn: impl Into<String>, queue: Option<String>) -> Self {
        Self {
            client,
            role_arn: role_arn.into(),
            queue,
        }
    }

    pub fn role_arn(&self) -> &str {
        &self.role_arn
    }

    pub fn queue(&self) -> Option<&str> {
        self.queue.as_deref()
    }

    /// "role …, queue …", for messages a person acts on.
    fn target(&self) -> String {
        format!(
            "role {}, queue {}",
            self.role_arn,
            self.queue.as_deref().unwrap_or("Default")
        )
    }

    fn create_job_error(&self, err: &SdkError<CreateJobError>) -> TranscodeError {
        // The kit's classifier: the same notion of transient as every AWS adapter, and a
        // message with the service's code, the HTTP status and the error's sources.
        let fault = Fault::of("CreateJob", err);
        let detail = &fault.message;
        let target = self.target();
        let unavailable = || {
            TranscodeError::Unavailable(format!(
                "MediaConvert CreateJob is throttled or unavailable ({target}): {detail}"
            ))
        };
        match err.as_service_error() {
            Some(
                CreateJobError::TooManyRequestsException(_)
                | CreateJobError::InternalServerErrorException(_)
                | CreateJobError::ConflictException(_)
                | CreateJobError::ServiceQuotaExceededException(_),
            ) => unavailable(),
            Some(CreateJobError::ForbiddenException(_)) => TranscodeError::Setup(format!(
                "MediaConvert refused CreateJob ({target}): {detail}. Allow the ingest function \
                 mediaconvert:CreateJob and iam:PassRole on {}, and let \
                 mediaconvert.amazonaws.com assume that role.",
                self.role_arn
            )),
            Some(CreateJobError::NotFoundException(_)) => TranscodeError::Setup(format!(
                "MediaConvert found no such resource for CreateJob ({target}): {detail}. Check \
                 the queue exists in this account and region."
            )),
            Some(CreateJobError::BadRequestException(_)) => TranscodeError::Setup(format!(
                "MediaConvert rejected the proxy job ({target}): {detail}. Check the role ARN \
                 and the queue exist in this account and region; if they do, the job settings \
                 are invalid (a mediasift bug: report it with this message)."
            )),
            // Throttling and 5xx under other codes, no connection, a dropped one, no answer in
            // time, or an answer the SDK could not read (a proxy's error page).
            _ if fault.transient => unavailable(),
            Some(_) => TranscodeError::Setup(format!(
                "MediaConvert CreateJob failed ({target}): {detail}"
            )),
            // The request could not be built: no region, no credentials, a bad parameter.
            None => TranscodeError::Setup(format!(
                "could not make the MediaConvert CreateJob request ({target}): {detail}. Check \
                 the function's AWS region and credentials."
            )),
        }
    }
}

#[async_trait]
impl Transcoder for MediaConvertTranscoder {
    fn name(&self) -> String {
        "aws-mediaconvert".into()
    }

    fn needs_local_source(&self) -> bool {
        false
    }

    async fn start(
        &self,
        spec: &ProxySpec,
        source: &SourceMedia,
        _ports: &Ports,
    ) -> Result<Started, TranscodeError> {
        if spec.video.is_none() && spec.audio.is_none() {
            return Ok(Started::Done(ProxyOutputs::default()));
        }
        let settings = job_settings(spec, &source.uri)?;
        let output = self
            .client
            .create_job()
            .role(&self.role_arn)
            .set_queue(self.queue.clone())
            .settings(settings)
            .user_metadata(ASSET_ID_METADATA, spec.asset_id.to_string())
            .user_metadata(OUTPUT_PREFIX_METADATA, &spec.output_prefix)
            .client_request_token(client_request_token(spec, &source.uri))
            .send()
            .await
            .map_err(|err| self.create_job_error(&err))?;
        let job_id = output.job().and_then(|job| job.id()).ok_or_else(|| {
            TranscodeError::Unavailable(format!(
                "MediaConvert accepted the proxy job of asset {} but returned no job id",
                spec.asset_id
            ))
        })?;
        tracing::info!(asset_id = %spec.asset_id, job_id, "submitted the MediaConvert proxy job");
        Ok(Started::Submitted {
            job_id: job_id.to_owned(),
        })
    }
}

/// The keys a transcode of `spec` writes, except the thumbnails (chosen from the frame
/// captures once they exist): the same for ffmpeg and MediaConvert.
pub fn planned_outputs(spec: &ProxySpec) -> ProxyOutputs {
    let prefix = &spec.output_prefix;
    let video = spec.video.is_some();
    let audio = spec.audio.is_some();
    ProxyOutputs {
        proxy: video.then(|| format!("{prefix}proxy/proxy.mp4")),
        source_as_proxy: false,
        audio_proxy: audio.then(|| format!("{prefix}proxy/audio.m4a")),
        speech_audio: audio.then(|| format!("{prefix}proxy/speech.wav")),
        frame_manifest: video.then(|| format!("{prefix}frames/manifest.json")),
        thumbnails: Vec::new(),
        renditions: if video {
            spec.renditions
                .iter()
                .map(|r| (r.name.clone(), format!("{prefix}renditions/{}.mp4", r.name)))
                .collect()
        } else {
            Vec::new()
        },
    }
}

/// The key of thumbnail `i` (0-based): `<prefix>thumbnails/thumb-0.jpg`, as ffmpeg's.
pub fn thumbnail_key(output_prefix: &str, i: usize) -> String {
    format!("{output_prefix}thumbnails/thumb-{i}.jpg")
}

/// MediaConvert's 1-based audio track number (selector type `TRACK`, which counts audio
/// tracks only) of the audio stream with ffprobe index `stream_index`.
///
/// The spec names streams by ffprobe index, which counts every stream. This assumes the only
/// non-audio stream before the audio is the video stream the spec names, which holds for the
/// usual layouts (video, then audio, then data, subtitles or cover art); a file with, say, a
/// timecode track before its audio would be off by one.
pub fn audio_track_number(spec: &ProxySpec, stream_index: u32) -> i32 {
    let video_before = spec
        .video
        .as_ref()
        .is_some_and(|video| video.stream_index < stream_index);
    let track = stream_index + 1 - u32::from(video_before);
    i32::try_from(track).unwrap_or(i32::MAX)
}

/// The `CreateJob` settings for `spec`, reading `source_uri` (`s3://bucket/key`).
pub fn job_settings(spec: &ProxySpec, source_uri: &str) -> Result<JobSettings, TranscodeError> {
    check_spec(spec, source_uri)?;
    let mut input = Input::builder()
        .file_input(source_uri)
        // Output timelines start at zero, as the frame manifest's timestamps do.
        .timecode_source(InputTimecodeSource::Zerobased);
    if spec.video.is_some() {
        // Phone videos carry a display matrix: turn the picture as players do (as ffmpeg's
        // autorotation does), so sizes match the spec's display sizes.
        input = input.video_selector(VideoSelector::builder().rotate(InputRotate::Auto).build());
    }
    if let Some(choice) = &spec.audio {
        input = input.audio_selectors(AUDIO_SELECTOR, audio_selector(spec, choice));
    }

    let destination =
        |base: &str| format!("s3://{}/{}{base}", spec.derived_bucket, spec.output_prefix);
    let mut groups = Vec::new();
    if let Some(video) = &spec.video {
        groups.push(file_group(
            "proxy",
            destination("proxy/proxy"),
            mp4_output(video.proxy, spec.audio.as_ref()),
        ));
        for rendition in &spec.renditions {
            groups.push(file_group(
                &format!("rendition {}", rendition.name),
                destination(&format!("renditions/{}", rendition.name)),
                mp4_output(rendition.size, spec.audio.as_ref()),
            ));
        }
        groups.push(file_group(
            "frames",
            destination(&format!("frames/{FRAME_BASE}")),
            frame_capture_output(spec, video),
        ));
    }
    if let Some(choice) = &spec.audio {
        groups.push(file_group(
            "audio",
            destination("proxy/audio"),
            audio_output(choice),
        ));
        groups.push(file_group(
            "speech",
            destination("proxy/speech"),
            speech_output(choice),
        ));
    }
    Ok(JobSettings::builder()
        .inputs(input.build())
        .set_output_groups(Some(groups))
        .build())
}

/// Rejects what MediaConvert would reject, or would name differently than planned.
fn check_spec(spec: &ProxySpec, source_uri: &str) -> Result<(), TranscodeError> {
    if mediasift_kit::ports::split_s3_uri(source_uri).is_none() {
        return Err(TranscodeError::Setup(format!(
            "MediaConvert reads sources from S3, but the source is {source_uri:?}, not \
             s3://bucket/key"
        )));
    }
    if !spec.output_prefix.ends_with('/') || spec.output_prefix.contains('$') {
        return Err(TranscodeError::Setup(format!(
            "the output prefix {:?} must end with '/' and contain no '$'",
            spec.output_prefix
        )));
    }
    if spec.derived_bucket.is_empty() {
        return Err(TranscodeError::Setup(
            "no derived bucket is configured".into(),
        ));
    }
    if let Some(AudioChoice::MixMono { indexes }) = &spec.audio
        && indexes.is_empty()
    {
        return Err(TranscodeError::Setup(
            "the audio choice mixes no tracks (MixMono without indexes)".into(),
        ));
    }
    let Some(video) = &spec.video else {
        return Ok(());
    };
    if !(spec.frame_capture_rate.is_finite() && spec.frame_capture_rate > 0.0) {
        return Err(TranscodeError::Setup(format!(
            "the frame capture rate must be positive, not {}",
            spec.frame_capture_rate
        )));
    }
    for rendition in &spec.renditions {
        let name_ok = !rendition.name.is_empty()
            && rendition
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(TranscodeError::Setup(format!(
                "the rendition name {:?} may only hold letters, digits, '-' and '_'",
                rendition.name
            )));
        }
    }
    let sizes = [("proxy", video.proxy), ("frame captures", video.frames)]
        .into_iter()
        .chain(spec.renditions.iter().map(|r| (r.name.as_str(), r.size)));
    for (what, size) in sizes {
        if size.width < MIN_DIMENSION || size.height < MIN_DIMENSION {
            return Err(TranscodeError::Media(format!(
                "the video of asset {} is too small for MediaConvert: its {what} would be \
                 {}x{}, and MediaConvert makes nothing under {MIN_DIMENSION}x{MIN_DIMENSION}",
                spec.asset_id, size.width, size.height
            )));
        }
    }
    Ok(())
}

fn audio_selector(spec: &ProxySpec, choice: &AudioChoice) -> AudioSelector {
    let tracks = match choice {
        AudioChoice::Track { index, .. } => vec![audio_track_number(spec, *index)],
        AudioChoice::MixMono { indexes } => indexes
            .iter()
            .map(|index| audio_track_number(spec, *index))
            .collect(),
    };
    AudioSelector::builder()
        .selector_type(AudioSelectorType::Track)
        .set_tracks(Some(tracks))
        .default_selection(AudioDefaultSelection::Default)
        .build()
}

fn file_group(name: &str, destination: String, output: Output) -> OutputGroup {
    OutputGroup::builder()
        .name(name)
        .output_group_settings(
            OutputGroupSettings::builder()
                .r#type(OutputGroupType::FileGroupSettings)
                .file_group_settings(
                    FileGroupSettings::builder()
                        .destination(destination)
                        .build(),
                )
                .build(),
        )
        .outputs(output)
        .build()
}

/// An H.264 MP4 of `size`, with the chosen audio as AAC stereo.
fn mp4_output(size: VideoSize, audio: Option<&AudioChoice>) -> Output {
    Output::builder()
        .container_settings(mp4_container())
        .video_description(h264(size))
        .set_audio_descriptions(audio.map(|choice| vec![aac_stereo(choice)]))
        .build()
}

fn mp4_container() -> ContainerSettings {
    ContainerSettings::builder()
        .container(ContainerType::Mp4)
        .mp4_settings(
            Mp4Settings::builder()
                // moov first: the proxy plays while it downloads.
                .moov_placement(Mp4MoovPlacement::ProgressiveDownload)
                .build(),
        )
        .build()
}

fn h264(size: VideoSize) -> VideoDescription {
    let pixels = u64::from(size.width) * u64::from(size.height);
    let max_bitrate = (pixels * MAX_BITS_PER_PIXEL).clamp(MIN_MAX_BITRATE, MAX_MAX_BITRATE);
    let settings = H264Settings::builder()
        .rate_control_mode(H264RateControlMode::Qvbr)
        .qvbr_settings(
            H264QvbrSettings::builder()
                .qvbr_quality_level(QVBR_QUALITY)
                .build(),
        )
        .max_bitrate(i32::try_from(max_bitrate).unwrap_or(i32::MAX))
        .codec_profile(H264CodecProfile::High)
        .quality_tuning_level(H264QualityTuningLevel::SinglePassHq)
        .scene_change_detect(H264SceneChangeDetect::TransitionDetection)
        // Square pixels: the spec's sizes are display sizes.
        .par_control(H264ParControl::Specified)
        .par_numerator(1)
        .par_denominator(1)
        .build();
    video_description(
        size,
        VideoCodecSettings::builder()
            .codec(VideoCodec::H264)
            .h264_settings(settings)
            .build(),
    )
}

/// `size` is already fitted to the source's display aspect, so stretching the (rotated,
/// sample-aspect corrected) picture onto it keeps the aspect and never letterboxes.
fn video_description(size: VideoSize, codec: VideoCodecSettings) -> VideoDescription {
    VideoDescription::builder()
        .width(dimension(size.width))
        .height(dimension(size.height))
        .scaling_behavior(ScalingBehavior::StretchToOutput)
        .codec_settings(codec)
        .build()
}

fn dimension(pixels: u32) -> i32 {
    i32::try_from(pixels).unwrap_or(i32::MAX)
}

/// JPEG frame captures at `spec.frame_capture_rate`, no larger than `video.frames`.
fn frame_capture_output(spec: &ProxySpec, video: &VideoSpec) -> Output {
    let (numerator, denominator) = capture_rate_fraction(spec.frame_capture_rate);
    let rate = f64::from(numerator) / f64::from(denominator);
    // One at 0 s, then one per interval: a cap, not a count, so without a known duration
    // (0) no cap but MediaConvert's own.
    let max_captures = if spec.duration_seconds > 0.0 {
        ((spec.duration_seconds * rate).ceil() + 1.0).min(MAX_CAPTURES)
    } else {
        MAX_CAPTURES
    };
    let settings = FrameCaptureSettings::builder()
        .framerate_numerator(numerator)
        .framerate_denominator(denominator)
        .max_captures(max_captures as i32)
        .quality(FRAME_CAPTURE_QUALITY)
        .build();
    Output::builder()
        .container_settings(
            ContainerSettings::builder()
                .container(ContainerType::Raw)
                .build(),
        )
        .video_description(video_description(
            video.frames,
            VideoCodecSettings::builder()
                .codec(VideoCodec::FrameCapture)
                .frame_capture_settings(settings)
                .build(),
        ))
        .build()
}

/// The capture rate as MediaConvert's framerate fraction: exact for rates such as 1, 2, 0.5
/// or 0.2, the nearest fraction with a denominator up to 1000 otherwise.
pub fn capture_rate_fraction(rate: f64) -> (i32, i32) {
    let mut best = (1, 1);
    let mut best_error = f64::INFINITY;
    for denominator in 1..=1000_i32 {
        let numerator = (rate * f64::from(denominator)).round().max(1.0);
        let error = (numerator / f64::from(denominator) - rate).abs();
        if error < best_error - 1e-12 {
            best = (numerator as i32, denominator);
            best_error = error;
        }
        if error < 1e-9 {
            break;
        }
    }
    best
}

/// The audio proxy: AAC stereo alone in an MP4 container, named `.m4a`.
fn audio_output(choice: &AudioChoice) -> Output {
    Output::builder()
        .container_settings(mp4_container())
        .extension("m4a")
        .audio_descriptions(aac_stereo(choice))
        .build()
}

/// The speech track: 16 kHz mono 16-bit PCM WAV.
fn speech_output(choice: &AudioChoice) -> Output {
    let codec = AudioCodecSettings::builder()
        .codec(AudioCodec::Wav)
        .wav_settings(
            WavSettings::builder()
                .sample_rate(SPEECH_SAMPLE_RATE)
                .channels(1)
                .bit_depth(16)
                .format(WavFormat::Riff)
                .build(),
        )
        .build();
    let description = AudioDescription::builder()
        .audio_source_name(AUDIO_SELECTOR)
        .codec_settings(codec)
        .set_remix_settings(mono_gains(choice).map(|row| remix(&[row])))
        .build();
    Output::builder()
        .container_settings(
            ContainerSettings::builder()
                .container(ContainerType::Raw)
                .build(),
        )
        .audio_descriptions(description)
        .build()
}

fn aac_stereo(choice: &AudioChoice) -> AudioDescription {
    let codec = AudioCodecSettings::builder()
        .codec(AudioCodec::Aac)
        .aac_settings(
            AacSettings::builder()
                .codec_profile(AacCodecProfile::Lc)
                .coding_mode(AacCodingMode::CodingMode20)
                .rate_control_mode(AacRateControlMode::Cbr)
                .sample_rate(AAC_SAMPLE_RATE)
                .bitrate(AAC_BITRATE)
                .build(),
        )
        .build();
    AudioDescription::builder()
        .audio_source_name(AUDIO_SELECTOR)
        .codec_settings(codec)
        .set_remix_settings(stereo_gains(choice).map(|rows| remix(&rows)))
        .build()
}

/// Linear gains `[output][input]` that make stereo of the chosen audio; `None` when its
/// channels go through as they are (a stereo track, or a count the probe did not give).
fn stereo_gains(choice: &AudioChoice) -> Option<Vec<Vec<f64>>> {
    match choice {
        AudioChoice::Track { channels, .. } => match *channels {
            0 | 2 => None,
            1 => Some(vec![vec![1.0], vec![1.0]]),
            n => Some(surround_downmix(n as usize)),
        },
        AudioChoice::MixMono { indexes } => Some(mono_tracks_to_stereo(indexes.len())),
    }
}

/// As [`AudioChoice::MixMono`] says (and ffmpeg's `pan` does): the 1st, 3rd, 5th… track left,
/// the 2nd, 4th… right, the last of an odd count to both; each side scaled so it cannot clip.
fn mono_tracks_to_stereo(n: usize) -> Vec<Vec<f64>> {
    let n = n.max(1);
    let mut left = vec![0.0; n];
    let mut right = vec![0.0; n];
    for track in 0..n {
        if track % 2 == 0 {
            left[track] = 1.0;
        } else {
            right[track] = 1.0;
        }
    }
    if n % 2 == 1 {
        right[n - 1] = 1.0;
    }
    for side in [&mut left, &mut right] {
        let sum: f64 = side.iter().sum();
        for gain in side.iter_mut() {
            *gain /= sum;
        }
    }
    vec![left, right]
}

/// Linear gains `[input]` that make mono of the chosen audio (the average of the stereo
/// sides); `None` for a mono track.
fn mono_gains(choice: &AudioChoice) -> Option<Vec<f64>> {
    match choice {
        AudioChoice::Track {
            channels: 0 | 1, ..
        } => None,
        AudioChoice::Track { channels: 2, .. } => Some(vec![0.5, 0.5]),
        _ => stereo_gains(choice).map(|rows| {
            rows[0]
                .iter()
                .zip(&rows[1])
                .map(|(left, right)| (left + right) / 2.0)
                .collect()
        }),
    }
}

/// Stereo from `n` > 2 channels in the usual (SMPTE) order L R C LFE Ls Rs [Lb Rb …]: the
/// centre at -3 dB to both sides, the LFE dropped, the surrounds at -3 dB to their side; then
/// scaled so neither side can clip (as ffmpeg's default downmix normalises).
fn surround_downmix(n: usize) -> Vec<Vec<f64>> {
    const MINUS_3_DB: f64 = std::f64::consts::FRAC_1_SQRT_2;
    let mut left = vec![0.0; n];
    let mut right = vec![0.0; n];
    left[0] = 1.0;
    right[1] = 1.0;
    for channel in 2..n {
        match channel {
            2 => {
                left[2] = MINUS_3_DB;
                right[2] = MINUS_3_DB;
            }
            3 => {}
            c if c % 2 == 0 => left[c] = MINUS_3_DB,
            c => right[c] = MINUS_3_DB,
        }
    }
    let loudest = left.iter().sum::<f64>().max(right.iter().sum());
    for gain in left.iter_mut().chain(right.iter_mut()) {
        *gain /= loudest;
    }
    vec![left, right]
}

fn remix(rows: &[Vec<f64>]) -> RemixSettings {
    let inputs = rows.first().map_or(0, Vec::len);
    let outputs = rows
        .iter()
        .map(|row| {
            OutputChannelMapping::builder()
                .set_input_channels(Some(row.iter().map(|gain| decibels(*gain)).collect()))
                .build()
        })
        .collect();
    RemixSettings::builder()
        .channels_in(i32::try_from(inputs).unwrap_or(i32::MAX))
        .channels_out(i32::try_from(rows.len()).unwrap_or(i32::MAX))
        .channel_mapping(
            ChannelMapping::builder()
                .set_output_channels(Some(outputs))
                .build(),
        )
        .build()
}

/// A linear gain as MediaConvert's whole decibels, -60 (mute) to +6.
fn decibels(gain: f64) -> i32 {
    if gain <= 0.001 {
        return MUTE_DB;
    }
    (20.0 * gain.log10()).round().clamp(f64::from(MUTE_DB), 6.0) as i32
}

/// `CreateJob`'s idempotency token: a re-delivered ingest event within MediaConvert's minute
/// gets the job already submitted instead of a second one. Derived from the asset and the
/// request, so a changed spec is a new job.
fn client_request_token(spec: &ProxySpec, source_uri: &str) -> String {
    // FNV-1a: stable across builds, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let spec_json = serde_json::to_vec(spec).unwrap_or_default();
    for byte in spec_json.iter().chain(source_uri.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("mediasift-{}-{hash:016x}", spec.asset_id.simple())
}

/// The outputs of the finished MediaConvert job of `spec`, from its `COMPLETE` event: checks
/// the planned files are there (as the event reports them, else by a HEAD), lists the frame
/// captures, writes `frames/manifest.json` and copies up to `spec.thumbnails` evenly spread
/// captures to `thumbnails/` ([`thumbnail_key`]). Idempotent: a re-delivered event writes the
/// same objects again.
///
/// An `ERROR` event is [`TranscodeError::Media`] with MediaConvert's code, message and what to
/// do ([`TranscodeError::Setup`] for the codes that mean the role may not read or write S3).
pub async fn outputs_on_completion(
    event: &MediaConvertJobStateChange,
    spec: &ProxySpec,
    ports: &Ports,
) -> Result<ProxyOutputs, TranscodeError> {
    check_routing(event, spec)?;
    match event.status.as_str() {
        "COMPLETE" => {}
        "ERROR" => return Err(job_error(event, spec)),
        "CANCELED" => {
            return Err(TranscodeError::Media(format!(
                "the MediaConvert proxy job {} of asset {} was canceled. Action: re-ingest the \
                 asset (copy the source object onto itself) to submit a new job.",
                event.job_id, spec.asset_id
            )));
        }
        other => {
            return Err(TranscodeError::Setup(format!(
                "the MediaConvert job {} of asset {} is {other}, not finished: only COMPLETE and \
                 ERROR events should reach ingest; check its rule",
                event.job_id, spec.asset_id
            )));
        }
    }

    let bucket = &spec.derived_bucket;
    let reported = reported_keys(event, bucket);
    let mut outputs = planned_outputs(spec);
    let expected: Vec<String> = outputs
        .proxy
        .iter()
        .chain(&outputs.audio_proxy)
        .chain(&outputs.speech_audio)
        .chain(outputs.renditions.iter().map(|(_, key)| key))
        .cloned()
        .collect();
    for key in &expected {
        ensure_written(ports, bucket, key, &reported, &event.job_id).await?;
    }

    if let Some(video) = &spec.video {
        let captures = frame_captures(ports, spec, &reported, &event.job_id).await?;
        let manifest = frame_manifest(spec, video, &captures);
        let manifest_key = outputs
            .frame_manifest
            .clone()
            .unwrap_or_else(|| format!("{}frames/manifest.json", spec.output_prefix));
        let body = serde_json::to_vec_pretty(&manifest).map_err(|err| {
            TranscodeError::Setup(format!("could not serialise the frame manifest: {err}"))
        })?;
        put(
            ports,
            bucket,
            &manifest_key,
            Bytes::from(body),
            "application/json",
        )
        .await?;

        let mut thumbnails = Vec::new();
        for (n, pick) in thumbnail_picks(captures.len(), spec.thumbnails as usize)
            .into_iter()
            .enumerate()
        {
            let capture = &captures[pick];
            let bytes = ports
                .objects
                .get_bytes(bucket, capture)
                .await
                .map_err(|err| store_error("reading a frame capture", err))?;
            let key = thumbnail_key(&spec.output_prefix, n);
            put(ports, bucket, &key, bytes, "image/jpeg").await?;
            thumbnails.push(key);
        }
        outputs.thumbnails = thumbnails;
    }
    tracing::info!(
        asset_id = %spec.asset_id,
        job_id = %event.job_id,
        thumbnails = outputs.thumbnails.len(),
        "MediaConvert proxies complete"
    );
    Ok(outputs)
}

/// The event must be about this asset's job: a mix-up would attach another asset's proxies.
fn check_routing(
    event: &MediaConvertJobStateChange,
    spec: &ProxySpec,
) -> Result<(), TranscodeError> {
    let asset = spec.asset_id.to_string();
    match event.user_metadata.get(ASSET_ID_METADATA) {
        Some(tagged) if tagged.eq_ignore_ascii_case(&asset) => Ok(()),
        Some(tagged) => Err(TranscodeError::Setup(format!(
            "the MediaConvert job {} belongs to asset {tagged}, not {asset}",
            event.job_id
        ))),
        None => Err(TranscodeError::Setup(format!(
            "the MediaConvert job {} carries no {ASSET_ID_METADATA} user metadata; it was not \
             submitted by mediasift",
            event.job_id
        ))),
    }
}

fn job_error(event: &MediaConvertJobStateChange, spec: &ProxySpec) -> TranscodeError {
    let code = event.error_code.map_or_else(
        || "no error code".to_owned(),
        |code| format!("error {code}"),
    );
    let message = event.error_message.as_deref().unwrap_or("no message");
    let cause = format!(
        "the MediaConvert proxy job {} of asset {} failed with {code}: {message}",
        event.job_id, spec.asset_id
    );
    let retry = "re-ingest the asset (copy the source object onto itself) to submit a new job";
    match event.error_code {
        // Access denied reading the source or writing the derived bucket (S3 or KMS).
        Some(1401 | 1432..=1434) => TranscodeError::Setup(format!(
            "{cause}. Action: let the MediaConvert role read the ingest bucket and write \
             s3://{}/ (s3:GetObject, s3:PutObject, and kms:Decrypt/kms:GenerateDataKey for \
             encrypted buckets), then {retry}.",
            spec.derived_bucket
        )),
        // MediaConvert's own failures.
        Some(1999 | 3999) => TranscodeError::Media(format!(
            "{cause}. Action: {retry}; if it fails again, contact AWS support with the job id."
        )),
        // Output and encoding errors.
        Some(3400..=3499) => TranscodeError::Media(format!(
            "{cause}. Action: see {ERROR_CODES_DOC} for this code; {retry} once fixed."
        )),
        // Input errors: the source cannot be opened, probed or decoded.
        _ => TranscodeError::Media(format!(
            "{cause}. Action: check the source plays and is a supported format (see \
             {ERROR_CODES_DOC} for this code); replace it or {retry}."
        )),
    }
}

/// Keys in `bucket` of every file the event says the job wrote.
fn reported_keys(event: &MediaConvertJobStateChange, bucket: &str) -> BTreeSet<String> {
    let prefix = format!("s3://{bucket}/");
    event
        .output_group_details
        .iter()
        .flat_map(|group| &group.output_details)
        .flat_map(|output| &output.output_file_paths)
        .filter_map(|path| path.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect()
}

async fn ensure_written(
    ports: &Ports,
    bucket: &str,
    key: &str,
    reported: &BTreeSet<String>,
    job_id: &str,
) -> Result<(), TranscodeError> {
    if reported.contains(key) {
        return Ok(());
    }
    match ports.objects.head(bucket, key).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(TranscodeError::Media(format!(
            "the MediaConvert job {job_id} completed without writing s3://{bucket}/{key}. \
             Action: check the job's outputs in the MediaConvert console, then re-ingest the \
             asset (copy the source object onto itself)."
        ))),
        Err(err) => Err(store_error("checking a MediaConvert output", err)),
    }
}

/// The keys of the job's frame captures, in capture order.
async fn frame_captures(
    ports: &Ports,
    spec: &ProxySpec,
    reported: &BTreeSet<String>,
    job_id: &str,
) -> Result<Vec<String>, TranscodeError> {
    let bucket = &spec.derived_bucket;
    let prefix = format!("{}frames/", spec.output_prefix);
    let listed = ports
        .objects
        .list(bucket, &prefix)
        .await
        .map_err(|err| store_error("listing the frame captures", err))?;
    let mut captures: Vec<(u64, String)> = listed
        .into_iter()
        .filter_map(|meta| capture_counter(&prefix, &meta.key).map(|n| (n, meta.key)))
        .collect();
    captures.sort();
    // A frame capture output reports its last image; anything numbered after it is left over
    // from an earlier job of the same asset.
    if let Some(last) = reported
        .iter()
        .filter_map(|key| capture_counter(&prefix, key))
        .max()
    {
        captures.retain(|(n, _)| *n <= last);
        if captures.last().map(|(n, _)| *n) != Some(last) {
            return Err(TranscodeError::Unavailable(format!(
                "the MediaConvert job {job_id} reports frame capture {last}, which \
                 s3://{bucket}/{prefix} does not list yet"
            )));
        }
    }
    if captures.is_empty() {
        return Err(TranscodeError::Media(format!(
            "the MediaConvert job {job_id} completed without frame captures under \
             s3://{bucket}/{prefix}. Action: check the job's outputs in the MediaConvert \
             console, then re-ingest the asset (copy the source object onto itself)."
        )));
    }
    Ok(captures.into_iter().map(|(_, key)| key).collect())
}

/// The counter of a frame capture key, `<prefix>frame.0000042.jpg` → 42.
fn capture_counter(prefix: &str, key: &str) -> Option<u64> {
    let digits = key
        .strip_prefix(prefix)?
        .strip_prefix(FRAME_BASE)?
        .strip_prefix('.')?
        .strip_suffix(".jpg")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Capture `i` shows the picture at `i / rate` seconds, source frame `round(t × fps)` (0 when
/// the probe gave no frame rate). MediaConvert does not say which source frame a capture
/// shows; ffmpeg's manifest has the exact ones.
fn frame_manifest(spec: &ProxySpec, video: &VideoSpec, captures: &[String]) -> FrameManifest {
    let (numerator, denominator) = capture_rate_fraction(spec.frame_capture_rate);
    let frames = captures
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let timestamp_seconds = i as f64 * f64::from(denominator) / f64::from(numerator);
            FrameCapture {
                frame_number: (timestamp_seconds * video.frames_per_second)
                    .round()
                    .max(0.0) as u64,
                timestamp_seconds,
                key: key.clone(),
            }
        })
        .collect();
    FrameManifest {
        rate: spec.frame_capture_rate,
        width: video.frames.width,
        height: video.frames.height,
        frames,
    }
}

/// Up to `wanted` of `count` captures, evenly spread: the middle of each of `wanted` equal
/// spans (so never the first frame, often black, unless there are too few).
fn thumbnail_picks(count: usize, wanted: usize) -> Vec<usize> {
    if count <= wanted {
        return (0..count).collect();
    }
    (0..wanted)
        .map(|k| (2 * k + 1) * count / (2 * wanted))
        .collect()
}

async fn put(
    ports: &Ports,
    bucket: &str,
    key: &str,
    bytes: Bytes,
    content_type: &str,
) -> Result<(), TranscodeError> {
    let options = PutOptions {
        content_type: Some(content_type.to_owned()),
        ..PutOptions::default()
    };
    ports
        .objects
        .put(bucket, key, Body::Bytes(bytes), options)
        .await
        .map(drop)
        .map_err(|err| store_error("writing a proxy output", err))
}

fn store_error(context: &str, err: StoreError) -> TranscodeError {
    if err.is_retryable() {
        TranscodeError::Unavailable(format!("{context}: {err}"))
    } else {
        TranscodeError::Setup(format!("{context}: {err}"))
    }
}
