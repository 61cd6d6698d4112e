//! EventBridge conformance: every case of the shared suite (verdicts taken from AWS's own
//! `TestEventPattern`) must get AWS's verdict.

use mediasift_kit::Pattern;
use serde::Deserialize;
use serde_json::Value;

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/eventbridge-patterns/cases.json"
);

#[derive(Deserialize)]
struct Case {
    name: String,
    expect: Expect,
    event: Value,
    pattern: Value,
    #[serde(default)]
    aws_message: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum Expect {
    Match,
    NoMatch,
    Invalid,
}

fn load_cases() -> Vec<Case> {
    let text = std::fs::read_to_string(CASES)
        .unwrap_or_else(|e| panic!("cannot read the conformance cases at {CASES}: {e}"));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("cannot parse the conformance cases at {CASES}: {e}"))
}

/// What our matcher says, in the suite's terms, with the error message for invalid patterns.
fn verdict(case: &Case) -> (Expect, Option<String>) {
    match Pattern::from_value(&case.pattern) {
        Err(error) => (Expect::Invalid, Some(error.to_string())),
        Ok(pattern) if pattern.matches(&case.event) => (Expect::Match, None),
        Ok(_) => (Expect::NoMatch, None),
    }
}

#[test]
fn every_case_gets_aws_verdict() {
    let cases = load_cases();
    assert!(!cases.is_empty(), "no conformance cases in {CASES}");

    let mut failures = Vec::new();
    let mut wording = Vec::new();
    for case in &cases {
        let (got, message) = verdict(case);
        if got != case.expect {
            let detail = message.map(|m| format!(" ({m})")).unwrap_or_default();
            failures.push(format!(
                "{}: expected {:?}, got {got:?}{detail}",
                case.name, case.expect
            ));
        } else if let (Some(ours), Some(theirs)) = (message, &case.aws_message)
            && &ours != theirs
        {
            wording.push(format!(
                "{}:\n    ours: {ours}\n    AWS:  {theirs}",
                case.name
            ));
        }
    }

    if !wording.is_empty() {
        println!("Error wording differs from AWS's (not a failure):");
        for line in &wording {
            println!("  {line}");
        }
    }
    let passed = cases.len() - failures.len();
    println!("{passed}/{} conformance cases pass", cases.len());
    assert!(
        failures.is_empty(),
        "{passed}/{} conformance cases pass; failing:\n  {}",
        cases.len(),
        failures.join("\n  ")
    );
}
