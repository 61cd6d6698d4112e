# One mediasift service: its Lambda function (provided.al2023 on arm64, the cargo-lambda
# package), its log group, and where its failures go.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
  }
}

locals {
  function_name = "${var.name_prefix}-${var.service}"
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to the service's queue as the on-failure destination (aws_lambda_function_event_invoke_config below), a record with the request and the response; a function DLQ as well would deliver each failure twice.
  #checkov:skip=CKV_AWS_117:Only the graph function reaches a private resource (Neptune) and runs in its VPC; the rest call public AWS APIs, which in a VPC would need NAT or a dozen interface endpoints for no isolation gained.
  #checkov:skip=CKV_AWS_272:Packages are built from this repository by cargo-lambda and pinned by source_code_hash; there is no signing pipeline (AWS Signer) to verify against.
  function_name = local.function_name
  description   = "mediasift ${var.service} service"
  role          = aws_iam_role.this.arn
  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"
  filename      = var.zip_path
  # fileexists keeps `terraform validate` working before any package is built; the
  # precondition below stops a plan without one.
  source_code_hash               = fileexists(var.zip_path) ? filebase64sha256(var.zip_path) : null
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency
  layers                         = var.layers
  kms_key_arn                    = var.kms_key_arn

  ephemeral_storage {
    size = var.tmp_size
  }

  environment {
    variables = var.environment
  }

  tracing_config {
    mode = "Active"
  }

  dynamic "vpc_config" {
    for_each = var.vpc == null ? [] : [var.vpc]

    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  lifecycle {
    precondition {
      condition     = fileexists(var.zip_path)
      error_message = "No package at ${var.zip_path}: build it with `make lambda` and pass the lambda_zips map it prints (docs/deploy.md)."
    }
  }

  # The log group and the role's policy exist before the function runs, and outlive it.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

# EventBridge invokes asynchronously: Lambda retries a failed invocation (a retryable handler
# error) twice, then sends it, with the error, to the dead-letter queue. A rule's own DLQ only
# sees events EventBridge could not deliver, never handler errors.
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dlq.arn
    }
  }
}

# --- Dead letters ----------------------------------------------------------------------------
# One queue per service takes both: events its rules could not deliver (from EventBridge) and
# invocations that kept failing (from Lambda, with the function's role).
resource "aws_sqs_queue" "dlq" {
  name                              = "${local.function_name}-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "RuleDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in aws_cloudwatch_event_rule.this : rule.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}
