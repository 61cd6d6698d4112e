//! `breaks.edl`: the content cut at the breaks, as a CMX 3600 edit decision list an editor
//! imports to see (or cut at) the breaks: one video event per content segment between
//! breaks, source and record timecodes both counted from 00:00:00:00 (the record timeline is
//! the content itself, so a segment's record in is the break before it), and an Avid-style
//! locator (`* LOC: <timecode> YELLOW AD BREAK n`) plus a comment with the break's rank and
//! score on the event that starts at each break.

use mediasift_media::shots::{Rational, timecode};

/// One break in the EDL.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdlBreak {
    /// The first frame after the break.
    pub frame: u64,
    pub rank: u32,
    pub score: f64,
}

/// The content segments between `breaks` (frames, in any order) over `end_frame` frames:
/// `[start, end)` pairs in time order.
pub fn segments(breaks: &[u64], end_frame: u64) -> Vec<(u64, u64)> {
    let mut cuts: Vec<u64> = breaks
        .iter()
        .copied()
        .filter(|&f| f > 0 && f < end_frame)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut starts = vec![0];
    starts.extend(&cuts);
    let mut ends = cuts;
    ends.push(end_frame.max(1));
    starts.into_iter().zip(ends).collect()
}

/// The EDL: `title`, the frame counting mode of `rate`, an event per segment.
pub fn edl(title: &str, rate: Rational, end_frame: u64, breaks: &[EdlBreak]) -> String {
    let mut breaks = breaks.to_vec();
    breaks.sort_by_key(|b| b.frame);
    let frames: Vec<u64> = breaks.iter().map(|b| b.frame).collect();
    let tc = |frame: u64| timecode(frame, rate);
    // CMX titles are one line of printable ASCII.
    let title: String = title
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
        .collect();
    let mut out = format!("TITLE: {}\n", title.trim());
    out.push_str(if rate.is_drop_frame() {
        "FCM: DROP FRAME\n"
    } else {
        "FCM: NON-DROP FRAME\n"
    });
    out.push('\n');
    for (k, (start, end)) in segments(&frames, end_frame).into_iter().enumerate() {
        let number = k + 1;
        // Event, reel (8), channel, transition, then source in/out and record in/out.
        out.push_str(&format!(
            "{number:03}  {:<8} {:<4}  {:<4} {:<3} {} {} {} {}\n",
            "AX",
            "V",
            "C",
            "",
            tc(start),
            tc(end),
            tc(start),
            tc(end)
        ));
        if k == 0 {
            out.push_str("* FROM CLIP NAME: CONTENT\n");
        } else if let Some((n, b)) = breaks.iter().enumerate().find(|(_, b)| b.frame == start) {
            let n = n + 1;
            out.push_str(&format!("* LOC: {} YELLOW AD BREAK {n}\n", tc(start)));
            out.push_str(&format!(
                "* AD BREAK {n} AT {}: RANK {}, SCORE {:.2}\n",
                tc(start),
                b.rank,
                b.score
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_the_content_between_breaks() {
        assert_eq!(segments(&[], 100), [(0, 100)]);
        assert_eq!(
            segments(&[60, 30, 30, 0, 100], 100),
            [(0, 30), (30, 60), (60, 100)]
        );
    }

    #[test]
    fn an_event_per_segment_and_a_locator_per_break() {
        let rate = Rational::new(25, 1).unwrap();
        let breaks = [
            EdlBreak {
                frame: 15_000,
                rank: 2,
                score: 0.8,
            },
            EdlBreak {
                frame: 7_500,
                rank: 1,
                score: 0.91,
            },
        ];
        let edl = edl("asset ad breaks", rate, 22_500, &breaks);
        let lines: Vec<&str> = edl.lines().collect();
        assert_eq!(lines[0], "TITLE: asset ad breaks");
        assert_eq!(lines[1], "FCM: NON-DROP FRAME");
        assert!(edl.contains(
            "001  AX       V     C        00:00:00:00 00:05:00:00 00:00:00:00 00:05:00:00\n"
        ));
        assert!(edl.contains(
            "002  AX       V     C        00:05:00:00 00:10:00:00 00:05:00:00 00:10:00:00\n\
             * LOC: 00:05:00:00 YELLOW AD BREAK 1\n\
             * AD BREAK 1 AT 00:05:00:00: RANK 1, SCORE 0.91\n"
        ));
        assert!(edl.contains("* LOC: 00:10:00:00 YELLOW AD BREAK 2\n"));
        assert_eq!(edl.matches("AX       V").count(), 3);

        let ntsc = edl_for_ntsc();
        assert!(ntsc.contains("FCM: DROP FRAME"));
        assert!(ntsc.contains("00:01:00;02"), "{ntsc}");
    }

    fn edl_for_ntsc() -> String {
        let rate = Rational::new(30000, 1001).unwrap();
        edl(
            "ntsc",
            rate,
            3600,
            &[EdlBreak {
                frame: 1800,
                rank: 1,
                score: 0.5,
            }],
        )
    }
}
