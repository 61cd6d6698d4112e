//! Media2Cloud V4's dynamic frame selection, for the comparison: the same rule as
//! `scripts/m2c_frame_selection.py`, over the captures and shots mediasift computed.
//!
//! Within each shot, captures are taken in time order; a new group starts at the shot's first
//! capture and whenever the Hamming distance to the *previous* capture exceeds 0.25 of the 64
//! bits; the first capture of every group goes to vision. No drift bound, no special groups
//! for black or colour bars, no reuse across shots.

use mediasift_media::phash::hamming;
use mediasift_media::selection::Capture;

/// Media2Cloud V4's threshold on the normalised Hamming distance.
pub const THRESHOLD: f64 = 0.25;

/// How many captures Media2Cloud V4 would send to vision: its groups.
pub fn selected(captures: &[Capture], shot_starts: &[u64]) -> u32 {
    let mut starts: Vec<u64> = shot_starts.iter().copied().filter(|&s| s > 0).collect();
    starts.sort_unstable();
    starts.dedup();
    let shot_of = |frame: u64| starts.partition_point(|&s| s <= frame);
    let mut groups = 0;
    let mut previous: Option<&Capture> = None;
    for capture in captures {
        let new_group = match previous {
            None => true,
            Some(prev) => {
                shot_of(prev.frame) != shot_of(capture.frame)
                    || f64::from(hamming(prev.hash, capture.hash)) / 64.0 > THRESHOLD
            }
        };
        if new_group {
            groups += 1;
        }
        previous = Some(capture);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use mediasift_media::phash::PHash;

    fn capture(index: u32, frame: u64, hash: u64) -> Capture {
        Capture {
            index,
            frame,
            timestamp: index as f64,
            hash: PHash(hash),
            sharpness: 1.0,
        }
    }

    #[test]
    fn a_new_group_at_every_shot_and_past_16_bits_from_the_previous_capture() {
        let captures = [
            capture(0, 0, 0),
            // 16 bits from the previous: the same group (0.25 is not above the threshold).
            capture(1, 25, 0xFFFF),
            // 17 bits from the previous: a new group.
            capture(2, 50, 0x1_FFFF_FFFF),
            // A drift of 16 bits at a time never starts a group, however far it goes.
            capture(3, 75, 0xFFFF_0001_FFFF_FFFF),
            // A new shot at frame 100.
            capture(4, 100, 0xFFFF_0001_FFFF_FFFF),
        ];
        assert_eq!(selected(&captures, &[0, 100]), 3);
        assert_eq!(selected(&captures, &[]), 2);
        assert_eq!(selected(&[], &[]), 0);
    }
}
