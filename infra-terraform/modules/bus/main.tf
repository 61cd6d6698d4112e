# mediasift's custom bus, its archive, the rules that bring AWS services' events over from the
# default bus, and the Schema Registry of every event in contracts/schemas/.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

resource "aws_cloudwatch_event_bus" "this" {
  name = "${var.name_prefix}-bus"
}

# Only this account's principals may publish on the bus (each still needs events:PutEvents in
# its own IAM policy; the services' are pinned to their own source); no other account can.
data "aws_iam_policy_document" "bus" {
  statement {
    sid       = "ThisAccountPublishes"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "this" {
  event_bus_name = aws_cloudwatch_event_bus.this.name
  policy         = data.aws_iam_policy_document.bus.json
}

resource "aws_cloudwatch_event_archive" "this" {
  name             = "${var.name_prefix}-bus"
  description      = "Every event on ${aws_cloudwatch_event_bus.this.name}, for replay."
  event_source_arn = aws_cloudwatch_event_bus.this.arn
  retention_days   = var.archive_retention_days
}

# --- Forwarding from the default bus ----------------------------------------------------------
# S3, MediaConvert and Transcribe publish only to the account's default bus. Each pattern here
# brings one detail-type over, only mediasift's own (its bucket, its MediaConvert jobs, its
# Transcribe jobs), and the services' rules (contracts/rules/) match it on the custom bus as
# written.
locals {
  forwarded = {
    "s3-object-created" = {
      source        = ["aws.s3"]
      "detail-type" = ["Object Created"]
      detail        = { bucket = { name = [var.ingest_bucket_name] } }
    }
    "mediaconvert-job-state-change" = {
      source        = ["aws.mediaconvert"]
      "detail-type" = ["MediaConvert Job State Change"]
      detail        = { userMetadata = { mediasiftAssetId = [{ exists = true }] } }
    }
    "transcribe-job-state-change" = {
      source        = ["aws.transcribe"]
      "detail-type" = ["Transcribe Job State Change"]
      detail        = { TranscriptionJobName = [{ prefix = "mediasift-" }] }
    }
  }
}

resource "aws_cloudwatch_event_rule" "forward" {
  for_each = local.forwarded

  name           = "${var.name_prefix}-forward-${each.key}"
  description    = "Forwards ${each.value["detail-type"][0]} from the default bus to ${aws_cloudwatch_event_bus.this.name}."
  event_bus_name = "default"
  event_pattern  = jsonencode(each.value)
}

# Event bus targets take no retry policy; what EventBridge cannot deliver goes to the queue.
resource "aws_cloudwatch_event_target" "forward" {
  for_each = aws_cloudwatch_event_rule.forward

  rule           = each.value.name
  event_bus_name = "default"
  target_id      = "mediasift-bus"
  arn            = aws_cloudwatch_event_bus.this.arn
  role_arn       = aws_iam_role.forward.arn

  dead_letter_config {
    arn = aws_sqs_queue.forward_dlq.arn
  }
}

data "aws_iam_policy_document" "forward_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "forward" {
  statement {
    sid       = "PutOnMediasiftBus"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]
  }
}

resource "aws_iam_role" "forward" {
  name               = "${var.name_prefix}-bus-forward"
  assume_role_policy = data.aws_iam_policy_document.forward_assume.json
}

resource "aws_iam_role_policy" "forward" {
  name   = "put-on-bus"
  role   = aws_iam_role.forward.id
  policy = data.aws_iam_policy_document.forward.json
}

resource "aws_sqs_queue" "forward_dlq" {
  name                              = "${var.name_prefix}-bus-forward-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
}

data "aws_iam_policy_document" "forward_dlq" {
  statement {
    sid       = "ForwardingDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.forward_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in aws_cloudwatch_event_rule.forward : rule.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "forward_dlq" {
  queue_url = aws_sqs_queue.forward_dlq.id
  policy    = data.aws_iam_policy_document.forward_dlq.json
}

# --- Schema Registry -------------------------------------------------------------------------
# One schema per file of contracts/schemas/, named as the file (<source>@<SchemaName>), as
# EventBridge schema discovery would name it.
resource "aws_schemas_registry" "this" {
  name        = "${var.name_prefix}-events"
  description = "Every mediasift event (contracts/schemas/): the public API."
}

resource "aws_schemas_schema" "this" {
  for_each = { for file in fileset(var.schemas_dir, "*.json") : trimsuffix(file, ".json") => file }

  name          = each.key
  registry_name = aws_schemas_registry.this.name
  type          = "OpenApi3"
  content       = file("${var.schemas_dir}/${each.value}")
}
