//! The MediaConvert transcoder: the `CreateJob` request it builds (on a client whose responses
//! aws-smithy-mocks stubs: moto has no MediaConvert), how it maps MediaConvert's errors, and
//! how a job's completion event becomes the proxy outputs (on the local object store).
#![cfg(feature = "aws")]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_mediaconvert::Client;
use aws_sdk_mediaconvert::config::retry::RetryConfig;
use aws_sdk_mediaconvert::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_mediaconvert::operation::create_job::{
    CreateJobError, CreateJobInput, CreateJobOutput,
};
use aws_sdk_mediaconvert::types::error::{
    BadRequestException, ForbiddenException, TooManyRequestsException,
};
use aws_sdk_mediaconvert::types::{
    AacCodingMode, AudioCodec, AudioDescription, AudioSelectorType, ContainerType,
    H264RateControlMode, InputRotate, Job, JobSettings, Output, OutputGroup, OutputGroupType,
    RemixSettings, ScalingBehavior, VideoCodec,
};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use bytes::Bytes;
use mediasift_ingest::proxy::mediaconvert::{
    ASSET_ID_METADATA, MediaConvertTranscoder, OUTPUT_PREFIX_METADATA, audio_track_number,
    capture_rate_fraction, outputs_on_completion, planned_outputs, thumbnail_key,
};
use mediasift_ingest::proxy::spec::VideoSpec;
use mediasift_ingest::proxy::{
    AudioChoice, FrameManifest, ProxyOutputs, ProxySpec, Rendition, SourceMedia, Started,
    TranscodeError, Transcoder, VideoSize,
};
use mediasift_kit::Ports;
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{Body, PutOptions, SystemClock};
use mediasift_schemas::{EventDetail, MediaConvertJobStateChange, OutputDetail, OutputGroupDetail};
use tempfile::TempDir;
use uuid::Uuid;

const ASSET: &str = "0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10";
const DERIVED: &str = "mediasift-derived-123456789012";
const SOURCE: &str = "s3://mediasift-ingest-123456789012/news/2026/Evening Bulletin – 21 Nov.mp4";
const ROLE: &str = "arn:aws:iam::123456789012:role/mediasift-mediaconvert";
const QUEUE: &str = "arn:aws:mediaconvert:eu-west-1:123456789012:queues/mediasift";
const JOB_ID: &str = "1795252790123-abc123";

fn prefix() -> String {
    format!("{ASSET}/")
}

fn size(width: u32, height: u32) -> VideoSize {
    VideoSize { width, height }
}

/// A 1080p 25 fps news bulletin of 22 minutes: proxy 960x540, captures 480x270 at 1 fps,
/// one 720p rendition.
fn video_spec(audio: Option<AudioChoice>) -> ProxySpec {
    ProxySpec {
        asset_id: Uuid::parse_str(ASSET).unwrap(),
        output_prefix: prefix(),
        derived_bucket: DERIVED.into(),
        duration_seconds: 1325.48,
        video: Some(VideoSpec {
            stream_index: 0,
            source: size(1920, 1080),
            frames_per_second: 25.0,
            proxy: size(960, 540),
            frames: size(480, 270),
        }),
        audio,
        frame_capture_rate: 1.0,
        thumbnails: 5,
        renditions: vec![Rendition {
            name: "720p".into(),
            size: size(1280, 720),
        }],
    }
}

fn audio_spec(audio: AudioChoice) -> ProxySpec {
    ProxySpec {
        video: None,
        audio: Some(audio),
        thumbnails: 0,
        renditions: Vec::new(),
        ..video_spec(None)
    }
}

fn stereo(index: u32) -> AudioChoice {
    AudioChoice::Track { index, channels: 2 }
}

fn source() -> SourceMedia {
    SourceMedia {
        uri: SOURCE.into(),
        local_path: None,
    }
}

/// A MediaConvert client answered by `rules`, without retries (so errors surface at once).
/// Built by hand rather than with `mock_client!`, which needs the SDK's `test-util` feature.
fn client(rules: &[&Rule]) -> Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = aws_sdk_mediaconvert::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    Client::from_conf(config)
}

/// A `CreateJob` rule that records each request and answers with job [`JOB_ID`].
fn recording_rule() -> (Rule, Arc<Mutex<Vec<CreateJobInput>>>) {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&requests);
    let rule = mock!(Client::create_job).then_compute_output(move |input: &CreateJobInput| {
        recorded.lock().unwrap().push(input.clone());
        CreateJobOutput::builder()
            .job(Job::builder().id(JOB_ID).role(ROLE).build())
            .build()
    });
    (rule, requests)
}

fn transcoder(client: Client) -> MediaConvertTranscoder {
    MediaConvertTranscoder::from_client(client, ROLE, Some(QUEUE.into()))
}

async fn ports(dir: &TempDir) -> Ports {
    let objects = LocalObjectStore::open(dir.path().join("objects")).unwrap();
    objects.create_bucket(DERIVED).await.unwrap();
    Ports {
        objects: Arc::new(objects),
        state: Arc::new(SqliteStateStore::open_in_memory().unwrap()),
        clock: Arc::new(SystemClock),
        derived_bucket: DERIVED.into(),
        ingest_bucket: "mediasift-ingest-123456789012".into(),
    }
}

/// Submits `spec` and returns the one `CreateJob` request made.
async fn submitted(spec: &ProxySpec, ports: &Ports) -> CreateJobInput {
    let (rule, requests) = recording_rule();
    let started = transcoder(client(&[&rule]))
        .start(spec, &source(), ports)
        .await
        .unwrap();
    assert_eq!(
        started,
        Started::Submitted {
            job_id: JOB_ID.into()
        }
    );
    let mut requests = requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    requests.pop().unwrap()
}

fn settings(request: &CreateJobInput) -> &JobSettings {
    request.settings().expect("the job has settings")
}

/// The key of the (first) file an output group writes, named as MediaConvert names file-group
/// outputs: the destination (its last segment is the base name), the name modifier, the
/// frame capture counter, then the extension (by default from the container, or the codec
/// without one).
fn written_key(group: &OutputGroup) -> String {
    let group_settings = group.output_group_settings().unwrap();
    assert_eq!(
        group_settings.r#type(),
        Some(&OutputGroupType::FileGroupSettings)
    );
    let destination = group_settings
        .file_group_settings()
        .and_then(|file| file.destination())
        .unwrap();
    let base = destination
        .strip_prefix(&format!("s3://{DERIVED}/"))
        .expect("every output goes to the derived bucket");
    assert!(!base.ends_with('/'), "{base}: a base name, not a folder");
    assert_eq!(group.outputs().len(), 1, "one output per group");
    let output = &group.outputs()[0];
    let modifier = output.name_modifier().unwrap_or("");
    let codec = output
        .video_description()
        .and_then(|video| video.codec_settings())
        .and_then(|codec| codec.codec());
    let counter = if codec == Some(&VideoCodec::FrameCapture) {
        ".0000000"
    } else {
        ""
    };
    let extension = match output.extension() {
        Some(extension) => extension.to_owned(),
        None => match output.container_settings().and_then(|c| c.container()) {
            Some(ContainerType::Mp4) => "mp4".into(),
            Some(ContainerType::Raw) if counter.is_empty() => {
                let audio = &output.audio_descriptions()[0];
                match audio.codec_settings().and_then(|c| c.codec()) {
                    Some(AudioCodec::Wav) => "wav".into(),
                    other => panic!("unexpected raw audio codec {other:?}"),
                }
            }
            Some(ContainerType::Raw) => "jpg".into(),
            other => panic!("unexpected container {other:?}"),
        },
    };
    format!("{base}{modifier}{counter}.{extension}")
}

fn groups_by_key(settings: &JobSettings) -> BTreeMap<String, &OutputGroup> {
    settings
        .output_groups()
        .iter()
        .map(|group| (written_key(group), group))
        .collect()
}

fn only_output<'a>(groups: &BTreeMap<String, &'a OutputGroup>, key: &str) -> &'a Output {
    let group = groups
        .get(key)
        .unwrap_or_else(|| panic!("no output group writes {key}"));
    &group.outputs()[0]
}

fn only_audio(output: &Output) -> &AudioDescription {
    assert_eq!(output.audio_descriptions().len(), 1);
    let audio = &output.audio_descriptions()[0];
    assert_eq!(audio.audio_source_name(), Some("Audio Selector 1"));
    audio
}

/// `(channels in, channels out, dB gains per output channel)`.
fn remix_of(remix: Option<&RemixSettings>) -> Option<(i32, i32, Vec<Vec<i32>>)> {
    let remix = remix?;
    let rows = remix
        .channel_mapping()
        .unwrap()
        .output_channels()
        .iter()
        .map(|row| row.input_channels().to_vec())
        .collect();
    Some((
        remix.channels_in().unwrap(),
        remix.channels_out().unwrap(),
        rows,
    ))
}

fn assert_aac_stereo(audio: &AudioDescription) {
    let codec = audio.codec_settings().unwrap();
    assert_eq!(codec.codec(), Some(&AudioCodec::Aac));
    let aac = codec.aac_settings().unwrap();
    assert_eq!(aac.coding_mode(), Some(&AacCodingMode::CodingMode20));
    assert_eq!(aac.sample_rate(), Some(48_000));
}

fn assert_speech_wav(audio: &AudioDescription) {
    let codec = audio.codec_settings().unwrap();
    assert_eq!(codec.codec(), Some(&AudioCodec::Wav));
    let wav = codec.wav_settings().unwrap();
    assert_eq!(wav.sample_rate(), Some(16_000));
    assert_eq!(wav.channels(), Some(1));
    assert_eq!(wav.bit_depth(), Some(16));
}

fn selector_tracks(settings: &JobSettings) -> Vec<i32> {
    let input = &settings.inputs()[0];
    let selectors = input.audio_selectors().expect("an audio selector");
    assert_eq!(selectors.len(), 1);
    let selector = &selectors["Audio Selector 1"];
    assert_eq!(selector.selector_type(), Some(&AudioSelectorType::Track));
    selector.tracks().to_vec()
}

#[tokio::test]
async fn a_video_job_writes_every_output_on_the_planned_keys() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports(&dir).await;
    let spec = video_spec(Some(AudioChoice::Track {
        index: 1,
        channels: 2,
    }));
    let request = submitted(&spec, &ports).await;

    assert_eq!(request.role(), Some(ROLE));
    assert_eq!(request.queue(), Some(QUEUE));
    let metadata = request.user_metadata().unwrap();
    assert_eq!(metadata[ASSET_ID_METADATA], ASSET);
    assert_eq!(metadata[OUTPUT_PREFIX_METADATA], prefix());
    let token = request.client_request_token().unwrap();
    assert!(
        token.len() <= 64 && token.contains(&Uuid::parse_str(ASSET).unwrap().simple().to_string())
    );

    let settings = settings(&request);
    assert_eq!(settings.inputs().len(), 1);
    let input = &settings.inputs()[0];
    assert_eq!(input.file_input(), Some(SOURCE));
    assert_eq!(
        input.video_selector().and_then(|v| v.rotate()),
        Some(&InputRotate::Auto)
    );
    // ffprobe stream 1, after the video stream 0: the first audio track.
    assert_eq!(selector_tracks(settings), vec![1]);

    // The keys MediaConvert will write are exactly the planned ones (and ffmpeg's).
    let groups = groups_by_key(settings);
    let p = prefix();
    let expected: BTreeSet<String> = [
        format!("{p}proxy/proxy.mp4"),
        format!("{p}proxy/audio.m4a"),
        format!("{p}proxy/speech.wav"),
        format!("{p}renditions/720p.mp4"),
        format!("{p}frames/frame.0000000.jpg"),
    ]
    .into();
    assert_eq!(groups.keys().cloned().collect::<BTreeSet<_>>(), expected);
    let planned = planned_outputs(&spec);
    assert_eq!(
        planned.proxy.as_deref(),
        Some(&*format!("{p}proxy/proxy.mp4"))
    );
    assert_eq!(
        planned.audio_proxy.as_deref(),
        Some(&*format!("{p}proxy/audio.m4a"))
    );
    assert_eq!(
        planned.speech_audio.as_deref(),
        Some(&*format!("{p}proxy/speech.wav"))
    );
    assert_eq!(
        planned.renditions,
        vec![("720p".to_owned(), format!("{p}renditions/720p.mp4"))]
    );
    for key in planned
        .proxy
        .iter()
        .chain(&planned.audio_proxy)
        .chain(&planned.speech_audio)
        .chain(planned.renditions.iter().map(|(_, key)| key))
    {
        assert!(groups.contains_key(key), "{key} is not written");
    }

    // The proxy: H.264 QVBR at the fitted size, AAC stereo.
    let proxy = only_output(&groups, &format!("{p}proxy/proxy.mp4"));
    let video = proxy.video_description().unwrap();
    assert_eq!((video.width(), video.height()), (Some(960), Some(540)));
    assert_eq!(
        video.scaling_behavior(),
        Some(&ScalingBehavior::StretchToOutput)
    );
    let h264 = video.codec_settings().unwrap();
    assert_eq!(h264.codec(), Some(&VideoCodec::H264));
    let h264 = h264.h264_settings().unwrap();
    assert_eq!(h264.rate_control_mode(), Some(&H264RateControlMode::Qvbr));
    assert!(h264.max_bitrate().is_some_and(|b| b > 0));
    assert!(
        h264.qvbr_settings()
            .and_then(|q| q.qvbr_quality_level())
            .is_some()
    );
    let audio = only_audio(proxy);
    assert_aac_stereo(audio);
    assert_eq!(
        remix_of(audio.remix_settings()),
        None,
        "stereo goes through"
    );

    let rendition = only_output(&groups, &format!("{p}renditions/720p.mp4"));
    let video = rendition.video_description().unwrap();
    assert_eq!((video.width(), video.height()), (Some(1280), Some(720)));
    assert_aac_stereo(only_audio(rendition));

    // The audio proxy: AAC stereo alone in MP4, named .m4a.
    let m4a = only_output(&groups, &format!("{p}proxy/audio.m4a"));
    assert_eq!(
        m4a.container_settings().and_then(|c| c.container()),
        Some(&ContainerType::Mp4)
    );
    assert!(m4a.video_description().is_none());
    assert_aac_stereo(only_audio(m4a));

    // The speech WAV: 16 kHz mono, the stereo track mixed down.
    let wav = only_output(&groups, &format!("{p}proxy/speech.wav"));
    assert!(wav.video_description().is_none());
    let speech = only_audio(wav);
    assert_speech_wav(speech);
    assert_eq!(
        remix_of(speech.remix_settings()),
        Some((2, 1, vec![vec![-6, -6]]))
    );

    // Frame captures: JPEG at 1 fps, the captures' size, quality 80, enough for the duration.
    let frames = only_output(&groups, &format!("{p}frames/frame.0000000.jpg"));
    assert!(frames.audio_descriptions().is_empty());
    let video = frames.video_description().unwrap();
    assert_eq!((video.width(), video.height()), (Some(480), Some(270)));
    let capture = video
        .codec_settings()
        .unwrap()
        .frame_capture_settings()
        .unwrap();
    assert_eq!(capture.framerate_numerator(), Some(1));
    assert_eq!(capture.framerate_denominator(), Some(1));
    assert_eq!(capture.quality(), Some(80));
    assert!(capture.max_captures().is_some_and(|max| max >= 1326));

    // An unknown duration does not cap the captures at one.
    let unknown = ProxySpec {
        duration_seconds: 0.0,
        ..spec
    };
    let request = submitted(&unknown, &ports).await;
    let groups = groups_by_key(request.settings().unwrap());
    let frames = only_output(&groups, &format!("{p}frames/frame.0000000.jpg"));
    let capture = frames
        .video_description()
        .and_then(|video| video.codec_settings())
        .and_then(|codec| codec.frame_capture_settings())
        .unwrap();
    assert_eq!(capture.max_captures(), Some(10_000_000));
}

#[tokio::test]
async fn mono_tracks_are_mixed_to_stereo_and_to_mono() {
    let dir = tempfile::tempdir().unwrap();
    let spec = video_spec(Some(AudioChoice::MixMono {
        indexes: vec![1, 2, 3, 4],
    }));
    let ports = ports(&dir).await;
    let request = submitted(&spec, &ports).await;
    let job = settings(&request);
    assert_eq!(selector_tracks(job), vec![1, 2, 3, 4]);

    let groups = groups_by_key(job);
    let p = prefix();
    // Odd tracks left, even tracks right, each side halved (-6 dB) so it cannot clip.
    let to_stereo = Some((4, 2, vec![vec![-6, -60, -6, -60], vec![-60, -6, -60, -6]]));
    for key in [
        format!("{p}proxy/proxy.mp4"),
        format!("{p}proxy/audio.m4a"),
        format!("{p}renditions/720p.mp4"),
    ] {
        let audio = only_audio(only_output(&groups, &key));
        assert_aac_stereo(audio);
        assert_eq!(remix_of(audio.remix_settings()), to_stereo, "{key}");
    }
    let speech = only_audio(only_output(&groups, &format!("{p}proxy/speech.wav")));
    assert_speech_wav(speech);
    assert_eq!(
        remix_of(speech.remix_settings()),
        Some((4, 1, vec![vec![-12; 4]]))
    );

    // An odd count: the last track goes to both sides.
    let spec = video_spec(Some(AudioChoice::MixMono {
        indexes: vec![1, 2, 3],
    }));
    let request = submitted(&spec, &ports).await;
    let groups = groups_by_key(settings(&request));
    let audio = only_audio(only_output(&groups, &format!("{p}proxy/audio.m4a")));
    assert_eq!(
        remix_of(audio.remix_settings()),
        Some((3, 2, vec![vec![-6, -60, -6], vec![-60, -6, -6]]))
    );
    let speech = only_audio(only_output(&groups, &format!("{p}proxy/speech.wav")));
    assert_eq!(
        remix_of(speech.remix_settings()),
        Some((3, 1, vec![vec![-12, -12, -6]]))
    );
}

#[tokio::test]
async fn a_surround_track_is_downmixed_and_a_mono_track_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports(&dir).await;

    // 5.1 as stream 2 (the second audio track): L R C LFE Ls Rs.
    let spec = video_spec(Some(AudioChoice::Track {
        index: 2,
        channels: 6,
    }));
    let request = submitted(&spec, &ports).await;
    let job = settings(&request);
    assert_eq!(selector_tracks(job), vec![2]);
    let groups = groups_by_key(job);
    let p = prefix();
    let audio = only_audio(only_output(&groups, &format!("{p}proxy/audio.m4a")));
    let (inputs, outputs, rows) = remix_of(audio.remix_settings()).unwrap();
    assert_eq!((inputs, outputs), (6, 2));
    let (left, right) = (&rows[0], &rows[1]);
    assert_eq!((left[3], right[3]), (-60, -60), "the LFE is dropped");
    assert_eq!(
        (left[1], right[0]),
        (-60, -60),
        "no crosstalk of the fronts"
    );
    assert_eq!(
        (left[5], right[4]),
        (-60, -60),
        "no crosstalk of the surrounds"
    );
    assert_eq!(left[2], right[2], "the centre goes to both sides");
    assert!(left[0] > left[2] && left[2] == left[4] && left[0] <= 0);
    let speech = only_audio(only_output(&groups, &format!("{p}proxy/speech.wav")));
    let (inputs, outputs, rows) = remix_of(speech.remix_settings()).unwrap();
    assert_eq!((inputs, outputs), (6, 1));
    assert_eq!(rows[0][3], -60);

    // A mono track: doubled into stereo, as it is for speech.
    let spec = video_spec(Some(AudioChoice::Track {
        index: 1,
        channels: 1,
    }));
    let request = submitted(&spec, &ports).await;
    let groups = groups_by_key(settings(&request));
    let audio = only_audio(only_output(&groups, &format!("{p}proxy/audio.m4a")));
    assert_eq!(
        remix_of(audio.remix_settings()),
        Some((1, 2, vec![vec![0], vec![0]]))
    );
    let speech = only_audio(only_output(&groups, &format!("{p}proxy/speech.wav")));
    assert_speech_wav(speech);
    assert_eq!(remix_of(speech.remix_settings()), None);
}

#[tokio::test]
async fn an_audio_only_job_makes_only_the_audio_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let spec = audio_spec(stereo(0));
    let request = submitted(&spec, &ports(&dir).await).await;
    let settings = settings(&request);
    let input = &settings.inputs()[0];
    assert!(input.video_selector().is_none());
    // Stream 0 of an audio file: track 1.
    assert_eq!(selector_tracks(settings), vec![1]);

    let groups = groups_by_key(settings);
    let p = prefix();
    assert_eq!(
        groups.keys().cloned().collect::<Vec<_>>(),
        vec![
            format!("{p}proxy/audio.m4a"),
            format!("{p}proxy/speech.wav")
        ]
    );
    for group in settings.output_groups() {
        for output in group.outputs() {
            assert!(output.video_description().is_none(), "{:?}", group.name());
        }
    }
    assert_aac_stereo(only_audio(only_output(
        &groups,
        &format!("{p}proxy/audio.m4a"),
    )));
    assert_speech_wav(only_audio(only_output(
        &groups,
        &format!("{p}proxy/speech.wav"),
    )));
    assert_eq!(request.user_metadata().unwrap()[ASSET_ID_METADATA], ASSET);

    let planned = planned_outputs(&spec);
    assert_eq!(planned.proxy, None);
    assert_eq!(planned.frame_manifest, None);
    assert!(planned.renditions.is_empty());
}

#[tokio::test]
async fn a_video_without_audio_has_no_audio_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let spec = video_spec(None);
    let request = submitted(&spec, &ports(&dir).await).await;
    let settings = settings(&request);
    assert!(settings.inputs()[0].audio_selectors().is_none());
    let groups = groups_by_key(settings);
    let p = prefix();
    assert_eq!(
        groups.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            format!("{p}frames/frame.0000000.jpg"),
            format!("{p}proxy/proxy.mp4"),
            format!("{p}renditions/720p.mp4"),
        ])
    );
    assert!(
        only_output(&groups, &format!("{p}proxy/proxy.mp4"))
            .audio_descriptions()
            .is_empty()
    );
}

#[tokio::test]
async fn nothing_to_make_submits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (rule, requests) = recording_rule();
    let spec = ProxySpec {
        video: None,
        audio: None,
        ..video_spec(None)
    };
    let started = transcoder(client(&[&rule]))
        .start(&spec, &source(), &ports(&dir).await)
        .await
        .unwrap();
    assert_eq!(started, Started::Done(ProxyOutputs::default()));
    assert!(requests.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_source_outside_s3_is_a_setup_error() {
    let dir = tempfile::tempdir().unwrap();
    let (rule, requests) = recording_rule();
    let local = SourceMedia {
        uri: "file:///tmp/a.mp4".into(),
        local_path: None,
    };
    let err = transcoder(client(&[&rule]))
        .start(&video_spec(Some(stereo(1))), &local, &ports(&dir).await)
        .await
        .unwrap_err();
    assert!(matches!(err, TranscodeError::Setup(_)), "{err:?}");
    assert!(requests.lock().unwrap().is_empty());
}

#[tokio::test]
async fn throttling_and_server_errors_are_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports(&dir).await;
    let spec = video_spec(Some(stereo(1)));

    let throttled = mock!(Client::create_job).then_error(|| {
        CreateJobError::TooManyRequestsException(
            TooManyRequestsException::builder()
                .message("Too many requests")
                .build(),
        )
    });
    let err = transcoder(client(&[&throttled]))
        .start(&spec, &source(), &ports)
        .await
        .unwrap_err();
    assert!(matches!(err, TranscodeError::Unavailable(_)), "{err:?}");
    assert_eq!(throttled.num_calls(), 1);

    let down = mock!(Client::create_job)
        .sequence()
        .http_status(503, None)
        .build();
    let err = transcoder(client(&[&down]))
        .start(&spec, &source(), &ports)
        .await
        .unwrap_err();
    assert!(matches!(err, TranscodeError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn refusals_are_setup_errors_naming_the_role_and_queue() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports(&dir).await;
    let spec = video_spec(Some(stereo(1)));

    let forbidden = mock!(Client::create_job).then_error(|| {
        CreateJobError::ForbiddenException(
            ForbiddenException::builder()
                .message("User is not authorized to perform: iam:PassRole")
                .build(),
        )
    });
    let err = transcoder(client(&[&forbidden]))
        .start(&spec, &source(), &ports)
        .await
        .unwrap_err();
    let TranscodeError::Setup(message) = err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains(ROLE) && message.contains("iam:PassRole"),
        "{message}"
    );

    let bad = mock!(Client::create_job).then_error(|| {
        CreateJobError::BadRequestException(
            BadRequestException::builder()
                .message("Queue not found")
                .build(),
        )
    });
    let err = transcoder(client(&[&bad]))
        .start(&spec, &source(), &ports)
        .await
        .unwrap_err();
    let TranscodeError::Setup(message) = err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains(ROLE) && message.contains(QUEUE),
        "{message}"
    );
    assert!(message.contains("Queue not found"), "{message}");

    // Without a queue, the message says the Default queue.
    let err = MediaConvertTranscoder::from_client(client(&[&bad]), ROLE, None)
        .start(&spec, &source(), &ports)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("queue Default"), "{err}");
}

#[test]
fn capture_rates_become_exact_fractions() {
    assert_eq!(capture_rate_fraction(1.0), (1, 1));
    assert_eq!(capture_rate_fraction(2.0), (2, 1));
    assert_eq!(capture_rate_fraction(0.5), (1, 2));
    assert_eq!(capture_rate_fraction(0.2), (1, 5));
    assert_eq!(capture_rate_fraction(1.0 / 3.0), (1, 3));
    assert_eq!(capture_rate_fraction(0.25), (1, 4));
}

#[test]
fn audio_tracks_count_only_audio_streams() {
    // Video 0, audio 1..: track = index.
    let spec = video_spec(Some(stereo(1)));
    assert_eq!(audio_track_number(&spec, 1), 1);
    assert_eq!(audio_track_number(&spec, 3), 3);
    // Audio first, then video (as some MOVs): stream 0 is track 1.
    let mut spec = video_spec(Some(stereo(0)));
    spec.video.as_mut().unwrap().stream_index = 2;
    assert_eq!(audio_track_number(&spec, 0), 1);
    assert_eq!(audio_track_number(&spec, 1), 2);
    assert_eq!(audio_track_number(&spec, 3), 3);
    // No video: 0-based stream index + 1.
    assert_eq!(audio_track_number(&audio_spec(stereo(0)), 0), 1);
}

// --- completion ---

/// `COMPLETE`, as MediaConvert reports the job of [`video_spec`]: one detail per group, the
/// frame capture output naming its last image.
fn complete_event(spec: &ProxySpec, last_capture: u32) -> MediaConvertJobStateChange {
    let p = &spec.output_prefix;
    let mut paths = vec![
        format!("{p}proxy/proxy.mp4"),
        format!("{p}renditions/720p.mp4"),
        format!("{p}frames/frame.{last_capture:07}.jpg"),
        format!("{p}proxy/audio.m4a"),
        format!("{p}proxy/speech.wav"),
    ];
    if spec.video.is_none() {
        paths.drain(..3);
    }
    MediaConvertJobStateChange {
        job_id: JOB_ID.into(),
        status: "COMPLETE".into(),
        output_group_details: paths
            .into_iter()
            .map(|key| OutputGroupDetail {
                output_details: vec![OutputDetail {
                    output_file_paths: vec![format!("s3://{DERIVED}/{key}")],
                    duration_in_ms: Some(1_325_480),
                    video_details: None,
                }],
                group_type: Some("FILE_GROUP".into()),
            })
            .collect(),
        ..MediaConvertJobStateChange::example()
    }
}

async fn put(ports: &Ports, key: &str, body: &[u8]) {
    ports
        .objects
        .put(
            DERIVED,
            key,
            Body::Bytes(Bytes::copy_from_slice(body)),
            PutOptions::default(),
        )
        .await
        .unwrap();
}

/// What MediaConvert would have written for `spec`: the files, and `captures` JPEGs.
async fn job_wrote(ports: &Ports, spec: &ProxySpec, captures: u32) {
    let planned = planned_outputs(spec);
    for key in planned
        .proxy
        .iter()
        .chain(&planned.audio_proxy)
        .chain(&planned.speech_audio)
        .chain(planned.renditions.iter().map(|(_, key)| key))
    {
        put(ports, key, key.as_bytes()).await;
    }
    for n in 0..captures {
        put(ports, &capture_key(n), format!("jpeg {n}").as_bytes()).await;
    }
}

fn capture_key(n: u32) -> String {
    format!("{}frames/frame.{n:07}.jpg", prefix())
}

#[tokio::test]
async fn completion_lists_the_captures_writes_the_manifest_and_the_thumbnails() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports(&dir).await;
    let spec = video_spec(Some(stereo(1)));
    job_wrote(&ports, &spec, 10).await;
    let event = complete_event(&spec, 9);

    let outputs = outputs_on_completion(&event, &spec, &ports).await.unwrap();
    let p = prefix();
    assert_eq!(
        outputs.proxy.as_deref(),
        Some(&*format!("{p}proxy/proxy.mp4"))
    );
    assert_eq!(
        outputs.audio_proxy.as_deref(),
        Some(&*format!("{p}proxy/audio.m4a"))
    );
    assert_eq!(
        outputs.speech_audio.as_deref(),
        Some(&*format!("{p}proxy/speech.wav"))
    );
    assert_eq!(
        outputs.renditions,
        vec![("720p".to_owned(), format!("{p}renditions/720p.mp4"))]
    );
    let manifest_key = format!("{p}frames/manifest.json");
    assert_eq!(outputs.frame_manifest.as_deref(), Some(&*manifest_key));

    let manifest: FrameManifest = serde_json::from_slice(
        &ports
            .objects
            .get_bytes(DERIVED, &manifest_key)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest.rate, 1.0);
    assert_eq!((manifest.width, manifest.height), (480, 270));
    assert_eq!(manifest.frames.len(), 10);
    for (i, frame) in manifest.frames.iter().enumerate() {
        assert_eq!(frame.key, capture_key(i as u32));
        assert_eq!(frame.timestamp_seconds, i as f64);
        assert_eq!(frame.frame_number, 25 * i as u64);
    }
    // The JSON is camelCase, as the ffmpeg transcoder writes it.
    let raw: serde_json::Value = serde_json::from_slice(
        &ports
            .objects
            .get_bytes(DERIVED, &manifest_key)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(raw["frames"][3]["frameNumber"], 75);
    assert_eq!(raw["frames"][3]["timestampSeconds"], 3.0);

    // Five thumbnails, the middles of five equal spans: captures 1, 3, 5, 7, 9.
    let expected: Vec<String> = (0..5).map(|i| thumbnail_key(&p, i)).collect();
    assert_eq!(outputs.thumbnails, expected);
    // Named as the ffmpeg transcoder names them.
    assert_eq!(expected[0], format!("{p}thumbnails/thumb-0.jpg"));
    for (thumbnail, capture) in expected.iter().zip([1, 3, 5, 7, 9]) {
        let bytes = ports.objects.get_bytes(DERIVED, thumbnail).await.unwrap();
        assert_eq!(&bytes[..], format!("jpeg {capture}").as_bytes());
        let meta = ports.objects.head(DERIVED, thumbnail).await.unwrap();
        assert_eq!(meta.content_type.as_deref(), Some("image/jpeg"));
    }

    // Re-delivered, the same outputs.
    let again = outputs_on_completion(&event, &spec, &ports).await.unwrap();
    assert_eq!(again, outputs);
}

#[tokio::test]
async fn half_rate_captures_and_few_captures() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports(&dir).await;
    let mut spec = video_spec(Some(stereo(1)));
    spec.frame_capture_rate = 0.5;
    spec.video.as_mut().unwrap().frames_per_second = 29.97;
    job_wrote(&ports, &spec, 3).await;

    let outputs = outputs_on_completion(&complete_event(&spec, 2), &spec, &ports)
        .await
        .unwrap();
    let manifest: FrameManifest = serde_json::from_slice(
        &ports
            .objects
            .get_bytes(DERIVED, outputs.frame_manifest.as_deref().unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest.rate, 0.5);
    let times: Vec<(f64, u64)> = manifest
        .frames
        .iter()
        .map(|f| (f.timestamp_seconds, f.frame_number))
        .collect();
    assert_eq!(times, vec![(0.0, 0), (2.0, 60), (4.0, 120)]);
    // Fewer captures than thumbnails wanted: each capture once.
    assert_eq!(outputs.thumbnails.len(), 3);
}

#[tokio::test]
async fn captures_of_an_earlier_longer_job_are_ignored_and_a_missing_last_one_retried() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports(&dir).await;
    let spec = video_spec(Some(stereo(1)));
    job_wrote(&ports, &spec, 12).await;
    put(
        &ports,
        &format!("{}frames/notes.txt", prefix()),
        b"not a capture",
    )
    .await;

    let outputs = outputs_on_completion(&complete_event(&spec, 7), &spec, &ports)
        .await
        .unwrap();
    let manifest: FrameManifest = serde_json::from_slice(
        &ports
            .objects
            .get_bytes(DERIVED, outputs.frame_manifest.as_deref().unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(manifest.frames.len(), 8);
    assert_eq!(manifest.frames.last().unwrap().key, capture_key(7));

    // The event names capture 20, which the listing does not show yet: try again later.
    let err = outputs_on_completion(&complete_event(&spec, 20), &spec, &ports)
        .await
        .unwrap_err();
    assert!(matches!(err, TranscodeError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn an_audio_only_completion_has_no_frames() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports(&dir).await;
    let spec = audio_spec(stereo(0));
    job_wrote(&ports, &spec, 0).await;
    let outputs = outputs_on_completion(&complete_event(&spec, 0), &spec, &ports)
        .await
        .unwrap();
    let p = prefix();
    assert_eq!(
        outputs,
        ProxyOutputs {
            audio_proxy: Some(format!("{p}proxy/audio.m4a")),
            speech_audio: Some(format!("{p}proxy/speech.wav")),
            ..ProxyOutputs::default()
        }
    );
    assert!(
        ports
            .objects
            .list(DERIVED, &format!("{p}frames/"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_output_missing_after_complete_is_a_media_error() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports(&dir).await;
    let spec = video_spec(Some(stereo(1)));
    job_wrote(&ports, &spec, 4).await;
    let mut event = complete_event(&spec, 3);
    // The event does not report the speech WAV, and it is not in the bucket.
    let speech = format!("s3://{DERIVED}/{}proxy/speech.wav", prefix());
    event
        .output_group_details
        .retain(|group| group.output_details[0].output_file_paths[0] != speech);
    ports
        .objects
        .delete(DERIVED, &format!("{}proxy/speech.wav", prefix()))
        .await
        .unwrap();
    let err = outputs_on_completion(&event, &spec, &ports)
        .await
        .unwrap_err();
    let TranscodeError::Media(message) = err else {
        panic!("{err:?}");
    };
    assert!(
        message.contains("speech.wav") && message.contains(JOB_ID),
        "{message}"
    );

    // Unreported but present (found by a HEAD): fine.
    put(&ports, &format!("{}proxy/speech.wav", prefix()), b"wav").await;
    outputs_on_completion(&event, &spec, &ports).await.unwrap();
}

#[tokio::test]
async fn an_error_event_is_a_media_error_with_mediaconverts_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports(&dir).await;
    let spec = video_spec(Some(stereo(1)));
    let event = MediaConvertJobStateChange {
        status: "ERROR".into(),
        output_group_details: Vec::new(),
        error_code: Some(1010),
        error_message: Some(format!(
            "Unable to open input file [{SOURCE}]: [Failed probe/open: [No parser found for container]]"
        )),
        ..MediaConvertJobStateChange::example()
    };
    let err = outputs_on_completion(&event, &spec, &ports)
        .await
        .unwrap_err();
    let TranscodeError::Media(message) = err else {
        panic!("{err:?}");
    };
    assert!(message.contains("1010"), "{message}");
    assert!(
        message.contains("No parser found for container"),
        "{message}"
    );
    assert!(
        message.contains(JOB_ID) && message.contains("Action:"),
        "{message}"
    );

    // Access denied to S3: the role needs fixing.
    let denied = MediaConvertJobStateChange {
        error_code: Some(1401),
        error_message: Some("Access denied".into()),
        ..event
    };
    let err = outputs_on_completion(&denied, &spec, &ports)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TranscodeError::Setup(m) if m.contains(DERIVED)),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_event_of_another_asset_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ports = ports(&dir).await;
    let spec = video_spec(Some(stereo(1)));
    let mut event = complete_event(&spec, 0);
    event.user_metadata.insert(
        ASSET_ID_METADATA.into(),
        "11111111-2222-5333-8444-555555555555".into(),
    );
    let err = outputs_on_completion(&event, &spec, &ports)
        .await
        .unwrap_err();
    assert!(matches!(err, TranscodeError::Setup(_)), "{err:?}");
}
