variable "name_prefix" {
  description = "Prefix of the bucket names."
  type        = string
}

variable "kms_key_arn" {
  description = "The deployment's KMS key: default encryption of both buckets."
  type        = string
}

variable "analysis_options" {
  description = "The deployment's analysis options, written as settings/options.json in the derived bucket."
  type        = any
}
