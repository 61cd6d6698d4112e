//! The library-wide near-duplicate index of perceptual hashes ([`PHash`]): which images and
//! video frames of any asset look like a given one, on any [`StateStore`] (SQLite locally,
//! DynamoDB on AWS, through the same code), without a scan.
//!
//! # Multi-index hashing
//!
//! A 64-bit hash is cut into [`BANDS`] bands of 8 bits, band 0 being its most significant
//! byte. Each entry is a member of one bucket per band: the bucket of that band's value. A
//! query reads the query hash's 8 buckets (8 gets, plus their overflow items) and computes
//! the true Hamming distance of every member found.
//!
//! **Completeness**: two hashes within Hamming distance [`COMPLETE_WITHIN`] (7) differ in at
//! most 7 of the 8 bands, so by the pigeonhole principle they agree exactly on at least one
//! band and share its bucket. A query therefore finds *every* entry within 7 bits of the
//! query hash. An entry 8 or more bits away is found only when it happens to share a band
//! with the query hash: [`NearDuplicateIndex::near`] accepts any `max_distance`, but beyond 7
//! its answer is a subset of the entries within that distance, not all of them.
//!
//! # Layout
//!
//! Table [`TABLE`] (`similar`), one item per bucket, key `b<band>-<two hex digits>` (e.g.
//! `b3-a7`), holding:
//!
//! - `members`: a set of strings, one per entry, `<assetId>|<kind>|<position>|<hash>`:
//!   kind `i` (an image) or `f` (a video frame), the frame's position in milliseconds or `-`,
//!   and the hash's 16 hex digits, e.g.
//!   `0b9d3d4e-8a4f-4c2e-9b1e-2f1d3c4b5a69|f|12000|d1c4e0f0a8b0c0e0` (at most 76 bytes);
//! - `overflow`: how many overflow items the bucket has (absent: none).
//!
//! Each asset also has a bucket of its own, key `a-<assetId>`, holding its entries the same
//! way, so [`NearDuplicateIndex::entries_of`] can list them (`mediasift similar ASSET`).
//!
//! A bucket item holds at most the index's bucket capacity of members
//! ([`DEFAULT_BUCKET_CAPACITY`], 4096: at most about 311 KB of members, within DynamoDB's
//! 400 KB per item). Further members spill to overflow items `b<band>-<hex>-<n>`, n = 1, 2, …,
//! whose count the base item's `overflow` field keeps; queries read the base item and each
//! of its overflow items.
//!
//! # Writes
//!
//! [`NearDuplicateIndex::add`] reads each bucket it touches (base and overflow items), skips
//! the members already there (so adding the same entries again, as a re-delivered event
//! does, changes nothing), and adds the rest with `AddToSet` to the first items with room,
//! each write conditioned on the version it read so that concurrent writers cannot take an
//! item past its capacity (a writer that loses the race reads again). When no item has
//! room, the writer first increments `overflow` (atomically: concurrent writers get distinct
//! numbers) and then creates the overflow item of the number it got; a writer stopped in
//! between leaves a number without an item, which readers take as an empty item.
//!
//! An add that fails part way leaves some buckets written: adding the same entries again
//! completes it. Until then the entries are found only through the buckets written.
//!
//! [`NearDuplicateIndex::remove`] deletes the members from whichever items of their buckets
//! hold them (`RemoveFromSet`); overflow items stay, and later adds fill the room freed.
//!
//! # Costs and limits
//!
//! An add costs, per bucket touched, one read per item of the bucket and one write per item
//! written; a query costs one read per item of its 8 buckets. Hashes are not spread evenly
//! over the buckets (flat pictures have hashes with few bits set, so the buckets of the
//! bytes `00` and `80` fill first): a query on such a hash reads their overflow items too.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
/// The hash the index keys on (re-exported: the index's callers need no other media type).
pub use mediasift_media::phash::PHash;
use mediasift_media::phash::hamming;
use rand::Rng;
use serde_json::Value;
use uuid::Uuid;

use crate::ports::{Condition, Item, Retryable, StateError, StateStore, Update};

/// The state table the index lives in.
pub const TABLE: &str = "similar";
/// Bands of 8 bits a hash is cut into.
pub const BANDS: u32 = 8;
/// The largest Hamming distance within which a query is complete: `BANDS - 1`.
pub const COMPLETE_WITHIN: u32 = BANDS - 1;
/// Members a bucket item holds at most unless told otherwise
/// ([`NearDuplicateIndex::with_bucket_capacity`]): 4096 members of at most 76 bytes are
/// 311 KB, within DynamoDB's 400 KB per item.
pub const DEFAULT_BUCKET_CAPACITY: usize = 4096;

const MEMBERS: &str = "members";
const OVERFLOW: &str = "overflow";
/// Tries of a bucket write that keeps losing races before giving up as
/// [`SimilarError::Contended`].
const MAX_ATTEMPTS: u32 = 10;
/// Buckets (or items of a bucket) read or written at once.
const CONCURRENCY: usize = 8;

/// What a hash was taken of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// A still image.
    Image,
    /// A frame of a video.
    VideoFrame,
}

impl EntryKind {
    /// `image` or `videoFrame`, as results and the CLI name them.
    pub fn name(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::VideoFrame => "videoFrame",
        }
    }

    fn code(self) -> char {
        match self {
            Self::Image => 'i',
            Self::VideoFrame => 'f',
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "i" => Some(Self::Image),
            "f" => Some(Self::VideoFrame),
            _ => None,
        }
    }
}

/// One hash in the index: of an image, or of a video frame at a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entry {
    pub asset_id: Uuid,
    pub kind: EntryKind,
    /// Where the frame is in its video, in milliseconds; `None` for an image.
    pub position_ms: Option<u64>,
    pub hash: PHash,
}

impl Entry {
    /// The hash of an image.
    pub fn image(asset_id: Uuid, hash: PHash) -> Self {
        Self {
            asset_id,
            kind: EntryKind::Image,
            position_ms: None,
            hash,
        }
    }

    /// The hash of a video frame `position_ms` milliseconds into the video.
    pub fn video_frame(asset_id: Uuid, position_ms: u64, hash: PHash) -> Self {
        Self {
            asset_id,
            kind: EntryKind::VideoFrame,
            position_ms: Some(position_ms),
            hash,
        }
    }

    /// `<assetId>|<kind>|<position or ->|<hash>`.
    fn member(&self) -> String {
        let position = self
            .position_ms
            .map_or_else(|| "-".to_owned(), |ms| ms.to_string());
        format!(
            "{}|{}|{position}|{}",
            self.asset_id,
            self.kind.code(),
            self.hash.to_hex()
        )
    }

    fn from_member(member: &str) -> Option<Self> {
        let mut parts = member.split('|');
        let (asset_id, kind, position, hash) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let position_ms = match position {
            "-" => None,
            ms => Some(ms.parse().ok()?),
        };
        Some(Self {
            asset_id: Uuid::parse_str(asset_id).ok()?,
            kind: EntryKind::from_code(kind)?,
            position_ms,
            hash: PHash::from_hex(hash)?,
        })
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.member())
    }
}

/// An entry near a query hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub entry: Entry,
    /// Hamming distance to the query hash (0..=64).
    pub distance: u32,
}

impl Match {
    /// Nearest first, then by asset, position, kind and hash.
    fn order(&self) -> (u32, Uuid, Option<u64>, EntryKind, PHash) {
        let e = &self.entry;
        (self.distance, e.asset_id, e.position_ms, e.kind, e.hash)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimilarError {
    #[error(transparent)]
    State(#[from] StateError),
    /// Other writers kept changing the bucket between this writer's read and its write.
    #[error("{TABLE}/{key} changed under {MAX_ATTEMPTS} attempts in a row to add to it; try again")]
    Contended { key: String },
    /// An item of the index does not have the index's layout.
    #[error("{TABLE}/{key} is malformed: {reason}")]
    Malformed { key: String, reason: String },
}

impl Retryable for SimilarError {
    fn is_retryable(&self) -> bool {
        match self {
            Self::State(e) => e.is_retryable(),
            Self::Contended { .. } => true,
            Self::Malformed { .. } => false,
        }
    }
}

/// The near-duplicate index (see the module docs).
#[derive(Clone)]
pub struct NearDuplicateIndex {
    state: Arc<dyn StateStore>,
    capacity: usize,
}

impl fmt::Debug for NearDuplicateIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NearDuplicateIndex")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl NearDuplicateIndex {
    /// The index in `state`, with [`DEFAULT_BUCKET_CAPACITY`].
    pub fn new(state: Arc<dyn StateStore>) -> Self {
        Self {
            state,
            capacity: DEFAULT_BUCKET_CAPACITY,
        }
    }

    /// Lets a bucket item hold at most `members` members (at least 1) before spilling to an
    /// overflow item. Every writer of one index must use the same capacity; readers need not.
    pub fn with_bucket_capacity(mut self, members: usize) -> Self {
        self.capacity = members.max(1);
        self
    }

    /// Adds `entries` (those already in the index stay as they are): one write per bucket
    /// item that gains members.
    pub async fn add(&self, entries: &[Entry]) -> Result<(), SimilarError> {
        stream::iter(by_bucket(entries))
            .map(|(key, members)| async move { self.add_to_bucket(&key, &members).await })
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// The entries within `max_distance` of `hash`, nearest first (then by asset, position,
    /// kind and hash), each once, at most `limit` of them. Complete for `max_distance` up to
    /// [`COMPLETE_WITHIN`]; beyond it, only the entries sharing a band with `hash`.
    pub async fn near(
        &self,
        hash: PHash,
        max_distance: u32,
        limit: usize,
    ) -> Result<Vec<Match>, SimilarError> {
        let buckets: Vec<Bucket> = stream::iter(bucket_keys(hash))
            .map(|key| async move { self.read_bucket(&key).await })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        let mut seen = HashSet::new();
        let mut matches = Vec::new();
        for item in buckets.iter().flat_map(|b| &b.items) {
            for member in &item.members {
                if !seen.insert(member.as_str()) {
                    continue;
                }
                let Some(entry) = Entry::from_member(member) else {
                    tracing::warn!(key = item.key, member, "skipping a malformed index member");
                    continue;
                };
                let distance = hamming(hash, entry.hash);
                if distance <= max_distance {
                    matches.push(Match { entry, distance });
                }
            }
        }
        matches.sort_by_key(Match::order);
        matches.truncate(limit);
        Ok(matches)
    }

    /// The entries of one asset (an image's hash, a video's indexed frames), by position.
    pub async fn entries_of(&self, asset_id: Uuid) -> Result<Vec<Entry>, SimilarError> {
        let bucket = self.read_bucket(&asset_key(asset_id)).await?;
        let mut entries: Vec<Entry> = bucket
            .items
            .iter()
            .flat_map(|item| &item.members)
            .filter_map(|member| Entry::from_member(member))
            .filter(|entry| entry.asset_id == asset_id)
            .collect();
        entries.sort_by_key(|e| (e.position_ms, e.kind, e.hash));
        entries.dedup();
        Ok(entries)
    }

    /// Removes `entries` from the index (those not in it are ignored).
    pub async fn remove(&self, entries: &[Entry]) -> Result<(), SimilarError> {
        stream::iter(by_bucket(entries))
            .map(|(key, members)| async move { self.remove_from_bucket(&key, &members).await })
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn add_to_bucket(
        &self,
        base: &str,
        members: &BTreeSet<String>,
    ) -> Result<(), SimilarError> {
        for attempt in 0..MAX_ATTEMPTS {
            let bucket = self.read_bucket(base).await?;
            let pending: Vec<String> = members
                .iter()
                .filter(|m| !bucket.holds(m))
                .cloned()
                .collect();
            match self.place(&bucket, &pending).await {
                Err(SimilarError::State(StateError::ConditionFailed { .. })) => {
                    backoff(attempt).await;
                }
                done => return done,
            }
        }
        Err(SimilarError::Contended {
            key: base.to_owned(),
        })
    }

    /// Writes `pending` into the items of `bucket` that have room, on the versions read,
    /// then into new overflow items.
    async fn place(&self, bucket: &Bucket, pending: &[String]) -> Result<(), SimilarError> {
        let mut rest = pending;
        for item in &bucket.items {
            if rest.is_empty() {
                return Ok(());
            }
            let room = self.capacity.saturating_sub(item.members.len());
            if room == 0 {
                continue;
            }
            let (now, later) = rest.split_at(room.min(rest.len()));
            let condition = item
                .version
                .map_or(Condition::NotExists, Condition::VersionIs);
            self.state
                .update(TABLE, &item.key, &[add_members(now)], condition)
                .await?;
            rest = later;
        }
        while !rest.is_empty() {
            let base = self
                .state
                .update(
                    TABLE,
                    &bucket.key,
                    &[Update::Increment(OVERFLOW.into(), 1)],
                    Condition::Always,
                )
                .await?;
            let number = overflow_of(&base)?;
            let (now, later) = rest.split_at(self.capacity.min(rest.len()));
            self.state
                .update(
                    TABLE,
                    &overflow_key(&bucket.key, number),
                    &[add_members(now)],
                    Condition::NotExists,
                )
                .await?;
            rest = later;
        }
        Ok(())
    }

    async fn remove_from_bucket(
        &self,
        base: &str,
        members: &BTreeSet<String>,
    ) -> Result<(), SimilarError> {
        let bucket = self.read_bucket(base).await?;
        for item in &bucket.items {
            let here: Vec<String> = members
                .iter()
                .filter(|m| item.members.contains(*m))
                .cloned()
                .collect();
            if !here.is_empty() {
                let update = Update::RemoveFromSet(MEMBERS.into(), here);
                self.state
                    .update(TABLE, &item.key, &[update], Condition::Always)
                    .await?;
            }
        }
        Ok(())
    }

    /// The bucket's base item and its overflow items, as they are now.
    async fn read_bucket(&self, base: &str) -> Result<Bucket, SimilarError> {
        let item = self.state.get(TABLE, base).await?;
        let overflow = match &item {
            Some(item) => overflow_of(item)?,
            None => 0,
        };
        let mut items = vec![BucketItem::of(base, item)?];
        let overflow_items: Vec<BucketItem> = stream::iter(1..=overflow)
            .map(|n| async move {
                let key = overflow_key(base, n);
                let item = self.state.get(TABLE, &key).await?;
                BucketItem::of(&key, item)
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        items.extend(overflow_items);
        Ok(Bucket {
            key: base.to_owned(),
            items,
        })
    }
}

/// A bucket: its base item first, then its overflow items.
struct Bucket {
    /// The base item's key.
    key: String,
    items: Vec<BucketItem>,
}

impl Bucket {
    fn holds(&self, member: &str) -> bool {
        self.items.iter().any(|item| item.members.contains(member))
    }
}

/// One item of a bucket as read.
struct BucketItem {
    key: String,
    /// `None`: the item does not exist.
    version: Option<u64>,
    members: BTreeSet<String>,
}

impl BucketItem {
    fn of(key: &str, item: Option<Item>) -> Result<Self, SimilarError> {
        let Some(item) = item else {
            return Ok(Self {
                key: key.to_owned(),
                version: None,
                members: BTreeSet::new(),
            });
        };
        let members = match item.value.get(MEMBERS) {
            None => BTreeSet::new(),
            Some(Value::Array(members)) => members
                .iter()
                .map(|m| m.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| malformed(key, "members is not a set of strings"))?,
            Some(_) => return Err(malformed(key, "members is not a set of strings")),
        };
        Ok(Self {
            key: key.to_owned(),
            version: Some(item.version),
            members,
        })
    }
}

/// How many overflow items the base item says its bucket has.
fn overflow_of(base: &Item) -> Result<u64, SimilarError> {
    match base.value.get(OVERFLOW) {
        None => Ok(0),
        Some(count) => count
            .as_u64()
            .ok_or_else(|| malformed(&base.key, "overflow is not a count")),
    }
}

fn malformed(key: &str, reason: &str) -> SimilarError {
    SimilarError::Malformed {
        key: key.to_owned(),
        reason: reason.to_owned(),
    }
}

fn add_members(members: &[String]) -> Update {
    Update::AddToSet(MEMBERS.into(), members.to_vec())
}

/// The base keys of the buckets of `hash`, band 0 (its most significant byte) first.
fn bucket_keys(hash: PHash) -> impl Iterator<Item = String> {
    (0..BANDS).map(move |band| {
        let value = (hash.0 >> (56 - 8 * band)) & 0xff;
        format!("b{band}-{value:02x}")
    })
}

fn overflow_key(base: &str, number: u64) -> String {
    format!("{base}-{number}")
}

/// Each bucket touched by `entries`, with the members it gets.
fn by_bucket(entries: &[Entry]) -> BTreeMap<String, BTreeSet<String>> {
    let mut buckets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in entries {
        let member = entry.member();
        for key in bucket_keys(entry.hash) {
            buckets.entry(key).or_default().insert(member.clone());
        }
        buckets
            .entry(asset_key(entry.asset_id))
            .or_default()
            .insert(member);
    }
    buckets
}

/// The bucket listing one asset's entries: `a-<assetId>`.
fn asset_key(asset_id: Uuid) -> String {
    format!("a-{asset_id}")
}

/// A short, jittered pause before reading a contended bucket again.
async fn backoff(attempt: u32) {
    let cap_ms = (5u64 << attempt.min(6)).min(250);
    let ms = rand::rng().random_range(cap_ms / 2..=cap_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_round_trip() {
        let asset = Uuid::from_u128(0x0b9d_3d4e);
        for entry in [
            Entry::image(asset, PHash(0)),
            Entry::video_frame(asset, 12_000, PHash(u64::MAX)),
            Entry::video_frame(asset, u64::MAX, PHash(0xd1c4_e0f0_a8b0_c0e0)),
        ] {
            let member = entry.member();
            assert!(member.len() <= 76, "{member}");
            assert_eq!(Entry::from_member(&member), Some(entry), "{member}");
        }
        assert_eq!(
            Entry::video_frame(asset, 12_000, PHash(0xd1c4_e0f0_a8b0_c0e0)).member(),
            "00000000-0000-0000-0000-00000b9d3d4e|f|12000|d1c4e0f0a8b0c0e0"
        );
        for bad in [
            "",
            "x|i|-|0000000000000000",
            "00000000-0000-0000-0000-00000b9d3d4e|v|-|0000000000000000",
            "00000000-0000-0000-0000-00000b9d3d4e|i|x|0000000000000000",
            "00000000-0000-0000-0000-00000b9d3d4e|i|-|00",
            "00000000-0000-0000-0000-00000b9d3d4e|i|-|0000000000000000|",
        ] {
            assert_eq!(Entry::from_member(bad), None, "{bad}");
        }
    }

    #[test]
    fn buckets_are_the_bytes_of_the_hash() {
        let keys: Vec<String> = bucket_keys(PHash(0x0102_0304_0506_07ff)).collect();
        assert_eq!(
            keys,
            [
                "b0-01", "b1-02", "b2-03", "b3-04", "b4-05", "b5-06", "b6-07", "b7-ff"
            ]
        );
    }
}
