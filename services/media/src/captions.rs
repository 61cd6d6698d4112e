//! Captions from timed words: cues of at most two lines of 42 characters, each on screen for
//! 1–7 seconds, never spanning a pause in speech; written as WebVTT or SRT.
//!
//! The rules are the usual broadcast ones (BBC and Netflix guidelines): a line holds at most
//! [`CaptionRules::max_line_chars`] characters and a cue at most
//! [`CaptionRules::max_lines`] lines; a cue closes at a pause of at least
//! [`CaptionRules::pause_seconds`], when it would last longer than
//! [`CaptionRules::max_seconds`], or after a sentence's end once the cue is half full; a cue
//! shorter than [`CaptionRules::min_seconds`] is held on screen longer when the next cue leaves
//! room. Pure: words in, cues out.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// One recognised word and when it was said (seconds from the start of the media).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimedWord {
    pub text: String,
    pub start: f64,
    pub end: f64,
}

/// How cues are cut.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CaptionRules {
    pub max_line_chars: usize,
    pub max_lines: usize,
    pub min_seconds: f64,
    pub max_seconds: f64,
    /// A silence at least this long between two words ends the cue.
    pub pause_seconds: f64,
}

impl Default for CaptionRules {
    fn default() -> Self {
        Self {
            max_line_chars: 42,
            max_lines: 2,
            min_seconds: 1.0,
            max_seconds: 7.0,
            pause_seconds: 1.5,
        }
    }
}

/// One caption: its lines and when they are on screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptionCue {
    pub start: f64,
    pub end: f64,
    pub lines: Vec<String>,
}

/// Cuts `words` (in time order) into cues by `rules`. Words longer than a line get a line of
/// their own (never split mid-word); empty words are skipped.
pub fn build_cues(words: &[TimedWord], rules: &CaptionRules) -> Vec<CaptionCue> {
    let max_chars = rules.max_line_chars.max(1);
    let max_lines = rules.max_lines.max(1);
    let mut cues: Vec<CaptionCue> = Vec::new();
    let mut current: Option<CaptionCue> = None;
    let mut previous_end: Option<f64> = None;
    for word in words {
        let text = word.text.trim();
        if text.is_empty() || !(word.start.is_finite() && word.end.is_finite()) {
            continue;
        }
        let end = word.end.max(word.start);
        if let Some(cue) = current.take() {
            let paused = previous_end.is_some_and(|e| word.start - e >= rules.pause_seconds);
            let too_long = end - cue.start > rules.max_seconds;
            let last_line = cue.lines.last().map_or("", String::as_str);
            let fits_line = last_line.chars().count() + 1 + text.chars().count() <= max_chars;
            let full = !fits_line && cue.lines.len() >= max_lines;
            let chars: usize = cue.lines.iter().map(|l| l.chars().count()).sum();
            let sentence_done =
                last_line.ends_with(['.', '?', '!']) && chars >= max_chars * max_lines / 2;
            if paused || too_long || full || sentence_done {
                cues.push(cue);
            } else {
                let mut cue = cue;
                if fits_line {
                    let line = cue.lines.last_mut().expect("a cue has a line");
                    line.push(' ');
                    line.push_str(text);
                } else {
                    cue.lines.push(text.to_owned());
                }
                cue.end = end;
                current = Some(cue);
                previous_end = Some(end);
                continue;
            }
        }
        current = Some(CaptionCue {
            start: word.start,
            end,
            lines: vec![text.to_owned()],
        });
        previous_end = Some(end);
    }
    cues.extend(current);
    // Hold short cues on screen up to the minimum, without running into the next cue.
    for i in 0..cues.len() {
        let next_start = cues.get(i + 1).map(|c| c.start);
        let cue = &mut cues[i];
        if cue.end - cue.start < rules.min_seconds {
            let wanted = cue.start + rules.min_seconds;
            cue.end = next_start.map_or(wanted, |n| wanted.min(n));
        }
    }
    cues
}

/// The cues as a WebVTT file.
pub fn to_webvtt(cues: &[CaptionCue]) -> String {
    let mut out = String::from("WEBVTT\n");
    for cue in cues {
        let _ = write!(
            out,
            "\n{} --> {}\n{}\n",
            timestamp(cue.start, '.'),
            timestamp(cue.end, '.'),
            cue.lines.join("\n")
        );
    }
    out
}

/// The cues as an SRT file (numbered from 1, comma before the milliseconds).
pub fn to_srt(cues: &[CaptionCue]) -> String {
    let mut out = String::new();
    for (i, cue) in cues.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(
            out,
            "{}\n{} --> {}\n{}\n",
            i + 1,
            timestamp(cue.start, ','),
            timestamp(cue.end, ','),
            cue.lines.join("\n")
        );
    }
    out
}

/// `HH:MM:SS.mmm` (WebVTT) or `HH:MM:SS,mmm` (SRT).
fn timestamp(seconds: f64, separator: char) -> String {
    let millis = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{separator}{:03}",
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words said one after another, `seconds` each, from `start`.
    fn said(text: &str, start: f64, seconds: f64) -> Vec<TimedWord> {
        text.split_whitespace()
            .enumerate()
            .map(|(i, w)| TimedWord {
                text: w.into(),
                start: start + i as f64 * seconds,
                end: start + (i + 1) as f64 * seconds,
            })
            .collect()
    }

    #[test]
    fn lines_fill_to_42_characters_and_cues_to_two_lines() {
        let words = said(
            "the quick brown fox jumps over the lazy dog while the cat sleeps on the warm \
             windowsill and the bird sings outside in the old oak tree near the river bank",
            0.0,
            0.2,
        );
        let cues = build_cues(&words, &CaptionRules::default());
        assert!(cues.len() >= 2);
        for cue in &cues {
            assert!(cue.lines.len() <= 2, "{cue:?}");
            for line in &cue.lines {
                assert!(line.chars().count() <= 42, "{line:?}");
            }
            let seconds = cue.end - cue.start;
            assert!((1.0..=7.0).contains(&seconds), "{cue:?}");
        }
        // Every word is captioned once, in order.
        let joined: Vec<String> = cues.iter().flat_map(|c| c.lines.clone()).collect();
        let text: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(joined.join(" "), text.join(" "));
        // "…the lazy dog" would be 43 characters.
        assert_eq!(cues[0].lines[0], "the quick brown fox jumps over the lazy");
    }

    #[test]
    fn a_pause_ends_a_cue_and_short_cues_are_held_for_a_second() {
        let mut words = said("hello there", 0.0, 0.2);
        words.extend(said("after the pause", 3.0, 0.3));
        let cues = build_cues(&words, &CaptionRules::default());
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[0].lines, vec!["hello there"]);
        assert_eq!(
            (cues[0].start, cues[0].end),
            (0.0, 1.0),
            "held to the minimum"
        );
        assert_eq!(cues[1].lines, vec!["after the pause"]);
        assert_eq!(cues[1].start, 3.0);
    }

    #[test]
    fn slow_speech_is_cut_at_seven_seconds() {
        let words = said("one two three four five six seven eight nine ten", 0.0, 1.0);
        let cues = build_cues(&words, &CaptionRules::default());
        assert!(cues.iter().all(|c| c.end - c.start <= 7.0), "{cues:?}");
        assert_eq!(cues.len(), 2);
    }

    #[test]
    fn webvtt_and_srt_render_the_same_cues() {
        let cues = vec![
            CaptionCue {
                start: 1.5,
                end: 3.25,
                lines: vec!["Good evening.".into()],
            },
            CaptionCue {
                start: 3661.0,
                end: 3662.0,
                lines: vec!["Line one".into(), "line two".into()],
            },
        ];
        assert_eq!(
            to_webvtt(&cues),
            "WEBVTT\n\n00:00:01.500 --> 00:00:03.250\nGood evening.\n\
             \n01:01:01.000 --> 01:01:02.000\nLine one\nline two\n"
        );
        assert_eq!(
            to_srt(&cues),
            "1\n00:00:01,500 --> 00:00:03,250\nGood evening.\n\
             \n2\n01:01:01,000 --> 01:01:02,000\nLine one\nline two\n"
        );
        assert_eq!(build_cues(&[], &CaptionRules::default()), vec![]);
    }
}
