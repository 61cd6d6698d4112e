//! Pattern matching throughput: 300 mixed rules over a stream of mediasift-like events
//! (`PatternSet::matching`), and one typical rule alone (`Pattern::matches`).
//!
//! `cargo bench -p mediasift-kit --bench pattern`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mediasift_kit::Pattern;
use mediasift_kit::pattern::PatternSet;
use serde_json::{Value, json};

const SERVICES: &[&str] = &[
    "ingest", "video", "audio", "image", "document", "scene", "adbreak", "graph",
];
const DETAIL_TYPES: &[&str] = &[
    "Video Ingested",
    "Audio Ingested",
    "Image Ingested",
    "Document Ingested",
    "Video Analysis Completed",
    "Audio Analysis Completed",
    "Scenes Detected",
    "Ad Breaks Detected",
    "Asset Analysis Completed",
    "Processing Failed",
];

/// Rule `i` of the set: ten shapes of rule, mostly anchored on an exact `source` or
/// `detail-type` as real subscriptions are, one in ten testing only content.
fn rule(i: usize) -> Value {
    let source = format!("mediasift.{}", SERVICES[i % SERVICES.len()]);
    let detail_type = DETAIL_TYPES[i % DETAIL_TYPES.len()];
    let n = i as u64;
    match i % 10 {
        0 => json!({"source": [source], "detail-type": [detail_type]}),
        1 => json!({
            "source": [source], "detail-type": [detail_type],
            "detail": {"technical": {"width": [{"numeric": [">=", 640 + n * 10]}]}}
        }),
        2 => json!({
            "source": [{"prefix": "mediasift."}], "detail-type": [detail_type],
            "detail": {"status": [{"anything-but": ["failed", "cancelled"]}]}
        }),
        3 => json!({
            "source": ["aws.s3"], "detail-type": ["Object Created"],
            "detail": {
                "bucket": {"name": [format!("media-{}", n % 7)]},
                "object": {"key": [{"suffix": ".mp4"}, {"wildcard": "uploads/*/video/*.mov"}]}
            }
        }),
        4 => json!({
            "source": [source],
            "detail": {
                "metadata": {"tenant": [{"exists": true}]},
                "plan": {"profile": [{"equals-ignore-case": format!("Profile-{}", n % 5)}]}
            }
        }),
        5 => json!({
            "detail-type": ["Processing Failed"],
            "detail": {
                "error": {"code": [{"prefix": {"equals-ignore-case": "timeout"}}]},
                "$or": [{"retryable": [true]}, {"attempt": [{"numeric": ["<", 1 + n % 4]}]}]
            }
        }),
        6 => json!({
            "source": [source],
            "detail": {"origin": {"clientIp": [{"cidr": "10.0.0.0/8"}, {"cidr": "2001:db8::/32"}]}}
        }),
        7 => json!({
            "source": [source], "detail-type": [detail_type],
            "detail": {"outputs": {"proxy": [{"exists": false}]}, "technical": {"audioTracks": {"codec": ["aac"]}}}
        }),
        8 => json!({
            "resources": [{"wildcard": format!("arn:aws:s3:::media-{}/*", n % 7)}],
            "detail": {"assetId": [{"prefix": format!("{:x}", n % 16)}]}
        }),
        _ => json!({
            "source": [source], "detail-type": [detail_type],
            "detail": {
                "fixity": {"sha256": [{"exists": true}]},
                "technical": {"durationSeconds": [{"numeric": [">", 1, "<=", 60 + n]}]}
            }
        }),
    }
}

/// Event `i` of the stream: an EventBridge envelope with a nested `detail`.
fn event(i: usize) -> Value {
    let n = i as u64;
    let (source, detail_type) = if i % 6 == 5 {
        ("aws.s3".to_owned(), "Object Created")
    } else {
        (
            format!("mediasift.{}", SERVICES[i % SERVICES.len()]),
            DETAIL_TYPES[i % DETAIL_TYPES.len()],
        )
    };
    let asset_id = format!("{:x}3f9c2e-5b1d-4c8a-9e7f-{:012x}", i % 16, n * 7919);
    json!({
        "version": "0",
        "id": format!("6a7e8feb-b491-4cf7-a9f1-bf3703467718-{i}"),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-03-01T12:00:00Z",
        "region": "eu-west-1",
        "resources": [format!("arn:aws:s3:::media-{}/uploads/{asset_id}/video/clip.mov", n % 7)],
        "detail": {
            "assetId": asset_id,
            "schemaVersion": "1.2",
            "status": (["done", "failed", "pending"][i % 3]),
            "attempt": n % 5,
            "retryable": i.is_multiple_of(2),
            "metadata": {"tenant": format!("tenant-{}", n % 3), "correlationId": format!("c-{i}")},
            "bucket": {"name": format!("media-{}", n % 7)},
            "object": {"key": format!("uploads/{asset_id}/video/clip.{}", ["mov", "mp4", "mkv"][i % 3]), "size": 1_000_000 + n * 4_096},
            "origin": {"clientIp": (["10.1.2.3", "192.168.0.9", "2001:db8::42", "203.0.113.7"][i % 4])},
            "error": {"code": (["TimeoutError", "Throttled", "timeout.ffprobe"][i % 3]), "message": "ffprobe exceeded 30s"},
            "fixity": {"sha256": format!("{:064x}", n * 1_000_003), "etag": format!("\"{:032x}\"", n)},
            "plan": {"profile": format!("profile-{}", n % 5), "analyses": ["scenes", "transcript", "labels"]},
            "technical": {
                "container": "mov,mp4,m4a,3gp,3g2,mj2",
                "durationSeconds": 12.5 + (n % 90) as f64,
                "videoCodec": "h264",
                "width": ([1280, 1920, 3840][i % 3]),
                "height": ([720, 1080, 2160][i % 3]),
                "frameRate": "30000/1001",
                "audioTracks": [
                    {"index": 1, "codec": (["aac", "opus"][i % 2]), "channels": 2, "language": "en"},
                    {"index": 2, "codec": "ac3", "channels": 6, "language": "fr"}
                ]
            },
            "outputs": (if i.is_multiple_of(4) { json!({}) } else { json!({"proxy": format!("{asset_id}/proxy.mp4")}) })
        }
    })
}

fn benches(c: &mut Criterion) {
    let patterns: Vec<Pattern> = (0..300)
        .map(|i| Pattern::from_value(&rule(i)).unwrap_or_else(|e| panic!("rule {i}: {e}")))
        .collect();
    let events: Vec<Value> = (0..256).map(event).collect();
    let set = PatternSet::new(patterns);
    let matches: usize = events.iter().map(|e| set.matching(e).len()).sum();
    println!(
        "{} rules, {} events, {:.1} matching rules per event",
        set.len(),
        events.len(),
        matches as f64 / events.len() as f64
    );

    let mut group = c.benchmark_group("pattern_set");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("matching_300_rules", |b| {
        b.iter(|| {
            for event in &events {
                black_box(set.matching(black_box(event)));
            }
        })
    });
    group.finish();

    let typical = Pattern::from_value(&json!({
        "source": ["mediasift.video"],
        "detail-type": ["Video Analysis Completed"],
        "detail": {"status": ["done"], "technical": {"width": [{"numeric": [">=", 1280]}]}}
    }))
    .expect("the typical rule is valid");
    let mut group = c.benchmark_group("pattern");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("matches_typical_rule", |b| {
        b.iter(|| {
            for event in &events {
                black_box(typical.matches(black_box(event)));
            }
        })
    });
    group.finish();
}

criterion_group!(pattern_benches, benches);
criterion_main!(pattern_benches);
