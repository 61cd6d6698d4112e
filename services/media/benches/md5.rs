//! Throughput of `ResumableHasher::update` over a 64 MiB in-memory buffer: MD5 alone and
//! MD5 + SHA-256. Run with `cargo bench -p mediasift-media --bench md5`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mediasift_media::hash::{HashOptions, ResumableHasher};

const LEN: usize = 64 * 1024 * 1024;
/// Fed in slices the size of `hash_stream`'s read buffer.
const SLICE: usize = 2 * 1024 * 1024;

fn data() -> Vec<u8> {
    // Cheap deterministic filler; hash speed does not depend on the content.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..LEN)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn update(c: &mut Criterion) {
    let data = data();
    let mut group = c.benchmark_group("hash_update_64MiB");
    group.throughput(Throughput::Bytes(LEN as u64));
    group.sample_size(10);
    for (name, options) in [
        ("md5", HashOptions { sha256: false }),
        ("md5+sha256", HashOptions { sha256: true }),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut hasher = ResumableHasher::new(options);
                for slice in data.chunks(SLICE) {
                    hasher.update(black_box(slice));
                }
                black_box(hasher.finalize())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, update);
criterion_main!(benches);
