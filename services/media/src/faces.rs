//! Local, offline face detection: OpenCV's Haar cascades (Debian's `opencv-data` files)
//! evaluated the way `cv2.CascadeClassifier.detectMultiScale` evaluates them, in plain Rust.
//!
//! [`FaceDetector::load`] reads a cascade in OpenCV's current XML format (`<cascade>` with
//! `stageType` BOOST and `featureType` HAAR: stages of boosted stumps or small trees over
//! upright Haar features). [`FaceDetector::detect`] then follows OpenCV's `cascadedetect.cpp`
//! step by step, so that its boxes match OpenCV's:
//!
//! 1. **Scales**: factor 1, `scale_factor`, `scale_factor²`, ... while the window
//!    (`round(24 × factor)` for the 24x24 frontal-face cascades) fits in the image and in
//!    `max_size`; factors whose window is smaller than `min_size` are skipped.
//! 2. **Image pyramid**: OpenCV scales the *image*, not the features: for each factor the image
//!    is resized to `round(size / factor)` with OpenCV's bit-exact bilinear resize
//!    (`INTER_LINEAR_EXACT`: 8-bit fixed-point weights), and a sum and a squared-sum integral
//!    image are built from it.
//! 3. **Scan**: the cascade's own-size window visits every position of each level with a step of
//!    2 px while the factor is below 2 and 1 px from 2 on (in the level's pixels), and skips one
//!    more step after a window that fails the first stage. A window is normalised by the standard
//!    deviation of its interior (the window less a 1-px border): every feature value is divided by
//!    `area × σ`, and windows with `σ ≤ 10` grey levels (flat areas) are rejected outright.
//! 4. **Cascade**: each stage sums its weak classifiers' leaf values (a feature value is
//!    compared with the node threshold in single precision, as OpenCV does) and the window is
//!    rejected as soon as a stage's sum falls below its threshold (less OpenCV's 1e-5).
//!    A window that passes every stage becomes a candidate box, in the image's pixels.
//! 5. **Grouping** (`groupRectangles(minNeighbors, eps = 0.2)`): candidates are partitioned into
//!    classes of similar boxes (every edge within `eps × mean side / 2`, transitively); each class
//!    is averaged; classes with `min_neighbours` candidates or fewer are dropped, and so is a
//!    class lying inside a stronger one. [`FaceBox::neighbours`] is the class size (OpenCV's
//!    `numDetections`).
//!
//! The tests (`tests/faces.rs`) run OpenCV itself (opencv-python 4.14) on the same pixels: the
//! raw candidates, the grouped boxes and their neighbour counts are identical on every image.
//!
//! Large images are searched as if downscaled to [`DetectParams::max_side`] (640 px by default):
//! see there. Tilted (45°) features, LBP cascades and the old `opencv-haar-classifier` format are
//! not supported and fail to load with [`FaceError::Unsupported`]; none of the face cascades
//! (`haarcascade_frontalface_{default,alt,alt2,alt_tree}.xml`, `haarcascade_profileface.xml`)
//! uses them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::phash::Luma;

/// Overrides the cascade [`FaceDetector::frontal_default`] loads.
pub const CASCADE_ENV: &str = "MEDIASIFT_HAAR_CASCADE";

/// Where Debian's `opencv-data` installs the default frontal-face cascade (the first path is
/// today's; the second is older releases').
pub const FRONTAL_DEFAULT_PATHS: [&str; 2] = [
    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
    "/usr/share/opencv/haarcascades/haarcascade_frontalface_default.xml",
];

/// OpenCV's `GROUP_EPS`: how far apart (relative to their size) boxes of one face may be.
const GROUP_EPS: f64 = 0.2;
/// OpenCV subtracts this from every stage threshold when it loads a cascade.
const STAGE_THRESHOLD_EPS: f32 = 1e-5;
/// OpenCV rejects a window when `area × normFactor` is not below this (σ ≤ 10 grey levels).
const FLAT_WINDOW: f64 = 0.1;
/// A bound on pyramid levels, whatever `scale_factor` says (OpenCV reserves 1024 too).
const MAX_SCALES: usize = 1024;
/// A bound on the cascade window a file may declare (OpenCV's are 14..=45 px).
const MAX_WINDOW: usize = 1024;

/// Why a cascade could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error(
        "face cascade {} is missing: install Debian's opencv-data (scripts/setup.sh does), \
         or point {CASCADE_ENV} at a cascade file",
        path.display()
    )]
    CascadeMissing { path: PathBuf },
    #[error("cannot read face cascade {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("face cascade {} is not supported: {reason}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    #[error("face cascade {} is malformed: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
}

/// One detected face, in the pixels of the image given to [`FaceDetector::detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceBox {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
    /// How many raw detections were grouped into this box (OpenCV's `numDetections`); more is
    /// more certain.
    pub neighbours: u32,
}

/// The search's parameters. [`Default`] is OpenCV's usual
/// `detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))`, plus the
/// work bound [`DetectParams::max_side`] = 640.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DetectParams {
    /// OpenCV's `scaleFactor`: each pyramid level is this much coarser than the previous one.
    /// Must be above 1 (and finite); anything else searches nothing.
    pub scale_factor: f64,
    /// OpenCV's `minNeighbors`: a face needs more than this many raw detections. 0 returns
    /// every raw detection ungrouped, each with `neighbours` 1.
    pub min_neighbours: u32,
    /// OpenCV's `minSize` (width, height), in pixels of the image.
    pub min_size: (u32, u32),
    /// OpenCV's `maxSize` (width, height); `None` (or a zero side) is the image's size.
    pub max_size: Option<(u32, u32)>,
    /// The work bound for large images: an image whose longer side exceeds `max_side` is searched
    /// as if first downscaled to `max_side`, that is from the pyramid level where its longer side
    /// is `max_side` on. Faces smaller than the cascade window at that level are not looked for:
    /// 24 px × longer side / `max_side` with the frontal-face cascades, so 48 px on a 1280x720
    /// frame and 151 px on a 4032x3024 photo at the default 640. The levels searched are
    /// OpenCV's own, each resampled straight from the full image (not from a downscaled copy),
    /// so the boxes are already in the image's pixels and are exactly OpenCV's with `minSize`
    /// raised to that floor. This bounds the work whatever the resolution: a 12-megapixel photo
    /// costs about as much as a 720p frame (about 0.1 s, a sixth of its full search), a 720p
    /// frame about two thirds of its full search. `None` searches every level, as OpenCV does.
    pub max_side: Option<u32>,
}

impl Default for DetectParams {
    fn default() -> Self {
        DetectParams {
            scale_factor: 1.1,
            min_neighbours: 5,
            min_size: (30, 30),
            max_size: None,
            max_side: Some(640),
        }
    }
}

/// A loaded Haar cascade, ready to search images ([`FaceDetector::detect`]). Immutable and
/// `Sync`: one detector can serve many threads.
#[derive(Clone)]
pub struct FaceDetector {
    source: PathBuf,
    cascade: Cascade,
}

impl FaceDetector {
    /// Loads a cascade file (OpenCV's XML format: see the module documentation).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, FaceError> {
        let path = path.as_ref();
        let xml = match std::fs::read_to_string(path) {
            Ok(xml) => xml,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(FaceError::CascadeMissing {
                    path: path.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(FaceError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Self::from_xml_named(&xml, path)
    }

    /// The default frontal-face cascade: `$MEDIASIFT_HAAR_CASCADE` when set, else Debian's
    /// `haarcascade_frontalface_default.xml` ([`FRONTAL_DEFAULT_PATHS`]).
    pub fn frontal_default() -> Result<Self, FaceError> {
        if let Some(path) = std::env::var_os(CASCADE_ENV).filter(|p| !p.is_empty()) {
            return Self::load(PathBuf::from(path));
        }
        let path = FRONTAL_DEFAULT_PATHS
            .iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .unwrap_or(Path::new(FRONTAL_DEFAULT_PATHS[0]));
        Self::load(path)
    }

    /// Parses a cascade held in memory (errors name it `(inline cascade)`).
    pub fn from_xml(xml: &str) -> Result<Self, FaceError> {
        Self::from_xml_named(xml, Path::new("(inline cascade)"))
    }

    fn from_xml_named(xml: &str, path: &Path) -> Result<Self, FaceError> {
        let cascade = parse_cascade(xml).map_err(|problem| match problem {
            Problem::Unsupported(reason) => FaceError::Unsupported {
                path: path.to_path_buf(),
                reason,
            },
            Problem::Malformed(reason) => FaceError::Malformed {
                path: path.to_path_buf(),
                reason,
            },
        })?;
        Ok(FaceDetector {
            source: path.to_path_buf(),
            cascade,
        })
    }

    /// The file the cascade came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The cascade's window (width, height) in pixels: the smallest face it can find.
    pub fn window(&self) -> (u32, u32) {
        (
            self.cascade.window_width as u32,
            self.cascade.window_height as u32,
        )
    }

    /// Faces in an 8-bit grayscale image, as OpenCV's `detectMultiScale2` finds them (see the
    /// module documentation), in the order of their first raw detection (top-left first at the
    /// smallest scale). Never panics: an image smaller than the window, an empty one, or one
    /// whose `pixels` are shorter than `width × height` has no faces.
    pub fn detect(&self, image: Luma<'_>, params: &DetectParams) -> Vec<FaceBox> {
        let candidates = self.cascade.candidates(image, params);
        group_rectangles(&candidates, params.min_neighbours, GROUP_EPS)
            .into_iter()
            .map(|(r, neighbours)| FaceBox {
                left: clamp_u32(r.x),
                top: clamp_u32(r.y),
                width: clamp_u32(r.width),
                height: clamp_u32(r.height),
                neighbours,
            })
            .collect()
    }
}

impl std::fmt::Debug for FaceDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The cascade itself is thousands of numbers: show what identifies it.
        f.debug_struct("FaceDetector")
            .field("source", &self.source)
            .field("window", &self.window())
            .field("stages", &self.cascade.stages.len())
            .field("features", &self.cascade.features.len())
            .finish()
    }
}

fn clamp_u32(v: i64) -> u32 {
    v.clamp(0, i64::from(u32::MAX)) as u32
}

// --- the cascade ---------------------------------------------------------------------------

/// One rectangle of a Haar feature, relative to the window's top-left corner.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct WeightedRect {
    x: usize,
    y: usize,
    width: usize,
    height: usize,
    weight: f32,
}

/// A Haar feature: the weighted sum of up to three rectangle sums (unused ones weigh 0).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Feature {
    rects: [WeightedRect; 3],
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Stage {
    /// The file's threshold less [`STAGE_THRESHOLD_EPS`], as OpenCV stores it.
    threshold: f32,
    first_weak: usize,
    weak_count: usize,
}

/// A depth-one tree, the form of every weak classifier in the usual cascades.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stump {
    feature: usize,
    threshold: f32,
    left: f32,
    right: f32,
}

/// A node of a weak classifier tree: `left`/`right` > 0 index the tree's nodes, <= 0 are
/// `-leaf` (OpenCV's encoding).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    feature: usize,
    threshold: f32,
    left: i32,
    right: i32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Tree {
    first_node: usize,
    first_leaf: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Weak {
    /// Every weak classifier is a stump (OpenCV's `predictOrderedStump`).
    Stumps(Vec<Stump>),
    /// Some are deeper trees (OpenCV's `predictOrdered`), e.g. `..._alt_tree.xml`.
    Trees {
        trees: Vec<Tree>,
        nodes: Vec<Node>,
        leaves: Vec<f32>,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Cascade {
    window_width: usize,
    window_height: usize,
    features: Vec<Feature>,
    stages: Vec<Stage>,
    weak: Weak,
}

enum Problem {
    Unsupported(String),
    Malformed(String),
}

fn malformed(reason: impl Into<String>) -> Problem {
    Problem::Malformed(reason.into())
}

fn elements<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.children().filter(roxmltree::Node::is_element)
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    elements(node).find(|n| n.tag_name().name() == name)
}

fn required<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    name: &str,
) -> Result<roxmltree::Node<'a, 'i>, Problem> {
    child(node, name).ok_or_else(|| malformed(format!("<{name}> is missing")))
}

/// The text of an element, trimmed (OpenCV's numbers and names are plain text content).
fn text<'a>(node: roxmltree::Node<'a, '_>) -> &'a str {
    node.text().unwrap_or("").trim()
}

fn integer(node: roxmltree::Node<'_, '_>, what: &str) -> Result<i64, Problem> {
    let t = text(node);
    t.parse::<i64>()
        .map_err(|_| malformed(format!("{what} is not an integer: {t:?}")))
}

fn numbers(node: roxmltree::Node<'_, '_>, what: &str) -> Result<Vec<f64>, Problem> {
    text(node)
        .split_ascii_whitespace()
        .map(|t| {
            t.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| malformed(format!("{what} has a bad number: {t:?}")))
        })
        .collect()
}

/// An integer written in a list of numbers (OpenCV writes node indices as `-1`, `0`, ...).
fn index(value: f64, what: &str) -> Result<i64, Problem> {
    if value.fract() == 0.0 && value.abs() < 1e9 {
        Ok(value as i64)
    } else {
        Err(malformed(format!("{what} is not an integer: {value}")))
    }
}

fn parse_cascade(xml: &str) -> Result<Cascade, Problem> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| malformed(format!("bad XML: {e}")))?;
    let storage = doc.root_element();
    if storage.tag_name().name() != "opencv_storage" {
        return Err(malformed(format!(
            "the root element is <{}>, not <opencv_storage>",
            storage.tag_name().name()
        )));
    }
    let root = elements(storage)
        .next()
        .ok_or_else(|| malformed("<opencv_storage> is empty"))?;
    if root.attribute("type_id") == Some("opencv-haar-classifier") {
        return Err(Problem::Unsupported(
            "the old opencv-haar-classifier format (only the current <cascade> format is read)"
                .into(),
        ));
    }
    let stage_type = text(required(root, "stageType")?);
    if stage_type != "BOOST" {
        return Err(Problem::Unsupported(format!(
            "stage type {stage_type:?} (only BOOST)"
        )));
    }
    let feature_type = text(required(root, "featureType")?);
    if feature_type != "HAAR" {
        return Err(Problem::Unsupported(format!(
            "feature type {feature_type:?} (only HAAR; LBP and HOG cascades are not read)"
        )));
    }
    let window_width = integer(required(root, "width")?, "<width>")?;
    let window_height = integer(required(root, "height")?, "<height>")?;
    let window_range = 3..=MAX_WINDOW as i64;
    if !window_range.contains(&window_width) || !window_range.contains(&window_height) {
        return Err(malformed(format!(
            "window {window_width}x{window_height} is outside 3..={MAX_WINDOW} px"
        )));
    }
    let (window_width, window_height) = (window_width as usize, window_height as usize);
    if let Some(count) = child(root, "featureParams").and_then(|p| child(p, "maxCatCount"))
        && integer(count, "<maxCatCount>")? != 0
    {
        return Err(Problem::Unsupported(
            "categorical (LBP-style) splits in a HAAR cascade".into(),
        ));
    }

    let features = elements(required(root, "features")?)
        .enumerate()
        .map(|(i, node)| parse_feature(node, i, window_width, window_height))
        .collect::<Result<Vec<_>, _>>()?;

    let mut stages = Vec::new();
    let mut trees = Vec::new();
    let mut nodes = Vec::new();
    let mut leaves = Vec::new();
    let mut all_stumps = true;
    for (si, stage) in elements(required(root, "stages")?).enumerate() {
        let threshold = numbers(required(stage, "stageThreshold")?, "<stageThreshold>")?;
        let [threshold] = threshold[..] else {
            return Err(malformed(format!(
                "stage {si}: <stageThreshold> is not one number"
            )));
        };
        let first_weak = trees.len();
        for (wi, weak) in elements(required(stage, "weakClassifiers")?).enumerate() {
            let what = format!("stage {si}, weak classifier {wi}");
            let internal = numbers(required(weak, "internalNodes")?, &what)?;
            let leaf_values = numbers(required(weak, "leafValues")?, &what)?;
            if internal.is_empty() || internal.len() % 4 != 0 {
                return Err(malformed(format!(
                    "{what}: <internalNodes> is not groups of 4 numbers (left right feature threshold)"
                )));
            }
            let node_count = internal.len() / 4;
            if leaf_values.len() != node_count + 1 {
                return Err(malformed(format!(
                    "{what}: {node_count} nodes need {} leaf values, not {}",
                    node_count + 1,
                    leaf_values.len()
                )));
            }
            all_stumps &= node_count == 1;
            trees.push(Tree {
                first_node: nodes.len(),
                first_leaf: leaves.len(),
            });
            for (ni, node) in internal.chunks_exact(4).enumerate() {
                let feature = index(node[2], &what)?;
                if feature < 0 || feature as usize >= features.len() {
                    return Err(malformed(format!(
                        "{what}: feature {feature} is not one of the {} features",
                        features.len()
                    )));
                }
                let branch = |value: f64| -> Result<i32, Problem> {
                    let target = index(value, &what)?;
                    // A child node must come after its parent (so evaluation ends); a leaf
                    // (target <= 0) must exist.
                    let ok = if target > 0 {
                        (target as usize) > ni && (target as usize) < node_count
                    } else {
                        (-target as usize) <= node_count
                    };
                    ok.then_some(target as i32)
                        .ok_or_else(|| malformed(format!("{what}: node {ni} branches to {target}")))
                };
                let (left, right) = (branch(node[0])?, branch(node[1])?);
                nodes.push(Node {
                    feature: feature as usize,
                    threshold: node[3] as f32,
                    left,
                    right,
                });
            }
            leaves.extend(leaf_values.iter().map(|&v| v as f32));
        }
        let weak_count = trees.len() - first_weak;
        if weak_count == 0 {
            return Err(malformed(format!("stage {si} has no weak classifiers")));
        }
        stages.push(Stage {
            threshold: threshold as f32 - STAGE_THRESHOLD_EPS,
            first_weak,
            weak_count,
        });
    }
    if stages.is_empty() {
        return Err(malformed("the cascade has no stages"));
    }
    let weak = if all_stumps {
        Weak::Stumps(
            nodes
                .iter()
                .enumerate()
                .map(|(i, node)| Stump {
                    feature: node.feature,
                    threshold: node.threshold,
                    // Both branches of a stump are leaves (`0 -1`: leaves 0 and 1).
                    left: leaves[2 * i + (-node.left) as usize],
                    right: leaves[2 * i + (-node.right) as usize],
                })
                .collect(),
        )
    } else {
        Weak::Trees {
            trees,
            nodes,
            leaves,
        }
    };
    Ok(Cascade {
        window_width,
        window_height,
        features,
        stages,
        weak,
    })
}

fn parse_feature(
    node: roxmltree::Node<'_, '_>,
    i: usize,
    window_width: usize,
    window_height: usize,
) -> Result<Feature, Problem> {
    if let Some(tilted) = child(node, "tilted")
        && integer(tilted, "<tilted>")? != 0
    {
        return Err(Problem::Unsupported(format!(
            "feature {i} is tilted (45° Haar features are not implemented)"
        )));
    }
    let mut feature = Feature::default();
    let rects: Vec<_> = elements(required(node, "rects")?).collect();
    if rects.is_empty() || rects.len() > feature.rects.len() {
        return Err(malformed(format!(
            "feature {i} has {} rectangles (1 to 3)",
            rects.len()
        )));
    }
    for (slot, rect) in feature.rects.iter_mut().zip(rects) {
        let what = format!("feature {i}");
        let v = numbers(rect, &what)?;
        let [x, y, w, h, weight] = v[..] else {
            return Err(malformed(format!(
                "{what}: a rectangle is not \"x y w h weight\""
            )));
        };
        let (x, y, w, h) = (
            index(x, &what)?,
            index(y, &what)?,
            index(w, &what)?,
            index(h, &what)?,
        );
        if x < 0
            || y < 0
            || w < 0
            || h < 0
            || x + w > window_width as i64
            || y + h > window_height as i64
        {
            return Err(malformed(format!(
                "{what}: rectangle {x} {y} {w} {h} leaves the {window_width}x{window_height} window"
            )));
        }
        *slot = WeightedRect {
            x: x as usize,
            y: y as usize,
            width: w as usize,
            height: h as usize,
            weight: weight as f32,
        };
    }
    Ok(feature)
}

// --- detection -----------------------------------------------------------------------------

/// A box in image pixels (OpenCV's `cv::Rect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    x: i64,
    y: i64,
    width: i64,
    height: i64,
}

/// OpenCV's `cvRound` (round half to even, as the x86 conversion does).
fn round_f32(v: f32) -> i64 {
    v.round_ties_even() as i64
}

fn round_f64(v: f64) -> i64 {
    v.round_ties_even() as i64
}

/// A feature's rectangle sums as offsets from the window's top-left corner in one level's
/// integral image: `s[o0] - s[o1] - s[o2] + s[o3]` for each rectangle.
#[derive(Debug, Clone, Copy)]
struct OptFeature {
    offsets: [[usize; 4]; 3],
    weights: [f32; 3],
}

fn rect_offsets(x: usize, y: usize, width: usize, height: usize, stride: usize) -> [usize; 4] {
    let top = y * stride + x;
    let bottom = (y + height) * stride + x;
    [top, top + width, bottom, bottom + width]
}

/// `s[o0] - s[o1] - s[o2] + s[o3]` in wrapping 32-bit arithmetic, as OpenCV's `int` sums: exact
/// while a rectangle's sum fits in 32 bits, whatever the whole image's does.
#[inline(always)]
fn rect_sum(integral: &[u32], at: usize, o: &[usize; 4]) -> u32 {
    integral[at + o[0]]
        .wrapping_sub(integral[at + o[1]])
        .wrapping_sub(integral[at + o[2]])
        .wrapping_add(integral[at + o[3]])
}

/// A stump with its feature's offsets in the level at hand: the hot loop reads the stumps of a
/// stage in order, with no indirection.
#[derive(Debug, Clone, Copy)]
struct LevelStump {
    feature: OptFeature,
    threshold: f32,
    left: f32,
    right: f32,
}

/// One pyramid level, ready to scan.
struct Level<'a> {
    sum: &'a [u32],
    sqsum: &'a [u32],
    /// Stump cascades: every stump, in the cascade's order.
    stumps: Vec<LevelStump>,
    /// Tree cascades: every feature, which the nodes index.
    features: Vec<OptFeature>,
    /// The normalisation rectangle (the window less a 1-px border).
    norm: [usize; 4],
    norm_area: f64,
}

impl<'a> Level<'a> {
    fn new(cascade: &Cascade, sum: &'a [u32], sqsum: &'a [u32], stride: usize) -> Self {
        let features: Vec<OptFeature> = cascade
            .features
            .iter()
            .map(|f| OptFeature {
                offsets: f
                    .rects
                    .map(|r| rect_offsets(r.x, r.y, r.width, r.height, stride)),
                weights: f.rects.map(|r| r.weight),
            })
            .collect();
        let (stumps, features) = match &cascade.weak {
            Weak::Stumps(stumps) => (
                stumps
                    .iter()
                    .map(|s| LevelStump {
                        feature: features[s.feature],
                        threshold: s.threshold,
                        left: s.left,
                        right: s.right,
                    })
                    .collect(),
                Vec::new(),
            ),
            Weak::Trees { .. } => (Vec::new(), features),
        };
        let (ww, wh) = (cascade.window_width, cascade.window_height);
        Level {
            sum,
            sqsum,
            stumps,
            features,
            norm: rect_offsets(1, 1, ww - 2, wh - 2, stride),
            norm_area: ((ww - 2) * (wh - 2)) as f64,
        }
    }

    /// A feature's value at the window at `at`, normalised as OpenCV does (in single precision).
    #[inline(always)]
    fn value(&self, f: &OptFeature, at: usize, norm_factor: f32) -> f32 {
        let sum = |r: usize| rect_sum(self.sum, at, &f.offsets[r]) as i32 as f32;
        let mut value = f.weights[0] * sum(0) + f.weights[1] * sum(1);
        if f.weights[2] != 0.0 {
            value += f.weights[2] * sum(2);
        }
        value * norm_factor
    }
}

impl Cascade {
    /// OpenCV's list of scale factors for an image (see [`DetectParams`]).
    fn scales(&self, width: usize, height: usize, params: &DetectParams) -> Vec<f32> {
        let factor_step = params.scale_factor;
        if !(factor_step > 1.0 && factor_step.is_finite()) {
            tracing::warn!(
                scale_factor = factor_step,
                "face detection needs a finite scale factor above 1; nothing searched"
            );
            return Vec::new();
        }
        let (mut min_w, mut min_h) = (f64::from(params.min_size.0), f64::from(params.min_size.1));
        if let Some(side) = params.max_side {
            let longer = width.max(height) as f64;
            if longer > f64::from(side) {
                let floor = longer / f64::from(side);
                min_w = min_w.max((self.window_width as f64 * floor).ceil());
                min_h = min_h.max((self.window_height as f64 * floor).ceil());
            }
        }
        let (max_w, max_h) = match params.max_size {
            Some((w, h)) if w > 0 && h > 0 => (f64::from(w), f64::from(h)),
            _ => (width as f64, height as f64),
        };
        let (max_w, max_h) = (max_w.min(width as f64), max_h.min(height as f64));
        let mut scales = Vec::new();
        let mut factor = 1.0f64;
        while scales.len() < MAX_SCALES {
            let w = round_f64(self.window_width as f64 * factor) as f64;
            let h = round_f64(self.window_height as f64 * factor) as f64;
            if w > max_w || h > max_h {
                break;
            }
            if w >= min_w && h >= min_h {
                scales.push(factor as f32);
            }
            factor *= factor_step;
        }
        scales
    }

    /// Every window that passes the whole cascade, at every level (OpenCV's
    /// `detectMultiScaleNoGrouping`), in (level, y, x) order.
    fn candidates(&self, image: Luma<'_>, params: &DetectParams) -> Vec<Rect> {
        let (width, height) = (image.width, image.height);
        let complete = width
            .checked_mul(height)
            .is_some_and(|n| n > 0 && image.pixels.len() >= n);
        if !complete {
            return Vec::new();
        }
        let (ww, wh) = (self.window_width, self.window_height);
        let mut found = Vec::new();
        let (mut resized, mut sum, mut sqsum) = (Vec::new(), Vec::new(), Vec::new());
        for scale in self.scales(width, height, params) {
            let level_w = round_f32(width as f32 / scale).max(0) as usize;
            let level_h = round_f32(height as f32 / scale).max(0) as usize;
            if level_w < ww || level_h < wh {
                continue;
            }
            resize_linear(image, level_w, level_h, &mut resized);
            integrals(&resized, level_w, level_h, &mut sum, &mut sqsum);
            let stride = level_w + 1;
            let level = Level::new(self, &sum, &sqsum, stride);
            let step = if scale >= 2.0 { 1 } else { 2 };
            let box_w = round_f32(ww as f32 * scale);
            let box_h = round_f32(wh as f32 * scale);
            for y in (0..=level_h - wh).step_by(step) {
                let mut x = 0;
                while x <= level_w - ww {
                    let result = self.run_at(&level, y * stride + x);
                    if result > 0 {
                        found.push(Rect {
                            x: round_f32(x as f32 * scale),
                            y: round_f32(y as f32 * scale),
                            width: box_w,
                            height: box_h,
                        });
                    }
                    // OpenCV's shortcut: a window rejected by the first stage skips a step.
                    if result == 0 {
                        x += step;
                    }
                    x += step;
                }
            }
        }
        found
    }

    /// OpenCV's `runAt`: 1 when the window at `at` passes every stage, `-stage` when it fails a
    /// stage (so 0 for the first), -1 for a flat window.
    fn run_at(&self, level: &Level<'_>, at: usize) -> i64 {
        let sum = rect_sum(level.sum, at, &level.norm) as i32;
        let sqsum = rect_sum(level.sqsum, at, &level.norm);
        let area = level.norm_area;
        let spread = area * f64::from(sqsum) - f64::from(sum) * f64::from(sum);
        if spread <= 0.0 {
            return -1;
        }
        let norm_factor = (1.0 / spread.sqrt()) as f32;
        if area * f64::from(norm_factor) >= FLAT_WINDOW {
            return -1;
        }
        for (index, stage) in self.stages.iter().enumerate() {
            let weak = stage.first_weak..stage.first_weak + stage.weak_count;
            let mut total = 0.0f64;
            match &self.weak {
                Weak::Stumps(_) => {
                    for stump in &level.stumps[weak] {
                        let value = level.value(&stump.feature, at, norm_factor);
                        total += f64::from(if value < stump.threshold {
                            stump.left
                        } else {
                            stump.right
                        });
                    }
                }
                Weak::Trees {
                    trees,
                    nodes,
                    leaves,
                } => {
                    for tree in &trees[weak] {
                        let mut next = 0i32;
                        loop {
                            let node = &nodes[tree.first_node + next as usize];
                            let value = level.value(&level.features[node.feature], at, norm_factor);
                            next = if value < node.threshold {
                                node.left
                            } else {
                                node.right
                            };
                            if next <= 0 {
                                break;
                            }
                        }
                        total += f64::from(leaves[tree.first_leaf + (-next) as usize]);
                    }
                }
            }
            if total < f64::from(stage.threshold) {
                return -(index as i64);
            }
        }
        1
    }
}

/// For each destination column (or row) of OpenCV's bit-exact bilinear resize
/// (`INTER_LINEAR_EXACT`, which the cascade detector uses for its pyramid): the two source
/// samples and their weights in 1/256ths. A destination sample whose source position falls
/// before the first sample or at/after the last takes that border sample whole.
fn linear_taps(src: usize, dst: usize) -> Vec<(usize, usize, u32, u32)> {
    let scale = 1.0 / (dst as f64 / src as f64);
    let last = src.saturating_sub(1);
    (0..dst)
        .map(|d| {
            let position = scale * (d as f64 + 0.5) - 0.5;
            let first = position.floor();
            if first < 0.0 || src < 2 {
                (0, 0, 256, 0)
            } else if first as usize >= last {
                (last, last, 256, 0)
            } else {
                let next = ((position - first) * 256.0).round_ties_even() as u32;
                (first as usize, first as usize + 1, 256 - next, next)
            }
        })
        .collect()
}

/// OpenCV's bit-exact 8-bit bilinear resize of `image` to `dst_w` x `dst_h` into `out`: each
/// source row is resampled horizontally to 8 fractional bits, two such rows are blended
/// vertically to 16, and the result is rounded half up.
fn resize_linear(image: Luma<'_>, dst_w: usize, dst_h: usize, out: &mut Vec<u8>) {
    let (src_w, src_h) = (image.width, image.height);
    out.clear();
    if dst_w == src_w && dst_h == src_h {
        out.extend_from_slice(&image.pixels[..src_w * src_h]);
        return;
    }
    out.resize(dst_w * dst_h, 0);
    let xs = linear_taps(src_w, dst_w);
    let ys = linear_taps(src_h, dst_h);
    let horizontal = |sy: usize, row: &mut [u32]| {
        let line = &image.pixels[sy * src_w..(sy + 1) * src_w];
        for (out, &(a, b, wa, wb)) in row.iter_mut().zip(&xs) {
            *out = u32::from(line[a]) * wa + u32::from(line[b]) * wb;
        }
    };
    // The horizontally resampled source rows in use: consecutive output rows mostly share them.
    let (mut upper, mut lower) = (
        (usize::MAX, vec![0u32; dst_w]),
        (usize::MAX, vec![0u32; dst_w]),
    );
    for (dy, &(sy0, sy1, w0, w1)) in ys.iter().enumerate() {
        if upper.0 != sy0 {
            if lower.0 == sy0 {
                std::mem::swap(&mut upper, &mut lower);
            } else {
                horizontal(sy0, &mut upper.1);
                upper.0 = sy0;
            }
        }
        if lower.0 != sy1 {
            if upper.0 == sy1 {
                lower.1.copy_from_slice(&upper.1);
            } else {
                horizontal(sy1, &mut lower.1);
            }
            lower.0 = sy1;
        }
        let line = &mut out[dy * dst_w..(dy + 1) * dst_w];
        for ((px, &h0), &h1) in line.iter_mut().zip(&upper.1).zip(&lower.1) {
            *px = ((h0 * w0 + h1 * w1 + (1 << 15)) >> 16).min(255) as u8;
        }
    }
}

/// The sum and squared-sum integral images of a `width` x `height` image, `(width + 1)` wide
/// with a zero first row and column, in wrapping 32-bit arithmetic (as OpenCV's `CV_32S` ones).
fn integrals(pixels: &[u8], width: usize, height: usize, sum: &mut Vec<u32>, sqsum: &mut Vec<u32>) {
    let stride = width + 1;
    let len = stride * (height + 1);
    sum.clear();
    sum.resize(len, 0);
    sqsum.clear();
    sqsum.resize(len, 0);
    for y in 0..height {
        let line = &pixels[y * width..(y + 1) * width];
        let (above, here) = (y * stride, (y + 1) * stride);
        let (mut row_sum, mut row_sq) = (0u32, 0u32);
        for (x, &p) in line.iter().enumerate() {
            let p = u32::from(p);
            row_sum = row_sum.wrapping_add(p);
            row_sq = row_sq.wrapping_add(p * p);
            sum[here + x + 1] = sum[above + x + 1].wrapping_add(row_sum);
            sqsum[here + x + 1] = sqsum[above + x + 1].wrapping_add(row_sq);
        }
    }
}

// --- grouping ------------------------------------------------------------------------------

/// OpenCV's `SimilarRects`: every edge within `eps × (min width + min height) / 2`.
fn similar(a: &Rect, b: &Rect, eps: f64) -> bool {
    let delta = eps * (a.width.min(b.width) + a.height.min(b.height)) as f64 * 0.5;
    let close = |p: i64, q: i64| ((p - q).abs() as f64) <= delta;
    close(a.x, b.x)
        && close(a.y, b.y)
        && close(a.x + a.width, b.x + b.width)
        && close(a.y + a.height, b.y + b.height)
}

/// OpenCV's `partition` with [`similar`]: the connected classes of boxes, numbered in the
/// order of their first box. Returns each box's class and the class count.
fn partition(rects: &[Rect], eps: f64) -> (Vec<usize>, usize) {
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..rects.len()).collect();
    for i in 0..rects.len() {
        for j in 0..i {
            if similar(&rects[i], &rects[j], eps) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut class_of_root = vec![usize::MAX; rects.len()];
    let mut classes = 0;
    let labels = (0..rects.len())
        .map(|i| {
            let r = root(&mut parent, i);
            if class_of_root[r] == usize::MAX {
                class_of_root[r] = classes;
                classes += 1;
            }
            class_of_root[r]
        })
        .collect();
    (labels, classes)
}

/// OpenCV's `groupRectangles(rects, weights, groupThreshold, eps)`: the averaged classes with
/// more than `threshold` members that are not inside a stronger class, with their sizes.
fn group_rectangles(rects: &[Rect], threshold: u32, eps: f64) -> Vec<(Rect, u32)> {
    if threshold == 0 || rects.is_empty() {
        return rects.iter().map(|r| (*r, 1)).collect();
    }
    let (labels, classes) = partition(rects, eps);
    let mut totals = vec![(0i64, 0i64, 0i64, 0i64, 0u32); classes];
    for (r, &class) in rects.iter().zip(&labels) {
        let t = &mut totals[class];
        t.0 += r.x;
        t.1 += r.y;
        t.2 += r.width;
        t.3 += r.height;
        t.4 += 1;
    }
    let averaged: Vec<(Rect, u32)> = totals
        .iter()
        .map(|&(x, y, w, h, n)| {
            let s = 1.0f32 / n as f32;
            let mean = |v: i64| round_f32(v as f32 * s);
            (
                Rect {
                    x: mean(x),
                    y: mean(y),
                    width: mean(w),
                    height: mean(h),
                },
                n,
            )
        })
        .collect();
    averaged
        .iter()
        .enumerate()
        .filter(|&(i, &(r1, n1))| {
            n1 > threshold
                && !averaged.iter().enumerate().any(|(j, &(r2, n2))| {
                    let dx = round_f64(r2.width as f64 * eps);
                    let dy = round_f64(r2.height as f64 * eps);
                    j != i
                        && n2 > threshold
                        && r1.x >= r2.x - dx
                        && r1.y >= r2.y - dy
                        && r1.x + r1.width <= r2.x + r2.width + dx
                        && r1.y + r1.height <= r2.y + r2.height + dy
                        && (n2 > n1.max(3) || n1 < 3)
                })
        })
        .map(|(_, &group)| group)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 6x6 cascade over two features: "left half brighter than the right" and "centre
    /// brighter than the whole" (3 rectangles); stage 0 is one stump, stage 1 a 2-node tree and
    /// a stump, so both evaluators and the stage logic are exercised.
    fn synthetic_xml(tree: bool) -> String {
        let stage1 = if tree {
            r#"<_><internalNodes>0 1 0 0.05 0 -1 1 -0.02</internalNodes>
                  <leafValues>-1.0 0.5 1.0</leafValues></_>
               <_><internalNodes>0 -1 1 0.01</internalNodes>
                  <leafValues>-0.25 0.75</leafValues></_>"#
        } else {
            r#"<_><internalNodes>0 -1 1 0.01</internalNodes>
                  <leafValues>-0.25 0.75</leafValues></_>"#
        };
        format!(
            r#"<?xml version="1.0"?>
<opencv_storage>
<cascade type_id="opencv-cascade-classifier"><stageType>BOOST</stageType>
  <featureType>HAAR</featureType>
  <height>6</height>
  <width>6</width>
  <featureParams><maxCatCount>0</maxCatCount></featureParams>
  <stageNum>2</stageNum>
  <stages>
    <_>
      <maxWeakCount>1</maxWeakCount>
      <stageThreshold>-0.5</stageThreshold>
      <weakClassifiers>
        <_><internalNodes>0 -1 0 0.1</internalNodes>
           <leafValues>-1.0 1.0</leafValues></_>
      </weakClassifiers>
    </_>
    <_>
      <maxWeakCount>2</maxWeakCount>
      <stageThreshold>-0.3</stageThreshold>
      <weakClassifiers>{stage1}</weakClassifiers>
    </_>
  </stages>
  <features>
    <_><rects><_>0 0 3 6 1.</_><_>3 0 3 6 -1.</_></rects><tilted>0</tilted></_>
    <_><rects><_>0 0 6 6 -1.</_><_>2 2 2 2 9.</_><_>1 1 1 1 0.5</_></rects></_>
  </features>
</cascade>
</opencv_storage>
"#
        )
    }

    /// Deterministic pseudo-random bytes (xorshift).
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 32) as u8
            })
            .collect()
    }

    /// The definition, straight from the pixels: no integral images.
    fn naive_run_at(c: &Cascade, pixels: &[u8], width: usize, x0: usize, y0: usize) -> i64 {
        let area_sum = |x: usize, y: usize, w: usize, h: usize, square: bool| -> i64 {
            let mut total = 0i64;
            for yy in y0 + y..y0 + y + h {
                for xx in x0 + x..x0 + x + w {
                    let p = i64::from(pixels[yy * width + xx]);
                    total += if square { p * p } else { p };
                }
            }
            total
        };
        let (ww, wh) = (c.window_width, c.window_height);
        let area = ((ww - 2) * (wh - 2)) as f64;
        let s = area_sum(1, 1, ww - 2, wh - 2, false) as f64;
        let sq = area_sum(1, 1, ww - 2, wh - 2, true) as f64;
        let spread = area * sq - s * s;
        if spread <= 0.0 {
            return -1;
        }
        let nf = (1.0 / spread.sqrt()) as f32;
        if area * f64::from(nf) >= FLAT_WINDOW {
            return -1;
        }
        let value = |f: usize| {
            let f = &c.features[f];
            let r = |i: usize| {
                let r = f.rects[i];
                area_sum(r.x, r.y, r.width, r.height, false) as f32
            };
            let mut v = f.rects[0].weight * r(0) + f.rects[1].weight * r(1);
            if f.rects[2].weight != 0.0 {
                v += f.rects[2].weight * r(2);
            }
            v * nf
        };
        for (index, stage) in c.stages.iter().enumerate() {
            let mut total = 0.0;
            for w in stage.first_weak..stage.first_weak + stage.weak_count {
                total += match &c.weak {
                    Weak::Stumps(stumps) => {
                        let st = stumps[w];
                        f64::from(if value(st.feature) < st.threshold {
                            st.left
                        } else {
                            st.right
                        })
                    }
                    Weak::Trees {
                        trees,
                        nodes,
                        leaves,
                    } => {
                        let t = trees[w];
                        let mut i = 0i32;
                        loop {
                            let n = nodes[t.first_node + i as usize];
                            i = if value(n.feature) < n.threshold {
                                n.left
                            } else {
                                n.right
                            };
                            if i <= 0 {
                                break f64::from(leaves[t.first_leaf + (-i) as usize]);
                            }
                        }
                    }
                };
            }
            if total < f64::from(stage.threshold) {
                return -(index as i64);
            }
        }
        1
    }

    #[test]
    fn the_synthetic_cascade_parses_as_written() {
        let d = FaceDetector::from_xml(&synthetic_xml(false)).unwrap();
        let c = &d.cascade;
        assert_eq!(d.window(), (6, 6));
        assert_eq!(c.features.len(), 2);
        assert_eq!(c.features[1].rects[2].weight, 0.5);
        assert_eq!(c.features[0].rects[2].weight, 0.0);
        assert_eq!(c.stages[1].threshold, -0.3f32 - 1e-5);
        let Weak::Stumps(stumps) = &c.weak else {
            panic!("stumps expected")
        };
        assert_eq!(
            stumps[0],
            Stump {
                feature: 0,
                threshold: 0.1,
                left: -1.0,
                right: 1.0
            }
        );
        let d = FaceDetector::from_xml(&synthetic_xml(true)).unwrap();
        let Weak::Trees { nodes, leaves, .. } = &d.cascade.weak else {
            panic!("trees expected")
        };
        assert_eq!(nodes.len(), 4);
        assert_eq!(leaves.len(), 7);
    }

    #[test]
    fn the_evaluator_matches_the_definition_at_every_window() {
        for tree in [false, true] {
            let c = FaceDetector::from_xml(&synthetic_xml(tree))
                .unwrap()
                .cascade;
            let (w, h) = (37, 29);
            let mut pixels = noise(w * h, 7);
            // Some flat and some structured areas too.
            for y in 0..h {
                for x in 0..w {
                    if x < 8 {
                        pixels[y * w + x] = 90;
                    } else if y > 20 {
                        pixels[y * w + x] = if x % 6 < 3 { 240 } else { 10 };
                    }
                }
            }
            let (mut sum, mut sqsum) = (Vec::new(), Vec::new());
            integrals(&pixels, w, h, &mut sum, &mut sqsum);
            let stride = w + 1;
            let level = Level::new(&c, &sum, &sqsum, stride);
            let mut outcomes = std::collections::BTreeMap::new();
            for y in 0..=h - 6 {
                for x in 0..=w - 6 {
                    let got = c.run_at(&level, y * stride + x);
                    assert_eq!(
                        got,
                        naive_run_at(&c, &pixels, w, x, y),
                        "({x}, {y}) tree={tree}"
                    );
                    *outcomes.entry(got).or_insert(0) += 1;
                }
            }
            // Every outcome occurs: flat or rejected by stage 1 (-1), by stage 0, accepted.
            assert_eq!(
                outcomes.keys().copied().collect::<Vec<_>>(),
                [-1, 0, 1],
                "{outcomes:?}"
            );
        }
    }

    #[test]
    fn integrals_sum_rectangles_exactly() {
        let (w, h) = (13, 9);
        let pixels = noise(w * h, 3);
        let (mut sum, mut sqsum) = (Vec::new(), Vec::new());
        integrals(&pixels, w, h, &mut sum, &mut sqsum);
        let o = rect_offsets(2, 3, 5, 4, w + 1);
        let at = (w + 1) + 1; // window at (1, 1)
        let (mut s, mut q) = (0u32, 0u32);
        for y in 4..8 {
            for x in 3..8 {
                let p = u32::from(pixels[y * w + x]);
                s += p;
                q += p * p;
            }
        }
        assert_eq!(rect_sum(&sum, at, &o), s);
        assert_eq!(rect_sum(&sqsum, at, &o), q);
    }

    #[test]
    fn the_resize_keeps_flat_images_flat_and_copies_at_scale_one() {
        let flat = vec![77u8; 40 * 30];
        let mut out = Vec::new();
        resize_linear(Luma::new(40, 30, &flat).unwrap(), 17, 11, &mut out);
        assert!(out.iter().all(|&p| p == 77), "{out:?}");
        let ramp: Vec<u8> = (0..40 * 30).map(|i| (i % 40 * 6) as u8).collect();
        resize_linear(Luma::new(40, 30, &ramp).unwrap(), 40, 30, &mut out);
        assert_eq!(out, ramp);
        // Halving a ramp 0, 6, 12, ... averages neighbour pairs: 3, 15, 27, ...
        resize_linear(Luma::new(40, 30, &ramp).unwrap(), 20, 15, &mut out);
        assert_eq!(&out[..4], &[3, 15, 27, 39]);
        assert!(out.chunks(20).all(|row| row == &out[..20]));
    }

    fn rect(x: i64, y: i64, side: i64) -> Rect {
        Rect {
            x,
            y,
            width: side,
            height: side,
        }
    }

    #[test]
    fn grouping_averages_classes_and_drops_weak_and_nested_ones() {
        let mut rects = Vec::new();
        // A face: 7 boxes close together, averaging to (101, 50, 60).
        for d in [-3, -2, -1, 0, 1, 2, 3] {
            rects.push(rect(101 + d, 50 - d, 60));
        }
        // A lone stray box far away, and 6 small boxes nested inside the face.
        rects.push(rect(400, 300, 40));
        for d in 0..6 {
            rects.push(rect(120 + d, 70, 24));
        }
        // A second face of 6 boxes.
        for d in 0..6 {
            rects.push(rect(300 + d, 100, 80));
        }
        let groups = group_rectangles(&rects, 5, GROUP_EPS);
        assert_eq!(
            groups,
            vec![(rect(101, 50, 60), 7), (rect(302, 100, 80), 6)]
        );
        // Threshold 0: the raw boxes, each counted once.
        let raw = group_rectangles(&rects, 0, GROUP_EPS);
        assert_eq!(raw.len(), rects.len());
        assert!(raw.iter().all(|&(_, n)| n == 1));
        // The nested class survives when it is the stronger one.
        let mut nested: Vec<Rect> = (0..12).map(|d| rect(120 + d % 3, 70, 24)).collect();
        nested.extend((0..4).map(|d| rect(100 + d, 50, 60)));
        let groups = group_rectangles(&nested, 3, GROUP_EPS);
        assert_eq!(
            groups,
            vec![(rect(121, 70, 24), 12), (rect(102, 50, 60), 4)]
        );
    }

    #[test]
    fn similarity_is_transitive_through_partition() {
        // a ~ b and b ~ c but not a ~ c: one class.
        let rects = [rect(0, 0, 50), rect(8, 0, 50), rect(16, 0, 50)];
        assert!(similar(&rects[0], &rects[1], GROUP_EPS));
        assert!(!similar(&rects[0], &rects[2], GROUP_EPS));
        assert_eq!(partition(&rects, GROUP_EPS), (vec![0, 0, 0], 1));
    }

    #[test]
    fn odd_images_and_parameters_never_panic() {
        let d = FaceDetector::from_xml(&synthetic_xml(true)).unwrap();
        let params = DetectParams {
            min_size: (0, 0),
            min_neighbours: 0,
            ..DetectParams::default()
        };
        let pixels = noise(64 * 64, 11);
        // (width, height, pixels given): empty, smaller than the window, one row or column, and
        // inconsistent ones with fewer pixels than width x height (Luma's fields are public).
        for (width, height, given) in [
            (0, 0, 0),
            (5, 0, 0),
            (1, 1, 1),
            (5, 5, 25),
            (6, 6, 36),
            (23, 23, 529),
            (64, 1, 64),
            (1, 64, 64),
            (64, 64, 100),
            (usize::MAX, 2, 100),
        ] {
            let image = Luma {
                width,
                height,
                pixels: &pixels[..given],
            };
            let found = d.detect(image, &params);
            assert!(found.len() <= given, "{width}x{height}: {found:?}");
        }
        let square = Luma::new(64, 64, &pixels).unwrap();
        let odd = |change: &dyn Fn(&mut DetectParams)| {
            let mut p = params;
            change(&mut p);
            d.detect(square, &p)
        };
        for bad_factor in [1.0, 0.5, f64::NAN, f64::INFINITY, -1.0] {
            assert!(
                odd(&|p| p.scale_factor = bad_factor).is_empty(),
                "{bad_factor}"
            );
        }
        odd(&|p| p.scale_factor = 1.000_000_1); // capped at 1024 levels
        odd(&|p| p.max_side = Some(0));
        odd(&|p| p.max_side = Some(1));
        odd(&|p| p.max_size = Some((0, 10)));
        odd(&|p| p.max_size = Some((3, 3)));
        odd(&|p| p.min_size = (u32::MAX, u32::MAX));
        odd(&|p| p.min_neighbours = u32::MAX);
    }

    fn parse_error(xml: &str) -> FaceError {
        FaceDetector::from_xml(xml).expect_err("should not load")
    }

    #[test]
    fn unsupported_and_malformed_cascades_are_told_apart() {
        let good = synthetic_xml(false);
        let lbp = good.replace("<featureType>HAAR", "<featureType>LBP");
        assert!(
            matches!(parse_error(&lbp), FaceError::Unsupported { reason, .. } if reason.contains("LBP"))
        );
        let tilted = good.replace("<tilted>0</tilted>", "<tilted>1</tilted>");
        assert!(
            matches!(parse_error(&tilted), FaceError::Unsupported { reason, .. } if reason.contains("tilted"))
        );
        let old = good.replace("opencv-cascade-classifier", "opencv-haar-classifier");
        assert!(matches!(parse_error(&old), FaceError::Unsupported { .. }));
        for broken in [
            "not xml at all".to_string(),
            good.replace("<stageThreshold>-0.5", "<stageThreshold>x"),
            good.replace("0 -1 0 0.1", "0 -1 7 0.1"),
            good.replace("0 -1 0 0.1", "0 -5 0 0.1"),
            good.replace("0 -1 0 0.1", "0 -1 0"),
            good.replace("<leafValues>-1.0 1.0", "<leafValues>-1.0"),
            good.replace("2 2 2 2 9.", "2 2 9 2 9."),
            good.replace("<width>6", "<width>2"),
            good.replace("<features>", "<nothing>")
                .replace("</features>", "</nothing>"),
        ] {
            let e = parse_error(&broken);
            assert!(matches!(e, FaceError::Malformed { .. }), "{broken}: {e}");
        }
        // A tree that loops back is refused rather than evaluated forever.
        let looping =
            synthetic_xml(true).replace("0 1 0 0.05 0 -1 1 -0.02", "0 1 0 0.05 1 -1 1 -0.02");
        assert!(matches!(parse_error(&looping), FaceError::Malformed { .. }));
    }

    #[test]
    fn a_missing_cascade_names_the_path_and_the_fix() {
        let e = FaceDetector::load("/nonexistent/cascade.xml").unwrap_err();
        assert!(matches!(e, FaceError::CascadeMissing { .. }));
        let message = e.to_string();
        assert!(message.contains("/nonexistent/cascade.xml"), "{message}");
        assert!(
            message.contains("opencv-data (scripts/setup.sh does)"),
            "{message}"
        );
    }

    #[test]
    fn face_boxes_serialise_in_camel_case() {
        let face = FaceBox {
            left: 1,
            top: 2,
            width: 3,
            height: 4,
            neighbours: 5,
        };
        assert_eq!(
            serde_json::to_string(&face).unwrap(),
            r#"{"left":1,"top":2,"width":3,"height":4,"neighbours":5}"#
        );
        let params: DetectParams = serde_json::from_str(r#"{"minNeighbours": 3}"#).unwrap();
        assert_eq!(params.min_neighbours, 3);
        assert_eq!(params.scale_factor, 1.1);
    }
}
