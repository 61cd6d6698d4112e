//! One asset's run on AWS: the events it puts on the bus, the Lambda invocations the
//! services' real rules ([`crate::all_subscriptions`]) make of them, and each function's
//! memory as Terraform deploys it (`infra-terraform/main.tf`).

use std::collections::BTreeMap;

use mediasift_schemas::AnalysisKind;
use serde::Serialize;
use serde_json::{Value, json};

const TERRAFORM_MAIN: &str = include_str!("../../infra-terraform/main.tf");

/// The services, in pipeline order.
pub const SERVICES: [&str; 8] = [
    "ingest", "video", "audio", "image", "document", "scene", "adbreak", "graph",
];

/// What one asset's run looks like from the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    /// `source detail-type`, in the order they are published, with how many of each.
    pub events: Vec<(String, u32)>,
    /// Lambda invocations per service (events its rules match).
    pub invocations: BTreeMap<String, u32>,
}

impl Flow {
    pub fn event_count(&self) -> u32 {
        self.events.iter().map(|(_, n)| n).sum()
    }

    pub fn invocation_count(&self) -> u32 {
        self.invocations.values().sum()
    }
}

/// What decides the events of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowInput {
    /// `Video`, `Audio`, `Image`, `Document` (the `… Ingested` event's kind).
    pub ingested: &'static str,
    pub analyses: Vec<AnalysisKind>,
    /// A MediaConvert job makes the proxies (video and audio).
    pub mediaconvert: bool,
    /// Output minutes of the MediaConvert job (for its `STATUS_UPDATE` events).
    pub job_minutes: f64,
    /// Transcribe runs (its completion comes back as an event).
    pub transcribe: bool,
    /// Extra hashing slices carried forward by ingest (`Ingest Hashing Continued`).
    pub hashing_slices: u32,
}

/// MediaConvert's state-change events for one job: `PROGRESSING`, `INPUT_INFORMATION`,
/// `COMPLETE`, and about one `STATUS_UPDATE` a minute while it runs (assumed: a job runs for
/// half its output duration, rounded up to whole minutes). The forwarding rule brings them
/// all to mediasift's bus; only `COMPLETE`/`ERROR` invoke ingest.
pub fn mediaconvert_events(job_minutes: f64) -> u32 {
    3 + (job_minutes / 2.0).ceil().max(0.0) as u32
}

/// The events of one asset's run, and the invocations they cause.
pub fn flow(input: &FlowInput) -> Flow {
    let analyses: Vec<Value> = input
        .analyses
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok())
        .collect();
    let plan = json!({"plan": {"analyses": analyses}});
    let mut events: Vec<(Value, u32)> = vec![(
        event(
            "aws.s3",
            "Object Created",
            json!({"bucket": {"name": "ingest"}, "object": {"key": "upload"}}),
        ),
        1,
    )];
    if input.hashing_slices > 0 {
        events.push((
            event("mediasift.ingest", "Ingest Hashing Continued", json!({})),
            input.hashing_slices,
        ));
    }
    if input.mediaconvert {
        let metadata = json!({"mediasiftAssetId": "asset"});
        let others = mediaconvert_events(input.job_minutes) - 1;
        events.push((
            event(
                "aws.mediaconvert",
                "MediaConvert Job State Change",
                json!({"status": "PROGRESSING", "userMetadata": metadata}),
            ),
            others,
        ));
        events.push((
            event(
                "aws.mediaconvert",
                "MediaConvert Job State Change",
                json!({"status": "COMPLETE", "userMetadata": metadata}),
            ),
            1,
        ));
    }
    let ingested = format!("{} Ingested", input.ingested);
    events.push((event("mediasift.ingest", &ingested, plan.clone()), 1));
    let has = |kind: AnalysisKind| input.analyses.contains(&kind);
    if has(AnalysisKind::Video) {
        events.push((
            event("mediasift.video", "Video Analysis Completed", plan.clone()),
            1,
        ));
    }
    if has(AnalysisKind::Audio) {
        if input.transcribe {
            events.push((
                event(
                    "aws.transcribe",
                    "Transcribe Job State Change",
                    json!({"TranscriptionJobName": "mediasift-asset", "TranscriptionJobStatus": "COMPLETED"}),
                ),
                1,
            ));
        }
        events.push((
            event("mediasift.audio", "Audio Analysis Completed", plan.clone()),
            1,
        ));
    }
    for (kind, source, detail_type) in [
        (
            AnalysisKind::Image,
            "mediasift.image",
            "Image Analysis Completed",
        ),
        (
            AnalysisKind::Document,
            "mediasift.document",
            "Document Analysis Completed",
        ),
        (AnalysisKind::Scenes, "mediasift.scene", "Scenes Detected"),
        (
            AnalysisKind::AdBreaks,
            "mediasift.adbreak",
            "Ad Breaks Detected",
        ),
    ] {
        if has(kind) {
            events.push((event(source, detail_type, plan.clone()), 1));
        }
    }
    events.push((
        event("mediasift.graph", "Asset Analysis Completed", plan.clone()),
        1,
    ));

    let rules: Vec<(String, Vec<mediasift_kit::pattern::Pattern>)> = crate::all_subscriptions()
        .into_iter()
        .map(|s| {
            let patterns = s.rules.iter().filter_map(|r| r.compile().ok()).collect();
            (s.service.clone(), patterns)
        })
        .collect();
    let mut invocations: BTreeMap<String, u32> = BTreeMap::new();
    for (event, count) in &events {
        for (service, patterns) in &rules {
            let matched = patterns.iter().filter(|p| p.matches(event)).count() as u32;
            if matched > 0 {
                *invocations.entry(service.clone()).or_default() += matched * count;
            }
        }
    }
    let mut listed: Vec<(String, u32)> = Vec::new();
    for (event, count) in events {
        let name = format!(
            "{} {}",
            event["source"].as_str().unwrap_or_default(),
            event["detail-type"].as_str().unwrap_or_default()
        );
        match listed.iter_mut().find(|(n, _)| *n == name) {
            Some((_, n)) => *n += count,
            None => listed.push((name, count)),
        }
    }
    Flow {
        events: listed,
        invocations,
    }
}

fn event(source: &str, detail_type: &str, detail: Value) -> Value {
    json!({
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000000",
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-11-22T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    })
}

/// Each service's Lambda memory (MB) as `infra-terraform/main.tf` deploys it (its
/// `services = { <name> = { memory = N … } … }` map).
pub fn lambda_memory_mb() -> BTreeMap<String, u32> {
    parse_memory(TERRAFORM_MAIN)
}

fn parse_memory(main_tf: &str) -> BTreeMap<String, u32> {
    let mut memory = BTreeMap::new();
    let mut current: Option<&str> = None;
    for line in main_tf.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_suffix("= {").map(str::trim)
            && let Some(service) = SERVICES.iter().find(|s| **s == name)
        {
            current = Some(service);
            continue;
        }
        if let (Some(service), Some(rest)) = (current, line.strip_prefix("memory"))
            && let Some(value) = rest.trim().strip_prefix('=')
            && let Ok(mb) = value.trim().parse::<u32>()
        {
            memory.insert(service.to_owned(), mb);
            current = None;
        }
    }
    memory
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_gives_every_service_its_memory() {
        let memory = lambda_memory_mb();
        for service in SERVICES {
            assert!(memory.contains_key(service), "{service}: {memory:?}");
        }
        assert_eq!(memory["video"], 4096);
        assert_eq!(memory["graph"], 512);
    }

    #[test]
    fn a_video_with_speech_publishes_what_a_local_run_does_plus_the_aws_completions() {
        let input = FlowInput {
            ingested: "Video",
            analyses: vec![
                AnalysisKind::Video,
                AnalysisKind::Audio,
                AnalysisKind::Scenes,
                AnalysisKind::AdBreaks,
            ],
            mediaconvert: true,
            job_minutes: 0.2,
            transcribe: true,
            hashing_slices: 0,
        };
        let flow = flow(&input);
        // A local run of newsreel.mp4 publishes 7 events; on AWS the MediaConvert job adds 4
        // (PROGRESSING, INPUT_INFORMATION, STATUS_UPDATE, COMPLETE) and Transcribe 1.
        assert_eq!(flow.event_count(), 12, "{flow:?}");
        let expected: BTreeMap<String, u32> = [
            ("ingest", 2),
            ("video", 1),
            ("audio", 2),
            ("scene", 2),
            ("adbreak", 1),
            ("graph", 5),
        ]
        .into_iter()
        .map(|(s, n)| (s.to_owned(), n))
        .collect();
        assert_eq!(flow.invocations, expected);
    }

    #[test]
    fn an_image_run_is_four_events() {
        let flow = flow(&FlowInput {
            ingested: "Image",
            analyses: vec![AnalysisKind::Image],
            mediaconvert: false,
            job_minutes: 0.0,
            transcribe: false,
            hashing_slices: 0,
        });
        assert_eq!(flow.event_count(), 4);
        assert_eq!(flow.invocations["image"], 1);
        assert_eq!(flow.invocations["graph"], 2);
    }
}
