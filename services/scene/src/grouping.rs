//! Shots into scenes: pure, deterministic, no I/O.
//!
//! 1. Speech: the transcript's words, joined when less than
//!    [`GroupingSettings::dialogue_join_seconds`] apart, are stretches of dialogue. A scene
//!    never starts inside one.
//! 2. Black: a shot that is mostly black cue belongs to the scene before it (the fade to
//!    black ends that scene), and a scene starts where black or a fade out ends.
//! 3. Likeness: two shots whose colour histograms are within
//!    [`GroupingSettings::similarity_threshold`] and at most
//!    [`GroupingSettings::max_link_seconds`] apart are linked, and no scene starts between
//!    linked shots (the overlapping-links method: cross-cut dialogue A B A B stays one scene).
//!    A link never crosses a fade to black.
//! 4. A scene starts at every other shot boundary; then scenes shorter than
//!    [`GroupingSettings::min_scene_seconds`] merge into the neighbour they look most like
//!    (across a fade to black only when there is no other).

use crate::descriptor::Histogram;
use crate::report::{Boundary, Decision, GroupingSettings, SceneEnd};

/// How far (seconds) a black or fade cue's end may be from a cut and still end the scene.
const CUE_TOLERANCE: f64 = 0.5;
/// A shot this much covered by black cues is a black shot.
const BLACK_SHOT_SHARE: f64 = 0.8;
/// Speech must run this far (seconds) past a cut on both sides to hold it: word timings are
/// approximate.
const SPEECH_EDGE: f64 = 0.1;

/// A shot as grouping needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShotSpan {
    /// From 1, as in `shots.json`.
    pub index: u32,
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub start_frame: u64,
    pub end_frame: u64,
    pub start_timecode: String,
    pub end_timecode: String,
}

/// A stretch of time, seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub start: f64,
    pub end: f64,
}

/// The video's technical cues that matter to scenes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cues {
    pub black: Vec<Span>,
    pub fade_outs: Vec<Span>,
    pub fade_ins: Vec<Span>,
}

/// One scene: shots `first..=last` (positions in the shot list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SceneShots {
    pub first: usize,
    pub last: usize,
    pub ends_with: SceneEnd,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    pub scenes: Vec<SceneShots>,
    /// One per cut, in order: `boundaries[k]` is between shots `k` and `k + 1`.
    pub boundaries: Vec<Boundary>,
}

/// Speech stretches from word timings: words closer than `join` seconds are one stretch.
pub fn dialogue(words: &[Span], join: f64) -> Vec<Span> {
    let mut words: Vec<Span> = words
        .iter()
        .copied()
        .filter(|w| w.end.is_finite() && w.start.is_finite() && w.end >= w.start)
        .collect();
    words.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut stretches: Vec<Span> = Vec::new();
    for word in words {
        match stretches.last_mut() {
            Some(last) if word.start - last.end < join => last.end = last.end.max(word.end),
            _ => stretches.push(word),
        }
    }
    stretches
}

/// Groups `shots` (in time order) into scenes. `looks[k]` is shot `k`'s histogram, when it
/// has a picture.
pub fn group(
    shots: &[ShotSpan],
    looks: &[Option<Histogram>],
    cues: &Cues,
    speech: &[Span],
    settings: &GroupingSettings,
) -> Grouping {
    if shots.is_empty() {
        return Grouping {
            scenes: Vec::new(),
            boundaries: Vec::new(),
        };
    }
    let look = |k: usize| looks.get(k).and_then(Option::as_ref);
    let distance = |a: usize, b: usize| match (look(a), look(b)) {
        (Some(x), Some(y)) => x.distance(y),
        _ => 1.0,
    };
    let black_shot: Vec<bool> = shots.iter().map(|s| is_black_shot(s, cues)).collect();
    let cuts = shots.len() - 1;

    // Facts at each cut.
    let mut boundaries: Vec<Boundary> = (0..cuts)
        .map(|k| {
            let at = shots[k + 1].start_seconds;
            let near = |spans: &[Span], end: bool| {
                spans.iter().any(|s| {
                    let t = if end { s.end } else { s.start };
                    (t - at).abs() <= CUE_TOLERANCE
                })
            };
            Boundary {
                seconds: at,
                frame: shots[k + 1].start_frame,
                timecode: shots[k + 1].start_timecode.clone(),
                shot_before: shots[k].index,
                shot_after: shots[k + 1].index,
                scene_boundary: false,
                visual_distance: distance(k, k + 1),
                black: near(&cues.black, true)
                    || near(&cues.black, false)
                    || black_shot[k]
                    || black_shot[k + 1],
                fade: near(&cues.fade_outs, true) || near(&cues.fade_ins, false),
                in_dialogue: speech
                    .iter()
                    .any(|s| s.start < at - SPEECH_EDGE && s.end > at + SPEECH_EDGE),
                decision: Decision::VisualChange,
            }
        })
        .collect();
    // Where a fade to black ends the scene before.
    let fade_to_black: Vec<bool> = (0..cuts)
        .map(|k| {
            let at = shots[k + 1].start_seconds;
            let ends_near =
                |spans: &[Span]| spans.iter().any(|s| (s.end - at).abs() <= CUE_TOLERANCE);
            !black_shot[k + 1]
                && (black_shot[k] || ends_near(&cues.black) || ends_near(&cues.fade_outs))
        })
        .collect();

    // Links between alike shots, never across a fade to black.
    let mut covered = vec![false; cuts];
    for i in 0..shots.len() {
        if black_shot[i] {
            continue;
        }
        for j in i + 1..shots.len() {
            if shots[j].start_seconds - shots[i].end_seconds > settings.max_link_seconds {
                break;
            }
            if fade_to_black[j - 1] {
                break;
            }
            if !black_shot[j] && distance(i, j) <= settings.similarity_threshold {
                covered[i..j].iter_mut().for_each(|c| *c = true);
            }
        }
    }

    for (k, boundary) in boundaries.iter_mut().enumerate() {
        boundary.decision = if boundary.in_dialogue {
            Decision::Dialogue
        } else if black_shot[k + 1] {
            Decision::IntoBlack
        } else if fade_to_black[k] {
            Decision::FadeToBlack
        } else if covered[k] {
            Decision::Similar
        } else {
            Decision::VisualChange
        };
        boundary.scene_boundary = matches!(
            boundary.decision,
            Decision::FadeToBlack | Decision::VisualChange
        );
    }

    merge_short_scenes(shots, &mut boundaries, settings.min_scene_seconds);

    // Scenes from the boundaries that start one.
    let mut scenes = Vec::new();
    let mut first = 0;
    for (k, boundary) in boundaries.iter().enumerate() {
        if boundary.scene_boundary {
            let ends_with = if boundary.decision == Decision::FadeToBlack {
                SceneEnd::FadeToBlack
            } else {
                SceneEnd::Cut
            };
            scenes.push(SceneShots {
                first,
                last: k,
                ends_with,
            });
            first = k + 1;
        }
    }
    let last = shots.len() - 1;
    let end = shots[last].end_seconds;
    let fades_out = black_shot[last]
        || cues
            .black
            .iter()
            .chain(&cues.fade_outs)
            .any(|s| (s.end - end).abs() <= CUE_TOLERANCE);
    scenes.push(SceneShots {
        first,
        last,
        ends_with: if fades_out {
            SceneEnd::FadeToBlack
        } else {
            SceneEnd::End
        },
    });
    Grouping { scenes, boundaries }
}

/// Merges scenes shorter than `min_seconds` into a neighbour, shortest first: the neighbour
/// across a cut that is not a fade to black when there is one, the one that looks more alike
/// when both are.
fn merge_short_scenes(shots: &[ShotSpan], boundaries: &mut [Boundary], min_seconds: f64) {
    loop {
        let starts: Vec<usize> = std::iter::once(0)
            .chain(
                boundaries
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.scene_boundary)
                    .map(|(k, _)| k + 1),
            )
            .collect();
        if starts.len() < 2 {
            return;
        }
        let span = |n: usize| {
            let first = starts[n];
            let last = starts.get(n + 1).map_or(shots.len() - 1, |next| next - 1);
            shots[last].end_seconds - shots[first].start_seconds
        };
        let shortest = (0..starts.len())
            .map(|n| (n, span(n)))
            .filter(|(_, seconds)| *seconds < min_seconds)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let Some((n, _)) = shortest else {
            return;
        };
        // The cuts on either side of scene n: before it, and after it.
        let before = (n > 0).then(|| starts[n] - 1);
        let after = starts.get(n + 1).map(|next| next - 1);
        let cost = |k: usize| {
            let b = &boundaries[k];
            (b.decision == Decision::FadeToBlack, b.visual_distance)
        };
        let chosen = match (before, after) {
            (Some(a), Some(b)) => {
                if cost(a).partial_cmp(&cost(b)) == Some(std::cmp::Ordering::Greater) {
                    b
                } else {
                    a
                }
            }
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return,
        };
        boundaries[chosen].scene_boundary = false;
        boundaries[chosen].decision = Decision::ShortScene;
    }
}

fn is_black_shot(shot: &ShotSpan, cues: &Cues) -> bool {
    let length = shot.end_seconds - shot.start_seconds;
    if length <= 0.0 {
        return false;
    }
    let black: f64 = cues
        .black
        .iter()
        .map(|c| (c.end.min(shot.end_seconds) - c.start.max(shot.start_seconds)).max(0.0))
        .sum();
    black / length >= BLACK_SHOT_SHARE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shots(bounds: &[f64]) -> Vec<ShotSpan> {
        bounds
            .windows(2)
            .enumerate()
            .map(|(k, w)| ShotSpan {
                index: k as u32 + 1,
                start_seconds: w[0],
                end_seconds: w[1],
                start_frame: (w[0] * 25.0) as u64,
                end_frame: (w[1] * 25.0) as u64 - 1,
                start_timecode: String::new(),
                end_timecode: String::new(),
            })
            .collect()
    }

    fn colour(r: u8, g: u8, b: u8) -> Option<Histogram> {
        Some(Histogram::of_rgb(&[r, g, b].repeat(16)))
    }

    fn ranges(grouping: &Grouping) -> Vec<(usize, usize)> {
        grouping.scenes.iter().map(|s| (s.first, s.last)).collect()
    }

    const RED: (u8, u8, u8) = (200, 30, 30);
    const BLUE: (u8, u8, u8) = (30, 30, 200);
    const GREEN: (u8, u8, u8) = (30, 200, 30);

    fn looks(palette: &[(u8, u8, u8)]) -> Vec<Option<Histogram>> {
        palette.iter().map(|&(r, g, b)| colour(r, g, b)).collect()
    }

    #[test]
    fn alike_shots_make_one_scene_and_a_change_of_look_starts_another() {
        let shots = shots(&[0.0, 5.0, 10.0, 15.0, 20.0, 25.0]);
        let looks = looks(&[RED, RED, BLUE, BLUE, BLUE]);
        let g = group(
            &shots,
            &looks,
            &Cues::default(),
            &[],
            &GroupingSettings::default(),
        );
        assert_eq!(ranges(&g), vec![(0, 1), (2, 4)]);
        assert_eq!(g.boundaries[1].decision, Decision::VisualChange);
        assert_eq!(g.boundaries[0].decision, Decision::Similar);
        assert_eq!(g.scenes[0].ends_with, SceneEnd::Cut);
        assert_eq!(g.scenes[1].ends_with, SceneEnd::End);
    }

    #[test]
    fn cross_cutting_stays_one_scene_within_the_link_window() {
        let shots = shots(&[0.0, 5.0, 10.0, 15.0, 20.0, 25.0]);
        let looks = looks(&[RED, BLUE, RED, BLUE, GREEN]);
        let g = group(
            &shots,
            &looks,
            &Cues::default(),
            &[],
            &GroupingSettings::default(),
        );
        assert_eq!(ranges(&g), vec![(0, 3), (4, 4)]);
        // Beyond the window the same look no longer links.
        let settings = GroupingSettings {
            max_link_seconds: 4.0,
            ..GroupingSettings::default()
        };
        let g = group(&shots, &looks, &Cues::default(), &[], &settings);
        assert_eq!(g.scenes.len(), 5);
    }

    #[test]
    fn speech_across_a_cut_holds_the_scene_together() {
        let shots = shots(&[0.0, 5.0, 10.0]);
        let looks = looks(&[RED, BLUE]);
        // Words 4.0–4.8 and 5.1–6.0: 0.3 s apart, one stretch across the cut at 5.0.
        let words = [
            Span {
                start: 4.0,
                end: 4.8,
            },
            Span {
                start: 5.1,
                end: 6.0,
            },
        ];
        let speech = dialogue(&words, 0.4);
        assert_eq!(speech.len(), 1);
        let g = group(
            &shots,
            &looks,
            &Cues::default(),
            &speech,
            &GroupingSettings::default(),
        );
        assert_eq!(g.scenes.len(), 1);
        assert_eq!(g.boundaries[0].decision, Decision::Dialogue);
        // 0.5 s apart: two stretches, the cut falls in the pause.
        let words = [
            Span {
                start: 4.0,
                end: 4.7,
            },
            Span {
                start: 5.2,
                end: 6.0,
            },
        ];
        let speech = dialogue(&words, 0.4);
        let g = group(
            &shots,
            &looks,
            &Cues::default(),
            &speech,
            &GroupingSettings::default(),
        );
        assert_eq!(g.scenes.len(), 2);
    }

    #[test]
    fn a_fade_to_black_ends_the_scene_even_between_alike_shots() {
        // Red, black (1 s), red.
        let shots = shots(&[0.0, 10.0, 11.0, 20.0]);
        let looks = looks(&[RED, (0, 0, 0), RED]);
        let cues = Cues {
            black: vec![Span {
                start: 10.0,
                end: 11.0,
            }],
            ..Cues::default()
        };
        let g = group(&shots, &looks, &cues, &[], &GroupingSettings::default());
        assert_eq!(ranges(&g), vec![(0, 1), (2, 2)]);
        assert_eq!(g.boundaries[0].decision, Decision::IntoBlack);
        assert_eq!(g.boundaries[1].decision, Decision::FadeToBlack);
        assert_eq!(g.scenes[0].ends_with, SceneEnd::FadeToBlack);
        assert!(g.boundaries[1].black);
    }

    #[test]
    fn short_scenes_merge_into_the_neighbour_they_look_like() {
        // Red 10 s, a 1 s purple-ish flash closer to blue, blue 10 s.
        let shots = shots(&[0.0, 10.0, 11.0, 21.0]);
        let looks = looks(&[RED, (40, 30, 190), BLUE]);
        // No links at all: only the merge joins scenes.
        let settings = GroupingSettings {
            similarity_threshold: -1.0,
            ..GroupingSettings::default()
        };
        let g = group(&shots, &looks, &Cues::default(), &[], &settings);
        assert_eq!(ranges(&g), vec![(0, 0), (1, 2)]);
        assert_eq!(g.boundaries[1].decision, Decision::ShortScene);
    }

    #[test]
    fn one_shot_and_no_shots() {
        let one = shots(&[0.0, 3.0]);
        let g = group(
            &one,
            &looks(&[RED]),
            &Cues::default(),
            &[],
            &GroupingSettings::default(),
        );
        assert_eq!(ranges(&g), vec![(0, 0)]);
        assert!(g.boundaries.is_empty());
        let g = group(
            &[],
            &[],
            &Cues::default(),
            &[],
            &GroupingSettings::default(),
        );
        assert!(g.scenes.is_empty());
    }
}
