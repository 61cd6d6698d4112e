//! `scenes.json`, the scene service's main result: the scenes, and every shot boundary with
//! what was decided there and why. The adbreak service reads it (by shape, not by import).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::describe::SceneDescription;
use mediasift_kit::embed::Category;

/// `<assetId>/scene/scenes.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SceneReport {
    pub asset_id: Uuid,
    pub duration_seconds: f64,
    /// Frames per second of the shots' timing.
    pub frame_rate: f64,
    /// The same rate as a fraction (`30000/1001`), for timecodes.
    pub frame_rate_rational: String,
    pub settings: GroupingSettings,
    pub scenes: Vec<Scene>,
    /// Every shot boundary (cut) in time order, whether or not a scene starts there.
    pub boundaries: Vec<Boundary>,
}

/// How shots were grouped.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupingSettings {
    /// Two shots further apart than this (seconds, end of one to start of the other) are
    /// never linked into one scene by their likeness.
    pub max_link_seconds: f64,
    /// Shots whose visual distance is at most this look alike (0–1).
    pub similarity_threshold: f64,
    /// Speech cues closer than this (seconds) are one stretch of dialogue.
    pub dialogue_join_seconds: f64,
    /// Scenes shorter than this (seconds) merge into a neighbour.
    pub min_scene_seconds: f64,
}

impl Default for GroupingSettings {
    fn default() -> Self {
        Self {
            max_link_seconds: 180.0,
            similarity_threshold: 0.35,
            dialogue_join_seconds: 0.4,
            min_scene_seconds: 2.0,
        }
    }
}

/// One scene: consecutive shots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scene {
    /// From 1.
    pub index: u32,
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub start_frame: u64,
    /// The last frame (inclusive).
    pub end_frame: u64,
    pub start_timecode: String,
    pub end_timecode: String,
    /// The shots' indices (from 1, as in the video service's `shots.json`).
    pub shots: Vec<u32>,
    /// What ends the scene.
    pub ends_with: SceneEnd,
    /// `s3://` URIs of frame captures that show the scene (at most a few, spread over it).
    pub thumbnails: Vec<String>,
    /// The words spoken in the scene.
    pub transcript: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<mediasift_kit::language::Sentiment>,
    /// Labels the vision backend saw in the scene's frames, most frequent first.
    pub labels: Vec<String>,
    /// Lines of on-screen text read in the scene's frames.
    pub text: Vec<String>,
    /// IAB Content Taxonomy categories, best first (zero-shot; empty when skipped).
    pub taxonomy: Vec<Category>,
    /// The generative description (Bedrock), when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<SceneDescription>,
}

/// What ends a scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SceneEnd {
    /// A cut to shots that do not look like this scene's.
    Cut,
    /// A fade out to black.
    FadeToBlack,
    /// The end of the video.
    End,
}

/// A shot boundary: the first frame of `shot_after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Boundary {
    pub seconds: f64,
    pub frame: u64,
    pub timecode: String,
    pub shot_before: u32,
    pub shot_after: u32,
    /// True when a scene starts here.
    pub scene_boundary: bool,
    /// How different the shots on either side look, 0 (alike) to 1 (nothing in common; also
    /// when either shot has no picture).
    pub visual_distance: f64,
    /// A black cue touches the boundary.
    pub black: bool,
    /// A fade out ends, or a fade in starts, at the boundary.
    pub fade: bool,
    /// Speech runs across the boundary (within the dialogue join).
    pub in_dialogue: bool,
    /// Why a scene does or does not start here.
    pub decision: Decision,
}

/// Why a scene does or does not start at a boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    /// A scene starts: nothing on one side looks like the other within the link window.
    VisualChange,
    /// A scene starts: the previous one faded out to black.
    FadeToBlack,
    /// No scene: shots on both sides look alike (within the link window).
    Similar,
    /// No scene: speech runs across it.
    Dialogue,
    /// No scene: the picture goes to black, which ends the scene before it (the scene
    /// starts after the black).
    IntoBlack,
    /// No scene: one side would be shorter than the minimum scene.
    ShortScene,
}
