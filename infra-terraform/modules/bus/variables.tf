variable "name_prefix" {
  description = "Prefix of the bus, archive, registry and forwarding rule names."
  type        = string
}

variable "ingest_bucket_name" {
  description = "The ingest bucket, whose Object Created events are forwarded from the default bus."
  type        = string
}

variable "schemas_dir" {
  description = "contracts/schemas: one EventBridge Schema Registry document per file, <source>@<SchemaName>.json."
  type        = string
}

variable "archive_retention_days" {
  description = "How long the archive keeps events (0: forever)."
  type        = number
}

variable "kms_key_arn" {
  description = "The deployment's KMS key: the forwarding dead-letter queue's encryption."
  type        = string
}
