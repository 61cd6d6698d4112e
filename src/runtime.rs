//! The local runtime: every service embedded in one process, on the filesystem object store,
//! the SQLite state store and the embedded bus, all under one data directory.

use std::sync::Arc;

use mediasift_adbreak::AdBreaks;
use mediasift_audio::Audio;
use mediasift_document::Document;
use mediasift_graph::Graph;
use mediasift_graph::ports::GraphError;
use mediasift_graph::sqlite::SqliteGraph;
use mediasift_image::Image;
use mediasift_ingest::Ingest;
use mediasift_kit::local::bus::EventQuery;
use mediasift_kit::local::bus::{BusError, LocalBus};
use mediasift_kit::local::objects::LocalObjectStore;
use mediasift_kit::local::state::SqliteStateStore;
use mediasift_kit::ports::{StateError, StoreError, SystemClock};
use mediasift_kit::{Handler, Ports};
use mediasift_scene::Scenes;
use mediasift_schemas::RawEvent;
use mediasift_video::Video;

use crate::config::LocalConfig;
use crate::report::{self, AssetReport, ReportError};

/// The handlers this build runs, configured from `config`; the graph service writes to
/// `graph`.
pub fn handlers(config: &LocalConfig, graph: Arc<SqliteGraph>) -> Vec<Arc<dyn Handler>> {
    vec![
        Arc::new(Ingest::local(config.ingest_config())),
        Arc::new(Video::local(config.video_config())),
        Arc::new(Audio::local(config.audio_config())),
        Arc::new(Image::local(config.image_config())),
        Arc::new(Document::local(config.document_config())),
        Arc::new(Scenes::local(config.scene_config())),
        Arc::new(AdBreaks::local(config.adbreak_config())),
        Arc::new(Graph::new(
            config.graph_config(),
            Some(graph.clone()),
            Some(graph),
        )),
    ]
}

pub struct LocalRuntime {
    pub config: LocalConfig,
    pub objects: Arc<LocalObjectStore>,
    pub state: Arc<SqliteStateStore>,
    pub bus: LocalBus,
    /// The knowledge graph and search index (read by the query commands).
    pub graph: Arc<SqliteGraph>,
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
        let handlers = handlers(&config, graph);
        Self::open_with(config, handlers).await
    }

    /// Opens the runtime with the given handlers (tests run toy services this way).
    pub async fn open_with(
        config: LocalConfig,
        handlers: Vec<Arc<dyn Handler>>,
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
        let ports = Ports {
            objects: objects.clone(),
            state: state.clone(),
            clock: Arc::new(SystemClock),
            derived_bucket: config.derived_bucket.clone(),
            ingest_bucket: config.ingest_bucket.clone(),
        };
        let bus = LocalBus::open(&dir.join("bus.db"), config.bus.to_bus_config(), ports)?;
        for handler in handlers {
            bus.register(handler)?;
        }
        objects.set_notifications(&config.ingest_bucket, Arc::new(bus.clone()));
        let graph = Arc::new(SqliteGraph::open(&config.graph_path())?);
        Ok(Self {
            config,
            objects,
            state,
            bus,
            graph,
        })
    }
}

impl LocalRuntime {
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
