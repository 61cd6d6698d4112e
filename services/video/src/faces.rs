//! Names for faces of the face collection, given at any time after analysis (late binding).
//!
//! The face matcher indexes faces it does not recognise into the collection and records them
//! by face id, with no name. Someone names a face id later (`mediasift faces name`, or an
//! item in the `video-face-names` table on AWS); every reader of a video's timelines then
//! sees the name ([`read_timelines`]), and no video is analysed again.

use mediasift_kit::ports::{Condition, ObjectStore, StateError, StateStore, StoreError};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::timeline::Timelines;

/// Face id → `{ "name": … }`.
pub const FACE_NAMES_TABLE: &str = "video-face-names";

/// The names given to faces of the collection.
pub struct FaceNames<'a> {
    state: &'a dyn StateStore,
}

impl<'a> FaceNames<'a> {
    pub fn new(state: &'a dyn StateStore) -> Self {
        Self { state }
    }

    /// The name given to `face_id`, if any.
    pub async fn name(&self, face_id: &str) -> Result<Option<String>, StateError> {
        let item = self.state.get(FACE_NAMES_TABLE, face_id).await?;
        Ok(item.and_then(|item| {
            item.value
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }))
    }

    /// Names `face_id` (replacing any earlier name).
    pub async fn set(&self, face_id: &str, name: &str) -> Result<(), StateError> {
        let mut value = Map::new();
        value.insert("name".into(), Value::String(name.into()));
        self.state
            .put(FACE_NAMES_TABLE, face_id, value, Condition::Always, None)
            .await?;
        Ok(())
    }

    /// Gives every face-match track with an id the name it has now (unnamed faces keep the
    /// name they had).
    pub async fn apply(&self, timelines: &mut Timelines) -> Result<(), StateError> {
        for timeline in &mut timelines.timelines {
            if timeline.feature != crate::vision::Feature::FaceMatch.name() {
                continue;
            }
            for track in &mut timeline.tracks {
                if let Some(id) = &track.id
                    && let Some(name) = self.name(id).await?
                {
                    track.name = name;
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the timelines: {0}")]
    Store(#[from] StoreError),
    #[error("cannot read the face names: {0}")]
    State(#[from] StateError),
    #[error("the timelines of {asset_id} are not valid JSON: {source}")]
    Corrupt {
        asset_id: Uuid,
        source: serde_json::Error,
    },
}

/// The timelines the video service wrote for `asset_id`, with today's face names.
pub async fn read_timelines(
    objects: &dyn ObjectStore,
    state: &dyn StateStore,
    derived_bucket: &str,
    asset_id: Uuid,
) -> Result<Timelines, ReadError> {
    let bytes = objects
        .get_bytes(
            derived_bucket,
            &crate::handler::result_key(asset_id, "timelines.json"),
        )
        .await?;
    let mut timelines: Timelines =
        serde_json::from_slice(&bytes).map_err(|source| ReadError::Corrupt { asset_id, source })?;
    FaceNames::new(state).apply(&mut timelines).await?;
    Ok(timelines)
}
