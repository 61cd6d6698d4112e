# The knowledge graph on AWS: Neptune Serverless (IAM authentication, encrypted, audited) in a
# private VPC of its own, which the graph function joins.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
  }
}

locals {
  cluster_id = "${var.name_prefix}-graph"
  # The parameter group family of the engine's major.minor: 1.4.5.0 -> neptune1.4.
  family = "neptune${join(".", slice(split(".", var.engine_version), 0, 2))}"
}

resource "aws_neptune_subnet_group" "this" {
  name       = local.cluster_id
  subnet_ids = aws_subnet.private[*].id
}

# Audit logging needs the parameter as well as the log export.
resource "aws_neptune_cluster_parameter_group" "this" {
  name   = local.cluster_id
  family = local.family

  parameter {
    name  = "neptune_enable_audit_log"
    value = "1"
  }
}

resource "aws_cloudwatch_log_group" "audit" {
  name              = "/aws/neptune/${local.cluster_id}/audit"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_neptune_cluster" "this" {
  cluster_identifier                   = local.cluster_id
  engine                               = "neptune"
  engine_version                       = var.engine_version
  neptune_subnet_group_name            = aws_neptune_subnet_group.this.name
  neptune_cluster_parameter_group_name = aws_neptune_cluster_parameter_group.this.name
  vpc_security_group_ids               = [aws_security_group.neptune.id]
  iam_database_authentication_enabled  = true
  storage_encrypted                    = true
  kms_key_arn                          = var.kms_key_arn
  enable_cloudwatch_logs_exports       = ["audit"]
  backup_retention_period              = 7
  copy_tags_to_snapshot                = true
  deletion_protection                  = var.deletion_protection
  final_snapshot_identifier            = "${local.cluster_id}-final"

  serverless_v2_scaling_configuration {
    min_capacity = var.capacity.min
    max_capacity = var.capacity.max
  }

  depends_on = [aws_cloudwatch_log_group.audit]
}

resource "aws_neptune_cluster_instance" "this" {
  identifier                 = "${local.cluster_id}-1"
  cluster_identifier         = aws_neptune_cluster.this.id
  engine                     = "neptune"
  instance_class             = "db.serverless"
  auto_minor_version_upgrade = true
}
