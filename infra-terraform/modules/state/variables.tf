variable "name_prefix" {
  description = "Prefix of the table and face collection names."
  type        = string
}

variable "kms_key_arn" {
  description = "The deployment's KMS key: the table's encryption."
  type        = string
}

variable "deletion_protection" {
  description = "Protect the table from deletion."
  type        = bool
}
