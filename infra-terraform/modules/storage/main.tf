# The two buckets: uploads (ingest) and everything mediasift writes (derived). Both are
# versioned, KMS-encrypted, private and TLS-only; only the ingest bucket notifies EventBridge.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  # Bucket names are global: the account and region make them unique.
  buckets = toset(["ingest", "derived"])
  suffix  = "${data.aws_caller_identity.current.account_id}-${data.aws_region.current.name}"
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Access logs would need a third bucket; object-level auditing is CloudTrail data events', which the operator enables account-wide.
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles the storage of large media; disaster recovery is the operator's choice, not the deployment's.
  #checkov:skip=CKV2_AWS_62:The ingest bucket notifies EventBridge (aws_s3_bucket_notification.ingest, which checkov does not link to a for_each bucket); the derived bucket's events would have no consumer and could loop back into work.
  for_each = local.buckets

  bucket = "${var.name_prefix}-${each.key}-${local.suffix}"
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    bucket_key_enabled = true
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

data "aws_iam_policy_document" "tls_only" {
  for_each = local.buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this[each.key].arn, "${aws_s3_bucket.this[each.key].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.tls_only[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

# Unfinished multipart uploads go after a week; replaced versions (a re-upload replaces a
# source, a re-analysis its results) after 30 days.
resource "aws_s3_bucket_lifecycle_configuration" "ingest" {
  bucket = aws_s3_bucket.this["ingest"].id

  rule {
    id     = "incomplete-uploads-and-old-versions"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# As the ingest bucket's, and proxies move to Intelligent-Tiering after 30 days. Proxies live
# under <assetId>/proxy/, which no key prefix can select, so the rule selects by size: proxies
# (MP4, M4A, WAV) are megabytes, results (JSON) and frame captures mostly under 1 MiB.
resource "aws_s3_bucket_lifecycle_configuration" "derived" {
  bucket = aws_s3_bucket.this["derived"].id

  rule {
    id     = "incomplete-uploads-and-old-versions"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }

  rule {
    id     = "proxies-to-intelligent-tiering"
    status = "Enabled"

    filter {
      object_size_greater_than = 1048576
    }

    transition {
      days          = 30
      storage_class = "INTELLIGENT_TIERING"
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# S3 sends Object Created to the account's default bus; the bus module forwards this
# bucket's to mediasift's bus.
resource "aws_s3_bucket_notification" "ingest" {
  bucket      = aws_s3_bucket.this["ingest"].id
  eventbridge = true
}

# The deployment's analysis options (docs/ingest.md, "Plan and options"). Ingest reads this
# object for every asset, so it always exists, even empty: without s3:ListBucket a missing
# object reads as AccessDenied, not as absent.
resource "aws_s3_object" "analysis_options" {
  bucket       = aws_s3_bucket.this["derived"].id
  key          = "settings/options.json"
  content      = jsonencode(var.analysis_options)
  content_type = "application/json"
  kms_key_id   = var.kms_key_arn

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this]
}
