//! Matching one event against many patterns.

use serde_json::Value;

use super::Pattern;
use super::branch::{Branch, Condition};
use super::event::{PathId, PathIndex, with_scratch};
use super::fast_hash::FastMap;
use super::matcher::Scalar;

/// Many patterns compiled together, to find which of them an event matches.
///
/// The event is flattened once for all patterns. A branch that requires one of a few exact
/// strings at some path (typically `source` or `detail-type`) is indexed under those strings
/// and evaluated only for events that carry one of them; other branches are evaluated for
/// every event.
#[derive(Debug, Clone, Default)]
pub struct PatternSet {
    paths: PathIndex,
    branches: Vec<IndexedBranch>,
    anchors: Vec<Anchor>,
    /// Branches with no required exact string, in order.
    unanchored: Vec<usize>,
    pattern_count: usize,
}

#[derive(Debug, Clone)]
struct IndexedBranch {
    pattern: usize,
    branch: Branch,
}

/// The branches that require, at `path`, one of the strings they are listed under.
#[derive(Debug, Clone)]
struct Anchor {
    path: PathId,
    branches_by_value: FastMap<Box<str>, Vec<usize>>,
}

impl PatternSet {
    pub fn new(patterns: Vec<Pattern>) -> Self {
        let mut set = Self {
            pattern_count: patterns.len(),
            ..Self::default()
        };
        for (pattern_index, pattern) in patterns.into_iter().enumerate() {
            for branch in pattern.branches {
                let conditions = branch
                    .conditions
                    .into_iter()
                    .map(|c| Condition {
                        path: set.paths.intern(pattern.paths.name(c.path)),
                        matcher: c.matcher,
                    })
                    .collect();
                set.add_branch(pattern_index, Branch { conditions });
            }
        }
        set
    }

    /// The number of patterns.
    pub fn len(&self) -> usize {
        self.pattern_count
    }

    pub fn is_empty(&self) -> bool {
        self.pattern_count == 0
    }

    /// The indices of the patterns the event matches, ascending.
    pub fn matching(&self, event: &Value) -> Vec<usize> {
        with_scratch(|scratch| {
            if !scratch.event.load(&self.paths, event) {
                return Vec::new();
            }
            let candidates = &mut scratch.candidates;
            candidates.clear();
            candidates.extend_from_slice(&self.unanchored);
            for anchor in &self.anchors {
                for leaf in scratch.event.leaves_at(anchor.path) {
                    if let Scalar::String(value) = leaf.value
                        && let Some(branches) = anchor.branches_by_value.get(value)
                    {
                        candidates.extend_from_slice(branches);
                    }
                }
            }
            // Branch ids follow pattern order, so sorting them sorts the patterns too.
            candidates.sort_unstable();
            candidates.dedup();

            let mut matched = Vec::new();
            for &id in candidates.iter() {
                let IndexedBranch { pattern, branch } = &self.branches[id];
                if matched.last() != Some(pattern) && branch.matches(&scratch.event) {
                    matched.push(*pattern);
                }
            }
            matched
        })
    }

    fn add_branch(&mut self, pattern: usize, branch: Branch) {
        let id = self.branches.len();
        // Index by the required exact strings with the fewest alternatives.
        let anchor = branch
            .conditions
            .iter()
            .filter_map(|c| Some((c.path, c.matcher.required_strings()?)))
            .min_by_key(|(_, values)| values.len());
        match anchor {
            Some((path, values)) => {
                let position = match self.anchors.iter().position(|a| a.path == path) {
                    Some(position) => position,
                    None => {
                        self.anchors.push(Anchor {
                            path,
                            branches_by_value: FastMap::default(),
                        });
                        self.anchors.len() - 1
                    }
                };
                let by_value = &mut self.anchors[position].branches_by_value;
                for value in values.iter() {
                    by_value.entry(value.into()).or_default().push(id);
                }
            }
            None => self.unanchored.push(id),
        }
        self.branches.push(IndexedBranch { pattern, branch });
    }
}
