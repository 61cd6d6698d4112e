variable "name_prefix" {
  description = "Prefix of the role's name."
  type        = string
}

variable "ingest_bucket_arn" {
  description = "The bucket MediaConvert reads sources from."
  type        = string
}

variable "derived_bucket_arn" {
  description = "The bucket MediaConvert writes proxies and frame captures to."
  type        = string
}

variable "kms_key_arn" {
  description = "The deployment's KMS key, which encrypts both buckets."
  type        = string
}
