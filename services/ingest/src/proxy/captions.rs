//! Sidecar captions (`.srt`, `.vtt` beside the source) as WebVTT.
//!
//! A source `a/b/clip.mp4` may come with `a/b/clip.srt` and/or `a/b/clip.vtt`
//! ([`sidecar_keys`]). Both are stored as WebVTT: SubRip is converted ([`srt_to_vtt`]), WebVTT
//! is checked and tidied ([`normalize_vtt`]). Either way the output has no byte order mark,
//! `\n` line ends, one blank line between blocks and a final newline.

use std::fmt::Write as _;

/// Why a caption file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptionError {
    #[error("the caption file is empty")]
    Empty,
    #[error("not a WebVTT file: it must start with the line `WEBVTT`, but starts with {found:?}")]
    NotWebVtt { found: String },
    #[error(
        "not a SubRip (.srt) file: line {line} should be a cue timing like `00:00:01,000 --> 00:00:02,500`, found {found:?}"
    )]
    NotSrt { line: usize, found: String },
    #[error("line {line}: bad cue timing {found:?}: {reason}")]
    BadTiming {
        line: usize,
        found: String,
        reason: String,
    },
    #[error("the SubRip file has no cues")]
    NoCues,
}

/// The sidecar keys looked for beside `source_key`: the same folder and base name with `.srt`
/// and `.vtt` (`a/b/clip.mp4` → `a/b/clip.srt`, `a/b/clip.vtt`). Only the file name's last
/// extension is replaced; a name without one (or a dot file like `.hidden`) gets the extension
/// added.
pub fn sidecar_keys(source_key: &str) -> [String; 2] {
    let (folder, name) = match source_key.rsplit_once('/') {
        Some((folder, name)) => (&source_key[..=folder.len()], name),
        None => ("", source_key),
    };
    let base = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    [format!("{folder}{base}.srt"), format!("{folder}{base}.vtt")]
}

/// Converts SubRip to WebVTT.
///
/// Each SubRip block is an optional numeric counter, a timing line
/// (`00:00:01,000 --> 00:00:02,500`, optionally followed by `X1:… Y2:…` coordinates, which are
/// dropped) and text lines. The counters are dropped, the timestamps get `.` for `,` (and
/// two-digit hours), the text is kept: `<i>`, `<b>`, `<u>` stay, `<font …>` and `{\…}` overrides
/// are removed, and `&`, `<` and `-->` in the text are escaped as WebVTT needs. A byte order
/// mark, CRLF/CR line ends, extra blank lines and a text block without a timing after a cue (a
/// stray blank line inside a cue) are tolerated; a file that does not start with a cue, a
/// timing that does not parse, or one that ends before it starts is refused.
pub fn srt_to_vtt(text: &str) -> Result<String, CaptionError> {
    let text = clean(text);
    if text.trim().is_empty() {
        return Err(CaptionError::Empty);
    }
    let mut cues: Vec<(String, Vec<String>)> = Vec::new();
    for block in blocks(&text) {
        let mut lines = block.lines.iter().enumerate();
        let mut first = lines.next();
        // A numeric counter before the timing is dropped.
        if let Some((_, line)) = first
            && is_counter(line)
            && block.lines.get(1).is_some_and(|l| l.contains("-->"))
        {
            first = lines.next();
        }
        let Some((offset, line)) = first else {
            continue;
        };
        let line_number = block.first_line + offset;
        if !line.contains("-->") {
            // Text after a blank line inside a cue: keep it with that cue.
            match cues.last_mut() {
                Some((_, text)) => {
                    text.extend(block.lines.iter().map(|l| cue_text(l)));
                    continue;
                }
                None => {
                    return Err(CaptionError::NotSrt {
                        line: line_number,
                        found: excerpt(line),
                    });
                }
            }
        }
        let timing = timing(line, line_number, true)?;
        let text = lines.map(|(_, l)| cue_text(l)).collect();
        cues.push((timing, text));
    }
    if cues.is_empty() {
        return Err(CaptionError::NoCues);
    }
    let mut vtt = String::from("WEBVTT\n");
    for (timing, text) in cues {
        let text: Vec<&str> = text
            .iter()
            .map(String::as_str)
            .filter(|l| !l.trim().is_empty())
            .collect();
        // Empty cues carry nothing.
        if text.is_empty() {
            continue;
        }
        let _ = write!(vtt, "\n{timing}\n{}\n", text.join("\n"));
    }
    Ok(vtt)
}

/// Checks and tidies WebVTT: strips a byte order mark, makes line ends `\n`, checks the
/// `WEBVTT` header line and every cue timing line, collapses runs of blank lines and ends
/// with one newline. The content (header text, NOTE, STYLE and REGION blocks, cue settings,
/// cue text) is kept as it is.
pub fn normalize_vtt(text: &str) -> Result<String, CaptionError> {
    let text = clean(text);
    if text.trim().is_empty() {
        return Err(CaptionError::Empty);
    }
    let first = text.lines().next().unwrap_or_default();
    let header_ok = first
        .strip_prefix("WEBVTT")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
    if !header_ok {
        return Err(CaptionError::NotWebVtt {
            found: excerpt(first),
        });
    }
    let mut vtt = String::new();
    for block in blocks(&text) {
        let is_cue = !block.lines[0].starts_with("NOTE")
            && !block.lines[0].starts_with("STYLE")
            && !block.lines[0].starts_with("REGION")
            && block.first_line > 1;
        if is_cue {
            // The timing is the first line, or the second after a cue identifier.
            let timing_at = block.lines.iter().take(2).position(|l| l.contains("-->"));
            match timing_at {
                Some(at) => {
                    let line = block.lines[at];
                    timing(line, block.first_line + at, false)?;
                }
                None => {
                    return Err(CaptionError::BadTiming {
                        line: block.first_line,
                        found: excerpt(block.lines[0]),
                        reason: "a cue must start with a timing line (after an optional \
                                 identifier)"
                            .into(),
                    });
                }
            }
        }
        if !vtt.is_empty() {
            vtt.push('\n');
        }
        for line in &block.lines {
            vtt.push_str(line);
            vtt.push('\n');
        }
    }
    Ok(vtt)
}

/// Without a byte order mark or NUL characters, with `\n` line ends and no trailing spaces.
fn clean(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.replace('\0', "\u{fffd}");
    text.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines separated by blank lines, with the (1-based) line number of their first line.
struct Block<'a> {
    first_line: usize,
    lines: Vec<&'a str>,
}

fn blocks(text: &str) -> Vec<Block<'_>> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            blocks.extend(current.take());
        } else {
            current
                .get_or_insert_with(|| Block {
                    first_line: i + 1,
                    lines: Vec::new(),
                })
                .lines
                .push(line);
        }
    }
    blocks.extend(current);
    blocks
}

fn is_counter(line: &str) -> bool {
    let line = line.trim();
    !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit())
}

/// Parses `start --> end [rest]` and returns it as WebVTT (`HH:MM:SS.mmm --> HH:MM:SS.mmm`):
/// for WebVTT followed by `rest` (its cue settings), for SubRip (`srt`) without it (WebVTT has
/// no `X1:…` coordinates).
fn timing(line: &str, line_number: usize, srt: bool) -> Result<String, CaptionError> {
    let bad = |reason: &str| CaptionError::BadTiming {
        line: line_number,
        found: excerpt(line),
        reason: reason.to_owned(),
    };
    let (start, rest) = line
        .split_once("-->")
        .ok_or_else(|| bad("there is no `-->`"))?;
    let rest = rest.trim_start();
    let (end, settings) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
    let start = timestamp(start.trim(), srt).ok_or_else(|| bad("the start does not parse"))?;
    let end = timestamp(end.trim(), srt).ok_or_else(|| bad("the end does not parse"))?;
    if end < start {
        return Err(bad("it ends before it starts"));
    }
    let mut out = format!("{} --> {}", format_ms(start), format_ms(end));
    let settings = settings.trim();
    if !srt && !settings.is_empty() {
        out.push(' ');
        out.push_str(settings);
    }
    Ok(out)
}

/// `[HH:]MM:SS.mmm` (and, for SubRip, `,` for `.`, and 1–3 fraction digits) in milliseconds.
fn timestamp(text: &str, srt: bool) -> Option<u64> {
    let (clock, fraction) = if srt {
        text.split_once([',', '.'])?
    } else {
        text.split_once('.')?
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(fraction) || fraction.len() > 3 || (!srt && fraction.len() != 3) {
        return None;
    }
    let millis: u64 = format!("{fraction:0<3}").parse().ok()?;
    let parts: Vec<&str> = clock.split(':').collect();
    let (hours, minutes, seconds) = match parts.as_slice() {
        [h, m, s] => (*h, *m, *s),
        [m, s] => ("0", *m, *s),
        _ => return None,
    };
    if !digits(hours) || !digits(minutes) || !digits(seconds) {
        return None;
    }
    let (hours, minutes, seconds): (u64, u64, u64) = (
        hours.parse().ok()?,
        minutes.parse().ok()?,
        seconds.parse().ok()?,
    );
    if minutes > 59 || seconds > 59 || (!srt && (minutes_len(clock) != 2)) {
        return None;
    }
    // Checked: an hours field of 20 digits parses as a u64 but overflows as milliseconds.
    hours
        .checked_mul(3_600_000)?
        .checked_add(((minutes * 60 + seconds) * 1000) + millis)
}

/// How many digits the minutes field of `[HH:]MM:SS` has.
fn minutes_len(clock: &str) -> usize {
    let parts: Vec<&str> = clock.split(':').collect();
    parts[parts.len().saturating_sub(2)].len()
}

fn format_ms(ms: u64) -> String {
    let (hours, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (seconds, millis) = (rest / 1000, rest % 1000);
    format!("{hours:02}:{minutes:02}:{seconds:02}.{millis:03}")
}

/// A SubRip text line as WebVTT cue text.
fn cue_text(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '{'
            && rest.starts_with("{\\")
            && let Some(end) = rest.find('}')
        {
            // An ASS override like {\an8}: dropped.
            rest = &rest[end + 1..];
            continue;
        }
        if c == '<' {
            if let Some(end) = rest.find('>') {
                let tag = rest[1..end].trim().to_ascii_lowercase();
                let name = tag.trim_start_matches('/');
                let name = name.split_whitespace().next().unwrap_or("");
                match name {
                    "i" | "b" | "u" if tag.len() <= 2 => {
                        out.push_str(&rest[..=end].to_ascii_lowercase());
                        rest = &rest[end + 1..];
                        continue;
                    }
                    "font" => {
                        rest = &rest[end + 1..];
                        continue;
                    }
                    _ => {}
                }
            }
            out.push_str("&lt;");
        } else if c == '&' {
            if is_entity(rest) {
                out.push('&');
            } else {
                out.push_str("&amp;");
            }
        } else if rest.starts_with("-->") {
            out.push_str("--&gt;");
            rest = &rest[3..];
            continue;
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    // A dropped tag or override at the end of the line leaves the space before it.
    out.truncate(out.trim_end().len());
    out
}

/// Whether `text` (starting with `&`) starts a character reference: `&name;`, `&#123;`,
/// `&#x1F;`.
fn is_entity(text: &str) -> bool {
    let Some(end) = text.find(';') else {
        return false;
    };
    let body = &text[1..end];
    if let Some(number) = body.strip_prefix('#') {
        let (digits, radix) = match number.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16),
            None => (number, 10),
        };
        !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))
    } else {
        !body.is_empty() && body.len() <= 32 && body.chars().all(|c| c.is_ascii_alphanumeric())
    }
}

fn excerpt(line: &str) -> String {
    const MAX: usize = 60;
    match line.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_share_the_base_name() {
        assert_eq!(
            sidecar_keys("a/b/clip.mp4"),
            ["a/b/clip.srt", "a/b/clip.vtt"]
        );
        assert_eq!(sidecar_keys("clip.mov"), ["clip.srt", "clip.vtt"]);
        assert_eq!(
            sidecar_keys("a.b/c.d/my.clip.MP4"),
            ["a.b/c.d/my.clip.srt", "a.b/c.d/my.clip.vtt"]
        );
        assert_eq!(
            sidecar_keys("dir.x/noext"),
            ["dir.x/noext.srt", "dir.x/noext.vtt"]
        );
        assert_eq!(
            sidecar_keys("dir/.hidden"),
            ["dir/.hidden.srt", "dir/.hidden.vtt"]
        );
    }

    const SRT: &str = "1\n00:00:01,000 --> 00:00:02,500\nHello there.\n\n2\n00:00:03,250 --> 00:00:05,000\nTwo\nlines\n";

    #[test]
    fn srt_converts() {
        assert_eq!(
            srt_to_vtt(SRT).expect("converts"),
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello there.\n\n\
             00:00:03.250 --> 00:00:05.000\nTwo\nlines\n"
        );
    }

    #[test]
    fn srt_with_bom_crlf_and_trailing_blank_lines() {
        let messy = format!("\u{feff}{}\r\n\r\n\r\n", SRT.replace('\n', "\r\n"));
        assert_eq!(
            srt_to_vtt(&messy).expect("converts"),
            srt_to_vtt(SRT).expect("converts")
        );
        // Leading blank lines, several blank lines between cues, and trailing spaces.
        let spaced = format!(
            "\n\n{}",
            SRT.replace("\n\n", "\n  \n\n\n").replace(".\n", ".  \n")
        );
        assert_eq!(
            srt_to_vtt(&spaced).expect("converts"),
            srt_to_vtt(SRT).expect("converts")
        );
    }

    #[test]
    fn srt_oddities() {
        // No counters, short fractions, one-digit hours, coordinates, hours beyond 99.
        let srt = "0:00:01,5 --> 0:00:02,25 X1:100 X2:200 Y1:10 Y2:20\n<i>Ital</i> <FONT color=\"red\">red</FONT>\n\
                   {\\an8}Top & <b>bold</b> 1 < 2 --> 3 &amp; ok\n\n\
                   123:00:00,000 --> 123:00:01,000\nlate\n";
        assert_eq!(
            srt_to_vtt(srt).expect("converts"),
            "WEBVTT\n\n00:00:01.500 --> 00:00:02.250\n<i>Ital</i> red\n\
             Top &amp; <b>bold</b> 1 &lt; 2 --&gt; 3 &amp; ok\n\n\
             123:00:00.000 --> 123:00:01.000\nlate\n"
        );
        // A blank line inside a cue: the rest stays with the cue. An empty cue is dropped.
        let srt = "1\n00:00:01,000 --> 00:00:02,000\nfirst\n\nstill first\n\n2\n00:00:03,000 --> 00:00:04,000\n\n3\n00:00:05,000 --> 00:00:06,000\nthird\n";
        assert_eq!(
            srt_to_vtt(srt).expect("converts"),
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nfirst\nstill first\n\n\
             00:00:05.000 --> 00:00:06.000\nthird\n"
        );
        // A number as the text of a cue is text, not a counter.
        let srt = "00:00:01,000 --> 00:00:02,000\n42\n";
        assert!(srt_to_vtt(srt).expect("converts").ends_with("\n42\n"));
    }

    #[test]
    fn srt_text_ending_in_a_dropped_tag_has_no_trailing_space() {
        // Found by fuzzing (fuzz/ captions): the space before a `<font>` or `{\an8}` at the
        // end of a line stayed, so the stored WebVTT changed when read again.
        let srt = "1\n00:00:03,000 --> 00:00:05,200\n<b>large</b> & <font color=\"#ff0000\">\n\
                   then {\\an8}\n";
        let vtt = srt_to_vtt(srt).expect("converts");
        assert_eq!(
            vtt,
            "WEBVTT\n\n00:00:03.000 --> 00:00:05.200\n<b>large</b> &amp;\nthen\n"
        );
        assert_eq!(normalize_vtt(&vtt).expect("reads again"), vtt);
    }

    #[test]
    fn timestamps_too_large_for_milliseconds_are_refused() {
        // Found by fuzzing (fuzz/ captions): the hours overflowed when turned into milliseconds.
        let srt = "1\n00:00:01,000 --> 5124095576030431:00:00,000\nx\n";
        let err = srt_to_vtt(srt).expect_err("refused");
        assert!(
            matches!(&err, CaptionError::BadTiming { line: 2, reason, .. } if reason == "the end does not parse"),
            "{err:?}"
        );
        let vtt = "WEBVTT\n\n99999999999999999:00:00.000 --> 99999999999999999:00:01.000\nx\n";
        let err = normalize_vtt(vtt).expect_err("refused");
        assert!(
            matches!(err, CaptionError::BadTiming { line: 3, .. }),
            "{err:?}"
        );
        // The largest time that fits still reads.
        let vtt = "WEBVTT\n\n5124095576030:00:00.000 --> 5124095576030:00:01.000\nx\n";
        assert_eq!(normalize_vtt(vtt).expect("valid"), vtt);
    }

    #[test]
    fn srt_garbage_is_refused_clearly() {
        assert_eq!(srt_to_vtt(""), Err(CaptionError::Empty));
        assert_eq!(srt_to_vtt("\u{feff}\r\n \n"), Err(CaptionError::Empty));
        let err = srt_to_vtt("This is not a subtitle file.\nAt all.\n").expect_err("refused");
        assert!(
            matches!(err, CaptionError::NotSrt { line: 1, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("00:00:01,000 --> 00:00:02,500"),
            "{err}"
        );
        let err = srt_to_vtt("1\n00:00:01,000 --> soon\nx\n").expect_err("refused");
        assert!(
            matches!(err, CaptionError::BadTiming { line: 2, .. }),
            "{err:?}"
        );
        let err = srt_to_vtt("1\n00:00:05,000 --> 00:00:01,000\nx\n").expect_err("refused");
        assert!(err.to_string().contains("ends before it starts"), "{err}");
        let err = srt_to_vtt("00:61:00,000 --> 01:00:00,000\nx\n").expect_err("refused");
        assert!(matches!(err, CaptionError::BadTiming { .. }), "{err:?}");
        // Timings but only empty cues.
        assert_eq!(
            srt_to_vtt("1\n00:00:01,000 --> 00:00:02,000\n"),
            Ok("WEBVTT\n".into())
        );
        // A WebVTT file is not SubRip.
        assert!(srt_to_vtt("WEBVTT\n\n00:01.000 --> 00:02.000\nx\n").is_err());
    }

    const VTT: &str = "WEBVTT - a title\n\nNOTE made by hand\n\nSTYLE\n::cue { color: yellow }\n\n\
                       intro\n00:01.000 --> 00:00:02.500 align:start line:0\n<v Roger>Hi &amp; bye\n\n\
                       00:00:03.000 --> 00:00:04.000\nTwo\n";

    #[test]
    fn vtt_is_kept_as_it_is() {
        assert_eq!(normalize_vtt(VTT).expect("valid"), VTT);
        assert_eq!(normalize_vtt("WEBVTT").expect("valid"), "WEBVTT\n");
        assert_eq!(normalize_vtt("WEBVTT\tx\n").expect("valid"), "WEBVTT\tx\n");
    }

    #[test]
    fn vtt_with_bom_crlf_and_blank_runs_is_tidied() {
        let messy = format!(
            "\u{feff}{}\r\n\r\n\r\n",
            VTT.replace("\n\n", "\n\n\n").replace('\n', "\r\n")
        );
        assert_eq!(normalize_vtt(&messy).expect("valid"), VTT);
        let old_mac = VTT.replace('\n', "\r");
        assert_eq!(normalize_vtt(&old_mac).expect("valid"), VTT);
    }

    #[test]
    fn vtt_garbage_is_refused_clearly() {
        assert_eq!(normalize_vtt(" \n"), Err(CaptionError::Empty));
        for bad in [
            "WEBVTTX\n",
            "webvtt\n",
            "1\n00:00:01,000 --> 00:00:02,000\nx\n",
        ] {
            let err = normalize_vtt(bad).expect_err("refused");
            assert!(
                matches!(err, CaptionError::NotWebVtt { .. }),
                "{bad:?}: {err:?}"
            );
            assert!(err.to_string().contains("WEBVTT"), "{err}");
        }
        let err = normalize_vtt("WEBVTT\n\n00:00:01,000 --> 00:00:02,000\nx\n")
            .expect_err("SubRip commas are not WebVTT");
        assert!(
            matches!(err, CaptionError::BadTiming { line: 3, .. }),
            "{err:?}"
        );
        let err = normalize_vtt("WEBVTT\n\njust text\nmore text\nand more\n").expect_err("refused");
        assert!(
            matches!(err, CaptionError::BadTiming { line: 3, .. }),
            "{err:?}"
        );
        let err =
            normalize_vtt("WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nx\n").expect_err("refused");
        assert!(err.to_string().contains("ends before it starts"), "{err}");
    }
}
