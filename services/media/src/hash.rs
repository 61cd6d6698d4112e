//! Fixity checksums (MD5, optionally SHA-256) that can be paused and resumed.
//!
//! # Why resumable
//!
//! mediasift ingests objects of up to hundreds of GB. MD5 runs at well under 1 GB/s on one
//! core, so hashing such an object takes longer than one AWS Lambda invocation may run
//! (15 minutes at most). The hash is therefore computed in slices: an invocation hashes as
//! much as its time budget allows, saves the hasher's state into a small [`HashState`]
//! (a few hundred bytes of JSON, so it fits in an EventBridge event), and sends itself an
//! event carrying that state. The next invocation resumes from it. The final digest equals
//! the one a single pass over the whole object would give, because the saved state is the
//! hash algorithm's exact internal state — chaining value, length counter and the partially
//! filled 64-byte block — serialized by the `md-5`/`sha2` crates themselves.
//!
//! # How a caller continues
//!
//! Each invocation resumes the saved state (or starts afresh), opens the object at
//! [`HashState::bytes_hashed`] — on AWS an S3 `GetObject` with `Range: bytes={offset}-` —
//! and lets [`hash_stream`] run until end of object or until its budget is spent:
//!
//! ```no_run
//! use std::io::SeekFrom;
//! use std::path::Path;
//! use std::time::Duration;
//!
//! use mediasift_media::hash::{
//!     HashError, HashOptions, HashState, Progress, ResumableHasher, hash_stream,
//! };
//! use tokio::io::AsyncSeekExt;
//!
//! /// One invocation's share of the work.
//! async fn hash_slice(
//!     path: &Path,
//!     saved: Option<&HashState>,
//!     budget: Duration,
//! ) -> Result<Progress, HashError> {
//!     let hasher = match saved {
//!         Some(state) => ResumableHasher::resume(state)?,
//!         None => ResumableHasher::new(HashOptions { sha256: true }),
//!     };
//!     // A local file stands in for the ranged GET here.
//!     let open_error = |source| HashError::Open { path: path.to_path_buf(), source };
//!     let mut file = tokio::fs::File::open(path).await.map_err(open_error)?;
//!     let offset = hasher.bytes_hashed();
//!     file.seek(SeekFrom::Start(offset)).await.map_err(open_error)?;
//!     hash_stream(file, hasher, Some(budget)).await
//! }
//! ```
//!
//! On [`Progress::Paused`] the caller puts `serde_json::to_string(&state)` into the event it
//! sends itself and returns; on [`Progress::Done`] it has the digests. A read error
//! ([`HashError::Read`]) carries the state reached too, so a retry need not start over.
//!
//! If a paused state's `bytes_hashed()` already equals the object's size (possible when the
//! size is an exact multiple of the read buffer), skip the read — a ranged GET starting at the
//! end of an object fails — and call [`ResumableHasher::resume`] then
//! [`ResumableHasher::finalize`].
//!
//! A [`HashState`] is validated before use: a state that was corrupted, edited, written by
//! another layout version, or whose byte count disagrees with the hash states it carries is
//! rejected with [`HashError::InvalidState`], never accepted silently and never a panic.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use md5::Md5;
use md5::digest::common::hazmat::SerializableState;
use md5::digest::typenum::Unsigned;
use md5::digest::{Digest, block_api::BlockSizeUser};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Size of each of the two read buffers [`hash_stream`] allocates once per call.
const CHUNK_SIZE: usize = 2 * 1024 * 1024;

/// With both algorithms on, a chunk is fed to them in slices this size, so the second
/// algorithm reads the bytes from cache rather than memory.
const INTERLEAVE: usize = 64 * 1024;

/// Layout version of [`HashState`]. It also pins the serialization format of the `md-5` and
/// `sha2` states: bump it if a dependency upgrade changes that format.
const STATE_VERSION: u32 = 1;

/// Domain separator of the [`HashState`] check value.
const CHECK_DOMAIN: &[u8] = b"mediasift hash state v1\0";
/// Length of the check value in bytes (16 hex digits).
const CHECK_LEN: usize = 8;

/// The largest byte count a state may claim: both algorithms count the message length in
/// bits in a `u64`.
const MAX_BYTES: u64 = u64::MAX / 8;

/// Which checksums to compute. MD5 is always computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashOptions {
    /// Also compute SHA-256.
    pub sha256: bool,
}

/// Final digests of a stream, as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digests {
    /// MD5, 32 lowercase hex digits.
    pub md5: String,
    /// SHA-256, 64 lowercase hex digits, if [`HashOptions::sha256`] was set.
    pub sha256: Option<String>,
}

/// Outcome of [`hash_stream`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The reader reached end of file; these are the digests of everything hashed.
    Done(Digests),
    /// The time budget ran out first. Continue with [`ResumableHasher::resume`] and a reader
    /// positioned at [`HashState::bytes_hashed`].
    Paused(HashState),
}

/// Why hashing or resuming failed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The file could not be opened.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Reading the input failed.
    #[error("reading the input failed at byte {offset}: {source}")]
    Read {
        /// Absolute offset in the object of the failed read.
        offset: u64,
        /// The underlying error.
        source: io::Error,
        /// State covering every byte hashed before the failure, so that a retry (a new ranged
        /// read from its [`bytes_hashed`](HashState::bytes_hashed)) loses no work.
        state: Box<HashState>,
    },
    /// A saved [`HashState`] cannot be resumed.
    #[error("cannot resume hashing: {0}")]
    InvalidState(#[from] StateError),
    /// The blocking task that hashes a chunk did not complete (the runtime shut down).
    #[error("hashing task failed: {0}")]
    Task(String),
}

/// What is wrong with a [`HashState`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The state was written by a different layout version.
    #[error("hash state has version {found}, this build reads version {STATE_VERSION}")]
    Version {
        /// Version found in the state.
        found: u32,
    },
    /// A field is not hexadecimal.
    #[error("hash state field `{field}` is not valid hex")]
    NotHex {
        /// Field name.
        field: &'static str,
    },
    /// A field decodes to the wrong number of bytes.
    #[error("hash state field `{field}` holds {found} bytes, expected {expected}")]
    Length {
        /// Field name.
        field: &'static str,
        /// Expected byte length.
        expected: usize,
        /// Byte length found.
        found: usize,
    },
    /// The check value does not match the rest of the state.
    #[error(
        "hash state check value does not match its contents: the state was corrupted or edited"
    )]
    Checksum,
    /// The hash library rejected the serialized state.
    #[error("hash state field `{field}` is not a valid serialized {field} state")]
    Rejected {
        /// Field (algorithm) name.
        field: &'static str,
    },
    /// The byte count disagrees with the count inside an algorithm's state.
    #[error(
        "hash state says {declared} bytes were hashed, but its `{field}` state covers {}",
        describe_count(*.in_state)
    )]
    ByteCount {
        /// Field (algorithm) name.
        field: &'static str,
        /// `bytes_hashed` of the state.
        declared: u64,
        /// Count encoded in the algorithm's state (`None`: out of range).
        in_state: Option<u64>,
    },
}

fn describe_count(count: Option<u64>) -> String {
    match count {
        Some(count) => format!("{count} bytes"),
        None => "an out-of-range number of bytes".to_owned(),
    }
}

/// Serialized hasher state, saved by [`ResumableHasher::save`] and restored by
/// [`ResumableHasher::resume`].
///
/// Serializes to a JSON object of at most about 480 bytes with both algorithms (about 250
/// with MD5 only): `version`, `bytes_hashed`, `md5` and optional `sha256` (hex of each
/// library-serialized state, partially filled block included) and `check` (16 hex digits of
/// SHA-256 over the rest, which detects corruption and edits; it is not a signature against
/// deliberate forgery). The fields are private: [`ResumableHasher::resume`] validates them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashState {
    version: u32,
    bytes_hashed: u64,
    md5: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    check: String,
}

impl HashState {
    /// Number of bytes hashed so far: the offset at which the next read must start.
    pub fn bytes_hashed(&self) -> u64 {
        self.bytes_hashed
    }

    /// Whether the state includes SHA-256.
    pub fn has_sha256(&self) -> bool {
        self.sha256.is_some()
    }
}

/// MD5 (and optionally SHA-256) of a byte stream fed in pieces, whose state can be saved and
/// resumed in another process.
#[derive(Debug, Clone)]
pub struct ResumableHasher {
    md5: Md5,
    sha256: Option<Sha256>,
    bytes_hashed: u64,
}

impl Default for ResumableHasher {
    /// An MD5-only hasher.
    fn default() -> Self {
        Self::new(HashOptions::default())
    }
}

impl ResumableHasher {
    /// A hasher at the start of a stream.
    pub fn new(options: HashOptions) -> Self {
        Self {
            md5: Md5::new(),
            sha256: options.sha256.then(Sha256::new),
            bytes_hashed: 0,
        }
    }

    /// The algorithms this hasher computes.
    pub fn options(&self) -> HashOptions {
        HashOptions {
            sha256: self.sha256.is_some(),
        }
    }

    /// Feeds the next bytes of the stream.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.sha256 {
            None => self.md5.update(data),
            Some(sha256) => {
                for piece in data.chunks(INTERLEAVE) {
                    self.md5.update(piece);
                    sha256.update(piece);
                }
            }
        }
        // Wrapping like the algorithms' own length counters; unreachable in practice (16 EiB).
        self.bytes_hashed = self.bytes_hashed.wrapping_add(data.len() as u64);
    }

    /// Number of bytes fed so far, including those of the slices before a resume.
    pub fn bytes_hashed(&self) -> u64 {
        self.bytes_hashed
    }

    /// Saves the state; the hasher itself can keep going.
    pub fn save(&self) -> HashState {
        let md5 = self.md5.serialize();
        let sha256 = self.sha256.as_ref().map(SerializableState::serialize);
        let check = check_value(self.bytes_hashed, &md5, sha256.as_deref());
        HashState {
            version: STATE_VERSION,
            bytes_hashed: self.bytes_hashed,
            md5: hex::encode(md5),
            sha256: sha256.map(hex::encode),
            check: hex::encode(check),
        }
    }

    /// Restores a hasher from a saved state, after checking that the state is intact and
    /// self-consistent.
    pub fn resume(state: &HashState) -> Result<Self, HashError> {
        if state.version != STATE_VERSION {
            return Err(StateError::Version {
                found: state.version,
            }
            .into());
        }
        let md5_bytes = decode(&state.md5, Md5::FIELD, Md5::serialized_len())?;
        let sha256_bytes = state
            .sha256
            .as_deref()
            .map(|hex| decode(hex, Sha256::FIELD, Sha256::serialized_len()))
            .transpose()?;
        let check = decode(&state.check, "check", CHECK_LEN)?;
        if check != check_value(state.bytes_hashed, &md5_bytes, sha256_bytes.as_deref()) {
            return Err(StateError::Checksum.into());
        }

        // The check value is not a signature: whoever can edit the state can recompute it.
        // Also require the byte count to agree with the counters inside the algorithm
        // states and to stay in range, so a crafted state cannot make the algorithms'
        // length arithmetic overflow.
        let md5 = restore::<Md5>(&md5_bytes, state.bytes_hashed)?;
        let sha256 = sha256_bytes
            .map(|bytes| restore::<Sha256>(&bytes, state.bytes_hashed))
            .transpose()?;
        Ok(Self {
            md5,
            sha256,
            bytes_hashed: state.bytes_hashed,
        })
    }

    /// Finishes the stream and returns the digests.
    pub fn finalize(self) -> Digests {
        Digests {
            md5: hex::encode(self.md5.finalize()),
            sha256: self.sha256.map(|sha256| hex::encode(sha256.finalize())),
        }
    }
}

fn decode(hex_text: &str, field: &'static str, expected: usize) -> Result<Vec<u8>, StateError> {
    let bytes = hex::decode(hex_text).map_err(|_| StateError::NotHex { field })?;
    if bytes.len() != expected {
        return Err(StateError::Length {
            field,
            expected,
            found: bytes.len(),
        });
    }
    Ok(bytes)
}

fn check_value(bytes_hashed: u64, md5: &[u8], sha256: Option<&[u8]>) -> [u8; CHECK_LEN] {
    let mut hasher = Sha256::new();
    hasher.update(CHECK_DOMAIN);
    hasher.update(bytes_hashed.to_le_bytes());
    hasher.update(md5);
    match sha256 {
        Some(sha256) => {
            hasher.update([1]);
            hasher.update(sha256);
        }
        None => hasher.update([0]),
    }
    let digest = hasher.finalize();
    let mut check = [0; CHECK_LEN];
    check.copy_from_slice(&digest[..CHECK_LEN]);
    check
}

/// A hash algorithm whose state [`HashState`] carries.
trait Algorithm: SerializableState + BlockSizeUser + Sized {
    /// Field of [`HashState`] holding the state.
    const FIELD: &'static str;
    /// Serialized size of the core state (chaining value and block counter); the
    /// serialized block buffer follows it.
    const CORE_LEN: usize;

    /// Length of the whole serialized state (core state and block buffer).
    fn serialized_len() -> usize {
        Self::SerializedStateSize::USIZE
    }
}

impl Algorithm for Md5 {
    const FIELD: &'static str = "md5";
    const CORE_LEN: usize =
        <md5::block_api::Md5Core as SerializableState>::SerializedStateSize::USIZE;
}

impl Algorithm for Sha256 {
    const FIELD: &'static str = "sha256";
    const CORE_LEN: usize =
        <sha2::block_api::Sha256VarCore as SerializableState>::SerializedStateSize::USIZE;
}

/// Deserializes one algorithm's state and checks its byte count against `declared`.
fn restore<H: Algorithm>(bytes: &[u8], declared: u64) -> Result<H, StateError> {
    let field = H::FIELD;
    let serialized = bytes
        .try_into()
        .map_err(|_| StateError::Rejected { field })?;
    let hasher = H::deserialize(&serialized).map_err(|_| StateError::Rejected { field })?;
    let in_state = bytes_in_state::<H>(bytes);
    if in_state != Some(declared) || declared > MAX_BYTES {
        return Err(StateError::ByteCount {
            field,
            declared,
            in_state,
        });
    }
    Ok(hasher)
}

/// The number of bytes a serialized MD5/SHA-256 state has consumed.
///
/// The `md-5` 0.11 and `sha2` 0.11 serializations are the core state followed by the block
/// buffer. The core state ends with the count of compressed blocks (`u64`, little endian);
/// the buffer starts with the count of buffered bytes (one byte). A unit test pins this
/// layout, and [`STATE_VERSION`] must change with it.
fn bytes_in_state<H: Algorithm>(serialized: &[u8]) -> Option<u64> {
    let block_count = serialized.get(H::CORE_LEN.checked_sub(8)?..H::CORE_LEN)?;
    let block_count = u64::from_le_bytes(block_count.try_into().ok()?);
    let buffered = u64::from(*serialized.get(H::CORE_LEN)?);
    block_count
        .checked_mul(H::BlockSize::U64)?
        .checked_add(buffered)
}

/// Hashes `reader` to its end, or until `budget` is spent, whichever comes first.
///
/// `hasher` is fresh or [resumed](ResumableHasher::resume); `reader` must start at
/// `hasher.bytes_hashed()` of the object (a ranged read when resuming). Reads go into two
/// reused 2 MiB buffers: while one chunk is hashed on tokio's blocking pool (so the async
/// worker is not stalled and I/O overlaps hashing), the next one is read. Outside a tokio
/// runtime the chunks are hashed inline.
///
/// The budget is checked between chunks, and at least one chunk is hashed per call so that
/// every call makes progress; the call therefore overruns the budget by at most one chunk's
/// read plus hash. A reader that stalls is not interrupted: give it its own timeouts.
/// `None` means no budget: hash to the end.
///
/// Returns [`Progress::Done`] at end of file and [`Progress::Paused`] when the budget ran out
/// first. A read error is returned as [`HashError::Read`] carrying the state reached so far.
/// Cancelling the future loses this call's progress (the hasher is moved in).
pub async fn hash_stream<R>(
    mut reader: R,
    mut hasher: ResumableHasher,
    budget: Option<Duration>,
) -> Result<Progress, HashError>
where
    R: AsyncRead + Unpin,
{
    let started = Instant::now();
    let start_offset = hasher.bytes_hashed();
    let mut current = vec![0_u8; CHUNK_SIZE];
    let mut next = vec![0_u8; CHUNK_SIZE];

    let mut len = read_chunk(&mut reader, &mut current, hasher.bytes_hashed())
        .await
        .map_err(|failure| failure.into_error(&hasher))?;
    loop {
        if len == 0 {
            return Ok(Progress::Done(finish(hasher, start_offset, started)));
        }
        // A short chunk means the reader hit end of file: hash it and finish, budget or not.
        let at_end = len < CHUNK_SIZE;
        let offset_after = hasher.bytes_hashed().wrapping_add(len as u64);
        let pending = Hashing::start(hasher, current, len);
        let budget_spent = budget.is_some_and(|budget| started.elapsed() >= budget);
        let read = if at_end || budget_spent {
            None
        } else {
            Some(read_chunk(&mut reader, &mut next, offset_after).await)
        };
        (hasher, current) = pending.finish().await?;

        match read {
            None if at_end => return Ok(Progress::Done(finish(hasher, start_offset, started))),
            None => {
                let state = hasher.save();
                tracing::debug!(
                    bytes_hashed = state.bytes_hashed,
                    slice_bytes = state.bytes_hashed.wrapping_sub(start_offset),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "hash budget spent, pausing"
                );
                return Ok(Progress::Paused(state));
            }
            Some(read) => {
                len = read.map_err(|failure| failure.into_error(&hasher))?;
                std::mem::swap(&mut current, &mut next);
            }
        }
    }
}

/// MD5 of a local file, as lowercase hex.
pub async fn md5_file(path: impl AsRef<Path>) -> Result<String, HashError> {
    let path = path.as_ref();
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|source| HashError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    match hash_stream(file, ResumableHasher::default(), None).await? {
        Progress::Done(digests) => Ok(digests.md5),
        // Without a budget the stream only stops at end of file; should that ever change,
        // finishing the saved state is still correct.
        Progress::Paused(state) => Ok(ResumableHasher::resume(&state)?.finalize().md5),
    }
}

fn finish(hasher: ResumableHasher, start_offset: u64, started: Instant) -> Digests {
    tracing::debug!(
        bytes_hashed = hasher.bytes_hashed(),
        slice_bytes = hasher.bytes_hashed().wrapping_sub(start_offset),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "hashing reached end of stream"
    );
    hasher.finalize()
}

/// A failed read of [`read_chunk`].
struct ReadFailure {
    offset: u64,
    source: io::Error,
}

impl ReadFailure {
    /// The error for the caller, with the state of `hasher`, which has hashed everything
    /// before the chunk that failed.
    fn into_error(self, hasher: &ResumableHasher) -> HashError {
        HashError::Read {
            offset: self.offset,
            source: self.source,
            state: Box::new(hasher.save()),
        }
    }
}

/// Reads until `buf` is full or the reader is at end of file; returns the bytes read.
/// `offset` is the object offset of `buf[0]`, for the error.
async fn read_chunk<R>(reader: &mut R, buf: &mut [u8], offset: u64) -> Result<usize, ReadFailure>
where
    R: AsyncRead + Unpin,
{
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]).await {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(ReadFailure {
                    offset: offset.wrapping_add(filled as u64),
                    source,
                });
            }
        }
    }
    Ok(filled)
}

/// One chunk being hashed, on the blocking pool when a tokio runtime is available.
#[expect(
    clippy::large_enum_variant,
    reason = "lives on the stack for one chunk; boxing would allocate per chunk"
)]
enum Hashing {
    Spawned(tokio::task::JoinHandle<(ResumableHasher, Vec<u8>)>),
    Inline(ResumableHasher, Vec<u8>),
}

impl Hashing {
    fn start(mut hasher: ResumableHasher, buf: Vec<u8>, len: usize) -> Self {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => Self::Spawned(runtime.spawn_blocking(move || {
                hasher.update(&buf[..len]);
                (hasher, buf)
            })),
            Err(_) => {
                hasher.update(&buf[..len]);
                Self::Inline(hasher, buf)
            }
        }
    }

    async fn finish(self) -> Result<(ResumableHasher, Vec<u8>), HashError> {
        match self {
            Self::Spawned(task) => task
                .await
                .map_err(|error| HashError::Task(error.to_string())),
            Self::Inline(hasher, buf) => Ok((hasher, buf)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the serialized layout `bytes_in_state` relies on.
    #[test]
    fn byte_count_is_read_from_the_serialized_states() {
        for len in [0_usize, 1, 63, 64, 65, 130, 4096 + 17] {
            let mut hasher = ResumableHasher::new(HashOptions { sha256: true });
            hasher.update(&vec![0xa5; len]);
            let md5 = hasher.md5.serialize();
            let sha256 = hasher.sha256.as_ref().map(SerializableState::serialize);
            assert_eq!(bytes_in_state::<Md5>(&md5), Some(len as u64));
            assert_eq!(
                sha256.as_deref().and_then(bytes_in_state::<Sha256>),
                Some(len as u64)
            );
        }
    }

    /// Re-signs an edited state the way a forger who read this file could.
    fn forge(state: &HashState, md5: &[u8]) -> HashState {
        let sha256 = state
            .sha256
            .as_deref()
            .map(|hex| hex::decode(hex).expect("hex"));
        HashState {
            md5: hex::encode(md5),
            check: hex::encode(check_value(state.bytes_hashed, md5, sha256.as_deref())),
            ..state.clone()
        }
    }

    fn sample_state() -> (HashState, Vec<u8>) {
        let mut hasher = ResumableHasher::new(HashOptions { sha256: true });
        hasher.update(b"abc");
        let state = hasher.save();
        let md5 = hex::decode(&state.md5).expect("hex");
        (state, md5)
    }

    #[test]
    fn forged_state_with_a_valid_check_value_is_still_checked() {
        let (state, md5) = sample_state();
        assert!(ResumableHasher::resume(&forge(&state, &md5)).is_ok());

        // Block counter near u64::MAX: the length arithmetic would overflow.
        let mut huge = md5.clone();
        huge[Md5::CORE_LEN - 8..Md5::CORE_LEN].copy_from_slice(&u64::MAX.to_le_bytes());
        // Buffer position 64: not a valid eager block buffer.
        let mut full_buffer = md5.clone();
        full_buffer[Md5::CORE_LEN] = 64;
        // Garbage after the buffered bytes.
        let mut tail = md5.clone();
        *tail.last_mut().expect("non-empty") = 1;
        // One block more than `bytes_hashed` says.
        let mut one_block_more = md5;
        one_block_more[Md5::CORE_LEN - 8] = 1;

        for (forged, expected) in [
            (huge, "ByteCount"),
            (full_buffer, "Rejected"),
            (tail, "Rejected"),
            (one_block_more, "ByteCount"),
        ] {
            let error = ResumableHasher::resume(&forge(&state, &forged))
                .expect_err("forged state accepted");
            let HashError::InvalidState(error) = error else {
                panic!("unexpected error {error}");
            };
            assert!(format!("{error:?}").starts_with(expected), "{error:?}");
            assert!(error.to_string().contains("md5"), "{error}");
        }
    }
}
