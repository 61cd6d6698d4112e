# One customer-managed key encrypts the buckets, the state table, the queues, the alarm topic,
# the log groups and the graph. S3, DynamoDB, SQS, SNS and Neptune use it on behalf of a
# caller, whose IAM policy the account statement below lets grant it; CloudWatch Logs,
# EventBridge (dead letters into encrypted queues) and CloudWatch alarms (into the encrypted
# topic) use it as themselves.

locals {
  # The account's administration and use of the key, listed rather than "kms:*".
  key_account_actions = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias",
    "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey",
    "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants",
    "kms:ListKeyPolicies", "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy",
    "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:RetireGrant", "kms:RevokeGrant",
    "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
    "kms:UpdateAlias", "kms:UpdateKeyDescription",
  ]
}

resource "aws_kms_key" "this" {
  description             = "mediasift ${var.name_prefix}: buckets, state, queues, alarms, logs and graph"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.this.key_id
}

# In a key policy, resource "*" is the key itself.
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:This is a key policy: its Resource "*" is this key alone, and every statement names its principal.
  #checkov:skip=CKV_AWS_356:This is a key policy: its Resource "*" is this key alone, and every statement names its principal.
  statement {
    sid       = "Account"
    actions   = local.key_account_actions
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["${local.arn_prefix}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogs"
    actions = [
      "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
      "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.${data.aws_partition.current.dns_suffix}"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["${local.arn_prefix}:logs:${var.region}:${local.account_id}:log-group:*"]
    }
  }

  statement {
    sid       = "EventBridgeAndAlarms"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}
