"""check_security.py against small HCL trees in a tempdir: a compliant one passes, and each
deliberately bad snippet added to it (or swapped in) fails with the rule it breaks.

Run: .venv/bin/python -m unittest discover -s tools/terraform -p 'test_*.py'
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import textwrap
import unittest
from pathlib import Path

import check_security

ROOT = """
locals {
  iam_resources = {
    "objects" = ["arn:aws:s3:::bucket/*"]
    "any"     = ["*"]
  }
}
"""

# One of everything the checker reads, each as the rules want it.
APP = """
data "aws_caller_identity" "current" {}

resource "aws_s3_bucket" "this" {
  for_each = toset(["ingest", "derived"])
  bucket   = "demo-${each.key}"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = toset(["ingest", "derived"])
  bucket   = aws_s3_bucket.this[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = toset(["ingest", "derived"])
  bucket   = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = toset(["ingest", "derived"])
  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_sqs_queue" "dlq" {
  name              = "demo-dlq"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_sns_topic" "alarms" {
  name              = "demo-alarms"
  kms_master_key_id = var.kms_key_arn
}

resource "aws_cloudwatch_log_group" "this" {
  name       = "/aws/lambda/demo"
  kms_key_id = var.kms_key_arn
}

resource "aws_dynamodb_table" "state" {
  name     = "demo-state"
  hash_key = "pk"
  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}

resource "aws_kms_key" "this" {
  policy = data.aws_iam_policy_document.key.json
}

data "aws_iam_policy_document" "key" {
  statement {
    actions   = ["kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

data "aws_iam_policy_document" "role" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this["ingest"].arn}/*"]
  }
  statement {
    actions   = ["rekognition:DetectLabels", "textract:DetectDocumentText"]
    resources = ["*"]
  }
  statement {
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = ["*"]
  }
}

resource "aws_cloudwatch_event_bus" "this" {
  name = "demo-bus"
}

data "aws_iam_policy_document" "bus" {
  statement {
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "this" {
  event_bus_name = aws_cloudwatch_event_bus.this.name
  policy         = data.aws_iam_policy_document.bus.json
}

locals {
  forwarded = {
    "s3" = {
      source        = ["aws.s3"]
      "detail-type" = ["Object Created"]
      detail        = { bucket = { name = [aws_s3_bucket.this["ingest"].bucket] } }
    }
  }
  own = {
    "done" = {
      source        = ["mediasift.demo"]
      "detail-type" = ["Demo Done"]
    }
    "created" = {
      source        = ["aws.s3"]
      "detail-type" = ["Object Created"]
    }
  }
}

resource "aws_cloudwatch_event_rule" "forward" {
  for_each       = local.forwarded
  event_bus_name = "default"
  event_pattern  = jsonencode(each.value)
}

resource "aws_cloudwatch_event_rule" "own" {
  for_each       = local.own
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern  = jsonencode(each.value)
}
"""

IAM_CONTRACT = {
    "service": "demo",
    "statements": [
        {"sid": "Objects", "actions": ["s3:GetObject"], "resources": ["objects"]},
        {"sid": "Comprehend", "actions": ["comprehend:BatchDetectEntities"], "resources": ["any"]},
    ],
}


def run_checker(files: dict[str, str], iam: dict = IAM_CONTRACT) -> list[str]:
    """The failures check_security reports on a tree of `files` (paths under infra/)."""
    with tempfile.TemporaryDirectory() as tmp:
        infra, contracts = Path(tmp, "infra"), Path(tmp, "contracts")
        for path, text in files.items():
            (infra / path).parent.mkdir(parents=True, exist_ok=True)
            (infra / path).write_text(textwrap.dedent(text))
        for folder in ("schemas", "iam", "rules"):
            (contracts / folder).mkdir(parents=True)
        (contracts / "schemas" / "mediasift.demo@DemoDone.json").write_text("{}")
        (contracts / "schemas" / "aws.s3@ObjectCreated.json").write_text("{}")
        (contracts / "iam" / "demo.json").write_text(json.dumps(iam))
        with contextlib.redirect_stdout(io.StringIO()):
            return check_security.run(infra, contracts).failures


def good(**extra: str) -> dict[str, str]:
    """The compliant tree, plus or replacing files."""
    return {"main.tf": ROOT, "modules/app/main.tf": APP, **extra}


class CompliantTree(unittest.TestCase):
    def test_passes(self) -> None:
        self.assertEqual(run_checker(good()), [])

    def test_repository_passes(self) -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            report = check_security.run(check_security.REPO / "infra-terraform", check_security.REPO / "contracts")
        self.assertEqual(report.failures, [])
        self.assertGreater(report.passed, 100)


class BadSnippets(unittest.TestCase):
    def assertFails(self, files: dict[str, str], expected: str, iam: dict = IAM_CONTRACT) -> None:
        failures = run_checker(files, iam)
        self.assertTrue(any(expected in f for f in failures), f"no failure with {expected!r} in {failures}")

    def bad(self, snippet: str, expected: str) -> None:
        self.assertFails(good(**{"modules/app/bad.tf": snippet}), expected)

    # --- IAM

    def test_service_wildcard_action(self) -> None:
        self.bad('data "aws_iam_policy_document" "x" {\n statement {\n actions = ["s3:*"]\n resources = ["arn:aws:s3:::b/*"]\n }\n}\n',
                 "wildcard action 's3:*'")

    def test_star_action(self) -> None:
        self.bad('data "aws_iam_policy_document" "x" {\n statement {\n actions = ["*"]\n resources = ["arn:aws:s3:::b"]\n }\n}\n',
                 "wildcard action '*'")

    def test_partial_wildcard_action(self) -> None:
        self.bad('data "aws_iam_policy_document" "x" {\n statement {\n actions = ["s3:Get*"]\n resources = ["arn:aws:s3:::b"]\n }\n}\n',
                 "wildcard action 's3:Get*'")

    def test_resource_star_on_scopable_action(self) -> None:
        self.bad('data "aws_iam_policy_document" "x" {\n statement {\n actions = ["s3:GetObject"]\n resources = ["*"]\n }\n}\n',
                 's3:GetObject on Resource "*"')

    def test_resource_star_in_dynamic_statement(self) -> None:
        self.bad('data "aws_iam_policy_document" "x" {\n dynamic "statement" {\n for_each = [1]\n content {\n'
                 ' actions = ["dynamodb:GetItem"]\n resources = ["*"]\n }\n }\n}\n',
                 'dynamodb:GetItem on Resource "*"')

    def test_star_policy_of_a_key_only_as_key_policy(self) -> None:
        self.bad('data "aws_iam_policy_document" "not_a_key" {\n statement {\n actions = ["kms:Decrypt"]\n resources = ["*"]\n }\n}\n',
                 'kms:Decrypt on Resource "*"')

    def test_metric_data_needs_namespace_condition(self) -> None:
        snippet = 'data "aws_iam_policy_document" "x" {\n statement {\n actions = ["cloudwatch:PutMetricData"]\n resources = ["*"]\n%s }\n}\n'
        self.bad(snippet % "", "needs a cloudwatch:namespace condition")
        condition = ' condition {\n test = "StringEquals"\n variable = "cloudwatch:namespace"\n values = ["mediasift"]\n }\n'
        self.assertEqual(run_checker(good(**{"modules/app/bad.tf": snippet % condition})), [])

    def test_json_policy(self) -> None:
        self.bad('resource "aws_iam_policy" "x" {\n policy = jsonencode({ Statement = [{ Action = "s3:GetObject", Resource = "*" }] })\n}\n',
                 "every policy is an aws_iam_policy_document")

    def test_contract_token_star_on_scopable_action(self) -> None:
        iam = {"service": "demo", "statements": [{"sid": "Table", "actions": ["dynamodb:PutItem"], "resources": ["any"]}]}
        self.assertFails(good(), "contracts/iam/demo.json Table (token 'any' is \"*\"): dynamodb:PutItem", iam)

    def test_contract_wildcard_action(self) -> None:
        iam = {"service": "demo", "statements": [{"sid": "All", "actions": ["s3:*"], "resources": ["objects"]}]}
        self.assertFails(good(), "contracts/iam/demo.json All: wildcard action 's3:*'", iam)

    # --- Encryption and public access

    BUCKET = 'resource "aws_s3_bucket" "logs" {\n bucket = "demo-logs"\n}\n'

    def test_bucket_without_anything(self) -> None:
        failures = run_checker(good(**{"modules/app/bad.tf": self.BUCKET}))
        for rule in ("default encryption SSE-KMS", "versioning enabled", "public access block"):
            self.assertTrue(any("aws_s3_bucket.logs" in f and rule in f for f in failures), rule)

    def test_bucket_with_s3_managed_keys(self) -> None:
        self.bad(self.BUCKET + 'resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {\n bucket = aws_s3_bucket.logs.id\n'
                 ' rule {\n apply_server_side_encryption_by_default {\n sse_algorithm = "AES256"\n }\n }\n}\n',
                 "aws_s3_bucket.logs: default encryption SSE-KMS")

    def test_bucket_with_one_public_flag_off(self) -> None:
        self.bad(self.BUCKET + 'resource "aws_s3_bucket_public_access_block" "logs" {\n bucket = aws_s3_bucket.logs.id\n'
                 ' block_public_acls = true\n block_public_policy = true\n ignore_public_acls = true\n restrict_public_buckets = false\n}\n',
                 "aws_s3_bucket.logs: a public access block with all four flags true")

    def test_bucket_versioning_suspended(self) -> None:
        self.bad(self.BUCKET + 'resource "aws_s3_bucket_versioning" "logs" {\n bucket = aws_s3_bucket.logs.id\n'
                 ' versioning_configuration {\n status = "Suspended"\n }\n}\n',
                 "aws_s3_bucket.logs: versioning enabled")

    def test_bucket_configuration_covering_only_some_buckets(self) -> None:
        app = APP.replace('resource "aws_s3_bucket_versioning" "this" {\n  for_each = toset(["ingest", "derived"])',
                          'resource "aws_s3_bucket_versioning" "this" {\n  for_each = toset(["ingest"])')
        self.assertNotEqual(app, APP)
        self.assertFails(good(**{"modules/app/main.tf": app}), "aws_s3_bucket.this: versioning enabled")

    def test_unencrypted_queue(self) -> None:
        self.bad('resource "aws_sqs_queue" "other_dlq" {\n name = "x"\n}\n', "aws_sqs_queue.other_dlq: encrypted")

    def test_queue_with_sqs_managed_sse(self) -> None:
        snippet = 'resource "aws_sqs_queue" "other_dlq" {\n name = "x"\n sqs_managed_sse_enabled = true\n}\n'
        self.assertEqual(run_checker(good(**{"modules/app/bad.tf": snippet})), [])

    def test_unencrypted_topic(self) -> None:
        self.bad('resource "aws_sns_topic" "t" {\n name = "x"\n}\n', "aws_sns_topic.t: kms_master_key_id")

    def test_unencrypted_log_group(self) -> None:
        self.bad('resource "aws_cloudwatch_log_group" "g" {\n name = "x"\n}\n', "aws_cloudwatch_log_group.g: kms_key_id")

    def test_table_without_pitr_or_kms(self) -> None:
        failures = run_checker(good(**{"modules/app/bad.tf": 'resource "aws_dynamodb_table" "t" {\n name = "x"\n'
                                                               ' server_side_encryption {\n enabled = true\n }\n}\n'}))
        self.assertTrue(any("aws_dynamodb_table.t: SSE with a KMS key" in f for f in failures), failures)
        self.assertTrue(any("aws_dynamodb_table.t: point-in-time recovery" in f for f in failures), failures)

    # --- Rules

    def rule(self, pattern: str, bus: str = "aws_cloudwatch_event_bus.this.name") -> str:
        return (f'locals {{\n extra = {{\n "r" = {pattern}\n }}\n}}\n'
                f'resource "aws_cloudwatch_event_rule" "extra" {{\n for_each = local.extra\n'
                f' event_bus_name = {bus}\n event_pattern = jsonencode(each.value)\n}}\n')

    def test_rule_without_source(self) -> None:
        self.bad(self.rule('{ "detail-type" = ["Demo Done"] }'), "pattern pins source to literal names")

    def test_rule_with_source_prefix(self) -> None:
        self.bad(self.rule('{ source = [{ prefix = "mediasift." }] }'), "pattern pins source to literal names")

    def test_rule_on_foreign_source(self) -> None:
        self.bad(self.rule('{ source = ["com.acme.orders"] }'), "source 'com.acme.orders' is mediasift's or a pinned AWS source")

    def test_rule_on_unlisted_mediasift_source(self) -> None:
        self.bad(self.rule('{ source = ["mediasift.evil"] }'), "source 'mediasift.evil' is mediasift's")

    def test_default_bus_s3_rule_on_any_bucket(self) -> None:
        self.bad(self.rule('{ source = ["aws.s3"], "detail-type" = ["Object Created"] }', '"default"'),
                 "aws.s3 pattern pins detail.bucket.name")

    def test_default_bus_s3_rule_on_a_literal_bucket(self) -> None:
        self.bad(self.rule('{ source = ["aws.s3"], detail = { bucket = { name = ["someone-elses"] } } }', '"default"'),
                 "aws.s3 pattern pins detail.bucket.name")

    def test_custom_bus_rule_on_unforwarded_aws_source(self) -> None:
        self.bad(self.rule('{ source = ["aws.transcribe"], detail = { TranscriptionJobName = [{ prefix = "mediasift-" }] } }'),
                 "aws.transcribe on a custom bus, forwarded by a pinned default-bus rule")

    def test_default_bus_transcribe_rule_on_any_job(self) -> None:
        self.bad(self.rule('{ source = ["aws.transcribe"] }', '"default"'), "aws.transcribe pattern pins detail.TranscriptionJobName")

    def test_rule_pattern_the_checker_cannot_read(self) -> None:
        self.bad('resource "aws_cloudwatch_event_rule" "inline" {\n event_pattern = jsonencode({ source = ["com.acme"] })\n}\n',
                 "aws_cloudwatch_event_rule.inline: a pattern the checker can read")

    # --- Buses

    def test_bus_without_policy(self) -> None:
        self.bad('resource "aws_cloudwatch_event_bus" "open" {\n name = "x"\n}\n',
                 "aws_cloudwatch_event_bus.open: has a resource policy")

    def open_bus(self, principal: str) -> str:
        return ('resource "aws_cloudwatch_event_bus" "open" {\n name = "x"\n}\n'
                'data "aws_iam_policy_document" "open" {\n statement {\n sid = "Anyone"\n actions = ["events:PutEvents"]\n'
                f' resources = [aws_cloudwatch_event_bus.open.arn]\n principals {{\n type = "AWS"\n identifiers = ["{principal}"]\n }}\n }}\n}}\n'
                'resource "aws_cloudwatch_event_bus_policy" "open" {\n event_bus_name = aws_cloudwatch_event_bus.open.name\n'
                ' policy = data.aws_iam_policy_document.open.json\n}\n')

    def test_bus_open_to_everyone(self) -> None:
        self.bad(self.open_bus("*"), "aws_cloudwatch_event_bus.open: policy statement 'Anyone' allows this account only")

    def test_bus_open_to_another_account(self) -> None:
        self.bad(self.open_bus("arn:aws:iam::111122223333:root"), "policy statement 'Anyone' allows this account only")


if __name__ == "__main__":
    unittest.main()
