//! Which captures go to the paid vision APIs: Media2Cloud V4's dynamic frame analysis, and a
//! step further.
//!
//! 1. Within each shot, captures are grouped in time order: a new group starts at every shot
//!    start and whenever the normalised Hamming distance to the *previous* capture exceeds the
//!    threshold (0.25; Media2Cloud V4's rule), and also whenever the distance to the group's
//!    *first* capture would exceed it, so a slow drift (a zoom, a pan) cannot carry a group
//!    away from its representative. The first capture of a group represents it.
//! 2. Across the whole asset, a group whose representative is within [`REUSE_THRESHOLD`] (≤)
//!    of a representative already selected (an anchor shot returning, a repeated title card) is
//!    not sent again: it `reusesCapture` that selected capture's results, provided *every*
//!    capture of the group is within the threshold of it too. Reuse is stricter than
//!    grouping: the hash keeps the DC term (as Media2Cloud's does), which pulls unrelated
//!    frames of similar brightness to 0.23 of each other on bikes.mp4, too close for 0.25.
//!    Flat pictures (title cards, gradients, blank frames) are never reused: with the DC term
//!    above the mean, their hashes have only a few bits set, so any two of them are within a
//!    few bits whatever they show (a "Weather" card and a test pattern: 5 bits). A hash takes
//!    part in reuse only with at least [`MIN_REUSE_BITS`] bits set.
//!
//! 3. A technical cue that holds still (black, colour bars) is one group whatever its hashes say,
//!    represented by its *sharpest* capture, not its first: one call at most for a whole
//!    stretch of bars or black ([`select_with_stills`]).
//!
//! The guarantee: every capture outside still cues is within the threshold of its
//! `visionCapture`, the selected capture whose vision results it gets (its representative, or
//! the capture its group reuses). Inside a still cue the detector has already said the pictures
//! are one technical picture; their hashes may still wander (noise on flat pictures).
//! It holds by construction; the triangle inequality alone would only give 0.25 + 0.125.
//!
//! Everything here is pure: captures and shot starts in, a [`Selection`] out.

use serde::Serialize;

use crate::phash::{PHash, hamming};

/// Media2Cloud V4's threshold on the normalised Hamming distance.
pub const DEFAULT_THRESHOLD: f64 = 0.25;
/// The distance (≤) under which a group reuses another group's vision results: 8 of 64 bits.
pub const REUSE_THRESHOLD: f64 = 0.125;
/// The fewest set bits of a hash that reuse trusts (as many as the reuse distance): sparser
/// hashes are flat pictures, near each other by their sparseness alone.
pub const MIN_REUSE_BITS: u32 = 8;

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
    /// The selected capture whose vision results this capture gets: its representative, or
    /// the capture its group reuses.
    pub vision_capture: u32,
    /// Normalised Hamming distance to [`CaptureResult::vision_capture`] (at most the
    /// threshold).
    pub distance_to_vision_capture: f64,
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
    /// For the group of a still cue: its kind (`Black`, `ColourBars`); its representative is
    /// its sharpest capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cue: Option<String>,
}

/// A stretch of frames `start_frame..=end_frame` that shows one still technical picture
/// (black, colour bars): one group, whatever the hashes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Still {
    pub start_frame: u64,
    pub end_frame: u64,
    pub kind: String,
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
    /// The largest normalised distance of any capture to its group's representative (at most
    /// the threshold).
    pub max_distance_to_representative: f64,
    /// The largest normalised distance of any capture to the capture whose vision results it
    /// gets (at most the threshold).
    pub max_distance_to_vision_capture: f64,
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
    select_with_stills(captures, shot_starts, &[], threshold)
}

/// What the selection needs of a video's shots: the first frame of each shot, and the stretches
/// of black and colour bars (each one still picture, analysed once).
pub fn shot_starts_and_stills(shots: &crate::shots::Shots) -> (Vec<u64>, Vec<Still>) {
    use crate::shots::CueKind;
    let starts = shots.shots.iter().map(|s| s.start_frame).collect();
    let stills = shots
        .cues
        .iter()
        .filter(|c| matches!(c.kind, CueKind::Black | CueKind::ColourBars))
        .map(|c| Still {
            start_frame: c.start_frame,
            end_frame: c.end_frame,
            kind: format!("{:?}", c.kind),
        })
        .collect();
    (starts, stills)
}

/// [`select`], with the captures inside each of `stills` made one group represented by its
/// sharpest capture.
pub fn select_with_stills(
    captures: &[Capture],
    shot_starts: &[u64],
    stills: &[Still],
    threshold: f64,
) -> Selection {
    let still_of = |frame: u64| {
        stills
            .iter()
            .position(|s| s.start_frame <= frame && frame <= s.end_frame)
    };
    // A start at frame 0 is the first shot itself; every later start opens the next shot.
    let mut starts: Vec<u64> = shot_starts.iter().copied().filter(|&s| s > 0).collect();
    starts.sort_unstable();
    starts.dedup();
    let shot_of = |frame: u64| starts.partition_point(|&s| s <= frame) as u32;
    let distance = |a: PHash, b: PHash| f64::from(hamming(a, b)) / 64.0;

    let mut results: Vec<CaptureResult> = Vec::with_capacity(captures.len());
    let mut groups: Vec<Group> = Vec::new();
    // Per group: the hashes of its captures, for the reuse test.
    let mut member_hashes: Vec<Vec<PHash>> = Vec::new();
    let mut previous: Option<(&Capture, u32, Option<usize>)> = None;
    for capture in captures {
        let shot = shot_of(capture.frame);
        let still = still_of(capture.frame);
        let new_group = match (previous, groups.last()) {
            (Some((prev, prev_shot, prev_still)), Some(group)) => {
                let representative = captures_by_index(captures, group.representative);
                prev_shot != shot
                    || prev_still != still
                    || (still.is_none()
                        && (distance(prev.hash, capture.hash) > threshold
                            || distance(representative.hash, capture.hash) > threshold))
            }
            _ => true,
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
                cue: still.map(|i| stills[i].kind.clone()),
            });
            member_hashes.push(Vec::new());
        }
        let group = groups.last_mut().expect("a group was opened");
        group.last_capture = capture.index;
        member_hashes
            .last_mut()
            .expect("a group was opened")
            .push(capture.hash);
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
            distance_to_representative: distance(representative.hash, capture.hash),
            selected: false,
            reuses_capture: None,
            vision_capture: group.representative,
            distance_to_vision_capture: 0.0,
        });
        previous = Some((capture, shot, still));
    }

    // A still cue's group is represented by its sharpest capture.
    for group in groups.iter_mut().filter(|g| g.cue.is_some()) {
        let members = || {
            results
                .iter()
                .filter(|r| r.group == group.id)
                .map(|r| captures_by_index(captures, r.index))
        };
        let Some(sharpest) = members().max_by(|a, b| {
            a.sharpness
                .total_cmp(&b.sharpness)
                .then_with(|| b.index.cmp(&a.index))
        }) else {
            continue;
        };
        let (index, hash) = (sharpest.index, sharpest.hash);
        group.representative = index;
        for result in results.iter_mut().filter(|r| r.group == group.id) {
            result.representative = index;
            result.vision_capture = index;
            result.distance_to_representative =
                distance(hash, captures_by_index(captures, result.index).hash);
        }
    }

    // Across the asset: reuse the nearest already-selected representative within the reuse
    // threshold that every capture of the group is within the threshold of (ties: the
    // earliest), else select. Flat pictures neither reuse nor are reused.
    let reuse_threshold = threshold.min(REUSE_THRESHOLD);
    let informative = |hash: PHash| hash.0.count_ones() >= MIN_REUSE_BITS;
    let mut selected: Vec<(u32, PHash)> = Vec::new();
    for (group, members) in groups.iter_mut().zip(&member_hashes) {
        let hash = captures_by_index(captures, group.representative).hash;
        let reusable = selected
            .iter()
            .filter(|_| informative(hash))
            .filter(|&&(_, h)| informative(h) && distance(h, hash) <= reuse_threshold)
            .filter(|&&(_, h)| members.iter().all(|&m| distance(h, m) <= threshold))
            .map(|&(index, h)| (hamming(h, hash), index))
            .min();
        match reusable {
            Some((_, index)) => group.reuses_capture = Some(index),
            None => {
                group.selected = true;
                selected.push((group.representative, hash));
            }
        }
    }
    for (result, capture) in results.iter_mut().zip(captures) {
        let group = &groups[result.group as usize];
        if result.index == result.representative {
            result.selected = group.selected;
            result.reuses_capture = group.reuses_capture;
        }
        if let Some(reused) = group.reuses_capture {
            result.vision_capture = reused;
            result.distance_to_vision_capture =
                distance(captures_by_index(captures, reused).hash, capture.hash);
        } else {
            result.distance_to_vision_capture = result.distance_to_representative;
        }
    }

    let max_of = |field: fn(&CaptureResult) -> f64| results.iter().map(field).fold(0.0, f64::max);
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
        max_distance_to_representative: max_of(|r| r.distance_to_representative),
        max_distance_to_vision_capture: max_of(|r| r.distance_to_vision_capture),
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

    /// Every test hash is XORed with this: distances stay the same, and the hashes have the
    /// bits set that a textured picture's have (see [`MIN_REUSE_BITS`]).
    const TEXTURE: u64 = 0x5555_5555_5555_5555;

    /// Captures at 1 fps of a 25 fps video with the given hashes (XOR [`TEXTURE`]).
    fn captures(hashes: &[u64]) -> Vec<Capture> {
        let textured: Vec<u64> = hashes.iter().map(|h| h ^ TEXTURE).collect();
        flat_captures(&textured)
    }

    /// Captures with exactly the given hashes.
    fn flat_captures(hashes: &[u64]) -> Vec<Capture> {
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
        // never a new group by the previous-frame rule, but the distance to the representative
        // passes 16 bits every third capture, which starts a new group.
        let drift: Vec<u64> = (0..10).map(|i| ones(i * 6)).collect();
        let s = select(&captures(&drift), &[], DEFAULT_THRESHOLD);
        let groups: Vec<u32> = s.captures.iter().map(|c| c.group).collect();
        assert_eq!(groups, vec![0, 0, 0, 1, 1, 1, 2, 2, 2, 3]);
        assert_eq!(s.totals.max_distance_to_representative, 12.0 / 64.0);
        // The representatives are 18 bits apart: nothing to reuse.
        assert_eq!(s.totals.selected_for_vision, 4);
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

    /// A deterministic pseudo-random sequence (64-bit LCG), for the drift test.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
    }

    #[test]
    fn every_capture_is_within_the_threshold_of_the_capture_whose_results_it_gets() {
        // Random walks: each capture flips 0-9 random bits of the previous one; now and then
        // the picture returns to an earlier capture with a few bits changed (a returning
        // shot), and shots start every 7-20 captures. Whatever the path, every capture's
        // vision capture is selected and within the threshold.
        for seed in 0..50 {
            let mut random = Lcg(seed);
            let mut hashes: Vec<u64> = vec![random.next() << 31 ^ random.next()];
            let mut shot_starts = Vec::new();
            let mut next_shot = 0;
            for i in 1..300usize {
                let mut hash = if random.next().is_multiple_of(25) {
                    hashes[(random.next() as usize) % i]
                } else {
                    hashes[i - 1]
                };
                for _ in 0..random.next() % 10 {
                    hash ^= 1 << (random.next() % 64);
                }
                hashes.push(hash);
                if i >= next_shot {
                    shot_starts.push(i as u64 * 25);
                    next_shot = i + 7 + (random.next() % 14) as usize;
                }
            }
            let s = select(&captures(&hashes), &shot_starts, DEFAULT_THRESHOLD);
            assert!(
                s.totals.reused > 0,
                "seed {seed}: the walk returns, some reuse"
            );
            for c in &s.captures {
                let vision = &s.captures[c.vision_capture as usize];
                assert!(vision.selected, "seed {seed}: {c:?}");
                let d = f64::from(hamming(
                    PHash(hashes[c.index as usize]),
                    PHash(hashes[vision.index as usize]),
                )) / 64.0;
                assert_eq!(d, c.distance_to_vision_capture, "seed {seed}: {c:?}");
                assert!(d <= DEFAULT_THRESHOLD, "seed {seed}: {c:?}");
                assert!(
                    c.distance_to_representative <= DEFAULT_THRESHOLD,
                    "seed {seed}: {c:?}"
                );
            }
            assert!(s.totals.max_distance_to_vision_capture <= DEFAULT_THRESHOLD);
        }
    }

    #[test]
    fn a_group_reuses_a_capture_only_if_all_its_captures_are_close_to_it() {
        // Shot 1: the selected capture 0 (hash 0). Shot 2 starts 8 bits from it (reusable by
        // the representative alone) and drifts 16 bits further the other way (same group):
        // capture 2 would get results from 24 bits away (0.375), so shot 2 is selected.
        let s = select(&captures(&[0, ones(8), ones(24)]), &[25], DEFAULT_THRESHOLD);
        assert_eq!(s.totals.groups, 2);
        assert_eq!(s.totals.reused, 0);
        assert_eq!(selected(&s), vec![0, 1]);
        assert_eq!(s.captures[2].vision_capture, 1);
        assert_eq!(s.captures[2].distance_to_vision_capture, 16.0 / 64.0);
        // Without the drift, shot 2 reuses capture 0, and its captures say so.
        let s = select(&captures(&[0, ones(8), ones(12)]), &[25], DEFAULT_THRESHOLD);
        assert_eq!(s.totals.reused, 1);
        assert_eq!(s.captures[2].vision_capture, 0);
        assert_eq!(s.captures[2].distance_to_vision_capture, 12.0 / 64.0);
        assert_eq!(s.totals.max_distance_to_vision_capture, 12.0 / 64.0);
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
    fn flat_pictures_are_never_reused() {
        // A title card and a test pattern as Media2Cloud's hash sees them (the DC bit and a
        // few more): 5 bits apart, different pictures. Each goes to vision.
        let weather_card = 0x8800_2000_8800_2000;
        let test_pattern = 0x8400_0000_0000_0000;
        let s = select(
            &flat_captures(&[test_pattern, weather_card]),
            &[25],
            DEFAULT_THRESHOLD,
        );
        assert_eq!(s.totals.reused, 0);
        assert_eq!(selected(&s), vec![0, 1]);
        // The same card returning is not reused either: its hash cannot tell it from others.
        let s = select(
            &flat_captures(&[weather_card, weather_card]),
            &[25],
            DEFAULT_THRESHOLD,
        );
        assert_eq!(s.totals.selected_for_vision, 2);
        // A textured picture with 8 bits set is reused.
        let s = select(&flat_captures(&[0xff, 0xff]), &[25], DEFAULT_THRESHOLD);
        assert_eq!(s.totals.reused, 1);
    }

    #[test]
    fn a_still_cue_is_one_group_represented_by_its_sharpest_capture() {
        // Colour bars over captures 1–4 whose hashes wander (compression noise on a flat
        // picture can flip many bits), then the programme.
        let mut all = captures(&[0, ones(20), ones(40), 0, ones(20), !0u64 << 10]);
        for (capture, sharpness) in all.iter_mut().zip([50.0, 10.0, 30.0, 90.0, 90.0, 40.0]) {
            capture.sharpness = sharpness;
        }
        let bars = Still {
            start_frame: 25,
            end_frame: 4 * 25 + 24,
            kind: "ColourBars".into(),
        };
        let s = select_with_stills(&all, &[], std::slice::from_ref(&bars), DEFAULT_THRESHOLD);
        let groups: Vec<(u32, u32, Option<&str>)> = s
            .groups
            .iter()
            .map(|g| (g.first_capture, g.representative, g.cue.as_deref()))
            .collect();
        // The sharpest of the bars is capture 3 (a tie with 4 goes to the earlier).
        assert_eq!(
            groups,
            vec![(0, 0, None), (1, 3, Some("ColourBars")), (5, 5, None)]
        );
        assert_eq!(selected(&s), vec![0, 3, 5]);
        for capture in &s.captures[1..5] {
            assert_eq!(capture.vision_capture, 3);
            assert_eq!(capture.representative, 3);
        }
        assert!(s.captures[3].selected && !s.captures[1].selected);
        // Without the cue, the same hashes make more groups.
        assert!(select(&all, &[], DEFAULT_THRESHOLD).totals.groups > 3);
    }

    #[test]
    fn serializes_in_camel_case() {
        let s = select(&captures(&[0, 0]), &[], DEFAULT_THRESHOLD);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["totals"]["selectedForVision"], 1);
        assert_eq!(json["captures"][0]["hash"], "5555555555555555");
        assert_eq!(
            json["captures"][0]["reusesCapture"],
            serde_json::Value::Null
        );
        assert_eq!(json["captures"][1]["distanceToRepresentative"], 0.0);
        assert_eq!(json["captures"][1]["visionCapture"], 0);
        assert_eq!(json["totals"]["maxDistanceToVisionCapture"], 0.0);
    }
}
