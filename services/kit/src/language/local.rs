//! The local language backend, `mediasift yake+vader`: keyphrases, sentiment and entities of
//! English text by deterministic algorithms, without a model download or a network call.
//!
//! # Keyphrases: YAKE
//!
//! YAKE (Campos et al., 2020; the [`yake_rust`] crate) ranks 1- to 3-word phrases that neither
//! start nor end with a stop word by statistics of their words in the document alone: casing,
//! position of the sentences they occur in, frequency, how many different words surround
//! them, and in how many sentences they occur. Parameters: n-grams up to
//! [`KEYPHRASE_NGRAMS`], YAKE's English stop words, a window of 1 word, phrases of at least 3
//! characters made of letters, digits and hyphens, near-duplicates (Levenshtein similarity
//! above [`KEYPHRASE_DEDUPLICATION`]) dropped. Of YAKE's best 40, a phrase that repeats a
//! better one is dropped too (all its content words are in it, or all of the better one's
//! are in it, or they share two: `holmes` after `sherlock holmes`, `jane smith told` after
//! `executive jane smith`), and the best [`MAX_KEYPHRASES`] left are kept per document. A
//! phrase is reported as it first occurs in the text.
//!
//! YAKE's score `s` is lower-is-better and unbounded (0 for a perfect keyword; most
//! keyphrases of a one-minute window fall between 0.005 and 0.5). It is reported as
//! `1 / (1 + s / KEYPHRASE_SCORE_SCALE)`: monotonic (the order is YAKE's), independent of the
//! other phrases (scores of two windows compare), 1 for a perfect keyword and 0.5 for
//! `s` = [`KEYPHRASE_SCORE_SCALE`].
//!
//! # Sentiment: VADER
//!
//! VADER (Hutto & Gilbert, 2014; the [`vader_sentiment`] crate) scores a sentence from a
//! lexicon of 7,500 rated words and emoticons with rules for negation, boosters ("very"),
//! "but", capitals and exclamation marks. VADER is made for sentences: its "but" rule reaches
//! across the whole text it is given and its compound score saturates on long texts (scored
//! whole, four sentences of praise then "But then my wallet was stolen ..." and two of anger
//! come out -0.97, plainly negative; a neutral passage with one delighted sentence +0.69). So
//! the
//! document is split into sentences (`.` `!` `?` and line breaks, not after `Mr.`, `Dr.`,
//! initials, ...), a sentence longer than [`MAX_SENTIMENT_WORDS`] words (an unpunctuated
//! transcript) is cut into equal pieces no longer than that, each piece is scored, and the
//! document's figures are the means of the pieces' figures weighted by their word counts:
//!
//! - `compound` (-1 to 1): ≥ [`POSITIVE_COMPOUND`] is `POSITIVE`, ≤ -[`POSITIVE_COMPOUND`]
//!   `NEGATIVE`, between `NEUTRAL` (VADER's own thresholds);
//! - `MIXED` instead when VADER's positive and negative proportions `pos` and `neg` are both
//!   at least [`MIXED_MIN_PROPORTION`] and the smaller is at least [`MIXED_MIN_BALANCE`] of the
//!   larger: both kinds of feeling are present and neither dominates;
//! - the scores: `mixed` = 2·min(`pos`, `neg`) (the share the two feelings have in common),
//!   `positive` = `pos` − min, `negative` = `neg` − min, `neutral` = `neu`; they sum to 1.
//!   The label follows the compound score and the rule above, not the largest score (VADER's
//!   neutral proportion is large even in clearly positive sentences).
//!
//! # Entities: capitalised phrases
//!
//! There is no named-entity model here: entities are runs of capitalised words, typed by
//! what surrounds them.
//!
//! - A run is capitalised words, joined by `of`, `de`, `van`, `von`, `&` ... when a capitalised
//!   word follows, and by the dot of `Mr.` or of an initial (`Mr. Sherlock Holmes`,
//!   `Bank of England`, `J. Smith`). A trailing `'s` is dropped.
//! - At the start of a sentence (or after an opening quote or a colon) every word is
//!   capitalised, so there the leading stop words are dropped (`The`, `When`, `Yesterday`)
//!   and what remains is kept only if it has an honorific, or is an acronym, or its first
//!   word is capitalised elsewhere in the document away from a sentence start, or it has two
//!   words or more whose first never occurs in lower case in the document.
//! - Types, the first rule that applies: an organisation word last (`Inc`, `Ltd`,
//!   `Corporation`, `Company`, `University`, `Bank`, `Party`, ...) or first before `of`
//!   (`University of Oxford`) → `ORGANIZATION`; a place word last or first (`Street`, `Road`,
//!   `River`, `Island`, `Mount`, `Lake`) → `LOCATION`; an honorific before a name (`Mr`,
//!   `Mrs`, `Dr`, `Sir`, `Inspector`, ...; titles such as `Duke` and `Bishop` also before
//!   `of`: `Duke of York`) → `PERSON`; an acronym (`NASA`, `B.B.C.`) → `ORGANIZATION`,
//!   except a few countries (`U.S.`, `UK`: `LOCATION`) and common non-names (`OK`, `TV`,
//!   `CEO`: left out); after `in`, `near`, `across`, `throughout`, `outside`, `toward(s)`
//!   (and an optional `the`) → `LOCATION`; else `OTHER`.
//! - An `OTHER` (or a place by preposition) takes the type of another mention of the
//!   document: a part of a person's name is that person (`Holmes`, `Sherlock Holmes` after
//!   `Mr. Sherlock Holmes`); the same words as a place or organisation are that place or
//!   organisation (every `London` after one `in London`).
//! - A run takes at most one joining word, and not into an organisation's first word:
//!   `Doctor of Medicine of the University of London` is `Doctor of Medicine` and
//!   `University of London`.
//! - Dates: a month with its day and year (`5 January 1890`, `March 3, 2021`; `May` and
//!   `March` only next to a number), a weekday, a year (1000–2100) or a decade (`1890s`).
//!   Quantities: a number with a currency sign, `%`, `percent`, a scale word (`million`)
//!   or a common unit (`miles`, `pounds`, `years`, ...) → `QUANTITY`. A bare number is not an
//!   entity, and numbers written in words are not read.
//! - One entity per distinct text and type, in the order of first mention. Score: the rule's
//!   reliability ([`EntityRule::score`]: 0.9 for an honorific or a date, 0.85 for an
//!   organisation or place word or a quantity, 0.75 for a type taken from elsewhere in the
//!   document, 0.6 after `in`, 0.55 for an acronym, 0.5 for `OTHER`, 0.45 for an `OTHER` at a
//!   sentence start), plus 0.05 for each further mention, at most 0.99.
//!
//! # Limits
//!
//! - English only: any other language is [`LanguageError::UnsupportedLanguage`] (language
//!   analysis is reported skipped, the asset is not failed).
//! - Entities come from capitals, not from a named-entity model: a transcript without
//!   capitals (pocketsphinx writes lower case) has no entities; a person's or place's name
//!   with no honorific, place word or preposition is `OTHER`; `COMMERCIAL_ITEM`, `EVENT` and
//!   `TITLE` are never produced; a capitalised common word after a missed sentence end, or a
//!   title (`The Hound of the Baskervilles`), can be taken for a name; names with lower-case
//!   particles are joined only by the few particles listed; numbers written in words are not
//!   quantities.
//! - Keyphrases are statistical, with no part-of-speech tagging: YAKE needs a few sentences
//!   to rank well, often glues a verb to a name (`Acme Corporation fell`), and on an
//!   unpunctuated transcript makes phrases across what were sentence ends (`twelve to
//!   pump`). It knows no synonyms and no phrases beyond 3 words; scores compare between
//!   windows only roughly.
//! - Sentiment is lexical: sarcasm, irony, domain words the lexicon lacks, and sentiment
//!   carried by context are missed; speech-to-text errors change the words VADER sees. The
//!   scores are VADER's proportions of sentiment-bearing words, not the probabilities
//!   Comprehend reports, and `MIXED` is the rule above.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use async_trait::async_trait;
use vader_sentiment::SentimentIntensityAnalyzer;
use yake_rust::{Config as YakeConfig, StopWords};

use super::{DocumentLanguage, Entity, Keyphrase, LanguageBackend, LanguageError, Sentiment};

/// The engine's name as results report it.
pub const ENGINE: &str = "mediasift yake+vader";
/// Keyphrases kept per document.
pub const MAX_KEYPHRASES: usize = 10;
/// Longest keyphrase, in words.
pub const KEYPHRASE_NGRAMS: usize = 3;
/// YAKE's best phrases read before redundant ones are dropped (see [`MAX_KEYPHRASES`]).
const KEYPHRASE_CANDIDATES: usize = 4 * MAX_KEYPHRASES;
/// Two keyphrases whose Levenshtein similarity (0–1) exceeds this are duplicates; the
/// better-ranked one is kept (`holmes` and `holme`, `client` and `clients`).
pub const KEYPHRASE_DEDUPLICATION: f64 = 0.8;
/// The YAKE score reported as 0.5 (see the module's documentation).
pub const KEYPHRASE_SCORE_SCALE: f64 = 0.1;
/// VADER's threshold: a compound score at least this is positive, at most minus this
/// negative.
pub const POSITIVE_COMPOUND: f64 = 0.05;
/// `MIXED` needs both VADER proportions, positive and negative, at least this large.
pub const MIXED_MIN_PROPORTION: f64 = 0.08;
/// `MIXED` needs the smaller proportion at least this fraction of the larger.
pub const MIXED_MIN_BALANCE: f64 = 0.5;
/// Sentences longer than this (in words) are scored in pieces.
pub const MAX_SENTIMENT_WORDS: usize = 30;

/// Entity types, as Comprehend names them.
pub mod kinds {
    pub const PERSON: &str = "PERSON";
    pub const LOCATION: &str = "LOCATION";
    pub const ORGANIZATION: &str = "ORGANIZATION";
    pub const DATE: &str = "DATE";
    pub const QUANTITY: &str = "QUANTITY";
    pub const OTHER: &str = "OTHER";
}

/// Why an entity got its type; each rule has a fixed reliability, the entity's base score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityRule {
    /// `Mr. Holmes`: `PERSON`.
    Honorific,
    /// A month, weekday, year or decade: `DATE`.
    Date,
    /// `Acme Corporation`, `University of Oxford`: `ORGANIZATION`.
    OrganisationWord,
    /// `Baker Street`, `Mount Everest`: `LOCATION`.
    PlaceWord,
    /// `$5 million`, `20%`, `3 miles`: `QUANTITY`.
    Quantity,
    /// The type of an entity of the same document this one is part of.
    Elsewhere,
    /// `in London`: `LOCATION`.
    Preposition,
    /// `NASA`: `ORGANIZATION`.
    Acronym,
    /// A capitalised run with no other clue: `OTHER`.
    Capitalised,
    /// The same at a sentence start (kept because it recurs or is long): `OTHER`.
    SentenceStart,
}

impl EntityRule {
    /// The base score of an entity typed by this rule.
    pub fn score(self) -> f64 {
        match self {
            Self::Honorific | Self::Date => 0.9,
            Self::OrganisationWord | Self::PlaceWord | Self::Quantity => 0.85,
            Self::Elsewhere => 0.75,
            Self::Preposition => 0.6,
            Self::Acronym => 0.55,
            Self::Capitalised => 0.5,
            Self::SentenceStart => 0.45,
        }
    }
}

/// Added to an entity's score for each mention after the first.
const MENTION_BONUS: f64 = 0.05;
/// The highest entity score.
const MAX_ENTITY_SCORE: f64 = 0.99;

/// Keyphrases, sentiment and entities of English text (see the module's documentation).
#[derive(Debug, Clone)]
pub struct LocalLanguage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    stop_words: StopWords,
    yake: YakeConfig,
}

impl Default for LocalLanguage {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalLanguage {
    pub fn new() -> Self {
        let yake = YakeConfig {
            ngrams: KEYPHRASE_NGRAMS,
            window_size: 1,
            remove_duplicates: true,
            deduplication_threshold: KEYPHRASE_DEDUPLICATION,
            only_alphanumeric_and_hyphen: true,
            minimum_chars: 3,
            ..YakeConfig::default()
        };
        Self {
            inner: Arc::new(Inner {
                stop_words: StopWords::predefined("en").unwrap_or_default(),
                yake,
            }),
        }
    }

    /// Everything about one document (English assumed); empty for an empty document.
    pub fn analyse_document(&self, text: &str) -> DocumentLanguage {
        if text.trim().is_empty() {
            return DocumentLanguage::default();
        }
        DocumentLanguage {
            keyphrases: self.keyphrases(text),
            entities: self.entities(text),
            sentiment: sentiment(text),
        }
    }

    /// YAKE's best [`MAX_KEYPHRASES`] phrases, best first.
    pub fn keyphrases(&self, text: &str) -> Vec<Keyphrase> {
        if text.trim().is_empty() {
            return Vec::new();
        }
        let inner = &self.inner;
        // yake-rust has no known panic, but it indexes and unwraps: a bug there must cost one
        // document's keyphrases, not the asset's analysis.
        let ranked = catch_unwind(AssertUnwindSafe(|| {
            yake_rust::get_n_best(KEYPHRASE_CANDIDATES, text, &inner.stop_words, &inner.yake)
        }));
        match ranked {
            Ok(mut ranked) => {
                // yake-rust sums its features over hash maps in a per-process random order,
                // so scores differ in their last bits from run to run, and near-ties swap.
                // Ten significant digits, then the phrase, make the ranking the same every run.
                for item in &mut ranked {
                    item.score = significant_digits(item.score);
                }
                ranked.sort_by(|a, b| {
                    a.score
                        .total_cmp(&b.score)
                        .then_with(|| a.keyword.cmp(&b.keyword))
                });
                let mut kept: Vec<(Keyphrase, HashSet<String>)> = Vec::new();
                for item in ranked {
                    if kept.len() == MAX_KEYPHRASES {
                        break;
                    }
                    let words: HashSet<String> = item
                        .keyword
                        .split_whitespace()
                        .filter(|w| !inner.stop_words.contains(*w))
                        .map(str::to_owned)
                        .collect();
                    if words.is_empty() || kept.iter().any(|(_, k)| redundant(&words, k)) {
                        continue;
                    }
                    kept.push((
                        Keyphrase {
                            text: item.raw,
                            score: keyphrase_score(item.score),
                        },
                        words,
                    ));
                }
                kept.into_iter().map(|(k, _)| k).collect()
            }
            Err(_) => {
                tracing::warn!(
                    chars = text.chars().count(),
                    "YAKE panicked on a document; it has no keyphrases"
                );
                Vec::new()
            }
        }
    }

    /// Capitalised-phrase entities, dates and quantities, one per distinct text and type.
    pub fn entities(&self, text: &str) -> Vec<Entity> {
        entities(text, &self.inner.stop_words)
    }
}

#[async_trait]
impl LanguageBackend for LocalLanguage {
    fn engine(&self) -> String {
        ENGINE.to_owned()
    }

    async fn analyse(
        &self,
        documents: &[String],
        language: &str,
    ) -> Result<Vec<DocumentLanguage>, LanguageError> {
        if !is_english(language) {
            return Err(LanguageError::UnsupportedLanguage(format!(
                "local language analysis handles English only; the speech is {}",
                if language.trim().is_empty() {
                    "of an unknown language"
                } else {
                    language
                }
            )));
        }
        if documents.iter().all(|d| d.trim().is_empty()) {
            return Ok(vec![DocumentLanguage::default(); documents.len()]);
        }
        let this = self.clone();
        let documents = documents.to_vec();
        tokio::task::spawn_blocking(move || {
            documents
                .iter()
                .map(|document| this.analyse_document(document))
                .collect()
        })
        .await
        .map_err(|e| LanguageError::Failed(format!("local language analysis failed: {e}")))
    }
}

/// Whether a keyphrase with content words `words` repeats a better one with `kept`: one's
/// words are all in the other (`holmes` after `sherlock holmes`, `sherlock holmes said`
/// after `sherlock holmes`) or they share two words (`jane smith told` after `executive jane
/// smith`).
fn redundant(words: &HashSet<String>, kept: &HashSet<String>) -> bool {
    let shared = words.intersection(kept).count();
    shared == words.len() || shared == kept.len() || shared >= 2
}

/// Whether a BCP-47 tag or ISO 639 code names English (`en`, `en-US`, `en_GB`, `eng`).
pub fn is_english(language: &str) -> bool {
    let primary = language.trim().split(['-', '_']).next().unwrap_or_default();
    primary.eq_ignore_ascii_case("en") || primary.eq_ignore_ascii_case("eng")
}

/// YAKE's lower-is-better score as 0–1 higher-is-better.
/// `value` rounded to ten significant digits.
fn significant_digits(value: f64) -> f64 {
    format!("{value:.9e}").parse().unwrap_or(value)
}

pub fn keyphrase_score(yake: f64) -> f64 {
    if yake.is_nan() {
        return 0.0;
    }
    1.0 / (1.0 + yake.max(0.0) / KEYPHRASE_SCORE_SCALE)
}

// --- tokens and sentences -------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Letters (and digits, apostrophes and hyphens inside), or a dotted acronym (`U.S.`).
    Word,
    /// Digits (with `,` `.` inside and a letter suffix: `1,000`, `1890s`, `5th`).
    Number,
    /// One other character.
    Punct,
    /// A line break.
    Break,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    start: usize,
    end: usize,
    kind: Kind,
}

impl Token<'_> {
    fn is_word(&self) -> bool {
        self.kind == Kind::Word
    }

    fn is(&self, punct: &str) -> bool {
        self.kind == Kind::Punct && self.text == punct
    }

    fn lower(&self) -> String {
        self.text.to_lowercase()
    }

    /// Starts with a capital letter (`I` and its contractions excepted).
    fn is_capitalised(&self) -> bool {
        self.is_word()
            && self.text.chars().next().is_some_and(char::is_uppercase)
            && !matches!(
                self.text,
                "I" | "I'm" | "I've" | "I'll" | "I'd" | "I’m" | "I’ve" | "I’ll" | "I’d"
            )
    }

    /// All capitals, at least two letters (`NASA`, `U.S.`).
    fn is_acronym(&self) -> bool {
        self.is_word()
            && self.text.chars().filter(|c| c.is_alphabetic()).count() >= 2
            && self
                .text
                .chars()
                .all(|c| c.is_uppercase() || c == '.' || c == '&' || c.is_ascii_digit())
    }
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '’'
}

fn tokenize(text: &str) -> Vec<Token<'_>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let offset = |i: usize| chars.get(i).map_or(text.len(), |&(o, _)| o);
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let (kind, next) = if c == '\n' {
            (Kind::Break, i + 1)
        } else if c.is_whitespace() {
            i += 1;
            continue;
        } else if c.is_alphabetic() {
            // A dotted acronym: two or more `X.`.
            let mut j = i;
            while at(j).is_some_and(char::is_uppercase) && at(j + 1) == Some('.') {
                j += 2;
            }
            if j >= i + 4 && !at(j).is_some_and(char::is_alphanumeric) {
                (Kind::Word, j)
            } else {
                let mut j = i + 1;
                loop {
                    match at(j) {
                        Some(c) if c.is_alphanumeric() => j += 1,
                        Some(c)
                            if (is_apostrophe(c) || c == '-')
                                && at(j + 1).is_some_and(char::is_alphanumeric) =>
                        {
                            j += 2
                        }
                        _ => break,
                    }
                }
                (Kind::Word, j)
            }
        } else if c.is_ascii_digit() {
            let mut j = i + 1;
            loop {
                match at(j) {
                    Some(c) if c.is_alphanumeric() => j += 1,
                    Some(',' | '.') if at(j + 1).is_some_and(|c| c.is_ascii_digit()) => j += 2,
                    _ => break,
                }
            }
            (Kind::Number, j)
        } else {
            (Kind::Punct, i + 1)
        };
        let end = offset(next);
        tokens.push(Token {
            text: &text[start..end],
            start,
            end,
            kind,
        });
        i = next;
    }
    tokens
}

/// Words after which a dot does not end a sentence.
#[rustfmt::skip]
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "messrs", "mme", "mlle", "dr", "prof", "st", "jr", "sr", "rev", "hon",
    "capt", "col", "gen", "lt", "sgt", "maj", "gov", "sen", "rep", "pres", "supt", "insp", "mt",
    "ft", "vs", "etc", "no", "nos", "vol", "fig", "approx", "dept", "univ", "inc", "ltd", "co",
    "corp", "bros", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "e.g", "i.e",
];

/// Whether token `i` closes what precedes it: a closing quote or bracket, or a straight quote
/// attached to the previous token (`London."`).
fn is_closing(tokens: &[Token<'_>], i: usize) -> bool {
    let token = &tokens[i];
    if token.kind != Kind::Punct {
        return false;
    }
    match token.text {
        "”" | ")" | "]" | "»" => true,
        "\"" | "'" | "’" => i > 0 && tokens[i - 1].end == token.start,
        _ => false,
    }
}

/// Whether token `i` opens what follows it, after which a word is capitalised as at a
/// sentence start: an opening quote or bracket (a straight quote not attached to the previous
/// token), a colon or a dash.
fn is_opening(tokens: &[Token<'_>], i: usize) -> bool {
    let token = &tokens[i];
    if token.kind != Kind::Punct {
        return false;
    }
    match token.text {
        "“" | "‘" | "(" | "[" | "«" | ":" | "—" | "–" => true,
        "\"" | "'" => i == 0 || tokens[i - 1].end < token.start,
        _ => false,
    }
}

/// Sentences as ranges of token indices (line breaks left out).
fn sentences(tokens: &[Token<'_>]) -> Vec<Range<usize>> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        if token.kind == Kind::Break {
            if i > start {
                sentences.push(start..i);
            }
            i += 1;
            start = i;
            continue;
        }
        let ends = match token.text {
            "!" | "?" | "…" => token.kind == Kind::Punct,
            "." => {
                let previous = i.checked_sub(1).map(|p| &tokens[p]);
                !previous.is_some_and(|p| {
                    p.is_word()
                        && (p.text.chars().count() == 1
                            || p.text.ends_with('.')
                            || ABBREVIATIONS.contains(&p.lower().as_str()))
                })
            }
            _ => false,
        };
        if !ends {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < tokens.len()
            && (is_closing(tokens, end)
                || tokens[end].is("!")
                || tokens[end].is("?")
                || tokens[end].is("."))
        {
            end += 1;
        }
        // `"Come in!" said Holmes.` is one sentence.
        let next_word = tokens[end..].iter().find(|t| t.kind != Kind::Punct);
        if next_word
            .is_some_and(|t| t.is_word() && t.text.chars().next().is_some_and(char::is_lowercase))
        {
            i = end;
            continue;
        }
        sentences.push(start..end);
        start = end;
        i = end;
    }
    if start < tokens.len() {
        sentences.push(start..tokens.len());
    }
    sentences.retain(|s| tokens[s.clone()].iter().any(|t| t.kind != Kind::Punct));
    sentences
}

// --- sentiment -------------------------------------------------------------------------------

/// VADER's figures for one piece of text.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Vader {
    positive: f64,
    negative: f64,
    neutral: f64,
    compound: f64,
}

fn vader(analyzer: &SentimentIntensityAnalyzer<'_>, text: &str) -> Vader {
    let scores = analyzer.polarity_scores(text);
    let get = |key: &str| {
        scores
            .get(key)
            .copied()
            .filter(|v| v.is_finite())
            .unwrap_or(0.0)
    };
    let mut figures = Vader {
        positive: get("pos"),
        negative: get("neg"),
        neutral: get("neu"),
        compound: get("compound"),
    };
    // VADER gives all zeros for a text without words.
    if figures.positive + figures.negative + figures.neutral <= 0.0 {
        figures.neutral = 1.0;
    }
    figures
}

/// The document's sentiment (see the module's documentation); `None` for a text without
/// words.
pub fn sentiment(text: &str) -> Option<Sentiment> {
    let tokens = tokenize(text);
    let analyzer = SentimentIntensityAnalyzer::new();
    let mut total_words = 0usize;
    let mut sum = Vader::default();
    for sentence in sentences(&tokens) {
        let words: Vec<usize> = sentence
            .clone()
            .filter(|&i| tokens[i].kind != Kind::Punct)
            .collect();
        if words.is_empty() {
            continue;
        }
        let pieces = words.len().div_ceil(MAX_SENTIMENT_WORDS);
        let per_piece = words.len().div_ceil(pieces);
        for (n, chunk) in words.chunks(per_piece).enumerate() {
            // A piece runs from its first word to the next piece's first word (or the
            // sentence's end, with its punctuation).
            let from = if n == 0 {
                tokens[sentence.start].start
            } else {
                tokens[chunk[0]].start
            };
            let to = match words.get((n + 1) * per_piece) {
                Some(&next) => tokens[next].start,
                None => tokens[sentence.end - 1].end,
            };
            let figures = vader(&analyzer, &text[from..to]);
            let weight = chunk.len() as f64;
            total_words += chunk.len();
            sum.positive += figures.positive * weight;
            sum.negative += figures.negative * weight;
            sum.neutral += figures.neutral * weight;
            sum.compound += figures.compound * weight;
        }
    }
    if total_words == 0 {
        return None;
    }
    let n = total_words as f64;
    Some(label(Vader {
        positive: sum.positive / n,
        negative: sum.negative / n,
        neutral: sum.neutral / n,
        compound: sum.compound / n,
    }))
}

fn label(v: Vader) -> Sentiment {
    let (low, high) = if v.positive < v.negative {
        (v.positive, v.negative)
    } else {
        (v.negative, v.positive)
    };
    let label = if low >= MIXED_MIN_PROPORTION && low >= MIXED_MIN_BALANCE * high {
        "MIXED"
    } else if v.compound >= POSITIVE_COMPOUND {
        "POSITIVE"
    } else if v.compound <= -POSITIVE_COMPOUND {
        "NEGATIVE"
    } else {
        "NEUTRAL"
    };
    // Normalised so that the four scores sum to 1 despite rounding in VADER.
    let total = v.positive + v.negative + v.neutral;
    let (pos, neg, neu) = if total > 0.0 {
        (v.positive / total, v.negative / total, v.neutral / total)
    } else {
        (0.0, 0.0, 1.0)
    };
    let shared = pos.min(neg);
    Sentiment {
        label: label.to_owned(),
        positive: pos - shared,
        negative: neg - shared,
        neutral: neu,
        mixed: 2.0 * shared,
    }
}

// --- entities --------------------------------------------------------------------------------

/// Words that make a person of the name after them.
#[rustfmt::skip]
const HONORIFICS: &[&str] = &[
    "mr", "mrs", "ms", "miss", "messrs", "mx", "dr", "doctor", "prof", "professor", "sir", "dame",
    "lady", "lord", "madame", "mme", "mlle", "monsieur", "mister", "captain", "capt", "colonel",
    "col", "general", "gen", "major", "maj", "lieutenant", "lt", "sergeant", "sgt", "inspector",
    "insp", "superintendent", "supt", "constable", "detective", "rev", "reverend", "father",
    "sister", "brother", "bishop", "archbishop", "cardinal", "pope", "rabbi", "imam", "king",
    "queen", "prince", "princess", "duke", "duchess", "earl", "count", "countess", "baron",
    "baroness", "president", "senator", "sen", "governor", "gov", "mayor", "judge", "justice",
    "chancellor", "minister", "secretary", "ambassador", "councillor", "congressman",
    "congresswoman", "representative", "rep", "uncle", "aunt", "saint", "st",
];

/// Honorifics that name a person by a place (`Duke of York`, `Archbishop of Canterbury`),
/// unlike `Doctor of Medicine`.
#[rustfmt::skip]
const TITLES_OF_PLACES: &[&str] = &[
    "king", "queen", "prince", "princess", "duke", "duchess", "earl", "count", "countess",
    "baron", "baroness", "lord", "lady", "bishop", "archbishop", "cardinal", "mayor",
];

/// Last words of organisations.
#[rustfmt::skip]
const ORGANISATION_TAILS: &[&str] = &[
    "inc", "incorporated", "ltd", "limited", "llc", "llp", "plc", "corp", "corporation", "co",
    "company", "companies", "group", "holdings", "bank", "university", "college", "institute",
    "institution", "school", "academy", "association", "society", "foundation", "trust", "fund",
    "agency", "authority", "bureau", "commission", "committee", "council", "department",
    "ministry", "office", "party", "union", "federation", "league", "club", "church", "museum",
    "hospital", "laboratory", "laboratories", "labs", "press", "times", "post", "journal",
    "gazette", "news", "airlines", "airways", "motors", "industries", "systems", "technologies",
    "partners", "associates", "brothers", "bros", "army", "navy", "police", "court", "parliament",
    "congress", "senate", "assembly", "board", "service", "services",
];

/// First words of organisations when `of` follows (`University of Oxford`).
#[rustfmt::skip]
const ORGANISATION_HEADS: &[&str] = &[
    "university", "college", "bank", "institute", "ministry", "department", "church", "museum",
    "school", "academy", "society", "association", "federation", "league", "house", "order",
    "office", "court", "board", "council", "commission",
];

/// Last words of places.
#[rustfmt::skip]
const PLACE_TAILS: &[&str] = &[
    "street", "road", "avenue", "lane", "square", "terrace", "crescent", "boulevard", "drive",
    "highway", "bridge", "river", "lake", "sea", "ocean", "bay", "gulf", "strait", "channel",
    "island", "islands", "isle", "peninsula", "mountain", "mountains", "hills", "valley", "desert",
    "forest", "county", "province", "city", "town", "village", "district", "park", "station",
    "airport", "harbour", "harbor", "coast", "falls", "heath", "moor", "gardens", "abbey",
    "castle", "palace", "hall", "manor",
];

/// First words of places (`Mount Everest`, `Lake Geneva`).
#[rustfmt::skip]
const PLACE_HEADS: &[&str] = &[
    "mount", "mt", "lake", "river", "cape", "fort", "port", "isle", "gulf", "bay", "loch",
];

/// Prepositions after which a capitalised run is taken for a place.
#[rustfmt::skip]
const PLACE_PREPOSITIONS: &[&str] = &[
    "in", "near", "across", "throughout", "outside", "towards", "toward",
];

/// Lower-case words that may join the capitalised words of one name.
#[rustfmt::skip]
const CONNECTORS: &[&str] = &[
    "of", "de", "da", "di", "del", "della", "der", "den", "van", "von", "du", "le", "la", "al",
    "bin", "y",
];

/// Acronyms that are places.
const PLACE_ACRONYMS: &[&str] = &["US", "U.S.", "USA", "U.S.A.", "UK", "U.K.", "UAE", "USSR"];
/// Acronyms that are not entities.
#[rustfmt::skip]
const COMMON_ACRONYMS: &[&str] = &[
    "OK", "TV", "AM", "PM", "A.M.", "P.M.", "DNA", "ID", "CEO", "CFO", "CTO", "COO", "PS", "AD",
    "BC", "FAQ", "PC", "DIY", "VIP", "RIP", "DJ", "MC", "PhD", "MP", "AI", "IT", "HR", "PR", "GPS",
    "USB", "CD", "DVD", "LOL",
];

/// Sentence-starting words that are not in YAKE's stop words.
#[rustfmt::skip]
const EXTRA_STARTERS: &[&str] = &[
    "yesterday", "today", "tomorrow", "tonight", "meanwhile", "yes", "no", "oh", "well", "now",
    "then", "so", "still", "perhaps", "maybe", "indeed", "suddenly", "finally", "later", "earlier",
    "after", "before", "good", "dear", "please", "thank", "thanks", "hello", "look", "listen",
    "come", "let", "ah", "alas",
];

/// Dates and quantities.
#[rustfmt::skip]
const MONTHS: &[&str] = &[
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
];
#[rustfmt::skip]
const WEEKDAYS: &[&str] = &[
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
];
const SCALES: &[&str] = &["hundred", "thousand", "million", "billion", "trillion"];
#[rustfmt::skip]
const UNITS: &[&str] = &[
    "percent", "%", "pounds", "pound", "dollars", "dollar", "euros", "euro", "yen", "pence",
    "cents", "shillings", "guineas", "miles", "mile", "kilometres", "kilometers", "km", "metres",
    "meters", "m", "feet", "foot", "ft", "inches", "yards", "kg", "kilograms", "grams", "g",
    "tons", "tonnes", "litres", "liters", "gallons", "degrees", "years", "year", "months", "weeks",
    "days", "hours", "minutes", "seconds", "people", "men", "women", "children", "persons",
    "times", "acres", "hectares", "mph", "gb", "mb", "tb",
];
const CURRENCIES: &[&str] = &["$", "£", "€", "¥"];

/// One mention, typed.
#[derive(Debug, Clone)]
struct Mention {
    text: String,
    kind: &'static str,
    rule: EntityRule,
    /// The words of the mention, without honorifics, for matching mentions to each other.
    words: Vec<String>,
}

fn contains(list: &[&str], word: &str) -> bool {
    list.contains(&word)
}

/// `Holmes's` → `Holmes`.
fn without_possessive(word: &str) -> &str {
    word.strip_suffix("'s")
        .or_else(|| word.strip_suffix("’s"))
        .or_else(|| word.strip_suffix("'S"))
        .unwrap_or(word)
}

/// The lower-case word without dots (`Mr.` → `mr`).
fn bare(word: &str) -> String {
    without_possessive(word)
        .trim_end_matches('.')
        .to_lowercase()
}

fn entities(text: &str, stop_words: &StopWords) -> Vec<Entity> {
    let tokens = tokenize(text);
    if tokens.is_empty() {
        return Vec::new();
    }
    let sentences = sentences(&tokens);
    let is_stop = |word: &str| {
        let lower = bare(word);
        stop_words.contains(lower.as_str()) || contains(EXTRA_STARTERS, &lower)
    };

    // Where a word is at a sentence start (or after an opening quote or colon).
    let mut initial = vec![false; tokens.len()];
    for sentence in &sentences {
        if let Some(first) = sentence.clone().find(|&i| tokens[i].kind != Kind::Punct) {
            initial[first] = true;
        }
        for i in sentence.clone().skip(1) {
            if is_opening(&tokens, i - 1) && tokens[i].kind != Kind::Punct {
                initial[i] = true;
            }
        }
    }
    // Words seen capitalised away from a sentence start, and words seen in lower case.
    let mut capitalised_inside = HashSet::new();
    let mut lower_case = HashSet::new();
    for (i, token) in tokens.iter().enumerate() {
        if !token.is_word() {
            continue;
        }
        if token.is_capitalised() {
            if !initial[i] {
                capitalised_inside.insert(without_possessive(token.text).to_owned());
            }
        } else if token.text.chars().next().is_some_and(char::is_lowercase) {
            lower_case.insert(token.text.to_owned());
        }
    }

    let mut mentions = Vec::new();
    let mut used = vec![false; tokens.len()];
    for sentence in &sentences {
        dates_and_quantities(text, &tokens, sentence.clone(), &mut used, &mut mentions);
    }
    for sentence in &sentences {
        let mut i = sentence.start;
        while i < sentence.end {
            if used[i] || !tokens[i].is_capitalised() {
                i += 1;
                continue;
            }
            let end = run_end(&tokens, i, sentence.end, &used);
            if let Some(mention) = capitalised_run(
                text,
                &tokens,
                i..end,
                &initial,
                &capitalised_inside,
                &lower_case,
                &is_stop,
            ) {
                mentions.push(mention);
            }
            i = end;
        }
    }
    // Mentions are in scan order (dates first); put them in text order.
    mentions.sort_by_key(|(start, _)| *start);
    let mut mentions: Vec<Mention> = mentions.into_iter().map(|(_, m)| m).collect();
    take_types_from_elsewhere(&mut mentions);
    merge(mentions)
}

/// The end (exclusive) of the capitalised run starting at `start`.
fn run_end(tokens: &[Token<'_>], start: usize, limit: usize, used: &[bool]) -> usize {
    let capitalised = |i: usize| i < limit && !used[i] && tokens[i].is_capitalised();
    let mut end = start + 1;
    let mut i = start + 1;
    // One connector per name: `Doctor of Medicine of the University of London` is two.
    let mut joined = false;
    // A connector does not lead into a new organisation's first word (`University of`).
    let organisation_head =
        |i: usize| capitalised(i) && contains(ORGANISATION_HEADS, &tokens[i].lower());
    while i < limit {
        let previous = &tokens[i - 1];
        let token = &tokens[i];
        // `Mr. Holmes`, `J. Smith`, `St. James`.
        if token.is(".")
            && previous.is_capitalised()
            && (previous.text.chars().count() == 1 || contains(ABBREVIATIONS, &previous.lower()))
            && capitalised(i + 1)
        {
            i += 1;
            continue;
        }
        if capitalised(i) {
            end = i + 1;
            i += 1;
            continue;
        }
        // `Bank of England`, `Prince of the Netherlands`, `Marks & Spencer`.
        if !joined && ((token.is_word() && contains(CONNECTORS, token.text)) || token.is("&")) {
            if capitalised(i + 1) && !organisation_head(i + 1) {
                joined = true;
                i += 1;
                continue;
            }
            if token.text == "of"
                && tokens.get(i + 1).is_some_and(|t| t.text == "the")
                && capitalised(i + 2)
                && !organisation_head(i + 2)
            {
                joined = true;
                i += 2;
                continue;
            }
        }
        break;
    }
    end
}

/// The mention a capitalised run makes, if any: `(start offset, mention)`.
fn capitalised_run(
    document: &str,
    tokens: &[Token<'_>],
    run: Range<usize>,
    initial: &[bool],
    capitalised_inside: &HashSet<String>,
    lower_case: &HashSet<String>,
    is_stop: &dyn Fn(&str) -> bool,
) -> Option<(usize, Mention)> {
    let mut start = run.start;
    let end = run.end;
    let honorific = |i: usize| contains(HONORIFICS, &bare(tokens[i].text));
    // Drop leading stop words where everything is capitalised anyway.
    let at_start = initial[start];
    if at_start {
        while start < end
            && tokens[start].is_word()
            && is_stop(tokens[start].text)
            && !honorific(start)
        {
            start += 1;
            while start < end && !tokens[start].is_capitalised() {
                start += 1;
            }
        }
    }
    if start >= end {
        return None;
    }
    let words: Vec<usize> = (start..end)
        .filter(|&i| tokens[i].is_capitalised())
        .collect();
    let first = *words.first()?;
    let last = *words.last()?;
    // `Mr. Holmes`, `Chief Inspector Lestrade`, not `Doctor of Medicine`: the position in
    // `words` of an honorific followed by a name (over a dot only).
    let honorific_at = (0..words.len().saturating_sub(1)).find(|&k| {
        let between = &tokens[words[k] + 1..words[k + 1]];
        honorific(words[k])
            && (between.iter().all(|t| t.is("."))
                || contains(TITLES_OF_PLACES, &bare(tokens[words[k]].text))
                    && between.iter().all(|t| matches!(t.text, "of" | "the")))
    });
    let by_honorific = honorific_at.is_some();
    // A lone honorific, a lone stop word, a lone initial.
    if words.len() == 1
        && (honorific(first)
            || is_stop(tokens[first].text)
            || tokens[first].text.chars().count() < 2)
    {
        return None;
    }
    let mut rule = EntityRule::Capitalised;
    // Capitals at a sentence start say nothing, except an honorific's or an acronym's.
    let acronym = words.len() == 1 && tokens[first].is_acronym();
    if initial[start] && !by_honorific && !acronym {
        let head = without_possessive(tokens[first].text);
        if capitalised_inside.contains(head) {
            rule = EntityRule::Capitalised;
        } else if words.len() >= 2 && !lower_case.contains(&head.to_lowercase()) && !is_stop(head) {
            rule = EntityRule::SentenceStart;
        } else {
            return None;
        }
    }
    let first_text = &tokens[first];
    let last_text = &tokens[last];
    let text_start = first_text.start;
    let text_end =
        last_text.end - (last_text.text.len() - without_possessive(last_text.text).len());
    let text = text_from(document, text_start, text_end);
    let bare_words: Vec<String> = words.iter().map(|&i| bare(tokens[i].text)).collect();
    let head = bare_words.first().cloned().unwrap_or_default();
    let tail = bare_words.last().cloned().unwrap_or_default();
    let has_of = (start..end).any(|i| tokens[i].text == "of");
    // The word before the run, over an article (`in the Strand`).
    let mut before = start.checked_sub(1);
    if let Some(b) = before
        && tokens[b].is_word()
        && tokens[b].lower() == "the"
    {
        before = b.checked_sub(1);
    }
    let previous_word = before.map(|b| &tokens[b]).filter(|t| t.is_word());

    let (kind, rule) = if contains(ORGANISATION_TAILS, &tail) && words.len() >= 2
        || contains(ORGANISATION_HEADS, &head) && has_of
    {
        (kinds::ORGANIZATION, EntityRule::OrganisationWord)
    } else if contains(PLACE_TAILS, &tail) && words.len() >= 2
        || contains(PLACE_HEADS, &head) && words.len() >= 2
    {
        (kinds::LOCATION, EntityRule::PlaceWord)
    } else if by_honorific {
        (kinds::PERSON, EntityRule::Honorific)
    } else if acronym {
        let acronym = without_possessive(first_text.text);
        if contains(PLACE_ACRONYMS, acronym) {
            (kinds::LOCATION, EntityRule::Acronym)
        } else if contains(COMMON_ACRONYMS, acronym) {
            return None;
        } else {
            (kinds::ORGANIZATION, EntityRule::Acronym)
        }
    } else if previous_word.is_some_and(|p| contains(PLACE_PREPOSITIONS, &p.lower()))
        && !tokens[last].text.ends_with("'s")
        && !tokens[last].text.ends_with("’s")
    {
        (kinds::LOCATION, EntityRule::Preposition)
    } else {
        (kinds::OTHER, rule)
    };
    // Honorifics are left out of the words mentions are matched by.
    let match_words = bare_words
        .iter()
        .skip(match (kind, honorific_at) {
            (kinds::PERSON, Some(k)) => k + 1,
            _ => 0,
        })
        .cloned()
        .collect();
    Some((
        text_start,
        Mention {
            text,
            kind,
            rule,
            words: match_words,
        },
    ))
}

/// `text[start..end]` with its whitespace made single spaces.
fn text_from(text: &str, start: usize, end: usize) -> String {
    text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Dates and quantities of one sentence; marks the tokens they use.
fn dates_and_quantities(
    document: &str,
    tokens: &[Token<'_>],
    sentence: Range<usize>,
    used: &mut [bool],
    mentions: &mut Vec<(usize, Mention)>,
) {
    let number = |i: usize| i < sentence.end && tokens[i].kind == Kind::Number;
    let day = |i: usize| {
        number(i)
            && tokens[i]
                .text
                .trim_end_matches(|c: char| c.is_alphabetic())
                .parse::<u32>()
                .is_ok_and(|d| (1..=31).contains(&d))
    };
    let year = |i: usize| {
        number(i)
            && tokens[i]
                .text
                .parse::<u32>()
                .is_ok_and(|y| (1000..=2100).contains(&y))
    };
    let word_in = |i: usize, list: &[&str]| {
        i < sentence.end && tokens[i].is_word() && contains(list, &tokens[i].lower())
    };
    let mut push = |first: usize, last: usize, kind: &'static str, rule, used: &mut [bool]| {
        for u in used.iter_mut().take(last + 1).skip(first) {
            *u = true;
        }
        let text = text_from(document, tokens[first].start, tokens[last].end);
        mentions.push((
            tokens[first].start,
            Mention {
                words: vec![text.to_lowercase()],
                text,
                kind,
                rule,
            },
        ));
    };
    let mut i = sentence.start;
    while i < sentence.end {
        if used[i] {
            i += 1;
            continue;
        }
        let token = &tokens[i];
        // Months: `5 January 1890`, `January 5, 1890`, `January 1890`, `in January`.
        if token.is_capitalised() && contains(MONTHS, &token.lower()) {
            let mut first = i;
            let mut last = i;
            if i > sentence.start && day(i - 1) && !used[i - 1] {
                first = i - 1;
            }
            if day(i + 1) && !year(i + 1) {
                last = i + 1;
                if i + 3 < sentence.end + 1
                    && tokens.get(i + 2).is_some_and(|t| t.is(","))
                    && year(i + 3)
                {
                    last = i + 3;
                } else if year(i + 2) {
                    last = i + 2;
                }
            } else if year(i + 1) {
                last = i + 1;
            }
            let ambiguous = matches!(token.text, "May" | "March");
            if !ambiguous || first != last {
                push(first, last, kinds::DATE, EntityRule::Date, used);
                i = last + 1;
                continue;
            }
        }
        if token.is_capitalised() && contains(WEEKDAYS, &token.lower()) {
            push(i, i, kinds::DATE, EntityRule::Date, used);
            i += 1;
            continue;
        }
        let currency =
            token.kind == Kind::Punct && contains(CURRENCIES, token.text) && number(i + 1);
        if token.kind == Kind::Number || currency {
            let first = i;
            let mut last = if currency { i + 1 } else { i };
            let mut quantity = currency;
            if word_in(last + 1, SCALES) {
                last += 1;
                quantity = true;
            }
            if last + 1 < sentence.end && (word_in(last + 1, UNITS) || tokens[last + 1].is("%")) {
                last += 1;
                quantity = true;
            } else if last + 2 < sentence.end
                && tokens[last + 1].text.eq_ignore_ascii_case("per")
                && tokens[last + 2].text.eq_ignore_ascii_case("cent")
            {
                last += 2;
                quantity = true;
            }
            let number_text = tokens[if currency { i + 1 } else { i }].text;
            let is_decade = number_text.len() == 5
                && number_text.ends_with('s')
                && number_text[..4]
                    .parse::<u32>()
                    .is_ok_and(|y| (1000..=2100).contains(&y));
            if quantity {
                push(first, last, kinds::QUANTITY, EntityRule::Quantity, used);
            } else if year(i) || is_decade {
                push(i, i, kinds::DATE, EntityRule::Date, used);
            }
            i = last + 1;
            continue;
        }
        i += 1;
    }
}

/// A mention typed by no rule (or only by a preposition) takes the type of another mention of
/// the document: a part of a person's name is that person (`Holmes` of `Mr. Sherlock
/// Holmes`); the same words as a place or an organisation are that place or organisation
/// (every `London` after one `in London`).
fn take_types_from_elsewhere(mentions: &mut [Mention]) {
    let typed: Vec<(Vec<String>, &'static str)> = mentions
        .iter()
        .filter(|m| m.rule != EntityRule::Elsewhere)
        .filter(|m| {
            matches!(
                m.kind,
                kinds::PERSON | kinds::LOCATION | kinds::ORGANIZATION
            )
        })
        .map(|m| (m.words.clone(), m.kind))
        .collect();
    for mention in mentions.iter_mut() {
        let weak = mention.kind == kinds::OTHER || mention.rule == EntityRule::Preposition;
        if !weak {
            continue;
        }
        let found = typed.iter().find(|(words, kind)| {
            *kind != mention.kind
                && if *kind == kinds::PERSON {
                    is_part(&mention.words, words)
                } else {
                    // A place by preposition stays one unless a person or an organisation
                    // says otherwise.
                    mention.kind == kinds::OTHER && mention.words == *words
                }
        });
        if let Some((_, kind)) = found {
            mention.kind = kind;
            mention.rule = EntityRule::Elsewhere;
        }
    }
}

/// Whether `part` is a contiguous run of `whole`'s words (and not empty).
fn is_part(part: &[String], whole: &[String]) -> bool {
    !part.is_empty() && part.len() <= whole.len() && whole.windows(part.len()).any(|w| w == part)
}

/// One entity per distinct text and type, in order of first mention, with the best rule's
/// score plus a bonus per further mention. An `OTHER` with the same text as a typed entity
/// joins it.
fn merge(mentions: Vec<Mention>) -> Vec<Entity> {
    let typed_texts: HashMap<String, &'static str> = mentions
        .iter()
        .filter(|m| m.kind != kinds::OTHER)
        .map(|m| (m.text.clone(), m.kind))
        .collect();
    let mut order: Vec<(String, &'static str)> = Vec::new();
    let mut found: HashMap<(String, &'static str), (f64, usize)> = HashMap::new();
    for mention in mentions {
        let kind = if mention.kind == kinds::OTHER {
            typed_texts
                .get(&mention.text)
                .copied()
                .unwrap_or(kinds::OTHER)
        } else {
            mention.kind
        };
        let key = (mention.text, kind);
        let entry = found.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            (0.0, 0)
        });
        entry.0 = entry.0.max(mention.rule.score());
        entry.1 += 1;
    }
    order
        .into_iter()
        .map(|key| {
            let (base, count) = found[&key];
            Entity {
                score: (base + MENTION_BONUS * (count - 1) as f64).min(MAX_ENTITY_SCORE),
                text: key.0,
                kind: key.1.to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, String)> {
        LocalLanguage::new()
            .entities(text)
            .into_iter()
            .map(|e| (e.text, e.kind))
            .collect()
    }

    fn has(found: &[(String, String)], text: &str, kind: &str) -> bool {
        found.iter().any(|(t, k)| t == text && k == kind)
    }

    #[test]
    fn keyphrases_are_the_same_every_time() {
        // Repeated words give many tied YAKE scores: their order must not depend on the
        // hash maps' random seeds.
        let text = "The archive stores video. The archive stores audio. The archive stores \
            images and documents. Video proxies and audio proxies are built. Images have EXIF. \
            Documents have pages, and pages have text. The archive keeps checksums.";
        let first = LocalLanguage::new().keyphrases(text);
        assert!(!first.is_empty());
        for _ in 0..20 {
            assert_eq!(LocalLanguage::new().keyphrases(text), first);
        }
    }

    #[test]
    fn entity_rules() {
        let text = "NASA said on Monday that Dr. Watson and Chief Inspector Lestrade met the \
            Duke of York at St. James's Palace. Holmes's violin was sold by Sotheby & Co. for \
            $5,000 in March 1890. May I come in? Since the 1890s the U.S. has grown. It rained \
            on 5 January 1891 and again on March 3, 2021, in the Netherlands, 20% of the time. \
            \"The game is afoot,\" said Holmes. She lives at 42 Acacia Avenue near Mount \
            Everest. OK, let us ask the BBC.";
        let found = found(text);
        for (text, kind) in [
            ("NASA", "ORGANIZATION"),
            ("Monday", "DATE"),
            ("Dr. Watson", "PERSON"),
            ("Chief Inspector Lestrade", "PERSON"),
            ("Duke of York", "PERSON"),
            ("St. James's Palace", "LOCATION"),
            ("Holmes", "OTHER"),
            ("Sotheby & Co", "ORGANIZATION"),
            ("$5,000", "QUANTITY"),
            ("March 1890", "DATE"),
            ("1890s", "DATE"),
            ("U.S.", "LOCATION"),
            ("5 January 1891", "DATE"),
            ("March 3, 2021", "DATE"),
            ("Netherlands", "LOCATION"),
            ("20%", "QUANTITY"),
            ("Acacia Avenue", "LOCATION"),
            ("Mount Everest", "LOCATION"),
            ("BBC", "ORGANIZATION"),
        ] {
            assert!(has(&found, text, kind), "{text} {kind} in {found:#?}");
        }
        for text in ["May", "I", "OK", "The", "She", "Since", "It", "Holmes's"] {
            assert!(
                !found.iter().any(|(t, _)| t == text),
                "{text} in {found:#?}"
            );
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        let backend = LocalLanguage::new();
        for text in [
            "",
            " ",
            ".",
            "...!?",
            "Mr.",
            "Mr. ",
            "$",
            "$ 5",
            "5",
            "1890s",
            "\"",
            "' '",
            "U.S.",
            "A.",
            "I",
            "日本語のテキストです。東京に住んでいます。",
            "Café Zürich in Zürich — “Ça va?” said Zoë.",
            "🙂🙂🙂 great 😡",
            "of of of the the",
            "THE END",
            "a\n\n\nb\r\nC D",
            "Mr. Mr. Mr. Dr.",
            "March",
            "5 May",
            "in",
            "in The",
        ] {
            let result = backend.analyse_document(text);
            if text.trim().is_empty() {
                assert_eq!(result, DocumentLanguage::default());
            }
            if let Some(s) = result.sentiment {
                let total = s.positive + s.negative + s.neutral + s.mixed;
                assert!((total - 1.0).abs() < 1e-9, "{text:?}: {s:?}");
            }
        }
    }

    #[test]
    fn long_unpunctuated_sentences_are_scored_in_pieces() {
        // 35 words of praise, then 35 of complaint, with no sentence end: scored whole,
        // VADER's compound saturates on the longer side; in pieces both halves count.
        let praise = "what a lovely wonderful happy day with great friends ".repeat(4);
        let complaint = "what a terrible awful horrible sad day with bad news ".repeat(4);
        let result = sentiment(&format!("{praise}{complaint}")).unwrap();
        assert_eq!(result.label, "MIXED", "{result:?}");
    }

    #[test]
    fn tokens_and_sentences() {
        let text = "Mr. Sherlock Holmes lived at 221B Baker Street in London. \"Come in!\" \
                    said he.\nThe U.S. Navy paid $5 million.";
        let tokens = tokenize(text);
        let words: Vec<&str> = tokens.iter().map(|t| t.text).collect();
        assert!(words.contains(&"U.S."), "{words:?}");
        assert!(words.contains(&"221B"), "{words:?}");
        let sentences = sentences(&tokens);
        let texts: Vec<String> = sentences
            .iter()
            .map(|s| text[tokens[s.start].start..tokens[s.end - 1].end].to_owned())
            .collect();
        assert_eq!(
            texts,
            [
                "Mr. Sherlock Holmes lived at 221B Baker Street in London.",
                "\"Come in!\" said he.",
                "The U.S. Navy paid $5 million."
            ]
        );
    }
}
