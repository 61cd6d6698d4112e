//! Word error rate: how far a transcript is from a reference text, in words.
//!
//! WER = (substitutions + deletions + insertions) / words in the reference, from the word-level
//! Levenshtein alignment of the two texts after both are [normalised](normalize) the same way,
//! so that a transcript is not charged for writing what was said differently:
//!
//! - case and punctuation do not count: `Dashwood,` = `dashwood`; apostrophes are dropped
//!   (`don't` = `dont`, `Dashwood's` = `dashwoods`);
//! - hyphens, dashes and slashes separate words: `cold-hearted` = `cold hearted`;
//! - numbers are compared as spoken words: digits are spelled out, so `40` = `forty`,
//!   `21st` = `twenty first`, `3.5` = `three point five`, `25%` = `twenty five percent`,
//!   `1,000` = `one thousand`; a plain four-digit number from 1100 to 1999 or 2010 to 2099 is
//!   read as a year, `1890` = `eighteen ninety`, `1905` = `nineteen oh five`, `1900` =
//!   `nineteen hundred` (which is also how `1500 men` is said); other numbers read as
//!   cardinals without "and" (`120` = `one hundred twenty`), so a reference that says
//!   "one hundred and twenty" costs one insertion there;
//! - the titles `Mr`, `Mrs` and `Dr` read as `mister`, `missus`, `doctor`.
//!
//! Not normalised (each counts as an error): compounds written as one word or two
//! (`sandcastle` / `sand castle`), British and American spellings, other abbreviations,
//! currency signs.

use std::iter::Sum;
use std::ops::{Add, AddAssign};

/// The alignment of a hypothesis against a reference, as counts. Add them up over several
/// clips to get the corpus WER (total errors over total reference words).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wer {
    pub substitutions: usize,
    pub deletions: usize,
    pub insertions: usize,
    /// Words in the (normalised) reference.
    pub reference_words: usize,
    /// Words in the (normalised) hypothesis.
    pub hypothesis_words: usize,
}

impl Wer {
    /// Substitutions + deletions + insertions.
    pub fn errors(&self) -> usize {
        self.substitutions + self.deletions + self.insertions
    }

    /// Errors over reference words (can exceed 1 with many insertions). An empty reference
    /// gives 0 when the hypothesis is empty too, else 1 (everything heard is wrong).
    pub fn rate(&self) -> f64 {
        if self.reference_words == 0 {
            return if self.hypothesis_words == 0 { 0.0 } else { 1.0 };
        }
        self.errors() as f64 / self.reference_words as f64
    }
}

impl Add for Wer {
    type Output = Wer;

    fn add(self, other: Wer) -> Wer {
        Wer {
            substitutions: self.substitutions + other.substitutions,
            deletions: self.deletions + other.deletions,
            insertions: self.insertions + other.insertions,
            reference_words: self.reference_words + other.reference_words,
            hypothesis_words: self.hypothesis_words + other.hypothesis_words,
        }
    }
}

impl AddAssign for Wer {
    fn add_assign(&mut self, other: Wer) {
        *self = *self + other;
    }
}

impl Sum for Wer {
    fn sum<I: Iterator<Item = Wer>>(iter: I) -> Wer {
        iter.fold(Wer::default(), Add::add)
    }
}

/// The WER of `hypothesis` against `reference`, both [normalised](normalize).
pub fn word_error_rate(reference: &str, hypothesis: &str) -> Wer {
    align(&normalize(reference), &normalize(hypothesis))
}

/// Aligns two word sequences as they are (no normalisation): the fewest substitutions,
/// deletions and insertions that turn `reference` into `hypothesis`. O(n·m) time, O(m)
/// memory.
pub fn align<S: AsRef<str>>(reference: &[S], hypothesis: &[S]) -> Wer {
    // Each cell: (cost, substitutions, deletions, insertions) of the best path to it.
    type Cell = (usize, usize, usize, usize);
    let m = hypothesis.len();
    let mut previous: Vec<Cell> = (0..=m).map(|j| (j, 0, 0, j)).collect();
    let mut current: Vec<Cell> = vec![(0, 0, 0, 0); m + 1];
    for (i, r) in reference.iter().enumerate() {
        current[0] = (i + 1, 0, i + 1, 0);
        for (j, h) in hypothesis.iter().enumerate() {
            let diagonal = previous[j];
            let same = r.as_ref() == h.as_ref();
            let substitute = if same {
                diagonal
            } else {
                (diagonal.0 + 1, diagonal.1 + 1, diagonal.2, diagonal.3)
            };
            let up = previous[j + 1];
            let delete = (up.0 + 1, up.1, up.2 + 1, up.3);
            let left = current[j];
            let insert = (left.0 + 1, left.1, left.2, left.3 + 1);
            // Ties prefer a match/substitution, then a deletion: deterministic counts.
            let mut best = substitute;
            if delete.0 < best.0 {
                best = delete;
            }
            if insert.0 < best.0 {
                best = insert;
            }
            current[j + 1] = best;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    let (_, substitutions, deletions, insertions) = previous[m];
    Wer {
        substitutions,
        deletions,
        insertions,
        reference_words: reference.len(),
        hypothesis_words: m,
    }
}

/// The words of `text` as WER compares them (see the module docs): lowercase, no
/// punctuation, numbers spelled out.
pub fn normalize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for raw in text.split_whitespace() {
        let token = raw.to_lowercase().replace(['’', '‘', 'ʼ'], "'");
        let token = token.trim_matches(|c: char| !c.is_alphanumeric() && c != '%');
        if token.is_empty() {
            continue;
        }
        if let Some(spoken) = spell_number(token) {
            words.extend(spoken);
            continue;
        }
        for part in token.split(['-', '‐', '–', '—', '/', '_']) {
            let word: String = part.chars().filter(|c| c.is_alphanumeric()).collect();
            if word.is_empty() {
                continue;
            }
            if let Some(spoken) = spell_number(&word) {
                words.extend(spoken);
                continue;
            }
            let word = match word.as_str() {
                "mr" => "mister".to_owned(),
                "mrs" => "missus".to_owned(),
                "dr" => "doctor".to_owned(),
                _ => word,
            };
            words.push(word);
        }
    }
    words
}

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const SCALES: [(u64, &str); 6] = [
    (1_000_000_000_000_000_000, "quintillion"),
    (1_000_000_000_000_000, "quadrillion"),
    (1_000_000_000_000, "trillion"),
    (1_000_000_000, "billion"),
    (1_000_000, "million"),
    (1_000, "thousand"),
];

/// `token` spelled out when it is a number (`40`, `1,000`, `3.5`, `21st`, `25%`), else None.
fn spell_number(token: &str) -> Option<Vec<String>> {
    let (token, percent) = match token.strip_suffix('%') {
        Some(rest) => (rest, true),
        None => (token, false),
    };
    let (token, ordinal) = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| token.strip_suffix(suffix))
        .map_or((token, false), |rest| (rest, true));
    let (integer, fraction) = match token.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (token, None),
    };
    if integer.is_empty() || !integer.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if !integer.chars().all(|c| c.is_ascii_digit() || c == ',') {
        return None;
    }
    // Commas only as thousands separators: 1,000 and 12,345,678.
    let groups: Vec<&str> = integer.split(',').collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return None;
    }
    let digits: String = groups.concat();
    if let Some(f) = fraction
        && (f.is_empty() || !f.chars().all(|c| c.is_ascii_digit()) || ordinal)
    {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    let mut words = Vec::new();
    let plain = !percent && !ordinal && fraction.is_none() && groups.len() == 1;
    if plain
        && digits.len() == 4
        && ((1100..=1999).contains(&value) || (2010..=2099).contains(&value))
    {
        year(value, &mut words);
    } else {
        cardinal(value, &mut words);
    }
    if let Some(f) = fraction {
        words.push("point".to_owned());
        words.extend(
            f.chars()
                .map(|c| ONES[(c as u8 - b'0') as usize].to_owned()),
        );
    }
    if ordinal && let Some(last) = words.pop() {
        words.push(ordinal_of(&last));
    }
    if percent {
        words.push("percent".to_owned());
    }
    Some(words)
}

fn year(value: u64, words: &mut Vec<String>) {
    let (high, low) = (value / 100, value % 100);
    below_hundred(high, words);
    match low {
        0 => words.push("hundred".to_owned()),
        1..=9 => {
            words.push("oh".to_owned());
            words.push(ONES[low as usize].to_owned());
        }
        _ => below_hundred(low, words),
    }
}

fn cardinal(value: u64, words: &mut Vec<String>) {
    if value == 0 {
        words.push("zero".to_owned());
        return;
    }
    let mut rest = value;
    for (scale, name) in SCALES {
        if rest >= scale {
            below_thousand(rest / scale, words);
            words.push(name.to_owned());
            rest %= scale;
        }
    }
    if rest > 0 {
        below_thousand(rest, words);
    }
}

fn below_thousand(value: u64, words: &mut Vec<String>) {
    if value >= 100 {
        words.push(ONES[(value / 100) as usize].to_owned());
        words.push("hundred".to_owned());
    }
    if !value.is_multiple_of(100) {
        below_hundred(value % 100, words);
    }
}

fn below_hundred(value: u64, words: &mut Vec<String>) {
    if value < 20 {
        words.push(ONES[value as usize].to_owned());
    } else {
        words.push(TENS[(value / 10) as usize].to_owned());
        if !value.is_multiple_of(10) {
            words.push(ONES[(value % 10) as usize].to_owned());
        }
    }
}

fn ordinal_of(word: &str) -> String {
    match word {
        "one" => "first".to_owned(),
        "two" => "second".to_owned(),
        "three" => "third".to_owned(),
        "five" => "fifth".to_owned(),
        "eight" => "eighth".to_owned(),
        "nine" => "ninth".to_owned(),
        "twelve" => "twelfth".to_owned(),
        w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
        w => format!("{w}th"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> String {
        normalize(text).join(" ")
    }

    #[test]
    fn identical_texts_have_no_errors() {
        let wer = word_error_rate("the cat sat on the mat", "the cat sat on the mat");
        assert_eq!(wer.errors(), 0);
        assert_eq!(wer.reference_words, 6);
        assert_eq!(wer.rate(), 0.0);
    }

    #[test]
    fn counts_substitutions_deletions_and_insertions() {
        // One insertion over three reference words.
        let wer = word_error_rate("the cat sat", "the cat sat down");
        assert_eq!(
            (wer.substitutions, wer.deletions, wer.insertions),
            (0, 0, 1)
        );
        assert!((wer.rate() - 1.0 / 3.0).abs() < 1e-12);
        // a b c d -> a x c: b becomes x, d is dropped: 2 errors over 4 words.
        let wer = word_error_rate("a b c d", "a x c");
        assert_eq!(
            (wer.substitutions, wer.deletions, wer.insertions),
            (1, 1, 0)
        );
        assert_eq!(wer.rate(), 0.5);
        // Everything missing: 3 deletions, rate 1.
        let wer = word_error_rate("one two three", "");
        assert_eq!((wer.deletions, wer.rate()), (3, 1.0));
        // Many insertions can push the rate past 1.
        let wer = word_error_rate("yes", "yes yes yes");
        assert_eq!((wer.insertions, wer.rate()), (2, 2.0));
    }

    #[test]
    fn empty_reference() {
        assert_eq!(word_error_rate("", "").rate(), 0.0);
        assert_eq!(word_error_rate("...", "hello").rate(), 1.0);
    }

    #[test]
    fn the_librivox_clip_checked_by_hand() {
        // sense_and_sensibility_01_austen_64kb-0880 as whisper tiny.en wrote it: "old-sposed"
        // splits in two and both halves are wrong: 2 substitutions over 8 words.
        let wer = word_error_rate(
            "he was not an ill disposed young man",
            "He was not an old-sposed young man.",
        );
        assert_eq!(
            (wer.substitutions, wer.deletions, wer.insertions),
            (2, 0, 0)
        );
        assert_eq!(wer.reference_words, 8);
        assert_eq!(wer.rate(), 0.25);
        // -0870: "Mr." is "mister", and the comma costs nothing.
        let wer = word_error_rate(
            "and mister john dashwood had then leisure to consider",
            "And Mr. John Dashwood, had then leisure to consider",
        );
        assert_eq!(wer.errors(), 0);
    }

    #[test]
    fn case_punctuation_hyphens_and_apostrophes() {
        assert_eq!(
            words("Unless to be rather cold-hearted... and “selfish”!"),
            "unless to be rather cold hearted and selfish"
        );
        assert_eq!(words("Don’t — it's John's/Mary's"), "dont its johns marys");
        assert_eq!(
            words("Mrs. Jennings and Dr. Who"),
            "missus jennings and doctor who"
        );
        assert_eq!(words(" ,;  - "), "");
    }

    #[test]
    fn numbers_are_spelled_out() {
        assert_eq!(words("In 1890"), "in eighteen ninety");
        assert_eq!(
            words("1905 and 1900, 2024"),
            "nineteen oh five and nineteen hundred twenty twenty four"
        );
        assert_eq!(words("2005"), "two thousand five");
        assert_eq!(words("40 minutes"), "forty minutes");
        assert_eq!(words("0 7 13 99"), "zero seven thirteen ninety nine");
        assert_eq!(words("120"), "one hundred twenty");
        assert_eq!(
            words("1,234,567"),
            "one million two hundred thirty four thousand five hundred sixty seven"
        );
        assert_eq!(words("3.5"), "three point five");
        assert_eq!(words("25%"), "twenty five percent");
        assert_eq!(
            words("1st 2nd 3rd 4th 21st 40th 12th"),
            "first second third fourth twenty first fortieth twelfth"
        );
        assert_eq!(words("twenty-one"), "twenty one");
        // Not numbers: left alone.
        assert_eq!(words("b2b mp3"), "b2b mp3");
        // Whisper's "1890" against a reference that says it: no error.
        assert_eq!(
            word_error_rate(
                "in eighteen ninety there were forty",
                "In 1890 there were 40."
            )
            .errors(),
            0
        );
    }

    #[test]
    fn corpus_totals_add_up() {
        let clips = [
            word_error_rate("a b c d", "a x c"),
            word_error_rate("the cat sat", "the cat sat down"),
        ];
        let total: Wer = clips.iter().copied().sum();
        assert_eq!(total.errors(), 3);
        assert_eq!(total.reference_words, 7);
        assert!((total.rate() - 3.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn alignment_is_minimal_on_long_inputs() {
        let reference: Vec<String> = (0..2000).map(|i| format!("w{i}")).collect();
        let mut hypothesis = reference.clone();
        hypothesis.remove(10);
        hypothesis[500] = "x".to_owned();
        hypothesis.insert(1500, "y".to_owned());
        let wer = align(&reference, &hypothesis);
        assert_eq!(
            (wer.substitutions, wer.deletions, wer.insertions),
            (1, 1, 1)
        );
    }
}
