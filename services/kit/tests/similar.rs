//! The near-duplicate index on the SQLite state store (a database file in a temporary
//! folder): completeness within 7 bits, exact distances and order, idempotent adds, removal,
//! and spilling to overflow items.

use std::collections::BTreeSet;
use std::sync::Arc;

use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::StateStore;
use mediasift_kit::similar::{Entry, EntryKind, Match, NearDuplicateIndex, TABLE};
use mediasift_media::phash::{PHash, hamming};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

struct Fixture {
    _dir: tempfile::TempDir,
    state: Arc<SqliteStateStore>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(SqliteStateStore::open(&dir.path().join("state.db")).unwrap());
        Self { _dir: dir, state }
    }

    fn index(&self) -> NearDuplicateIndex {
        NearDuplicateIndex::new(self.state.clone())
    }

    /// The members of one item of the index (none when it does not exist).
    async fn members(&self, key: &str) -> Vec<String> {
        let Some(item) = self.state.get(TABLE, key).await.unwrap() else {
            return Vec::new();
        };
        item.value
            .get("members")
            .and_then(|m| m.as_array())
            .map(|m| m.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    }

    /// The `overflow` count of a bucket's base item.
    async fn overflow(&self, key: &str) -> u64 {
        self.state
            .get(TABLE, key)
            .await
            .unwrap()
            .and_then(|item| item.value.get("overflow").and_then(|n| n.as_u64()))
            .unwrap_or(0)
    }
}

/// `hash` with `k` distinct random bits flipped.
fn flip(rng: &mut StdRng, hash: PHash, k: u32) -> PHash {
    let mut bits = BTreeSet::new();
    while bits.len() < k as usize {
        bits.insert(rng.random_range(0..64u32));
    }
    PHash(bits.iter().fold(hash.0, |h, bit| h ^ (1 << bit)))
}

fn asset(n: u128) -> Uuid {
    Uuid::from_u128(0xa55e_7000 + n)
}

/// The key of band 0's bucket of `hash` (its most significant byte).
fn band0(hash: PHash) -> String {
    format!("b0-{:02x}", hash.0 >> 56)
}

fn entries_of(matches: &[Match]) -> Vec<Entry> {
    matches.iter().map(|m| m.entry).collect()
}

#[tokio::test]
async fn every_entry_within_seven_bits_is_found() {
    let fixture = Fixture::new();
    let index = fixture.index();
    let mut rng = StdRng::seed_from_u64(0x51_3117);
    // A library of random hashes, and clusters of near copies (1..=7 bits from a centre) so
    // that queries have several true neighbours.
    let mut library = Vec::new();
    for n in 0..200u128 {
        library.push(Entry::image(asset(n), PHash(rng.random())));
    }
    for n in 0..40u128 {
        let centre = PHash(rng.random());
        library.push(Entry::video_frame(asset(1000 + n), 0, centre));
        for copy in 1..=4u64 {
            let k = rng.random_range(1..=7);
            let near = flip(&mut rng, centre, k);
            library.push(Entry::video_frame(asset(1000 + n), copy * 1000, near));
        }
    }
    index.add(&library).await.unwrap();

    let trials = 400;
    for trial in 0..trials {
        let target = library[rng.random_range(0..library.len())];
        let k = rng.random_range(0..=7);
        let query = flip(&mut rng, target.hash, k);
        let found = index.near(query, 7, usize::MAX).await.unwrap();
        let expected: BTreeSet<String> = library
            .iter()
            .filter(|e| hamming(e.hash, query) <= 7)
            .map(Entry::to_string)
            .collect();
        let got: BTreeSet<String> = found.iter().map(|m| m.entry.to_string()).collect();
        assert_eq!(
            got, expected,
            "trial {trial}: query {query} ({k} bits from {target})"
        );
        assert!(
            found.iter().any(|m| m.entry == target && m.distance == k),
            "trial {trial}: {target} at {k} bits not found"
        );
        for m in &found {
            assert_eq!(m.distance, hamming(m.entry.hash, query));
        }
    }
}

#[tokio::test]
async fn distances_are_exact_and_matches_sorted() {
    let fixture = Fixture::new();
    let index = fixture.index();
    let query = PHash(0x9f3a_c41d_0e77_b258);
    let mut rng = StdRng::seed_from_u64(7);
    let mut entries = Vec::new();
    // Three assets at distances 7, 3, 0, 5, 1 and two frames at the same distance.
    for (n, k) in [(3u128, 7u32), (1, 3), (2, 0), (0, 5), (4, 1)] {
        entries.push(Entry::image(asset(n), flip(&mut rng, query, k)));
    }
    let frame_hash = flip(&mut rng, query, 3);
    entries.push(Entry::video_frame(asset(9), 2000, frame_hash));
    entries.push(Entry::video_frame(asset(9), 1000, frame_hash));
    entries.push(Entry::video_frame(asset(0), 5000, flip(&mut rng, query, 3)));
    index.add(&entries).await.unwrap();

    let found = index.near(query, 7, 100).await.unwrap();
    let summary: Vec<(u32, Uuid, Option<u64>)> = found
        .iter()
        .map(|m| (m.distance, m.entry.asset_id, m.entry.position_ms))
        .collect();
    assert_eq!(
        summary,
        [
            (0, asset(2), None),
            (1, asset(4), None),
            (3, asset(0), Some(5000)),
            (3, asset(1), None),
            (3, asset(9), Some(1000)),
            (3, asset(9), Some(2000)),
            (5, asset(0), None),
            (7, asset(3), None),
        ]
    );
    for m in &found {
        assert_eq!(m.distance, hamming(m.entry.hash, query));
    }
    assert_eq!(found[4].entry.kind, EntryKind::VideoFrame);
    assert_eq!(found[0].entry.kind, EntryKind::Image);

    // max_distance and limit cut the same order.
    let within_3 = index.near(query, 3, 100).await.unwrap();
    assert_eq!(within_3, found[..6]);
    let first_two = index.near(query, 7, 2).await.unwrap();
    assert_eq!(first_two, found[..2]);
    assert!(index.near(query, 7, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn adding_again_changes_nothing() {
    let fixture = Fixture::new();
    let index = fixture.index();
    let hash = PHash(0x0123_4567_89ab_cdef);
    let entry = Entry::video_frame(asset(1), 40_000, hash);
    index.add(&[entry, entry]).await.unwrap();
    let version = fixture
        .state
        .get(TABLE, &band0(hash))
        .await
        .unwrap()
        .unwrap()
        .version;
    index.add(&[entry]).await.unwrap();

    let found = index.near(hash, 7, 10).await.unwrap();
    assert_eq!(found, [Match { entry, distance: 0 }]);
    assert_eq!(fixture.members(&band0(hash)).await.len(), 1);
    let after = fixture
        .state
        .get(TABLE, &band0(hash))
        .await
        .unwrap()
        .unwrap()
        .version;
    assert_eq!(
        after, version,
        "an entry already there is not written again"
    );
}

#[tokio::test]
async fn removed_entries_are_not_found() {
    let fixture = Fixture::new();
    let index = fixture.index();
    let hash = PHash(0xfeed_f00d_dead_beef);
    let kept = Entry::image(asset(1), hash);
    let removed = Entry::image(asset(2), flip(&mut StdRng::seed_from_u64(1), hash, 2));
    index.add(&[kept, removed]).await.unwrap();
    assert_eq!(index.near(hash, 7, 10).await.unwrap().len(), 2);

    index.remove(&[removed]).await.unwrap();
    assert_eq!(entries_of(&index.near(hash, 7, 10).await.unwrap()), [kept]);
    // Removing what is not there is fine; removing the last member empties the buckets.
    index
        .remove(&[removed, Entry::image(asset(3), PHash(1))])
        .await
        .unwrap();
    index.remove(&[kept]).await.unwrap();
    assert!(index.near(hash, 64, 10).await.unwrap().is_empty());
    assert!(fixture.members(&band0(hash)).await.is_empty());
    // And adding after a removal works.
    index.add(&[removed]).await.unwrap();
    assert_eq!(
        entries_of(&index.near(hash, 7, 10).await.unwrap()),
        [removed]
    );
}

#[tokio::test]
async fn full_buckets_spill_to_overflow_items_and_stay_complete() {
    let fixture = Fixture::new();
    let index = fixture.index().with_bucket_capacity(3);
    let hash = PHash(0x5a5a_0f0f_3c3c_9696);
    let mut rng = StdRng::seed_from_u64(99);
    // 20 entries on exactly the same hash fill every one of its 8 buckets 20 deep.
    let same: Vec<Entry> = (0..20u128)
        .map(|n| Entry::video_frame(asset(n), n as u64 * 1000, hash))
        .collect();
    index.add(&same).await.unwrap();
    let base = band0(hash);
    assert_eq!(fixture.members(&base).await.len(), 3);
    assert_eq!(fixture.overflow(&base).await, 6, "3 + 6 x 3 >= 20");
    assert_eq!(fixture.members(&format!("{base}-6")).await.len(), 2);

    // Then one at a time, near copies sharing only some buckets.
    let mut near = Vec::new();
    for n in 20..30u128 {
        let k = rng.random_range(1..=7);
        let entry = Entry::image(asset(n), flip(&mut rng, hash, k));
        index.add(&[entry]).await.unwrap();
        near.push(entry);
    }
    let found = index.near(hash, 7, usize::MAX).await.unwrap();
    let expected: BTreeSet<String> = same.iter().chain(&near).map(Entry::to_string).collect();
    let got: BTreeSet<String> = found.iter().map(|m| m.entry.to_string()).collect();
    assert_eq!(got, expected);
    for entry in &near {
        let found = index.near(entry.hash, 0, usize::MAX).await.unwrap();
        assert!(found.iter().any(|m| m.entry == *entry), "{entry}");
    }

    // No item ever holds more than the capacity.
    for band in 0..8u32 {
        let key = format!("b{band}-{:02x}", (hash.0 >> (56 - 8 * band)) & 0xff);
        let overflow = fixture.overflow(&key).await;
        assert!(overflow >= 6, "{key}: {overflow}");
        for item in std::iter::once(key.clone()).chain((1..=overflow).map(|n| format!("{key}-{n}")))
        {
            let members = fixture.members(&item).await.len();
            assert!(members <= 3, "{item} holds {members}");
        }
    }

    // Room freed by a removal is used again before any new overflow item.
    index.remove(&same[..2]).await.unwrap();
    let before = fixture.overflow(&base).await;
    index.add(&same[..2]).await.unwrap();
    assert_eq!(fixture.overflow(&base).await, before);
    assert_eq!(index.near(hash, 0, usize::MAX).await.unwrap().len(), 20);
}

#[tokio::test]
async fn concurrent_adds_never_overfill_a_bucket() {
    let fixture = Fixture::new();
    let hash = PHash(0x1111_2222_3333_4444);
    let writers = (0..6u128).map(|w| {
        let index = fixture.index().with_bucket_capacity(2);
        tokio::spawn(async move {
            for n in 0..5u128 {
                let entry = Entry::video_frame(asset(w * 100 + n), 0, hash);
                index.add(&[entry]).await.unwrap();
            }
        })
    });
    for writer in futures::future::join_all(writers).await {
        writer.unwrap();
    }
    let index = fixture.index();
    assert_eq!(index.near(hash, 0, usize::MAX).await.unwrap().len(), 30);
    let base = band0(hash);
    let overflow = fixture.overflow(&base).await;
    let mut held = 0;
    for item in std::iter::once(base.clone()).chain((1..=overflow).map(|n| format!("{base}-{n}"))) {
        let members = fixture.members(&item).await.len();
        assert!(members <= 2, "{item} holds {members}");
        held += members;
    }
    assert_eq!(held, 30, "each entry once per bucket");
}

#[tokio::test]
async fn unrelated_hashes_are_not_returned() {
    let fixture = Fixture::new();
    let index = fixture.index();
    let stored = PHash(0xc3a5_5a3c_0ff0_9669);
    index.add(&[Entry::image(asset(1), stored)]).await.unwrap();

    // 14 bits away but sharing band 0: found only when asked for that far.
    let mut far = stored.0;
    for band in 1..8 {
        far ^= 0b11 << (56 - 8 * band);
    }
    let far = PHash(far);
    assert_eq!(hamming(stored, far), 14);
    assert!(index.near(far, 7, 10).await.unwrap().is_empty());
    assert_eq!(index.near(far, 14, 10).await.unwrap().len(), 1);

    // Sharing no band: not found at any distance (the index is complete only within 7).
    let unrelated = PHash(!stored.0);
    assert!(index.near(unrelated, 7, 10).await.unwrap().is_empty());
    assert!(index.near(unrelated, 64, 10).await.unwrap().is_empty());
}
