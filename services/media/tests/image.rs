//! Still images on real media (scripts/setup.sh fetches .cache/test-media; a missing file
//! fails the test with that hint): Pillow's hopper in several formats and orientations, its
//! truncated/broken files and decompression bombs, and the phone photos of Debian's
//! forensics-samples-files. Expected metadata comes from running exiftool directly with other
//! flags (per tag, `-s3`, the raw GPS group), and expected pixels from the `image` crate's
//! plain decode of hopper.jpg.

mod probe_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use image::{DynamicImage, GenericImageView};
use mediasift_media::image::{
    self as img, DecodedWith, ImageError, ImageFacts, ImageLimits, ImageProxyOptions,
};
use probe_support::{media, require_tool};

/// Mean absolute difference per channel (0-255) of two same-sized images, as RGB.
fn mean_abs_diff(a: &DynamicImage, b: &DynamicImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "sizes differ");
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}

fn decode(path: &Path) -> DynamicImage {
    image::open(path).unwrap_or_else(|e| panic!("decode {}: {e}", path.display()))
}

/// `exiftool -s3 ARGS FILE`: the printed value of the one tag asked for, None if absent.
fn exiftool(file: &Path, args: &[&str]) -> Option<String> {
    require_tool("exiftool");
    let output = Command::new("exiftool")
        .arg("-s3")
        .args(args)
        .arg(file)
        .output()
        .expect("exiftool runs");
    assert!(output.status.success(), "exiftool {args:?} failed");
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// `exiftool -s2 ARGS FILE` ("Tag: value" lines) as tag → value.
fn exiftool_tags(file: &Path, args: &[&str]) -> BTreeMap<String, String> {
    require_tool("exiftool");
    let output = Command::new("exiftool")
        .arg("-s2")
        .args(args)
        .arg(file)
        .output()
        .expect("exiftool runs");
    assert!(output.status.success(), "exiftool {args:?} failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

async fn inspect_ok(path: &Path) -> ImageFacts {
    img::inspect(path, &ImageLimits::default())
        .await
        .unwrap_or_else(|e| panic!("inspect {}: {e}", path.display()))
}

async fn proxies_ok(
    path: &Path,
    facts: &ImageFacts,
    out: &Path,
    options: &ImageProxyOptions,
) -> img::ImageProxies {
    img::make_proxies(path, facts, out, options)
        .await
        .unwrap_or_else(|e| panic!("make_proxies {}: {e}", path.display()))
}

// --- forensics phone photos --------------------------------------------------------------

/// The JPEGs of forensics-samples-files. The four Xiaomi Mi A3 photos carry GPS; the Canon
/// one went through GIMP, which kept a GPS IFD holding only GPSVersionID (so: no position);
/// the WhatsApp copy has no EXIF at all.
const PHOTOS: &[(&str, bool)] = &[
    ("forensics/pic1/IMG_20200827_231612.jpg", true),
    ("forensics/pic2/IMG_20191224_234846.jpg", true),
    ("forensics/pic2/IMG_20200124_231153.jpg", true),
    ("forensics/pic2/IMG_20200608_111614.jpg", true),
    ("forensics/pic1/IMG_1054.JPG", false),
    ("forensics/pic1/IMG-20191006-WA0002.jpg", false),
];

#[tokio::test]
async fn forensics_photos_match_exiftool_tag_by_tag() {
    for &(name, has_gps) in PHOTOS {
        let path = media(name);
        let facts = inspect_ok(&path).await;
        assert_eq!(facts.format, "jpeg", "{name}");
        assert_eq!(facts.mime, "image/jpeg", "{name}");
        // Printed values, as a person sees them, and the raw GPS IFD (with -n: unsigned
        // degrees and their N/S, E/W references), in two runs.
        let printed = exiftool_tags(
            &path,
            &[
                "-Make",
                "-Model",
                "-DateTimeOriginal",
                "-File:ImageWidth",
                "-File:ImageHeight",
            ],
        );
        let raw = exiftool_tags(&path, &["-n", "-a", "-GPS:all"]);
        assert_eq!(facts.make.as_ref(), printed.get("Make"), "{name} Make");
        assert_eq!(facts.model.as_ref(), printed.get("Model"), "{name} Model");
        assert_eq!(
            facts.date_time_original.as_ref(),
            printed.get("DateTimeOriginal"),
            "{name} DateTimeOriginal"
        );
        assert_eq!(
            (facts.width.to_string(), facts.height.to_string()),
            (
                printed["ImageWidth"].clone(),
                printed["ImageHeight"].clone()
            ),
            "{name} size"
        );

        match (raw.get("GPSLatitude"), raw.get("GPSLongitude")) {
            (Some(lat), Some(lon)) => {
                assert!(has_gps, "{name} was not expected to have a position");
                let sign = |r: &str, negative: &str| {
                    if raw.get(r).map(String::as_str) == Some(negative) {
                        -1.0
                    } else {
                        1.0
                    }
                };
                let lat = lat.parse::<f64>().unwrap() * sign("GPSLatitudeRef", "S");
                let lon = lon.parse::<f64>().unwrap() * sign("GPSLongitudeRef", "W");
                let gps = facts.gps.unwrap_or_else(|| panic!("{name}: no gps"));
                assert!((gps.latitude - lat).abs() < 1e-9, "{name} {gps:?} vs {lat}");
                assert!(
                    (gps.longitude - lon).abs() < 1e-9,
                    "{name} {gps:?} vs {lon}"
                );
                let alt: f64 = raw["GPSAltitude"].parse().unwrap();
                let alt = alt * sign("GPSAltitudeRef", "1");
                assert_eq!(gps.altitude, Some(alt), "{name} altitude");
                // Brasília, about 1100 m up.
                assert!((-16.0..-15.0).contains(&gps.latitude), "{name} {gps:?}");
                assert!((-48.1..-48.0).contains(&gps.longitude), "{name} {gps:?}");
            }
            _ => {
                assert!(!has_gps, "{name} was expected to have a position");
                assert_eq!(facts.gps, None, "{name}");
            }
        }
        // The JSON for storage keeps exiftool's groups and drops the local copy's facts.
        let metadata = facts.metadata.as_object().expect("an object");
        assert!(metadata.contains_key("File:FileType"), "{name}");
        assert!(!metadata.contains_key("SourceFile"), "{name}");
        assert!(!metadata.keys().any(|k| k.starts_with("System:")), "{name}");
        if has_gps {
            assert_eq!(metadata["IFD0:Make"], "Xiaomi");
            assert_eq!(facts.metadata_readable["GPS:GPSLatitudeRef"], "South");
            assert_eq!(facts.color_space.as_deref(), Some("sRGB"), "{name}");
        }
    }
}

#[tokio::test]
async fn known_values_of_two_photos() {
    let facts = inspect_ok(&media("forensics/pic2/IMG_20200124_231153.jpg")).await;
    assert_eq!(facts.make.as_deref(), Some("Xiaomi"));
    assert_eq!(facts.model.as_deref(), Some("Mi A3"));
    assert_eq!(
        facts.date_time_original.as_deref(),
        Some("2020:01:24 23:11:53")
    );
    assert_eq!(facts.orientation, Some(3));
    assert_eq!((facts.width, facts.height), (4000, 3000));
    assert_eq!((facts.display_width, facts.display_height), (4000, 3000));
    let gps = facts.gps.expect("gps");
    assert!((gps.latitude - -15.83567).abs() < 1e-9, "{gps:?}");
    assert!(
        (gps.longitude - -48.015_563_972_222_2).abs() < 1e-9,
        "{gps:?}"
    );
    assert_eq!(gps.altitude, Some(1134.113));

    let canon = inspect_ok(&media("forensics/pic1/IMG_1054.JPG")).await;
    assert_eq!(canon.make.as_deref(), Some("Canon"));
    assert_eq!(canon.model.as_deref(), Some("Canon PowerShot SX530 HS"));
    assert_eq!(
        canon.date_time_original.as_deref(),
        Some("2020:09:12 11:49:38")
    );
    assert_eq!(canon.color_space.as_deref(), Some("GIMP built-in sRGB"));
    assert_eq!(canon.gps, None);
}

/// A 4000x3000 photo stored upside down (orientation 3): the proxy is 1920x1440 and matches
/// the decoded original turned 180° and scaled, not the original as stored.
#[tokio::test]
async fn phone_photo_proxy_is_scaled_and_turned() {
    let path = media("forensics/pic2/IMG_20200124_231153.jpg");
    let facts = inspect_ok(&path).await;
    let out = tempfile::tempdir().unwrap();
    let proxies = proxies_ok(&path, &facts, out.path(), &ImageProxyOptions::default()).await;
    assert_eq!(proxies.decoded_with, DecodedWith::ImageCrate);
    assert_eq!(
        (proxies.decoded_width, proxies.decoded_height),
        (4000, 3000)
    );
    assert_eq!(proxies.orientation_applied, Some(3));
    assert_eq!((proxies.proxy.width, proxies.proxy.height), (1920, 1440));
    assert_eq!(
        (proxies.thumbnail.width, proxies.thumbnail.height),
        (320, 240)
    );
    assert_eq!(proxies.proxy.path, out.path().join("proxy.jpg"));
    assert_eq!(proxies.thumbnail.path, out.path().join("thumbnail.jpg"));
    for rendition in [&proxies.proxy, &proxies.thumbnail] {
        let on_disk = std::fs::metadata(&rendition.path).unwrap().len();
        assert_eq!(on_disk, rendition.bytes);
        assert_eq!(
            image::image_dimensions(&rendition.path).unwrap(),
            (rendition.width, rendition.height)
        );
    }
    assert!(proxies.proxy.bytes <= 5_000_000);

    let proxy = decode(&proxies.proxy.path);
    let stored = decode(&path).resize_exact(1920, 1440, image::imageops::FilterType::Triangle);
    let turned = stored.rotate180();
    let right = mean_abs_diff(&proxy, &turned);
    let wrong = mean_abs_diff(&proxy, &stored);
    println!("orientation 3 photo: vs turned {right:.2}, vs as stored {wrong:.2}");
    assert!(
        right < 4.0,
        "proxy differs from the turned original by {right}"
    );
    assert!(wrong > 4.0 * right, "as stored {wrong} vs turned {right}");
}

/// A proxy over `proxy_max_bytes` is shrunk until it fits: the Canon photo (1280x960) makes a
/// 330 kB proxy at full size; held to 60 kB it comes out smaller, aspect kept.
#[tokio::test]
async fn proxy_shrinks_to_fit_its_byte_limit() {
    let path = media("forensics/pic1/IMG_1054.JPG");
    let facts = inspect_ok(&path).await;
    let out = tempfile::tempdir().unwrap();
    let full = proxies_ok(&path, &facts, &out.path().join("full"), &Default::default()).await;
    assert_eq!((full.proxy.width, full.proxy.height), (1280, 960));
    assert!(full.proxy.bytes > 60_000, "{:?}", full.proxy);

    let options = ImageProxyOptions {
        proxy_max_bytes: 60_000,
        ..ImageProxyOptions::default()
    };
    let small = proxies_ok(&path, &facts, &out.path().join("small"), &options).await;
    println!(
        "60 kB proxy: {}x{} {} bytes",
        small.proxy.width, small.proxy.height, small.proxy.bytes
    );
    assert!(small.proxy.bytes <= 60_000, "{:?}", small.proxy);
    assert!(small.proxy.width < 1280, "{:?}", small.proxy);
    let aspect = f64::from(small.proxy.width) / f64::from(small.proxy.height);
    assert!((aspect - 4.0 / 3.0).abs() < 0.01, "aspect {aspect}");
    assert_eq!(
        std::fs::metadata(&small.proxy.path).unwrap().len(),
        small.proxy.bytes
    );
}

/// The RAW route (embedded preview + the RAW's orientation), exercised on a phone JPEG told
/// to be a DNG: its largest embedded image is the 320x240 EXIF thumbnail, stored upside down
/// like the photo, so the proxy must match the real photo's proxy scaled down.
#[tokio::test]
async fn raw_route_proxies_the_embedded_preview_with_the_raws_orientation() {
    let path = media("forensics/pic2/IMG_20200124_231153.jpg");
    let real = inspect_ok(&path).await;
    let out = tempfile::tempdir().unwrap();
    let full = proxies_ok(&path, &real, &out.path().join("full"), &Default::default()).await;

    let as_raw = ImageFacts {
        format: "dng".into(),
        ..real.clone()
    };
    let raw = proxies_ok(&path, &as_raw, &out.path().join("raw"), &Default::default()).await;
    assert_eq!(
        raw.decoded_with,
        DecodedWith::EmbeddedPreview {
            tag: "IFD1:ThumbnailImage".into()
        }
    );
    assert_eq!((raw.decoded_width, raw.decoded_height), (320, 240));
    assert_eq!(raw.orientation_applied, Some(3));
    assert_eq!((raw.proxy.width, raw.proxy.height), (320, 240));

    let preview = decode(&raw.proxy.path);
    let reference = decode(&full.thumbnail.path);
    let right = mean_abs_diff(&preview, &reference);
    let wrong = mean_abs_diff(&preview, &reference.rotate180());
    println!("raw route: vs full proxy {right:.2}, vs unturned {wrong:.2}");
    assert!(right < 8.0, "preview differs from the photo by {right}");
    assert!(wrong > 3.0 * right, "unturned {wrong} vs turned {right}");
}

// --- Pillow's hopper: orientations and formats ---------------------------------------------

/// hopper_orientation_N.jpg stores hopper transformed so that EXIF orientation N shows it
/// upright. Measured: the oriented proxies differ from hopper.jpg by 5.0-5.2 (both are JPEG
/// encodings of hopper, and the proxy one more), the stored pixels by 59-82; a bound of 8.0
/// fails any wrong orientation.
#[tokio::test]
async fn orientations_2_to_8_come_out_upright() {
    let reference = decode(&media("pillow/hopper.jpg"));
    assert_eq!(reference.dimensions(), (128, 128));
    let out = tempfile::tempdir().unwrap();
    for n in 2u8..=8 {
        let path = media(&format!("pillow/hopper_orientation_{n}.jpg"));
        let facts = inspect_ok(&path).await;
        assert_eq!(facts.orientation, Some(n));
        assert_eq!(
            exiftool(&path, &["-n", "-Orientation"]),
            Some(n.to_string())
        );
        assert_eq!((facts.display_width, facts.display_height), (128, 128));
        let dir = out.path().join(n.to_string());
        let proxies = proxies_ok(&path, &facts, &dir, &ImageProxyOptions::default()).await;
        assert_eq!(proxies.orientation_applied, Some(n));
        assert_eq!((proxies.proxy.width, proxies.proxy.height), (128, 128));
        let proxy = decode(&proxies.proxy.path);
        let upright = mean_abs_diff(&proxy, &reference);
        let stored = mean_abs_diff(&decode(&path), &reference);
        println!("orientation {n}: proxy vs hopper {upright:.2}, stored vs hopper {stored:.2}");
        assert!(upright < 8.0, "orientation {n}: proxy differs by {upright}");
        assert!(
            stored > 30.0,
            "orientation {n}: stored pixels differ by only {stored}"
        );
    }
}

/// A HEIC made here from hopper.jpg with libheif's heif-enc.
fn hopper_heic(dir: &Path) -> PathBuf {
    let heic = dir.join("hopper.heic");
    let output = Command::new("heif-enc")
        .args(["-q", "90", "-o"])
        .arg(&heic)
        .arg(media("pillow/hopper.jpg"))
        .output()
        .expect("heif-enc runs: install libheif-examples (scripts/setup.sh)");
    assert!(output.status.success(), "heif-enc failed: {output:?}");
    heic
}

/// Every format hopper comes in decodes to hopper: PNG, TIFF, WebP, GIF (a 256-colour
/// palette), BMP, AVIF and HEIC (through heif-convert). Measured mean
/// differences from hopper.jpg: 3.1 (jpeg, png, tiff, bmp), 3.6 (heic), 4.1 (gif), 4.8
/// (webp), 5.0 (avif); a wrong or garbled decode is far above the bounds.
#[tokio::test]
async fn hopper_in_every_format() {
    let reference = decode(&media("pillow/hopper.jpg"));
    let out = tempfile::tempdir().unwrap();
    let heic = hopper_heic(out.path());
    let cases: Vec<(PathBuf, &str, &str, DecodedWith, f64)> = vec![
        (
            media("pillow/hopper.jpg"),
            "jpeg",
            "image/jpeg",
            DecodedWith::ImageCrate,
            4.0,
        ),
        (
            media("pillow/hopper.png"),
            "png",
            "image/png",
            DecodedWith::ImageCrate,
            8.0,
        ),
        (
            media("pillow/hopper.tif"),
            "tiff",
            "image/tiff",
            DecodedWith::ImageCrate,
            8.0,
        ),
        (
            media("pillow/hopper.webp"),
            "webp",
            "image/webp",
            DecodedWith::ImageCrate,
            8.0,
        ),
        (
            media("pillow/hopper.gif"),
            "gif",
            "image/gif",
            DecodedWith::ImageCrate,
            8.0,
        ),
        (
            media("pillow/hopper.bmp"),
            "bmp",
            "image/bmp",
            DecodedWith::ImageCrate,
            8.0,
        ),
        (
            media("pillow/hopper.avif"),
            "avif",
            "image/avif",
            DecodedWith::HeifConvert,
            8.0,
        ),
        (heic, "heic", "image/heic", DecodedWith::HeifConvert, 8.0),
    ];
    for (path, format, mime, with, tolerance) in cases {
        let facts = inspect_ok(&path).await;
        assert_eq!((facts.format.as_str(), facts.mime.as_str()), (format, mime));
        assert_eq!((facts.width, facts.height), (128, 128), "{format}");
        let proxies =
            proxies_ok(&path, &facts, &out.path().join(format), &Default::default()).await;
        assert_eq!(proxies.decoded_with, with, "{format}");
        assert_eq!((proxies.proxy.width, proxies.proxy.height), (128, 128));
        let diff = mean_abs_diff(&decode(&proxies.proxy.path), &reference);
        println!("{format}: proxy vs hopper.jpg {diff:.2}");
        assert!(diff < tolerance, "{format}: differs by {diff}");
    }
}

/// A transparent corner of an RGBA PNG comes out white, not black.
#[tokio::test]
async fn transparency_is_composited_on_white() {
    let path = media("forensics/pic1/debian.png");
    let source = decode(&path).to_rgba8();
    assert_eq!(source.get_pixel(0, 0).0[3], 0, "the corner is transparent");
    let facts = inspect_ok(&path).await;
    let out = tempfile::tempdir().unwrap();
    let proxies = proxies_ok(&path, &facts, out.path(), &Default::default()).await;
    assert_eq!((proxies.proxy.width, proxies.proxy.height), (800, 600));
    assert_eq!(
        (proxies.thumbnail.width, proxies.thumbnail.height),
        (320, 240)
    );
    let corner = decode(&proxies.proxy.path).to_rgb8().get_pixel(0, 0).0;
    assert!(corner.iter().all(|&c| c > 245), "corner {corner:?}");
}

/// PPM: no decoder in the image crate as built here, so ffmpeg decodes it; GIMP's XCF:
/// exiftool knows it, nothing installed decodes it.
#[tokio::test]
async fn other_formats_go_through_ffmpeg_or_are_unsupported() {
    let out = tempfile::tempdir().unwrap();
    let ppm = media("forensics/pic1/debian.ppm");
    let facts = inspect_ok(&ppm).await;
    assert_eq!(
        (facts.format.as_str(), facts.width, facts.height),
        ("ppm", 800, 600)
    );
    let proxies = proxies_ok(&ppm, &facts, &out.path().join("ppm"), &Default::default()).await;
    assert_eq!(proxies.decoded_with, DecodedWith::Ffmpeg);
    assert_eq!((proxies.proxy.width, proxies.proxy.height), (800, 600));

    let xcf = media("forensics/pic1/debian.xcf");
    let facts = inspect_ok(&xcf).await;
    assert_eq!(facts.format, "xcf");
    let error = img::make_proxies(&xcf, &facts, out.path(), &Default::default())
        .await
        .expect_err("no decoder for XCF");
    assert!(matches!(error, ImageError::Unsupported { .. }), "{error:?}");
    assert!(
        error.to_string().contains("no local decoder for XCF"),
        "{error}"
    );
}

// --- bombs, damage, and what is not an image ------------------------------------------------

/// A GIF whose logical screen is `screen` and whose single frame, at (0,0), is `frame`, with
/// valid (empty) LZW data.
fn handmade_gif(screen: (u16, u16), frame: (u16, u16)) -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend(screen.0.to_le_bytes());
    gif.extend(screen.1.to_le_bytes());
    gif.extend([0x80, 0, 0]); // a global colour table of 2 entries
    gif.extend([0, 0, 0, 255, 255, 255]);
    gif.extend([0x2C, 0, 0, 0, 0]);
    gif.extend(frame.0.to_le_bytes());
    gif.extend(frame.1.to_le_bytes());
    gif.push(0);
    // LZW minimum code size 2; one sub-block with the clear code (4) and end code (5).
    gif.extend([2, 1, 0x2C, 0, 0x3B]);
    gif
}

/// A 45-byte GIF whose header claims 65535x65535 (4.3 gigapixels) is refused by inspect, from
/// the header alone; and even when handed facts that lie (hopper's 128x128), make_proxies
/// checks the decoder's own header before reading a pixel.
#[tokio::test]
async fn header_over_the_pixel_limit_is_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.gif");
    std::fs::write(&path, handmade_gif((65535, 65535), (1, 1))).unwrap();
    let error = img::inspect(&path, &ImageLimits::default())
        .await
        .expect_err("over the limit");
    match &error {
        ImageError::TooLarge {
            width,
            height,
            max_pixels,
            ..
        } => assert_eq!((*width, *height, *max_pixels), (65535, 65535, 178_956_970)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("huge.gif") && message.contains("downscale"),
        "{message}"
    );

    let hopper = inspect_ok(&media("pillow/hopper.gif")).await;
    let error = img::make_proxies(&path, &hopper, dir.path(), &Default::default())
        .await
        .expect_err("the decoder's header is over the limit");
    assert!(
        matches!(
            error,
            ImageError::TooLarge {
                width: 65535,
                height: 65535,
                ..
            }
        ),
        "{error:?}"
    );
}

/// A GIF bomb of the kind Pillow tests for: a 32x32 screen whose frame claims 4000x4000.
/// The header is within limits; the decoder may allocate only what the 32x32 header justifies
/// (plus scratch), so the 64 MB frame buffer is refused rather than allocated.
#[tokio::test]
async fn frame_larger_than_its_header_is_refused_not_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("frame-bomb.gif");
    std::fs::write(&path, handmade_gif((32, 32), (4000, 4000))).unwrap();
    let facts = inspect_ok(&path).await;
    assert_eq!((facts.width, facts.height), (32, 32));
    let error = img::make_proxies(&path, &facts, dir.path(), &Default::default())
        .await
        .expect_err("refused");
    let message = error.to_string();
    assert!(matches!(error, ImageError::Corrupt { .. }), "{error:?}");
    assert!(message.contains("decompression bomb"), "{message}");
}

/// Pillow's decompression_bomb.gif: Pillow measures a GIF by its screen *and* its first
/// frame's extents (65535x1321 at row 65280 here) and refuses it on open. Its header (the
/// logical screen, which exiftool and the image crate report) is only 32x32, within any sane
/// limit: so the pixel limit is tested with a limit lowered below 32x32 = 1024. With the
/// default limit, inspect passes (exiftool warns "File format error") and make_proxies finds
/// the file ends inside the frame: Corrupt, with nothing allocated.
#[tokio::test]
async fn pillows_decompression_bomb_gif() {
    let path = media("pillow/decompression_bomb.gif");
    let error = img::inspect(&path, &ImageLimits { max_pixels: 1000 })
        .await
        .expect_err("32x32 is over a 1000-pixel limit");
    assert!(
        matches!(
            error,
            ImageError::TooLarge {
                width: 32,
                height: 32,
                max_pixels: 1000,
                ..
            }
        ),
        "{error:?}"
    );

    let facts = inspect_ok(&path).await;
    assert_eq!((facts.width, facts.height), (32, 32));
    assert!(
        facts.warnings.iter().any(|w| w == "File format error"),
        "{:?}",
        facts.warnings
    );
    let out = tempfile::tempdir().unwrap();
    let error = img::make_proxies(&path, &facts, out.path(), &Default::default())
        .await
        .expect_err("the frame data is missing");
    assert!(matches!(error, ImageError::Corrupt { .. }), "{error:?}");
}

/// Pillow's decompression_bomb_extents.gif: a 100x100 screen whose second frame sits at
/// (65535, 65535); Pillow refuses it when seeking to that frame. Only the first frame is
/// decoded here, so it proxies as 100x100; its header is within limits, so the limit is
/// tested lowered below 100x100.
#[tokio::test]
async fn pillows_decompression_bomb_extents_gif() {
    let path = media("pillow/decompression_bomb_extents.gif");
    let facts = inspect_ok(&path).await;
    assert_eq!((facts.width, facts.height), (100, 100));
    assert_eq!(facts.metadata["GIF:FrameCount"], 2);
    let out = tempfile::tempdir().unwrap();
    let proxies = proxies_ok(&path, &facts, out.path(), &Default::default()).await;
    assert_eq!((proxies.proxy.width, proxies.proxy.height), (100, 100));

    let error = img::inspect(&path, &ImageLimits { max_pixels: 9_999 })
        .await
        .expect_err("over a lowered limit");
    assert!(matches!(error, ImageError::TooLarge { .. }), "{error:?}");
    let error = img::make_proxies(
        &path,
        &facts,
        out.path(),
        &ImageProxyOptions {
            limits: ImageLimits { max_pixels: 9_999 },
            ..Default::default()
        },
    )
    .await
    .expect_err("over a lowered limit");
    assert!(matches!(error, ImageError::TooLarge { .. }), "{error:?}");
}

/// truncated_jpeg.jpg (100x100, its scan cut short) reads fine by its header; the JPEG
/// decoder would fill the missing part with grey, so the structure check refuses it.
/// truncated_image.png (640x480) fails in the PNG decoder. broken.png has no IHDR: exiftool
/// finds no dimensions, so inspect refuses it. All are errors, none panics.
#[tokio::test]
async fn truncated_and_broken_files_are_corrupt() {
    let out = tempfile::tempdir().unwrap();
    for (name, size) in [
        ("pillow/truncated_jpeg.jpg", (100, 100)),
        ("pillow/truncated_image.png", (640, 480)),
    ] {
        let path = media(name);
        let facts = inspect_ok(&path).await;
        assert_eq!((facts.width, facts.height), size, "{name}");
        let error = img::make_proxies(&path, &facts, out.path(), &Default::default())
            .await
            .expect_err(name);
        let message = error.to_string();
        println!("{name}: {message}");
        assert!(
            matches!(error, ImageError::Corrupt { .. }),
            "{name}: {error:?}"
        );
        assert!(message.contains("upload it again"), "{message}");
    }
    let png = inspect_ok(&media("pillow/truncated_image.png")).await;
    assert_eq!(png.warnings, ["Truncated PNG image"]);

    let broken = media("pillow/broken.png");
    let error = img::inspect(&broken, &ImageLimits::default())
        .await
        .expect_err("no dimensions");
    let message = error.to_string();
    assert!(matches!(error, ImageError::Corrupt { .. }), "{error:?}");
    assert!(
        message.contains("PNG image did not start with IHDR"),
        "{message}"
    );
    assert!(!out.path().join("proxy.jpg").exists());
}

#[tokio::test]
async fn what_is_not_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = media("forensics/text1/a-text.pdf");
    let error = img::inspect(&pdf, &ImageLimits::default())
        .await
        .expect_err("a PDF");
    assert!(matches!(error, ImageError::Unsupported { .. }), "{error:?}");
    assert!(
        error.to_string().contains("PDF (application/pdf)"),
        "{error}"
    );

    // Noise: exiftool reports "Unknown file type", or, trusting a .jpg name to guess the
    // parser, "File format error"; either way it is not an image.
    for (name, said) in [
        ("noise.bin", "Unknown file type"),
        ("noise.jpg", "File format error"),
    ] {
        let noise = dir.path().join(name);
        std::fs::write(&noise, probe_support::random_bytes(4096)).unwrap();
        let error = img::inspect(&noise, &ImageLimits::default())
            .await
            .expect_err(name);
        assert!(matches!(error, ImageError::Unsupported { .. }), "{error:?}");
        assert!(error.to_string().contains(said), "{error}");
    }

    let missing = dir.path().join("missing.jpg");
    let error = img::inspect(&missing, &ImageLimits::default())
        .await
        .expect_err("missing");
    assert!(matches!(error, ImageError::NotFound { .. }), "{error:?}");
    let error = img::inspect(dir.path(), &ImageLimits::default())
        .await
        .expect_err("a folder");
    assert!(matches!(error, ImageError::NotAFile { .. }), "{error:?}");

    // A 161x1 JPEG (forensics' empty.jpg) is odd but fine.
    let thin = media("forensics/pic1/empty.jpg");
    let facts = inspect_ok(&thin).await;
    let proxies = proxies_ok(&thin, &facts, dir.path(), &Default::default()).await;
    assert_eq!((proxies.proxy.width, proxies.proxy.height), (161, 1));
}

/// A name starting with '-' is a file, not an option, for every tool.
#[tokio::test]
async fn dash_names_are_files() {
    let dir = tempfile::tempdir().unwrap();
    let cwd_relative = dir.path().join("-n.jpg");
    std::fs::copy(media("pillow/hopper_orientation_6.jpg"), &cwd_relative).unwrap();
    let facts = inspect_ok(&cwd_relative).await;
    assert_eq!(facts.orientation, Some(6));
    let proxies = proxies_ok(&cwd_relative, &facts, dir.path(), &Default::default()).await;
    assert_eq!(proxies.orientation_applied, Some(6));
}
