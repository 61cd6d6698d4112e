# The function's role. Its policy is the statements of contracts/iam/<service>.json (the
# actions the service's code calls, generated from the code) with their symbolic resources
# resolved, plus what running as a Lambda function needs: its own log group, its own
# dead-letter queue, the deployment key, and network interfaces when it runs in a VPC.

locals {
  permissions  = jsondecode(file(var.permissions_file))
  event_source = "mediasift.${var.service}"

  unknown_resources = setsubtract(flatten([for s in local.permissions.statements : s.resources]), keys(var.iam_resources))

  code_statements = [
    for s in local.permissions.statements : {
      sid       = s.sid
      actions   = s.actions
      resources = distinct(flatten([for token in s.resources : lookup(var.iam_resources, token, [])]))
      # A service publishes only under its own source: it cannot pass for another.
      event_sources = contains(s.actions, "events:PutEvents") ? [local.event_source] : []
    }
    # A statement on resources this deployment lacks (Neptune with the graph off) is dropped.
    if length(flatten([for token in s.resources : lookup(var.iam_resources, token, [])])) > 0
  ]
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = local.function_name
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "this" {
  dynamic "statement" {
    for_each = local.code_statements

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = length(statement.value.event_sources) > 0 ? [statement.value.event_sources] : []

        content {
          test     = "StringEquals"
          variable = "events:source"
          values   = condition.value
        }
      }
    }
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "OwnDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  # Buckets, table and queue are encrypted with the key, which S3, DynamoDB and SQS use on
  # the function's behalf; Lambda decrypts the function's environment with it.
  statement {
    sid       = "DeploymentKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }

  # Active tracing (aws_lambda_function.this): the function sends its segments itself.
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  # Lambda manages a VPC function's network interfaces with its role: the actions and the
  # "*" of AWS's own AWSLambdaVPCAccessExecutionRole (the Describe actions take no narrower
  # resource, and the interfaces do not exist before Lambda creates them).
  dynamic "statement" {
    for_each = var.vpc == null ? [] : [var.vpc]

    content {
      sid = "VpcNetworkInterfaces"
      actions = [
        "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
      ]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.service}-service"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json

  lifecycle {
    precondition {
      condition     = local.permissions.service == var.service
      error_message = "${var.permissions_file} declares the permissions of ${local.permissions.service}, not ${var.service}."
    }
    precondition {
      condition     = alltrue([for s in local.permissions.statements : !contains(s.actions, "events:PutEvents") || length(s.actions) == 1])
      error_message = "${var.permissions_file}: events:PutEvents must be alone in its statement, which carries the events:source condition."
    }
    precondition {
      condition     = length(local.unknown_resources) == 0
      error_message = "${var.permissions_file} names resources this deployment does not map: ${join(", ", local.unknown_resources)}."
    }
  }
}
