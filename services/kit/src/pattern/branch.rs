//! One way for a pattern to match: a conjunction of field conditions.

use super::event::{ArrayPosition, FlatEvent, PathId, same_array_elements};
use super::matcher::FieldMatcher;

/// A pattern with its `$or`s expanded is a list of branches; it matches when any branch does.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    /// At most one condition per path, cheapest first.
    pub(crate) conditions: Vec<Condition>,
}

#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub(crate) path: PathId,
    pub(crate) matcher: FieldMatcher,
}

impl Condition {
    /// Whether some value of the event (or its absence) satisfies the condition.
    fn holds(&self, event: &FlatEvent) -> bool {
        let mut present = false;
        for leaf in event.leaves_at(self.path) {
            if self.matcher.matches(leaf.value) {
                return true;
            }
            present = true;
        }
        !present && self.matcher.matches_absent
    }
}

impl Branch {
    pub(crate) fn matches(&self, event: &FlatEvent) -> bool {
        self.conditions.iter().all(|c| c.holds(event))
            && (!event.has_arrays_of_objects() || holds_together(&self.conditions, event, None))
    }
}

/// The array positions of the values chosen so far, innermost last.
struct Chosen<'a> {
    positions: &'a [ArrayPosition],
    before: Option<&'a Chosen<'a>>,
}

impl Chosen<'_> {
    fn admits(&self, positions: &[ArrayPosition]) -> bool {
        let mut chosen = Some(self);
        while let Some(c) = chosen {
            if !same_array_elements(c.positions, positions) {
                return false;
            }
            chosen = c.before;
        }
        true
    }
}

/// Whether the conditions can all be satisfied by values from the same element of every array
/// they reach into: EventBridge does not match a rule on fields from sibling array elements.
fn holds_together(
    conditions: &[Condition],
    event: &FlatEvent,
    chosen: Option<&Chosen<'_>>,
) -> bool {
    let Some((condition, rest)) = conditions.split_first() else {
        return true;
    };
    let mut present = false;
    for leaf in event.leaves_at(condition.path) {
        present = true;
        if !condition.matcher.matches(leaf.value)
            || !chosen.is_none_or(|c| c.admits(leaf.positions))
        {
            continue;
        }
        let here = Chosen {
            positions: leaf.positions,
            before: chosen,
        };
        if holds_together(rest, event, Some(&here)) {
            return true;
        }
        if leaf.positions.is_empty() {
            // A value outside every array constrains nothing; no other value can do better.
            return false;
        }
    }
    !present && condition.matcher.matches_absent && holds_together(rest, event, chosen)
}
