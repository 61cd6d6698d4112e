//! Each service's declared AWS permissions (`contracts/iam/<service>.json`, which Terraform turns
//! into its function's policy) against the SDK operations its code calls.
//!
//! A service's AWS code is its own crate plus the kit modules its `aws` feature enables. Every
//! SDK operation called there (`.operation_name(` where the file uses that SDK and the name is
//! one of the SDK's operations, read from the SDK crates' own `src/operation/` folders) maps to
//! its IAM action. For the service-specific clients (Rekognition, Comprehend, Bedrock, Textract,
//! Transcribe, MediaConvert, Neptune) the declared actions must equal the called ones: nothing
//! called is missing, nothing is granted that is not called. The runtime's adapters (S3,
//! DynamoDB, EventBridge) are compiled into every function, so a scan cannot tell which port
//! methods a service uses: there, the declared actions must be ones the adapters call (no grant
//! beyond the code), and which bucket or table each service touches is declared in the
//! service's `permissions()` by reading its handler.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SERVICES: [&str; 8] = [
    "ingest", "video", "audio", "image", "document", "scene", "adbreak", "graph",
];

/// SDK crate → IAM service prefix.
const SDKS: [(&str, &str); 10] = [
    ("aws_sdk_s3", "s3"),
    ("aws_sdk_dynamodb", "dynamodb"),
    ("aws_sdk_eventbridge", "events"),
    ("aws_sdk_rekognition", "rekognition"),
    ("aws_sdk_comprehend", "comprehend"),
    ("aws_sdk_bedrockruntime", "bedrock"),
    ("aws_sdk_textract", "textract"),
    ("aws_sdk_transcribe", "transcribe"),
    ("aws_sdk_mediaconvert", "mediaconvert"),
    ("aws_sdk_neptunedata", "neptune-db"),
];

/// The runtime's adapters, in every function.
const RUNTIME_PREFIXES: [&str; 3] = ["s3", "dynamodb", "events"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The operation names of every SDK crate mediasift depends on, from `cargo metadata`.
fn sdk_operations() -> BTreeMap<&'static str, BTreeSet<String>> {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--all-features"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut operations = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap().replace('-', "_");
        let Some((sdk, _)) = SDKS.iter().find(|(sdk, _)| *sdk == name) else {
            continue;
        };
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
        let dir = manifest.parent().unwrap().join("src/operation");
        let names: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                path.is_dir()
                    .then(|| path.file_name().unwrap().to_string_lossy().into_owned())
            })
            .collect();
        assert!(!names.is_empty(), "{}", dir.display());
        operations.insert(*sdk, names);
    }
    operations
}

/// `detect_labels` → `DetectLabels`.
fn pascal(op: &str) -> String {
    op.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The IAM actions an SDK operation needs.
fn actions_of(prefix: &str, op: &str) -> Vec<String> {
    let named = |action: &str| vec![format!("{prefix}:{action}")];
    match (prefix, op) {
        // HeadObject is authorised by s3:GetObject; the parts of a multipart upload by
        // s3:PutObject.
        ("s3", "head_object") => named("GetObject"),
        ("s3", "create_multipart_upload" | "upload_part" | "complete_multipart_upload") => {
            named("PutObject")
        }
        // A job runs as the role it names, which the caller must be allowed to pass.
        ("mediaconvert", "create_job") => {
            vec!["mediaconvert:CreateJob".into(), "iam:PassRole".into()]
        }
        ("neptune-db", "execute_open_cypher_query") => vec![
            "neptune-db:ReadDataViaQuery".into(),
            "neptune-db:WriteDataViaQuery".into(),
            "neptune-db:DeleteDataViaQuery".into(),
        ],
        _ => named(&pascal(op)),
    }
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The kit modules a kit feature compiles in, for the function.
fn kit_files(feature: &str) -> Vec<PathBuf> {
    let kit = root().join("services/kit/src");
    match feature {
        "aws" => ["s3.rs", "dynamodb.rs", "eventbridge.rs"]
            .iter()
            .map(|f| kit.join("aws").join(f))
            .collect(),
        "rekognition" => vec![kit.join("vision/rekognition.rs")],
        "comprehend" => vec![kit.join("language/comprehend.rs")],
        "bedrock" => vec![kit.join("bedrock.rs")],
        _ => Vec::new(),
    }
}

/// The service's own sources and the kit modules its `aws` feature enables.
fn aws_sources(service: &str) -> Vec<PathBuf> {
    let crate_dir = root().join("services").join(service);
    let manifest: toml::Table = std::fs::read_to_string(crate_dir.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let mut files = Vec::new();
    rust_files(&crate_dir.join("src"), &mut files);
    let features = manifest["features"]["aws"].as_array().unwrap();
    for feature in features {
        if let Some(kit_feature) = feature.as_str().unwrap().strip_prefix("mediasift-kit/") {
            files.extend(kit_files(kit_feature));
        }
    }
    files
}

/// Code without `//` comments, so a doc comment naming an operation is not a call.
fn code_of(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn called_actions(
    service: &str,
    operations: &BTreeMap<&'static str, BTreeSet<String>>,
) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for file in aws_sources(service) {
        let code = code_of(&file);
        for (sdk, prefix) in SDKS {
            if !code.contains(sdk) {
                continue;
            }
            for op in &operations[sdk] {
                let call = format!(".{op}(");
                let called = code.contains(&call)
                    || code.contains(&format!(".{op}()\n"))
                    || code.lines().any(|l| l.trim() == format!(".{op}()"));
                if called {
                    actions.extend(actions_of(prefix, op));
                }
            }
        }
    }
    actions
}

#[test]
fn every_service_is_granted_exactly_the_aws_actions_its_code_calls() {
    let operations = sdk_operations();
    let declared: BTreeMap<String, BTreeSet<String>> = mediasift::all_permissions()
        .into_iter()
        .map(|p| {
            (
                p.service.clone(),
                p.actions().into_iter().map(str::to_owned).collect(),
            )
        })
        .collect();
    assert_eq!(
        declared.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from(SERVICES)
    );
    let runtime = |action: &String| {
        RUNTIME_PREFIXES
            .iter()
            .any(|p| action.starts_with(&format!("{p}:")))
    };
    for service in SERVICES {
        let called = called_actions(service, &operations);
        let granted = &declared[service];
        let (called_runtime, called_own): (BTreeSet<_>, BTreeSet<_>) =
            called.iter().cloned().partition(runtime);
        let granted_own: BTreeSet<String> =
            granted.iter().filter(|a| !runtime(a)).cloned().collect();
        assert_eq!(
            granted_own, called_own,
            "{service}: the actions of its own AWS clients, granted (left) and called (right)"
        );
        let beyond: Vec<&String> = granted
            .iter()
            .filter(|a| runtime(a) && !called_runtime.contains(*a))
            .collect();
        assert!(
            beyond.is_empty(),
            "{service} is granted {beyond:?}, which no code it runs calls"
        );
        // Every function publishes its events.
        assert!(granted.contains("events:PutEvents"), "{service}");
    }
}

#[test]
fn the_scan_finds_known_calls() {
    let operations = sdk_operations();
    let video = called_actions("video", &operations);
    for action in [
        "rekognition:DetectLabels",
        "rekognition:IndexFaces",
        "s3:PutObject",
        "dynamodb:UpdateItem",
        "events:PutEvents",
    ] {
        assert!(video.contains(action), "{action} in {video:?}");
    }
    let graph = called_actions("graph", &operations);
    assert!(graph.contains("neptune-db:WriteDataViaQuery"), "{graph:?}");
    assert!(
        !graph.iter().any(|a| a.starts_with("rekognition:")),
        "{graph:?}"
    );
}
