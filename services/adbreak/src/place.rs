//! Where the breaks go: one per slot of the spacing, at the best-scoring boundary of the
//! slot's window.
//!
//! - **Spacing**: the asset's `adBreakIntervalSeconds` (± 20 % of it), or by content length
//!   as Media2Cloud does: over 60 min every 10 min ± 2, over 40 min every 8 ± 2, over 20 min
//!   every 6 ± 2, over 10 min every 4 ± 1, else every 2 ± 1.
//! - **Slots**: the first target is one interval, window `target ± tolerance` (the ladder's
//!   "2 ± 1 min" reads as a first break between 1 and 3 min), or, when the asset gives
//!   `adBreakOffsetSeconds`, the offset, the earliest a first break may be, so its window is
//!   `[offset, offset + tolerance]`; each next target is the previous break + the interval,
//!   window `target ± tolerance`. A slot whose
//!   window holds no boundary is left empty and the next target is one interval on.
//!   Placement stops when the next target is past the end.
//! - **Choice**: in a window, the best-scoring scene boundary; a plain shot boundary only
//!   when the window holds no scene boundary. Never two breaks within 10 s of each other,
//!   never a break in the first or last 10 s of the content.
//! - **Rank**: the chosen breaks by score, 1 the best.

use mediasift_schemas::AnalysisOptions;
use serde::Serialize;

use crate::score::round;

/// No two breaks closer than this (seconds).
pub const MIN_SECONDS_BETWEEN_BREAKS: f64 = 10.0;
/// No break in the first or last this many seconds of the content.
pub const EDGE_SECONDS: f64 = 10.0;
/// The tolerance of a user's interval, as a fraction of it.
pub const USER_TOLERANCE: f64 = 0.2;

/// How far apart breaks go.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Spacing {
    pub interval_seconds: f64,
    pub tolerance_seconds: f64,
    /// The first target.
    pub offset_seconds: f64,
    /// True when the asset gave the offset: it is then the earliest a first break may be.
    pub offset_from_options: bool,
    /// `options` (the asset's adBreakIntervalSeconds) or `contentLength` (the ladder).
    pub source: &'static str,
    /// The rule in words: "content over 20 min: every 6 min ± 2".
    pub rule: String,
}

/// Media2Cloud's ladder: (content longer than, interval, tolerance), in minutes.
pub const LADDER: [(f64, f64, f64); 5] = [
    (60.0, 10.0, 2.0),
    (40.0, 8.0, 2.0),
    (20.0, 6.0, 2.0),
    (10.0, 4.0, 1.0),
    (0.0, 2.0, 1.0),
];

/// The spacing for content of `duration` seconds with the asset's `options`. An interval
/// under [`MIN_SECONDS_BETWEEN_BREAKS`] is raised to it; a non-positive or non-finite one is
/// ignored (the ladder applies), as is a negative offset (one interval applies).
pub fn spacing(duration: f64, options: &AnalysisOptions) -> Spacing {
    let user = options
        .ad_break_interval_seconds
        .filter(|i| i.is_finite() && *i > 0.0);
    let (interval, tolerance, source, rule) = match user {
        Some(i) => {
            let interval = i.max(MIN_SECONDS_BETWEEN_BREAKS);
            let tolerance = interval * USER_TOLERANCE;
            (
                interval,
                tolerance,
                "options",
                format!(
                    "adBreakIntervalSeconds: every {} s ± {} s (20 %)",
                    round(interval),
                    round(tolerance)
                ),
            )
        }
        None => {
            let minutes = duration / 60.0;
            let &(over, every, plus_minus) = LADDER
                .iter()
                .find(|(over, _, _)| minutes > *over)
                .unwrap_or(&LADDER[LADDER.len() - 1]);
            let rule = if over > 0.0 {
                format!("content over {over} min: every {every} min ± {plus_minus}")
            } else {
                format!("content up to 10 min: every {every} min ± {plus_minus}")
            };
            (every * 60.0, plus_minus * 60.0, "contentLength", rule)
        }
    };
    let given = options
        .ad_break_offset_seconds
        .filter(|o| o.is_finite() && *o >= 0.0);
    Spacing {
        interval_seconds: interval,
        tolerance_seconds: tolerance,
        offset_seconds: given.unwrap_or(interval),
        offset_from_options: given.is_some(),
        source,
        rule,
    }
}

/// A boundary as placement sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub seconds: f64,
    pub scene_boundary: bool,
    pub score: f64,
}

/// Why a boundary can never hold a break, if it cannot.
pub fn ineligible(seconds: f64, duration: f64) -> Option<&'static str> {
    if seconds < EDGE_SECONDS {
        Some("in the first 10 s of the content")
    } else if seconds > duration - EDGE_SECONDS {
        Some("in the last 10 s of the content")
    } else {
        None
    }
}

/// How a slot was filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Choice {
    /// The best scene boundary in the window.
    SceneBoundary,
    /// No scene boundary in the window: the best shot boundary.
    ShotBoundary,
    /// No boundary in the window at all.
    Empty,
}

/// One slot of the spacing and what filled it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    /// From 1.
    pub index: u32,
    pub target_seconds: f64,
    pub window_start_seconds: f64,
    pub window_end_seconds: f64,
    pub choice: Choice,
    /// Index into the candidates of the chosen boundary.
    #[serde(skip)]
    pub chosen: Option<usize>,
    /// The chosen boundary's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen_seconds: Option<f64>,
    /// Eligible boundaries in the window (scene boundaries among them).
    pub boundaries_in_window: u32,
    pub scene_boundaries_in_window: u32,
}

/// The slots for `candidates` (in time order) over `duration` seconds.
pub fn place(candidates: &[Candidate], duration: f64, spacing: &Spacing) -> Vec<Slot> {
    let interval = spacing.interval_seconds.max(MIN_SECONDS_BETWEEN_BREAKS);
    let tolerance = spacing.tolerance_seconds.max(0.0);
    let mut slots = Vec::new();
    let mut target = spacing.offset_seconds;
    let mut previous: Option<f64> = None;
    let mut first = true;
    while target <= duration {
        let mut start = if first && spacing.offset_from_options {
            target
        } else {
            target - tolerance
        };
        if let Some(p) = previous {
            start = start.max(p + MIN_SECONDS_BETWEEN_BREAKS);
        }
        let end = target + tolerance;
        let in_window: Vec<usize> = (0..candidates.len())
            .filter(|&i| {
                let c = &candidates[i];
                c.seconds >= start && c.seconds <= end && ineligible(c.seconds, duration).is_none()
            })
            .collect();
        let scenes: Vec<usize> = in_window
            .iter()
            .copied()
            .filter(|&i| candidates[i].scene_boundary)
            .collect();
        let (pool, choice) = if !scenes.is_empty() {
            (&scenes, Choice::SceneBoundary)
        } else if !in_window.is_empty() {
            (&in_window, Choice::ShotBoundary)
        } else {
            (&in_window, Choice::Empty)
        };
        // Best score; then the closest to the target; then the earliest.
        let chosen = pool.iter().copied().min_by(|&a, &b| {
            let (ca, cb) = (&candidates[a], &candidates[b]);
            cb.score
                .total_cmp(&ca.score)
                .then(
                    (ca.seconds - target)
                        .abs()
                        .total_cmp(&(cb.seconds - target).abs()),
                )
                .then(ca.seconds.total_cmp(&cb.seconds))
        });
        slots.push(Slot {
            index: slots.len() as u32 + 1,
            target_seconds: round(target),
            window_start_seconds: round(start),
            window_end_seconds: round(end),
            choice,
            chosen,
            chosen_seconds: chosen.map(|i| candidates[i].seconds),
            boundaries_in_window: in_window.len() as u32,
            scene_boundaries_in_window: scenes.len() as u32,
        });
        match chosen {
            Some(i) => {
                previous = Some(candidates[i].seconds);
                target = candidates[i].seconds + interval;
            }
            None => target += interval,
        }
        first = false;
    }
    slots
}

/// Ranks of the chosen candidates (indices), by score, 1 the best; ties go to the earlier.
pub fn ranks(candidates: &[Candidate], chosen: &[usize]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..chosen.len()).collect();
    order.sort_by(|&a, &b| {
        let (ca, cb) = (&candidates[chosen[a]], &candidates[chosen[b]]);
        cb.score
            .total_cmp(&ca.score)
            .then(ca.seconds.total_cmp(&cb.seconds))
    });
    let mut ranks = vec![0; chosen.len()];
    for (rank, k) in order.into_iter().enumerate() {
        ranks[k] = rank as u32 + 1;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(interval: Option<f64>, offset: Option<f64>) -> AnalysisOptions {
        AnalysisOptions {
            ad_break_interval_seconds: interval,
            ad_break_offset_seconds: offset,
            ..AnalysisOptions::default()
        }
    }

    fn shot(seconds: f64, score: f64) -> Candidate {
        Candidate {
            seconds,
            scene_boundary: false,
            score,
        }
    }

    fn scene(seconds: f64, score: f64) -> Candidate {
        Candidate {
            seconds,
            scene_boundary: true,
            score,
        }
    }

    fn chosen(slots: &[Slot]) -> Vec<f64> {
        slots.iter().filter_map(|s| s.chosen_seconds).collect()
    }

    #[test]
    fn the_ladder_follows_content_length() {
        let cases = [
            (90.0 * 60.0, 600.0, 120.0),
            (61.0 * 60.0, 600.0, 120.0),
            (60.0 * 60.0, 480.0, 120.0),
            (45.0 * 60.0, 480.0, 120.0),
            (40.0 * 60.0, 360.0, 120.0),
            (25.0 * 60.0, 360.0, 120.0),
            (15.0 * 60.0, 240.0, 60.0),
            (10.0 * 60.0, 120.0, 60.0),
            (5.0 * 60.0, 120.0, 60.0),
            (30.0, 120.0, 60.0),
        ];
        for (duration, interval, tolerance) in cases {
            let s = spacing(duration, &AnalysisOptions::default());
            assert_eq!(
                (s.interval_seconds, s.tolerance_seconds, s.offset_seconds),
                (interval, tolerance, interval),
                "{duration} s: {}",
                s.rule
            );
            assert_eq!(s.source, "contentLength");
        }
        assert_eq!(
            spacing(45.0 * 60.0, &AnalysisOptions::default()).rule,
            "content over 40 min: every 8 min ± 2"
        );
    }

    #[test]
    fn the_users_interval_and_offset_win() {
        let s = spacing(3600.0, &options(Some(300.0), Some(90.0)));
        assert_eq!(
            (s.interval_seconds, s.tolerance_seconds, s.offset_seconds),
            (300.0, 60.0, 90.0)
        );
        assert_eq!(s.source, "options");
        let s = spacing(3600.0, &options(Some(300.0), None));
        assert_eq!(s.offset_seconds, 300.0, "one interval by default");
        let s = spacing(4000.0, &options(Some(0.0), Some(-5.0)));
        assert_eq!((s.interval_seconds, s.offset_seconds), (600.0, 600.0));
        let s = spacing(3600.0, &options(Some(2.0), None));
        assert_eq!(s.interval_seconds, 10.0, "never closer than 10 s");

        // Boundaries every 10 s, scene boundaries every 50 s from 25 s.
        let candidates: Vec<Candidate> = (1..120)
            .map(|k| {
                let t = k as f64 * 10.0 - 5.0;
                if (k - 3) % 5 == 0 {
                    scene(t, 0.5)
                } else {
                    shot(t, 0.9)
                }
            })
            .collect();
        let s = spacing(1200.0, &options(Some(300.0), Some(90.0)));
        let slots = place(&candidates, 1200.0, &s);
        // First window [90, 150]: scene boundaries at 125 (and the shots don't count).
        assert_eq!(
            (slots[0].window_start_seconds, slots[0].window_end_seconds),
            (90.0, 150.0)
        );
        assert_eq!(chosen(&slots), [125.0, 425.0, 725.0, 1025.0]);
        assert!(slots.iter().all(|s| s.choice == Choice::SceneBoundary));
        assert_eq!(slots[1].target_seconds, 425.0);
        assert_eq!(
            (slots[1].window_start_seconds, slots[1].window_end_seconds),
            (365.0, 485.0)
        );
    }

    #[test]
    fn scene_boundaries_first_then_shot_boundaries() {
        let s = Spacing {
            interval_seconds: 100.0,
            tolerance_seconds: 20.0,
            offset_seconds: 100.0,
            offset_from_options: true,
            source: "options",
            rule: String::new(),
        };
        let candidates = [
            shot(105.0, 0.95),
            scene(115.0, 0.3),
            scene(118.0, 0.4),
            // Second window [198, 238]: shots only.
            shot(200.0, 0.1),
            shot(210.0, 0.6),
            // Third window [290, 330]: nothing.
            shot(500.0, 0.9),
        ];
        let slots = place(&candidates, 600.0, &s);
        assert_eq!(slots[0].choice, Choice::SceneBoundary);
        assert_eq!(slots[0].chosen_seconds, Some(118.0));
        assert_eq!(slots[1].choice, Choice::ShotBoundary);
        assert_eq!(slots[1].chosen_seconds, Some(210.0));
        assert_eq!(slots[2].choice, Choice::Empty);
        assert_eq!(slots[2].target_seconds, 310.0);
        assert_eq!(
            slots[3].target_seconds, 410.0,
            "an empty slot moves one interval"
        );
        assert_eq!(slots[4].chosen_seconds, Some(500.0));
        assert_eq!(chosen(&slots), [118.0, 210.0, 500.0]);
        let picked: Vec<usize> = slots.iter().filter_map(|s| s.chosen).collect();
        assert_eq!(ranks(&candidates, &picked), [3, 2, 1]);
    }

    #[test]
    fn never_two_breaks_within_ten_seconds_nor_near_the_ends() {
        let s = Spacing {
            interval_seconds: 10.0,
            tolerance_seconds: 5.0,
            offset_seconds: 0.0,
            offset_from_options: true,
            source: "options",
            rule: String::new(),
        };
        let candidates: Vec<Candidate> = [1.0, 5.0, 9.9, 12.0, 14.0, 21.0, 23.0, 31.0, 45.0, 52.0]
            .iter()
            .map(|&t| scene(t, if t == 21.0 || t == 14.0 { 0.9 } else { 0.5 }))
            .collect();
        let slots = place(&candidates, 60.0, &s);
        let breaks = chosen(&slots);
        assert!(
            breaks.iter().all(|&t| (10.0..=50.0).contains(&t)),
            "{breaks:?}"
        );
        assert!(breaks.windows(2).all(|w| w[1] - w[0] >= 10.0), "{breaks:?}");
        // [0, 5]: only boundaries of the first 10 s, empty; [5, 15]: 14 (0.9) beats 12;
        // [max(19, 14 + 10), 29]: empty, 23 is too close to 14; [29, 39]: 31; [41, 46]: 45;
        // [55, 60]: the last 10 s.
        assert_eq!(breaks, [14.0, 31.0, 45.0]);
        assert_eq!(
            ineligible(9.9, 60.0),
            Some("in the first 10 s of the content")
        );
        assert_eq!(
            ineligible(50.5, 60.0),
            Some("in the last 10 s of the content")
        );
        assert_eq!(ineligible(50.0, 60.0), None);
    }

    #[test]
    fn placement_stops_past_the_end() {
        let s = spacing(300.0, &AnalysisOptions::default());
        assert_eq!(s.interval_seconds, 120.0);
        let candidates = [scene(125.0, 0.8), scene(250.0, 0.7)];
        let slots = place(&candidates, 300.0, &s);
        assert_eq!(chosen(&slots), [125.0, 250.0]);
        assert_eq!(slots.len(), 2, "the next target, 370 s, is past the end");
        assert!(place(&candidates, 100.0, &s).is_empty());
    }
}
