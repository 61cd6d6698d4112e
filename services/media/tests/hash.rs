//! Resumable checksums against the system `md5sum`/`sha256sum`, across save/resume cycles
//! through JSON, under time budgets, and against corrupt states.

use std::future::Future;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::pin::{Pin, pin};
use std::process::Command;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mediasift_media::hash::{
    Digests, HashError, HashOptions, HashState, Progress, ResumableHasher, StateError, hash_stream,
    md5_file,
};
use tokio::io::{AsyncRead, AsyncSeekExt, ReadBuf};

const BOTH: HashOptions = HashOptions { sha256: true };

/// Deterministic pseudo-random bytes (SplitMix64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

fn write_file(dir: &Path, len: usize, seed: u64) -> (PathBuf, Vec<u8>) {
    let data = Rng(seed).bytes(len);
    let path = dir.join(format!("sample-{len}.bin"));
    std::fs::write(&path, &data).expect("write sample");
    (path, data)
}

/// First field of `md5sum FILE` / `sha256sum FILE`.
fn system_digest(tool: &str, path: &Path) -> String {
    let output = Command::new(tool)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"));
    assert!(output.status.success(), "{tool} failed: {output:?}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    stdout
        .split_whitespace()
        .next()
        .expect("digest field")
        .to_owned()
}

fn system_digests(path: &Path) -> Digests {
    Digests {
        md5: system_digest("md5sum", path),
        sha256: Some(system_digest("sha256sum", path)),
    }
}

fn one_pass(data: &[u8], options: HashOptions) -> Digests {
    let mut hasher = ResumableHasher::new(options);
    hasher.update(data);
    hasher.finalize()
}

/// Save → JSON → parse → resume, asserting the JSON stays small.
fn round_trip(hasher: &ResumableHasher) -> ResumableHasher {
    let json = serde_json::to_string(&hasher.save()).expect("serialize state");
    assert!(
        json.len() < 1024,
        "state JSON is {} bytes: {json}",
        json.len()
    );
    let state: HashState = serde_json::from_str(&json).expect("parse state");
    assert_eq!(state.bytes_hashed(), hasher.bytes_hashed());
    ResumableHasher::resume(&state).expect("resume")
}

/// Drives `hash_stream` slice by slice with `budget`, reopening the file at
/// `bytes_hashed` like a follow-up invocation would; returns the digests and pause count.
async fn hash_in_slices(path: &Path, options: HashOptions, budget: Duration) -> (Digests, usize) {
    let mut hasher = ResumableHasher::new(options);
    let mut pauses = 0;
    loop {
        let mut file = tokio::fs::File::open(path).await.expect("open");
        file.seek(SeekFrom::Start(hasher.bytes_hashed()))
            .await
            .expect("seek");
        match hash_stream(file, hasher, Some(budget)).await.expect("hash") {
            Progress::Done(digests) => return (digests, pauses),
            Progress::Paused(state) => {
                pauses += 1;
                let json = serde_json::to_string(&state).expect("serialize");
                assert!(json.len() < 1024, "state JSON is {} bytes", json.len());
                let state: HashState = serde_json::from_str(&json).expect("parse");
                hasher = ResumableHasher::resume(&state).expect("resume");
            }
        }
    }
}

#[tokio::test]
async fn digests_equal_md5sum_and_sha256sum() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (seed, len) in [0, 1, 63, 64, 65, (1 << 20) + 7, 50_000_000]
        .into_iter()
        .enumerate()
    {
        let (path, data) = write_file(dir.path(), len, seed as u64);
        let expected = system_digests(&path);

        assert_eq!(
            md5_file(&path).await.expect("md5_file"),
            expected.md5,
            "{len} bytes"
        );
        let file = tokio::fs::File::open(&path).await.expect("open");
        let streamed = hash_stream(file, ResumableHasher::new(BOTH), None).await;
        assert_eq!(
            streamed.expect("hash_stream"),
            Progress::Done(expected.clone()),
            "{len} bytes"
        );
        assert_eq!(one_pass(&data, BOTH), expected, "{len} bytes");
        assert_eq!(
            one_pass(&data, HashOptions::default()),
            Digests {
                md5: expected.md5,
                sha256: None
            },
            "{len} bytes"
        );
    }
}

#[test]
fn resuming_at_random_offsets_equals_one_pass() {
    let mut rng = Rng(42);
    let data = rng.bytes(3 * 1024 * 1024 + 123);
    for options in [HashOptions::default(), BOTH] {
        let expected = one_pass(&data, options);
        for _round in 0..8 {
            // Random cut points, plus some just around block boundaries.
            let mut cuts: Vec<usize> = (0..6)
                .map(|_| rng.below(data.len() as u64) as usize)
                .chain([1, 63, 64, 65, 127, 1 << 20])
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            assert!(cuts.iter().any(|cut| cut % 64 != 0));

            let mut hasher = ResumableHasher::new(options);
            let mut from = 0;
            for cut in cuts.into_iter().chain([data.len()]) {
                hasher.update(&data[from..cut]);
                hasher = round_trip(&hasher);
                assert_eq!(hasher.bytes_hashed(), cut as u64);
                from = cut;
            }
            assert_eq!(hasher.finalize(), expected);
        }
    }
}

#[test]
fn every_small_prefix_resumes_exactly() {
    // Each partial-block fill level 0..=64 and a few past it, both algorithms.
    let data = Rng(7).bytes(200);
    let expected = one_pass(&data, BOTH);
    for cut in 0..=data.len() {
        let mut hasher = ResumableHasher::new(BOTH);
        hasher.update(&data[..cut]);
        let mut hasher = round_trip(&hasher);
        hasher.update(&data[cut..]);
        assert_eq!(hasher.finalize(), expected, "cut at {cut}");
    }
}

#[test]
fn state_json_is_small() {
    let mut hasher = ResumableHasher::new(BOTH);
    hasher.update(&[1; 1000]);
    let both = serde_json::to_string(&hasher.save()).expect("serialize");
    let md5_only = serde_json::to_string(&ResumableHasher::default().save()).expect("serialize");
    assert!(both.len() < 600, "{} bytes: {both}", both.len());
    assert!(md5_only.len() < 350, "{} bytes: {md5_only}", md5_only.len());
    assert!(!md5_only.contains("sha256"));
}

#[tokio::test]
async fn tiny_budget_pauses_and_continues_to_the_same_digests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_file(dir.path(), 9 * 1024 * 1024 + 5, 3);
    let expected = system_digests(&path);
    for budget in [Duration::ZERO, Duration::from_micros(1)] {
        let (digests, pauses) = hash_in_slices(&path, BOTH, budget).await;
        assert_eq!(digests, expected, "budget {budget:?}");
        assert!(pauses >= 4, "only {pauses} pauses with budget {budget:?}");
    }
    let (digests, pauses) = hash_in_slices(&path, BOTH, Duration::from_secs(3600)).await;
    assert_eq!((digests, pauses), (expected, 0));
}

#[tokio::test]
async fn pause_exactly_at_end_of_file_finishes_on_the_next_call() {
    // A size that is a multiple of the 2 MiB read buffer: the last pause lands on end of
    // file, and the next call reads nothing.
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = write_file(dir.path(), 4 * 1024 * 1024, 4);
    let (digests, pauses) = hash_in_slices(&path, BOTH, Duration::ZERO).await;
    assert_eq!(digests, system_digests(&path));
    assert_eq!(pauses, 2);
}

#[test]
fn works_without_a_tokio_runtime() {
    let data = Rng(5).bytes(5 * 1024 * 1024 + 3);
    let expected = one_pass(&data, BOTH);
    let mut hasher = ResumableHasher::new(BOTH);
    loop {
        let rest = &data[hasher.bytes_hashed() as usize..];
        match block_on(hash_stream(rest, hasher, Some(Duration::ZERO))).expect("hash") {
            Progress::Done(digests) => break assert_eq!(digests, expected),
            Progress::Paused(state) => hasher = ResumableHasher::resume(&state).expect("resume"),
        }
    }
}

fn valid_state_json() -> (String, Digests) {
    let data = Rng(9).bytes(1000);
    let mut hasher = ResumableHasher::new(BOTH);
    hasher.update(&data[..300]);
    let json = serde_json::to_string(&hasher.save()).expect("serialize");
    (json, one_pass(&data, BOTH))
}

fn resume_json(json: &str) -> Result<ResumableHasher, String> {
    let state: HashState = serde_json::from_str(json).map_err(|e| format!("parse: {e}"))?;
    ResumableHasher::resume(&state).map_err(|e| e.to_string())
}

fn edit_field(json: &str, field: &str, value: serde_json::Value) -> String {
    let mut object: serde_json::Value = serde_json::from_str(json).expect("parse");
    object[field] = value;
    object.to_string()
}

fn state_error(json: &str) -> StateError {
    let state: HashState = serde_json::from_str(json).expect("parse");
    match ResumableHasher::resume(&state) {
        Err(HashError::InvalidState(error)) => error,
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("corrupt state accepted: {json}"),
    }
}

#[test]
fn corrupt_states_are_rejected_with_clear_errors() {
    let (json, _) = valid_state_json();
    let original: serde_json::Value = serde_json::from_str(&json).expect("parse");
    let md5 = original["md5"].as_str().expect("md5").to_owned();
    let flip = |hex: &str, at: usize| {
        let mut chars: Vec<char> = hex.chars().collect();
        chars[at] = if chars[at] == '0' { '1' } else { '0' };
        chars.into_iter().collect::<String>()
    };

    // A flipped digit in the chaining value, the block counter or the buffered bytes.
    for at in [0, 40, 48, 60, md5.len() - 1] {
        let edited = edit_field(&json, "md5", flip(&md5, at).into());
        assert_eq!(state_error(&edited), StateError::Checksum, "digit {at}");
    }
    let edited = edit_field(&json, "bytes_hashed", 301.into());
    assert_eq!(state_error(&edited), StateError::Checksum);
    let edited = edit_field(&json, "sha256", serde_json::Value::Null);
    assert_eq!(state_error(&edited), StateError::Checksum);
    let edited = edit_field(&json, "check", "0000000000000000".into());
    assert_eq!(state_error(&edited), StateError::Checksum);

    let edited = edit_field(&json, "version", 2.into());
    assert_eq!(state_error(&edited), StateError::Version { found: 2 });
    let edited = edit_field(&json, "md5", format!("zz{}", &md5[2..]).into());
    assert_eq!(state_error(&edited), StateError::NotHex { field: "md5" });
    let edited = edit_field(&json, "md5", md5[..md5.len() - 2].into());
    assert_eq!(
        state_error(&edited),
        StateError::Length {
            field: "md5",
            expected: md5.len() / 2,
            found: md5.len() / 2 - 1
        }
    );
    let edited = edit_field(&json, "check", "".into());
    assert!(matches!(
        state_error(&edited),
        StateError::Length { field: "check", .. }
    ));

    // The messages say what is wrong.
    let message = resume_json(&edit_field(&json, "md5", flip(&md5, 3).into())).unwrap_err();
    assert!(
        message.contains("corrupted or edited"),
        "unclear message: {message}"
    );
    let message = resume_json(&edit_field(&json, "version", 7.into())).unwrap_err();
    assert!(message.contains("version 7"), "unclear message: {message}");

    // Structural damage is a JSON error, not a panic.
    for bad in [
        "",
        "{}",
        "null",
        "[1,2]",
        r#"{"version":1}"#,
        &edit_field(&json, "unexpected", 1.into()),
        &edit_field(&json, "bytes_hashed", (-1).into()),
        &edit_field(&json, "md5", 5.into()),
    ] {
        assert!(resume_json(bad).is_err(), "accepted: {bad}");
    }
}

#[test]
fn no_single_character_edit_panics_or_yields_a_wrong_digest() {
    let (json, expected) = valid_state_json();
    let data = Rng(9).bytes(1000);
    let replacements = ['0', '7', 'f', 'F', 'g', '"', '}', '-', ' '];
    for at in 0..json.len() {
        for replacement in replacements {
            let mut edited = json.clone();
            edited.replace_range(at..at + 1, &replacement.to_string());
            if edited == json {
                continue;
            }
            // Accepted edits (e.g. a hex digit's case) must still give the right digests.
            if let Ok(mut hasher) = resume_json(&edited) {
                hasher.update(&data[300..]);
                assert_eq!(hasher.finalize(), expected, "edit {at} → {replacement}");
            }
        }
    }
}

#[tokio::test]
async fn read_errors_carry_the_offset_and_the_state_reached() {
    /// Yields `good` bytes, then fails.
    struct Failing {
        good: usize,
    }
    impl AsyncRead for Failing {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            if self.good == 0 {
                return Poll::Ready(Err(std::io::Error::other("disk on fire")));
            }
            let n = self.good.min(buf.remaining()).min(1000);
            buf.put_slice(&vec![0; n]);
            self.good -= n;
            Poll::Ready(Ok(()))
        }
    }

    let mut hasher = ResumableHasher::default();
    hasher.update(&[0; 100]);
    let error = hash_stream(Failing { good: 5_000_000 }, hasher, None)
        .await
        .expect_err("read error swallowed");
    assert!(error.to_string().contains("disk on fire"), "{error}");
    let HashError::Read { offset, state, .. } = error else {
        panic!("unexpected error {error}");
    };
    assert_eq!(offset, 5_000_100);
    // The state covers the two full 2 MiB chunks hashed before the failing one; continuing
    // from it gives the one-pass digest.
    assert_eq!(state.bytes_hashed(), 100 + 4 * 1024 * 1024);
    let rest = vec![0; 5_000_100 - state.bytes_hashed() as usize];
    let resumed = ResumableHasher::resume(&state).expect("resume");
    let progress = hash_stream(rest.as_slice(), resumed, None).await;
    assert_eq!(
        progress.expect("hash"),
        Progress::Done(one_pass(&[0; 5_000_100], HashOptions::default()))
    );

    let error = md5_file("/nonexistent/mediasift/file.bin")
        .await
        .expect_err("missing file hashed");
    assert!(
        error
            .to_string()
            .contains("/nonexistent/mediasift/file.bin"),
        "{error}"
    );
}

/// Polls a future to completion on this thread (for readers that are always ready).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}
