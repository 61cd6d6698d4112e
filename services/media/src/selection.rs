//! Which captures go to the paid vision APIs: Media2Cloud V4's dynamic frame analysis, and a
//! step further.
//!
//! 1. Within each shot, captures are grouped in time order: a new group starts at every shot
//!    start and whenever the normalised Hamming distance to the *previous* capture exceeds the
//!    threshold (0.25). The first capture of a group represents it (Media2Cloud V4's rule).
//! 2. Across the whole asset, a group whose representative is within [`REUSE_THRESHOLD`] (≤)
//!    of a representative already selected (an anchor shot returning, a repeated title card) is
//!    not sent again: it `reusesCapture` that selected capture's results. Reuse is stricter than
//!    grouping: the hash keeps the DC term (as Media2Cloud's does), which pulls unrelated
//!    frames of similar brightness to 0.19 of each other on bikes.mp4, too close for 0.25.
//!
//! Everything here is pure: captures and shot starts in, a [`Selection`] out.

use serde::Serialize;

use crate::phash::{PHash, hamming};

/// Media2Cloud V4's threshold on the normalised Hamming distance.
pub const DEFAULT_THRESHOLD: f64 = 0.25;
/// The distance (≤) under which a group reuses another group's vision results: 8 of 64 bits.
pub const REUSE_THRESHOLD: f64 = 0.125;

/// One capture (1 fps by default) of the video, in time order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capture {
    /// 0-based position in the capture sequence.
    pub index: u32,
    /// The frame number in the video (0-based) the capture was taken at.
    pub frame: u64,
    /// Seconds from the start of the video.
    pub timestamp: f64,
    pub hash: PHash,
    /// Laplacian variance (higher is sharper).
    pub sharpness: f64,
}

/// What happened to one capture.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureResult {
    pub index: u32,
    pub frame: u64,
    pub timestamp: f64,
    /// 16 hex digits.
    pub hash: String,
    pub sharpness: f64,
    /// 0-based shot the capture falls in.
    pub shot: u32,
    /// 0-based group over the whole asset.
    pub group: u32,
    /// The capture representing this one's group (its first).
    pub representative: u32,
    /// Normalised Hamming distance to [`CaptureResult::representative`].
    pub distance_to_representative: f64,
    /// True for the representatives sent to vision.
    pub selected: bool,
    /// For a representative whose group reuses another's results: the selected capture reused.
    pub reuses_capture: Option<u32>,
}

/// One group of consecutive, similar captures within a shot.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: u32,
    pub shot: u32,
    /// Its first capture.
    pub representative: u32,
    pub first_capture: u32,
    pub last_capture: u32,
    /// True when the representative goes to vision.
    pub selected: bool,
    /// Otherwise the selected capture whose results it reuses.
    pub reuses_capture: Option<u32>,
}

/// Counts over the asset.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub captures: u32,
    pub shots: u32,
    pub groups: u32,
    /// Representatives sent to vision.
    pub selected_for_vision: u32,
    /// Groups that reuse a selected representative instead.
    pub reused: u32,
    /// The largest normalised distance of any capture to its group's representative (it can
    /// exceed the threshold: groups chain on the previous capture, so a slow drift adds up).
    pub max_distance_to_representative: f64,
}

/// The outcome of [`select`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Selection {
    pub threshold: f64,
    pub captures: Vec<CaptureResult>,
    pub groups: Vec<Group>,
    pub totals: Totals,
}

/// Groups `captures` (in time order) within the shots that start at `shot_starts` (frame
/// numbers, any order; empty = the whole video is one shot), keeps the first capture of each
/// group, and marks groups that can reuse an already-selected representative.
/// `threshold` is on the normalised Hamming distance ([`DEFAULT_THRESHOLD`]).
pub fn select(captures: &[Capture], shot_starts: &[u64], threshold: f64) -> Selection {
    // A start at frame 0 is the first shot itself; every later start opens the next shot.
    let mut starts: Vec<u64> = shot_starts.iter().copied().filter(|&s| s > 0).collect();
    starts.sort_unstable();
    starts.dedup();
    let shot_of = |frame: u64| starts.partition_point(|&s| s <= frame) as u32;
    let over = |a: PHash, b: PHash| f64::from(hamming(a, b)) / 64.0 > threshold;

    let mut results: Vec<CaptureResult> = Vec::with_capacity(captures.len());
    let mut groups: Vec<Group> = Vec::new();
    let mut previous: Option<(&Capture, u32)> = None;
    for capture in captures {
        let shot = shot_of(capture.frame);
        let new_group = match previous {
            None => true,
            Some((prev, prev_shot)) => prev_shot != shot || over(prev.hash, capture.hash),
        };
        if new_group {
            groups.push(Group {
                id: groups.len() as u32,
                shot,
                representative: capture.index,
                first_capture: capture.index,
                last_capture: capture.index,
                selected: false,
                reuses_capture: None,
            });
        }
        let group = groups.last_mut().expect("a group was opened");
        group.last_capture = capture.index;
        let representative = captures_by_index(captures, group.representative);
        results.push(CaptureResult {
            index: capture.index,
            frame: capture.frame,
            timestamp: capture.timestamp,
            hash: capture.hash.to_hex(),
            sharpness: capture.sharpness,
            shot,
            group: group.id,
            representative: group.representative,
            distance_to_representative: f64::from(hamming(representative.hash, capture.hash))
                / 64.0,
            selected: false,
            reuses_capture: None,
        });
        previous = Some((capture, shot));
    }

    // Across the asset: reuse the nearest already-selected representative within the reuse
    // threshold (ties: the earliest), else select.
    let reuse_threshold = threshold.min(REUSE_THRESHOLD);
    let mut selected: Vec<(u32, PHash)> = Vec::new();
    for group in &mut groups {
        let hash = captures_by_index(captures, group.representative).hash;
        let nearest = selected
            .iter()
            .map(|&(index, h)| (hamming(h, hash), index))
            .min();
        match nearest {
            Some((bits, index)) if f64::from(bits) / 64.0 <= reuse_threshold => {
                group.reuses_capture = Some(index);
            }
            _ => {
                group.selected = true;
                selected.push((group.representative, hash));
            }
        }
    }
    for result in &mut results {
        if result.index == result.representative {
            let group = &groups[result.group as usize];
            result.selected = group.selected;
            result.reuses_capture = group.reuses_capture;
        }
    }

    let totals = Totals {
        captures: results.len() as u32,
        shots: groups
            .iter()
            .map(|g| g.shot)
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u32,
        groups: groups.len() as u32,
        selected_for_vision: groups.iter().filter(|g| g.selected).count() as u32,
        reused: groups.iter().filter(|g| g.reuses_capture.is_some()).count() as u32,
        max_distance_to_representative: results
            .iter()
            .map(|r| r.distance_to_representative)
            .fold(0.0, f64::max),
    };
    Selection {
        threshold,
        captures: results,
        groups,
        totals,
    }
}

/// The capture with `index` (captures are indexed by position, but do not rely on it).
fn captures_by_index(captures: &[Capture], index: u32) -> &Capture {
    captures
        .get(index as usize)
        .filter(|c| c.index == index)
        .or_else(|| captures.iter().find(|c| c.index == index))
        .expect("representatives are captures")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captures at 1 fps of a 25 fps video with the given hashes.
    fn captures(hashes: &[u64]) -> Vec<Capture> {
        hashes
            .iter()
            .enumerate()
            .map(|(i, &h)| Capture {
                index: i as u32,
                frame: i as u64 * 25,
                timestamp: i as f64,
                hash: PHash(h),
                sharpness: 100.0,
            })
            .collect()
    }

    /// `bits` lowest bits set.
    fn ones(bits: u32) -> u64 {
        if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        }
    }

    fn selected(selection: &Selection) -> Vec<u32> {
        selection
            .captures
            .iter()
            .filter(|c| c.selected)
            .map(|c| c.index)
            .collect()
    }

    #[test]
    fn no_shots_and_identical_frames_make_one_group() {
        let s = select(&captures(&[7; 5]), &[], DEFAULT_THRESHOLD);
        assert_eq!(s.totals.groups, 1);
        assert_eq!(s.totals.shots, 1);
        assert_eq!(selected(&s), vec![0]);
        assert!(
            s.captures
                .iter()
                .all(|c| c.group == 0 && c.representative == 0)
        );
        assert_eq!(s.totals.max_distance_to_representative, 0.0);
        assert_eq!(select(&[], &[], DEFAULT_THRESHOLD).totals.groups, 0);
    }

    #[test]
    fn a_shot_boundary_always_starts_a_group() {
        // Identical hashes, but a shot starts at frame 50 (capture 2) and one at frame 60
        // (between captures 2 and 3): captures 0-1, 2, 3-4 are three groups in three shots.
        let s = select(&captures(&[0; 5]), &[60, 50], DEFAULT_THRESHOLD);
        let groups: Vec<u32> = s.captures.iter().map(|c| c.group).collect();
        assert_eq!(groups, vec![0, 0, 1, 2, 2]);
        let shots: Vec<u32> = s.captures.iter().map(|c| c.shot).collect();
        assert_eq!(shots, vec![0, 0, 1, 2, 2]);
        // Same picture everywhere: only the first goes to vision, the others reuse it.
        assert_eq!(selected(&s), vec![0]);
        assert_eq!(s.captures[2].reuses_capture, Some(0));
        assert_eq!(s.captures[3].reuses_capture, Some(0));
        assert_eq!(s.captures[4].reuses_capture, None, "not a representative");
        assert_eq!(s.totals.reused, 2);
        // A start at frame 0 is the first shot, not a second one.
        let s = select(&captures(&[0; 3]), &[0], DEFAULT_THRESHOLD);
        assert_eq!(s.totals.shots, 1);
        assert_eq!(s.captures[0].shot, 0);
    }

    #[test]
    fn the_threshold_is_exclusive_for_groups() {
        // 16 bits = 0.25 exactly: same group; 17 bits: new group.
        let s = select(
            &captures(&[0, ones(16), 0, ones(17)]),
            &[],
            DEFAULT_THRESHOLD,
        );
        let groups: Vec<u32> = s.captures.iter().map(|c| c.group).collect();
        assert_eq!(groups, vec![0, 0, 0, 1]);
    }

    #[test]
    fn a_slow_drift_yields_several_groups() {
        // Each capture flips 6 more bits than the previous (distance 6/64 between neighbours):
        // never a new group by the previous-frame rule; the drift from the representative
        // grows past the threshold, which the totals report.
        let drift: Vec<u64> = (0..10).map(|i| ones(i * 6)).collect();
        let s = select(&captures(&drift), &[], DEFAULT_THRESHOLD);
        assert_eq!(s.totals.groups, 1);
        assert_eq!(s.totals.max_distance_to_representative, 54.0 / 64.0);
        // Steps of 18 bits exceed the threshold every time: a group per capture, and as no two
        // representatives are within 16 bits, every one is selected.
        let steps: Vec<u64> = (0..4).map(|i| ones(i * 18)).collect();
        let s = select(&captures(&steps), &[], DEFAULT_THRESHOLD);
        assert_eq!(s.totals.groups, 4);
        assert_eq!(s.totals.selected_for_vision, 4);
        // A drift in bursts: 3 small steps, then a jump, repeatedly: several groups, each
        // represented by its first capture.
        let mut hash = 0u64;
        let mut bursts = Vec::new();
        for i in 0..12u32 {
            hash ^= if i % 4 == 0 && i > 0 {
                ones(20) << (i * 3)
            } else {
                1 << (i * 5 % 64)
            };
            bursts.push(hash);
        }
        let s = select(&captures(&bursts), &[], DEFAULT_THRESHOLD);
        let groups: Vec<u32> = s.captures.iter().map(|c| c.group).collect();
        assert_eq!(groups, vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
        let representatives: Vec<u32> = s.groups.iter().map(|g| g.representative).collect();
        assert_eq!(representatives, vec![0, 4, 8]);
        assert!(s.totals.max_distance_to_representative <= DEFAULT_THRESHOLD);
    }

    #[test]
    fn a_returning_shot_reuses_the_first_selection() {
        // Anchor (A), report (B), anchor again (A'), a new report (C): shots at each change.
        let a = 0u64;
        let a2 = ones(5); // the anchor with small changes (5 bits)
        let b = ones(40);
        let c = !0u64 << 30;
        let s = select(
            &captures(&[a, a, b, b, a2, a2, c]),
            &[50, 100, 150],
            DEFAULT_THRESHOLD,
        );
        assert_eq!(s.totals.groups, 4);
        assert_eq!(selected(&s), vec![0, 2, 6]);
        assert_eq!(s.captures[4].reuses_capture, Some(0));
        assert!(!s.captures[4].selected);
        assert_eq!(s.groups[2].reuses_capture, Some(0));
        assert_eq!(s.totals.selected_for_vision, 3);
        assert_eq!(s.totals.reused, 1);
        // Reuse points at the nearest selected representative.
        let s = select(&captures(&[0, ones(40), ones(36)]), &[], DEFAULT_THRESHOLD);
        assert_eq!(s.groups.len(), 2, "40 -> 36 bits is close: one group");
        let s = select(
            &captures(&[0, ones(30), ones(50), ones(24)]),
            &[25, 50, 75],
            DEFAULT_THRESHOLD,
        );
        // ones(24) is 6 bits from ones(30) and 24 from 0: ones(30) is within the reuse limit.
        assert_eq!(s.groups[3].reuses_capture, Some(1));
        // 10 bits apart groups nothing within a shot... and is too far to reuse (> 8 bits).
        let s = select(&captures(&[0, ones(10)]), &[1], DEFAULT_THRESHOLD);
        assert_eq!(s.totals.reused, 0);
        assert_eq!(s.totals.selected_for_vision, 2);
    }

    #[test]
    fn serializes_in_camel_case() {
        let s = select(&captures(&[0, 0]), &[], DEFAULT_THRESHOLD);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["totals"]["selectedForVision"], 1);
        assert_eq!(json["captures"][0]["hash"], "0000000000000000");
        assert_eq!(
            json["captures"][0]["reusesCapture"],
            serde_json::Value::Null
        );
        assert_eq!(json["captures"][1]["distanceToRepresentative"], 0.0);
    }
}
