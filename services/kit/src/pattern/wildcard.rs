//! `wildcard` patterns: `*` stands for any run of characters (none included), `\*` for a
//! literal star and `\\` for a backslash.

use super::fast_hash::FastSet;

/// A parsed wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Wildcard {
    /// The literal text around the stars: one more segment than there are stars.
    segments: Vec<Box<str>>,
}

impl Wildcard {
    /// Parses with EventBridge's rules; positions in messages count the opening quote, as AWS's do.
    pub(crate) fn parse(pattern: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        let mut current = String::new();
        let mut chars = pattern.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            let pos = at + 1;
            match c {
                '*' if matches!(chars.peek(), Some((_, '*'))) => {
                    return Err(format!("Consecutive wildcard characters at pos {pos}"));
                }
                '*' => segments.push(std::mem::take(&mut current).into_boxed_str()),
                '\\' => match chars.next() {
                    Some((_, escaped @ ('*' | '\\'))) => current.push(escaped),
                    _ => return Err(format!("Invalid escape character at pos {pos}")),
                },
                _ => current.push(c),
            }
        }
        segments.push(current.into_boxed_str());
        Ok(Self { segments })
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        let Some((first, rest)) = self.segments.split_first() else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return value == &**first;
        };
        let Some(mut remaining) = value
            .strip_prefix(&**first)
            .and_then(|v| v.strip_suffix(&**last))
        else {
            return false;
        };
        // With `*` as the only wildcard, taking each middle segment at its leftmost occurrence
        // never loses a match.
        for segment in middle {
            match remaining.find(&**segment) {
                Some(at) => remaining = &remaining[at + segment.len()..],
                None => return false,
            }
        }
        true
    }

    /// The pattern as the bytes EventBridge's engine walks: the text between JSON quotes, with
    /// `None` for each star.
    fn tokens(&self) -> impl Iterator<Item = Option<u8>> + '_ {
        let body = self.segments.iter().enumerate().flat_map(|(i, segment)| {
            let star = (i > 0).then_some(None);
            star.into_iter().chain(segment.bytes().map(Some))
        });
        std::iter::once(Some(b'"'))
            .chain(body)
            .chain(std::iter::once(Some(b'"')))
    }
}

const TOO_COMPLEX: &str = "Rule is too complex - try using fewer wildcard characters or \
     fewer repeating character sequences after a wildcard character";

/// AWS refuses a field's wildcard patterns once some input could be in the middle of matching
/// this many of their prefixes at the same time.
const COMPLEXITY_LIMIT: usize = 10;

/// How many sets of simultaneous prefixes the check explores before giving up on the patterns.
const EXPLORATION_BUDGET: usize = 20_000;

/// Rejects the wildcard patterns of one field when EventBridge would find them too complex.
///
/// EventBridge's engine matches a field's values with one byte-level automaton, and refuses
/// rules for which some input would keep too many wildcard-pattern prefixes alive at once
/// (`*:*:*:*:*:x` on `:::::`, say). This rebuilds that automaton: the patterns share their text
/// up to their first star, each star is a state looping on any byte, and a literal after a
/// star can also be reached from before the star (the star matching nothing). It then explores
/// every set of states an input can reach, weighing each state by the patterns passing
/// through it, plus, as AWS counts them, the star states one byte away.
pub(crate) fn check_complexity(patterns: &[&Wildcard]) -> Result<(), String> {
    if patterns.is_empty() || worst_case_live_prefixes(patterns) < COMPLEXITY_LIMIT {
        Ok(())
    } else {
        Err(TOO_COMPLEX.into())
    }
}

#[derive(Default)]
struct State {
    on_byte: Vec<(u8, usize)>,
    /// The star state entered on any byte (for a star state, itself).
    on_any: Option<usize>,
    /// Whether the state lies on the text the patterns share before their first star.
    shared: bool,
    /// How many patterns pass through the state.
    weight: usize,
}

fn worst_case_live_prefixes(patterns: &[&Wildcard]) -> usize {
    let mut states = vec![State {
        shared: true,
        ..State::default()
    }];
    let mut alphabet = [false; 256];
    for pattern in patterns {
        let mut current = 0;
        let mut on_shared_prefix = true;
        let mut before_star = None;
        for token in pattern.tokens() {
            let next = match token {
                None => {
                    let star = match states[current].on_any {
                        Some(star) if on_shared_prefix => star,
                        _ => {
                            let star = add_state(&mut states, false);
                            states[star].on_any = Some(star);
                            states[current].on_any = Some(star);
                            star
                        }
                    };
                    on_shared_prefix = false;
                    before_star = Some(current);
                    star
                }
                Some(byte) => {
                    alphabet[usize::from(byte)] = true;
                    let existing = states[current]
                        .on_byte
                        .iter()
                        .find(|&&(b, target)| {
                            on_shared_prefix && b == byte && states[target].shared
                        })
                        .map(|&(_, target)| target);
                    let next = existing.unwrap_or_else(|| {
                        let next = add_state(&mut states, on_shared_prefix);
                        states[current].on_byte.push((byte, next));
                        if let Some(skipped) = before_star {
                            states[skipped].on_byte.push((byte, next));
                        }
                        next
                    });
                    before_star = None;
                    next
                }
            };
            states[next].weight += 1;
            current = next;
        }
    }

    let inputs: Vec<Option<u8>> = (0..=u8::MAX)
        .filter(|&b| alphabet[usize::from(b)])
        .map(Some)
        .chain([None])
        .collect();
    let mut seen = FastSet::default();
    let mut pending = vec![vec![0]];
    let mut worst = 0;
    while let Some(active) = pending.pop() {
        for &input in &inputs {
            let next = step(&states, &active, input);
            if next.is_empty() {
                continue;
            }
            worst = worst.max(live_prefixes(&states, &next));
            if worst >= COMPLEXITY_LIMIT || seen.len() >= EXPLORATION_BUDGET {
                return COMPLEXITY_LIMIT;
            }
            if seen.insert(next.clone()) {
                pending.push(next);
            }
        }
    }
    worst
}

fn add_state(states: &mut Vec<State>, shared: bool) -> usize {
    states.push(State {
        shared,
        ..State::default()
    });
    states.len() - 1
}

/// The states reached from `active` on one input byte (`None`: a byte no pattern names).
fn step(states: &[State], active: &[usize], input: Option<u8>) -> Vec<usize> {
    let mut next: Vec<usize> = active
        .iter()
        .flat_map(|&s| {
            let literal = states[s]
                .on_byte
                .iter()
                .filter(move |&&(b, _)| Some(b) == input)
                .map(|&(_, target)| target);
            states[s].on_any.into_iter().chain(literal)
        })
        .collect();
    next.sort_unstable();
    next.dedup();
    next
}

fn live_prefixes(states: &[State], active: &[usize]) -> usize {
    active
        .iter()
        .map(|&s| {
            let star_ahead = states[s]
                .on_any
                .filter(|star| active.binary_search(star).is_err())
                .map_or(0, |star| states[star].weight);
            states[s].weight + star_ahead
        })
        .sum()
}
