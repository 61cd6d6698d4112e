# The role MediaConvert assumes for ingest's proxy jobs: read the upload, write the proxies
# and captures under <assetId>/ in the derived bucket. Ingest passes it (iam:PassRole, from
# contracts/iam/ingest.json).

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["mediaconvert.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ReadSources"
    actions   = ["s3:GetObject"]
    resources = ["${var.ingest_bucket_arn}/*"]
  }

  statement {
    sid       = "WriteProxies"
    actions   = ["s3:PutObject"]
    resources = ["${var.derived_bucket_arn}/*"]
  }

  statement {
    sid       = "BucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name_prefix}-mediaconvert"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "this" {
  name   = "proxies"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}
