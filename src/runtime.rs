//! The local runtime: every service embedded in one process, on the filesystem object store,
//! the SQLite state store and the embedded bus, all under one data directory.

use std::collections::HashSet;
use std::sync::Arc;

use mediasift_adbreak::AdBreaks;
use mediasift_audio::Audio;
use mediasift_document::Document;
use mediasift_graph::Graph;
use mediasift_graph::ports::{GraphError, GraphStore, SearchIndex};
use mediasift_graph::sqlite::SqliteGraph;
use mediasift_image::Image;
use mediasift_ingest::Ingest;
use mediasift_ingest::proxy::ffmpeg::FfmpegTranscoder;
use mediasift_kit::faults::{FaultyObjects, FaultyPublisher, FaultyState, Injector};
use mediasift_kit::local::bus::EventQuery;
use mediasift_kit::local::bus::{BusError, LocalBus};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{
    EventPublisher, ObjectStore, StateError, StateStore, StoreError, SystemClock,
};
use mediasift_kit::retry::{RetryPolicy, RetryingObjects, RetryingPublisher, RetryingState};
use mediasift_kit::{Handler, Ports};
use mediasift_scene::Scenes;
use mediasift_schemas::{ObjectCreated, RawEvent, sources};
use mediasift_video::Video;

use crate::config::LocalConfig;
use crate::faults::FaultyGraph;
use crate::report::{self, AssetReport, ReportError};

/// The handlers this build runs, configured from `config`; the graph service writes to
/// `graph` (through `injector`'s faults, when it injects any).
pub fn handlers(
    config: &LocalConfig,
    graph: Arc<SqliteGraph>,
    injector: &Arc<Injector>,
) -> Vec<Arc<dyn Handler>> {
    let (store, search): (Arc<dyn GraphStore>, Arc<dyn SearchIndex>) =
        if injector.plan().is_active() {
            let faulty = Arc::new(FaultyGraph::new(graph, injector.clone()));
            (faulty.clone(), faulty)
        } else {
            (graph.clone(), graph)
        };
    vec![
        Arc::new(Ingest::new(
            config.ingest_config(),
            Arc::new(FfmpegTranscoder::new(config.ffmpeg_config())),
        )),
        Arc::new(Video::local(config.video_config())),
        Arc::new(Audio::local(config.audio_config())),
        Arc::new(Image::local(config.image_config())),
        Arc::new(Document::local(config.document_config())),
        Arc::new(Scenes::local(config.scene_config())),
        Arc::new(AdBreaks::local(config.adbreak_config())),
        Arc::new(Graph::new(config.graph_config(), Some(store), Some(search))),
    ]
}

pub struct LocalRuntime {
    pub config: LocalConfig,
    pub objects: Arc<LocalObjectStore>,
    pub state: Arc<SqliteStateStore>,
    pub bus: LocalBus,
    /// The knowledge graph and search index (read by the query commands).
    pub graph: Arc<SqliteGraph>,
    /// The faults `[faults]` injects into the services' ports, and their counts.
    pub faults: Arc<Injector>,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot create the data directory {path}: {source} (choose another with --data-dir)")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("object store: {0}")]
    Objects(#[from] StoreError),
    #[error("state store: {0}")]
    State(#[from] StateError),
    #[error("event bus: {0}")]
    Bus(#[from] BusError),
    #[error("knowledge graph: {0}")]
    Graph(#[from] GraphError),
    #[error("report: {0}")]
    Report(#[from] ReportError),
}

impl LocalRuntime {
    /// Opens the runtime with this build's handlers.
    pub async fn open(config: LocalConfig) -> Result<Self, RuntimeError> {
        create_data_dir(&config)?;
        let graph = Arc::new(SqliteGraph::open(&config.graph_path())?);
        let faults = Arc::new(Injector::new(config.faults.clone()));
        let handlers = handlers(&config, graph, &faults);
        Self::open_parts(config, handlers, faults).await
    }

    /// Opens the runtime with the given handlers (tests run toy services this way).
    pub async fn open_with(
        config: LocalConfig,
        handlers: Vec<Arc<dyn Handler>>,
    ) -> Result<Self, RuntimeError> {
        let faults = Arc::new(Injector::new(config.faults.clone()));
        Self::open_parts(config, handlers, faults).await
    }

    /// The services see the stores through `faults` (when it injects any) and through retries,
    /// as they see AWS's through the SDK's retries; S3's notifications reach the bus the same
    /// way.
    async fn open_parts(
        config: LocalConfig,
        handlers: Vec<Arc<dyn Handler>>,
        faults: Arc<Injector>,
    ) -> Result<Self, RuntimeError> {
        create_data_dir(&config)?;
        let dir = &config.data_dir;
        let objects = Arc::new(LocalObjectStore::open(dir.join("objects"))?);
        objects.create_bucket(&config.ingest_bucket).await?;
        objects.create_bucket(&config.derived_bucket).await?;
        std::fs::create_dir_all(dir.join("scratch")).map_err(|source| RuntimeError::DataDir {
            path: dir.join("scratch").display().to_string(),
            source,
        })?;
        let state = Arc::new(SqliteStateStore::open(&dir.join("state.db"))?);
        let (port_objects, port_state): (Arc<dyn ObjectStore>, Arc<dyn StateStore>) =
            if faults.plan().is_active() {
                (
                    Arc::new(FaultyObjects::new(objects.clone(), faults.clone())),
                    Arc::new(FaultyState::new(state.clone(), faults.clone())),
                )
            } else {
                (objects.clone(), state.clone())
            };
        let retry = RetryPolicy::default();
        let ports = Ports {
            objects: Arc::new(RetryingObjects::new(port_objects, retry)),
            state: Arc::new(RetryingState::new(port_state, retry)),
            clock: Arc::new(SystemClock),
            derived_bucket: config.derived_bucket.clone(),
            ingest_bucket: config.ingest_bucket.clone(),
        };
        let bus = LocalBus::open(&dir.join("bus.db"), config.bus.to_bus_config(), ports)?;
        for handler in handlers {
            bus.register(handler)?;
        }
        let mut notifications: Arc<dyn EventPublisher> = Arc::new(bus.clone());
        if faults.plan().is_active() {
            notifications = Arc::new(FaultyPublisher::new(notifications, faults.clone()));
        }
        objects.set_notifications(
            &config.ingest_bucket,
            Arc::new(RetryingPublisher::new(notifications, retry)),
        );
        let graph = Arc::new(SqliteGraph::open(&config.graph_path())?);
        Ok(Self {
            config,
            objects,
            state,
            bus,
            graph,
            faults,
        })
    }
}

impl LocalRuntime {
    /// Announces the uploads a killed process stored but never announced (no `Object
    /// Created` event in the archive for that key and version): S3 never loses the
    /// notification of a stored object, and neither may the local store. Returns how many.
    pub async fn announce_missed_uploads(&self) -> Result<usize, RuntimeError> {
        let bucket = &self.config.ingest_bucket;
        let announced: HashSet<(String, Option<String>)> = self
            .events(None, 0)
            .await?
            .into_iter()
            .filter(|(_, event)| event.source == sources::S3)
            .filter_map(|(_, event)| {
                let created = serde_json::from_value::<ObjectCreated>(event.detail).ok()?;
                Some((created.object.decoded_key()?, created.object.version_id))
            })
            .collect();
        let mut missed = 0;
        for meta in self.objects.list(bucket, "").await? {
            if !announced.contains(&(meta.key.clone(), meta.version_id.clone())) {
                tracing::warn!(key = %meta.key, "announcing an upload whose announcement was lost");
                self.objects.announce(bucket, &meta.key).await?;
                missed += 1;
            }
        }
        Ok(missed)
    }

    /// The archive after `after_seq`, in order, optionally only one asset's events.
    pub async fn events(
        &self,
        asset: Option<&str>,
        after_seq: i64,
    ) -> Result<Vec<(i64, RawEvent)>, BusError> {
        read_events(&self.bus, asset, after_seq).await
    }

    /// The asset id `asset` names: an asset id, or the key (or file name) it was uploaded as,
    /// the latest upload first.
    pub async fn resolve_asset(&self, asset: &str) -> Result<Option<String>, RuntimeError> {
        if let Ok(id) = uuid::Uuid::parse_str(asset) {
            return Ok(Some(id.to_string()));
        }
        let events = self.events(None, 0).await?;
        Ok(events.iter().rev().find_map(|(_, event)| {
            let key = event.detail["source"]["key"].as_str()?;
            let names = key == asset || key.rsplit('/').next() == Some(asset);
            names
                .then(|| event.detail["assetId"].as_str().map(str::to_owned))
                .flatten()
        }))
    }

    /// The report of an asset's latest processing run; `None` when it was never ingested.
    pub async fn report(&self, asset_id: &str) -> Result<Option<AssetReport>, RuntimeError> {
        let events: Vec<RawEvent> = self
            .events(Some(asset_id), 0)
            .await?
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        Ok(report::gather(&events, self.objects.as_ref()).await?)
    }
}

/// The archive after `after_seq`, in order, optionally only one asset's events.
pub async fn read_events(
    bus: &LocalBus,
    asset: Option<&str>,
    after_seq: i64,
) -> Result<Vec<(i64, RawEvent)>, BusError> {
    const PAGE: usize = 1000;
    let mut all = Vec::new();
    let mut after = after_seq;
    loop {
        let page = bus
            .events(EventQuery {
                asset_id: asset.map(str::to_owned),
                after_seq: after,
                limit: PAGE,
            })
            .await?;
        let done = page.len() < PAGE;
        if let Some((seq, _)) = page.last() {
            after = *seq;
        }
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

fn create_data_dir(config: &LocalConfig) -> Result<(), RuntimeError> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir).map_err(|source| RuntimeError::DataDir {
        path: dir.display().to_string(),
        source,
    })
}
