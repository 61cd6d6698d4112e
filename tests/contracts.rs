//! Contract tests: the committed contracts are what the code generates, every example is
//! valid against its schemas, and every rule receives exactly the events it is meant to.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mediasift::contracts::{self, EXPORT_COMMAND};
use mediasift_schemas::catalog;
use serde_json::{Value, json};

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_contracts_match_the_code() {
    let differing = contracts::drift(repo_root(), &mediasift::all_subscriptions()).unwrap();
    assert!(
        differing.is_empty(),
        "generated contracts are out of date: {differing:?}\nrun `{EXPORT_COMMAND}` and commit contracts/ and docs/events.md"
    );
}

#[test]
fn export_is_byte_identical_on_regeneration() {
    let subscriptions = mediasift::all_subscriptions();
    let first = contracts::render(&subscriptions).unwrap();
    let second = contracts::render(&subscriptions).unwrap();
    assert_eq!(
        first, second,
        "two renders of the same code differ: generation is not deterministic"
    );
}

#[test]
fn export_writes_every_file_and_removes_stale_ones() {
    let dir = std::env::temp_dir().join(format!("mediasift-contracts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("contracts/schemas")).unwrap();
    std::fs::write(dir.join("contracts/schemas/gone@Removed.json"), "{}").unwrap();
    let subscriptions = mediasift::all_subscriptions();

    contracts::export(&dir, &subscriptions).unwrap();

    assert!(!dir.join("contracts/schemas/gone@Removed.json").exists());
    assert!(contracts::drift(&dir, &subscriptions).unwrap().is_empty());
    assert!(
        contracts::export(&dir, &subscriptions).unwrap().is_empty(),
        "a second export rewrote files"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// DESIGN.md's event table, plus `Processing Failed` from every service.
#[test]
fn catalog_has_every_event_of_the_design() {
    let mut expected: BTreeSet<(String, String)> = [
        ("aws.s3", "Object Created"),
        ("aws.mediaconvert", "MediaConvert Job State Change"),
        ("aws.transcribe", "Transcribe Job State Change"),
        ("mediasift.ingest", "Video Ingested"),
        ("mediasift.ingest", "Audio Ingested"),
        ("mediasift.ingest", "Image Ingested"),
        ("mediasift.ingest", "Document Ingested"),
        ("mediasift.ingest", "Ingest Hashing Continued"),
        ("mediasift.video", "Video Analysis Completed"),
        ("mediasift.audio", "Audio Analysis Completed"),
        ("mediasift.image", "Image Analysis Completed"),
        ("mediasift.document", "Document Analysis Completed"),
        ("mediasift.scene", "Scenes Detected"),
        ("mediasift.adbreak", "Ad Breaks Detected"),
        ("mediasift.graph", "Asset Analysis Completed"),
    ]
    .into_iter()
    .map(|(s, d)| (s.to_owned(), d.to_owned()))
    .collect();
    for service in mediasift_schemas::SERVICES {
        expected.insert((
            format!("mediasift.{service}"),
            "Processing Failed".to_owned(),
        ));
    }
    let actual: BTreeSet<(String, String)> = catalog()
        .iter()
        .map(|e| (e.source.to_owned(), e.detail_type.to_owned()))
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn every_example_validates_against_its_json_schema() {
    for entry in catalog() {
        let schema = entry.json_schema();
        jsonschema::meta::validate(&schema).unwrap_or_else(|e| {
            panic!(
                "{}: generated schema is not valid JSON Schema: {e}",
                entry.registry_name()
            )
        });
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        let example = entry.example();
        let errors: Vec<String> = validator
            .iter_errors(&example)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{}: example invalid: {errors:#?}",
            entry.registry_name()
        );
        assert_eq!(example["source"], entry.source);
        assert_eq!(example["detail-type"], entry.detail_type);
    }
}

/// The registry document is OpenAPI 3.0, whose schema objects are a JSON Schema draft-4
/// dialect: validate each example against it as the registry would read it.
#[test]
fn every_example_validates_against_its_registry_schema() {
    for entry in catalog() {
        let registry = entry.registry_schema();
        let aws_event = &registry["components"]["schemas"]["AWSEvent"];
        assert_eq!(aws_event["x-amazon-events-source"], entry.source);
        assert_eq!(aws_event["x-amazon-events-detail-type"], entry.detail_type);
        let detail_ref = aws_event["properties"]["detail"]["$ref"].as_str().unwrap();
        assert_eq!(
            detail_ref,
            format!("#/components/schemas/{}", entry.schema_name)
        );

        let mut schema = json!({"$ref": "#/components/schemas/AWSEvent"});
        schema["components"] = registry["components"].clone();
        let validator = jsonschema::draft4::new(&schema).unwrap_or_else(|e| {
            panic!(
                "{}: registry schema does not compile: {e}",
                entry.registry_name()
            )
        });
        let example = entry.example();
        let errors: Vec<String> = validator
            .iter_errors(&example)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", entry.registry_name());
    }
}

#[test]
fn registry_schemas_fit_the_registry_limit_and_resolve_every_ref() {
    for entry in catalog() {
        let registry = entry.registry_schema();
        let text = serde_json::to_string_pretty(&registry).unwrap();
        assert!(
            text.len() < 100_000,
            "{} is {} characters; the registry takes 100,000",
            entry.registry_name(),
            text.len()
        );
        let defined = registry["components"]["schemas"].as_object().unwrap();
        for reference in refs(&registry) {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{reference}: not a components ref"));
            assert!(
                defined.contains_key(name),
                "{}: {reference} is not defined",
                entry.registry_name()
            );
        }
    }
}

fn refs(value: &Value) -> Vec<String> {
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| match (k.as_str(), v) {
                ("$ref", Value::String(r)) => vec![r.clone()],
                _ => refs(v),
            })
            .collect(),
        Value::Array(items) => items.iter().flat_map(refs).collect(),
        _ => Vec::new(),
    }
}

/// Who must receive what: each service's intended inputs, written out independently of the
/// rules, so a rule that is too wide or too narrow fails here.
#[test]
fn every_rule_receives_exactly_the_events_it_is_meant_to() {
    let ingested = [
        "Video Ingested",
        "Audio Ingested",
        "Image Ingested",
        "Document Ingested",
    ];
    let mut expected: BTreeMap<&str, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut expect = |service: &'static str, source: &str, detail_type: &str| {
        expected
            .entry(service)
            .or_default()
            .insert((source.to_owned(), detail_type.to_owned()));
    };
    expect("ingest", "aws.s3", "Object Created");
    expect(
        "ingest",
        "aws.mediaconvert",
        "MediaConvert Job State Change",
    );
    expect("ingest", "mediasift.ingest", "Ingest Hashing Continued");
    expect("video", "mediasift.ingest", "Video Ingested");
    expect("audio", "mediasift.ingest", "Video Ingested");
    expect("audio", "mediasift.ingest", "Audio Ingested");
    expect("audio", "aws.transcribe", "Transcribe Job State Change");
    expect("image", "mediasift.ingest", "Image Ingested");
    expect("document", "mediasift.ingest", "Document Ingested");
    expect("scene", "mediasift.video", "Video Analysis Completed");
    expect("scene", "mediasift.audio", "Audio Analysis Completed");
    // An audio failure completes the scene join too (scenes from the pictures alone).
    expect("scene", "mediasift.audio", "Processing Failed");
    expect("adbreak", "mediasift.scene", "Scenes Detected");
    for detail_type in ingested {
        expect("graph", "mediasift.ingest", detail_type);
    }
    for (source, detail_type) in [
        ("mediasift.video", "Video Analysis Completed"),
        ("mediasift.audio", "Audio Analysis Completed"),
        ("mediasift.image", "Image Analysis Completed"),
        ("mediasift.document", "Document Analysis Completed"),
        ("mediasift.scene", "Scenes Detected"),
        ("mediasift.adbreak", "Ad Breaks Detected"),
    ] {
        expect("graph", source, detail_type);
    }
    for service in mediasift_schemas::SERVICES {
        if service != "graph" {
            expect(
                "graph",
                &format!("mediasift.{service}"),
                "Processing Failed",
            );
        }
    }

    let routed = contracts::route(&mediasift::all_subscriptions()).unwrap();
    let mut actual: BTreeMap<&str, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in &routed {
        for (service, _) in &r.subscribers {
            let service = mediasift_schemas::SERVICES
                .iter()
                .find(|s| *s == service)
                .unwrap();
            actual
                .entry(service)
                .or_default()
                .insert((r.entry.source.to_owned(), r.entry.detail_type.to_owned()));
        }
    }
    assert_eq!(actual, expected);

    // Every rule receives something: a rule that matches no example is dead or mistyped.
    for subs in mediasift::all_subscriptions() {
        for rule in &subs.rules {
            assert!(
                routed.iter().any(|r| r
                    .subscribers
                    .iter()
                    .any(|(s, n)| *s == subs.service && *n == rule.name)),
                "rule {}/{} matches no catalog example",
                subs.service,
                rule.name
            );
        }
    }
}

/// A plan without an analysis must not wake the service for it: no service waits for, or
/// does, work that was turned off.
#[test]
fn rules_follow_the_plan() {
    let subscriptions = mediasift::all_subscriptions();
    let video = subscriptions.iter().find(|s| s.service == "video").unwrap();
    let audio = subscriptions.iter().find(|s| s.service == "audio").unwrap();
    let entry = mediasift_schemas::entry_for("mediasift.ingest", "Video Ingested").unwrap();
    let mut event = entry.example();
    event["detail"]["plan"]["analyses"] = json!(["video", "scenes"]);
    let matches = |subs: &mediasift_kit::Subscriptions| {
        subs.rules
            .iter()
            .any(|r| r.compile().unwrap().matches(&event))
    };
    assert!(matches(video));
    assert!(
        !matches(audio),
        "a video without audio must not go to the audio service"
    );
}

#[test]
fn asyncapi_lists_every_message_and_operation() {
    let text = std::fs::read_to_string(repo_root().join("contracts/asyncapi.yaml")).unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(doc["asyncapi"], "3.0.0");
    let messages = doc["components"]["messages"].as_object().unwrap();
    assert_eq!(messages.len(), catalog().len());
    for reference in refs(&doc) {
        let pointer = reference.strip_prefix('#').unwrap();
        assert!(
            doc.pointer(pointer).is_some(),
            "asyncapi.yaml: {reference} does not resolve"
        );
    }
    let operations = doc["operations"].as_object().unwrap();
    for subs in mediasift::all_subscriptions() {
        for rule in &subs.rules {
            let op = &operations[&format!("{}.{}", subs.service, rule.name)];
            assert_eq!(op["action"], "receive");
            assert_eq!(op["x-eventbridge-pattern"], rule.event_pattern);
        }
    }
    for service in mediasift_schemas::SERVICES {
        assert_eq!(
            operations[&format!("{service}.send")]["action"],
            "send",
            "{service} sends nothing?"
        );
    }
}

#[test]
fn rules_files_are_what_terraform_reads() {
    for subs in mediasift::all_subscriptions() {
        let path = repo_root().join(format!("contracts/rules/{}.json", subs.service));
        let on_disk: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(on_disk["service"], subs.service.as_str());
        for (rule, written) in subs.rules.iter().zip(on_disk["rules"].as_array().unwrap()) {
            assert_eq!(written["name"], rule.name.as_str());
            assert_eq!(written["eventPattern"], rule.event_pattern);
        }
    }
}

/// The AsyncAPI document passes the official AsyncAPI parser (installed by scripts/setup.sh).
#[test]
fn asyncapi_passes_the_official_parser() {
    let tools = repo_root().join("tools/asyncapi");
    assert!(
        tools.join("node_modules/@asyncapi/parser").is_dir(),
        "the AsyncAPI parser is not installed in {}: run scripts/setup.sh",
        tools.display()
    );
    let out = std::process::Command::new("node")
        .arg(tools.join("validate.mjs"))
        .arg(repo_root().join("contracts/asyncapi.yaml"))
        .output()
        .expect("node runs (scripts/setup.sh checks for it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("warning:"), "the parser warns:\n{stdout}");
}
