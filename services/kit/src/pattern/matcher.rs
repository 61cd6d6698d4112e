//! What a pattern accepts for one field, and how a single event value is tested against it.

use std::ops::Bound;

use super::cidr::IpRange;
use super::fast_hash::FastSet;
use super::wildcard::Wildcard;

/// A JSON number, compared by value: `300`, `300.0` and `3.0e2` are equal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Number {
    value: f64,
    /// The exact value of integers, so that large ones (account ids) are not compared through f64.
    integer: Option<i128>,
}

impl Number {
    pub(crate) fn from_json(number: &serde_json::Number) -> Option<Self> {
        let integer = match (number.as_i64(), number.as_u64()) {
            (Some(i), _) => Some(i128::from(i)),
            (None, Some(u)) => Some(i128::from(u)),
            (None, None) => None,
        };
        Some(Self {
            value: number.as_f64()?,
            integer,
        })
    }

    pub(crate) fn value(self) -> f64 {
        self.value
    }

    fn same_value(self, other: Self) -> bool {
        match (self.integer, other.integer) {
            (Some(a), Some(b)) => a == b,
            _ => self.value == other.value,
        }
    }
}

/// A set of strings: scanned while small (most fields list one or two values), hashed beyond.
#[derive(Debug, Clone, Default)]
pub(crate) struct StringSet {
    few: Vec<Box<str>>,
    many: FastSet<Box<str>>,
}

const MAX_SCANNED_STRINGS: usize = 8;

impl StringSet {
    pub(crate) fn insert(&mut self, value: &str) {
        if self.contains(value) {
            return;
        }
        self.few.push(value.into());
        if self.few.len() > MAX_SCANNED_STRINGS {
            self.many.extend(self.few.iter().cloned());
        }
    }

    pub(crate) fn contains(&self, value: &str) -> bool {
        if self.few.len() > MAX_SCANNED_STRINGS {
            self.many.contains(value)
        } else {
            self.few.iter().any(|s| **s == *value)
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.few.iter().map(|s| &**s)
    }

    pub(crate) fn len(&self) -> usize {
        self.few.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.few.is_empty()
    }
}

/// One leaf value of an event.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scalar<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(&'a str),
}

/// Everything a pattern lists for one field; the field matches if any entry does.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldMatcher {
    pub(crate) exact_strings: StringSet,
    pub(crate) exact_numbers: Vec<Number>,
    pub(crate) accepts_true: bool,
    pub(crate) accepts_false: bool,
    pub(crate) accepts_null: bool,
    pub(crate) operators: Vec<Operator>,
    /// `{"exists": false}` is listed: the field matches when the event has no value for it.
    pub(crate) matches_absent: bool,
}

impl FieldMatcher {
    pub(crate) fn matches(&self, value: Scalar<'_>) -> bool {
        let exact = match value {
            Scalar::String(s) => self.exact_strings.contains(s),
            Scalar::Number(n) => self.exact_numbers.iter().any(|e| e.same_value(n)),
            Scalar::Bool(true) => self.accepts_true,
            Scalar::Bool(false) => self.accepts_false,
            Scalar::Null => self.accepts_null,
        };
        exact || self.operators.iter().any(|op| op.matches(value))
    }

    /// The listed strings, when the field can match nothing but one of them.
    pub(crate) fn required_strings(&self) -> Option<&StringSet> {
        let only_strings = self.exact_numbers.is_empty()
            && !(self.accepts_true || self.accepts_false || self.accepts_null)
            && self.operators.is_empty()
            && !self.matches_absent;
        (only_strings && !self.exact_strings.is_empty()).then_some(&self.exact_strings)
    }

    /// A rough cost order, cheapest first, to test a branch's conditions in.
    pub(crate) fn cost_rank(&self) -> u8 {
        if self.operators.is_empty() {
            0
        } else if self.operators.iter().any(Operator::is_expensive) {
            2
        } else {
            1
        }
    }
}

/// A match expression (`{"prefix": "x"}` and the like). Case-insensitive operands are stored
/// lower-cased.
#[derive(Debug, Clone)]
pub(crate) enum Operator {
    /// `{"exists": true}`.
    Exists,
    Prefix(Box<str>),
    PrefixIgnoreCase(Box<str>),
    Suffix(Box<str>),
    SuffixIgnoreCase(Box<str>),
    EqualsIgnoreCase(Box<str>),
    Wildcard(Wildcard),
    Numeric(NumericRange),
    /// A `cidr` block, or the single address an exact IP-literal string names: EventBridge
    /// compares those as addresses, so `"2001:db8::1"` also matches `"2001:DB8:0:0:0:0:0:1"`.
    Ip(IpRange),
    AnythingBut(AnythingBut),
}

impl Operator {
    fn matches(&self, value: Scalar<'_>) -> bool {
        match (self, value) {
            (Self::Exists, _) => true,
            (Self::AnythingBut(excluded), _) => excluded.matches(value),
            (Self::Numeric(range), Scalar::Number(n)) => range.contains(n.value()),
            (Self::Prefix(prefix), Scalar::String(s)) => s.starts_with(&**prefix),
            (Self::PrefixIgnoreCase(prefix), Scalar::String(s)) => {
                starts_with_ignore_case(s, prefix)
            }
            (Self::Suffix(suffix), Scalar::String(s)) => s.ends_with(&**suffix),
            (Self::SuffixIgnoreCase(suffix), Scalar::String(s)) => ends_with_ignore_case(s, suffix),
            (Self::EqualsIgnoreCase(expected), Scalar::String(s)) => {
                equals_ignore_case(s, expected)
            }
            (Self::Wildcard(wildcard), Scalar::String(s)) => wildcard.matches(s),
            (Self::Ip(range), Scalar::String(s)) => range.contains(s),
            // `numeric` tests numbers only, the other operators strings only.
            _ => false,
        }
    }

    fn is_expensive(&self) -> bool {
        matches!(self, Self::Wildcard(_) | Self::Ip(_) | Self::AnythingBut(_))
    }
}

/// `anything-but`: matches any value that is not one of the excluded ones. A value of another
/// type than the excluded ones (a number against strings, null against anything) always matches.
#[derive(Debug, Clone)]
pub(crate) enum AnythingBut {
    Strings(StringSet),
    Numbers(Vec<Number>),
    EqualsIgnoreCase(Vec<Box<str>>),
    Prefixes(Vec<Box<str>>),
    Suffixes(Vec<Box<str>>),
    Wildcards(Vec<Wildcard>),
}

impl AnythingBut {
    fn matches(&self, value: Scalar<'_>) -> bool {
        match (self, value) {
            (Self::Numbers(excluded), Scalar::Number(n)) => {
                !excluded.iter().any(|e| e.same_value(n))
            }
            (Self::Strings(excluded), Scalar::String(s)) => !excluded.contains(s),
            (Self::EqualsIgnoreCase(excluded), Scalar::String(s)) => {
                !excluded.iter().any(|e| equals_ignore_case(s, e))
            }
            (Self::Prefixes(excluded), Scalar::String(s)) => {
                !excluded.iter().any(|p| s.starts_with(&**p))
            }
            (Self::Suffixes(excluded), Scalar::String(s)) => {
                !excluded.iter().any(|p| s.ends_with(&**p))
            }
            (Self::Wildcards(excluded), Scalar::String(s)) => {
                !excluded.iter().any(|w| w.matches(s))
            }
            _ => true,
        }
    }
}

/// A `numeric` condition: one or two bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NumericRange {
    pub(crate) lower: Bound<f64>,
    pub(crate) upper: Bound<f64>,
}

impl NumericRange {
    fn contains(&self, value: f64) -> bool {
        let above = match self.lower {
            Bound::Included(low) => value >= low,
            Bound::Excluded(low) => value > low,
            Bound::Unbounded => true,
        };
        let below = match self.upper {
            Bound::Included(high) => value <= high,
            Bound::Excluded(high) => value < high,
            Bound::Unbounded => true,
        };
        above && below
    }
}

/// Lower-cases the way the ignore-case operators compare: character by character.
pub(crate) fn to_lower(s: &str) -> Box<str> {
    s.chars()
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .into()
}

fn equals_ignore_case(value: &str, lowered: &str) -> bool {
    if value.is_ascii() {
        // ASCII lower-cases to ASCII, so a byte-wise comparison is exact.
        return value.len() == lowered.len()
            && value
                .bytes()
                .zip(lowered.bytes())
                .all(|(v, l)| v.to_ascii_lowercase() == l);
    }
    value
        .chars()
        .flat_map(char::to_lowercase)
        .eq(lowered.chars())
}

fn starts_with_ignore_case(value: &str, lowered_prefix: &str) -> bool {
    if value.is_ascii() {
        return value.len() >= lowered_prefix.len()
            && equals_ignore_case(&value[..lowered_prefix.len()], lowered_prefix);
    }
    let mut chars = value.chars().flat_map(char::to_lowercase);
    lowered_prefix
        .chars()
        .all(|expected| chars.next() == Some(expected))
}

fn ends_with_ignore_case(value: &str, lowered_suffix: &str) -> bool {
    if value.is_ascii() {
        return value.len() >= lowered_suffix.len()
            && equals_ignore_case(&value[value.len() - lowered_suffix.len()..], lowered_suffix);
    }
    let mut chars = value.chars().rev().flat_map(|c| c.to_lowercase().rev());
    lowered_suffix
        .chars()
        .rev()
        .all(|expected| chars.next() == Some(expected))
}
