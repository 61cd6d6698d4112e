//! The AWS permissions a service's Lambda function needs for the calls its code makes, declared
//! in Rust next to the code (as its rules are), exported to `contracts/iam/<service>.json`, and
//! turned into the function's IAM policy by Terraform. A test compares the declared actions
//! with the SDK operations each service's code calls.

use serde::Serialize;

/// What a statement grants access to. Terraform maps each to ARNs of the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resource {
    /// The objects of the ingest bucket (`arn:aws:s3:::<ingest>/*`).
    IngestObjects,
    /// The objects of the derived bucket.
    DerivedObjects,
    /// The state table.
    StateTable,
    /// The custom event bus.
    EventBus,
    /// The Rekognition face collection.
    FaceCollection,
    /// The deployment's Bedrock model (its inference profile and foundation model).
    BedrockModels,
    /// The Neptune cluster (`neptune-db:` data actions), when the graph is deployed.
    NeptuneCluster,
    /// The role MediaConvert jobs run as (`iam:PassRole`).
    MediaconvertRole,
    /// The MediaConvert queue jobs are submitted to (jobs have no ARN before they exist).
    Mediaconvert,
    /// `*`: APIs without resource-level permissions (Rekognition Detect*, Comprehend,
    /// Textract, Transcribe).
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub sid: &'static str,
    pub actions: Vec<&'static str>,
    pub resources: Vec<Resource>,
}

impl Statement {
    pub fn new(sid: &'static str, actions: &[&'static str], resources: &[Resource]) -> Self {
        Self {
            sid,
            actions: actions.to_vec(),
            resources: resources.to_vec(),
        }
    }
}

/// A service's permissions: `contracts/iam/<service>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Permissions {
    pub service: String,
    pub statements: Vec<Statement>,
}

impl Permissions {
    pub fn new(service: &str, statements: Vec<Statement>) -> Self {
        Self {
            service: service.to_owned(),
            statements,
        }
    }

    /// Every action granted, sorted.
    pub fn actions(&self) -> Vec<&'static str> {
        let mut actions: Vec<&'static str> = self
            .statements
            .iter()
            .flat_map(|s| s.actions.iter().copied())
            .collect();
        actions.sort_unstable();
        actions.dedup();
        actions
    }
}

/// `events:PutEvents` on the bus: every service publishes its completions and failures.
pub fn publish() -> Statement {
    Statement::new(
        "PublishEvents",
        &["events:PutEvents"],
        &[Resource::EventBus],
    )
}

/// Reading and writing the state table (the kit's DynamoDB state store: `get`, `put`,
/// `update`; no service deletes items, they expire).
pub fn state() -> Statement {
    Statement::new(
        "State",
        &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
        &[Resource::StateTable],
    )
}

/// Reading the service's inputs and writing its results under `<assetId>/` in the derived
/// bucket (multipart uploads of large files need the abort).
pub fn derived_results() -> Statement {
    Statement::new(
        "DerivedResults",
        &["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
        &[Resource::DerivedObjects],
    )
}

/// Every Rekognition image API the vision port calls, and the face collection's.
pub fn rekognition(face_collection: bool) -> Vec<Statement> {
    let mut statements = vec![Statement::new(
        "RekognitionImages",
        &[
            "rekognition:DetectLabels",
            "rekognition:DetectFaces",
            "rekognition:RecognizeCelebrities",
            "rekognition:DetectText",
            "rekognition:DetectModerationLabels",
        ],
        &[Resource::Any],
    )];
    if face_collection {
        statements.push(Statement::new(
            "FaceCollection",
            &["rekognition:SearchFacesByImage", "rekognition:IndexFaces"],
            &[Resource::FaceCollection],
        ));
    }
    statements
}

/// Keyphrases, entities and sentiment by Comprehend's batch APIs.
pub fn comprehend() -> Statement {
    Statement::new(
        "Comprehend",
        &[
            "comprehend:BatchDetectKeyPhrases",
            "comprehend:BatchDetectEntities",
            "comprehend:BatchDetectSentiment",
        ],
        &[Resource::Any],
    )
}

/// Bedrock's InvokeModel (descriptions, chapters).
pub fn bedrock() -> Statement {
    Statement::new(
        "Bedrock",
        &["bedrock:InvokeModel"],
        &[Resource::BedrockModels],
    )
}
