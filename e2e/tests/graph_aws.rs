//! The real graph handler on the AWS path, against moto: the analyses' result documents in the
//! derived bucket (S3); every `… Ingested`, analysis completion and `Processing Failed` of two
//! video assets published on the bus, each twice and in a scrambled order, routed by the graph
//! service's own rules to its queue; the processing runs in the DynamoDB state table; the
//! search documents written back to the derived bucket (there is no search index on AWS);
//! `Asset Analysis Completed` read back from the catch-all queue. Neptune is not in moto, so
//! the graph store is the in-memory SQLite one, read afterwards.
//!
//! EventBridge gives each publication its own id, so the duplicates are new events to the
//! graph: the asset still completes once, and the graph holds each edge once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mediasift_e2e::aws_path::{AwsPath, Outcome};
use mediasift_e2e::moto::MotoServer;
use mediasift_graph::completion;
use mediasift_graph::model::{EdgeKind, Value as GraphValue, ids};
use mediasift_graph::ports::GraphStore;
use mediasift_graph::sqlite::SqliteGraph;
use mediasift_graph::{Graph, GraphConfig};
use mediasift_kit::ports::{Body, EventPublisher, PutOptions};
use mediasift_schemas::{
    AdBreak, AdBreaksDetected, AnalysisKind, AnalysisOptions, AnalysisOutcome, AnalysisPlan,
    AssetAnalysisCompleted, AssetStatus, AudioAnalysisCompleted, Envelope, EventDetail,
    EventMetadata, MediaType, OutcomeStatus, ProcessingFailed, RawEvent, ResultRef, ScenesDetected,
    SourceObject, VideoAnalysisCompleted, VideoIngested, sources,
};
use serde_json::{Value, json};
use uuid::Uuid;

const TEST_TIMEOUT: Duration = Duration::from_secs(240);
const FLOW_TIMEOUT: Duration = Duration::from_secs(120);

/// The asset whose every analysis completes, and its processing run (the id of the `Object
/// Created` event that started it).
const ASSET: Uuid = Uuid::from_u128(0x6a1f_0c2e_5b7d_4e3a_9c1b_2d4e_6f8a_0b1c);
const RUN: &str = "3f9d2c1b-7a6e-4d5c-8b4a-1e2f3a4b5c6d";
/// A key with a space and non-ASCII characters, as uploaders name files.
const KEY: &str = "news/2026/Harbour Bridge – Öffnung 1.mp4";
const MD5: &str = "7d865e959b2466918c9863afca942d0f";

/// The asset whose video analysis fails.
const FAILED_ASSET: Uuid = Uuid::from_u128(0x0b2c_4d6e_8f1a_4b3c_9d5e_7f6a_8b9c_0d1e);
const FAILED_RUN: &str = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";
const FAILED_KEY: &str = "news/2026/Météo du soir.mp4";
const FAILED_MD5: &str = "e4d909c290d0fb1ca068ffaddf22cbd0";

const FAILURE_CODE: &str = "RekognitionJobFailed";
const FAILURE_CAUSE: &str = "Amazon Rekognition could not analyse the proxy of \
                             news/2026/Météo du soir.mp4: the video codec is not supported";
const FAILURE_ACTION: &str =
    "Re-ingest the asset to rebuild its proxy, then replay its Video Ingested event.";

/// The analyses of a video, in plan order.
const PLAN: [AnalysisKind; 4] = [
    AnalysisKind::Video,
    AnalysisKind::Audio,
    AnalysisKind::Scenes,
    AnalysisKind::AdBreaks,
];

fn plan() -> AnalysisPlan {
    AnalysisPlan {
        analyses: PLAN.to_vec(),
        options: AnalysisOptions::default(),
    }
}

fn metadata(producer: &str, run: &str) -> EventMetadata {
    EventMetadata {
        correlation_id: run.into(),
        causation_id: run.into(),
        producer: format!("mediasift-{producer}"),
        producer_version: "test".into(),
    }
}

fn source(path: &AwsPath, key: &str, md5: &str, size: u64) -> SourceObject {
    SourceObject {
        bucket: path.ingest_bucket.clone(),
        key: key.into(),
        version_id: None,
        size,
        etag: Some(format!("\"{md5}\"")),
        uri: format!("s3://{}/{key}", path.ingest_bucket),
    }
}

/// Puts a JSON document into the derived bucket; its `s3://` URI.
async fn put_json(path: &AwsPath, key: String, doc: Value) -> String {
    path.ports()
        .objects
        .put(
            &path.derived_bucket,
            &key,
            Body::Bytes(Bytes::from(doc.to_string().into_bytes())),
            PutOptions::default(),
        )
        .await
        .expect("put into moto S3");
    format!("s3://{}/{key}", path.derived_bucket)
}

/// A JSON document from the derived bucket.
async fn get_json(path: &AwsPath, key: &str) -> Value {
    let bytes = path
        .ports()
        .objects
        .get_bytes(&path.derived_bucket, key)
        .await
        .unwrap_or_else(|e| panic!("{key} is in the derived bucket: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{key} is JSON: {e}"))
}

/// What the video, audio, scene and adbreak services left in the derived bucket.
struct Results {
    video: Vec<ResultRef>,
    audio: Vec<ResultRef>,
    scenes: Vec<ResultRef>,
    ad_breaks: Vec<ResultRef>,
}

async fn results(path: &AwsPath) -> Results {
    let timelines = put_json(
        path,
        format!("{ASSET}/video/timelines.json"),
        json!({
            "captureInterval": 1.0,
            "duration": 40.0,
            "timelines": [
                {"feature": "text", "tracks": [
                    {"name": "HARBOUR BRIDGE", "maxConfidence": 92.0, "seconds": 3.0,
                     "ranges": [{"start": 2.0, "end": 5.0, "maxConfidence": 92.0}]}
                ]},
                {"feature": "labels", "tracks": [
                    {"name": "Suspension Bridge", "maxConfidence": 95.0, "seconds": 10.0,
                     "ranges": [{"start": 0.0, "end": 10.0, "maxConfidence": 95.0}]},
                    // Noise: below the default minimum confidence of 70.
                    {"name": "Kayak", "maxConfidence": 50.0, "seconds": 4.0,
                     "ranges": [{"start": 12.0, "end": 16.0, "maxConfidence": 50.0}]}
                ]}
            ]
        }),
    )
    .await;
    let words: Vec<Value> = [
        ("The", 0.0, 0.2),
        ("new", 0.2, 0.45),
        ("bridge", 0.45, 0.8),
        ("opens", 0.8, 1.1),
        ("today.", 1.1, 1.5),
    ]
    .iter()
    .map(|(text, start, end)| json!({"text": text, "start": start, "end": end, "confidence": 0.98}))
    .collect();
    let transcript = put_json(
        path,
        format!("{ASSET}/audio/transcript.json"),
        json!({
            "engine": "amazon-transcribe",
            "language": "en",
            "durationSeconds": 40.0,
            "text": "The new bridge opens today.",
            "segments": [{"start": 0.0, "end": 1.5, "text": "The new bridge opens today."}],
            "words": words,
        }),
    )
    .await;
    let scenes = put_json(
        path,
        format!("{ASSET}/scene/scenes.json"),
        json!({"scenes": [{
            "index": 1, "startSeconds": 0.0, "endSeconds": 20.0,
            "startTimecode": "00:00:00:00", "endTimecode": "00:00:20:00",
            "taxonomy": [{"id": "483", "name": "Sports", "tier": 1, "score": 0.4}]
        }]}),
    )
    .await;
    let ad_breaks = put_json(
        path,
        format!("{ASSET}/adbreak/adbreaks.json"),
        json!({"breaks": [{"seconds": 20.0, "timecode": "00:00:20:00", "score": 0.8, "rank": 1}]}),
    )
    .await;
    Results {
        video: vec![ResultRef::new("timelines", timelines, "amazon-rekognition")],
        audio: vec![ResultRef::new(
            "transcript",
            transcript,
            "amazon-transcribe",
        )],
        scenes: vec![ResultRef::new("scenes", scenes, "mediasift-scene")],
        ad_breaks: vec![ResultRef::new("adbreaks", ad_breaks, "mediasift-adbreak")],
    }
}

fn raw<D: EventDetail>(source: &str, detail: D) -> RawEvent {
    Envelope::new(source, detail).to_raw().expect("encode")
}

fn ingested(path: &AwsPath, asset: Uuid, run: &str, key: &str, md5: &str) -> RawEvent {
    let mut d = VideoIngested::example();
    d.asset_id = asset;
    d.metadata = metadata("ingest", run);
    d.source = source(path, key, md5, 48_213_556);
    d.fixity.md5 = md5.into();
    d.fixity.expected = Some(md5.into());
    d.technical.duration_seconds = 40.0;
    d.technical.frame_rate = "25/1".into();
    d.technical.frames_per_second = 25.0;
    d.technical.frame_count = Some(1000);
    d.technical.start_timecode = None;
    d.plan = plan();
    let derived = |rest: &str| format!("s3://{}/{asset}/{rest}", path.derived_bucket);
    d.outputs.technical_metadata = derived("ingest/technical.json");
    d.outputs.proxy = derived("proxy/proxy.mp4");
    d.outputs.audio_proxy = Some(derived("proxy/audio.m4a"));
    d.outputs.speech_audio = Some(derived("proxy/speech.wav"));
    d.outputs.frame_captures = derived("frames/manifest.json");
    d.outputs.thumbnails = vec![derived("thumbnails/thumb-000.jpg")];
    d.outputs.renditions = Vec::new();
    raw(sources::INGEST, d)
}

fn audio_completed(asset: Uuid, run: &str, results: Vec<ResultRef>) -> RawEvent {
    let mut d = AudioAnalysisCompleted::example();
    d.asset_id = asset;
    d.metadata = metadata("audio", run);
    d.media_type = MediaType::Video;
    d.plan = plan();
    d.summary.duration_seconds = 40.0;
    d.summary.words = 5;
    d.summary.language = Some("en".into());
    d.results = results;
    d.skipped = Vec::new();
    raw(sources::AUDIO, d)
}

/// The events of the completed asset, in plan order, then its `Video Ingested`.
fn completed_asset_events(path: &AwsPath, results: &Results) -> [RawEvent; 5] {
    let mut video = VideoAnalysisCompleted::example();
    video.asset_id = ASSET;
    video.metadata = metadata("video", RUN);
    video.plan = plan();
    video.summary.duration_seconds = 40.0;
    video.summary.shots = 5;
    video.summary.frames_captured = 40;
    video.results = results.video.clone();
    video.skipped = Vec::new();

    let mut scenes = ScenesDetected::example();
    scenes.asset_id = ASSET;
    scenes.metadata = metadata("scene", RUN);
    scenes.plan = plan();
    scenes.summary.duration_seconds = 40.0;
    scenes.summary.scenes = 1;
    scenes.summary.shots = 5;
    scenes.results = results.scenes.clone();
    scenes.inputs = results.audio.clone();
    scenes.skipped = Vec::new();

    let mut ad_breaks = AdBreaksDetected::example();
    ad_breaks.asset_id = ASSET;
    ad_breaks.metadata = metadata("adbreak", RUN);
    ad_breaks.plan = plan();
    ad_breaks.breaks = vec![AdBreak {
        seconds: 20.0,
        timecode: "00:00:20:00".into(),
        score: 0.8,
        rank: 1,
    }];
    ad_breaks.results = results.ad_breaks.clone();

    [
        raw(sources::VIDEO, video),
        audio_completed(ASSET, RUN, results.audio.clone()),
        raw(sources::SCENE, scenes),
        raw(sources::ADBREAK, ad_breaks),
        ingested(path, ASSET, RUN, KEY, MD5),
    ]
}

/// The events of the asset whose video analysis fails: its `Video Ingested`, its audio
/// completion and the video service's `Processing Failed`.
fn failed_asset_events(path: &AwsPath, transcript: String) -> [RawEvent; 3] {
    let ingested = ingested(path, FAILED_ASSET, FAILED_RUN, FAILED_KEY, FAILED_MD5);
    let mut failed = ProcessingFailed::example();
    failed.asset_id = FAILED_ASSET;
    failed.metadata = metadata("video", FAILED_RUN);
    failed.service = "video".into();
    failed.analysis = Some(AnalysisKind::Video);
    failed.error_code = FAILURE_CODE.into();
    failed.cause = FAILURE_CAUSE.into();
    failed.action = FAILURE_ACTION.into();
    failed.retryable = false;
    failed.failed_event_id = ingested.id.clone();
    failed.failed_detail_type = VideoIngested::DETAIL_TYPE.into();
    failed.source = Some(source(path, FAILED_KEY, FAILED_MD5, 48_213_556));
    [
        ingested,
        audio_completed(
            FAILED_ASSET,
            FAILED_RUN,
            vec![ResultRef::new(
                "transcript",
                transcript,
                "amazon-transcribe",
            )],
        ),
        raw(sources::VIDEO, failed),
    ]
}

fn asset_of(event: &RawEvent) -> Option<Uuid> {
    event.detail["assetId"].as_str()?.parse().ok()
}

fn asset_completed(seen: &[RawEvent], asset: Uuid) -> Vec<AssetAnalysisCompleted> {
    seen.iter()
        .filter(|e| {
            e.detail_type == AssetAnalysisCompleted::DETAIL_TYPE && asset_of(e) == Some(asset)
        })
        .map(|e| {
            assert_eq!(e.source, sources::GRAPH, "{e:?}");
            e.decode::<AssetAnalysisCompleted>().unwrap().detail
        })
        .collect()
}

fn graph_failures(seen: &[RawEvent]) -> Vec<&RawEvent> {
    seen.iter()
        .filter(|e| e.source == sources::GRAPH && e.detail_type == ProcessingFailed::DETAIL_TYPE)
        .collect()
}

fn document(docs: &Value, field: &str, text: &str) -> Option<Value> {
    docs["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .find(|d| d["field"] == field && d["text"] == text)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_complete_once_and_the_graph_holds_each_fact_once_on_the_aws_path() {
    tokio::time::timeout(TEST_TIMEOUT, graph_on_the_aws_path())
        .await
        .expect("the test finishes in time");
}

async fn graph_on_the_aws_path() {
    let moto = MotoServer::start();
    let sdk = moto.sdk_config().await;
    let path = AwsPath::provision(&sdk, "graph-aws", &[mediasift_graph::subscriptions()])
        .await
        .expect("provision the AWS path");
    let results = results(&path).await;
    let failed_transcript = put_json(
        &path,
        format!("{FAILED_ASSET}/audio/transcript.json"),
        json!({"engine": "amazon-transcribe", "language": "fr", "durationSeconds": 40.0,
               "text": "Bonsoir.", "segments": [{"start": 0.5, "end": 1.2, "text": "Bonsoir."}],
               "words": [{"text": "Bonsoir.", "start": 0.5, "end": 1.2, "confidence": 0.97}]}),
    )
    .await;
    let [video, audio, scenes, ad_breaks, ingest] = completed_asset_events(&path, &results);
    let [failed_ingest, failed_audio, failed] = failed_asset_events(&path, failed_transcript);

    let store = Arc::new(SqliteGraph::in_memory().expect("an in-memory graph"));
    let graph_store: Arc<dyn GraphStore> = store.clone();
    // No search index: the search documents go to the derived bucket, as on AWS.
    let graph = Graph::new(GraphConfig::default(), Some(graph_store), None);
    let poller = path.poller(Arc::new(graph)).unwrap().spawn();
    // Each event twice, the two assets interleaved, results before the plan and after it.
    let order = [
        &audio,
        &failed,
        &scenes,
        &ad_breaks,
        &failed_audio,
        &ingest,
        &video,
        &failed_ingest,
        &scenes,
        &audio,
        &failed,
        &video,
        &ingest,
        &failed_audio,
        &ad_breaks,
        &failed_ingest,
    ];
    for event in order {
        path.publisher()
            .publish(std::slice::from_ref(event))
            .await
            .expect("publish");
    }
    let mut seen = path
        .watch_catch_all(FLOW_TIMEOUT, |events| {
            !graph_failures(events).is_empty()
                || (!asset_completed(events, ASSET).is_empty()
                    && !asset_completed(events, FAILED_ASSET).is_empty())
        })
        .await
        .expect("Asset Analysis Completed of both assets reaches the catch-all queue");
    path.wait_until_drained(&["graph"], FLOW_TIMEOUT)
        .await
        .expect("the graph queue drains");
    // Whatever else reached the catch-all queue (a second completion would be here).
    loop {
        let more = path
            .receive_catch_all(Duration::from_secs(2))
            .await
            .unwrap();
        if more.is_empty() {
            break;
        }
        seen.extend(more);
    }
    let outcomes = poller.stop().await.unwrap();
    assert!(graph_failures(&seen).is_empty(), "{seen:?}");

    // Sixteen arrivals, every one handled; only the two that completed a plan published.
    assert_eq!(outcomes.len(), order.len(), "{outcomes:?}");
    let published: usize = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Handled { published } => *published,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(published, 2, "{outcomes:?}");

    // The ids EventBridge gave each publication, by asset and detail-type: two apiece.
    let mut ids_of: BTreeMap<(Uuid, String), BTreeSet<String>> = BTreeMap::new();
    for event in seen.iter().filter(|e| e.source != sources::GRAPH) {
        let asset = asset_of(event).expect("every mediasift event names its asset");
        ids_of
            .entry((asset, event.detail_type.clone()))
            .or_default()
            .insert(event.id.clone());
    }
    assert_eq!(ids_of.len(), 8, "{ids_of:?}");
    for (what, ids) in &ids_of {
        assert_eq!(
            ids.len(),
            2,
            "two publications, two events: {what:?} {ids:?}"
        );
    }
    let ids = |asset: Uuid, detail_type: &str| -> &BTreeSet<String> {
        ids_of
            .get(&(asset, detail_type.to_owned()))
            .unwrap_or_else(|| panic!("{detail_type} of {asset} on the catch-all queue"))
    };

    // The completed asset: one event, every analysis completed, in plan order.
    let done = asset_completed(&seen, ASSET);
    assert_eq!(done.len(), 1, "{done:?}");
    let done = &done[0];
    assert_eq!(done.status, AssetStatus::Completed, "{done:?}");
    assert_eq!(done.metadata.correlation_id, RUN);
    assert_eq!(done.media_type, MediaType::Video);
    assert_eq!(done.source, source(&path, KEY, MD5, 48_213_556));
    let analyses: Vec<AnalysisKind> = done.analyses.iter().map(|a| a.analysis).collect();
    assert_eq!(analyses, PLAN);
    let completions = [
        (VideoAnalysisCompleted::DETAIL_TYPE, &results.video),
        (AudioAnalysisCompleted::DETAIL_TYPE, &results.audio),
        (ScenesDetected::DETAIL_TYPE, &results.scenes),
        (AdBreaksDetected::DETAIL_TYPE, &results.ad_breaks),
    ];
    for (outcome, (detail_type, results)) in done.analyses.iter().zip(completions) {
        assert_eq!(outcome.status, OutcomeStatus::Completed, "{outcome:?}");
        assert!(
            ids(ASSET, detail_type).contains(&outcome.event_id),
            "{outcome:?} is one of the {detail_type} publications"
        );
        assert_eq!(&outcome.results, results, "{outcome:?}");
        assert_eq!(outcome.cause, None);
    }

    // Its run in the DynamoDB state table: the plan, four outcomes, and the claim of an
    // arrival of this asset.
    let run = path
        .ports()
        .state
        .get("graph-runs", &completion::key(ASSET, RUN))
        .await
        .unwrap()
        .expect("the run's item is in the state table");
    let claimer = run.value["claim"]["eventId"]
        .as_str()
        .unwrap_or_else(|| panic!("the run has a claim: {:?}", run.value));
    assert!(
        ids_of
            .iter()
            .filter(|((asset, _), _)| *asset == ASSET)
            .any(|(_, ids)| ids.contains(claimer)),
        "the claimer {claimer} is an arrival of the asset"
    );
    let record = completion::record(&run).unwrap();
    assert!(record.completed);
    let planned = record.planned.expect("the plan is recorded");
    assert_eq!(planned.analyses, PLAN);
    assert_eq!(planned.source.key, KEY);
    assert!(ids(ASSET, VideoIngested::DETAIL_TYPE).contains(&planned.event_id));
    assert_eq!(
        record.outcomes.keys().copied().collect::<BTreeSet<_>>(),
        PLAN.into_iter().collect::<BTreeSet<_>>()
    );

    // The asset whose video analysis failed: partial, the scenes and ad breaks ended with it.
    let partial = asset_completed(&seen, FAILED_ASSET);
    assert_eq!(partial.len(), 1, "{partial:?}");
    let partial = &partial[0];
    assert_eq!(partial.status, AssetStatus::Partial, "{partial:?}");
    assert_eq!(partial.metadata.correlation_id, FAILED_RUN);
    assert_eq!(partial.source.key, FAILED_KEY);
    let analyses: Vec<AnalysisKind> = partial.analyses.iter().map(|a| a.analysis).collect();
    assert_eq!(analyses, PLAN);
    let failures = ids(FAILED_ASSET, ProcessingFailed::DETAIL_TYPE);
    let by_kind = |kind: AnalysisKind| -> &AnalysisOutcome {
        partial
            .analyses
            .iter()
            .find(|a| a.analysis == kind)
            .unwrap()
    };
    let video_outcome = by_kind(AnalysisKind::Video);
    assert_eq!(video_outcome.status, OutcomeStatus::Failed);
    assert!(
        failures.contains(&video_outcome.event_id),
        "{video_outcome:?}"
    );
    assert_eq!(
        video_outcome.cause.as_deref(),
        Some(format!("{FAILURE_CODE}: {FAILURE_CAUSE} {FAILURE_ACTION}").as_str())
    );
    assert!(video_outcome.results.is_empty());
    let audio_outcome = by_kind(AnalysisKind::Audio);
    assert_eq!(audio_outcome.status, OutcomeStatus::Completed);
    assert!(
        ids(FAILED_ASSET, AudioAnalysisCompleted::DETAIL_TYPE).contains(&audio_outcome.event_id)
    );
    assert_eq!(audio_outcome.results.len(), 1);
    for kind in [AnalysisKind::Scenes, AnalysisKind::AdBreaks] {
        let outcome = by_kind(kind);
        assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
        assert!(
            outcome
                .cause
                .as_deref()
                .is_some_and(|c| c.contains("not run: the video analysis it needs failed")),
            "{outcome:?}"
        );
        assert!(failures.contains(&outcome.event_id), "{outcome:?}");
        assert!(outcome.results.is_empty());
    }
    let failed_run = path
        .ports()
        .state
        .get("graph-runs", &completion::key(FAILED_ASSET, FAILED_RUN))
        .await
        .unwrap()
        .expect("the failed asset's run is in the state table");
    assert!(
        failed_run.value.contains_key("claim"),
        "{:?}",
        failed_run.value
    );

    // No search index on AWS: each contribution's search documents in the derived bucket.
    let speech = get_json(&path, &format!("{ASSET}/graph/search-audio.json")).await;
    assert_eq!(speech["assetId"], ASSET.to_string());
    assert_eq!(speech["analysis"], "audio");
    let segment = document(&speech, "transcript", "The new bridge opens today.")
        .unwrap_or_else(|| panic!("the transcript segment is a search document: {speech}"));
    assert_eq!(segment["ranges"], json!([[0.0, 1.5]]));
    let file = get_json(&path, &format!("{ASSET}/graph/search-ingest.json")).await;
    assert!(
        document(&file, "fileName", KEY).is_some(),
        "the file name is a search document: {file}"
    );
    let seen_on_screen = get_json(&path, &format!("{ASSET}/graph/search-video.json")).await;
    let caption = document(&seen_on_screen, "text", "HARBOUR BRIDGE")
        .unwrap_or_else(|| panic!("the on-screen text is a search document: {seen_on_screen}"));
    assert_eq!(caption["ranges"], json!([[2.0, 5.0]]));
    assert!(document(&seen_on_screen, "label", "Suspension Bridge").is_some());
    assert!(
        document(&seen_on_screen, "label", "Kayak").is_none(),
        "noise stays out of search: {seen_on_screen}"
    );
    let scene_docs = get_json(&path, &format!("{ASSET}/graph/search-scenes.json")).await;
    let scene = document(&scene_docs, "description", "Sports")
        .unwrap_or_else(|| panic!("the scene's category is a search document: {scene_docs}"));
    assert_eq!(scene["ranges"], json!([[0.0, 20.0]]));

    // The graph: each fact once, whatever the duplicates; the noise left out.
    let asset = ids::asset(&ASSET.to_string());
    let failed_asset = ids::asset(&FAILED_ASSET.to_string());
    let edges = store.all_edges().unwrap();
    let edge_ids: Vec<&str> = edges.iter().map(|e| e.id.as_str()).collect();
    let distinct: BTreeSet<&str> = edge_ids.iter().copied().collect();
    assert_eq!(edge_ids.len(), distinct.len(), "{edge_ids:?}");
    let expected: BTreeSet<String> = [
        ids::edge(EdgeKind::HasChecksum, &asset, &ids::checksum(MD5)),
        ids::edge(EdgeKind::ShowsText, &asset, &ids::keyword("HARBOUR BRIDGE")),
        ids::edge(EdgeKind::HasLabel, &asset, &ids::label("Suspension Bridge")),
        ids::edge(
            EdgeKind::HasScene,
            &asset,
            &ids::scene(&ASSET.to_string(), 1),
        ),
        ids::edge(
            EdgeKind::HasChecksum,
            &failed_asset,
            &ids::checksum(FAILED_MD5),
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        distinct,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        "{edges:#?}"
    );
    let edge = |kind: EdgeKind, to: &str| {
        edges
            .iter()
            .find(|e| e.kind == kind && e.from == asset && e.to == to)
            .unwrap_or_else(|| panic!("{kind} {asset} → {to} in {edges:#?}"))
    };
    let text = edge(EdgeKind::ShowsText, "keyword:harbour bridge");
    assert_eq!(text.analysis, "video");
    assert_eq!(text.properties["seconds"], GraphValue::Double(3.0));
    assert_eq!(
        text.properties["ranges"],
        GraphValue::Text("2.00-5.00".into())
    );
    assert_eq!(text.properties["confidence"], GraphValue::Double(92.0));
    let label = edge(EdgeKind::HasLabel, "label:suspension bridge");
    assert_eq!(label.properties["confidence"], GraphValue::Double(95.0));
    assert_eq!(label.properties["seconds"], GraphValue::Double(10.0));
    assert!(
        !edges.iter().any(|e| e.to == ids::label("Kayak")),
        "the 50-confidence label is noise"
    );
    let scene = edge(EdgeKind::HasScene, &ids::scene(&ASSET.to_string(), 1));
    assert_eq!(scene.analysis, "scenes");
    assert_eq!(scene.properties["firstSeen"], GraphValue::Double(0.0));
    assert_eq!(scene.properties["lastSeen"], GraphValue::Double(20.0));

    let vertices = store.all_vertices().unwrap();
    assert!(!vertices.iter().any(|v| v.id == ids::label("Kayak")));
    let asset_vertex = vertices
        .iter()
        .find(|v| v.id == asset)
        .expect("the asset's vertex");
    // Later analyses' contributions merge into what ingest said.
    assert_eq!(asset_vertex.name, KEY);
    assert_eq!(asset_vertex.properties["md5"], GraphValue::Text(MD5.into()));
    assert_eq!(asset_vertex.properties["shots"], GraphValue::Long(5));
    assert_eq!(asset_vertex.properties["scenes"], GraphValue::Long(1));
    assert_eq!(asset_vertex.properties["adBreaks"], GraphValue::Long(1));
}
