# What the services remember between events: the state table and the face collection.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
  }
}

# One table for every service's logical tables (services/kit/src/aws/dynamodb.rs): the
# partition key `pk` is `<table>#<key>`, no sort key, items expire by `expiresAt`.
resource "aws_dynamodb_table" "state" {
  name                        = "${var.name_prefix}-state"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}

# The faces video and image search and auto-index (services/kit/src/vision/rekognition.rs);
# the code never creates it.
resource "aws_rekognition_collection" "faces" {
  collection_id = "${var.name_prefix}-faces"
}
