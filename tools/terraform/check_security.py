#!/usr/bin/env python3
"""The security rules of infra-terraform/, read from the HCL alone (python-hcl2); see
docs/security.md for the threat model they serve.

1. IAM: no Allow statement grants a wildcard action ("*", "s3:*", "s3:Get*"), and none grants
   on Resource "*" unless every action of the statement is one AWS only grants on "*"
   (STAR_ONLY) or a listed, documented gap (STAR_GAPS), each with its reason. A key policy's
   "*" is the key itself. The services' statements come from contracts/iam/<service>.json,
   whose resource tokens the root's `local.iam_resources` maps to ARNs: a token mapped to "*"
   is held to the same lists. Every policy is an aws_iam_policy_document, so all are read.
2. Encryption: every S3 bucket has default SSE-KMS with a key, versioning enabled and a public
   access block with all four flags; every SQS queue (dead-letter queues included) a KMS key
   or SQS-managed SSE; every SNS topic and log group a KMS key; every DynamoDB table SSE with
   a KMS key and point-in-time recovery.
3. EventBridge: every rule's pattern pins `source` to literal names, each either one of
   mediasift's own (the `mediasift.*` sources of contracts/schemas/) or an AWS source whose
   pattern also pins what is ours (AWS_PINS: the ingest bucket, mediasift's MediaConvert jobs,
   mediasift's Transcribe jobs). AWS services publish only to the default bus, so on a custom
   bus an AWS source is accepted when a pinned default-bus rule of the same module forwards it.
4. Every custom event bus has a resource policy, and its Allow statements name only this
   account (a principal built from the account id), never "*" or another account.

Usage: check_security.py [--infra DIR] [--contracts DIR]. Exit 1 if any rule fails.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from check_wiring import Module, Report, expr, unquote

REPO = Path(__file__).resolve().parents[2]

# Actions AWS only authorises on Resource "*": the Service Authorization Reference lists no
# resource type for them (or only optional ones mediasift never uses).
STAR_ONLY = {
    "rekognition:DetectLabels": "image analysis API; no resource type",
    "rekognition:DetectFaces": "image analysis API; no resource type",
    "rekognition:RecognizeCelebrities": "image analysis API; no resource type",
    "rekognition:DetectText": "image analysis API; no resource type",
    "rekognition:DetectModerationLabels": "image analysis API; its only resource type is an optional custom adapter, which mediasift does not use",
    "comprehend:BatchDetectKeyPhrases": "built-in model; no resource type",
    "comprehend:BatchDetectEntities": "built-in model; no resource type",
    "comprehend:BatchDetectSentiment": "built-in model; no resource type",
    "textract:DetectDocumentText": "synchronous analysis; no resource type",
    "transcribe:StartTranscriptionJob": "no resource type (the job does not exist yet)",
    "mediaconvert:DescribeEndpoints": "account-level lookup; no resource type",
    "xray:PutTraceSegments": "X-Ray has no resource type for sending traces",
    "xray:PutTelemetryRecords": "X-Ray has no resource type for sending telemetry",
    "cloudwatch:PutMetricData": "no resource type; allowed only with a cloudwatch:namespace condition",
    "ec2:DescribeNetworkInterfaces": "Describe* take no resource type",
    "ec2:DescribeSubnets": "Describe* take no resource type",
}
# Actions granted on "*" by a condition they must carry.
STAR_CONDITIONS = {"cloudwatch:PutMetricData": "cloudwatch:namespace"}

# Actions that take a narrower resource, still granted on "*": known gaps, each in
# docs/security.md. Listed here so that no new one slips in unseen.
STAR_GAPS = {
    "transcribe:GetTranscriptionJob": "whether it takes a transcription-job ARN (mediasift-*) is unverified; "
    "contracts/iam/audio.json grants it in one statement with StartTranscriptionJob on the `any` token",
    "ec2:CreateNetworkInterface": "Lambda creates the graph function's interfaces with its role; AWS's own "
    "AWSLambdaVPCAccessExecutionRole grants these on *, and a grant scoped to the graph VPC's subnets and "
    "security group is not verified against Lambda",
    "ec2:DeleteNetworkInterface": "as ec2:CreateNetworkInterface",
    "ec2:AssignPrivateIpAddresses": "as ec2:CreateNetworkInterface",
    "ec2:UnassignPrivateIpAddresses": "as ec2:CreateNetworkInterface",
}


def aws_pin_s3(detail: dict) -> bool:
    """Object Created of the ingest bucket: the bucket name is a reference, never a literal."""
    names = detail.get("bucket", {}).get("name")
    return isinstance(names, list) and bool(names) and all(
        isinstance(n, str) and n.startswith("${") and "bucket" in n for n in names
    )


def aws_pin_mediaconvert(detail: dict) -> bool:
    """Jobs ingest submitted: they carry userMetadata.mediasiftAssetId."""
    return bool(detail.get("userMetadata", {}).get("mediasiftAssetId"))


def aws_pin_transcribe(detail: dict) -> bool:
    """Jobs the audio service started: named mediasift-<assetId>-<event>."""
    names = detail.get("TranscriptionJobName")
    return isinstance(names, list) and bool(names) and all(
        (isinstance(n, str) and n.startswith("mediasift-")) or n == {"prefix": "mediasift-"} for n in names
    )


# AWS sources a rule may match, and what the pattern must pin to select only mediasift's.
AWS_PINS = {
    "aws.s3": (aws_pin_s3, "detail.bucket.name pinned to the ingest bucket (a reference, not a literal)"),
    "aws.mediaconvert": (aws_pin_mediaconvert, "detail.userMetadata.mediasiftAssetId, which ingest's jobs carry"),
    "aws.transcribe": (aws_pin_transcribe, 'detail.TranscriptionJobName [{"prefix": "mediasift-"}]'),
}


# --- Reading -----------------------------------------------------------------------------------


def plain(value: object) -> object:
    """A python-hcl2 value with its literal strings and keys unquoted; references stay `${...}`."""
    if isinstance(value, dict):
        return {unquote(k): plain(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return unquote(value)
    return value


def resolve(value: object, module: Module) -> object:
    """`${local.x}` as the local's value (one level), anything else as it is."""
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{local\.(\w+)\}", value)
        if match and match.group(1) in module.locals:
            return module.locals[match.group(1)]
    return value


def block(body: dict, name: str) -> dict:
    """The first nested block `name` of a resource, or {}."""
    found = body.get(name) or [{}]
    return found[0] if isinstance(found, list) else found


def refers(value: object, address: str) -> bool:
    """Whether an attribute's expression references `address` (e.g. aws_s3_bucket.this)."""
    return re.search(rf"\b{re.escape(address)}\b", expr(value)) is not None


def our_sources(contracts: Path) -> set[str]:
    """mediasift's own event sources: the `mediasift.*` sources of contracts/schemas/."""
    return {p.stem.split("@", 1)[0] for p in (contracts / "schemas").glob("mediasift.*@*.json")}


# --- 1. IAM ------------------------------------------------------------------------------------


def key_policy_documents(module: Module) -> set[str]:
    """The aws_iam_policy_document names a KMS key uses as its key policy."""
    names = set()
    for _, body in module.of_type("aws_kms_key"):
        match = re.fullmatch(r"data\.aws_iam_policy_document\.(\w+)\.json", expr(body.get("policy", "")))
        if match:
            names.add(match.group(1))
    return names


def check_star_grant(report: Report, where: str, actions: list[str], conditions: set[str]) -> None:
    """A grant on Resource "*": every action must be one AWS grants only so, or a listed gap."""
    for action in actions:
        if action in STAR_GAPS:
            report.note(f'{where}: {action} on "*" is a listed gap ({STAR_GAPS[action]})')
            continue
        report.check(action in STAR_ONLY, f'{where}: {action} on Resource "*"', "it takes a narrower resource: grant that instead")
        needed = STAR_CONDITIONS.get(action)
        if needed:
            report.check(needed in conditions, f'{where}: {action} on "*" needs a {needed} condition')


def check_actions(report: Report, where: str, actions: list[str]) -> None:
    for action in actions:
        report.check("*" not in action, f"{where}: wildcard action {action!r}", "name the actions")


def check_policy_documents(report: Report, name: str, module: Module) -> None:
    key_policies = key_policy_documents(module)
    report.check(
        not re.search(r"\bnot_actions\b|\bnot_resources\b|\"?Action\"?\s*[=:]", module.text),
        f"{name}: every policy is an aws_iam_policy_document with explicit actions and resources",
    )
    for address, statement in module.policy_statements():
        where = f"{name} {address}"
        if plain(statement.get("effect", "Allow")) == "Deny":
            continue  # a Deny only narrows (e.g. the buckets' refusal of plain HTTP, "s3:*")
        actions = plain(resolve(statement.get("actions"), module))
        resources = plain(resolve(statement.get("resources"), module))
        if not isinstance(actions, list):
            continue  # built from contracts/iam/, checked in check_contract_statements
        check_actions(report, where, actions)
        if isinstance(resources, list) and "*" in resources:
            if address.split(" ")[0].rsplit(".", 1)[1] in key_policies:
                continue  # in a key policy, "*" is the key itself
            conditions = {plain(c.get("variable")) for c in statement.get("condition", [])}
            check_star_grant(report, where, actions, conditions)


def check_contract_statements(report: Report, root: Module, contracts: Path) -> None:
    """The services' statements: contracts/iam/*.json, tokens resolved by local.iam_resources."""
    tokens = {unquote(k): plain(v) for k, v in root.locals.get("iam_resources", {}).items()}
    star_tokens = {t for t, arns in tokens.items() if isinstance(arns, list) and "*" in arns}
    for path in sorted((contracts / "iam").glob("*.json")):
        for statement in json.loads(path.read_text()).get("statements", []):
            where = f"contracts/iam/{path.name} {statement.get('sid')}"
            actions = statement.get("actions", [])
            check_actions(report, where, actions)
            for token in statement.get("resources", []):
                if token in star_tokens:
                    check_star_grant(report, f"{where} (token {token!r} is \"*\")", actions, set())
    report.note(f'resource tokens mapped to "*": {", ".join(sorted(star_tokens)) or "none"}')


# --- 2. Encryption -----------------------------------------------------------------------------


def companions(module: Module, rtype: str, bucket: str, bucket_body: dict) -> list[dict]:
    """The `rtype` resources configuring aws_s3_bucket.<bucket>, covering all its instances."""
    return [
        body for _, body in module.of_type(rtype)
        if refers(body.get("bucket", ""), f"aws_s3_bucket.{bucket}")
        and ("for_each" not in bucket_body or expr(body.get("for_each", "")) == expr(bucket_body["for_each"]))
    ]


def check_buckets(report: Report, name: str, module: Module) -> None:
    for bucket, body in module.of_type("aws_s3_bucket"):
        where = f"{name} aws_s3_bucket.{bucket}"
        sse = [
            block(block(c, "rule"), "apply_server_side_encryption_by_default")
            for c in companions(module, "aws_s3_bucket_server_side_encryption_configuration", bucket, body)
        ]
        report.check(
            any(plain(d.get("sse_algorithm")) in ("aws:kms", "aws:kms:dsse") and d.get("kms_master_key_id") for d in sse),
            f"{where}: default encryption SSE-KMS with a key",
        )
        versioning = companions(module, "aws_s3_bucket_versioning", bucket, body)
        report.check(
            any(plain(block(v, "versioning_configuration").get("status")) == "Enabled" for v in versioning),
            f"{where}: versioning enabled",
        )
        flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
        blocks = companions(module, "aws_s3_bucket_public_access_block", bucket, body)
        report.check(
            any(all(b.get(flag) is True for flag in flags) for b in blocks),
            f"{where}: a public access block with all four flags true",
        )


def check_encryption(report: Report, name: str, module: Module) -> None:
    check_buckets(report, name, module)
    for (rtype, rname), body in module.resources.items():
        where = f"{name} {rtype}.{rname}"
        if rtype == "aws_sqs_queue":
            report.check(
                bool(body.get("kms_master_key_id")) or body.get("sqs_managed_sse_enabled") is True,
                f"{where}: encrypted (kms_master_key_id or sqs_managed_sse_enabled)",
            )
        elif rtype == "aws_sns_topic":
            report.check(bool(body.get("kms_master_key_id")), f"{where}: kms_master_key_id")
        elif rtype == "aws_cloudwatch_log_group":
            report.check(bool(body.get("kms_key_id")), f"{where}: kms_key_id")
        elif rtype == "aws_dynamodb_table":
            sse = block(body, "server_side_encryption")
            report.check(sse.get("enabled") is True and bool(sse.get("kms_key_arn")), f"{where}: SSE with a KMS key")
            report.check(block(body, "point_in_time_recovery").get("enabled") is True, f"{where}: point-in-time recovery")


# --- 3. Rules ----------------------------------------------------------------------------------


def rule_patterns(module: Module, body: dict, contracts: Path) -> list[dict] | None:
    """The patterns a rule resource makes: a local map's values (`jsonencode(each.value)`), or
    every contracts/rules/ entry (`jsonencode(each.value.eventPattern)` over the contract)."""
    pattern = expr(body.get("event_pattern", ""))
    source = re.fullmatch(r"local\.(\w+)", expr(body.get("for_each", "")))
    if not source:
        return None
    local = module.locals.get(source.group(1))
    if pattern == "jsonencode(each.value)" and isinstance(local, dict):
        return [plain(v) for v in local.values()]
    if pattern == "jsonencode(each.value.eventPattern)" and "local.contract.rules" in expr(local or ""):
        return [
            rule["eventPattern"]
            for path in sorted((contracts / "rules").glob("*.json"))
            for rule in json.loads(path.read_text()).get("rules", [])
        ]
    return None


def on_default_bus(body: dict) -> bool:
    return unquote(str(body.get("event_bus_name", '"default"'))) == "default"


def check_rules(report: Report, modules: dict[str, Module], contracts: Path) -> None:
    ours = our_sources(contracts)
    report.check(bool(ours), "contracts/schemas/ names mediasift's sources")
    rules = [
        (f"{name} aws_cloudwatch_event_rule.{rname}", module, body)
        for name, module in modules.items()
        for rname, body in module.of_type("aws_cloudwatch_event_rule")
    ]
    # Default-bus rules first: they decide which AWS sources reach a custom bus.
    rules.sort(key=lambda rule: not on_default_bus(rule[2]))
    forwarded: set[str] = set()
    for where, module, body in rules:
        patterns = rule_patterns(module, body, contracts)
        if not report.check(patterns is not None, f"{where}: a pattern the checker can read",
                            "use for_each over a local map with jsonencode(each.value), or contracts/rules/"):
            continue
        for pattern in patterns:
            sources = pattern.get("source")
            if not report.check(
                isinstance(sources, list) and bool(sources) and all(isinstance(s, str) and "${" not in s for s in sources),
                f"{where}: pattern pins source to literal names", f"source {json.dumps(sources)}",
            ):
                continue
            for source in sources:
                if source in ours:
                    continue
                pin = AWS_PINS.get(source)
                if not report.check(pin is not None, f"{where}: source {source!r} is mediasift's or a pinned AWS source",
                                    f"mediasift's are {sorted(ours)}"):
                    continue
                if not on_default_bus(body):
                    report.check(source in forwarded, f"{where}: {source} on a custom bus, forwarded by a pinned default-bus rule")
                elif report.check(pin[0](pattern.get("detail", {})), f"{where}: {source} pattern pins {pin[1]}"):
                    forwarded.add(source)
    report.note(f"{len(rules)} rule resources; AWS sources forwarded pinned: {', '.join(sorted(forwarded)) or 'none'}")


# --- 4. Custom buses ---------------------------------------------------------------------------


def check_buses(report: Report, name: str, module: Module) -> None:
    for bus, _ in module.of_type("aws_cloudwatch_event_bus"):
        where = f"{name} aws_cloudwatch_event_bus.{bus}"
        policies = [
            body for _, body in module.of_type("aws_cloudwatch_event_bus_policy")
            if refers(body.get("event_bus_name", ""), f"aws_cloudwatch_event_bus.{bus}")
        ]
        if not report.check(len(policies) == 1, f"{where}: has a resource policy (aws_cloudwatch_event_bus_policy)"):
            continue
        document = re.fullmatch(r"data\.aws_iam_policy_document\.(\w+)\.json", expr(policies[0].get("policy", "")))
        statements = module.data.get(("aws_iam_policy_document", document.group(1)), {}).get("statement", []) if document else []
        allows = [s for s in statements if plain(s.get("effect", "Allow")) == "Allow"]
        report.check(
            any("events:PutEvents" in (plain(s.get("actions")) or []) for s in allows),
            f"{where}: its policy is an aws_iam_policy_document allowing events:PutEvents",
        )
        for statement in allows:
            principals = statement.get("principals", [])
            identifiers = [plain(i) for p in principals for i in plain(p.get("identifiers")) or []]
            report.check(
                bool(principals)
                and all(plain(p.get("type")) == "AWS" for p in principals)
                and all(re.search(r"\$\{[^}]*account_id\}", i) and re.fullmatch(r".*:root|\$\{[^}]*account_id\}", i) for i in identifiers),
                f"{where}: policy statement {plain(statement.get('sid'))!r} allows this account only",
                f"principals {identifiers}",
            )


# --- Main --------------------------------------------------------------------------------------


def load(infra: Path) -> dict[str, Module]:
    modules = {"root": Module.load(infra)}
    for path in sorted((infra / "modules").iterdir()) if (infra / "modules").is_dir() else []:
        if path.is_dir():
            modules[f"modules/{path.name}"] = Module.load(path)
    return modules


def run(infra: Path, contracts: Path) -> Report:
    modules = load(infra)
    report = Report()
    for name, module in modules.items():
        check_policy_documents(report, name, module)
        check_encryption(report, name, module)
        check_buses(report, name, module)
    check_contract_statements(report, modules["root"], contracts)
    check_rules(report, modules, contracts)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--infra", type=Path, default=REPO / "infra-terraform")
    parser.add_argument("--contracts", type=Path, default=REPO / "contracts")
    args = parser.parse_args()
    return run(args.infra, args.contracts).finish("security")


if __name__ == "__main__":
    sys.exit(main())
