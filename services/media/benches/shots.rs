//! The shot detector's per-frame work, without decoding: `Analyzer::push_rgb` over 2,000
//! textured 64x36 RGB frames (what ffmpeg hands it), with a cut every 50 frames. Run with
//! `cargo bench -p mediasift-media --bench shots`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mediasift_media::shots::{Analyzer, DetectorConfig};

const WIDTH: usize = 64;
const HEIGHT: usize = 36;
const FRAMES: usize = 2000;

fn frames() -> Vec<Vec<u8>> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..FRAMES)
        .map(|i| {
            let look = (i / 50) as u8;
            (0..WIDTH * HEIGHT * 3)
                .map(|p| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    look.wrapping_mul(37)
                        .wrapping_add((p % 97) as u8)
                        .wrapping_add((state & 7) as u8)
                })
                .collect()
        })
        .collect()
}

fn analyse(c: &mut Criterion) {
    let frames = frames();
    let mut group = c.benchmark_group("shot_analyzer_64x36");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("push_rgb", |b| {
        b.iter(|| {
            let mut analyzer = Analyzer::new(DetectorConfig::default());
            for frame in &frames {
                analyzer.push_rgb(black_box(frame), WIDTH, HEIGHT);
            }
            black_box(analyzer.stats().len())
        })
    });
    group.finish();
}

criterion_group!(benches, analyse);
criterion_main!(benches);
