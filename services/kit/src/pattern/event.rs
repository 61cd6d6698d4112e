//! Field paths, and the flattened view of an event that matching works on.

use std::cell::RefCell;

use serde_json::{Map, Value};

use super::fast_hash::FastMap;
use super::matcher::{Number, Scalar};

/// Index of a field path in a [`PathIndex`].
pub(crate) type PathId = usize;

const ROOT: usize = 0;

/// Events nested deeper than this are not looked into (serde_json's parser stops at 128).
const MAX_DEPTH: usize = 512;

/// The field paths a pattern (or a set of patterns) tests, as a trie over dot-separated names.
///
/// Event keys are split on `.` while walking the trie: EventBridge joins nested names with dots
/// and does not tell `{"a.b": 1}` from `{"a": {"b": 1}}`.
#[derive(Debug, Clone)]
pub(crate) struct PathIndex {
    nodes: Vec<PathNode>,
    names: Vec<Box<str>>,
}

#[derive(Debug, Clone, Default)]
struct PathNode {
    /// Child names (single segments) and nodes. Nodes rarely have more than a few children,
    /// which a scan finds faster than a hash lookup; past `MAX_SCANNED_CHILDREN` they are
    /// also hashed.
    children: Vec<(Box<str>, usize)>,
    hashed_children: FastMap<Box<str>, usize>,
    path: Option<PathId>,
}

const MAX_SCANNED_CHILDREN: usize = 12;

impl PathNode {
    fn child(&self, segment: &str) -> Option<usize> {
        if self.children.len() > MAX_SCANNED_CHILDREN {
            return self.hashed_children.get(segment).copied();
        }
        self.children
            .iter()
            .find(|(name, _)| **name == *segment)
            .map(|&(_, child)| child)
    }

    fn add_child(&mut self, segment: &str, child: usize) {
        self.children.push((segment.into(), child));
        if self.children.len() > MAX_SCANNED_CHILDREN {
            self.hashed_children.extend(
                self.children
                    .iter()
                    .map(|(name, child)| (name.clone(), *child)),
            );
        }
    }
}

impl Default for PathIndex {
    fn default() -> Self {
        Self {
            nodes: vec![PathNode::default()],
            names: Vec::new(),
        }
    }
}

impl PathIndex {
    /// The id of `path` (dot-joined), adding it if new.
    pub(crate) fn intern(&mut self, path: &str) -> PathId {
        let mut node = ROOT;
        for segment in path.split('.') {
            node = match self.nodes[node].child(segment) {
                Some(child) => child,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(PathNode::default());
                    self.nodes[node].add_child(segment, child);
                    child
                }
            };
        }
        *self.nodes[node].path.get_or_insert_with(|| {
            self.names.push(path.into());
            self.names.len() - 1
        })
    }

    pub(crate) fn name(&self, path: PathId) -> &str {
        &self.names[path]
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// The node reached from `node` through `key`, if any known path goes that way.
    fn descend(&self, node: usize, key: &str) -> Option<usize> {
        if !key.contains('.') {
            // The common case, without the splitter's overhead.
            return self.nodes[node].child(key);
        }
        key.split('.')
            .try_fold(node, |node, segment| self.nodes[node].child(segment))
    }
}

/// Where a leaf sits in one of the event's arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArrayPosition {
    array: usize,
    index: usize,
}

/// Whether two leaves can come from the same event "row": no array holds them in different
/// elements.
pub(crate) fn same_array_elements(a: &[ArrayPosition], b: &[ArrayPosition]) -> bool {
    a.iter()
        .all(|x| b.iter().all(|y| x.array != y.array || x.index == y.index))
}

/// One leaf value found at a path.
#[derive(Clone, Copy)]
pub(crate) struct LeafRef<'a> {
    pub(crate) value: Scalar<'a>,
    pub(crate) positions: &'a [ArrayPosition],
}

#[derive(Debug, Clone, Copy)]
enum StoredScalar {
    Null,
    Bool(bool),
    Number(Number),
    /// A range of [`FlatEvent::strings`].
    String(usize, usize),
}

#[derive(Debug, Clone, Copy)]
struct Leaf {
    value: StoredScalar,
    /// The previous leaf at the same path, or `NO_LEAF`.
    previous: usize,
    /// A range of [`FlatEvent::positions`].
    positions: (usize, usize),
}

const NO_LEAF: usize = usize::MAX;

/// The leaf values of one event at the paths of a [`PathIndex`], chained by path.
///
/// Values are copied out of the event so that the buffers can be reused from one event to the
/// next (see [`with_scratch`]).
#[derive(Debug, Default)]
pub(crate) struct FlatEvent {
    leaves: Vec<Leaf>,
    /// Per path, its last leaf (or `NO_LEAF`).
    last_leaf: Vec<usize>,
    strings: String,
    positions: Vec<ArrayPosition>,
    open_arrays: Vec<ArrayPosition>,
    arrays_seen: usize,
    has_arrays_of_objects: bool,
}

impl FlatEvent {
    /// Replaces the content with `event`'s leaves; false when the event is not an object.
    pub(crate) fn load(&mut self, paths: &PathIndex, event: &Value) -> bool {
        self.leaves.clear();
        self.last_leaf.clear();
        self.last_leaf.resize(paths.len(), NO_LEAF);
        self.strings.clear();
        self.positions.clear();
        self.open_arrays.clear();
        self.arrays_seen = 0;
        self.has_arrays_of_objects = false;
        match event {
            Value::Object(fields) => {
                self.walk_object(paths, ROOT, fields, 0);
                true
            }
            _ => false,
        }
    }

    /// Whether fields may come from different elements of one array, so that matching must
    /// check they come from the same one.
    pub(crate) fn has_arrays_of_objects(&self) -> bool {
        self.has_arrays_of_objects
    }

    /// The values at `path`, last found first.
    pub(crate) fn leaves_at(&self, path: PathId) -> impl Iterator<Item = LeafRef<'_>> + '_ {
        let first = self.last_leaf.get(path).copied().unwrap_or(NO_LEAF);
        std::iter::successors(self.leaves.get(first), |leaf| {
            self.leaves.get(leaf.previous)
        })
        .map(|leaf| LeafRef {
            value: match leaf.value {
                StoredScalar::Null => Scalar::Null,
                StoredScalar::Bool(b) => Scalar::Bool(b),
                StoredScalar::Number(n) => Scalar::Number(n),
                StoredScalar::String(start, end) => Scalar::String(&self.strings[start..end]),
            },
            positions: &self.positions[leaf.positions.0..leaf.positions.1],
        })
    }

    fn walk_object(
        &mut self,
        paths: &PathIndex,
        node: usize,
        fields: &Map<String, Value>,
        depth: usize,
    ) {
        for (key, value) in fields {
            if let Some(child) = paths.descend(node, key) {
                self.walk_value(paths, child, value, depth + 1);
            }
        }
    }

    fn walk_value(&mut self, paths: &PathIndex, node: usize, value: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match value {
            Value::Object(fields) => self.walk_object(paths, node, fields, depth),
            Value::Array(items) => {
                let array = self.arrays_seen;
                self.arrays_seen += 1;
                for (index, item) in items.iter().enumerate() {
                    self.has_arrays_of_objects |= item.is_object();
                    self.open_arrays.push(ArrayPosition { array, index });
                    self.walk_value(paths, node, item, depth + 1);
                    self.open_arrays.pop();
                }
            }
            scalar => {
                if let Some(path) = paths.nodes[node].path {
                    self.push_leaf(path, scalar);
                }
            }
        }
    }

    fn push_leaf(&mut self, path: PathId, scalar: &Value) {
        let value = match scalar {
            Value::Null => StoredScalar::Null,
            Value::Bool(b) => StoredScalar::Bool(*b),
            Value::Number(n) => match Number::from_json(n) {
                Some(n) => StoredScalar::Number(n),
                None => return,
            },
            Value::String(s) => {
                let start = self.strings.len();
                self.strings.push_str(s);
                StoredScalar::String(start, self.strings.len())
            }
            Value::Array(_) | Value::Object(_) => return,
        };
        let Some(last) = self.last_leaf.get_mut(path) else {
            return;
        };
        let start = self.positions.len();
        self.positions.extend_from_slice(&self.open_arrays);
        self.leaves.push(Leaf {
            value,
            previous: *last,
            positions: (start, self.positions.len()),
        });
        *last = self.leaves.len() - 1;
    }
}

/// Per-thread buffers reused across evaluations, so that matching does not allocate.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub(crate) event: FlatEvent,
    /// Candidate branch ids, for [`super::PatternSet`].
    pub(crate) candidates: Vec<usize>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers (or fresh ones, should they be in use).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut Scratch::default()),
    })
}
